/**
 * The user end of a channel slot: posts a system call, rings the doorbell, spins briefly,
 * then sleeps until the kernel answers. A dead kernel or a kernel bug surfaces as a thrown
 * error, never as a hang.
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

/** Thrown by any call on a device after `dev.close()`: its kernel has stopped. */
export class DeviceClosed extends Error {
  override readonly name = 'DeviceClosed';
  constructor() {
    super('xe-emu device is closed (dev.close() was called)');
  }
}

/** Thrown by any call on a process after it exited (`p.exit()`). */
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
  private readonly base: number;
  /** Set when this channel's process exited: later calls fail at once. */
  private exitedPid = 0;

  constructor(
    readonly control: SharedArrayBuffer,
    readonly slot: number,
  ) {
    this.i32 = new Int32Array(control);
    this.base = ch.CTL_BYTES + slot * ch.CHANNEL_BYTES;
    this.stateIdx = this.base / 4 + ch.CH_STATE;
    this.argWord = (this.base + ch.CH_ARGS_BYTE) / 4;
    this.sleepIdx = this.base / 4 + ch.CH_SLEEPING;
    this.args = new BigInt64Array(control, this.base + ch.CH_ARGS_BYTE, ch.CH_NARGS);
    this.rets = new BigInt64Array(control, this.base + ch.CH_RETS_BYTE, ch.CH_NRETS);
  }

  /** Makes system call `nr` with up to 6 arguments; blocks until the kernel answers. */
  call(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n, a5 = 0n): SysReturn {
    const args = this.args;
    args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4; args[5] = a5;
    return this.post(nr);
  }

  /**
   * ioctl(fd, request, argp) without BigInt conversions: fd (an int) and request (an
   * unsigned int) go into the argument words as 32-bit halves, extended as C would.
   */
  callIoctl(fd: number, request: number, argp: bigint): SysReturn {
    const w = this.argWord;
    const i32 = this.i32;
    i32[w] = fd;
    i32[w + 1] = fd < 0 ? -1 : 0;
    i32[w + 2] = request;
    i32[w + 3] = 0;
    this.args[2] = argp;
    return this.post(ch.SYS.IOCTL);
  }

  /** Marks the channel dead after its process exited (see ProcessExited). */
  markExited(pid: number): void {
    this.exitedPid = pid;
  }

  /** Throws the named error of a kernel or process that can no longer answer. */
  private checkAlive(status = Atomics.load(this.i32, ch.CTL_STATUS)): void {
    if (this.exitedPid) throw new ProcessExited(this.exitedPid);
    if (status === ch.KERNEL_STOPPED) throw new DeviceClosed();
    if (status === ch.KERNEL_DEAD) throw new KernelError('xe-emu kernel worker died');
  }

  private post(nr: number): SysReturn {
    this.checkAlive();
    const i32 = this.i32;
    i32[this.base / 4 + ch.CH_SYSCALL] = nr;
    Atomics.store(i32, this.stateIdx, ch.ST_REQUEST);
    // A spinning kernel sees the slot; a sleeping one needs the doorbell.
    if (Atomics.load(i32, ch.CTL_KERNEL_SLEEPING)) {
      Atomics.add(i32, ch.CTL_DOORBELL, 1);
      Atomics.notify(i32, ch.CTL_DOORBELL, 1);
    }
    this.await();
    const st = Atomics.load(i32, this.stateIdx);
    Atomics.store(i32, this.stateIdx, ch.ST_IDLE);
    if (st === ch.ST_KERNEL_BUG) throw new KernelError(`xe-emu kernel bug: ${this.message()}`);
    return { result: i32[this.base / 4 + ch.CH_RESULT], errno: i32[this.base / 4 + ch.CH_ERRNO], rets: this.rets };
  }

  private done(): boolean {
    const st = Atomics.load(this.i32, this.stateIdx);
    return st === ch.ST_DONE || st === ch.ST_KERNEL_BUG;
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
      if (st === ch.ST_DONE || st === ch.ST_KERNEL_BUG) return;
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

  private message(): string {
    const u8 = new Uint8Array(this.control, this.base + ch.CH_MSG_BYTE, ch.CH_MSG_BYTES);
    const end = u8.indexOf(0);
    return new TextDecoder().decode(u8.slice(0, end < 0 ? u8.length : end));
  }
}
