/**
 * IGT's lib/xe/xe_ioctl.c helpers (and the core DRM ones of lib/ioctl_wrappers.c), named as
 * IGT names them. `__name` returns a negative errno on failure (and the new id, or 0, on
 * success); `name` throws IgtError, whose message names the ioctl and the errno.
 */
import { decodeArray, pack, packArray, type Fields, type FieldsIn } from '../uapi/codec.js';
import { ETIME } from '../uapi/errno.js';
import { C, layoutOf } from '../uapi/uapi.js';
import { __ioctl, IgtError, reasonOf, unwrap } from './igt_core.js';
import { syncobj_create, syncobj_destroy, syncobj_wait } from './igt_syncobj.js';
import type { Process } from './process.js';
import { xe_gt_list, type EngineInstance } from './xe_query.js';

/** VM_CREATE; returns the vm id or -errno. */
export function __xe_vm_create(p: Process, fd: number, flags = 0, ext = 0n): number {
  const r = __ioctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', { flags, extensions: ext });
  return r.err || Number(r.out.vm_id);
}

/** VM_CREATE; returns the vm id. */
export function xe_vm_create(p: Process, fd: number, flags = 0, ext = 0n): number {
  return unwrap(p, 'xe_vm_create', 'DRM_IOCTL_XE_VM_CREATE', __xe_vm_create(p, fd, flags, ext));
}

/** VM_DESTROY; 0 or -errno. */
export function __xe_vm_destroy(p: Process, fd: number, vm: number): number {
  return __ioctl(p, fd, 'DRM_IOCTL_XE_VM_DESTROY', { vm_id: vm }).err;
}

/** VM_DESTROY. */
export function xe_vm_destroy(p: Process, fd: number, vm: number): void {
  unwrap(p, 'xe_vm_destroy', 'DRM_IOCTL_XE_VM_DESTROY', __xe_vm_destroy(p, fd, vm));
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
  const r = __ioctl(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', {
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
  return unwrap(p, 'xe_bo_create', 'DRM_IOCTL_XE_GEM_CREATE', __xe_bo_create(p, fd, vm, size, placement, flags));
}

/** GEM_MMAP_OFFSET; returns the fake offset. */
export function xe_bo_mmap_offset(p: Process, fd: number, bo: number): bigint {
  const r = __ioctl(p, fd, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle: bo });
  if (r.err) throw new IgtError('xe_bo_mmap_offset', -r.err, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', reasonOf(p, -r.err));
  return r.out.offset as bigint;
}

/** Maps a BO into the process; returns the CPU address. */
export function xe_bo_map(p: Process, fd: number, bo: number, size: number | bigint): bigint {
  const addr = p.mmap(size, fd, xe_bo_mmap_offset(p, fd, bo));
  if (addr < 0n) throw new IgtError('xe_bo_map', p.errno, 'mmap', reasonOf(p, p.errno));
  return addr;
}

/** GEM_CLOSE; 0 or -errno. */
export function __gem_close(p: Process, fd: number, handle: number): number {
  return __ioctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle }).err;
}

/** GEM_CLOSE. */
export function gem_close(p: Process, fd: number, handle: number): void {
  unwrap(p, 'gem_close', 'DRM_IOCTL_GEM_CLOSE', __gem_close(p, fd, handle));
}

export type { EngineInstance } from './xe_query.js';

/** EXEC_QUEUE_CREATE with width 1 on one placement; returns the queue id or -errno. */
export function __xe_exec_queue_create(p: Process, fd: number, vm: number, eci: EngineInstance, ext = 0n): number {
  const inst = p.mem.alloc(layoutOf('drm_xe_engine_class_instance').size, 8);
  try {
    p.mem.write(inst, pack('drm_xe_engine_class_instance', { ...eci }));
    const r = __ioctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', {
      extensions: ext, width: 1, num_placements: 1, vm_id: vm, instances: inst,
    });
    return r.err || Number(r.out.exec_queue_id);
  } finally {
    p.mem.free(inst);
  }
}

/** EXEC_QUEUE_CREATE; returns the queue id. */
export function xe_exec_queue_create(p: Process, fd: number, vm: number, eci: EngineInstance, ext = 0n): number {
  return unwrap(p, 'xe_exec_queue_create', 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', __xe_exec_queue_create(p, fd, vm, eci, ext));
}

/** xe_exec_queue_create_class: a width-1 queue on instance 0 of engine class `cls` of GT 0; its id. */
export function xe_exec_queue_create_class(p: Process, fd: number, vm: number, cls: number): number {
  return xe_exec_queue_create(p, fd, vm, { engine_class: cls, engine_instance: 0, gt_id: 0 });
}

/** A VM_BIND queue on `vm`; returns its id. */
export function xe_bind_exec_queue_create(p: Process, fd: number, vm: number, ext = 0n): number {
  const eci = { engine_class: C('DRM_XE_ENGINE_CLASS_VM_BIND'), engine_instance: 0, gt_id: 0 };
  return xe_exec_queue_create(p, fd, vm, eci, ext);
}

/** EXEC_QUEUE_DESTROY; 0 or -errno. */
export function __xe_exec_queue_destroy(p: Process, fd: number, id: number): number {
  return __ioctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', { exec_queue_id: id }).err;
}

/** EXEC_QUEUE_DESTROY. */
export function xe_exec_queue_destroy(p: Process, fd: number, id: number): void {
  unwrap(p, 'xe_exec_queue_destroy', 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', __xe_exec_queue_destroy(p, fd, id));
}

/** WAIT_USER_FENCE (op EQ, full mask) with a relative timeout; 0 or -errno, and the timeout read back. */
export function __xe_wait_ufence(
  p: Process, fd: number, addr: bigint, value: bigint, execQueue = 0, timeoutNs = -1n,
): { err: number; timeout: bigint } {
  const r = __ioctl(p, fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', {
    addr, op: C('DRM_XE_UFENCE_WAIT_OP_EQ'), value, mask: C_U64_MAX, timeout: timeoutNs, exec_queue_id: execQueue,
  });
  return { err: r.err, timeout: r.out.timeout as bigint };
}

/** WAIT_USER_FENCE; returns the remaining timeout, throws on error (incl. ETIME). */
export function xe_wait_ufence(p: Process, fd: number, addr: bigint, value: bigint, execQueue = 0, timeoutNs = -1n): bigint {
  const r = __xe_wait_ufence(p, fd, addr, value, execQueue, timeoutNs);
  unwrap(p, 'xe_wait_ufence', 'DRM_IOCTL_XE_WAIT_USER_FENCE', r.err);
  return r.timeout;
}

const C_U64_MAX = (1n << 64n) - 1n;

/** GET_CAP; the value, throws on error. */
export function drm_get_cap(p: Process, fd: number, capability: number): bigint {
  const r = __ioctl(p, fd, 'DRM_IOCTL_GET_CAP', { capability });
  unwrap(p, 'drm_get_cap', 'DRM_IOCTL_GET_CAP', r.err);
  return r.out.value as bigint;
}

/** PRIME_HANDLE_TO_FD of a BO with `flags` (DRM_CLOEXEC, DRM_RDWR); the dma-buf fd or -errno. */
export function __prime_handle_to_fd(p: Process, fd: number, handle: number, flags: number): number {
  const r = __ioctl(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle, flags, fd: -1 });
  return r.err || Number(r.out.fd);
}

/** PRIME_HANDLE_TO_FD with DRM_CLOEXEC; the dma-buf fd. */
export function prime_handle_to_fd(p: Process, fd: number, handle: number): number {
  return unwrap(p, 'prime_handle_to_fd', 'DRM_IOCTL_PRIME_HANDLE_TO_FD', __prime_handle_to_fd(p, fd, handle, C('DRM_CLOEXEC')));
}

/** PRIME_HANDLE_TO_FD with DRM_CLOEXEC | DRM_RDWR (for a writable mapping); the dma-buf fd, or -1. */
export function prime_handle_to_fd_for_mmap(p: Process, fd: number, handle: number): number {
  const r = __prime_handle_to_fd(p, fd, handle, C('DRM_CLOEXEC') | C('DRM_RDWR'));
  return r < 0 ? -1 : r;
}

/** PRIME_FD_TO_HANDLE; the BO handle, or -errno. */
export function __prime_fd_to_handle(p: Process, fd: number, dmaBufFd: number): number {
  const r = __ioctl(p, fd, 'DRM_IOCTL_PRIME_FD_TO_HANDLE', { fd: dmaBufFd });
  return r.err || Number(r.out.handle);
}

/** PRIME_FD_TO_HANDLE; the BO handle. */
export function prime_fd_to_handle(p: Process, fd: number, dmaBufFd: number): number {
  return unwrap(p, 'prime_fd_to_handle', 'DRM_IOCTL_PRIME_FD_TO_HANDLE', __prime_fd_to_handle(p, fd, dmaBufFd));
}

/**
 * MADVISE of [addr, addr + range) with attribute `type`; `opVal` is devmem_fd, atomic.val,
 * pat_index.val or purge_state_val.val by type; `policy` and `instance` are the
 * PREFERRED_LOC migration_policy and region_instance. 0 or -errno.
 */
export function __xe_vm_madvise(
  p: Process, fd: number, vm: number, addr: bigint, range: bigint, ext: bigint, type: number, opVal: number, policy = 0, instance = 0,
): number {
  const union: Record<number, Record<string, object>> = {
    [C('DRM_XE_MEM_RANGE_ATTR_PREFERRED_LOC')]: { preferred_mem_loc: { devmem_fd: opVal >>> 0, migration_policy: policy, region_instance: instance } },
    [C('DRM_XE_MEM_RANGE_ATTR_ATOMIC')]: { atomic: { val: opVal } },
    [C('DRM_XE_MEM_RANGE_ATTR_PAT')]: { pat_index: { val: opVal } },
    [C('DRM_XE_VMA_ATTR_PURGEABLE_STATE')]: { purge_state_val: { val: opVal } },
  };
  return __ioctl(p, fd, 'DRM_IOCTL_XE_MADVISE', { vm_id: vm, start: addr, range, extensions: ext, type, ...union[type] }).err;
}

/** MADVISE; throws on failure. */
export function xe_vm_madvise(
  p: Process, fd: number, vm: number, addr: bigint, range: bigint, ext: bigint, type: number, opVal: number, policy = 0, instance = 0,
): void {
  unwrap(p, 'xe_vm_madvise', 'DRM_IOCTL_XE_MADVISE', __xe_vm_madvise(p, fd, vm, addr, range, ext, type, opVal, policy, instance));
}

/** QUERY_MEM_RANGE_ATTRS, first call: the number of VMAs overlapping [start, start + range). */
export function xe_vm_number_vmas_in_range(p: Process, fd: number, vm: number, start: bigint, range: bigint): number {
  const r = __ioctl(p, fd, 'DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS', { vm_id: vm, start, range });
  unwrap(p, 'xe_vm_number_vmas_in_range', 'DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS', r.err);
  return Number(r.out.num_mem_ranges);
}

/** Both QUERY_MEM_RANGE_ATTRS calls: one decoded drm_xe_mem_range_attr per VMA, in address order. */
export function xe_vm_get_mem_attr_values_in_range(p: Process, fd: number, vm: number, start: bigint, range: bigint): Fields[] {
  const num = xe_vm_number_vmas_in_range(p, fd, vm, start, range);
  if (num === 0) return [];
  const size = layoutOf('drm_xe_mem_range_attr').size;
  const vec = p.mem.alloc(num * size, 8);
  try {
    const r = __ioctl(p, fd, 'DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS', {
      vm_id: vm, start, range, num_mem_ranges: num, sizeof_mem_range_attr: BigInt(size), vector_of_mem_attr: vec,
    });
    unwrap(p, 'xe_vm_get_mem_attr_values_in_range', 'DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS', r.err);
    return decodeArray('drm_xe_mem_range_attr', p.mem.read(vec, num * size), Number(r.out.num_mem_ranges));
  } finally {
    p.mem.free(vec);
  }
}

/** The records of xe_vm_get_mem_attr_values_in_range as text lines, one per VMA (IGT prints them). */
export function xe_vm_print_mem_attr_values_in_range(p: Process, fd: number, vm: number, start: bigint, range: bigint): string[] {
  const hex = (v: unknown): string => `0x${(v as bigint | number).toString(16)}`;
  return xe_vm_get_mem_attr_values_in_range(p, fd, vm, start, range).map((a) => {
    const loc = a.preferred_mem_loc as Fields;
    return `[${hex(a.start)}, ${hex(a.end)}) devmem_fd ${Number(loc.devmem_fd) | 0} migration_policy ${loc.migration_policy} atomic ${(a.atomic as Fields).val} pat_index ${(a.pat_index as Fields).val}`;
  });
}

// ---- VM_BIND (IGT lib/xe/xe_ioctl.c)

/** IGT's DEFAULT_PAT_INDEX ((uint16_t)-1): the helpers use the device's write-back index. */
export const DEFAULT_PAT_INDEX = 0xffff;

/** intel_get_pat_idx_wb (lib/intel_pat.c): the WB PAT index, from the primary GT's graphics IP version. */
export function intel_get_pat_idx_wb(p: Process, fd: number): number {
  const gt = xe_gt_list(p, fd)[0];
  const verx100 = Number(gt.ip_ver_major) * 100 + Number(gt.ip_ver_minor);
  return verx100 >= 2000 ? 2 : verx100 >= 1260 ? 3 : 0;
}

/** Runs `fn` with `syncs` packed as a drm_xe_sync array in the process (0n when empty). */
function withSyncArray<T>(p: Process, syncs: readonly FieldsIn[], fn: (addr: bigint) => T): T {
  if (syncs.length === 0) return fn(0n);
  const addr = p.mem.alloc(layoutOf('drm_xe_sync').size * syncs.length, 8);
  try {
    p.mem.write(addr, packArray('drm_xe_sync', syncs));
    return fn(addr);
  } finally {
    p.mem.free(addr);
  }
}

/** One bind op of ___xe_vm_bind: obj, offset (obj_offset or userptr), addr, range, op, flags, region, pat_index. */
export interface XeBindOp {
  obj?: number;
  offset?: bigint;
  addr: bigint;
  range: bigint;
  op: number;
  flags?: number;
  prefetchRegion?: number;
  patIndex?: number;
  ext?: bigint;
}

function bindOpFields(p: Process, fd: number, b: XeBindOp): FieldsIn {
  const pat = b.patIndex === undefined || b.patIndex === DEFAULT_PAT_INDEX ? intel_get_pat_idx_wb(p, fd) : b.patIndex;
  return {
    extensions: b.ext ?? 0n, obj: b.obj ?? 0, pat_index: pat, obj_offset: b.offset ?? 0n, range: b.range, addr: b.addr,
    op: b.op, flags: b.flags ?? 0, prefetch_mem_region_instance: b.prefetchRegion ?? 0,
  };
}

/** ___xe_vm_bind: VM_BIND of one op on `execQueue`; 0 or -errno. */
export function __xe_vm_bind(
  p: Process, fd: number, vm: number, execQueue: number, bo: number, offset: bigint, addr: bigint, size: bigint,
  op: number, flags: number, syncs: readonly FieldsIn[] = [], prefetchRegion = 0, patIndex = DEFAULT_PAT_INDEX, ext = 0n,
): number {
  const b = bindOpFields(p, fd, { obj: bo, offset, addr, range: size, op, flags, prefetchRegion, patIndex });
  return withSyncArray(p, syncs, (s) =>
    __ioctl(p, fd, 'DRM_IOCTL_XE_VM_BIND', {
      extensions: ext, vm_id: vm, exec_queue_id: execQueue, num_binds: 1, bind: b, num_syncs: syncs.length, syncs: s,
    }).err,
  );
}

/** __xe_vm_bind_assert: __xe_vm_bind that must succeed. */
export function __xe_vm_bind_assert(
  p: Process, fd: number, vm: number, execQueue: number, bo: number, offset: bigint, addr: bigint, size: bigint,
  op: number, flags: number, syncs: readonly FieldsIn[] = [], prefetchRegion = 0,
): void {
  unwrap(p, '__xe_vm_bind_assert', 'DRM_IOCTL_XE_VM_BIND', __xe_vm_bind(p, fd, vm, execQueue, bo, offset, addr, size, op, flags, syncs, prefetchRegion));
}

/** xe_vm_bind_array: VM_BIND of several ops (vector_of_binds); 0 or -errno. */
export function __xe_vm_bind_array(
  p: Process, fd: number, vm: number, execQueue: number, ops: readonly XeBindOp[], syncs: readonly FieldsIn[] = [],
): number {
  const fields = ops.map((b) => bindOpFields(p, fd, b));
  const size = layoutOf('drm_xe_vm_bind_op').size * Math.max(fields.length, 1);
  const arr = p.mem.alloc(size, 8);
  try {
    if (fields.length) p.mem.write(arr, packArray('drm_xe_vm_bind_op', fields));
    const one = fields.length === 1;
    return withSyncArray(p, syncs, (s) =>
      __ioctl(p, fd, 'DRM_IOCTL_XE_VM_BIND', {
        vm_id: vm, exec_queue_id: execQueue, num_binds: fields.length, ...(one ? { bind: fields[0] } : { vector_of_binds: arr }),
        num_syncs: syncs.length, syncs: s,
      }).err,
    );
  } finally {
    p.mem.free(arr);
  }
}

/** xe_vm_bind_array. */
export function xe_vm_bind_array(p: Process, fd: number, vm: number, execQueue: number, ops: readonly XeBindOp[], syncs: readonly FieldsIn[] = []): void {
  unwrap(p, 'xe_vm_bind_array', 'DRM_IOCTL_XE_VM_BIND', __xe_vm_bind_array(p, fd, vm, execQueue, ops, syncs));
}

const OPS = {
  MAP: C('DRM_XE_VM_BIND_OP_MAP'),
  UNMAP: C('DRM_XE_VM_BIND_OP_UNMAP'),
  MAP_USERPTR: C('DRM_XE_VM_BIND_OP_MAP_USERPTR'),
  UNMAP_ALL: C('DRM_XE_VM_BIND_OP_UNMAP_ALL'),
  PREFETCH: C('DRM_XE_VM_BIND_OP_PREFETCH'),
};
const OP = (name: keyof typeof OPS): number => OPS[name];

/** xe_vm_bind_async: MAP of BO `bo` at `addr`, signalling `syncs`. */
export function xe_vm_bind_async(
  p: Process, fd: number, vm: number, execQueue: number, bo: number, offset: bigint, addr: bigint, size: bigint, syncs: readonly FieldsIn[] = [],
): void {
  __xe_vm_bind_assert(p, fd, vm, execQueue, bo, offset, addr, size, OP('MAP'), 0, syncs);
}

/** xe_vm_bind_async_flags: MAP of `bo` (0 with DRM_XE_VM_BIND_FLAG_NULL or CPU_ADDR_MIRROR) with bind `flags`. */
export function xe_vm_bind_async_flags(
  p: Process, fd: number, vm: number, execQueue: number, bo: number, offset: bigint, addr: bigint, size: bigint,
  syncs: readonly FieldsIn[], flags: number,
): void {
  __xe_vm_bind_assert(p, fd, vm, execQueue, bo, offset, addr, size, OP('MAP'), flags, syncs);
}

/** xe_vm_bind_userptr_async: MAP_USERPTR of CPU range `userptr` at `addr`. */
export function xe_vm_bind_userptr_async(
  p: Process, fd: number, vm: number, execQueue: number, userptr: bigint, addr: bigint, size: bigint, syncs: readonly FieldsIn[] = [],
): void {
  __xe_vm_bind_assert(p, fd, vm, execQueue, 0, userptr, addr, size, OP('MAP_USERPTR'), 0, syncs);
}

/** xe_vm_unbind_async: UNMAP of [addr, addr + size). */
export function xe_vm_unbind_async(
  p: Process, fd: number, vm: number, execQueue: number, offset: bigint, addr: bigint, size: bigint, syncs: readonly FieldsIn[] = [],
): void {
  __xe_vm_bind_assert(p, fd, vm, execQueue, 0, offset, addr, size, OP('UNMAP'), 0, syncs);
}

/** xe_vm_unbind_all_async: UNMAP_ALL of BO `bo`. */
export function xe_vm_unbind_all_async(p: Process, fd: number, vm: number, execQueue: number, bo: number, syncs: readonly FieldsIn[] = []): void {
  __xe_vm_bind_assert(p, fd, vm, execQueue, bo, 0n, 0n, 0n, OP('UNMAP_ALL'), 0, syncs);
}

/** xe_vm_prefetch_async: PREFETCH of [addr, addr + size) to memory region `region`. */
export function xe_vm_prefetch_async(
  p: Process, fd: number, vm: number, execQueue: number, offset: bigint, addr: bigint, size: bigint, syncs: readonly FieldsIn[], region: number,
): void {
  __xe_vm_bind_assert(p, fd, vm, execQueue, 0, offset, addr, size, OP('PREFETCH'), 0, syncs, region);
}

/** One op on the default bind queue, then a wait for its out-syncobj (IGT's __xe_vm_bind_sync). */
function bindSync(p: Process, fd: number, vm: number, bo: number, offset: bigint, addr: bigint, size: bigint, op: number, name: string): void {
  const so = syncobj_create(p, fd);
  try {
    const sync = { type: C('DRM_XE_SYNC_TYPE_SYNCOBJ'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle: so };
    unwrap(p, name, 'DRM_IOCTL_XE_VM_BIND', __xe_vm_bind(p, fd, vm, 0, bo, offset, addr, size, op, 0, [sync]));
    if (!syncobj_wait(p, fd, [so], INT64_MAX)) throw new IgtError(name, ETIME, 'DRM_IOCTL_SYNCOBJ_WAIT', 'the bind did not complete');
  } finally {
    syncobj_destroy(p, fd, so);
  }
}

const INT64_MAX = (1n << 63n) - 1n;

/** xe_vm_bind_sync: MAP of `bo`, waiting for the bind to complete. */
export function xe_vm_bind_sync(p: Process, fd: number, vm: number, bo: number, offset: bigint, addr: bigint, size: bigint): void {
  bindSync(p, fd, vm, bo, offset, addr, size, OP('MAP'), 'xe_vm_bind_sync');
}

/** xe_vm_unbind_sync: UNMAP of [addr, addr + size), waiting for it to complete. */
export function xe_vm_unbind_sync(p: Process, fd: number, vm: number, offset: bigint, addr: bigint, size: bigint): void {
  bindSync(p, fd, vm, 0, offset, addr, size, OP('UNMAP'), 'xe_vm_unbind_sync');
}

/** xe_vm_bind_userptr_sync (a sync variant of xe_vm_bind_userptr_async). */
export function xe_vm_bind_userptr_sync(p: Process, fd: number, vm: number, userptr: bigint, addr: bigint, size: bigint): void {
  bindSync(p, fd, vm, 0, userptr, addr, size, OP('MAP_USERPTR'), 'xe_vm_bind_userptr_sync');
}

/** The fields of an EXEC (drm_xe_exec) with its sync entries as fields. */
export interface XeExec {
  exec_queue_id: number;
  /** The batch address (width 1), or the user pointer of one address per slot. */
  address: bigint;
  /** Default 1. */
  num_batch_buffer?: number;
  syncs?: readonly FieldsIn[];
  extensions?: bigint;
  pad?: number[];
  reserved?: bigint[];
}

/** __xe_exec: EXEC; 0 or -errno. */
export function __xe_exec(p: Process, fd: number, exec: XeExec): number {
  const syncs = exec.syncs ?? [];
  return withSyncArray(p, syncs, (s) =>
    __ioctl(p, fd, 'DRM_IOCTL_XE_EXEC', {
      extensions: exec.extensions ?? 0n, exec_queue_id: exec.exec_queue_id, num_syncs: syncs.length, syncs: s,
      address: exec.address, num_batch_buffer: exec.num_batch_buffer ?? 1, pad: exec.pad ?? [0, 0, 0], reserved: exec.reserved ?? [0n, 0n],
    }).err,
  );
}

/** xe_exec: EXEC that must succeed. */
export function xe_exec(p: Process, fd: number, exec: XeExec): void {
  unwrap(p, 'xe_exec', 'DRM_IOCTL_XE_EXEC', __xe_exec(p, fd, exec));
}

/** xe_exec_sync: one batch at `addr` on `execQueue` with `syncs`. */
export function xe_exec_sync(p: Process, fd: number, execQueue: number, addr: bigint, syncs: readonly FieldsIn[] = []): void {
  xe_exec(p, fd, { exec_queue_id: execQueue, address: addr, syncs });
}

/** xe_exec_wait: one batch at `addr` on `execQueue`, then a wait for its out-syncobj. */
export function xe_exec_wait(p: Process, fd: number, execQueue: number, addr: bigint): void {
  const so = syncobj_create(p, fd);
  try {
    xe_exec_sync(p, fd, execQueue, addr, [{ type: C('DRM_XE_SYNC_TYPE_SYNCOBJ'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle: so }]);
    if (!syncobj_wait(p, fd, [so], INT64_MAX)) throw new IgtError('xe_exec_wait', ETIME, 'DRM_IOCTL_SYNCOBJ_WAIT', 'the job did not complete');
  } finally {
    syncobj_destroy(p, fd, so);
  }
}
