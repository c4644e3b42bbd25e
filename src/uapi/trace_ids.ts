/**
 * Struct-aware rules of trace replay (docs/trace-format.md "Replay"), pure functions over the
 * uAPI table and a call's recorded bytes: which fields of an ioctl's argument struct and of
 * the arrays it points to name kernel objects (ids a replay remaps), which inputs a replay
 * rewrites (absolute timeouts), and which outputs depend on the clock (masked in the
 * comparison). The map from recorded to replayed ids is here too; it knows nothing of the
 * kernel, only of the scopes ids live in (a DRM file, a process, the device).
 */
import { decodeLayout, type Fields } from './codec.js';
import { ETIME } from './errno.js';
import { flatMembers, memberSize, type Layout, type Member } from './layout.js';
import { TRACE_ID_FIELDS, type MemRange } from './trace.js';
import { C, IOCTL_BY_NAME, layoutOf, requestName } from './uapi.js';

/** Kinds of kernel-chosen ids. */
export type IdKind = 'gem' | 'syncobj' | 'vm' | 'exec_queue' | 'fd' | 'mmap_offset' | 'flink' | 'pid' | 'slot';

/** Kinds whose ids are per DRM file (the others: per process for fds, per device for the rest). */
const FILE_KINDS: ReadonlySet<IdKind> = new Set(['gem', 'syncobj', 'vm', 'exec_queue']);

/**
 * The members naming a kernel object, by struct; the one place that lists them. Members of
 * structs reached through a pointer are covered by POINTED below; an id of 0 means "none"
 * everywhere and is never remapped (no mapping is ever learnt for it).
 */
export const ID_MEMBERS: Readonly<Record<string, Readonly<Record<string, IdKind>>>> = {
  drm_gem_close: { handle: 'gem' },
  drm_prime_handle: { handle: 'gem', fd: 'fd' },
  drm_syncobj_create: { handle: 'syncobj' },
  drm_syncobj_destroy: { handle: 'syncobj' },
  drm_syncobj_handle: { handle: 'syncobj', fd: 'fd' },
  drm_syncobj_transfer: { src_handle: 'syncobj', dst_handle: 'syncobj' },
  drm_syncobj_eventfd: { handle: 'syncobj', fd: 'fd' },
  drm_gem_change_handle: { handle: 'gem' },
  drm_xe_gem_create: { vm_id: 'vm', handle: 'gem' },
  drm_xe_gem_mmap_offset: { handle: 'gem', offset: 'mmap_offset' },
  drm_xe_vm_create: { vm_id: 'vm' },
  drm_xe_vm_destroy: { vm_id: 'vm' },
  drm_xe_vm_bind: { vm_id: 'vm', exec_queue_id: 'exec_queue' },
  drm_xe_vm_bind_op: { obj: 'gem' },
  drm_xe_vm_get_property: { vm_id: 'vm' },
  drm_xe_exec_queue_create: { vm_id: 'vm', exec_queue_id: 'exec_queue' },
  drm_xe_exec_queue_destroy: { exec_queue_id: 'exec_queue' },
  drm_xe_exec_queue_get_property: { exec_queue_id: 'exec_queue' },
  drm_xe_exec_queue_set_property: { exec_queue_id: 'exec_queue' },
  drm_xe_sync: { handle: 'syncobj' },
  drm_xe_exec: { exec_queue_id: 'exec_queue' },
  drm_xe_wait_user_fence: { exec_queue_id: 'exec_queue' },
  drm_xe_madvise: { vm_id: 'vm' },
  drm_xe_vm_query_mem_range_attr: { vm_id: 'vm' },
};

/** An array behind a pointer member: element struct (or 'u32' syncobj handles), counted by a member. */
interface Pointed {
  ptr: string;
  count: string;
  elem: string;
  /** Only when the struct says the pointer is in use. */
  when?: (f: Fields) => boolean;
}

/** Arrays behind pointers whose elements name objects. */
const POINTED: Readonly<Record<string, readonly Pointed[]>> = {
  drm_xe_vm_bind: [
    { ptr: 'syncs', count: 'num_syncs', elem: 'drm_xe_sync' },
    { ptr: 'vector_of_binds', count: 'num_binds', elem: 'drm_xe_vm_bind_op', when: (f) => Number(f.num_binds) > 1 },
  ],
  drm_xe_exec: [{ ptr: 'syncs', count: 'num_syncs', elem: 'drm_xe_sync' }],
  drm_syncobj_wait: [{ ptr: 'handles', count: 'count_handles', elem: 'u32' }],
  drm_syncobj_timeline_wait: [{ ptr: 'handles', count: 'count_handles', elem: 'u32' }],
  drm_syncobj_array: [{ ptr: 'handles', count: 'count_handles', elem: 'u32' }],
  drm_syncobj_timeline_array: [{ ptr: 'handles', count: 'count_handles', elem: 'u32' }],
};

/** Structs with id members or pointed arrays: the only argument structs decoded for ids. */
const ID_STRUCTS: ReadonlySet<string> = new Set([...Object.keys(ID_MEMBERS), ...Object.keys(POINTED)]);

/** An integer field at a user address. */
export interface FieldAt {
  addr: bigint;
  size: number;
  /** struct.member for messages. */
  field: string;
}

/** A field naming a kernel object. */
export interface IdSlot extends FieldAt {
  kind: IdKind;
  /** The kernel chooses it (TRACE_ID_FIELDS): a replay learns its mapping from the call's result. */
  output: boolean;
}

/** The bytes of [addr, addr + len) inside one of `rs`, or undefined. */
export function bytesAt(rs: readonly MemRange[], addr: bigint, len: number): Uint8Array | undefined {
  for (const r of rs) {
    const off = Number(addr - r.addr);
    if (addr >= r.addr && off + len <= r.data.length) return r.data.subarray(off, off + len);
  }
  return undefined;
}

/** Offset and size of member `name` (a top-level or anonymous-union member) of `layout`. */
function member(layout: Layout, name: string): Member {
  const m = flatMembers(layout).find((x) => x.name === name);
  if (!m) throw new Error(`uAPI table: ${layout.name} has no member ${name}`);
  return m;
}

/** The argument struct of ioctl `request`, or undefined for a request the table lacks. */
export function ioctlLayout(request: number): Layout | undefined {
  let l = layoutCache.get(request);
  if (l === undefined && !layoutCache.has(request)) {
    const io = IOCTL_BY_NAME.get(requestName(request));
    l = io && io.request === request >>> 0 ? io.layout : undefined;
    layoutCache.set(request, l);
  }
  return l;
}

/** ioctlLayout's answers by request (a replay asks several times per call). */
const layoutCache = new Map<number, Layout | undefined>();

const SYNC_USER_FENCE = C('DRM_XE_SYNC_TYPE_USER_FENCE');

/** Id fields of one `struct` at `addr` decoded as `f`; `outputs` names the members the kernel chooses. */
function structSlots(struct: string, addr: bigint, f: Fields, outputs: Readonly<Record<string, string>> = {}): IdSlot[] {
  const ids = ID_MEMBERS[struct];
  if (!ids || (struct === 'drm_xe_sync' && Number(f.type) === SYNC_USER_FENCE)) return [];
  const layout = layoutOf(struct);
  return Object.entries(ids).map(([name, kind]) => {
    const m = member(layout, name);
    return { addr: addr + BigInt(m.offset), size: memberSize(m), kind, field: `${struct}.${name}`, output: name in outputs };
  });
}

/**
 * Every field of an ioctl call that names a kernel object: in its argument struct at `argp`
 * (bytes from `reads`, the call's recorded copies from user memory) and in the arrays it
 * points to that the call read.
 */
export function ioctlIdSlots(request: number, argp: bigint, reads: readonly MemRange[]): IdSlot[] {
  const a = argOf(request, argp, reads, ID_STRUCTS);
  if (!a) return [];
  const { layout, f } = a;
  const slots = structSlots(layout.name, argp, f, TRACE_ID_FIELDS[requestName(request)]);
  if (layout.name === 'drm_xe_vm_bind' && Number(f.num_binds) === 1) {
    slots.push(...structSlots('drm_xe_vm_bind_op', a.field('bind').addr, f.bind as Fields));
  }
  for (const p of POINTED[layout.name] ?? []) {
    if (p.when && !p.when(f)) continue;
    slots.push(...pointedSlots(p, BigInt(f[p.ptr] as number | bigint), Number(f[p.count]), reads, layout.name));
  }
  return slots;
}

function pointedSlots(p: Pointed, base: bigint, count: number, reads: readonly MemRange[], owner: string): IdSlot[] {
  const out: IdSlot[] = [];
  if (p.elem === 'u32') {
    for (let i = 0; i < count; i++) out.push({ addr: base + BigInt(4 * i), size: 4, kind: 'syncobj', field: `${owner}.${p.ptr}[${i}]`, output: false });
    return out;
  }
  const elem = layoutOf(p.elem);
  for (let i = 0; i < count; i++) {
    const at = base + BigInt(i * elem.size);
    const bytes = bytesAt(reads, at, elem.size);
    if (bytes) out.push(...structSlots(p.elem, at, decodeLayout(elem, bytes, 0, false)));
  }
  return out;
}

/** A little-endian unsigned integer of `size` bytes at `off`. */
export function getUint(b: Uint8Array, off: number, size: number): bigint {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (size === 8) return dv.getBigUint64(off, true);
  if (size === 4) return BigInt(dv.getUint32(off, true));
  return BigInt(size === 2 ? dv.getUint16(off, true) : dv.getUint8(off));
}

/** Stores a little-endian unsigned integer of `size` bytes at `off` (truncated to its width). */
export function setUint(b: Uint8Array, off: number, size: number, v: bigint): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u = BigInt.asUintN(size * 8, v);
  if (size === 8) dv.setBigUint64(off, u, true);
  else if (size === 4) dv.setUint32(off, Number(u), true);
  else if (size === 2) dv.setUint16(off, Number(u), true);
  else dv.setUint8(off, Number(u));
}

/** Whether field `s` lies wholly inside `r`. */
export function inside(s: FieldAt, r: MemRange): boolean {
  return s.addr >= r.addr && s.addr + BigInt(s.size) <= r.addr + BigInt(r.data.length);
}

/** A copy of `r`'s bytes with each of `fields` inside it replaced by `value(field, old)` (without fields: `r`'s own bytes). */
export function patchRange<F extends FieldAt>(r: MemRange, fields: readonly F[], value: (f: F, old: bigint) => bigint): Uint8Array {
  if (!fields.length) return r.data;
  // A copy: decoded trace bytes may be Buffer views, whose slice() shares memory.
  const out = new Uint8Array(r.data);
  for (const f of fields) {
    if (!inside(f, r)) continue;
    const off = Number(f.addr - r.addr);
    setUint(out, off, f.size, value(f, getUint(out, off, f.size)));
  }
  return out;
}

/** INT64_MAX: an absolute timeout that never expires. */
const FOREVER = (1n << 63n) - 1n;

/** A field a replay writes instead of the recorded value. */
export interface FieldFix extends FieldAt {
  value: bigint;
}

/** An ioctl's argument struct as recorded, and a maker of its member fields. */
interface Arg {
  layout: Layout;
  f: Fields;
  field(name: string, l?: Layout, base?: bigint): FieldAt;
}

/** The argument struct of a call when it is one of `structs` (checked before decoding: the fast path). */
function argOf(request: number, argp: bigint, reads: readonly MemRange[], structs: ReadonlySet<string>): Arg | undefined {
  const layout = ioctlLayout(request);
  if (!layout || !structs.has(layout.name)) return undefined;
  const bytes = bytesAt(reads, argp, layout.size);
  if (!layout || !bytes) return undefined;
  const field = (name: string, l = layout, base = argp): FieldAt => {
    const m = member(l, name);
    return { addr: base + BigInt(m.offset), size: memberSize(m), field: `${l.name}.${name}` };
  };
  return { layout, f: decodeLayout(layout, bytes, 0, false), field };
}

/**
 * Absolute timeouts (CLOCK_MONOTONIC times of the recording), which a replay rewrites: a call
 * recorded as timed out (`errno` ETIME) gets 0, already expired; any other gets INT64_MAX.
 */
export function timeoutFixes(request: number, argp: bigint, reads: readonly MemRange[], errno: number): FieldFix[] {
  const a = argOf(request, argp, reads, TIMEOUT_STRUCTS);
  const value = errno === ETIME ? 0n : FOREVER;
  if (!a) return [];
  const abs = a.layout.name === 'drm_xe_wait_user_fence' && Number(a.f.flags) & C('DRM_XE_UFENCE_WAIT_FLAG_ABSTIME');
  if (abs) return [{ ...a.field('timeout'), value }];
  return SYNCOBJ_WAITS.has(a.layout.name) ? [{ ...a.field('timeout_nsec'), value }] : [];
}

const SYNCOBJ_WAITS = new Set(['drm_syncobj_wait', 'drm_syncobj_timeline_wait']);
const UFENCE_WAIT = new Set(['drm_xe_wait_user_fence']);
const TIMEOUT_STRUCTS = new Set([...SYNCOBJ_WAITS, ...UFENCE_WAIT]);
const CLOCK_STRUCTS = new Set([...TIMEOUT_STRUCTS, 'drm_xe_device_query']);

/** Members of a DRM_XE_DEVICE_QUERY_ENGINE_CYCLES reply derived from the clock. */
const CYCLES_CLOCK = ['engine_cycles', 'cpu_timestamp', 'cpu_delta'];

/**
 * Fields of a call's kernel writes that depend on the clock, masked when a replay compares
 * them (the one list): the timeout written back by WAIT_USER_FENCE and the rewritten absolute
 * timeouts of the syncobj waits; the clock readings of an ENGINE_CYCLES query.
 */
export function clockFields(request: number, argp: bigint, reads: readonly MemRange[]): FieldAt[] {
  const a = argOf(request, argp, reads, CLOCK_STRUCTS);
  if (!a) return [];
  if (a.layout.name === 'drm_xe_wait_user_fence') return [a.field('timeout')];
  if (SYNCOBJ_WAITS.has(a.layout.name)) return [a.field('timeout_nsec')];
  if (a.layout.name !== 'drm_xe_device_query') return [];
  if (Number(a.f.query) !== C('DRM_XE_DEVICE_QUERY_ENGINE_CYCLES') || Number(a.f.size) === 0) return [];
  const cycles = layoutOf('drm_xe_query_engine_cycles');
  return CYCLES_CLOCK.map((n) => a.field(n, cycles, BigInt(a.f.data as bigint | number)));
}

/**
 * Recorded -> replayed ids, per scope: a DRM file (known by the recorded (pid, fd) that
 * opened it, shared by dup'ed and passed fds), a process (fds), or the device (mmap offsets,
 * flink names, pids, channel slots). A recorded id with no mapping stands for itself.
 */
export class IdMaps {
  /** Recorded (pid, fd) -> file number. */
  private readonly files = new Map<string, number>();
  private nextFile = 1;
  private readonly maps = new Map<string, Map<bigint, bigint>>();

  /** A new file was installed at recorded fd `fd` of process `pid`. */
  openFile(pid: number, fd: number): void {
    this.files.set(`${pid}:${fd}`, this.nextFile++);
  }

  /** Recorded fd `fd` of `pid` now names the file behind `fromFd` of `fromPid` (dup, fd passing). */
  aliasFd(pid: number, fd: number, fromPid: number, fromFd: number): void {
    this.files.set(`${pid}:${fd}`, this.fileOf(fromPid, fromFd));
  }

  /** Recorded fd `fd` of `pid` was closed. */
  closeFd(pid: number, fd: number): void {
    this.files.delete(`${pid}:${fd}`);
  }

  private fileOf(pid: number, fd: number): number {
    const key = `${pid}:${fd}`;
    if (!this.files.has(key)) this.files.set(key, this.nextFile++);
    return this.files.get(key)!;
  }

  /** The scope of `kind` ids used by a call of process `pid` on fd `fd`. */
  scope(kind: IdKind, pid: number, fd: number): string {
    if (FILE_KINDS.has(kind)) return `${kind}@f${this.fileOf(pid, fd)}`;
    if (kind !== 'fd') return kind;
    // Every call maps its fd: the process scope's name is made once.
    let s = this.fdScopes.get(pid);
    if (s === undefined) this.fdScopes.set(pid, (s = `fd@p${pid}`));
    return s;
  }

  private readonly fdScopes = new Map<number, string>();

  /** The replayed id for recorded `id` in `scope` (itself when unmapped). */
  get(scope: string, id: bigint): bigint {
    return this.maps.get(scope)?.get(id) ?? id;
  }

  /** Learns recorded `id` -> replayed `to` in `scope`. */
  set(scope: string, id: bigint, to: bigint): void {
    let m = this.maps.get(scope);
    if (!m) this.maps.set(scope, (m = new Map()));
    m.set(id, to);
  }
}

/**
 * Memory a call reads that the replay's own kernel and GPU write (a replay leaves it alone
 * instead of storing the recorded bytes there): the user fence a WAIT_USER_FENCE polls.
 */
export function kernelWrittenInputs(request: number, argp: bigint, reads: readonly MemRange[]): FieldAt[] {
  const a = argOf(request, argp, reads, UFENCE_WAIT);
  if (!a) return [];
  return [{ addr: BigInt(a.f.addr as bigint | number), size: 8, field: 'drm_xe_wait_user_fence.addr' }];
}
