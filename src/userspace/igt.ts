/**
 * IGT-style helpers over the raw interface, named as IGT names them. A plain name throws
 * on failure (igt_assert style); the `__` variant returns the negative errno instead.
 */
import { decode, decodeArray, pack, type Fields, type FieldsIn } from '../uapi/codec.js';
import { ETIME } from '../uapi/errno.js';
import { C, IOCTL, IOCTL_LIST, layoutOf } from '../uapi/uapi.js';
import type { Process } from './process.js';

/** Result of a struct ioctl: rc (0 / -1), errno, and the struct as the kernel left it. */
export interface IoctlOutcome {
  rc: number;
  errno: number;
  out: Fields;
}

/**
 * Packs `fields` as table struct of ioctl `name` into fresh user memory, issues the ioctl,
 * and decodes the struct back. The memory is freed afterwards.
 */
export function doIoctl(p: Process, fd: number, name: string, fields: FieldsIn = {}, structName?: string): IoctlOutcome {
  const sname = structName ?? ioctlStruct(name);
  const size = layoutOf(sname).size;
  const a = p.mem.alloc(size, 8);
  try {
    p.mem.write(a, pack(sname, fields));
    const rc = p.ioctl(fd, IOCTL(name), a);
    return { rc, errno: rc < 0 ? p.errno : 0, out: decode(sname, p.mem.read(a, size)) };
  } finally {
    p.mem.free(a);
  }
}

/** Like doIoctl, but returns 0 / -errno and the output struct (the `__` convention). */
export function __ioctl(p: Process, fd: number, name: string, fields: FieldsIn = {}): { err: number; out: Fields } {
  const r = doIoctl(p, fd, name, fields);
  return { err: r.rc < 0 ? -r.errno : 0, out: r.out };
}

/** Like doIoctl, but throws on failure and returns the output struct. */
export function ioctlOk(p: Process, fd: number, name: string, fields: FieldsIn = {}): Fields {
  const r = doIoctl(p, fd, name, fields);
  if (r.rc < 0) throw new IgtError(name, r.errno);
  return r.out;
}

/** An IGT-style helper's call failed. */
export class IgtError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: errno ${errno}`);
  }
}

const IOCTL_STRUCT = new Map(IOCTL_LIST.map((i) => [i.name, i.layout.name]));

function ioctlStruct(name: string): string {
  const s = IOCTL_STRUCT.get(name);
  if (!s) throw new Error(`unknown ioctl ${name}`);
  return s;
}

// ---------------------------------------------------------------------------------------
// Named helpers (lib/xe/xe_ioctl.c, lib/igt_syncobj.c, lib/xe/xe_query.c). Each `__name`
// returns a negative errno on failure (and the new id or 0 on success); `name` throws.

function unwrap(call: string, r: number): number {
  if (r < 0) throw new IgtError(call, -r);
  return r;
}

function run(p: Process, fd: number, name: string, fields: FieldsIn): { err: number; out: Fields } {
  return __ioctl(p, fd, name, fields);
}

/** Memory-region placement bit of system memory. */
export function system_memory(): number {
  return 1;
}

/** Placement of tile `gt`'s VRAM when the device has VRAM, else system memory. */
export function vram_if_possible(p: Process, fd: number, gt = 0): number {
  const cfg = xe_query_config(p, fd);
  return cfg[C('DRM_XE_QUERY_CONFIG_FLAGS')] & BigInt(C('DRM_XE_QUERY_CONFIG_FLAG_HAS_VRAM')) ? 1 << (gt + 1) : 1;
}

/** VM_CREATE; returns the vm id or -errno. */
export function __xe_vm_create(p: Process, fd: number, flags = 0, ext = 0n): number {
  const r = run(p, fd, 'DRM_IOCTL_XE_VM_CREATE', { flags, extensions: ext });
  return r.err || Number(r.out.vm_id);
}

/** VM_CREATE; returns the vm id. */
export function xe_vm_create(p: Process, fd: number, flags = 0, ext = 0n): number {
  return unwrap('xe_vm_create', __xe_vm_create(p, fd, flags, ext));
}

/** VM_DESTROY; 0 or -errno. */
export function __xe_vm_destroy(p: Process, fd: number, vm: number): number {
  return run(p, fd, 'DRM_IOCTL_XE_VM_DESTROY', { vm_id: vm }).err;
}

/** VM_DESTROY. */
export function xe_vm_destroy(p: Process, fd: number, vm: number): void {
  unwrap('xe_vm_destroy', __xe_vm_destroy(p, fd, vm));
}

/** The CPU caching IGT picks: WC for VRAM placements or scanout, else WB. */
export function __xe_bo_cpu_caching(placement: number, flags: number): number {
  return placement & ~1 || flags & C('DRM_XE_GEM_CREATE_FLAG_SCANOUT')
    ? C('DRM_XE_GEM_CPU_CACHING_WC')
    : C('DRM_XE_GEM_CPU_CACHING_WB');
}

/** GEM_CREATE with an explicit cpu_caching; returns the handle or -errno. */
export function __xe_bo_create_caching(
  p: Process, fd: number, vm: number, size: number | bigint, placement: number, flags: number, cpuCaching: number,
): number {
  const r = run(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', {
    size: BigInt(size), placement, flags, vm_id: vm, cpu_caching: cpuCaching,
  });
  return r.err || Number(r.out.handle);
}

/** GEM_CREATE; returns the handle or -errno. */
export function __xe_bo_create(p: Process, fd: number, vm: number, size: number | bigint, placement: number, flags = 0): number {
  return __xe_bo_create_caching(p, fd, vm, size, placement, flags, __xe_bo_cpu_caching(placement, flags));
}

/** GEM_CREATE; returns the handle. */
export function xe_bo_create(p: Process, fd: number, vm: number, size: number | bigint, placement: number, flags = 0): number {
  return unwrap('xe_bo_create', __xe_bo_create(p, fd, vm, size, placement, flags));
}

/** GEM_MMAP_OFFSET; returns the fake offset. */
export function xe_bo_mmap_offset(p: Process, fd: number, bo: number): bigint {
  const r = run(p, fd, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle: bo });
  if (r.err) throw new IgtError('xe_bo_mmap_offset', -r.err);
  return r.out.offset as bigint;
}

/** Maps a BO into the process; returns the CPU address. */
export function xe_bo_map(p: Process, fd: number, bo: number, size: number | bigint): bigint {
  const addr = p.mmap(size, fd, xe_bo_mmap_offset(p, fd, bo));
  if (addr < 0n) throw new IgtError('xe_bo_map', p.errno);
  return addr;
}

/** GEM_CLOSE; 0 or -errno. */
export function __gem_close(p: Process, fd: number, handle: number): number {
  return run(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle }).err;
}

/** GEM_CLOSE. */
export function gem_close(p: Process, fd: number, handle: number): void {
  unwrap('gem_close', __gem_close(p, fd, handle));
}

/** One engine placement (drm_xe_engine_class_instance). */
export interface EngineInstance {
  engine_class: number;
  engine_instance: number;
  gt_id: number;
}

/** EXEC_QUEUE_CREATE with width 1 on one placement; returns the queue id or -errno. */
export function __xe_exec_queue_create(p: Process, fd: number, vm: number, eci: EngineInstance, ext = 0n): number {
  const inst = p.mem.alloc(layoutOf('drm_xe_engine_class_instance').size, 8);
  try {
    p.mem.write(inst, pack('drm_xe_engine_class_instance', { ...eci }));
    const r = run(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', {
      extensions: ext, width: 1, num_placements: 1, vm_id: vm, instances: inst,
    });
    return r.err || Number(r.out.exec_queue_id);
  } finally {
    p.mem.free(inst);
  }
}

/** EXEC_QUEUE_CREATE; returns the queue id. */
export function xe_exec_queue_create(p: Process, fd: number, vm: number, eci: EngineInstance, ext = 0n): number {
  return unwrap('xe_exec_queue_create', __xe_exec_queue_create(p, fd, vm, eci, ext));
}

/** A VM_BIND queue on `vm`; returns its id. */
export function xe_bind_exec_queue_create(p: Process, fd: number, vm: number, ext = 0n): number {
  const eci = { engine_class: C('DRM_XE_ENGINE_CLASS_VM_BIND'), engine_instance: 0, gt_id: 0 };
  return xe_exec_queue_create(p, fd, vm, eci, ext);
}

/** EXEC_QUEUE_DESTROY; 0 or -errno. */
export function __xe_exec_queue_destroy(p: Process, fd: number, id: number): number {
  return run(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', { exec_queue_id: id }).err;
}

/** EXEC_QUEUE_DESTROY. */
export function xe_exec_queue_destroy(p: Process, fd: number, id: number): void {
  unwrap('xe_exec_queue_destroy', __xe_exec_queue_destroy(p, fd, id));
}

/** SYNCOBJ_CREATE; returns the handle or -errno. */
export function __syncobj_create(p: Process, fd: number, flags = 0): number {
  const r = run(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags });
  return r.err || Number(r.out.handle);
}

/** SYNCOBJ_CREATE; returns the handle. */
export function syncobj_create(p: Process, fd: number, flags = 0): number {
  return unwrap('syncobj_create', __syncobj_create(p, fd, flags));
}

/** SYNCOBJ_DESTROY; 0 or -errno. */
export function __syncobj_destroy(p: Process, fd: number, handle: number): number {
  return run(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle }).err;
}

/** SYNCOBJ_DESTROY. */
export function syncobj_destroy(p: Process, fd: number, handle: number): void {
  unwrap('syncobj_destroy', __syncobj_destroy(p, fd, handle));
}

/** Writes `values` as a u32 or u64 array into fresh user memory; the caller frees it. */
function userArray(p: Process, values: Array<number | bigint>, bytes: 4 | 8): bigint {
  const a = p.mem.alloc(Math.max(1, values.length) * bytes, 8);
  values.forEach((v, i) =>
    bytes === 4 ? p.mem.writeU32(a + BigInt(i * 4), Number(v)) : p.mem.writeU64(a + BigInt(i * 8), BigInt(v)),
  );
  return a;
}

/** SYNCOBJ_WAIT with an absolute timeout; returns first_signaled, or -errno. */
export function __syncobj_wait(p: Process, fd: number, handles: number[], absTimeoutNs: bigint, flags = 0): number {
  const h = userArray(p, handles, 4);
  try {
    const r = run(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
      handles: h, count_handles: handles.length, timeout_nsec: absTimeoutNs, flags,
    });
    return r.err || Number(r.out.first_signaled);
  } finally {
    p.mem.free(h);
  }
}

/** SYNCOBJ_WAIT; true when the wait succeeded, false on ETIME; throws on other errors. */
export function syncobj_wait(p: Process, fd: number, handles: number[], absTimeoutNs: bigint, flags = 0): boolean {
  const r = __syncobj_wait(p, fd, handles, absTimeoutNs, flags);
  if (r === -ETIME) return false;
  unwrap('syncobj_wait', r);
  return true;
}

function handleArrayCall(p: Process, fd: number, name: string, handles: number[]): number {
  const h = userArray(p, handles, 4);
  try {
    return run(p, fd, name, { handles: h, count_handles: handles.length }).err;
  } finally {
    p.mem.free(h);
  }
}

/** SYNCOBJ_RESET; 0 or -errno. */
export function __syncobj_reset(p: Process, fd: number, handles: number[]): number {
  return handleArrayCall(p, fd, 'DRM_IOCTL_SYNCOBJ_RESET', handles);
}

/** SYNCOBJ_RESET. */
export function syncobj_reset(p: Process, fd: number, handles: number[]): void {
  unwrap('syncobj_reset', __syncobj_reset(p, fd, handles));
}

/** SYNCOBJ_SIGNAL; 0 or -errno. */
export function __syncobj_signal(p: Process, fd: number, handles: number[]): number {
  return handleArrayCall(p, fd, 'DRM_IOCTL_SYNCOBJ_SIGNAL', handles);
}

/** SYNCOBJ_SIGNAL. */
export function syncobj_signal(p: Process, fd: number, handles: number[]): void {
  unwrap('syncobj_signal', __syncobj_signal(p, fd, handles));
}

function timelineCall(p: Process, fd: number, name: string, handles: number[], points: bigint[], flags: number) {
  const h = userArray(p, handles, 4);
  const pts = userArray(p, points, 8);
  try {
    const r = run(p, fd, name, { handles: h, points: pts, count_handles: handles.length, flags });
    return { err: r.err, points: handles.map((_, i) => p.mem.readU64(pts + BigInt(i * 8))) };
  } finally {
    p.mem.free(h);
    p.mem.free(pts);
  }
}

/** SYNCOBJ_TIMELINE_SIGNAL; 0 or -errno. */
export function __syncobj_timeline_signal(p: Process, fd: number, handles: number[], points: bigint[]): number {
  return timelineCall(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', handles, points, 0).err;
}

/** SYNCOBJ_TIMELINE_SIGNAL. */
export function syncobj_timeline_signal(p: Process, fd: number, handles: number[], points: bigint[]): void {
  unwrap('syncobj_timeline_signal', __syncobj_timeline_signal(p, fd, handles, points));
}

/** SYNCOBJ_QUERY; the points, throws on error. */
export function syncobj_timeline_query(p: Process, fd: number, handles: number[], flags = 0): bigint[] {
  const r = timelineCall(p, fd, 'DRM_IOCTL_SYNCOBJ_QUERY', handles, handles.map(() => 0n), flags);
  unwrap('syncobj_timeline_query', r.err);
  return r.points;
}

/** WAIT_USER_FENCE (op EQ, full mask) with a relative timeout; 0 or -errno, and the timeout read back. */
export function __xe_wait_ufence(
  p: Process, fd: number, addr: bigint, value: bigint, execQueue = 0, timeoutNs = -1n,
): { err: number; timeout: bigint } {
  const r = run(p, fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', {
    addr, op: C('DRM_XE_UFENCE_WAIT_OP_EQ'), value, mask: C_U64_MAX, timeout: timeoutNs, exec_queue_id: execQueue,
  });
  return { err: r.err, timeout: r.out.timeout as bigint };
}

/** WAIT_USER_FENCE; returns the remaining timeout, throws on error (incl. ETIME). */
export function xe_wait_ufence(p: Process, fd: number, addr: bigint, value: bigint, execQueue = 0, timeoutNs = -1n): bigint {
  const r = __xe_wait_ufence(p, fd, addr, value, execQueue, timeoutNs);
  unwrap('xe_wait_ufence', r.err);
  return r.timeout;
}

const C_U64_MAX = (1n << 64n) - 1n;

/** DEVICE_QUERY of `query`: size probe, then the reply bytes. */
export function xe_query(p: Process, fd: number, query: number): Uint8Array {
  const probe = run(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', { query });
  unwrap('xe_query(size)', probe.err);
  const size = Number(probe.out.size);
  const data = p.mem.alloc(Math.max(size, 1), 8);
  try {
    unwrap('xe_query', run(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', { query, size, data }).err);
    return p.mem.read(data, size);
  } finally {
    p.mem.free(data);
  }
}

/** The CONFIG query's info[] values. */
export function xe_query_config(p: Process, fd: number): bigint[] {
  const b = xe_query(p, fd, C('DRM_XE_DEVICE_QUERY_CONFIG'));
  const n = decode('drm_xe_query_config', b).num_params as number;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = layoutOf('drm_xe_query_config').size;
  return Array.from({ length: n }, (_, i) => dv.getBigUint64(at + i * 8, true));
}

/** The ENGINES query's engine list. */
export function xe_query_engines(p: Process, fd: number): EngineInstance[] {
  const b = xe_query(p, fd, C('DRM_XE_DEVICE_QUERY_ENGINES'));
  const n = decode('drm_xe_query_engines', b).num_engines as number;
  const at = layoutOf('drm_xe_query_engines').size;
  return decodeArray('drm_xe_engine', b, n, at).map((e) => e.instance as unknown as EngineInstance);
}

/** GET_CAP; the value, throws on error. */
export function drm_get_cap(p: Process, fd: number, capability: number): bigint {
  const r = run(p, fd, 'DRM_IOCTL_GET_CAP', { capability });
  unwrap('drm_get_cap', r.err);
  return r.out.value as bigint;
}
