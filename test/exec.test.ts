/**
 * DRM_IOCTL_XE_EXEC through an in-process machine: batches that store through the VM and are
 * read back through CPU mappings, the checks of sync_exec.md 4.1 in order with no state
 * change, out-syncs, user fences, ordering with VM_BIND, passthrough, parallel queues.
 */
import t from 'tap';
import { isFault } from '../src/hw/mmu.js';
import { Batch, miBatchBufferEnd, miFlushDw, miStoreQwordImm } from '../src/uapi/gpu_commands.js';
import { EFAULT, EINVAL, ENOENT, EOPNOTSUPP } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { BO_SIZE, BO_VA, ExecRig, inSync, OFF, out, tlIn, tlOut, ufence, storeBatch } from './helpers/exec_rig.js';

const DATA = BO_VA + BigInt(OFF.DATA);

t.test('a store-dword batch writes the BO, read back through its CPU mapping; the out-syncobj signals', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const so = x.syncobj();
  const addr = x.batch(storeBatch(DATA, 0xdeadbeef));
  t.equal(x.exec({ address: addr, syncs: [out(so)] }), 0);
  x.settle();
  t.equal(x.u32(OFF.DATA), 0xdeadbeef, 'the GPU wrote the BO');
  t.equal(x.pollSyncobj(so), 0, 'the job fence signalled');
  t.equal(x.fenceError(so), 0, 'without an error');
  t.equal(x.ban(), 0n, 'the queue is not banned');
  const trace = x.sched.engines.find((e) => e.desc.name === 'rcs0')!.cs.trace();
  t.same(trace.map((e) => e.decoded.name), ['MI_STORE_DATA_IMM', 'MI_BATCH_BUFFER_END'], 'ran on rcs0, traced');
  t.end();
});

t.test('a store through a userptr binding lands in the CPU memory', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const mem = x.r.mmap(0x2000n);
  x.bind(0, 0x40_0000n, 0x2000n, [], mem);
  x.settle();
  t.equal(x.exec({ address: x.batch(storeBatch(0x40_1004n, 0x1234_5678)) }), 0);
  x.settle();
  const v = new DataView(x.r.proc.as.read(mem + 0x1004n, 4).slice().buffer).getUint32(0, true);
  t.equal(v, 0x1234_5678, 'the userptr page holds the value');
  t.end();
});

t.test('checks of 4.1 in order, each with no state change', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const so = x.syncobj();
  const empty = x.syncobj();
  const addr = x.batch(storeBatch(DATA, 7));
  const bq = x.queue(C('DRM_XE_ENGINE_CLASS_VM_BIND'));
  const cases: Array<[string, number, Parameters<ExecRig['exec']>[0]]> = [
    ['extensions', EINVAL, { address: addr, extensions: 1n, exec_queue_id: 999 }],
    ['pad[2]', EINVAL, { address: addr, pad: [0, 0, 1], exec_queue_id: 999 }],
    ['reserved[1]', EINVAL, { address: addr, reserved: [0n, 1n] }],
    ['num_syncs 1025', EINVAL, { address: addr, num_syncs: 1025, syncs: 0n, exec_queue_id: 999 }],
    ['unknown queue', ENOENT, { address: addr, exec_queue_id: 999 }],
    ['a VM_BIND queue', EINVAL, { address: addr, exec_queue_id: bq, num_batch_buffer: 2 }],
    ['num_batch_buffer 2 on width 1', EINVAL, { address: addr, num_batch_buffer: 2, syncs: [{ type: 3, flags: 0 }] }],
    ['sync flags 2 (case 31)', EINVAL, { address: addr, syncs: [out(so), { type: 0, flags: 2, handle: so }] }],
    ['sync type 3 (case 32)', EINVAL, { address: addr, syncs: [{ type: 3, flags: 0 }] }],
    ['in-sync without a fence (case 33)', EINVAL, { address: addr, syncs: [inSync(empty)] }],
    ['syncobj 999 (case 34)', ENOENT, { address: addr, syncs: [out(999)] }],
    ['timeline value 0 (case 35)', EINVAL, { address: addr, syncs: [tlOut(so, 0n)] }],
    ['user fence without SIGNAL (case 36)', EOPNOTSUPP, { address: addr, syncs: [{ type: 2, flags: 0, addr: 0x1000n }] }],
    ['user fence at 0x1004 (case 36)', EINVAL, { address: addr, syncs: [ufence(0x1004n, 1n)] }],
    ['handle upper half set (case 38)', EINVAL, { address: addr, syncs: [{ type: 0, flags: 1, addr: 0x1_0000_0005n }] }],
    ['sync reserved[1] (case 39)', EINVAL, { address: addr, syncs: [{ type: 0, flags: 1, handle: so, reserved: [0n, 1n] }] }],
  ];
  const before = x.fenceOf(so);
  for (const [name, errno, fields] of cases) {
    t.equal(x.exec(fields), errno, name);
    x.settle();
    t.equal(x.u32(OFF.DATA), 0, `${name}: no job ran`);
    t.equal(x.fenceOf(so), before, `${name}: the out-syncobj is untouched (case 40)`);
  }
  t.equal(x.sched.jobsOf(x.r.file().execQueues.get(x.q)!).length, 0, 'no job is queued');
  t.equal(x.exec({ address: addr, syncs: [{ type: 0, flags: 1, handle: so, extensions: 0xdeadn }] }), 0, 'sync extensions are ignored (case 39)');
  x.settle();
  t.equal(x.u32(OFF.DATA), 7);
  t.end();
});

t.test('a parallel queue: batch addresses copied from the user pointer (-EFAULT), all slots before the fence', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const pq = x.queue(C('DRM_XE_ENGINE_CLASS_VIDEO_DECODE'), 2, 1);
  const so = x.syncobj();
  const a0 = x.batch(storeBatch(DATA, 0xa0), OFF.BATCH);
  const b = new Batch();
  b.emit(miFlushDw(Number(DATA) + 8, { imm: 0xb1 }));
  b.emit(miBatchBufferEnd());
  const a1 = x.batch(b, OFF.BATCH2);
  t.equal(x.exec({ exec_queue_id: pq, num_batch_buffer: 1, address: a0 }), EINVAL, 'num_batch_buffer 1 on width 2');
  t.equal(x.exec({ exec_queue_id: pq, num_batch_buffer: 2, address: 0x10n, syncs: [out(so)] }), EFAULT, 'unreadable address array');
  t.equal(x.fenceOf(so), null, 'nothing signalled');
  t.equal(x.exec({ exec_queue_id: pq, num_batch_buffer: 2, address: x.u64Array([a0, a1]), syncs: [out(so)] }), 0);
  x.settle();
  t.equal(x.u32(OFF.DATA), 0xa0, 'slot 0 ran');
  t.equal(x.u32(OFF.DATA + 8), 0xb1, 'slot 1 ran');
  t.equal(x.pollSyncobj(so), 0, 'the job fence signalled');
  const names = x.sched.engines.filter((e) => e.cs.trace().length).map((e) => e.desc.name);
  t.same(names, ['vcs0', 'vcs2'], 'the slots ran on adjacent engines');
  t.end();
});

t.test('user fence: written at its GPU address after the batch, waking WAIT_USER_FENCE', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const uf = BO_VA + BigInt(OFF.UFENCE);
  const cpuUf = x.cpu + BigInt(OFF.UFENCE);
  // An in-fence held by the test keeps the job from running.
  const { handle: hold, release } = x.hold();
  t.equal(x.exec({ address: x.batch(storeBatch(DATA, 5)), syncs: [inSync(hold), ufence(uf, 0x77n), ufence(uf, 0x99n)] }), 0);
  x.settle();
  t.equal(x.u64(OFF.UFENCE), 0n, 'not written while the job waits');
  t.equal(x.waitUfence(cpuUf, 0x99n), 62, 'WAIT_USER_FENCE polls -ETIME before');
  release();
  x.settle();
  t.equal(x.u32(OFF.DATA), 5);
  t.equal(x.u64(OFF.UFENCE), 0x99n, 'the last user fence of the array is written');
  t.equal(x.waitUfence(cpuUf, 0x99n, x.q), 0, 'WAIT_USER_FENCE sees it');
  t.end();
});

t.test('num_batch_buffer 0: passthrough of the last fence; an in-fence is -EOPNOTSUPP (case 47); LR: nothing (case 48)', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const { handle: hold, release } = x.hold();
  const j1 = x.syncobj();
  t.equal(x.exec({ address: x.batch(storeBatch(DATA, 1)), syncs: [inSync(hold), out(j1)] }), 0);
  const sb = x.syncobj();
  t.equal(x.exec({ num_batch_buffer: 0, address: 0n, syncs: [inSync(hold), out(sb)] }), EOPNOTSUPP);
  t.equal(x.fenceOf(sb), null, 'S_B untouched');
  t.equal(x.exec({ num_batch_buffer: 0, address: 0n, syncs: [out(sb)] }), 0);
  t.equal(x.fenceOf(sb), x.fenceOf(j1), 'S_B got the last fence (J1)');
  t.equal(x.pollSyncobj(sb), 62, 'pending with J1');
  release();
  x.settle();
  t.equal(x.pollSyncobj(sb), 0, 'signals with J1');

  const lr = new ExecRig({ vmFlags: C('DRM_XE_VM_CREATE_FLAG_LR_MODE') });
  t.teardown(() => lr.dispose());
  t.equal(lr.exec({ num_batch_buffer: 0, address: 0n, syncs: [ufence(BO_VA + BigInt(OFF.UFENCE), 3n)] }), 0);
  lr.settle();
  t.equal(lr.u64(OFF.UFENCE), 0n, 'the LR user fence is never written');
  const s = lr.syncobj();
  t.equal(lr.exec({ address: lr.batch(storeBatch(DATA, 2)), syncs: [out(s)] }), EOPNOTSUPP, 'LR: a syncobj out-sync (case 37)');
  const signalled = lr.syncobj(C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  t.equal(lr.exec({ address: lr.batch(storeBatch(DATA, 2)), syncs: [inSync(signalled), ufence(BO_VA + BigInt(OFF.UFENCE), 4n)] }), 0, 'LR: a syncobj in-sync is accepted');
  lr.settle();
  t.equal(lr.u32(OFF.DATA), 2);
  t.equal(lr.u64(OFF.UFENCE), 4n, 'the LR job wrote its user fence');
  t.end();
});

t.test('bind -> exec -> unbind ordered only by syncobjs and timeline points', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const bo2 = x.newBo();
  const cpu2 = x.mapBo(bo2);
  const va2 = 0x80_0000n;
  const tl = x.syncobj();
  const { handle: hold, release } = x.hold();
  // bind (held) -> point 1; exec waits for point 1 -> point 2; unbind waits for point 2 -> point 3
  x.bind(bo2, va2, BO_SIZE, [inSync(hold), tlOut(tl, 1n)]);
  t.equal(x.exec({ address: x.batch(storeBatch(va2 + 0x10n, 0x5151)), syncs: [tlIn(tl, 1n), tlOut(tl, 2n)] }), 0);
  x.unbind(va2, BO_SIZE, [tlIn(tl, 2n), tlOut(tl, 3n)]);
  x.settle();
  const read = (): number => new DataView(x.r.proc.as.read(cpu2 + 0x10n, 4).slice().buffer).getUint32(0, true);
  t.equal(read(), 0, 'nothing ran before the bind');
  release();
  x.settle();
  t.equal(read(), 0x5151, 'the exec ran through the new binding');
  t.ok(isFault(x.vm.pt!.mmu.translate(Number(va2), 'read')), 'then the unbind ran');
  t.end();
});

t.test('an EXEC does not wait for a VM_BIND it was not given as an in-sync (sync_exec.md 3.2)', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const bo2 = x.newBo();
  const va2 = 0x80_0000n;
  const { handle: hold, release } = x.hold();
  x.bind(bo2, va2, BO_SIZE, [inSync(hold)]);
  const done = x.syncobj();
  t.equal(x.exec({ address: x.batch(storeBatch(va2 + 0x10n, 0x5151)), syncs: [out(done)] }), 0);
  x.settle();
  t.equal(x.ban(), 1n, 'the batch ran on the old page tables, faulted and the queue is banned');
  t.same(x.vm.faults.map((f) => [f.address, f.accessType]), [[va2, 1]], 'the write fault at the not yet bound page is logged');
  release();
  x.settle();
  t.notOk(isFault(x.vm.pt!.mmu.translate(Number(va2), 'read')), 'the bind still completes once released');
  t.end();
});

t.test('jobs of one queue complete in order (case 49); a qword store', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const { handle: hold, release } = x.hold();
  const s1 = x.syncobj();
  const s2 = x.syncobj();
  t.equal(x.exec({ address: x.batch(storeBatch(DATA, 1), OFF.BATCH), syncs: [inSync(hold), out(s1)] }), 0);
  const b = new Batch();
  b.emit(miStoreQwordImm(Number(DATA) + 8, 0x1_0000_0002n));
  b.emit(miBatchBufferEnd());
  t.equal(x.exec({ address: x.batch(b, OFF.BATCH2), syncs: [out(s2)] }), 0);
  x.settle();
  t.equal(x.pollSyncobj(s2), 62, 'S2 waits for S1');
  t.equal(x.u64(OFF.DATA + 8), 0n);
  release();
  x.settle();
  t.equal(x.pollSyncobj(s1), 0);
  t.equal(x.pollSyncobj(s2), 0);
  t.equal(x.u64(OFF.DATA + 8), 0x1_0000_0002n);
  t.end();
});
