/**
 * An emulated machine driven in-process from one JS thread: the Kernel object itself, with
 * its channel slots posted and served by the caller, and a fake CLOCK_MONOTONIC. Every
 * interleaving of threads and processes is chosen by the caller, so a run is exactly
 * reproducible and fast (no worker, no Atomics.wait). It sits at the top layer, like the
 * worker: it boots the kernel the way src/kernel/worker.ts does.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { CpuPageTable } from '../hw/cpu_mmu.js';
import { createRegions } from '../hw/memory.js';
import { getProfile, type ProfileName } from '../hw/profile.js';
import * as ch from '../uapi/channel.js';
import { bootKernel } from '../kernel/boot.js';
import type { BackgroundState, Kernel } from '../kernel/os/kernel.js';
import type { Process } from '../kernel/os/process.js';
import { setMonotonicClock } from '../kernel/os/wait.js';

/** How a posted call stands: answered, parked in the kernel, or an internal kernel error. */
export type Outcome =
  | { state: 'done'; rc: number; errno: number; rets: bigint[] }
  | { state: 'parked' }
  | { state: 'bug'; message: string };

/** Sysmem of a fuzzed machine: small, so that running out of memory is reachable. */
const SYSMEM_BYTES = 64 << 20;
/** User address window of a fuzzed process: small page tables make processes cheap. */
const USER_WINDOW = 64n << 20n;

/** GPU slices a posted call lets run before its answer is taken (the worker runs them between calls). */
const POST_GPU_SLICES = 64;

/** One booted kernel and its clock. */
export class Machine {
  readonly kernel: Kernel;
  /** The fake CLOCK_MONOTONIC in ns; only `advance` moves it. */
  now = 1_000_000_000n;
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;
  private readonly user: MessagePort;
  private readonly kport: MessagePort;
  /** Process 1, kept to ask for memory accounting after every process has exited. */
  private readonly first: Process;

  constructor(profile: ProfileName = 'lnl') {
    const p = getProfile(profile);
    const control = new SharedArrayBuffer(ch.CONTROL_BYTES);
    this.i32 = new Int32Array(control);
    this.i64 = new BigInt64Array(control);
    const { port1, port2 } = new MessageChannel();
    this.kport = port1;
    this.user = port2;
    setMonotonicClock(() => this.now);
    const regions = createRegions(SYSMEM_BYTES, p.vram.map((v) => Math.min(v, SYSMEM_BYTES)));
    this.kernel = bootKernel({ control, regions, profile: p.name, ptSab: CpuPageTable.allocate(USER_WINDOW), caps: [] }, port1);
    this.first = this.kernel.procs.get(1)!;
  }

  /** Stops using the machine: restores the host clock, closes the message ports. */
  dispose(): void {
    setMonotonicClock(null);
    this.kport.close();
    this.user.close();
  }

  private word(slot: number, w: number): number {
    return (ch.CTL_BYTES + slot * ch.CHANNEL_BYTES) / 4 + w;
  }

  /** The process that owns `slot`, if any. */
  owner(slot: number): Process | undefined {
    for (const p of this.kernel.procs.values()) if (p.slots.has(slot)) return p;
    return undefined;
  }

  /** Whether `slot` belongs to a live thread with no call in flight. */
  idle(slot: number): boolean {
    return this.owner(slot) !== undefined && Atomics.load(this.i32, this.word(slot, ch.CH_STATE)) === ch.ST_IDLE;
  }

  /** Posts system call `nr` on `slot` and lets the kernel serve it, as the worker loop would. */
  syscall(slot: number, nr: number, args: readonly bigint[]): Outcome {
    const base = (ch.CTL_BYTES + slot * ch.CHANNEL_BYTES + ch.CH_ARGS_BYTE) / 8;
    for (let i = 0; i < ch.CH_NARGS; i++) this.i64[base + i] = args[i] ?? 0n;
    return this.post(slot, nr);
  }

  /** ioctl(fd, request, argp) on `slot`, with the channel's 32-bit fd and request words. */
  ioctl(slot: number, fd: number, request: number, argp: bigint): Outcome {
    return this.syscall(slot, ch.SYS.IOCTL, [BigInt(fd), BigInt(request >>> 0), argp]);
  }

  /** process_create from `slot`: the new process's pid and first slot. */
  spawn(slot: number): Outcome {
    this.user.postMessage({ ptSab: CpuPageTable.allocate(USER_WINDOW) });
    return this.syscall(slot, ch.SYS.PROCESS_CREATE, [0n]);
  }

  private post(slot: number, nr: number): Outcome {
    this.i32[this.word(slot, ch.CH_SYSCALL)] = nr;
    Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_REQUEST);
    this.kernel.serviceRequests();
    this.kernel.runWaits();
    this.gpu(POST_GPU_SLICES);
    return this.take(slot) ?? { state: 'parked' };
  }

  /** The answer waiting in `slot` (the slot goes back to idle), or null while it is parked. */
  take(slot: number): Outcome | null {
    const st = Atomics.load(this.i32, this.word(slot, ch.CH_STATE));
    if (st === ch.ST_KERNEL_BUG) {
      Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_IDLE);
      return { state: 'bug', message: this.message(slot) };
    }
    if (st !== ch.ST_DONE) return null;
    Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_IDLE);
    const rets = (ch.CTL_BYTES + slot * ch.CHANNEL_BYTES + ch.CH_RETS_BYTE) / 8;
    return {
      state: 'done',
      rc: this.i32[this.word(slot, ch.CH_RESULT)],
      errno: this.i32[this.word(slot, ch.CH_ERRNO)],
      rets: Array.from(this.i64.subarray(rets, rets + ch.CH_NRETS)),
    };
  }

  /** Moves the clock on by `ns` and lets parked calls and the GPU (job timeouts) see it. */
  advance(ns: bigint): void {
    this.now += ns;
    this.kernel.runWaits();
    this.gpu(1);
  }

  /**
   * Runs up to `slices` slices of GPU work, each followed by the parked calls it may have
   * woken, until no work can run now; returns how the work stands.
   */
  gpu(slices: number): BackgroundState {
    let state: BackgroundState = 'idle';
    for (let i = 0; i < slices; i++) {
      state = this.kernel.runBackground();
      if (state !== 'idle') this.kernel.runWaits();
      if (state !== 'busy') break;
    }
    return state;
  }

  /** Physical pages in use: [system, vram] (DEBUG MEM_USAGE, asked directly). */
  memUsage(): bigint[] {
    return this.kernel.debugOps.call(ch.DEBUG.MEM_USAGE, this.first, []);
  }

  private message(slot: number): string {
    const at = ch.CTL_BYTES + slot * ch.CHANNEL_BYTES + ch.CH_MSG_BYTE;
    const u8 = new Uint8Array(this.i32.buffer, at, ch.CH_MSG_BYTES);
    const end = u8.indexOf(0);
    return new TextDecoder().decode(u8.slice(0, end < 0 ? u8.length : end));
  }
}
