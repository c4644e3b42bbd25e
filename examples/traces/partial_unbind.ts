/**
 * Sample trace `partial_unbind`: munmap-style partial unbinds, as a UMD's sparse or
 * suballocated buffers do them. A BO of 8 pages, each page holding its number, is bound;
 * then page 0 (the front), pages 3-4 (the middle: the VMA is split, a REMAP) and page 7 (the
 * end) are unbound, the middle one together with the front in one VM_BIND of two ops. A
 * batch per remaining page copies that page's number into a result BO: every bound page
 * still maps the right BO page. Last, pages 3-4 are bound again.
 */
import { C, igt, type Device } from '../../src/index.js';
import { miCopyMemMem } from '../../src/uapi/gpu_commands.js';
import { INF, expect, writeBatch } from './sample.js';

const PAGE = 0x1000n;
const PAGES = 8;
/** The partially unbound BO. */
const VA = 0x80_0000n;
/** The BO holding the batches and the results. */
const RES = 0x1a0000n;

/** The program. */
export function partial_unbind(dev: Device): void {
  const p = dev.process;
  const fd = p.open();
  const vm = igt.xe_vm_create(p, fd);
  const sysmem = igt.system_memory(p, fd);
  const bo = igt.xe_bo_create(p, fd, vm, PAGES * Number(PAGE), sysmem);
  const cpu = igt.xe_bo_map(p, fd, bo, PAGES * Number(PAGE));
  for (let i = 0; i < PAGES; i++) p.mem.writeU32(cpu + BigInt(i) * PAGE, 0x1000 + i);
  igt.xe_vm_bind_sync(p, fd, vm, bo, 0n, VA, BigInt(PAGES) * PAGE);

  const so = igt.syncobj_create(p, fd);
  const unmap = C('DRM_XE_VM_BIND_OP_UNMAP');
  igt.xe_vm_bind_array(p, fd, vm, 0, [
    { addr: VA, range: PAGE, op: unmap },
    { addr: VA + 3n * PAGE, range: 2n * PAGE, op: unmap },
  ], [{ type: C('DRM_XE_SYNC_TYPE_SYNCOBJ'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle: so }]);
  expect(igt.syncobj_wait(p, fd, [so], INF), true, 'the two unbinds completed');
  igt.xe_vm_unbind_sync(p, fd, vm, 0n, VA + 7n * PAGE, PAGE);

  const res = igt.xe_bo_create(p, fd, vm, 0x10000, sysmem);
  const rcpu = igt.xe_bo_map(p, fd, res, 0x10000);
  igt.xe_vm_bind_sync(p, fd, vm, res, 0n, RES, 0x10000n);
  const q = igt.xe_exec_queue_create_class(p, fd, vm, C('DRM_XE_ENGINE_CLASS_RENDER'));
  for (const i of [1, 2, 5, 6]) {
    writeBatch(p, rcpu + BigInt(i) * PAGE, miCopyMemMem(Number(RES) + 0x8000 + 4 * i, Number(VA + BigInt(i) * PAGE)));
    igt.xe_exec_wait(p, fd, q, RES + BigInt(i) * PAGE);
    expect(p.mem.readU32(rcpu + 0x8000n + BigInt(4 * i)), 0x1000 + i, `page ${i} after the unbinds`);
  }
  // Fill the middle hole again from the same BO pages.
  igt.xe_vm_bind_sync(p, fd, vm, bo, 3n * PAGE, VA + 3n * PAGE, 2n * PAGE);
  writeBatch(p, rcpu, miCopyMemMem(Number(RES) + 0x8040, Number(VA + 4n * PAGE)));
  igt.xe_exec_wait(p, fd, q, RES);
  expect(p.mem.readU32(rcpu + 0x8040n), 0x1004, 'page 4 bound again');

  igt.xe_exec_queue_destroy(p, fd, q);
  igt.syncobj_destroy(p, fd, so);
  p.munmap(rcpu, 0x10000);
  p.munmap(cpu, PAGES * Number(PAGE));
  igt.gem_close(p, fd, res);
  igt.gem_close(p, fd, bo);
  igt.xe_vm_destroy(p, fd, vm);
  p.close(fd);
}
