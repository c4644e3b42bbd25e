/**
 * Sample trace `null_sparse`: a NULL (sparse) binding, as Vulkan sparse resources use it.
 * 2 MiB of VA are bound with DRM_XE_VM_BIND_FLAG_NULL and no BO; a batch stores into that
 * range and copies two dwords from it into a real BO: reads give zero, the store is dropped,
 * and nothing faults (the queue is not banned).
 */
import { C, igt, type Device } from '../../src/index.js';
import { miCopyMemMem, miStoreDwordImm } from '../../src/uapi/gpu_commands.js';
import { INF, closeVmWithBo, expect, openVmWithBo, writeBatch } from './sample.js';

/** The BO holding the batch and the results. */
const RES = 0x1a0000n;
/** The NULL binding. */
const SPARSE = 0x1_0000_0000n;
const SPARSE_SIZE = 0x20_0000n;

/** The program. */
export function null_sparse(dev: Device): void {
  const p = dev.process;
  const res = openVmWithBo(p, RES);
  const { fd, vm, cpu } = res;
  const q = igt.xe_exec_queue_create_class(p, fd, vm, C('DRM_XE_ENGINE_CLASS_RENDER'));

  const so = igt.syncobj_create(p, fd);
  const signal = { type: C('DRM_XE_SYNC_TYPE_SYNCOBJ'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle: so };
  igt.xe_vm_bind_async_flags(p, fd, vm, 0, 0, 0n, SPARSE, SPARSE_SIZE, [signal], C('DRM_XE_VM_BIND_FLAG_NULL'));
  expect(igt.syncobj_wait(p, fd, [so], INF), true, 'the NULL bind completed');

  p.mem.writeU32(cpu + 0x8000n, 0xdead_beef);
  p.mem.writeU32(cpu + 0x8004n, 0xdead_beef);
  writeBatch(p, cpu,
    miStoreDwordImm(Number(SPARSE) + 0x48d0, 0x77),
    miCopyMemMem(Number(RES) + 0x8000, Number(SPARSE) + 0x48d0),
    miCopyMemMem(Number(RES) + 0x8004, Number(SPARSE + SPARSE_SIZE) - 0x1000));
  igt.xe_exec_wait(p, fd, q, RES);
  expect(p.mem.readU32(cpu + 0x8000n), 0, 'a read of the stored-to NULL page');
  expect(p.mem.readU32(cpu + 0x8004n), 0, 'a read of the last NULL page');
  const ban = igt.ioctlOk(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', { exec_queue_id: q, property: C('DRM_XE_EXEC_QUEUE_GET_PROPERTY_BAN') });
  expect(ban.value, 0n, 'the queue is not banned');

  igt.xe_vm_unbind_sync(p, fd, vm, 0n, SPARSE, SPARSE_SIZE);
  igt.syncobj_destroy(p, fd, so);
  igt.xe_exec_queue_destroy(p, fd, q);
  closeVmWithBo(p, res);
}
