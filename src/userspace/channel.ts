/**
 * The user end of a channel slot: claims the slot, posts a system call, rings the doorbell,
 * spins briefly, then sleeps until the kernel answers (the protocol is described in
 * src/uapi/channel.ts). A dead kernel, a closed device, an exited process or a kernel bug
 * surfaces as a thrown error, never as a hang.
 */
import * as ch from '../uapi/channel.js';

/** Result of one system call. */
export interface SysReturn {
  /** RESULT word: -1 on error. */
  result: number;
  errno: number;
  rets: BigInt64Array;
}

/** Sleep slice while waiting, to notice a dead kernel. */
const SLICE_MS = 200;
/** Heartbeat silence after which the kernel is considered gone. */
const SILENCE_MS = 10_000;

/** Thrown when the kernel worker is dead or reports an internal error. */
export class KernelError extends Error {
  override readonly name = 'KernelError';
}

/** A KernelError of one call: the kernel hit an internal error serving it and goes on serving others. */
export class KernelBug extends KernelError {
  override readonly name = 'KernelError';
}

/** Thrown by any call on a device after `dev.close()` (and by calls in flight then): its kernel has stopped. */
export class DeviceClosed extends Error {
  override readonly name = 'DeviceClosed';
  constructor() {
    super('xe-emu device is closed (dev.close() was called)');
  }
}

/**
 * Thrown by any call on a process after it exited (`p.exit()`) or was killed, and by a call
 * that was in flight in another of its threads then: that thread dies with its process.
 */
export class ProcessExited extends Error {
  override readonly name = 'ProcessExited';
  constructor(readonly pid: number) {
    super(`xe-emu process ${pid} has exited`);
  }
}

/** One user thread's channel. */
export class Channel {
  private readonly i32: Int32Array;
  private readonly args: BigInt64Array;
  private readonly rets: BigInt64Array;
  private readonly stateIdx: number;
  /** Int32 index of the first argument word. */
  private readonly argWord: number;
  private readonly sleepIdx: number;
  private readonly pidIdx: number;
  private readonly base: number;
  /** Set when this channel's process exited: later calls fail at once. */
  private exited = false;

  constructor(
    readonly control: SharedArrayBuffer,
    readonly slot: number,
    /** The process this thread belongs to (the slot's PID word while it lives). */
    readonly pid: number,
  ) {
    this.i32 = new Int32Array(control);
    this.base = ch.CTL_BYTES + slot * ch.CHANNEL_BYTES;
    this.stateIdx = this.base / 4 + ch.CH_STATE;
    this.pidIdx = this.base / 4 + ch.CH_PID;
    this.argWord = (this.base + ch.CH_ARGS_BYTE) / 4;
    this.sleepIdx = this.base / 4 + ch.CH_SLEEPING;
    this.args = new BigInt64Array(control, this.base + ch.CH_ARGS_BYTE, ch.CH_NARGS);
    this.rets = new BigInt64Array(control, this.base + ch.CH_RETS_BYTE, ch.CH_NRETS);
  }

  /** Makes system call `nr` with up to 6 arguments; blocks until the kernel answers. */
  call(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n, a5 = 0n): SysReturn {
    this.post(nr, a0, a1, a2, a3, a4, a5);
    this.await();
    return this.collect();
  }

  /**
   * Makes system call `nr` with up to 4 arguments and `bytes` (at most CH_MSG_BYTES) in the
   * slot's message area for the kernel (SYS.TRACE_ACCESS); blocks until the kernel answers.
   */
  callWithMessage(nr: number, bytes: Uint8Array, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n): SysReturn {
    this.claim();
    new Uint8Array(this.control, this.base + ch.CH_MSG_BYTE, ch.CH_MSG_BYTES).set(bytes);
    const args = this.args;
    args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3;
    this.submit(nr);
    this.await();
    return this.collect();
  }

  /**
   * ioctl(fd, request, argp) without BigInt conversions: fd (an int) and request (an
   * unsigned int) go into the argument words as 32-bit halves, extended as C would.
   */
  callIoctl(fd: number, request: number, argp: bigint): SysReturn {
    this.postIoctl(fd, request, argp);
    this.await();
    return this.collect();
  }

  /**
   * Posts system call `nr` and returns at once; `poll` (or `wait`) collects the answer. For a
   * driver of several slots from one thread (trace replay); `call` is post + wait.
   */
  post(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n, a5 = 0n): void {
    this.claim();
    const args = this.args;
    args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4; args[5] = a5;
    this.submit(nr);
  }

  /** Posts ioctl(fd, request, argp) as callIoctl does, without waiting (see post). */
  postIoctl(fd: number, request: number, argp: bigint): void {
    this.claim();
    const w = this.argWord;
    const i32 = this.i32;
    i32[w] = fd;
    i32[w + 1] = fd < 0 ? -1 : 0;
    i32[w + 2] = request;
    i32[w + 3] = 0;
    this.args[2] = argp;
    this.submit(ch.SYS.IOCTL);
  }

  /** Whether the kernel has taken the posted call (the slot left REQUEST). */
  taken(): boolean {
    return Atomics.load(this.i32, this.stateIdx) !== ch.ST_REQUEST;
  }

  /** Waits until the kernel has taken the posted call (the slot left REQUEST). */
  awaitTaken(): void {
    for (let i = 0; !this.taken(); i++) {
      if (i < ch.SPIN_ROUNDS) continue;
      this.checkAlive();
      Atomics.wait(this.i32, this.stateIdx, ch.ST_REQUEST, 1);
    }
  }

  /**
   * The answer to the posted call, or null while there is none. Throws as `call` does when
   * the process exited, the kernel hit a bug or is gone.
   */
  poll(): SysReturn | null {
    if (this.done()) return this.collect();
    this.checkAlive();
    return null;
  }

  /**
   * Waits up to `ms` for the answer to the posted call (spinning first, then sleeping on the
   * slot); the answer, or null when there is none yet.
   */
  wait(ms: number): SysReturn | null {
    for (let i = 0; i < ch.SPIN_ROUNDS; i++) if (this.done()) return this.collect();
    const st = Atomics.load(this.i32, this.stateIdx);
    if (!answered(st)) {
      this.checkAlive();
      Atomics.store(this.i32, this.sleepIdx, 1);
      Atomics.wait(this.i32, this.stateIdx, st, ms);
      Atomics.store(this.i32, this.sleepIdx, 0);
    }
    return this.poll();
  }

  /** Marks the channel dead after its process exited (see ProcessExited). */
  markExited(): void {
    this.exited = true;
  }

  /** Marks the channel dead and throws ProcessExited. */
  private gone(): never {
    this.exited = true;
    throw new ProcessExited(this.pid);
  }

  /** Throws the named error of a kernel or process that can no longer answer. */
  private checkAlive(status = Atomics.load(this.i32, ch.CTL_STATUS)): void {
    if (this.exited) throw new ProcessExited(this.pid);
    if (status === ch.KERNEL_STOPPED) throw new DeviceClosed();
    if (status === ch.KERNEL_DEAD) throw new KernelError('xe-emu kernel worker died');
  }

  /**
   * Takes the slot for one call (IDLE -> CLAIMED) before writing its arguments. An EXITED
   * slot, or one the kernel has handed to another process since, means this thread's
   * process is gone.
   */
  private claim(): void {
    this.checkAlive();
    const i32 = this.i32;
    for (;;) {
      const st = Atomics.compareExchange(i32, this.stateIdx, ch.ST_IDLE, ch.ST_CLAIMED);
      const ours = Atomics.load(i32, this.pidIdx) === this.pid;
      if (st === ch.ST_IDLE && ours) return;
      if (st === ch.ST_IDLE) Atomics.compareExchange(i32, this.stateIdx, ch.ST_CLAIMED, ch.ST_IDLE);
      if (st === ch.ST_IDLE || st === ch.ST_EXITED || !ours) this.gone();
      // CLAIMED: a thread of the slot's previous, dead owner is backing off; anything else
      // is a second thread using this slot.
      if (st !== ch.ST_CLAIMED) throw new Error(`xe-emu channel slot ${this.slot} is in use by another call`);
    }
  }

  /** Moves the claimed slot, arguments written, to REQUEST and rings the kernel if it sleeps. */
  private submit(nr: number): void {
    const i32 = this.i32;
    i32[this.base / 4 + ch.CH_SYSCALL] = nr;
    // Fails only when the process was killed while the call was being written.
    if (Atomics.compareExchange(i32, this.stateIdx, ch.ST_CLAIMED, ch.ST_REQUEST) !== ch.ST_CLAIMED) this.gone();
    // A spinning kernel sees the slot; a sleeping one needs the doorbell.
    if (Atomics.load(i32, ch.CTL_KERNEL_SLEEPING)) {
      Atomics.add(i32, ch.CTL_DOORBELL, 1);
      Atomics.notify(i32, ch.CTL_DOORBELL, 1);
    }
  }

  /** Reads the answer of a call whose slot has been answered and frees the slot. */
  private collect(): SysReturn {
    const i32 = this.i32;
    const st = Atomics.load(i32, this.stateIdx);
    if (st === ch.ST_EXITED) this.gone();
    if (st === ch.ST_KERNEL_BUG) {
      const msg = this.message();
      Atomics.compareExchange(i32, this.stateIdx, st, ch.ST_IDLE);
      throw new KernelBug(`xe-emu kernel bug: ${msg}`);
    }
    const r = { result: i32[this.base / 4 + ch.CH_RESULT], errno: i32[this.base / 4 + ch.CH_ERRNO], rets: this.rets };
    // A kill right after the answer leaves EXITED in place for the next call.
    Atomics.compareExchange(i32, this.stateIdx, st, ch.ST_IDLE);
    return r;
  }

  private done(): boolean {
    return answered(Atomics.load(this.i32, this.stateIdx));
  }

  private await(): void {
    for (let i = 0; i < ch.SPIN_ROUNDS; i++) if (this.done()) return;
    let beat = Atomics.load(this.i32, ch.CTL_HEARTBEAT);
    let lastBeat = Date.now();
    while (!this.done()) {
      // Status before state: the kernel answers before it stops, so a stop seen here means
      // an answer posted before it is seen below.
      const status = Atomics.load(this.i32, ch.CTL_STATUS);
      const st = Atomics.load(this.i32, this.stateIdx);
      if (answered(st)) return;
      this.checkAlive(status);
      // Announce the sleep first; a completion after the flag is seen changes STATE, so the
      // wait below returns at once.
      Atomics.store(this.i32, this.sleepIdx, 1);
      Atomics.wait(this.i32, this.stateIdx, st, SLICE_MS);
      Atomics.store(this.i32, this.sleepIdx, 0);
      const b = Atomics.load(this.i32, ch.CTL_HEARTBEAT);
      if (b !== beat) {
        beat = b;
        lastBeat = Date.now();
      } else if (Date.now() - lastBeat > SILENCE_MS) {
        throw new KernelError('xe-emu kernel worker is not responding');
      }
    }
  }

  /** The reason the kernel gave for the last call's failure (meaningful only when it failed). */
  reason(): string {
    return this.message();
  }

  private message(): string {
    const u8 = new Uint8Array(this.control, this.base + ch.CH_MSG_BYTE, ch.CH_MSG_BYTES);
    const end = u8.indexOf(0);
    return new TextDecoder().decode(u8.slice(0, end < 0 ? u8.length : end));
  }
}

/** Whether slot state `st` ends the call: an answer, a kernel bug, or the process's death. */
function answered(st: number): boolean {
  return st === ch.ST_DONE || st === ch.ST_KERNEL_BUG || st === ch.ST_EXITED;
}
