/**
 * Sample trace `invalid`: a catalogue of invalid calls over the main ioctls, each with the
 * errno the real kernel gives it (bad fds and pointers, unknown ids, bad sizes, flags and
 * alignments, expired waits, a busy VM). Every call must fail with exactly its errno; the
 * valid objects the cases name (a VM, a BO, a queue, a syncobj) are set up first.
 */
import { C, ERRNO, IOCTL, igt, layoutOf, pack, type Device, type ErrnoName, type FieldsIn, type Process } from '../../src/index.js';
import { expect } from './sample.js';

/** The valid objects the cases name. */
interface Ctx {
  p: Process;
  fd: number;
  vm: number;
  bo: number;
  q: number;
  so: number;
  /** 8 bytes of user memory, never written: an unwritten user fence. */
  fence: bigint;
}

/** One invalid call: what is wrong, the errno, and the call (0 or -errno). */
export interface InvalidCase {
  what: string;
  errno: ErrnoName;
  call: (c: Ctx) => number;
}

const NO_ID = 0x7777;
const RENDER = { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 };

/** A table ioctl with its struct packed from `fields`: 0 or -errno. */
const ioctl = (c: Ctx, name: string, fields: FieldsIn = {}, fd = c.fd): number => igt.__ioctl(c.p, fd, name, fields).err;

/** A VM_BIND MAP on the context's VM with `op` fields. */
const bind = (c: Ctx, op: FieldsIn, vm = c.vm): number =>
  ioctl(c, 'DRM_IOCTL_XE_VM_BIND', { vm_id: vm, num_binds: 1, bind: { op: C('DRM_XE_VM_BIND_OP_MAP'), pat_index: 2, obj: c.bo, range: 0x10000n, addr: 0x10_0000n, ...op } });

/** A GEM_CREATE of a valid 64 KiB system-memory BO, but for `fields`. */
const gemCreate = (c: Ctx, fields: FieldsIn): number =>
  ioctl(c, 'DRM_IOCTL_XE_GEM_CREATE', { size: 0x10000, placement: 1, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WB'), ...fields });

/** A long-running VM with an exec queue: destroying it is refused while the queue exists. */
function destroyBusyLrVm(c: Ctx): number {
  const lr = igt.xe_vm_create(c.p, c.fd, C('DRM_XE_VM_CREATE_FLAG_LR_MODE'));
  igt.xe_exec_queue_create(c.p, c.fd, lr, RENDER);
  return igt.__xe_vm_destroy(c.p, c.fd, lr);
}

/** EXEC_QUEUE_CREATE with a SET_PROPERTY extension asking for high priority (needs CAP_SYS_NICE). */
function highPriorityQueue(c: Ctx): number {
  const ext = c.p.mem.alloc(layoutOf('drm_xe_ext_set_property').size, 8);
  c.p.mem.write(ext, pack('drm_xe_ext_set_property', {
    base: { name: C('DRM_XE_EXEC_QUEUE_EXTENSION_SET_PROPERTY') }, property: C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_PRIORITY'), value: 2n,
  }));
  return igt.__xe_exec_queue_create(c.p, c.fd, c.vm, RENDER, ext);
}

/** The cases, in the order they run (and appear in the trace). */
export const INVALID_CASES: readonly InvalidCase[] = [
  { what: 'an fd that is not open', errno: 'EBADF', call: (c) => ioctl(c, 'DRM_IOCTL_XE_VM_CREATE', {}, 99) },
  { what: 'a DRM ioctl on an eventfd', errno: 'ENOTTY', call: (c) => ioctl(c, 'DRM_IOCTL_XE_VM_CREATE', {}, c.p.eventfd()) },
  { what: 'an argument pointer to unmapped memory', errno: 'EFAULT', call: (c) => (c.p.ioctl(c.fd, IOCTL('DRM_IOCTL_XE_VM_CREATE'), 0x10n) < 0 ? -c.p.errno : 0) },
  { what: 'SET_CLIENT_CAP on a render node', errno: 'EACCES', call: (c) => ioctl(c, 'DRM_IOCTL_SET_CLIENT_CAP', { capability: C('DRM_CLIENT_CAP_ATOMIC'), value: 1n }) },
  { what: 'GET_CAP of an unknown capability (a display-less device)', errno: 'EOPNOTSUPP', call: (c) => ioctl(c, 'DRM_IOCTL_GET_CAP', { capability: NO_ID }) },
  { what: 'DEVICE_QUERY of an unknown query', errno: 'EINVAL', call: (c) => ioctl(c, 'DRM_IOCTL_XE_DEVICE_QUERY', { query: NO_ID }) },
  { what: 'DEVICE_QUERY with a buffer too small for the reply', errno: 'EINVAL', call: (c) => ioctl(c, 'DRM_IOCTL_XE_DEVICE_QUERY', { query: C('DRM_XE_DEVICE_QUERY_ENGINES'), size: 8, data: c.fence }) },
  { what: 'VM_CREATE with an unknown flag', errno: 'EINVAL', call: (c) => ioctl(c, 'DRM_IOCTL_XE_VM_CREATE', { flags: 0x8000_0000 }) },
  { what: 'VM_CREATE in fault mode without LR mode', errno: 'EINVAL', call: (c) => ioctl(c, 'DRM_IOCTL_XE_VM_CREATE', { flags: C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE') }) },
  { what: 'VM_DESTROY of an unknown VM', errno: 'ENOENT', call: (c) => igt.__xe_vm_destroy(c.p, c.fd, NO_ID) },
  { what: 'VM_DESTROY of an LR VM that still has an exec queue', errno: 'EBUSY', call: destroyBusyLrVm },
  { what: 'GEM_CREATE of size 0', errno: 'EINVAL', call: (c) => gemCreate(c, { size: 0 }) },
  { what: 'GEM_CREATE of a size that is not page-aligned', errno: 'EINVAL', call: (c) => gemCreate(c, { size: 0x1234 }) },
  { what: 'GEM_CREATE with no placement', errno: 'EINVAL', call: (c) => gemCreate(c, { placement: 0 }) },
  { what: 'GEM_CREATE without a CPU caching mode', errno: 'EINVAL', call: (c) => gemCreate(c, { cpu_caching: 0 }) },
  { what: 'GEM_MMAP_OFFSET of an unknown handle', errno: 'ENOENT', call: (c) => ioctl(c, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle: NO_ID }) },
  { what: 'GEM_CLOSE of an unknown handle', errno: 'EINVAL', call: (c) => igt.__gem_close(c.p, c.fd, NO_ID) },
  { what: 'VM_BIND of an unknown BO', errno: 'ENOENT', call: (c) => bind(c, { obj: NO_ID }) },
  { what: 'VM_BIND at an address that is not page-aligned', errno: 'EINVAL', call: (c) => bind(c, { addr: 0x10_0800n }) },
  { what: 'VM_BIND of a range beyond the BO', errno: 'EINVAL', call: (c) => bind(c, { range: 0x20000n }) },
  { what: 'VM_BIND on an unknown VM', errno: 'EINVAL', call: (c) => bind(c, {}, NO_ID) },
  { what: 'EXEC_QUEUE_CREATE on an unknown VM', errno: 'ENOENT', call: (c) => igt.__xe_exec_queue_create(c.p, c.fd, NO_ID, RENDER) },
  { what: 'EXEC_QUEUE_CREATE of a high-priority queue without CAP_SYS_NICE', errno: 'EPERM', call: highPriorityQueue },
  { what: 'EXEC on an unknown queue', errno: 'ENOENT', call: (c) => igt.__xe_exec(c.p, c.fd, { exec_queue_id: NO_ID, address: 0x10_0000n }) },
  { what: 'EXEC of two batches on a width-1 queue', errno: 'EINVAL', call: (c) => igt.__xe_exec(c.p, c.fd, { exec_queue_id: c.q, address: 0x10_0000n, num_batch_buffer: 2 }) },
  { what: 'EXEC_QUEUE_DESTROY of an unknown queue', errno: 'ENOENT', call: (c) => igt.__xe_exec_queue_destroy(c.p, c.fd, NO_ID) },
  { what: 'WAIT_USER_FENCE at an address that is not 8-byte aligned', errno: 'EINVAL', call: (c) => igt.__xe_wait_ufence(c.p, c.fd, c.fence + 4n, 1n, 0, 0n).err },
  { what: 'WAIT_USER_FENCE with a zero timeout on an unwritten fence', errno: 'ETIME', call: (c) => igt.__xe_wait_ufence(c.p, c.fd, c.fence, 1n, 0, 0n).err },
  { what: 'SYNCOBJ_CREATE with an unknown flag', errno: 'EINVAL', call: (c) => igt.__syncobj_create(c.p, c.fd, 0x80) },
  { what: 'SYNCOBJ_DESTROY of an unknown handle', errno: 'EINVAL', call: (c) => igt.__syncobj_destroy(c.p, c.fd, NO_ID) },
  { what: 'SYNCOBJ_WAIT on an unknown handle', errno: 'ENOENT', call: (c) => igt.__syncobj_wait(c.p, c.fd, [NO_ID], 0n) },
  { what: 'SYNCOBJ_WAIT on a syncobj that has no fence yet', errno: 'EINVAL', call: (c) => igt.__syncobj_wait(c.p, c.fd, [c.so], 0n) },
  {
    what: 'SYNCOBJ_WAIT for submission with a timeout already past', errno: 'ETIME',
    call: (c) => igt.__syncobj_wait(c.p, c.fd, [c.so], 0n, C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT')),
  },
  { what: 'PRIME_FD_TO_HANDLE of an fd that is not open', errno: 'EBADF', call: (c) => igt.__prime_fd_to_handle(c.p, c.fd, 99) },
];

/** The program. */
export function invalid(dev: Device): void {
  const p = dev.process;
  const fd = p.open();
  const vm = igt.xe_vm_create(p, fd);
  const c: Ctx = {
    p, fd, vm,
    bo: igt.xe_bo_create(p, fd, vm, 0x10000, igt.system_memory(p, fd)),
    q: igt.xe_exec_queue_create(p, fd, vm, RENDER),
    so: igt.syncobj_create(p, fd),
    fence: p.mem.alloc(8, 8),
  };
  for (const k of INVALID_CASES) expect(k.call(c), -ERRNO[k.errno], k.what);
}
