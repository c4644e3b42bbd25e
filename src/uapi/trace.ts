/**
 * The ioctl trace format (docs/trace-format.md is its specification): a stream of
 * MessagePack values, a header array then one array per record. It is ABI like the ioctl
 * structs — a C or Python tool writes and reads it — so it lives in uapi, knows nothing of
 * how the kernel works inside, and uses only plain MessagePack (arrays, maps with string
 * keys, integers, strings, bin): msgpackr with records/structures off.
 */
import { Packr, Unpackr } from 'msgpackr';

/** The header's first element; with the array and string prefixes the file starts 93 a7 "XETRACE". */
export const TRACE_MAGIC = 'XETRACE';
/** Format version this code writes and reads. */
export const TRACE_VERSION = 1;

/** Record type numbers (element 0 of each record array). */
export const REC = {
  IOCTL: 1,
  OPEN: 2,
  CLOSE: 3,
  MMAP: 4,
  MUNMAP: 5,
  /** Any other system call of the channel (malloc, dup, eventfd, threads, processes, ...). */
  SYSCALL: 6,
  /** A CPU write of user memory the GPU can read (a BO mapping, userptr or mirrored memory). */
  CPU_WRITE: 16,
  /** A CPU read of user memory the GPU can write, with the bytes read. */
  CPU_READ: 17,
} as const;

/** Device profile and options a trace was recorded with (createDevice's, resolved). */
export interface TraceOptions {
  profile: string;
  /** System memory bytes, or null for the profile's default. */
  sysmem: number | null;
  /** VRAM bytes per tile, or null for the profile's default. */
  vram: number | null;
  caps: number[];
  dmesg: boolean;
}

/** The header: format version and the device it was recorded on. */
export interface TraceHeader {
  version: number;
  options: TraceOptions;
}

/** A range of user memory and its bytes. */
export interface MemRange {
  addr: bigint;
  data: Uint8Array;
}

/** Fields every record has. */
interface RecordHead {
  /** Order in which the call entered the kernel (0, 1, ...); file order is completion order. */
  seq: number;
  pid: number;
  /** Thread: its channel slot. */
  tid: number;
}

/** Fields every system-call record has. */
interface RecordBase extends RecordHead {
  /** What the call returned to the user (RESULT: -1 on failure). */
  ret: number;
  /** errno of a failed call, 0 on success. */
  errno: number;
}

/** ioctl(fd, request, argp). */
export interface IoctlRecord extends RecordBase {
  type: 'ioctl';
  fd: number;
  request: number;
  argp: bigint;
  /** Every copy_from_user, in order. */
  reads: MemRange[];
  /** Every copy_to_user, in order. */
  writes: MemRange[];
  /** The call blocked (was parked) before it completed. */
  blocked: boolean;
}

/** open() of the DRM node. */
export interface OpenRecord extends RecordBase {
  type: 'open';
  /** 1: the primary node, 0: the render node. */
  primary: number;
}

/** close(fd). */
export interface CloseRecord extends RecordBase {
  type: 'close';
  fd: number;
}

/** mmap(addr, length, prot, flags, fd, offset); `ret` unused (0), `result` the address. */
export interface MmapRecord extends RecordBase {
  type: 'mmap';
  addr: bigint;
  length: bigint;
  prot: number;
  flags: number;
  fd: number;
  offset: bigint;
  /** The mapping's address; 0 when the call failed. */
  result: bigint;
}

/** munmap(addr, length). */
export interface MunmapRecord extends RecordBase {
  type: 'munmap';
  addr: bigint;
  length: bigint;
}

/** Any other system call: its channel number, argument words and return words. */
export interface SyscallRecord extends RecordBase {
  type: 'syscall';
  nr: number;
  args: bigint[];
  rets: bigint[];
}

/**
 * A CPU access to user memory shared with the GPU (docs/trace-format.md, types 16 and 17):
 * `cpu_write` the bytes the CPU stored (a replay stores them), `cpu_read` the bytes the CPU
 * loaded (a replay checks that its memory holds them once the GPU has caught up).
 */
export interface CpuAccessRecord extends RecordHead {
  type: 'cpu_write' | 'cpu_read';
  addr: bigint;
  data: Uint8Array;
}

/** A record of a system call (every type but the CPU accesses). */
export type CallRecord = IoctlRecord | OpenRecord | CloseRecord | MmapRecord | MunmapRecord | SyscallRecord;

/** One record of a trace. */
export type TraceRecord = CallRecord | CpuAccessRecord;

/**
 * Output fields the kernel chooses, which a replay remaps between the recorded and the
 * replayed run: ioctl name -> member of its argument struct -> kind of id. fds returned by
 * open/dup/eventfd/syscalls and the handle/fd members below share the 'fd' kind.
 */
export const TRACE_ID_FIELDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  DRM_IOCTL_XE_GEM_CREATE: { handle: 'gem' },
  DRM_IOCTL_XE_GEM_MMAP_OFFSET: { offset: 'mmap_offset' },
  DRM_IOCTL_XE_VM_CREATE: { vm_id: 'vm' },
  DRM_IOCTL_XE_EXEC_QUEUE_CREATE: { exec_queue_id: 'exec_queue' },
  DRM_IOCTL_SYNCOBJ_CREATE: { handle: 'syncobj' },
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE: { handle: 'syncobj' },
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD: { fd: 'fd' },
  DRM_IOCTL_PRIME_HANDLE_TO_FD: { fd: 'fd' },
  DRM_IOCTL_PRIME_FD_TO_HANDLE: { handle: 'gem' },
  DRM_IOCTL_GEM_OPEN: { handle: 'gem' },
  DRM_IOCTL_GEM_FLINK: { name: 'flink' },
};

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

/** A u64 as the smallest MessagePack integer: a number when it is exact, else a BigInt. */
function u64(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function ranges(rs: MemRange[]): Array<[number | bigint, Uint8Array]> {
  return rs.map((r) => [u64(r.addr), r.data]);
}

/** Encodes the header. */
export function encodeHeader(h: TraceHeader): Uint8Array {
  return packr.pack([TRACE_MAGIC, h.version, h.options]);
}

/** Encodes one record as its MessagePack array (field order: docs/trace-format.md). */
export function encodeRecord(r: TraceRecord): Uint8Array {
  const head = [r.seq, r.pid, r.tid];
  switch (r.type) {
    case 'ioctl':
      return packr.pack([REC.IOCTL, ...head, r.fd, r.request >>> 0, u64(r.argp), ranges(r.reads), ranges(r.writes), r.ret, r.errno, r.blocked]);
    case 'open':
      return packr.pack([REC.OPEN, ...head, r.primary, r.ret, r.errno]);
    case 'close':
      return packr.pack([REC.CLOSE, ...head, r.fd, r.ret, r.errno]);
    case 'mmap':
      return packr.pack([REC.MMAP, ...head, u64(r.addr), u64(r.length), r.prot, r.flags, r.fd, u64(r.offset), u64(r.result), r.ret, r.errno]);
    case 'munmap':
      return packr.pack([REC.MUNMAP, ...head, u64(r.addr), u64(r.length), r.ret, r.errno]);
    case 'syscall':
      return packr.pack([REC.SYSCALL, ...head, r.nr, r.args.map(u64), r.rets.map(u64), r.ret, r.errno]);
    case 'cpu_write':
    case 'cpu_read':
      return packr.pack([r.type === 'cpu_write' ? REC.CPU_WRITE : REC.CPU_READ, ...head, u64(r.addr), r.data]);
  }
}

/** A trace that cannot be read: names the record (-1: the header) and its byte offset. */
export class TraceError extends Error {
  constructor(
    readonly index: number,
    readonly offset: number,
    why: string,
  ) {
    super(`${index < 0 ? 'header' : `record ${index}`} at byte ${offset}: ${why}`);
    this.name = 'TraceError';
  }
}

/** A decoded trace. */
export interface Trace {
  header: TraceHeader;
  records: TraceRecord[];
  /** Byte offset of each record. */
  offsets: number[];
  /** Set when reading with `partial` stopped at a cut: where the incomplete record starts. */
  cut?: { index: number; offset: number };
}

type Wire = unknown[];

function int(w: Wire, i: number, what: string): number {
  const v = w[i];
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new Error(`${what} (element ${i}): not an integer`);
}

function big(w: Wire, i: number, what: string): bigint {
  const v = w[i];
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt.asUintN(64, BigInt(v));
  throw new Error(`${what} (element ${i}): not an integer`);
}

function memRanges(w: Wire, i: number, what: string): MemRange[] {
  const v = w[i];
  if (!Array.isArray(v)) throw new Error(`${what} (element ${i}): not an array`);
  return v.map((r: unknown, k) => {
    if (!Array.isArray(r) || r.length !== 2 || !(r[1] instanceof Uint8Array)) throw new Error(`${what}[${k}]: not [addr, bin]`);
    return { addr: big(r, 0, `${what}[${k}].addr`), data: r[1] };
  });
}

const LENGTHS: Record<number, number> = {
  [REC.IOCTL]: 12, [REC.OPEN]: 7, [REC.CLOSE]: 7, [REC.MMAP]: 13, [REC.MUNMAP]: 8, [REC.SYSCALL]: 9, [REC.CPU_WRITE]: 6, [REC.CPU_READ]: 6,
};

/** An ioctl record, the bulk of a trace: one object literal, no spreads (decode speed). */
function ioctlFromWire(v: Wire): IoctlRecord {
  if (typeof v[11] !== 'boolean') throw new Error('blocked (element 11): not a boolean');
  return {
    type: 'ioctl', seq: int(v, 1, 'seq'), pid: int(v, 2, 'pid'), tid: int(v, 3, 'tid'),
    fd: int(v, 4, 'fd'), request: int(v, 5, 'request') >>> 0, argp: big(v, 6, 'argp'),
    reads: memRanges(v, 7, 'reads'), writes: memRanges(v, 8, 'writes'), ret: int(v, 9, 'ret'), errno: int(v, 10, 'errno'), blocked: v[11],
  };
}

/** One wire record as a TraceRecord; throws an Error saying what is wrong. */
function fromWire(v: unknown): TraceRecord {
  if (!Array.isArray(v) || v.length === 0) throw new Error('not a record array');
  const type = v[0];
  const want = typeof type === 'number' ? LENGTHS[type] : undefined;
  if (want === undefined) throw new Error(`unknown record type ${String(type)}`);
  if (v.length !== want) throw new Error(`record type ${type} has ${v.length} elements, not ${want}`);
  if (type === REC.IOCTL) return ioctlFromWire(v);
  const base = { seq: int(v, 1, 'seq'), pid: int(v, 2, 'pid'), tid: int(v, 3, 'tid') };
  const tail = (i: number) => ({ ret: int(v, i, 'ret'), errno: int(v, i + 1, 'errno') });
  switch (type) {
    case REC.OPEN:
      return { type: 'open', ...base, primary: int(v, 4, 'primary'), ...tail(5) };
    case REC.CLOSE:
      return { type: 'close', ...base, fd: int(v, 4, 'fd'), ...tail(5) };
    case REC.MMAP: {
      const m = { addr: big(v, 4, 'addr'), length: big(v, 5, 'length'), prot: int(v, 6, 'prot'), flags: int(v, 7, 'flags') };
      return { type: 'mmap', ...base, ...m, fd: int(v, 8, 'fd'), offset: big(v, 9, 'offset'), result: big(v, 10, 'result'), ...tail(11) };
    }
    case REC.MUNMAP:
      return { type: 'munmap', ...base, addr: big(v, 4, 'addr'), length: big(v, 5, 'length'), ...tail(6) };
    case REC.CPU_WRITE:
    case REC.CPU_READ: {
      if (!(v[5] instanceof Uint8Array)) throw new Error('bytes (element 5): not bin');
      return { type: type === REC.CPU_WRITE ? 'cpu_write' : 'cpu_read', ...base, addr: big(v, 4, 'addr'), data: v[5] };
    }
    default: {
      const words = (i: number, what: string): bigint[] => {
        if (!Array.isArray(v[i])) throw new Error(`${what} (element ${i}): not an array`);
        return (v[i] as Wire).map((_, k) => big(v[i] as Wire, k, `${what}[${k}]`));
      };
      return { type: 'syscall', ...base, nr: int(v, 4, 'nr'), args: words(5, 'args'), rets: words(6, 'rets'), ...tail(7) };
    }
  }
}

function header(v: unknown): TraceHeader {
  if (!Array.isArray(v) || v[0] !== TRACE_MAGIC) throw new Error(`not an xe-emu trace (no ${TRACE_MAGIC} magic)`);
  if (v[1] !== TRACE_VERSION) throw new Error(`format version ${String(v[1])}; this xe-emu reads version ${TRACE_VERSION}`);
  const o = v[2] as Partial<TraceOptions> | undefined;
  if (typeof o !== 'object' || o === null || typeof o.profile !== 'string') throw new Error('options: not a map with a profile');
  return { version: TRACE_VERSION, options: o as TraceOptions };
}

/**
 * Decodes a trace. A record that is cut short (the recording program died) throws a
 * TraceError naming it, unless `partial`, which returns the records before it and `cut`.
 * A corrupt record or header always throws.
 */
export function decodeTrace(bytes: Uint8Array, opts: { partial?: boolean } = {}): Trace {
  if (bytes.length === 0) throw new TraceError(-1, 0, 'empty file');
  let h: TraceHeader | null = null;
  const records: TraceRecord[] = [];
  const offsets: number[] = [];
  let end = 0;
  try {
    // Each value is converted as it is read, so that the wire arrays die young (a long trace
    // would otherwise keep them all alive until the end, mostly for the garbage collector).
    unpackr.unpackMultiple(bytes, (v: unknown, start = 0, stop = 0) => {
      if (h === null) h = headerOf(v);
      else {
        records.push(recordOf(v, records.length, start));
        offsets.push(start);
      }
      end = stop;
    });
  } catch (e) {
    if (e instanceof TraceError) throw e;
    // msgpackr marks data that ends inside a value `incomplete`; anything else is corrupt.
    const incomplete = (e as { incomplete?: boolean }).incomplete === true || e instanceof RangeError;
    if (!incomplete || !opts.partial || h === null) {
      throw new TraceError(h === null ? -1 : records.length, end, incomplete ? 'truncated (the file ends inside it; --partial reads the records before)' : `corrupt: ${(e as Error).message}`);
    }
  }
  const trace: Trace = { header: h!, records, offsets };
  if (end < bytes.length) trace.cut = { index: records.length, offset: end };
  return trace;
}

function headerOf(v: unknown): TraceHeader {
  try {
    return header(v);
  } catch (e) {
    throw new TraceError(-1, 0, (e as Error).message);
  }
}

function recordOf(v: unknown, index: number, at: number): TraceRecord {
  try {
    return fromWire(v);
  } catch (e) {
    throw new TraceError(index, at, `corrupt: ${(e as Error).message}`);
  }
}
