/**
 * Sample trace `userptr`: GPU access to plain process memory. Anonymous memory is bound with
 * MAP_USERPTR (the kernel pins its pages); the CPU writes a batch and a source dword into it,
 * the batch copies the dword and stores a constant next to it, and the CPU reads both back.
 * Then the binding is removed and the memory unmapped. IGT-style helpers throughout.
 */
import { C, igt, type Device } from '../../src/index.js';
import { miCopyMemMem, miStoreDwordImm } from '../../src/uapi/gpu_commands.js';
import { expect, writeBatch } from './sample.js';

const PAGE = 0x1000n;
/** GPU VA of the userptr binding. */
const VA = 0x40_0000n;

/** The program. */
export function userptr(dev: Device): void {
  const p = dev.process;
  const fd = p.open();
  const vm = igt.xe_vm_create(p, fd);
  const q = igt.xe_exec_queue_create_class(p, fd, vm, C('DRM_XE_ENGINE_CLASS_RENDER'));
  // Two pages: the batch in the first, data in the second.
  const mem = p.mmapAnon(2 * Number(PAGE));
  igt.xe_vm_bind_userptr_sync(p, fd, vm, mem, VA, 2n * PAGE);
  p.mem.writeU32(mem + PAGE, 0x1234_5678);
  writeBatch(p, mem,
    miCopyMemMem(Number(VA + PAGE) + 0x10, Number(VA + PAGE)),
    miStoreDwordImm(Number(VA + PAGE) + 0x14, 0x5eed));
  igt.xe_exec_wait(p, fd, q, VA);
  expect(p.mem.readU32(mem + PAGE + 0x10n), 0x1234_5678, 'the dword the GPU copied');
  expect(p.mem.readU32(mem + PAGE + 0x14n), 0x5eed, 'the dword the GPU stored');
  igt.xe_vm_unbind_sync(p, fd, vm, 0n, VA, 2n * PAGE);
  p.munmap(mem, 2 * Number(PAGE));
  igt.xe_exec_queue_destroy(p, fd, q);
  igt.xe_vm_destroy(p, fd, vm);
  p.close(fd);
}
