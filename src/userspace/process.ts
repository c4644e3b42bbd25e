/**
 * An emulated user process as its code sees it: `open`, `close`, `ioctl`, `mmap`,
 * `munmap`, eventfds and threads, each a system call on this thread's channel that returns
 * -1 and sets `errno` on failure, like libc.
 */
import { AddressSpace, CpuPageTable, USER_BASE } from '../hw/cpu_mmu.js';
import { PhysicalMemory, type RegionDesc } from '../hw/memory.js';
import { CTL_PING, DEBUG, MAP_FIXED, MAP_FIXED_NOREPLACE, PROT, RLIMIT, SPIN_ROUNDS, SYS, sysName } from '../uapi/channel.js';
import { ENOSPC, errnoName } from '../uapi/errno.js';
import { engineSelector } from '../uapi/sched_inspect.js';
import { requestName } from '../uapi/uapi.js';
import { Channel } from './channel.js';
import { assertBigint } from './check.js';
import { reportAccess, UserMem } from './mem.js';
import { decodeEngineTrace, decodeQueueInfo, type EngineTrace, type QueueInfo } from './sched_inspect.js';
import {
  decodeGpuAccess, decodeViolations, decodeVmInfo, vmArgWord, type GpuAccessReport, type VmInfo, type VmViolation,
} from './vm_inspect.js';

/**
 * Where mmap puts a mapping: `fixed` (MAP_FIXED: exactly there, replacing whatever is mapped
 * in the range), `noReplace` (MAP_FIXED_NOREPLACE: exactly there, EEXIST if anything is), or
 * `hint` (used when the range is free). At most one; none: the kernel chooses.
 */
export interface MmapAt {
  fixed?: bigint;
  noReplace?: bigint;
  hint?: bigint;
}

/** The addr and flags words of mmap for `at`. */
function placeArgs(at: MmapAt): [bigint, bigint] {
  const given = (['fixed', 'noReplace', 'hint'] as const).filter((k) => at[k] !== undefined);
  if (given.length > 1) throw new TypeError(`mmap: give one of fixed, noReplace, hint (got ${given.join(', ')})`);
  const k = given[0];
  if (k === undefined) return [0n, 0n];
  assertBigint(`mmap ${k}`, at[k]);
  return [at[k]!, BigInt(k === 'fixed' ? MAP_FIXED : k === 'noReplace' ? MAP_FIXED_NOREPLACE : 0)];
}

/** Everything a thread needs to issue calls in a process; can be posted to another worker thread. */
export interface ThreadHandle {
  control: SharedArrayBuffer;
  regions: RegionDesc[];
  ptSab: SharedArrayBuffer;
  pid: number;
  slot: number;
}

/** Why the last failed call of a thread failed (`Process.lastError`). */
export interface LastError {
  /** The positive Linux errno (as `p.errno`). */
  errno: number;
  /** Its name, e.g. 'EINVAL' ('errno <n>' for one the table does not list). */
  name: string;
  /** The ioctl (DRM_IOCTL_* name) or system call (e.g. 'mmap') that failed. */
  call: string;
  /** The kernel's reason: the failed condition, the field and its value. */
  reason: string;
  /** All of it in one line: "DRM_IOCTL_XE_GEM_CREATE: EINVAL (22): drm_xe_gem_create.flags: ...". */
  message: string;
}

/** A process, as used from one thread. */
export class Process {
  /** errno of the last failed call, as a positive Linux errno. */
  errno = 0;
  /**
   * Why the last failed call of this thread failed, or null before any failure. Like errno
   * it is set by every failed call and left alone by successful ones: read it right after a
   * call returned -1.
   */
  lastError: LastError | null = null;
  readonly pid: number;
  readonly mem: UserMem;
  private readonly chan: Channel;
  /** This thread's handle: its process's page table and its channel slot (trace replay drives them directly). */
  readonly handle: ThreadHandle;
  private rets: BigInt64Array<ArrayBufferLike> = new BigInt64Array(4);

  constructor(h: ThreadHandle) {
    this.handle = h;
    this.pid = h.pid;
    this.chan = new Channel(h.control, h.slot, h.pid);
    const as = new AddressSpace(new CpuPageTable(h.ptSab, USER_BASE), new PhysicalMemory(h.regions), reportAccess(this.chan));
    this.mem = new UserMem(as, this.chan);
  }

  /** Issues a system call; returns RESULT, or -1 with errno set. RET words land in `rets`. */
  private sys(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n, a5 = 0n): number {
    const r = this.chan.call(nr, a0, a1, a2, a3, a4, a5);
    this.rets = r.rets;
    if (r.result < 0) return this.failed(r.errno, sysName(nr));
    return r.result;
  }

  /** Records a failed call (errno and lastError); returns -1. */
  private failed(errno: number, call: string): -1 {
    this.errno = errno;
    const name = errnoName(errno) ?? `errno ${errno}`;
    const reason = this.chan.reason();
    this.lastError = { errno, name, call, reason, message: `${call}: ${name} (${errno}): ${reason}` };
    return -1;
  }

  /** Like sys, for calls that return a 64-bit word: the word, or -1n with errno set. */
  private sys64(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n, a5 = 0n): bigint {
    return this.sys(nr, a0, a1, a2, a3, a4, a5) < 0 ? -1n : BigInt.asUintN(64, this.rets[0]);
  }

  /** getpid(): this process's id, fetched from the kernel. */
  getpid(): number {
    return this.sys(SYS.GETPID);
  }

  /** Opens the device: a render node (default), or the primary node. Returns an fd or -1. */
  open(node: 'render' | 'primary' = 'render'): number {
    return this.sys(SYS.OPEN, node === 'primary' ? 1n : 0n);
  }

  /** Closes an fd. */
  close(fd: number): number {
    return this.sys(SYS.CLOSE, BigInt(fd));
  }

  /** ioctl(fd, request, argp): 0, or -1 with errno. */
  ioctl(fd: number, request: number, argp: bigint): number {
    assertBigint('ioctl argp', argp);
    const r = this.chan.callIoctl(fd, request, argp);
    if (r.result < 0) return this.failed(r.errno, requestName(request));
    return r.result;
  }

  /**
   * Maps `length` bytes of fd at `offset` (a BO's fake offset, or an offset into a dma-buf),
   * placed as `at` says, read/write (`prot: 'rw'`, the default) or read-only (`'r'`); returns
   * the address, or -1n with errno.
   */
  mmap(length: number | bigint, fd: number, offset: bigint, at: MmapAt & { prot?: 'r' | 'rw' } = {}): bigint {
    assertBigint('mmap offset', offset);
    const prot = at.prot === 'r' ? PROT.READ : PROT.READ | PROT.WRITE;
    return this.sys64(SYS.MMAP, BigInt(length), BigInt(prot), BigInt(fd), offset, ...placeArgs(at));
  }

  /** Anonymous zeroed memory (mmap MAP_ANONYMOUS), placed as `at` says; address, or -1n with errno. */
  mmapAnon(length: number | bigint, at: MmapAt = {}): bigint {
    return this.sys64(SYS.MMAP, BigInt(length), BigInt(PROT.READ | PROT.WRITE), -1n, 0n, ...placeArgs(at));
  }

  /** Unmaps exactly the pages of [addr, addr + length), splitting mappings; holes are fine. */
  munmap(addr: bigint, length: number | bigint): number {
    assertBigint('munmap addr', addr);
    return this.sys(SYS.MUNMAP, addr, BigInt(length));
  }

  /** eventfd(initval): an fd or -1. */
  eventfd(initval = 0n): number {
    return this.sys(SYS.EVENTFD, initval);
  }

  /** Reads (and clears) an eventfd counter; -1n with errno on error. */
  readEventfd(fd: number): bigint {
    return this.sys64(SYS.READ, BigInt(fd));
  }

  /**
   * syslog(buf, len): copies up to `len` bytes of the kernel's failure log to `buf`; returns
   * the log's full size in bytes (len 0 only asks for it). See Device.dmesg.
   */
  syslog(buf: bigint, len: number): number {
    return this.sys(SYS.SYSLOG, buf, BigInt(len));
  }

  /** dup(fd). */
  dup(fd: number): number {
    return this.sys(SYS.DUP, BigInt(fd));
  }

  /**
   * setrlimit(RLIMIT_`resource`, { cur, max }) (max defaults to cur, as `ulimit -n` sets
   * both): 0, or -1 with errno. RLIMIT_NOFILE bounds every new fd (default 1024 / 4096).
   */
  setrlimit(resource: keyof typeof RLIMIT, cur: number, max = cur): number {
    return this.sys(SYS.SETRLIMIT, BigInt(RLIMIT[resource]), BigInt(cur), BigInt(max));
  }

  /** A handle for another worker thread to issue calls in this process (see attachThread). */
  threadHandle(): ThreadHandle {
    const slot = this.sys64(SYS.THREAD_CREATE);
    if (slot < 0n) throw new Error(`thread_create failed: ${this.lastError?.message}`);
    return { ...this.handle, slot: Number(slot) };
  }

  /**
   * exit(): closes every fd of the process and releases it. Later calls through this
   * Process object throw ProcessExited.
   */
  exit(): void {
    this.sys(SYS.PROCESS_EXIT);
    this.chan.markExited();
  }

  /**
   * kill(pid, SIGKILL): process `pid` exits at once, as if it had called exit(); a call
   * blocked in one of its threads throws ProcessExited there. 0, or -1 with errno (ESRCH: no
   * such live process). Killing this very process throws ProcessExited here.
   */
  kill(pid: number): number {
    return this.sys(SYS.KILL, BigInt(pid));
  }

  /**
   * Takes a copy of fd `fd` of process `from` (SCM_RIGHTS passing, done the way
   * pidfd_getfd(2) does it): the same open file, one more reference to it, installed at this
   * process's lowest free fd. Returns the new fd, or -1 with errno (ESRCH, EBADF, EMFILE).
   */
  receiveFd(from: Process | number, fd: number): number {
    return this.sys(SYS.GETFD, BigInt(typeof from === 'number' ? from : from.pid), BigInt(fd));
  }

  /** Ends this thread's use of its channel (from an attached thread, when it is done). */
  exitThread(): void {
    this.sys(SYS.THREAD_EXIT);
  }

  /** CLOCK_MONOTONIC in nanoseconds, the clock of absolute ioctl timeouts. */
  clockMonotonicNs(): bigint {
    return process.hrtime.bigint();
  }

  /** A raw system call (see SYS in src/uapi/channel.ts): its return words; throws on error. */
  rawSyscall(nr: number, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n): bigint[] {
    if (this.sys(nr, a0, a1, a2, a3, a4) < 0) throw new Error(`system call ${nr} failed: ${this.lastError?.message}`);
    return [...this.rets];
  }

  /** Emulator control (see DEBUG in src/uapi/channel.ts); returns the result words, throws on error. */
  debug(op: number, a1 = 0n, a2 = 0n, a3 = 0n, a4 = 0n): bigint[] {
    return this.rawSyscall(SYS.DEBUG, BigInt(op), a1, a2, a3, a4);
  }

  /**
   * Benchmark baseline: `n` raw SharedArrayBuffer round trips with the kernel thread on the
   * control block's ping word, using the channel's spin-then-sleep protocol (or, without
   * `spin`, sleeping in Atomics.wait at once).
   */
  rawPingPong(n: number, spin = true): void {
    this.rawSyscall(SYS.PINGPONG, BigInt(n), spin ? 1n : 0n);
    const i32 = new Int32Array(this.handle.control);
    for (let k = 0; k < n; k++) {
      const pong = 2 * k + 2;
      Atomics.store(i32, CTL_PING, pong - 1);
      Atomics.notify(i32, CTL_PING);
      let spins = spin ? SPIN_ROUNDS : 0;
      while (Atomics.load(i32, CTL_PING) !== pong) {
        if (spins-- <= 0) Atomics.wait(i32, CTL_PING, pong - 1, 1000);
      }
    }
    Atomics.store(i32, CTL_PING, 0);
  }

  /**
   * VM `vmId` of DRM fd `fd`: its flags, VMAs and page-table statistics (DEBUG.VM_INFO), or
   * null with errno set (EBADF: not an xe fd, ENOENT: no such VM).
   */
  vmInfo(fd: number, vmId: number): VmInfo | null {
    const json = this.debugText(DEBUG.VM_INFO, fd, vmId);
    return json === null ? null : decodeVmInfo(json);
  }

  /** A text dump of VM `vmId` of `fd` (header, VMAs, page-table tree; DEBUG.VM_DUMP), or null with errno set. */
  vmDump(fd: number, vmId: number): string | null {
    return this.debugText(DEBUG.VM_DUMP, fd, vmId);
  }

  /**
   * The invariant checker on VM `vmId` of `fd` (DEBUG.VM_CHECK): the VMA tree against a walk
   * of the page-table bytes; an empty list when every invariant holds, null with errno set.
   */
  vmCheck(fd: number, vmId: number): VmViolation[] | null {
    const json = this.debugText(DEBUG.VM_CHECK, fd, vmId);
    return json === null ? null : decodeViolations(json);
  }

  /**
   * Reads `len` bytes at GPU address `addr` of VM `vmId` of `fd` through the VM's GPU MMU:
   * the bytes (those before a faulting page; NULL pages read 0) and the fault, if any; null
   * with errno set when the call itself fails.
   */
  gpuRead(fd: number, vmId: number, addr: bigint, len: number): (GpuAccessReport & { data: Uint8Array }) | null {
    assertBigint('gpuRead addr', addr);
    const buf = this.mem.alloc(Math.max(len, 1));
    try {
      if (this.sys(SYS.DEBUG, BigInt(DEBUG.GPU_READ), vmArgWord(fd, vmId), addr, buf, BigInt(len)) < 0) return null;
      const r = decodeGpuAccess(this.rets);
      return { ...r, data: r.done ? this.mem.read(buf, r.done) : new Uint8Array(0) };
    } finally {
      this.mem.free(buf);
    }
  }

  /** Writes `data` at GPU address `addr` of VM `vmId` of `fd` through the VM's GPU MMU; as gpuRead. */
  gpuWrite(fd: number, vmId: number, addr: bigint, data: Uint8Array): GpuAccessReport | null {
    assertBigint('gpuWrite addr', addr);
    const buf = this.mem.alloc(Math.max(data.length, 1));
    try {
      if (data.length) this.mem.write(buf, data);
      if (this.sys(SYS.DEBUG, BigInt(DEBUG.GPU_WRITE), vmArgWord(fd, vmId), addr, buf, BigInt(data.length)) < 0) return null;
      return decodeGpuAccess(this.rets);
    } finally {
      this.mem.free(buf);
    }
  }

  /**
   * Exec queue `q` of DRM fd `fd` (DEBUG.QUEUE_INFO): its unfinished jobs (fence, state,
   * engines and contexts), last fence, ban and allowed engines; null with errno set (EBADF:
   * not an xe fd, ENOENT: no such queue).
   */
  queueInfo(fd: number, q: number): QueueInfo | null {
    const json = this.debugText(DEBUG.QUEUE_INFO, fd, q);
    return json === null ? null : decodeQueueInfo(json);
  }

  /**
   * The commands engine (`engineClass`, logical `instance`, `gt`) of the device behind `fd`
   * executed, oldest first and decoded (DEBUG.ENGINE_TRACE; the engine keeps the last 256);
   * null with errno set (ENOENT: no such engine).
   */
  engineTrace(fd: number, engineClass: number, instance = 0, gt = 0): EngineTrace | null {
    const json = this.debugText(DEBUG.ENGINE_TRACE, fd, engineSelector(engineClass, instance, gt));
    return json === null ? null : decodeEngineTrace(json);
  }

  /**
   * A text answer of an inspection control naming object `id` of `fd`: its length first, then
   * the text (again if it grew meanwhile: ENOSPC).
   */
  private debugText(op: number, fd: number, id: number): string | null {
    const arg = vmArgWord(fd, id);
    for (;;) {
      if (this.sys(SYS.DEBUG, BigInt(op), arg, 0n, 0n) < 0) return null;
      const len = Number(this.rets[0]);
      const buf = this.mem.alloc(Math.max(len, 1));
      try {
        if (this.sys(SYS.DEBUG, BigInt(op), arg, buf, BigInt(len)) >= 0) return new TextDecoder().decode(this.mem.read(buf, len));
        if (this.errno !== ENOSPC) return null;
      } finally {
        this.mem.free(buf);
      }
    }
  }

  /** Wedges (or unwedges) the device: every ioctl then fails with ECANCELED. */
  wedge(on = true): void {
    this.debug(DEBUG.WEDGE, on ? 1n : 0n);
  }
}

/** In another worker thread: a Process view that issues calls on the handle's own channel. */
export function attachThread(h: ThreadHandle): Process {
  return new Process(h);
}
