/**
 * EXEC's steps beyond the argument checks (sync_exec.md 4.1 steps 10-16; xe_exec.c): userptr
 * revalidation on non-fault VMs (a CPU munmap / remap under a userptr binding is pinned again
 * and rebound before the job runs; pages gone leave it invalidated, so the batch faults), the
 * LR ring-full -EAGAIN (EWOULDBLOCK), and a wedged device.
 */
import t from 'tap';
import { DEBUG, MAP_FIXED, SYS } from '../src/uapi/channel.js';
import { Batch, miBatchBufferEnd, miStoreDwordImm } from '../src/uapi/gpu_commands.js';
import { EAGAIN, ECANCELED, EIO } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { xe_spin_init } from '../src/userspace/xe_spin.js';
import type { XeVma } from '../src/kernel/xe/xe_vma.js';
import { BO_VA, ExecRig, OFF, inSync, out, ufence } from './helpers/exec_rig.js';

const UVA = 0x40_0000n;
const USIZE = 0x2000n;

function store(va: bigint, value: number): Batch {
  const b = new Batch();
  b.emit(miStoreDwordImm(Number(va), value));
  b.emit(miBatchBufferEnd());
  return b;
}

/** A rig with a userptr binding of `USIZE` bytes of fresh CPU memory at UVA; the CPU address. */
function userptrRig(): { x: ExecRig; mem: bigint } {
  const x = new ExecRig();
  const mem = x.r.mmap(USIZE);
  x.bind(0, UVA, USIZE, [], mem);
  x.settle();
  return { x, mem };
}

const u32At = (x: ExecRig, addr: bigint): number => new DataView(x.r.proc.as.read(addr, 4).slice().buffer).getUint32(0, true);
const vmaAt = (x: ExecRig, va: bigint): XeVma => x.vm.gpuvm.findFirst(va, 1n)!;
const invalidated = (x: ExecRig): number => vmaAt(x, UVA).priv?.tileInvalidated ?? 0;

t.test('userptr remapped by the CPU: the next EXEC pins the new pages and rebinds before the job', (t) => {
  const { x, mem } = userptrRig();
  t.teardown(() => x.dispose());
  const s0 = x.syncobj();
  t.equal(x.exec({ address: x.batch(store(UVA, 0x11)), syncs: [out(s0)] }), 0);
  x.settle();
  t.equal(u32At(x, mem), 0x11, 'the GPU wrote the first mapping');
  const oldPages = vmaAt(x, UVA).priv!.userptrPages!;

  // MAP_FIXED over the range: new zeroed pages at the same CPU address.
  t.equal(x.r.mmap(USIZE, -1, 0n, mem, MAP_FIXED), mem);
  t.equal(invalidated(x), 1, 'the notifier zapped the PTEs');
  t.equal(vmaAt(x, UVA).priv!.userptrPages, null, 'and dropped the pages');
  t.same(x.r.proc.as.read(mem, 4), new Uint8Array(4), 'the new mapping reads 0');

  t.equal(x.exec({ num_batch_buffer: 0, address: 0n }), 0, 'a passthrough EXEC (step 10 pins, no rebind)');
  const pinned = vmaAt(x, UVA).priv!.userptrPages!;
  t.ok(pinned && pinned[0] !== oldPages[0], 'pinned again: the new pages');
  t.equal(invalidated(x), 1, 'the passthrough returns before the rebind of step 13');

  const s1 = x.syncobj();
  t.equal(x.exec({ address: x.batch(store(UVA + 4n, 0x22), OFF.BATCH2), syncs: [out(s1)] }), 0);
  t.equal(invalidated(x), 0, 'rebound by the EXEC');
  x.settle();
  t.equal(x.fenceError(s1), 0, 'the job ran without a fault');
  t.equal(u32At(x, mem + 4n), 0x22, 'the GPU wrote the new CPU pages');
  t.equal(u32At(x, mem), 0, 'nothing of the old pages shows through');
  t.same(x.vm.faults, []);
  t.end();
});

t.test('userptr whose CPU pages are gone: EXEC still succeeds, the VMA stays invalidated and the batch faults', (t) => {
  const { x, mem } = userptrRig();
  t.teardown(() => x.dispose());
  x.r.munmap(mem, USIZE);
  t.equal(invalidated(x), 1);
  const s = x.syncobj();
  t.equal(x.exec({ address: x.batch(store(UVA + 8n, 1)), syncs: [out(s), ufence(BO_VA + BigInt(OFF.UFENCE), 1n)] }), 0, 'EXEC 0 (xe_vm_userptr_pin drops an -EFAULT VMA)');
  t.equal(invalidated(x), 1, 'still invalidated: nothing to bind');
  x.settle();
  t.equal(x.fenceError(s), -EIO, 'the store hit the zapped PTE: engine reset');
  t.match(x.vm.faults, [{ address: UVA, accessType: 1, faultType: 0, faultLevel: 0 }], 'a not-present fault at the PTE level');
  t.equal(x.ban(), 1n);

  // Memory mapped there again later: a new queue's EXEC does not retry a dropped VMA.
  t.equal(x.r.mmap(USIZE, -1, 0n, mem, MAP_FIXED), mem);
  const q2 = x.queue(C('DRM_XE_ENGINE_CLASS_RENDER'));
  t.equal(x.exec({ exec_queue_id: q2, address: x.batch(store(UVA + 8n, 2), OFF.BATCH2), syncs: [out(s)] }), 0);
  t.equal(invalidated(x), 1, 'the mmap had nothing to invalidate; the VMA stays unbound until re-bound');
  t.end();
});

t.test('LR VM: the ring holds 55 unfinished jobs (16K / MAX_JOB_SIZE_BYTES 296); the next EXEC is -EAGAIN', (t) => {
  const x = new ExecRig({ vmFlags: C('DRM_XE_VM_CREATE_FLAG_LR_MODE') });
  t.teardown(() => x.dispose());
  const { handle, release } = x.hold();
  const b = x.batch(store(BO_VA + BigInt(OFF.DATA), 5));
  t.equal(x.exec({ address: b, syncs: [inSync(handle)] }), 0, 'the first job waits for a held in-sync');
  for (let i = 1; i < 55; i++) t.equal(x.exec({ address: b }), 0, `job ${i + 1} behind it`);
  t.equal(x.sched.jobsOf(x.r.file(x.fd).execQueues.get(x.q)!).length, 55);
  t.equal(x.exec({ address: b }), EAGAIN, 'job 56: the ring is full');
  t.equal(x.exec({ address: b, num_batch_buffer: 0 }), 0, 'the LR passthrough does nothing and is not refused');
  const q2 = x.queue(C('DRM_XE_ENGINE_CLASS_RENDER'));
  t.equal(x.exec({ exec_queue_id: q2, address: b }), 0, 'another queue has its own ring');
  release();
  x.settle();
  t.equal(x.sched.jobsOf(x.r.file(x.fd).execQueues.get(x.q)!).length, 0, 'all ran');
  t.equal(x.exec({ address: b }), 0, 'room again');
  t.end();
});

t.test('a non-LR queue has no ring limit at EXEC (the scheduler holds its jobs)', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const { handle, release } = x.hold();
  const b = x.batch(store(BO_VA + BigInt(OFF.DATA), 5));
  t.equal(x.exec({ address: b, syncs: [inSync(handle)] }), 0);
  let ok = 0;
  for (let i = 0; i < 80; i++) if (x.exec({ address: b }) === 0) ok++;
  t.equal(ok, 80, '80 more jobs accepted');
  release();
  x.settle();
  t.end();
});

t.test('a wedged device: EXEC -ECANCELED, running work cancelled; the queue stays unusable', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  x.r.proc.as.write(x.cpu + 0x2000n, xe_spin_init({ addr: BO_VA + 0x2000n }));
  const s = x.syncobj();
  t.equal(x.exec({ address: BO_VA + 0x2000n, syncs: [out(s)] }), 0);
  x.settle();
  x.r.sys(SYS.DEBUG, [BigInt(DEBUG.WEDGE), 1n]);
  t.equal(x.exec({ address: BO_VA + 0x2000n }), ECANCELED, 'EXEC on a wedged device (xe_drm_ioctl)');
  x.settle();
  t.equal(x.fenceOf(s)!.error, -ECANCELED, 'the spinner was cancelled (reset_status includes wedged)');
  x.r.sys(SYS.DEBUG, [BigInt(DEBUG.WEDGE), 0n]);
  t.equal(x.ban(), 1n, 'its queue was banned');
  t.equal(x.exec({ address: BO_VA + 0x2000n }), ECANCELED, 'and refuses EXEC after the wedge is cleared');
  t.end();
});
