// VM_BIND syncs and ordering (sync_exec.md 2-3, 9; vm_bind.md 4.1-4.4, case 56): in-fences
// hold the page-table writes and the out-fence back, user fences are written when the bind
// completes, binds on one queue run in order and page-table jobs of one VM in submission
// order, a VM closed with a bind pending cancels it; and the IGT helpers through the worker.
import t from 'tap';
import { createDevice, DEBUG } from '../src/index.js';
import { EBUSY, ECANCELED } from '../src/uapi/errno.js';
import { pack } from '../src/uapi/codec.js';
import { C } from '../src/uapi/uapi.js';
import { ChainNode } from '../src/kernel/drm/dma_fence.js';
import type { Vm } from '../src/kernel/xe/xe_vm.js';
import {
  xe_vm_bind_sync, xe_vm_unbind_sync, xe_vm_bind_userptr_async, __xe_vm_bind, xe_bo_create, xe_vm_create, xe_wait_ufence,
  xe_bind_exec_queue_create,
} from '../src/userspace/xe_ioctl.js';
import { BindEnv, OP, SYNC } from './helpers/bind.js';

const K64 = 0x10000n;
const e = new BindEnv();

function mapped(vm: Vm, va: number): boolean {
  vm.pt!.mmu.invalidateAll();
  return !('fault' in vm.pt!.mmu.translate(va));
}

/** A syncobj holding a pending test fence: [handle, fence id]. */
function held(): [number, bigint] {
  const h = e.syncobj();
  return [h, e.attachFence(h)];
}

const inSync = (handle: number) => ({ type: SYNC.SYNCOBJ, handle });
const outSync = (handle: number) => ({ type: SYNC.SYNCOBJ, flags: SYNC.SIGNAL, handle });
const ufence = (addr: bigint, value: bigint) => ({ type: SYNC.UFENCE, flags: SYNC.SIGNAL, addr, timeline_value: value });

t.test('an in-fence holds back the page-table writes and the out-fence', async (t) => {
  const vm = e.vmCreate();
  const v = e.vm(vm);
  const a = e.bo(0x10000);
  const [inH, fid] = held();
  const out = e.syncobj();
  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }], { num_syncs: 2, syncs: e.syncs([inSync(inH), outSync(out)]) }), 0);
  t.equal(v.gpuvm.size, 1, 'the VMA tree changed at once');
  t.notOk(mapped(v, 0x100000), 'no PTE yet');
  const f = e.file.syncobjs.get(out)!.fence!;
  t.notOk(f.signaled, 'the out-fence is pending');
  e.signalFence(fid);
  t.ok(mapped(v, 0x100000), 'the PTEs are written once the in-fence signalled');
  t.ok(f.signaled, 'and the out-fence signalled');
  t.equal(f.error, 0);
});

t.test('user fence: written when the bind completes; case 56 check_ufence', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  const addr = e.alloc(8);
  const [inH, fid] = held();
  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }], { num_syncs: 2, syncs: e.syncs([inSync(inH), ufence(addr, 0xdeadn)]) }), 0);
  t.equal(e.read64(addr), 0n, 'not written while the bind waits');
  const before = e.snapshot(vm);
  t.equal(e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), -EBUSY, 'case 56: UNMAP before the user fence -> EBUSY');
  t.equal(e.bind(vm, [{ op: OP.UNMAP, addr: 0x104000n, range: 0x1000n }]), -EBUSY, 'a REMAP of it too');
  t.equal(e.snapshot(vm), before, 'unchanged');
  e.signalFence(fid);
  t.equal(e.read64(addr), 0xdeadn, 'written with its value');
  t.equal(e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 0, 'case 56: the same UNMAP now succeeds');
  t.same(e.vmas(vm), []);

  const addr2 = e.alloc(8);
  t.equal(e.bind(vm, [{ op: OP.UNMAP, addr: 0x500000n, range: 0x1000n }], { num_syncs: 1, syncs: e.syncs([ufence(addr2, 7n)]) }), 0, 'an empty op list with a user fence');
  t.equal(e.read64(addr2), 7n, 'written (the queue was idle)');
});

t.test('binds on one queue run in order; page-table jobs of one VM in submission order', async (t) => {
  const vm = e.vmCreate();
  const v = e.vm(vm);
  const a = e.bo(0x10000);
  const [inH, fid] = held();
  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }], { num_syncs: 1, syncs: e.syncs([inSync(inH)]) }), 0);
  const out = e.syncobj();
  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x200000n, range: K64 }], { num_syncs: 1, syncs: e.syncs([outSync(out)]) }), 0);
  const q = v.defaultBindQueue!;
  t.equal(q.lastFence.peek(), e.file.syncobjs.get(out)!.fence, 'the second bind is the queue last fence');
  t.notOk(mapped(v, 0x200000), 'the second bind waits for the first');

  const inst = e.alloc(8);
  e.proc.um.copyToUser(inst, pack('drm_xe_engine_class_instance', { engine_class: C('DRM_XE_ENGINE_CLASS_VM_BIND') }));
  const bq = Number(e.call('DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: vm, instances: inst }).out.exec_queue_id);
  const out2 = e.syncobj();
  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x300000n, range: K64 }], { exec_queue_id: bq, num_syncs: 1, syncs: e.syncs([outSync(out2)]) }), 0);
  t.notOk(mapped(v, 0x300000), 'a job on another bind queue of the VM waits for the VM\'s earlier page-table jobs');
  e.signalFence(fid);
  t.ok(mapped(v, 0x100000) && mapped(v, 0x200000) && mapped(v, 0x300000), 'all ran');
  t.ok(e.file.syncobjs.get(out)!.fence!.signaled && e.file.syncobjs.get(out2)!.fence!.signaled);
});

t.test('a timeline out-sync gets the bind fence at its point', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  const tl = e.syncobj();
  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }], { num_syncs: 1, syncs: e.syncs([{ type: SYNC.TIMELINE, flags: SYNC.SIGNAL, handle: tl, timeline_value: 5n }]) }), 0);
  const head = e.file.syncobjs.get(tl)!.fence;
  t.ok(head instanceof ChainNode && head.point === 5n && head.signaled, 'point 5, signalled');
});

t.test('closing a VM cancels its pending bind', async (t) => {
  const env = new BindEnv();
  env.alloc(8);
  const baseline = env.dev.sysmem.usedPages;
  const vm = env.vmCreate();
  const a = env.bo(0x10000);
  const h = env.syncobj();
  const fid = env.attachFence(h);
  const out = env.syncobj();
  const addr = env.alloc(8);
  const uf = { type: SYNC.UFENCE, flags: SYNC.SIGNAL, addr, timeline_value: 3n };
  t.equal(env.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }], { num_syncs: 3, syncs: env.syncs([{ type: SYNC.SYNCOBJ, handle: h }, { type: SYNC.SYNCOBJ, flags: SYNC.SIGNAL, handle: out }, uf]) }), 0);
  t.equal(env.call('DRM_IOCTL_XE_VM_DESTROY', { vm_id: vm }).rc, 0);
  const f = env.file.syncobjs.get(out)!.fence!;
  t.ok(f.signaled, 'the bind fence signalled');
  t.equal(f.error, -ECANCELED, 'with -ECANCELED');
  t.equal(env.read64(addr), 3n, 'the user fence is written anyway');
  env.gemClose(a);
  t.equal(env.dev.sysmem.usedPages, baseline, 'nothing leaks');
  env.signalFence(fid);
});

t.test('IGT helpers through the worker', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p = dev.process;
  const fd = p.open();
  const cpu = p.mem.alloc(0x2000, 0x1000);
  const fenceAddr = p.mem.alloc(8, 8);
  const [sys0] = p.debug(DEBUG.MEM_USAGE);
  const vm = xe_vm_create(p, fd);
  const bo = xe_bo_create(p, fd, 0, 0x10000, 1);
  xe_vm_bind_sync(p, fd, vm, bo, 0n, 0x100000n, K64);
  t.equal(__xe_vm_bind(p, fd, vm, 0, bo, 0n, 0x100000n, K64, 9, 0), -22, '__xe_vm_bind returns -errno');
  const bq = xe_bind_exec_queue_create(p, fd, vm);
  xe_vm_bind_userptr_async(p, fd, vm, bq, cpu, 0x200000n, 0x2000n, [{ type: SYNC.UFENCE, flags: SYNC.SIGNAL, addr: fenceAddr, timeline_value: 9n }]);
  xe_wait_ufence(p, fd, fenceAddr, 9n, 0, 1_000_000_000n);
  xe_vm_unbind_sync(p, fd, vm, 0n, 0x100000n, K64);
  xe_vm_unbind_sync(p, fd, vm, 0n, 0x200000n, 0x2000n);
  p.close(fd);
  const [sys1] = p.debug(DEBUG.MEM_USAGE);
  t.equal(sys1, sys0, 'memory back to where it was after close');
  p.mem.free(cpu);
  p.mem.free(fenceAddr);
});
