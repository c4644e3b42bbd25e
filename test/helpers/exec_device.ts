/**
 * A worker device ready for EXEC through the IGT helpers: a VM with a system-memory BO bound
 * at VA and mapped for the CPU.
 */
import type { Test } from 'tap';
import { createDevice, type Process } from '../../src/index.js';
import { xe_bo_create, xe_bo_map, xe_vm_bind_sync, xe_vm_create } from '../../src/userspace/igt.js';

/** GPU address and size of the BO. */
export const VA = 0x1a0000n;
export const SIZE = 0x10000;

/** A device closed at the end of `t`, its process, a DRM fd, the VM and the BO's CPU mapping. */
export async function execDevice(t: Test): Promise<{ p: Process; fd: number; vm: number; cpu: bigint }> {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p = dev.process;
  const fd = p.open();
  const vm = xe_vm_create(p, fd);
  const bo = xe_bo_create(p, fd, vm, SIZE, 1);
  const cpu = xe_bo_map(p, fd, bo, SIZE);
  xe_vm_bind_sync(p, fd, vm, bo, 0n, VA, BigInt(SIZE));
  return { p, fd, vm, cpu };
}
