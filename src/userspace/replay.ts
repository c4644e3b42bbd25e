/**
 * Trace replay (docs/trace-format.md "Replay"): a fresh device with the recorded options, the
 * calls posted in entry (`seq`) order on the channel slots mapped from their recorded threads,
 * awaited in file (completion) order, and each answer compared with the record: ret, errno,
 * every kernel write (ids remapped, clock fields masked), mmap results and return words.
 *
 * One JS thread drives every replayed thread through Channel.post / wait; it writes a call's
 * recorded inputs into user memory through its own AddressSpace (no trace hooks). A replayer
 * process of its own (created first, so replayed pids from 2 on are one higher) asks the
 * kernel to settle (DEBUG.SETTLE) while a call is awaited: a call still blocked once the GPU
 * has had nothing to run for `idleMs` is reported instead of waited for, so a replay never hangs.
 */
import { AddressSpace, CpuPageTable, PageFault, USER_BASE } from '../hw/cpu_mmu.js';
import { PhysicalMemory } from '../hw/memory.js';
import type { ProfileName } from '../hw/profile.js';
import { DEBUG, SYS, sysName } from '../uapi/channel.js';
import { errnoName, ETIME } from '../uapi/errno.js';
import { decodeTrace, type CallRecord, type CpuAccessRecord, type IoctlRecord, type MemRange, type Trace, type TraceRecord } from '../uapi/trace.js';
import { describeDifference, firstDifference } from '../uapi/trace_compare.js';
import { formatRecord } from '../uapi/trace_decode.js';
import {
  bytesAt, clockFields, getUint, IdMaps, ioctlIdSlots, kernelWrittenInputs, patchRange, timeoutFixes, type FieldAt, type IdKind, type IdSlot,
} from '../uapi/trace_ids.js';
import { requestName } from '../uapi/uapi.js';
import { Channel, KernelBug, ProcessExited, type SysReturn } from './channel.js';
import { createDevice, type Device } from './device.js';
import type { Process } from './process.js';

/** Options of replayTrace. */
export interface ReplayOptions {
  /** Report every divergence (default: stop at the first). */
  all?: boolean;
  /** Replay the readable records of a truncated trace (default: a truncated trace throws TraceError). */
  partial?: boolean;
  /** Called now and then with the records handled so far and their total. */
  progress?: (done: number, total: number) => void;
  /** Wall-clock ms a call may stay blocked with the GPU idle before it is reported (default 2000). */
  idleMs?: number;
}

/** One difference between the recorded and the replayed run. */
export interface Divergence {
  /** Index of the record in the file (0: the first after the header). */
  index: number;
  /** Byte offset of the record in the file. */
  offset: number;
  seq: number;
  pid: number;
  tid: number;
  /**
   * What differs: the result (ret / errno), a kernel write, return words, a call that would
   * block forever, an input that cannot be stored, or the bytes of a CPU read (type 17).
   */
  kind: 'result' | 'write' | 'rets' | 'blocked' | 'input' | 'cpu_read';
  /** The recorded call, decoded (formatRecord). */
  recorded: string;
  /** The replayed call, decoded the same way. */
  replayed: string;
  /** The differing fields, one line each (`drm_xe_gem_create.handle: recorded 1, replayed 2`). */
  fields: string[];
}

/** What a replay found. */
export interface ReplayReport {
  /** Records in the trace (its readable prefix with `partial`). */
  records: number;
  /** Calls replayed. */
  replayed: number;
  divergences: Divergence[];
  /** Calls by name (ioctl or system call) and outcome: 'ok', an errno name, or 'diverged'. */
  summary: Record<string, Record<string, number>>;
  /** Records not replayed, by reason. */
  notReplayed: Record<string, number>;
  /** Where a truncated trace was cut (with `partial`). */
  cut?: { index: number; offset: number };
}

const IDLE_MS = 2000;
/** First wait for an answer, and each later step between DEBUG.SETTLE calls. */
const FIRST_MS = 20;
const STEP_MS = 20;
/** Records a poll's later loads are looked for in (aheadOfPoll). */
const POLL_LOOKAHEAD = 4096;
/** DEBUG.SETTLE's "no deadline". */
const NO_DEADLINE = (1n << 64n) - 1n;

/** A replayed process: its pid and its memory as the replayer writes and reads it. */
interface Proc {
  pid: number;
  as: AddressSpace;
  dead: boolean;
}

/** A replayed thread: its channel slot in its process. */
interface Thread {
  proc: Proc;
  chan: Channel;
}

/** A posted call. */
interface Pending {
  index: number;
  rec: CallRecord;
  thread: Thread;
  /** Id fields of an ioctl (from its recorded reads). */
  slots: IdSlot[];
}

/** The not-replayed reason of a record, or null when it is replayed. */
function skipReason(r: TraceRecord): string | null {
  if (r.type !== 'syscall') return null;
  if (r.nr === SYS.SHUTDOWN) return 'shutdown (the replay closes the device at its end)';
  if (r.nr === SYS.PINGPONG) return 'pingpong (a benchmark of the channel)';
  if (r.nr === SYS.DEBUG && r.args[0] === BigInt(DEBUG.KERNEL_PANIC)) return 'debug kernel_panic';
  return null;
}

/** ioctl names by request, for the summary. */
const ioctlNames = new Map<number, string>();

/** Name of a call (or CPU access) for the summary. */
function callName(r: TraceRecord): string {
  if (r.type === 'ioctl') {
    let name = ioctlNames.get(r.request);
    if (name === undefined) ioctlNames.set(r.request, (name = requestName(r.request)));
    return name;
  }
  return r.type === 'syscall' ? sysName(r.nr) : r.type;
}

/** Reused by readUser for the common small read. */
const scratch = new Uint8Array(4096);

/**
 * Reads `len` bytes of user memory, or null where a page is not mapped. With `temp` the bytes
 * may be in a buffer the next call reuses (a comparison that copies what it keeps).
 */
function readUser(as: AddressSpace, addr: bigint, len: number, temp = false): Uint8Array | null {
  try {
    if (!temp || len > scratch.length) return as.read(addr, len);
    const out = scratch.subarray(0, len);
    as.readInto(addr, out);
    return out;
  } catch (e) {
    if (e instanceof PageFault) return null;
    throw e;
  }
}

/** A byte interval [start, end). */
type Span = [bigint, bigint];

/** `parts` without the bytes of the second argument. */
function minus(parts: Span[], [s, e]: Span): Span[] {
  return parts.flatMap(([a, b]): Span[] => (e <= a || s >= b ? [[a, b]] : ([[a, s], [e, b]] as Span[]).filter(([x, y]) => x < y)));
}

/** The parts of `reads` whose bytes no earlier read of the call covered, in order. */
function firstReads(reads: readonly MemRange[]): readonly MemRange[] {
  if (reads.length < 2) return reads;
  const seen: Span[] = [];
  const out: MemRange[] = [];
  for (const r of reads) {
    const whole: Span = [r.addr, r.addr + BigInt(r.data.length)];
    for (const [a, b] of seen.reduce(minus, [whole])) out.push({ addr: a, data: r.data.subarray(Number(a - r.addr), Number(b - r.addr)) });
    seen.push(whole);
  }
  return out;
}

function overlaps(r: MemRange, f: FieldAt): boolean {
  return f.addr < r.addr + BigInt(r.data.length) && r.addr < f.addr + BigInt(f.size);
}

/** The replay of one trace on one device. */
class Replayer {
  private readonly ids = new IdMaps();
  /** Recorded pid -> replayed process. */
  private readonly procs = new Map<number, Proc>();
  /** Recorded slot -> replayed thread. */
  private readonly threads = new Map<number, Thread>();
  /** Posted calls not yet awaited, by file index; and by recorded slot. */
  private readonly inflight = new Map<number, Pending>();
  private readonly bySlot = new Map<number, number>();
  private stopped = false;
  /**
   * Fields the kernel last wrote whose bytes may rightly differ (ids, clock readings), by
   * process: a CPU read that covers one (user code reading back an argument struct in a page
   * shared with the GPU) does not compare them; the ioctl's own comparison did, remapped.
   */
  private readonly unstable = new Map<string, FieldAt & { pid: number }>();
  readonly report: ReplayReport;

  constructor(
    private readonly trace: Trace,
    private readonly dev: Device,
    private readonly ctl: Process,
    private readonly opts: ReplayOptions,
  ) {
    this.report = { records: trace.records.length, replayed: 0, divergences: [], summary: {}, notReplayed: {}, ...(trace.cut ? { cut: trace.cut } : {}) };
    const main = this.addProc(1, dev.process);
    this.threads.set(0, { proc: main, chan: new Channel(dev.process.handle.control, 0, 1) });
    this.ids.set('pid', 1n, 1n);
  }

  private addProc(recordedPid: number, p: Process): Proc {
    const h = p.handle;
    const proc = { pid: p.pid, as: new AddressSpace(new CpuPageTable(h.ptSab, USER_BASE), new PhysicalMemory(h.regions)), dead: false };
    this.procs.set(recordedPid, proc);
    return proc;
  }

  /** Replays every record. */
  run(): void {
    const recs = this.trace.records;
    // Entry order; a snapshot (a cpu_write with a call's seq) goes before that call, even one
    // a batch's fault took after its EXEC completed.
    const first = (i: number): number => (recs[i].type === 'cpu_write' ? 0 : 1);
    const order = recs.map((_, i) => i).sort((a, b) => recs[a].seq - recs[b].seq || first(a) - first(b) || a - b);
    let done = 0;
    for (const i of order) {
      if (this.stopped) break;
      if (++done % 1024 === 0) this.opts.progress?.(done, recs.length);
      this.step(i);
    }
    for (const i of [...this.inflight.keys()].sort((a, b) => a - b)) {
      if (this.stopped) break;
      this.finish(i);
    }
    this.opts.progress?.(recs.length, recs.length);
  }

  private step(i: number): void {
    const r = this.trace.records[i];
    if (isCpuAccess(r)) return this.cpuAccess(i, r);
    const why = skipReason(r);
    if (why) return this.skip(why);
    const rec = r as CallRecord;
    const proc = this.procs.get(rec.pid);
    if (!proc || proc.dead) return this.skip(proc ? 'calls of a killed process' : 'calls of an unknown process');
    const prev = this.bySlot.get(rec.tid);
    if (prev !== undefined) this.finish(prev);
    // A call that did not block entered after every call before it in the file had completed.
    if (!(rec.type === 'ioctl' && rec.blocked)) this.finishBefore(i);
    const thread = this.threads.get(rec.tid);
    if (this.stopped) return;
    // The awaits above may have killed the process (--all, a call that would block forever).
    if (proc.dead) return this.skip('calls of a killed process');
    if (!thread) return this.skip('calls of an unknown thread');
    if (rec.type === 'syscall' && rec.nr === SYS.PROCESS_CREATE) return this.processCreate(i, rec);
    let pending: Pending | null;
    try {
      pending = this.post(i, rec, thread);
    } catch (e) {
      if (!(e instanceof ProcessExited)) throw e;
      return this.skip('calls of a killed process');
    }
    if (!pending) return;
    this.inflight.set(i, pending);
    this.bySlot.set(rec.tid, i);
    if (!(rec.type === 'ioctl' && rec.blocked)) this.finish(i);
  }

  /** Awaits every posted call recorded before file index `i`. */
  private finishBefore(i: number): void {
    if (!this.inflight.size) return;
    for (const k of [...this.inflight.keys()].sort((a, b) => a - b)) if (k < i && !this.stopped) this.finish(k);
  }

  /**
   * A CPU access of GPU-shared memory, after every call before it in the file has completed:
   * a store (or snapshot) is applied to the replay's memory; a load is checked against it
   * once the GPU has caught up. A snapshot a batch's fault took (thread -1) goes before the
   * batch's EXEC, which it follows in the file: it waits for nothing.
   */
  private cpuAccess(index: number, r: CpuAccessRecord): void {
    const proc = this.procs.get(r.pid);
    if (!proc || proc.dead) return this.skip(proc ? 'CPU accesses of a killed process' : 'CPU accesses of an unknown process');
    if (r.tid !== -1) this.finishBefore(index);
    if (this.stopped) return;
    if (r.type === 'cpu_write') return this.cpuWrite(index, r, proc);
    this.cpuRead(index, r, proc);
  }

  /** Remembers the id and clock fields ioctl `p` writes (see `unstable`). */
  private noteUnstable(p: Pending): void {
    const rec = p.rec as IoctlRecord;
    const fields = [...p.slots.filter((s) => s.output), ...clockFields(rec.request, rec.argp, rec.reads)];
    for (const f of fields) this.unstable.set(`${rec.pid}:${f.addr}:${f.size}`, { ...f, pid: rec.pid });
  }

  private cpuWrite(index: number, r: CpuAccessRecord, proc: Proc): void {
    const end = r.addr + BigInt(r.data.length);
    for (const [k, f] of this.unstable) if (f.pid === r.pid && f.addr < end && r.addr < f.addr + BigInt(f.size)) this.unstable.delete(k);
    try {
      proc.as.write(r.addr, r.data);
    } catch (e) {
      if (!(e instanceof PageFault)) throw e;
      this.count(r, 'diverged');
      return this.diverge(index, r, null, 'input', [`cpu_write at 0x${r.addr.toString(16)} (${r.data.length} bytes): not mapped in the replay`]);
    }
    this.count(r, 'ok');
  }

  /**
   * A CPU load: the replay's memory must hold the recorded bytes once the GPU has caught up.
   * The device settles (DEBUG.SETTLE) until they match, the GPU has nothing left to run, or
   * `idleMs` of wall clock have passed (a GPU that never idles); then a mismatch diverges.
   * A poll whose later loads already see what memory holds (the replay's GPU is ahead of
   * the recorded one: "not started yet" was read, then "started") matches too.
   */
  private cpuRead(index: number, r: CpuAccessRecord, proc: Proc): void {
    const end = Date.now() + (this.opts.idleMs ?? IDLE_MS);
    const masks = [...this.unstable.values()].filter((f) => f.pid === r.pid);
    let idle = false;
    for (;;) {
      const got = readUser(proc.as, r.addr, r.data.length);
      const at = got ? firstDifference(r, got, masks) : 0;
      if (at < 0 || (got && this.aheadOfPoll(index, r, got))) return this.count(r, 'ok');
      if (idle || Date.now() > end) {
        const where = `cpu_read at 0x${r.addr.toString(16)} (${r.data.length} bytes)`;
        const line = got ? `${where}: byte ${at} (0x${(r.addr + BigInt(at)).toString(16)}): recorded 0x${hex2(r.data[at])}, replayed 0x${hex2(got[at])}` : `${where}: not mapped in the replay`;
        this.count(r, 'diverged');
        return this.diverge(index, r, got ? { ...r, data: got } : null, 'cpu_read', [line]);
      }
      idle = this.ctl.debug(DEBUG.SETTLE)[0] === 1n;
    }
  }

  /**
   * Whether a later load of the same range by the same thread, before that thread does
   * anything else, saw `got` (the GPU has already done what the poll was waiting for).
   */
  private aheadOfPoll(index: number, r: CpuAccessRecord, got: Uint8Array): boolean {
    const recs = this.trace.records;
    for (let k = index + 1; k < recs.length && k <= index + POLL_LOOKAHEAD; k++) {
      const x = recs[k];
      if (x.pid !== r.pid || x.tid !== r.tid) continue;
      if (x.type !== 'cpu_read' || x.addr !== r.addr || x.data.length !== r.data.length) return false;
      if (firstDifference(x, got, []) < 0) return true;
    }
    return false;
  }

  private skip(why: string): void {
    this.report.notReplayed[why] = (this.report.notReplayed[why] ?? 0) + 1;
  }

  /** Posts `rec` on its thread's slot and waits until the kernel took it. */
  private post(index: number, rec: CallRecord, thread: Thread): Pending | null {
    const slots = rec.type === 'ioctl' ? ioctlIdSlots(rec.request, rec.argp, rec.reads) : [];
    const { pid } = rec;
    const fd = (v: number): bigint => this.ids.get(this.ids.scope('fd', pid, v), BigInt(v));
    const c = thread.chan;
    switch (rec.type) {
      case 'ioctl':
        if (!this.writeInputs(index, rec, thread, slots)) return null;
        c.postIoctl(Number(BigInt.asIntN(32, fd(rec.fd))), rec.request, rec.argp);
        break;
      case 'open':
        c.post(SYS.OPEN, BigInt(rec.primary));
        break;
      case 'close':
        c.post(SYS.CLOSE, fd(rec.fd));
        break;
      case 'mmap': {
        const offset = rec.fd === -1 ? rec.offset : this.ids.get('mmap_offset', rec.offset);
        c.post(SYS.MMAP, rec.length, BigInt(rec.prot), rec.fd === -1 ? -1n : fd(rec.fd), offset, rec.addr, BigInt(rec.flags));
        break;
      }
      case 'munmap':
        c.post(SYS.MUNMAP, rec.addr, rec.length);
        break;
      case 'syscall': {
        const a = this.syscallArgs(rec);
        c.post(rec.nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        break;
      }
    }
    // A call awaited at once needs no wait here: its answer implies it was taken.
    if (rec.type === 'ioctl' && rec.blocked) c.awaitTaken();
    return { index, rec, thread, slots };
  }

  /** A syscall's argument words with the ids in them mapped. */
  private syscallArgs(r: Extract<CallRecord, { type: 'syscall' }>): bigint[] {
    const a = [...r.args];
    const fdOf = (pid: number, v: bigint): bigint => this.ids.get(this.ids.scope('fd', pid, Number(v)), v);
    const pidOf = (v: bigint): bigint => this.ids.get('pid', v);
    switch (r.nr) {
      case SYS.DUP:
      case SYS.READ:
        a[0] = fdOf(r.pid, a[0]);
        break;
      case SYS.GETFD:
        a[1] = fdOf(Number(a[0]), a[1]);
        a[0] = pidOf(a[0]);
        break;
      case SYS.KILL:
        a[0] = pidOf(a[0]);
        break;
      case SYS.DEBUG:
        return debugArgs(a, (v) => fdOf(r.pid, v), (kind, fd, id) => this.ids.get(this.ids.scope(kind, r.pid, Number(fd)), id));
    }
    return a;
  }

  /** Stores the call's recorded inputs (ids mapped, absolute timeouts rewritten); false on a divergence. */
  private writeInputs(index: number, rec: IoctlRecord, thread: Thread, slots: IdSlot[]): boolean {
    const fixes = timeoutFixes(rec.request, rec.argp, rec.reads, rec.errno);
    const leave = kernelWrittenInputs(rec.request, rec.argp, rec.reads);
    const as = thread.proc.as;
    for (const r of firstReads(rec.reads)) {
      if (leave.some((f) => overlaps(r, f)) || as.pt.isTraced(r.addr)) continue;
      let data = patchRange(r, slots, (s, v) => this.ids.get(this.ids.scope(s.kind, rec.pid, rec.fd), v));
      if (fixes.length) data = patchRange({ addr: r.addr, data }, fixes, (f) => f.value);
      try {
        as.write(r.addr, data);
      } catch (e) {
        if (!(e instanceof PageFault)) throw e;
        this.diverge(index, rec, null, 'input', [`input at 0x${r.addr.toString(16)} (${r.data.length} bytes): not mapped in the replay`]);
        return false;
      }
    }
    return true;
  }

  /** Awaits posted call `index` and compares its answer. */
  private finish(index: number): void {
    const p = this.inflight.get(index);
    if (!p) return;
    this.inflight.delete(index);
    if (this.bySlot.get(p.rec.tid) === index) this.bySlot.delete(p.rec.tid);
    const got = this.answer(p);
    if (got === 'exited') return this.skip('calls of a killed process');
    if (got === 'stuck') return this.stuck(p);
    this.report.replayed++;
    if (got instanceof KernelBug) {
      this.count(p.rec, 'diverged');
      return this.diverge(index, p.rec, null, 'result', [got.message.split('\n')[0]]);
    }
    this.compare(p, got);
  }

  /**
   * The answer to `p`, or 'stuck' when it would block forever, 'exited' when its process
   * died, a KernelBug when the kernel failed serving it.
   */
  private answer(p: Pending): SysReturn | 'stuck' | 'exited' | KernelBug {
    const idleMs = this.opts.idleMs ?? IDLE_MS;
    try {
      let r = p.thread.chan.wait(FIRST_MS);
      let idleSince: number | null = null;
      while (!r) {
        const [settled, left] = this.ctl.debug(DEBUG.SETTLE);
        // A call recorded as timed out may still end by its own deadline.
        const timer = p.rec.errno === ETIME && BigInt.asUintN(64, left) !== NO_DEADLINE;
        if (settled === 0n || timer) idleSince = null;
        else if ((idleSince ??= Date.now()) + idleMs <= Date.now()) return 'stuck';
        r = p.thread.chan.wait(STEP_MS);
      }
      return r;
    } catch (e) {
      if (e instanceof ProcessExited) return 'exited';
      if (e instanceof KernelBug) return e;
      throw e;
    }
  }

  /** A call that would block forever: reported; the replay stops, or (all) its process is killed. */
  private stuck(p: Pending): void {
    this.diverge(p.index, p.rec, null, 'blocked', ['blocked: the recorded call completed, the replayed one would block forever']);
    if (!this.opts.all) {
      this.stopped = true;
      return;
    }
    p.thread.proc.dead = true;
    this.ctl.kill(p.thread.proc.pid);
  }

  private compare(p: Pending, got: SysReturn): void {
    const { rec } = p;
    const rets = rec.type === 'ioctl' ? [] : [...got.rets];
    const lines: string[] = [];
    if (rec.ret !== got.result && !this.idResult(rec)) lines.push(`ret: recorded ${rec.ret}, replayed ${got.result}`);
    if (rec.errno !== got.errno) lines.push(`errno: recorded ${errName(rec.errno)}, replayed ${errName(got.errno)}`);
    const ok = rec.errno === 0 && got.errno === 0;
    if (ok) this.learn(p, got, rets);
    let kind: Divergence['kind'] = 'result';
    if (!lines.length && rec.type === 'ioctl' && rec.writes.length) {
      this.noteUnstable(p);
      lines.push(...this.compareWrites(p));
      if (lines.length) kind = 'write';
    }
    if (!lines.length && ok && rec.type !== 'ioctl') {
      lines.push(...this.compareRets(rec, rets));
      if (lines.length) kind = 'rets';
    }
    this.count(rec, lines.length ? 'diverged' : got.errno ? (errnoName(got.errno) ?? `errno ${got.errno}`) : 'ok');
    if (lines.length) this.diverge(p.index, rec, this.replayedRecord(p, got, rets), kind, lines);
  }

  /** `p`'s record as the replay answered it: its result, return words and kernel writes. */
  private replayedRecord(p: Pending, got: SysReturn, rets: bigint[]): CallRecord {
    const replayed = { ...p.rec, ret: got.result, errno: got.errno } as CallRecord;
    if (replayed.type === 'mmap') replayed.result = BigInt.asUintN(64, rets[0]);
    if (replayed.type === 'syscall') replayed.rets = rets.slice(0, replayed.rets.length).map((v) => BigInt.asUintN(64, v));
    if (replayed.type === 'ioctl') replayed.writes = replayed.writes.map((w) => ({ addr: w.addr, data: readUser(p.thread.proc.as, w.addr, w.data.length) ?? new Uint8Array(0) }));
    return replayed;
  }

  /** Whether `rec`'s ret is an id the replay learns instead of comparing (an fd, a pid). */
  private idResult(rec: CallRecord): boolean {
    if (rec.type === 'open') return true;
    return rec.type === 'syscall' && ([SYS.DUP, SYS.GETFD, SYS.EVENTFD, SYS.GETPID] as number[]).includes(rec.nr);
  }

  /** Learns the ids a successful call returned, and what its fds now name. */
  private learn(p: Pending, got: SysReturn, rets: bigint[]): void {
    const { rec } = p;
    const newFd = (to: number): void => {
      this.ids.set(this.ids.scope('fd', rec.pid, rec.ret), BigInt(rec.ret), BigInt(to));
    };
    switch (rec.type) {
      case 'ioctl':
        return this.learnIoctl(p);
      case 'open':
        this.ids.openFile(rec.pid, rec.ret);
        return newFd(got.result);
      case 'close':
        return this.ids.closeFd(rec.pid, rec.fd);
      case 'mmap':
      case 'munmap':
        return;
    }
    switch (rec.nr) {
      case SYS.EVENTFD:
        this.ids.openFile(rec.pid, rec.ret);
        return newFd(got.result);
      case SYS.DUP:
        this.ids.aliasFd(rec.pid, rec.ret, rec.pid, Number(rec.args[0]));
        return newFd(got.result);
      case SYS.GETFD:
        this.ids.aliasFd(rec.pid, rec.ret, Number(rec.args[0]), Number(rec.args[1]));
        return newFd(got.result);
      case SYS.GETPID:
        return this.ids.set('pid', BigInt(rec.ret), BigInt(got.result));
      case SYS.THREAD_CREATE:
        this.ids.set('slot', rec.rets[0], rets[0]);
        this.threads.set(Number(rec.rets[0]), { proc: p.thread.proc, chan: new Channel(this.dev.process.handle.control, Number(rets[0]), p.thread.proc.pid) });
        return;
      case SYS.THREAD_EXIT:
        this.threads.delete(rec.tid);
        return;
      case SYS.PROCESS_EXIT:
        p.thread.proc.dead = true;
        return;
      case SYS.KILL: {
        const target = [...this.procs.values()].find((x) => BigInt(x.pid) === this.ids.get('pid', rec.args[0]));
        if (target) target.dead = true;
        return;
      }
    }
  }

  /** Output ids of an ioctl: recorded (its write) -> replayed (the replay's memory). */
  private learnIoctl(p: Pending): void {
    const rec = p.rec as IoctlRecord;
    for (const s of p.slots) {
      if (!s.output) continue;
      const was = bytesAt(rec.writes, s.addr, s.size);
      const now = readUser(p.thread.proc.as, s.addr, s.size);
      if (!was || !now) continue;
      const from = getUint(was, 0, s.size);
      this.ids.set(this.ids.scope(s.kind, rec.pid, rec.fd), from, getUint(now, 0, s.size));
      if (s.kind === 'fd') this.ids.openFile(rec.pid, Number(BigInt.asIntN(32, from)));
    }
  }

  /** Each recorded write (ids mapped) against the replay's memory (the last write of a range wins): the differences. */
  private compareWrites(p: Pending): string[] {
    const rec = p.rec as IoctlRecord;
    const ws = rec.writes;
    const masks = clockFields(rec.request, rec.argp, rec.reads);
    const lines: string[] = [];
    for (let k = 0; k < ws.length; k++) {
      const w = ws[k];
      if (ws.some((x, j) => j > k && x.addr === w.addr && x.data.length === w.data.length)) continue;
      const got = readUser(p.thread.proc.as, w.addr, w.data.length, true);
      const want = { addr: w.addr, data: patchRange(w, p.slots, (s, v) => this.ids.get(this.ids.scope(s.kind, rec.pid, rec.fd), v)) };
      if (!got) lines.push(`write at 0x${w.addr.toString(16)} (${w.data.length} bytes): not mapped in the replay`);
      else if (firstDifference(want, got, masks) >= 0) lines.push(...describeDifference(rec.request, rec.argp, rec.reads, want, got, masks));
    }
    return lines;
  }

  /** Return words of a system call (mmap's address included) against the recorded ones, ids mapped. */
  private compareRets(rec: CallRecord, rets: bigint[]): string[] {
    if (rec.type === 'mmap') {
      const got = BigInt.asUintN(64, rets[0]);
      return got === rec.result ? [] : [`mmap result: recorded 0x${rec.result.toString(16)}, replayed 0x${got.toString(16)}`];
    }
    if (rec.type !== 'syscall' || rec.nr === SYS.DEBUG) return [];
    const ids: Partial<Record<number, IdKind[]>> = { [SYS.THREAD_CREATE]: ['slot'], [SYS.PROCESS_CREATE]: ['pid', 'slot'] };
    const out: string[] = [];
    rec.rets.forEach((v, k) => {
      const kind = ids[rec.nr]?.[k];
      const want = kind ? this.ids.get(kind, v) : v;
      const got = BigInt.asUintN(64, rets[k]);
      if (want !== got) out.push(`${sysName(rec.nr)} return word ${k}: recorded 0x${v.toString(16)}, replayed 0x${got.toString(16)}`);
    });
    return out;
  }

  /** PROCESS_CREATE through the device (it hands the kernel the new page table). */
  private processCreate(index: number, rec: Extract<CallRecord, { type: 'syscall' }>): void {
    const caps = [...Array(64).keys()].filter((c) => (rec.args[0] >> BigInt(c)) & 1n);
    let p: Process;
    try {
      p = this.dev.createProcess({ caps });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.count(rec, 'diverged');
      return this.diverge(index, rec, { ...rec, ret: -1, rets: [] }, 'result', [`process_create failed in the replay: ${msg}`]);
    }
    this.report.replayed++;
    this.addProc(Number(rec.rets[0]), p);
    this.ids.set('pid', rec.rets[0], BigInt(p.pid));
    this.ids.set('slot', rec.rets[1], BigInt(p.handle.slot));
    this.threads.set(Number(rec.rets[1]), { proc: this.procs.get(Number(rec.rets[0]))!, chan: new Channel(p.handle.control, p.handle.slot, p.pid) });
    this.count(rec, 'ok');
  }

  private count(rec: TraceRecord, outcome: string): void {
    const m = (this.report.summary[callName(rec)] ??= {});
    m[outcome] = (m[outcome] ?? 0) + 1;
  }

  private diverge(index: number, rec: TraceRecord, replayed: TraceRecord | null, kind: Divergence['kind'], fields: string[]): void {
    const { seq, pid, tid } = rec;
    const unanswered = (r: TraceRecord): string =>
      isCpuAccess(r) ? `${r.type} <not mapped>` : `${formatRecord({ ...r, ret: 0, errno: 0 }).replace(/ = .*$/, '')} <no answer>`;
    const replayedText = replayed ? formatRecord(replayed) : unanswered(rec);
    this.report.divergences.push({ index, offset: this.trace.offsets[index], seq, pid, tid, kind, recorded: formatRecord(rec), replayed: replayedText, fields });
    if (!this.opts.all) this.stopped = true;
  }
}

function isCpuAccess(r: TraceRecord): r is CpuAccessRecord {
  return r.type === 'cpu_write' || r.type === 'cpu_read';
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function errName(e: number): string {
  return e === 0 ? '0' : `${errnoName(e) ?? 'errno'} (${e})`;
}

/** DEBUG ops whose ARG1 is fd | object id << 32, by the kind of the object. */
const DEBUG_PACKED: Partial<Record<number, IdKind | null>> = {
  [DEBUG.VM_INFO]: 'vm', [DEBUG.VM_DUMP]: 'vm', [DEBUG.VM_CHECK]: 'vm', [DEBUG.GPU_READ]: 'vm', [DEBUG.GPU_WRITE]: 'vm',
  [DEBUG.QUEUE_INFO]: 'exec_queue', [DEBUG.ENGINE_TRACE]: null,
};
/** DEBUG ops whose ARG1 is an fd and ARG2 (if named) an object of it. */
const DEBUG_FD_ID: Partial<Record<number, IdKind | null>> = {
  [DEBUG.FENCE_ATTACH]: 'syncobj', [DEBUG.QUEUE_BAN]: 'exec_queue', [DEBUG.CLIENT_NAME]: null,
};

/** Argument words of an emulator control with its fd and object ids mapped. */
function debugArgs(a: bigint[], fd: (v: bigint) => bigint, id: (kind: IdKind, fd: bigint, v: bigint) => bigint): bigint[] {
  const op = Number(a[0]);
  if (op in DEBUG_PACKED) {
    const lo = a[1] & 0xffff_ffffn;
    const hi = a[1] >> 32n;
    const kind = DEBUG_PACKED[op];
    a[1] = (BigInt.asUintN(32, fd(lo)) | ((kind ? id(kind, lo, hi) : hi) << 32n));
  } else if (op in DEBUG_FD_ID) {
    const kind = DEBUG_FD_ID[op];
    if (kind) a[2] = id(kind, a[1], a[2]);
    a[1] = fd(a[1]);
  }
  return a;
}

/**
 * Replays trace `bytes` (docs/trace-format.md) on a fresh device booted with its recorded
 * options and reports every difference (or the first, without `all`). Throws TraceError for
 * an unreadable trace (a truncated one too, unless `partial`).
 */
export async function replayTrace(bytes: Uint8Array, opts: ReplayOptions = {}): Promise<ReplayReport> {
  const trace = decodeTrace(bytes, { partial: opts.partial });
  const o = trace.header.options;
  const dev = await createDevice({ profile: o.profile as ProfileName, sysmem: o.sysmem ?? undefined, vram: o.vram ?? undefined, caps: o.caps, dmesg: o.dmesg, markShared: true });
  const ctl = dev.createProcess();
  try {
    const r = new Replayer(trace, dev, ctl, opts);
    r.run();
    return r.report;
  } finally {
    await dev.close(ctl);
  }
}
