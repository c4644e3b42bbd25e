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

  /** Makes system call `nr` with up to 5 arguments; blocks until the kernel answers. */
  call(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n): SysReturn {
    const args = this.args;
    args[0] = a0; args[1] = a1; args[2] = a2; args[3] = a3; args[4] = a4;
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

  private post(nr: number): SysReturn {
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
      if (Atomics.load(this.i32, ch.CTL_STATUS) === ch.KERNEL_DEAD) throw new KernelError('xe-emu kernel worker died');
      const st = Atomics.load(this.i32, this.stateIdx);
      if (st === ch.ST_DONE || st === ch.ST_KERNEL_BUG) return;
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
