/**
 * Programs that share memory with the GPU the three ways a trace records CPU accesses of
 * (test/trace_cpu.test.ts records them, the replay tests replay them): a mapped BO, a
 * userptr, and malloc'd memory under a CPU-address mirror. Each returns what it wrote and
 * read, and what it saw of the PTE_TRACED marks, for the tests to check against the trace.
 */
import { CpuPageTable } from '../../src/hw/cpu_mmu.js';
import { PAGE_SIZE } from '../../src/hw/memory.js';
import { C, type Process } from '../../src/index.js';
import { Batch, miBatchBufferEnd, miCopyMemMem, miStoreDwordImm } from '../../src/uapi/gpu_commands.js';
import {
  xe_bo_create, xe_bo_map, xe_exec_queue_create_class, xe_exec_sync, xe_exec_wait, xe_va_bits, xe_vm_bind_async_flags, xe_vm_bind_sync,
  xe_vm_bind_userptr_sync, xe_vm_create, xe_wait_ufence,
} from '../../src/userspace/igt.js';

const P = BigInt(PAGE_SIZE);
const RENDER = C('DRM_XE_ENGINE_CLASS_RENDER');
const INF = (1n << 63n) - 1n;
/** GPU VA of the BO flow's BO. */
export const BO_VA = 0x1a0000n;
/** GPU VA of the userptr flow's userptr. */
export const USERPTR_VA = 0x40_0000n;

/** VM_CREATE flags of a fault-mode VM. */
export const FAULT_VM = C('DRM_XE_VM_CREATE_FLAG_LR_MODE') | C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE');

/** A user-fence out-sync writing `value` at `addr`. */
export const ufence = (addr: bigint, value: bigint) => ({ type: C('DRM_XE_SYNC_TYPE_USER_FENCE'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), addr, timeline_value: value });

/** `cmds` then MI_BATCH_BUFFER_END. */
export function batch(...cmds: number[][]): Uint8Array {
  const b = new Batch();
  for (const c of cmds) b.emit(c);
  b.emit(miBatchBufferEnd());
  return b.bytes();
}

/** The page table of process `p`, as the kernel sees it (through a new thread's handle). */
export function pageTable(p: Process): CpuPageTable {
  return new CpuPageTable(p.threadHandle().ptSab);
}

/** The BO flow: a batch stored into a mapped BO stores a dword there, which is read back. */
export function boFlow(p: Process) {
  const fd = p.open();
  const vm = xe_vm_create(p, fd);
  const bo = xe_bo_create(p, fd, vm, 0x10000, 1);
  const cpu = xe_bo_map(p, fd, bo, 0x10000);
  xe_vm_bind_sync(p, fd, vm, bo, 0n, BO_VA, 0x10000n);
  const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
  const stored = batch(miStoreDwordImm(Number(BO_VA) + 0x100, 0xc0ffee));
  p.mem.write(cpu, stored);
  xe_exec_wait(p, fd, q, BO_VA);
  const read = p.mem.readU32(cpu + 0x100n);
  const pt = pageTable(p);
  const heap = p.mem.alloc(16);
  p.mem.writeU32(heap, 7);
  return { cpu, stored, read, boMarked: pt.isTraced(cpu) && pt.isTraced(cpu + 0xf000n), heapMarked: pt.isTraced(heap) };
}

/**
 * The userptr flow: a batch written into anonymous memory before the pin, run through the
 * userptr, then a second batch written after it; each stores a dword in the second page.
 */
export function userptrFlow(p: Process) {
  const fd = p.open();
  const vm = xe_vm_create(p, fd);
  const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
  const user = p.mmapAnon(2 * PAGE_SIZE);
  const first = batch(miStoreDwordImm(Number(USERPTR_VA + P) + 0x24, 0x5eed));
  const second = batch(miStoreDwordImm(Number(USERPTR_VA + P) + 0x28, 0xbeef));
  p.mem.write(user, first);
  const markedBefore = pageTable(p).isTraced(user);
  xe_vm_bind_userptr_sync(p, fd, vm, user, USERPTR_VA, 2n * P);
  const markedAfter = pageTable(p).isTraced(user) && pageTable(p).isTraced(user + P);
  xe_exec_wait(p, fd, q, USERPTR_VA);
  const reads = [p.mem.readU32(user + P + 0x24n)];
  p.mem.write(user, second);
  xe_exec_wait(p, fd, q, USERPTR_VA);
  reads.push(p.mem.readU32(user + P + 0x28n));
  return { user, first, second, reads, markedBefore, markedAfter };
}

/**
 * The mirror flow on a fault-mode VM mirroring the process: a GPU read of an anonymous page
 * through the inspection API (a fault in a call), then a batch in malloc'd memory copying a
 * dword the CPU wrote there (faults while the batch runs), waited for with a user fence.
 */
export function mirrorFlow(p: Process) {
  const fd = p.open();
  const vm = xe_vm_create(p, fd, FAULT_VM);
  const uf = p.mem.alloc(8, 8);
  xe_vm_bind_async_flags(p, fd, vm, 0, 0, 0n, 0n, 1n << BigInt(xe_va_bits(p, fd)), [ufence(uf, 1n)], C('DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR'));
  xe_wait_ufence(p, fd, uf, 1n, 0, INF);
  const page = p.mmapAnon(PAGE_SIZE);
  p.mem.writeU32(page + 0x10n, 0xfeed);
  const gpuRead = [...p.gpuRead(fd, vm, page + 0x10n, 4)!.data];
  const heap = p.mem.alloc(0x2000, 0x1000);
  p.mem.writeU32(heap + 0x1000n, 0x1234);
  p.mem.write(heap, batch(miCopyMemMem(Number(heap) + 0x1100, Number(heap) + 0x1000)));
  const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
  xe_exec_sync(p, fd, q, heap, [ufence(heap + 0x1800n, 1n)]);
  xe_wait_ufence(p, fd, heap + 0x1800n, 1n, q, INF);
  return { uf, page, heap, gpuRead, copied: p.mem.readU32(heap + 0x1100n) };
}
