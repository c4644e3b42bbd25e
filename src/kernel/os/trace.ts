/**
 * Trace recording in the kernel, where the facts are: the syscall layer says when a call
 * enters, parks and completes, and every process's UserMemory is wrapped so that each
 * copy_from_user / copy_to_user of the call being served lands in its record. CPU accesses
 * of GPU-shared memory arrive as SYS.TRACE_ACCESS reports (`access`) and snapshots of pages
 * as they become shared (`snapshot`, from Mm.share). Records are
 * encoded (uapi/trace.ts) at completion and buffered; the buffer goes to the file with
 * fs.writeSync when it passes FLUSH_BYTES and whenever the kernel is about to sleep, so a
 * program that dies leaves every completed call on disk but for the last busy stretch, and
 * the kernel loop never waits on the disk for more than one chunk.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import * as ch from '../../uapi/channel.js';
import { encodeHeader, encodeRecord, TRACE_VERSION, type MemRange, type TraceOptions, type TraceRecord } from '../../uapi/trace.js';
import type { UserMemory } from './uaccess.js';

/** Buffered bytes that trigger a write. */
const FLUSH_BYTES = 1 << 16;

/** What a recording kernel is booted with. */
export interface RecordSpec {
  path: string;
  options: TraceOptions;
}

/** A call between its entry and its completion. */
interface OpenCall {
  seq: number;
  pid: number;
  tid: number;
  nr: number;
  args: bigint[];
  reads: MemRange[];
  writes: MemRange[];
  blocked: boolean;
}

/** Channel argument words a record keeps (the channel's calls use at most six). */
const ARGS = 6;

/** The recorder of one kernel. */
export class Tracer {
  private readonly fd: number;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private seq = 0;
  /** Calls in flight by slot (a parked call stays here until it completes). */
  private readonly calls = new Map<number, OpenCall>();
  /** The call being served now, whose user-memory accesses are recorded. */
  private current: OpenCall | null = null;
  /** The call on whose behalf background work runs now (onBehalf), or null. */
  private behalf: number | null = null;

  constructor(spec: RecordSpec) {
    this.fd = openSync(spec.path, 'w');
    this.push(encodeHeader({ version: TRACE_VERSION, options: spec.options }));
    this.flush();
  }

  /** `um` with its copies recorded into the call being served. */
  wrap(um: UserMemory): UserMemory {
    return new RecordingUserMemory(um, () => this.current);
  }

  /** A call enters on `slot`; arg(i) reads its argument words. SYS.TRACE_ACCESS is a report, not a call: no record. */
  begin(slot: number, pid: number, nr: number, arg: (i: number) => bigint): void {
    if (nr === ch.SYS.TRACE_ACCESS) return;
    const args = Array.from({ length: ARGS }, (_, i) => BigInt.asUintN(64, arg(i)));
    const call = { seq: this.seq++, pid, tid: slot, nr, args, reads: [], writes: [], blocked: false };
    this.calls.set(slot, call);
    this.current = call;
  }

  /** The call on `slot` parked, or the service of the current call ended without completing it. */
  park(slot: number): void {
    const call = this.calls.get(slot);
    if (call && this.current === call) call.blocked = true;
    this.current = null;
  }

  /** A parked call on `slot` is re-checked: its accesses are recorded again. */
  resume(slot: number): void {
    this.current = this.calls.get(slot) ?? null;
  }

  /** The call on `slot` completed with `rc` (negative errno) and return words: its record is written. */
  end(slot: number, rc: number, rets: bigint[] = []): void {
    const call = this.calls.get(slot);
    this.current = null;
    if (!call) return;
    this.calls.delete(slot);
    this.push(encodeRecord(toRecord(call, rc, rets)));
  }

  /**
   * SYS.TRACE_ACCESS: thread `slot` of process `pid` read or wrote `bytes` at `addr` in memory
   * shared with the GPU; a cpu_read / cpu_write record with a fresh seq.
   */
  access(pid: number, slot: number, addr: bigint, bytes: Uint8Array, write: boolean): void {
    this.push(encodeRecord({ type: write ? 'cpu_write' : 'cpu_read', seq: this.seq++, pid, tid: slot, addr, data: bytes }));
  }

  /**
   * Pages of process `pid` holding `bytes` at `addr` start to be shared with the GPU: a
   * cpu_write snapshot. During a call of that process it carries the call's seq and thread
   * and precedes the call's record. Otherwise (a GPU fault serviced while a batch runs) it
   * carries thread -1 and the seq of the call the work runs on behalf of (the batch's EXEC,
   * whose record it follows), or a fresh seq when none is known.
   */
  snapshot(pid: number, addr: bigint, bytes: Uint8Array): void {
    const c = this.current?.pid === pid ? this.current : null;
    const seq = c ? c.seq : (this.behalf ?? this.seq++);
    this.push(encodeRecord({ type: 'cpu_write', seq, pid, tid: c ? c.tid : -1, addr, data: bytes }));
  }

  /** The seq of the call being served, or null between calls. */
  currentSeq(): number | null {
    return this.current?.seq ?? null;
  }

  /** Runs background work `fn` on behalf of the call that entered with `seq` (see snapshot). */
  onBehalf<T>(seq: number | null, fn: () => T): T {
    const was = this.behalf;
    this.behalf = seq;
    try {
      return fn();
    } finally {
      this.behalf = was;
    }
  }

  /** The call on `slot` ends unanswered (its process died, or a kernel bug): no record. */
  drop(slot: number): void {
    if (this.current === this.calls.get(slot)) this.current = null;
    this.calls.delete(slot);
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.buffered += b.length;
    if (this.buffered >= FLUSH_BYTES) this.flush();
  }

  /** Writes the buffered records to the file. */
  flush(): void {
    if (!this.buffered) return;
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    for (let at = 0; at < all.length; ) at += writeSync(this.fd, all, at);
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** The record of a completed call. */
function toRecord(c: OpenCall, rc: number, rets: bigint[]): TraceRecord {
  const base = { seq: c.seq, pid: c.pid, tid: c.tid, ret: rc < 0 ? -1 : rc, errno: rc < 0 ? -rc : 0 };
  const a = c.args;
  const i32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
  switch (c.nr) {
    case ch.SYS.IOCTL:
      return { type: 'ioctl', ...base, fd: i32(a[0]), request: Number(a[1] & 0xffff_ffffn), argp: a[2], reads: c.reads, writes: c.writes, blocked: c.blocked };
    case ch.SYS.OPEN:
      return { type: 'open', ...base, primary: a[0] === 1n ? 1 : 0 };
    case ch.SYS.CLOSE:
      return { type: 'close', ...base, fd: i32(a[0]) };
    case ch.SYS.MMAP: {
      const m = { addr: a[4], length: a[0], prot: Number(a[1] & 0xffff_ffffn), flags: Number(a[5] & 0xffff_ffffn) };
      return { type: 'mmap', ...m, ...base, fd: i32(a[2]), offset: a[3], result: rc < 0 ? 0n : BigInt.asUintN(64, rets[0]) };
    }
    case ch.SYS.MUNMAP:
      return { type: 'munmap', ...base, addr: a[0], length: a[1] };
    default:
      return { type: 'syscall', ...base, nr: c.nr, args: a, rets: rets.map((r) => BigInt.asUintN(64, r)) };
  }
}

/** A UserMemory that records each successful copy into the current call, bytes copied. */
class RecordingUserMemory implements UserMemory {
  readonly getUserPages?: UserMemory['getUserPages'];

  constructor(
    private readonly um: UserMemory,
    private readonly current: () => OpenCall | null,
  ) {
    if (um.getUserPages) this.getUserPages = um.getUserPages.bind(um);
  }

  copyFromUser(addr: bigint, len: number, into?: Uint8Array): Uint8Array {
    const out = this.um.copyFromUser(addr, len, into);
    this.current()?.reads.push({ addr, data: out.slice(0, len) });
    return out;
  }

  copyToUser(addr: bigint, data: Uint8Array, len = data.length): void {
    this.um.copyToUser(addr, data, len);
    this.current()?.writes.push({ addr, data: data.slice(0, len) });
  }
}
