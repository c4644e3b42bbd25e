/**
 * The syscall layer: system calls arriving on channel slots (ioctl, open/close, mmap,
 * malloc, threads, processes, emulator control), parked blocking calls, and their wake-ups.
 * It knows no driver: open reaches a driver through the character-device registry, ioctl and
 * mmap through the file's operations, and emulator control through the debug registry.
 * src/kernel/worker.ts drives it from the worker thread's loop.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { PAGE_SIZE, PageAllocator, PhysicalMemory, type RegionDesc } from '../../hw/memory.js';
import * as ch from '../../uapi/channel.js';
import { EACCES, EAGAIN, EINVAL, ESRCH, errnoName } from '../../uapi/errno.js';
import { requestName } from '../../uapi/uapi.js';
import { ChrdevRegistry } from './chrdev.js';
import { DebugRegistry } from './debug.js';
import { clearReason, Errno, fail, takeReason } from './errno.js';
import { EventFd } from './eventfd.js';
import { fileAs, type KFile } from './file.js';
import type { MmapRequest } from './mm.js';
import { Process } from './process.js';
import type { UserMemory } from './uaccess.js';
import { Tracer, type RecordSpec } from './trace.js';
import { monotonicNs, WaitQueue, type CallResult, type Wait } from './wait.js';

/** Major number of the DRM character devices (DRM_MAJOR). */
export const DRM_MAJOR = 226;
/** First minor of the DRM render nodes; primary nodes start at 0. */
export const DRM_MINOR_RENDER = 128;

/** What the worker is started with. */
export interface BootData {
  control: SharedArrayBuffer;
  regions: RegionDesc[];
  profile: string;
  /** Page table of process 1, whose first thread uses slot 0. */
  ptSab: SharedArrayBuffer;
  caps: number[];
  /** Keep a log of failed calls with their reasons (drm.debug; read with SYS.SYSLOG). */
  dmesg?: boolean;
  /** Record every call to a trace file (os/trace.ts). */
  record?: RecordSpec;
  /**
   * Mark the user pages shared with the GPU PTE_TRACED (a replay does, to know which memory
   * the GPU and the trace's CPU records own); a recording kernel always does.
   */
  markShared?: boolean;
}

/** Result of one system call: RESULT word, ERRNO and 64-bit return words. */
interface SysResult {
  rc: number;
  rets?: bigint[];
}

/**
 * What a device driver borrows from the OS: the machine's physical memory (VRAM included),
 * the system-memory page allocator, and the wait queue that wakes parked calls.
 */
export interface DeviceHost {
  readonly phys: PhysicalMemory;
  readonly sysmem: PageAllocator;
  readonly waitq: WaitQueue;
  /** Under a trace: the seq of the call being served, else null (absent: no trace). */
  traceSeq?(): number | null;
  /**
   * Runs background work `fn` on behalf of the call that entered with `seq` (a job's EXEC),
   * so that snapshots it takes are ordered with that call (absent: `fn` just runs).
   */
  onBehalf?<T>(seq: number | null, fn: () => T): T;
}

/** A host of its own over `regions` (region 0 is system memory), for a device outside a kernel. */
export function standaloneHost(regions: RegionDesc[]): DeviceHost {
  return { phys: new PhysicalMemory(regions), sysmem: new PageAllocator(regions[0]), waitq: new WaitQueue() };
}

/** How a driver's background work stands after a slice. */
export type BackgroundState =
  /** More work can run now. */
  | 'busy'
  /** Only waiting on memory that user space may write without a system call (poll again soon). */
  | 'poll'
  /** Nothing to run until a wake-up, a system call or the next deadline. */
  | 'idle';

/**
 * Work a driver runs between system calls (a GPU's engines), in bounded slices, so that a
 * long or endless batch never holds up other threads' calls.
 */
export interface Background {
  /** Runs one bounded slice of work. */
  slice(): BackgroundState;
  /** Absolute CLOCK_MONOTONIC time (ns) when timed work falls due (a job timeout), or null. */
  deadline(): bigint | null;
}

/** Background slices one DEBUG.SETTLE runs at most unless it names its own budget. */
const SETTLE_SLICES = 4096;

/** Lines the failure log keeps (the oldest go first). */
const DMESG_LINES = 1000;

const utf8 = new TextEncoder();

/** A blocked call: its slot, the wait, and the file the call holds until it ends (fdget). */
interface Parked {
  slot: number;
  file: KFile;
  wait: Wait;
  finish: (rc: number) => number;
}

/** The kernel of one emulated machine. */
export class Kernel implements DeviceHost {
  readonly phys: PhysicalMemory;
  readonly sysmem: PageAllocator;
  readonly waitq = new WaitQueue();
  /** Drivers' open functions, by major (the DRM node is DRM_MAJOR). */
  readonly chrdevs = new ChrdevRegistry();
  /** Emulator control operations (SYS.DEBUG). */
  readonly debugOps = new DebugRegistry();
  /** Set by DEBUG KERNEL_PANIC: the kernel thread dies after answering the call. */
  panicked = false;
  readonly procs = new Map<number, Process>();
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;
  /** Slot -> owning process. */
  private readonly slotProc = new Map<number, Process>();
  private activeSlots: number[] = [];
  private parked: Parked[] = [];
  private readonly background: Background[] = [];
  private nextPid = 1;
  /** Failed calls with their reasons, when the log is on (BootData.dmesg). */
  private readonly dmesg: string[] | null;
  /** The trace recorder, when the device records. */
  private readonly tracer: Tracer | null;
  /** Shared pages are marked PTE_TRACED (Mm's SharedPages). */
  private readonly markShared: boolean;
  stopped = false;

  constructor(
    boot: BootData,
    private readonly port: MessagePort | null,
  ) {
    this.phys = new PhysicalMemory(boot.regions);
    this.sysmem = new PageAllocator(boot.regions[0]);
    this.i32 = new Int32Array(boot.control);
    this.i64 = new BigInt64Array(boot.control);
    this.dmesg = boot.dmesg ? [] : null;
    this.tracer = boot.record ? new Tracer(boot.record) : null;
    this.markShared = this.tracer !== null || boot.markShared === true;
    const p = this.newProcess(boot.ptSab, boot.caps);
    this.claimSlot(0, p);
    this.debugOps.register(ch.DEBUG.KERNEL_BUG, () => {
      throw new Error('deliberate kernel bug (DEBUG.KERNEL_BUG)');
    });
    this.debugOps.register(ch.DEBUG.KERNEL_PANIC, () => {
      this.panicked = true;
    });
    this.debugOps.register(ch.DEBUG.PARKED, () => [BigInt(this.parked.length)]);
    this.debugOps.register(ch.DEBUG.SETTLE, (_p, a) => this.settle(Number(BigInt.asUintN(32, a[0])) || SETTLE_SLICES));
  }

  /**
   * DEBUG.SETTLE: background slices and parked-call re-checks until the GPU has nothing
   * runnable or `budget` slices are spent; [1 when settled, ns to the nearest deadline].
   */
  private settle(budget: number): bigint[] {
    let state: BackgroundState = 'busy';
    for (let i = 0; i < budget && state === 'busy'; i++) {
      this.runWaits();
      state = this.runBackground();
    }
    this.runWaits();
    const next = this.nextDeadline();
    const left = next === null ? -1n : next > monotonicNs() ? next - monotonicNs() : 0n;
    return [state === 'busy' ? 0n : 1n, BigInt.asUintN(64, left)];
  }

  private newProcess(ptSab: SharedArrayBuffer, caps: number[]): Process {
    const t = this.tracer;
    const pid = this.nextPid++;
    const wrap = t ? (um: UserMemory) => t.wrap(um) : undefined;
    const shared = !this.markShared ? null : { snapshot: t ? (addr: bigint, bytes: Uint8Array) => t.snapshot(pid, addr, bytes) : undefined };
    const p = new Process(pid, ptSab, this.phys, this.sysmem, new Set(caps), wrap, shared);
    this.procs.set(p.pid, p);
    return p;
  }

  private word(slot: number, w: number): number {
    return (ch.CTL_BYTES + slot * ch.CHANNEL_BYTES) / 4 + w;
  }

  private arg(slot: number, i: number): bigint {
    return this.i64[(ch.CTL_BYTES + slot * ch.CHANNEL_BYTES + ch.CH_ARGS_BYTE) / 8 + i];
  }

  private claimSlot(slot: number, p: Process): void {
    Atomics.store(this.i32, this.word(slot, ch.CH_PID), p.pid);
    Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_IDLE);
    this.slotProc.set(slot, p);
    p.slots.add(slot);
    this.activeSlots = [...this.slotProc.keys()].sort((a, b) => a - b);
  }

  /** Ends a slot of a process that is gone: its call in flight, if any, is never answered. */
  private exitSlot(slot: number): void {
    this.tracer?.drop(slot);
    Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_EXITED);
    Atomics.notify(this.i32, this.word(slot, ch.CH_STATE));
    this.freeSlot(slot);
  }

  private freeSlot(slot: number): void {
    const p = this.slotProc.get(slot);
    p?.slots.delete(slot);
    this.slotProc.delete(slot);
    this.activeSlots = [...this.slotProc.keys()].sort((a, b) => a - b);
  }

  private allocSlot(p: Process): number {
    for (let s = 0; s < ch.MAX_CHANNELS; s++) {
      if (!this.slotProc.has(s)) {
        this.claimSlot(s, p);
        return s;
      }
    }
    throw new Errno(EAGAIN, 'all %d channel slots in use', ch.MAX_CHANNELS);
  }

  /** Whether any slot has a posted request. */
  hasRequest(): boolean {
    for (const slot of this.activeSlots) {
      if (Atomics.load(this.i32, this.word(slot, ch.CH_STATE)) === ch.ST_REQUEST) return true;
    }
    return false;
  }

  /** Serves every slot with a posted request; returns how many were served. */
  serviceRequests(): number {
    let n = 0;
    for (const slot of this.activeSlots) {
      if (Atomics.load(this.i32, this.word(slot, ch.CH_STATE)) !== ch.ST_REQUEST) continue;
      Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_BUSY);
      this.serve(slot);
      n++;
    }
    return n;
  }

  private serve(slot: number): void {
    const proc = this.slotProc.get(slot)!;
    const nr = this.i32[this.word(slot, ch.CH_SYSCALL)];
    clearReason();
    this.tracer?.begin(slot, proc.pid, nr, (i) => this.arg(slot, i));
    try {
      const r = this.syscall(slot, proc, nr);
      if (r) this.complete(slot, r);
    } catch (e) {
      if (e instanceof Errno) this.complete(slot, { rc: -e.errno });
      else this.bug(slot, e);
    }
    this.tracer?.park(slot);
  }

  /** Writes a result into the slot and wakes its thread. */
  private complete(slot: number, r: SysResult): void {
    this.tracer?.end(slot, r.rc, r.rets);
    this.i32[this.word(slot, ch.CH_RESULT)] = r.rc < 0 ? -1 : r.rc;
    this.i32[this.word(slot, ch.CH_ERRNO)] = r.rc < 0 ? -r.rc : 0;
    if (r.rc < 0) this.explain(slot, -r.rc);
    const base = (ch.CTL_BYTES + slot * ch.CHANNEL_BYTES + ch.CH_RETS_BYTE) / 8;
    if (r.rets) for (let i = 0; i < r.rets.length; i++) this.i64[base + i] = r.rets[i];
    Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_DONE);
    if (Atomics.load(this.i32, this.word(slot, ch.CH_SLEEPING))) Atomics.notify(this.i32, this.word(slot, ch.CH_STATE));
  }

  /** Writes `text` into the slot's message area, NUL-terminated, cut to fit. */
  private setMessage(slot: number, text: string): void {
    const at = ch.CTL_BYTES + slot * ch.CHANNEL_BYTES + ch.CH_MSG_BYTE;
    const u8 = new Uint8Array(this.i32.buffer, at, ch.CH_MSG_BYTES);
    u8[utf8.encodeInto(text, u8.subarray(0, ch.CH_MSG_BYTES - 1)).written] = 0;
  }

  /** A failed call: its reason goes into the slot's message area and, when on, the log. */
  private explain(slot: number, errno: number): void {
    const reason = takeReason(errno);
    this.setMessage(slot, reason);
    if (!this.dmesg) return;
    const nr = this.i32[this.word(slot, ch.CH_SYSCALL)];
    const call = nr === ch.SYS.IOCTL ? requestName(this.i32[this.word(slot, ch.CH_ARGS_BYTE / 4 + 2)]) : ch.sysName(nr);
    const pid = this.slotProc.get(slot)?.pid;
    this.dmesg.push(`[${call}] pid ${pid}: ${errnoName(errno) ?? 'errno'} (-${errno}): ${reason}`);
    if (this.dmesg.length > DMESG_LINES) this.dmesg.shift();
  }

  /** An internal error while serving a call: report it to the caller instead of dying. */
  private bug(slot: number, e: unknown): void {
    this.tracer?.drop(slot);
    this.setMessage(slot, String(e instanceof Error ? (e.stack ?? e.message) : e));
    Atomics.store(this.i32, this.word(slot, ch.CH_STATE), ch.ST_KERNEL_BUG);
    Atomics.notify(this.i32, this.word(slot, ch.CH_STATE));
  }

  /** Dispatches one system call; null when the call was parked. */
  private syscall(slot: number, p: Process, nr: number): SysResult | null {
    const a = (i: number): bigint => this.arg(slot, i);
    switch (nr) {
      case ch.SYS.IOCTL: {
        // fd is an int and the request an unsigned int: their low 32-bit words, no BigInt.
        const w = this.word(slot, ch.CH_ARGS_BYTE / 4);
        return this.ioctl(slot, p, p.file(this.i32[w]), this.i32[w + 2] >>> 0, BigInt.asUintN(64, a(2)));
      }
      case ch.SYS.OPEN:
        // The channel's open has no path: it opens the one DRM node, ARG0 1 the primary minor.
        return { rc: p.installNewFd(() => this.chrdevs.open(DRM_MAJOR, a(0) === 1n ? 0 : DRM_MINOR_RENDER)) };
      case ch.SYS.CLOSE:
        p.closeFd(Number(a(0)));
        return { rc: 0 };
      case ch.SYS.MMAP: {
        const u = (i: number): bigint => BigInt.asUintN(64, a(i));
        const req = { addr: u(4), length: u(0), flags: Number(u(5) & 0xffff_ffffn) };
        return { rc: 0, rets: [this.mmap(p, Number(a(2)), u(3), Number(u(1) & 0xffff_ffffn), req)] };
      }
      case ch.SYS.MUNMAP:
        p.mm.munmap(BigInt.asUintN(64, a(0)), BigInt.asUintN(64, a(1)));
        return { rc: 0 };
      case ch.SYS.MALLOC:
        return { rc: 0, rets: [p.mm.malloc(Number(a(0)), Number(a(1)) || undefined)] };
      case ch.SYS.FREE:
        p.mm.freeBlock(BigInt.asUintN(64, a(0)));
        return { rc: 0 };
      case ch.SYS.THREAD_CREATE:
        return { rc: 0, rets: [BigInt(this.allocSlot(p))] };
      case ch.SYS.THREAD_EXIT:
        this.complete(slot, { rc: 0 });
        this.freeSlot(slot);
        return null;
      case ch.SYS.PROCESS_CREATE:
        return this.processCreate(a(0));
      case ch.SYS.PROCESS_EXIT:
        return this.processExit(slot, p);
      case ch.SYS.EVENTFD:
        return { rc: p.installFd(new EventFd(BigInt.asUintN(64, a(0)))) };
      case ch.SYS.READ:
        return { rc: 0, rets: [fileAs(p.file(Number(a(0))), EventFd, 'read: fd').take()] };
      case ch.SYS.DUP:
        return { rc: p.installFd(p.file(Number(a(0))).get()) };
      case ch.SYS.GETFD:
        return { rc: p.installFd(this.process(a(0)).file(Number(a(1))).get()) };
      case ch.SYS.KILL:
        return this.kill(slot, this.process(a(0)));
      case ch.SYS.DEBUG:
        return { rc: 0, rets: this.debugOps.call(Number(a(0)), p, [a(1), a(2), a(3), a(4)]) };
      case ch.SYS.SYSLOG:
        return { rc: this.syslog(p, BigInt.asUintN(64, a(0)), Number(a(1))) };
      case ch.SYS.GETPID:
        return { rc: p.pid };
      case ch.SYS.SETRLIMIT:
        p.setrlimit(Number(a(0)), Number(BigInt.asUintN(64, a(1))), Number(BigInt.asUintN(64, a(2))));
        return { rc: 0 };
      case ch.SYS.PINGPONG:
        this.complete(slot, { rc: 0 });
        this.pingPong(Number(a(0)), a(1) !== 0n);
        return null;
      case ch.SYS.SHUTDOWN:
        this.shutdown();
        return { rc: 0 };
      case ch.SYS.TRACE_ACCESS:
        return { rc: this.traceAccess(slot, p, BigInt.asUintN(64, a(0)), BigInt.asUintN(64, a(1)), a(2) !== 0n, a(3) !== 0n) };
      default:
        return { rc: fail(EINVAL, 'system call %d: unknown', nr) };
    }
  }

  /**
   * ioctl on file `f`. The call holds the file (fdget) until it returns, parked or not, so
   * a close() of its fd from another thread or process only removes the fd: the file's
   * release runs when its last holder is gone (fdput), after this call. The other syscalls
   * never park, so nothing can close their file while they run.
   */
  private ioctl(slot: number, p: Process, f: KFile, request: number, argp: bigint): SysResult | null {
    f.get();
    let r: CallResult | undefined;
    try {
      r = f.ioctl(p, request, argp);
    } finally {
      if (!r || r.done) f.put();
    }
    if (r.done) return { rc: r.rc };
    this.parked.push({ slot, file: f, wait: r.wait, finish: r.finish });
    return null;
  }

  /** The live process `pid`, or -ESRCH. */
  private process(pid: bigint): Process {
    const p = pid > 0n && pid <= 0x7fffffffn ? this.procs.get(Number(pid)) : undefined;
    if (!p) throw new Errno(ESRCH, 'pid %d: no such process', pid);
    return p;
  }

  /**
   * mmap in the order of x86 sys_mmap: the offset's alignment, the fd, then do_mmap; once
   * placed, a shared writable mapping of a file not opened for writing is -EACCES.
   */
  private mmap(p: Process, fd: number, offset: bigint, prot: number, req: MmapRequest): bigint {
    if (offset % BigInt(PAGE_SIZE) !== 0n) throw new Errno(EINVAL, 'mmap offset %x: not page aligned', offset);
    const file = fd === -1 ? null : p.file(fd);
    const writable = (prot & ch.PROT.WRITE) !== 0;
    return p.mm.mmap(
      req,
      file &&
        ((len) => {
          if (writable && !file.writable) throw new Errno(EACCES, 'mmap PROT_WRITE of a %s file opened read-only', file.kind);
          return file.mmap(p.mm, offset, len, writable);
        }),
    );
  }

  /**
   * trace_access(addr, len, write, inMsg): user code touched memory shared with the GPU; a
   * recording kernel records the bytes the caller put in the slot's message area (`inMsg`),
   * else those in memory now (a raw copy: no read of a call). -EINVAL for a len of 0, over
   * TRACE_ACCESS_MAX or, with `inMsg`, over CH_MSG_BYTES; -EFAULT for a range not mapped;
   * 0 at once when not recording.
   */
  private traceAccess(slot: number, p: Process, addr: bigint, len: bigint, write: boolean, inMsg: boolean): number {
    if (!this.tracer) return 0;
    const max = inMsg ? ch.CH_MSG_BYTES : ch.TRACE_ACCESS_MAX;
    if (len === 0n || len > BigInt(max)) return fail(EINVAL, 'trace_access length %d: 0 or over %d', len, max);
    const now = p.rawUm.copyFromUser(addr, Number(len));
    const msg = ch.CTL_BYTES + slot * ch.CHANNEL_BYTES + ch.CH_MSG_BYTE;
    this.tracer.access(p.pid, slot, addr, inMsg ? new Uint8Array(this.i32.buffer, msg, Number(len)).slice() : now, write);
    return 0;
  }

  /**
   * syslog(buf, len): copies up to `len` bytes of the failure log (lines ending in '\n')
   * to `buf`; returns the log's full size. Without the log (BootData.dmesg) it is empty.
   */
  private syslog(p: Process, buf: bigint, len: number): number {
    const text = utf8.encode(this.dmesg?.map((l) => `${l}\n`).join('') ?? '');
    if (len > 0) p.um.copyToUser(buf, text, Math.min(len, text.length));
    return text.length;
  }

  private processCreate(capMask: bigint): SysResult {
    const msg = this.port ? receiveMessageOnPort(this.port) : undefined;
    const ptSab = (msg?.message as { ptSab?: SharedArrayBuffer } | undefined)?.ptSab;
    if (!ptSab) throw new Errno(EINVAL, 'process_create: no page table was posted');
    const caps = [...Array(64).keys()].filter((c) => (capMask >> BigInt(c)) & 1n);
    const p = this.newProcess(ptSab, caps);
    const slot = this.allocSlot(p);
    return { rc: 0, rets: [BigInt(p.pid), BigInt(slot)] };
  }

  /** exit(): the calling thread gets its answer; the process's other threads die with it. */
  private processExit(slot: number, p: Process): null {
    this.release(p);
    this.complete(slot, { rc: 0 });
    for (const s of [...p.slots]) (s === slot ? this.freeSlot(s) : this.exitSlot(s));
    return null;
  }

  /** kill(pid, SIGKILL): every thread of `target` dies, the caller too if it is one of them. */
  private kill(slot: number, target: Process): SysResult | null {
    this.release(target);
    const self = target.slots.has(slot);
    for (const s of [...target.slots]) this.exitSlot(s);
    return self ? null : { rc: 0 };
  }

  /**
   * Releases what process `p` holds: its blocked calls are dropped (each wait releases what
   * it holds and its file reference goes), then its fds are closed and its memory unmapped.
   */
  private release(p: Process): void {
    const still: Parked[] = [];
    for (const w of this.parked) {
      if (!p.slots.has(w.slot)) still.push(w);
      else {
        w.wait.cancel?.();
        w.file.put();
      }
    }
    this.parked = still;
    p.exit();
    this.procs.delete(p.pid);
  }

  /** Answers `n` raw pings on CTL_PING (the benchmark's baseline round trip). */
  private pingPong(n: number, spin: boolean): void {
    const i32 = this.i32;
    for (let k = 0; k < n; k++) {
      const ping = 2 * k + 1;
      let spins = spin ? ch.SPIN_ROUNDS : 0;
      while (Atomics.load(i32, ch.CTL_PING) !== ping) {
        if (spins-- <= 0) Atomics.wait(i32, ch.CTL_PING, ping - 1, 1000);
      }
      Atomics.store(i32, ch.CTL_PING, ping + 1);
      Atomics.notify(i32, ch.CTL_PING);
    }
  }

  /**
   * Re-checks parked calls after a wake-up, and expires those past their deadline. Repeats
   * while completing one call wakes others (a TRANSFER that adds a point another wait needs).
   */
  runWaits(): void {
    do this.runWaitsOnce();
    while (this.parked.length && this.waitq.pending());
  }

  private runWaitsOnce(): void {
    if (!this.parked.length) return;
    const woken = this.waitq.take();
    const now = monotonicNs();
    const still: Parked[] = [];
    for (const w of this.parked) {
      clearReason();
      this.tracer?.resume(w.slot);
      try {
        const rc = this.step(w, woken, now);
        this.tracer?.park(w.slot);
        if (rc === null) still.push(w);
        else {
          // fdput before the answer: a release this call was holding up runs first.
          w.file.put();
          this.complete(w.slot, { rc });
        }
      } catch (e) {
        this.bug(w.slot, e);
      }
    }
    this.parked = still;
  }

  /** Re-checks one parked call: its final result (after the copy-back), or null to keep waiting. */
  private step(w: Parked, woken: boolean, now: bigint): number | null {
    let rc: number | null;
    try {
      rc = woken ? w.wait.poll() : null;
      if (rc === null && w.wait.deadline !== null && now >= w.wait.deadline) rc = w.wait.expire();
      if (rc === null) return null;
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      rc = -e.errno;
    }
    return w.finish(rc);
  }

  /** Registers a driver's background work (its engines); run in registration order. */
  addBackground(b: Background): void {
    this.background.push(b);
  }

  /** One slice of every background work: 'busy' if any has more to run, else 'poll' if any polls. */
  runBackground(): BackgroundState {
    let state: BackgroundState = 'idle';
    for (const b of this.background) {
      const s = b.slice();
      if (s === 'busy' || (s === 'poll' && state === 'idle')) state = s;
    }
    return state;
  }

  /** The nearest deadline of a parked call or of background work (absolute ns), or null. */
  private nextDeadline(): bigint | null {
    let next: bigint | null = null;
    for (const d of [...this.parked.map((w) => w.wait.deadline), ...this.background.map((b) => b.deadline())]) {
      if (d !== null && (next === null || d < next)) next = d;
    }
    return next;
  }

  /** Milliseconds the loop may sleep before the next parked or background deadline (capped). */
  sleepMs(cap: number): number {
    const next = this.nextDeadline();
    return next === null ? cap : Math.min(cap, Math.max(0, Number(next - monotonicNs()) / 1e6));
  }

  traceSeq(): number | null {
    return this.tracer?.currentSeq() ?? null;
  }

  onBehalf<T>(seq: number | null, fn: () => T): T {
    return this.tracer ? this.tracer.onBehalf(seq, fn) : fn();
  }

  /** The kernel is about to sleep: recorded calls go to the trace file. */
  idle(): void {
    this.tracer?.flush();
  }

  /** The kernel thread ends: the trace file is finished. */
  finish(): void {
    this.tracer?.close();
  }

  /** Device close: every process is released; calls in flight learn it from KERNEL_STOPPED. */
  private shutdown(): void {
    for (const p of [...this.procs.values()]) this.release(p);
    this.stopped = true;
  }
}

