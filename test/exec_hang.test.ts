/**
 * GPU hangs, faults and job timeouts on non-fault VMs (sync_exec.md 4.2-4.3, cases 45, 50,
 * 65): the guilty job's fence error, -ECANCELED for the rest of the queue, the ban and what it
 * does to EXEC, GET_PROPERTY and WAIT_USER_FENCE; the fault log; NULL and scratch entries;
 * queue destroy and file close with work in flight.
 */
import t, { type Test as Tap } from 'tap';
import { Batch, miBatchBufferEnd, miCopyMemMem, miStoreDwordImm } from '../src/uapi/gpu_commands.js';
import { SYS } from '../src/uapi/channel.js';
import { ECANCELED, EINVAL, EIO, ETIME } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { xe_spin_init, XE_SPIN, XE_SPIN_STARTED } from '../src/userspace/xe_spin.js';
import { BO_VA, ExecRig, OFF, out, ufence } from './helpers/exec_rig.js';

const DATA = BO_VA + BigInt(OFF.DATA);
const UF = BO_VA + BigInt(OFF.UFENCE);

function batch(...cmds: number[][]): Batch {
  const b = new Batch();
  for (const c of cmds) b.emit(c);
  return b;
}

/** The errors and ban a failed first job leaves: guilty `errno`, the second job -ECANCELED. */
function checkBan(t: Tap, x: ExecRig, s1: number, s2: number, errno: number): void {
  t.equal(x.pollSyncobj(s1), 0, 'the guilty out-syncobj signalled (syncobj waits report no error)');
  t.equal(x.fenceError(s1), -errno, `guilty job fence error -${errno}`);
  t.equal(x.pollSyncobj(s2), 0, 'the next job signalled');
  t.equal(x.fenceError(s2), -ECANCELED, 'the next job -ECANCELED');
  t.equal(x.ban(), 1n, 'GET_PROPERTY BAN = 1 (case 45)');
  t.equal(x.u64(OFF.UFENCE), 0n, "the failed jobs' user fences are not written");
  t.equal(x.exec({ address: DATA }), ECANCELED, 'a later EXEC is -ECANCELED');
  t.equal(x.exec({ num_batch_buffer: 0, address: 0n, syncs: [{ type: 3, flags: 0 }] }), ECANCELED, 'even with no batch and a bad sync');
  t.equal(x.waitUfence(x.cpu + BigInt(OFF.UFENCE), 1n, x.q, 1_000_000_000n), EIO, 'WAIT_USER_FENCE naming the queue: -EIO (case 65)');
  t.equal(x.waitUfence(x.cpu + BigInt(OFF.UFENCE), 1n, 0, 0n), ETIME, 'without the queue: -ETIME');
}

/** Submits `bad` with out-syncobj s1 and user fence 1, then a good store with s2: [s1, s2]. */
function submitPair(x: ExecRig, bad: Batch): [number, number] {
  const s1 = x.syncobj();
  const s2 = x.syncobj();
  const { handle, release } = x.hold();
  x.exec({ address: x.batch(bad, OFF.BATCH), syncs: [{ type: 0, flags: 0, handle }, out(s1), ufence(UF, 1n)] });
  x.exec({ address: x.batch(batch(miStoreDwordImm(Number(DATA) + 4, 9), miBatchBufferEnd()), OFF.BATCH2), syncs: [out(s2), ufence(UF, 2n)] });
  release();
  x.settle();
  return [s1, s2];
}

t.test('a hang (unknown command): -EIO, the rest -ECANCELED, the queue banned', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const [s1, s2] = submitPair(x, batch(miStoreDwordImm(Number(DATA), 1), [0xffff_ffff]));
  t.equal(x.u32(OFF.DATA), 1, 'the commands before the hang ran');
  t.equal(x.u32(OFF.DATA + 4), 0, 'the cancelled job did not run');
  checkBan(t, x, s1, s2, EIO);
  t.same(x.vm.faults, [], 'a hang is not a page fault');
  t.end();
});

t.test('a fault (store to an unbound address): -EIO, the ban, a fault record on the VM', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const [s1, s2] = submitPair(x, batch(miStoreDwordImm(0x7654_3210, 1), miBatchBufferEnd()));
  checkBan(t, x, s1, s2, EIO);
  t.same(x.vm.faults, [{ address: 0x7654_3000n, accessType: 1, faultType: 0, faultLevel: x.vm.faults[0]?.faultLevel, engineClass: 0, engineInstance: 0 }], 'the record');
  t.ok(x.vm.faults[0].faultLevel > 0, 'the fault is at a directory level (nothing is bound near)');
  t.end();
});

t.test('a write through a read-only binding faults with a write-access violation', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const ro = x.newBo();
  x.ioctl('DRM_IOCTL_XE_VM_BIND', {
    vm_id: x.vmId, num_binds: 1,
    bind: { obj: ro, addr: 0x90_0000n, range: 0x10000n, op: C('DRM_XE_VM_BIND_OP_MAP'), flags: C('DRM_XE_VM_BIND_FLAG_READONLY'), pat_index: x.vm.dev.profile.patWb },
  });
  x.settle();
  const s = x.syncobj();
  x.exec({ address: x.batch(batch(miCopyMemMem(Number(DATA), 0x90_0000), miStoreDwordImm(0x90_0010, 1), miBatchBufferEnd())), syncs: [out(s)] });
  x.settle();
  t.equal(x.fenceError(s), -EIO);
  t.equal(x.vm.faults.length, 1);
  t.match(x.vm.faults[0], { address: 0x90_0000n, accessType: 1, faultType: 1, faultLevel: 0 }, 'write-access violation at the PTE');
  t.end();
});

t.test('NULL bindings read 0 and drop writes; a scratch VM does not fault on unbound addresses', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  x.ioctl('DRM_IOCTL_XE_VM_BIND', {
    vm_id: x.vmId, num_binds: 1,
    bind: { addr: 0x100_0000n, range: 0x10000n, op: C('DRM_XE_VM_BIND_OP_MAP'), flags: C('DRM_XE_VM_BIND_FLAG_NULL'), pat_index: x.vm.dev.profile.patWb },
  });
  x.setU32(OFF.DATA, 0xffff);
  const s = x.syncobj();
  x.exec({ address: x.batch(batch(miStoreDwordImm(0x100_0000, 5), miCopyMemMem(Number(DATA), 0x100_0000), miBatchBufferEnd())), syncs: [out(s)] });
  x.settle();
  t.equal(x.fenceError(s), 0, 'no fault');
  t.equal(x.u32(OFF.DATA), 0, 'the NULL page read 0 after the dropped write');

  const sc = new ExecRig({ vmFlags: C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE') });
  t.teardown(() => sc.dispose());
  sc.setU32(OFF.DATA, 0xffff);
  const s2 = sc.syncobj();
  sc.exec({ address: sc.batch(batch(miStoreDwordImm(0x7000_0000, 5), miCopyMemMem(Number(DATA), 0x7000_0000), miBatchBufferEnd())), syncs: [out(s2)] });
  sc.settle();
  t.equal(sc.fenceError(s2), 0, 'no fault in a scratch VM');
  t.equal(sc.u32(OFF.DATA), 0, 'scratch reads 0');
  t.same(sc.vm.faults, []);
  t.end();
});

t.test('a spinner past the job timeout: -ETIME, the ban; another queue goes on', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const spin = BO_VA + 0x2000n;
  x.r.proc.as.write(x.cpu + 0x2000n, xe_spin_init({ addr: spin }));
  const s1 = x.syncobj();
  const s2 = x.syncobj();
  x.exec({ address: spin, syncs: [out(s1)] });
  x.exec({ address: x.batch(batch(miStoreDwordImm(Number(DATA), 3), miBatchBufferEnd())), syncs: [out(s2)] });
  t.equal(x.settle(), 'busy', 'the spinner keeps the engine busy');
  t.equal(x.u32(0x2000 + XE_SPIN.START), XE_SPIN_STARTED, 'the spinner started');
  const q2 = x.queue(C('DRM_XE_ENGINE_CLASS_RENDER'));
  const s3 = x.syncobj();
  x.exec({ exec_queue_id: q2, address: x.batch(batch(miStoreDwordImm(Number(DATA) + 4, 4), miBatchBufferEnd()), OFF.BATCH2), syncs: [out(s3)] });
  x.settle();
  t.equal(x.u32(OFF.DATA + 4), 4, "another queue's job ran beside the spinner (time-sliced)");
  t.equal(x.fenceError(s3), 0);
  t.equal(x.pollSyncobj(s1), ETIME, 'still spinning');
  x.r.m.advance(BigInt(x.r.file().execQueues.get(x.q)!.jobTimeoutMs) * 1_000_000n);
  x.settle();
  t.equal(x.fenceError(s1), -ETIME, 'the spinner timed out');
  t.equal(x.fenceError(s2), -ECANCELED, 'the job behind it was cancelled');
  t.equal(x.u32(OFF.DATA), 0);
  t.equal(x.ban(), 1n);
  t.equal(x.ban(q2), 0n, 'the other queue is not banned');
  t.end();
});

t.test('a spinner ended by a CPU write completes normally; a semaphore spinner polls', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  for (const semaphore of [false, true]) {
    const off = semaphore ? 0x3000 : 0x2000;
    x.r.proc.as.write(x.cpu + BigInt(off), xe_spin_init({ addr: BO_VA + BigInt(off), semaphore }));
    const s = x.syncobj();
    x.exec({ address: BO_VA + BigInt(off), syncs: [out(s)] });
    t.equal(x.settle(), semaphore ? 'poll' : 'busy', semaphore ? 'parked on memory: poll' : 'looping: busy');
    t.equal(x.pollSyncobj(s), ETIME);
    x.setU32(off + XE_SPIN.END, 0);
    t.equal(x.settle(), 'idle');
    t.equal(x.fenceError(s), 0, 'completed without error');
    t.equal(x.pollSyncobj(s), 0);
  }
  t.end();
});

t.test('queue destroy and file close with work in flight cancel it; other files go on', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const y = new ExecRig({ rig: x.r });
  x.r.proc.as.write(x.cpu + 0x2000n, xe_spin_init({ addr: BO_VA + 0x2000n }));
  y.r.proc.as.write(y.cpu + 0x2000n, xe_spin_init({ addr: BO_VA + 0x2000n }));
  const sx = x.syncobj();
  const sy = y.syncobj();
  x.exec({ address: BO_VA + 0x2000n, syncs: [out(sx)] });
  y.exec({ address: BO_VA + 0x2000n, syncs: [out(sy)] });
  x.settle();
  const fx = x.fenceOf(sx)!;
  const q2 = x.queue(C('DRM_XE_ENGINE_CLASS_COPY'));
  const s2 = x.syncobj();
  x.r.proc.as.write(x.cpu + 0x3000n, xe_spin_init({ addr: BO_VA + 0x3000n }));
  x.exec({ exec_queue_id: q2, address: BO_VA + 0x3000n, syncs: [out(s2)] });
  x.settle();
  x.ioctl('DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', { exec_queue_id: q2 });
  x.settle();
  t.equal(x.fenceError(s2), -ECANCELED, 'destroy cancelled the queue\'s job');
  x.r.sys(SYS.CLOSE, [BigInt(x.fd)]);
  x.settle();
  t.ok(fx.signaled, 'file close: the job ended');
  t.equal(fx.error, -ECANCELED, 'cancelled');
  t.equal(y.pollSyncobj(sy), ETIME, "the other file's spinner still runs");
  y.setU32(0x2000 + XE_SPIN.END, 0);
  y.settle();
  t.equal(y.fenceError(sy), 0, 'and completes');
  t.equal(y.exec({ address: 0n, num_batch_buffer: 2 }), EINVAL, 'the other file still serves EXEC');
  t.end();
});

t.test('the same program gives the same trace and memory run after run', (t) => {
  const run = (): string => {
    const x = new ExecRig();
    try {
      for (let i = 0; i < 3; i++) {
        const q = x.queue(C('DRM_XE_ENGINE_CLASS_RENDER'));
        x.exec({ exec_queue_id: q, address: x.batch(batch(miStoreDwordImm(Number(DATA) + 4 * i, i + 1), miBatchBufferEnd()), 0x1000 * i) });
      }
      x.settle();
      const tr = x.sched.engines.flatMap((e) => e.cs.trace().map((r) => `${e.desc.name}:${r.ctx}:${r.addr.toString(16)}:${r.decoded.name}`));
      return `${tr.join(',')}|${x.u32(OFF.DATA)},${x.u32(OFF.DATA + 4)},${x.u32(OFF.DATA + 8)}`;
    } finally {
      x.dispose();
    }
  };
  const a = run();
  t.equal(run(), a);
  t.match(a, /\|1,2,3$/);
  t.end();
});

t.test('a fault-mode VM: a deferred bind is serviced on the GPU fault; an unserviceable fault bans the queue', (t) => {
  const x = new ExecRig({ vmFlags: C('DRM_XE_VM_CREATE_FLAG_LR_MODE') | C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE') });
  t.teardown(() => x.dispose());
  t.equal(x.exec({ address: x.batch(batch(miStoreDwordImm(Number(DATA), 0x77), miBatchBufferEnd())), syncs: [ufence(UF, 1n)] }), 0);
  x.settle();
  t.equal(x.u32(OFF.DATA), 0x77, 'the batch ran through the bind the fault made');
  t.equal(x.u64(OFF.UFENCE), 1n, 'and completed');
  t.same(x.vm.faults, [], 'a serviced fault is not logged');
  t.equal(x.exec({ address: x.batch(batch(miStoreDwordImm(0x7654_3210, 1), miBatchBufferEnd()), OFF.BATCH2), syncs: [ufence(UF, 2n)] }), 0);
  x.settle();
  t.equal(x.ban(), 1n, 'no VMA there: the queue is banned');
  t.equal(x.u64(OFF.UFENCE), 1n, 'the failed job wrote no user fence');
  t.match(x.vm.faults, [{ address: 0x7654_3000n, accessType: 1, faultType: 0 }], 'the fault is logged');
  t.end();
});
