/**
 * Decoded views of a trace (uapi/trace.ts): the strace-like listing of `xe-emu decode`, one
 * line per record built on formatIoctl, and its JSON Lines form, plus the record filters.
 *
 * Listing line: `<seq> <pid>/<tid> <call> = <result>`, where an ioctl reads
 * `ioctl(<fd>, <argument struct as read> => <as written back>)` (the `=> ...` part only when
 * the kernel wrote the struct back and it differs), other user-memory copies follow as
 * `+read 0x<addr>[<len>]` / `+write 0x<addr>[<len>]`, and a call that blocked ends in
 * `<blocked>`. A failed call's result is `-1 ENAME (-errno)`.
 */
import { SYS, sysName } from './channel.js';
import { errnoName } from './errno.js';
import { formatIoctl } from './format.js';
import type { CallRecord, MemRange, TraceHeader, TraceRecord } from './trace.js';
import { requestName } from './uapi.js';

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** Bytes as a hex string. */
function hexBytes(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The header as a comment line of the listing. */
export function formatHeader(h: TraceHeader): string {
  const o = h.options;
  const size = (v: number | null): string => (v === null ? 'default' : hex(v));
  return `# xe-emu trace v${h.version}: profile ${o.profile}, sysmem ${size(o.sysmem)}, vram ${size(o.vram)}, caps [${o.caps.join(',')}], dmesg ${o.dmesg ? 'on' : 'off'}`;
}

function result(r: CallRecord, ok: string): string {
  if (r.errno === 0) return ok;
  const name = errnoName(r.errno);
  return `-1 ${name ?? 'errno'} (-${r.errno})`;
}

/** The range at `addr` (the argument struct), if any. */
function at(rs: MemRange[], addr: bigint): MemRange | undefined {
  return rs.find((x) => x.addr === addr);
}

function extra(kind: string, rs: MemRange[], skip: MemRange | undefined): string {
  return rs
    .filter((x) => x !== skip)
    .map((x) => ` +${kind} ${hex(x.addr)}[${x.data.length}]`)
    .join('');
}

function formatIoctlCall(r: Extract<TraceRecord, { type: 'ioctl' }>): string {
  const inArg = at(r.reads, r.argp);
  const outArg = at(r.writes, r.argp);
  let call = inArg ? formatIoctl(r.request, inArg.data) : requestName(r.request);
  if (outArg) {
    const out = formatIoctl(r.request, outArg.data);
    const name = requestName(r.request);
    const outStruct = out.startsWith(`${name} `) ? out.slice(name.length + 1) : out;
    if (out !== call) call += ` => ${inArg ? outStruct : out}`;
  }
  const tail = extra('read', r.reads, inArg) + extra('write', r.writes, outArg) + (r.blocked ? ' <blocked>' : '');
  return `ioctl(${r.fd}, ${call}) = ${result(r, String(r.ret))}${tail}`;
}

/** Trailing zero words dropped, the rest in hex. */
function words(ws: bigint[]): string {
  let n = ws.length;
  while (n > 0 && ws[n - 1] === 0n) n--;
  return ws.slice(0, n).map(hex).join(', ');
}

function formatCall(r: TraceRecord): string {
  switch (r.type) {
    case 'ioctl':
      return formatIoctlCall(r);
    case 'open':
      return `open(${r.primary ? 'primary' : 'render'}) = ${result(r, String(r.ret))}`;
    case 'close':
      return `close(${r.fd}) = ${result(r, String(r.ret))}`;
    case 'mmap':
      return `mmap(${hex(r.addr)}, ${hex(r.length)}, ${hex(r.prot)}, ${hex(r.flags)}, ${r.fd}, ${hex(r.offset)}) = ${result(r, hex(r.result))}`;
    case 'munmap':
      return `munmap(${hex(r.addr)}, ${hex(r.length)}) = ${result(r, String(r.ret))}`;
    case 'syscall': {
      const rets = words(r.rets);
      return `${sysName(r.nr)}(${words(r.args)}) = ${result(r, String(r.ret))}${rets && r.errno === 0 ? ` [${rets}]` : ''}`;
    }
    case 'cpu_write':
    case 'cpu_read':
      return `${r.type}(${hex(r.addr)}[${r.data.length}]) ${hexBytes(r.data.subarray(0, 16))}${r.data.length > 16 ? '...' : ''}`;
  }
}

/** One listing line. */
export function formatRecord(r: TraceRecord): string {
  return `${String(r.seq).padStart(4)} ${r.pid}/${r.tid} ${formatCall(r)}`;
}

/**
 * A record as plain JSON: u64 values as 0x-hex strings, bytes as hex strings, and for an
 * ioctl its name and the decoded argument struct (`decoded`, the listing's text).
 */
export function recordJson(r: TraceRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'bigint') out[k] = hex(v);
    else if (v instanceof Uint8Array) out[k] = hexBytes(v);
    else if (k === 'reads' || k === 'writes') out[k] = (v as MemRange[]).map((x) => ({ addr: hex(x.addr), data: hexBytes(x.data) }));
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'bigint' ? hex(x) : x));
    else out[k] = v;
  }
  if (r.type === 'ioctl') out.name = requestName(r.request);
  if (r.type === 'syscall') out.name = sysName(r.nr);
  out.text = formatCall(r);
  return out;
}

/** Filters of `xe-emu decode`: ioctl names (with or without DRM_IOCTL_), process ids. */
export interface RecordFilter {
  ioctls?: string[];
  pids?: number[];
  /** Also the user-space allocator's calls (malloc, free), hidden by default. */
  all?: boolean;
}

/** Channel calls a listing hides unless asked for: the allocator behind every struct. */
const QUIET = new Set([SYS.MALLOC, SYS.FREE]);

/** Whether `r` passes the filter: with `ioctls`, only ioctl records of those names. */
export function recordMatches(r: TraceRecord, f: RecordFilter): boolean {
  if (f.pids?.length && !f.pids.includes(r.pid)) return false;
  if (!f.all && r.type === 'syscall' && QUIET.has(r.nr as 6 | 7)) return false;
  if (!f.ioctls?.length) return true;
  if (r.type !== 'ioctl') return false;
  const name = requestName(r.request);
  return f.ioctls.some((n) => {
    const want = n.toUpperCase();
    return name === want || name === `DRM_IOCTL_${want}`;
  });
}
