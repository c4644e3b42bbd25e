/**
 * The cases of sync_exec.md §10 and the errnos of §4 that no other file covered (the audit
 * table in test/README.md maps every case to its test), and garbage batches: seeded random
 * batches (fast-check, fixed seed: the same batches every run) that loop forever, jump outside
 * mapped memory or hold garbage end as a hang, a fault or a timeout with the documented fence
 * errors and ban, and the kernel still serves calls and runs jobs afterwards.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  Batch, MI, miBatchBufferEnd, miBatchBufferStart, miCopyMemMem, miHeader, miNoop, miStoreDwordImm,
} from '../src/uapi/gpu_commands.js';
import { ECANCELED, EFAULT, EINVAL, EIO, ENOENT, ETIME } from '../src/uapi/errno.js';
import type { FieldsIn } from '../src/uapi/codec.js';
import { C } from '../src/uapi/uapi.js';
import { BO_SIZE, BO_VA, ExecRig, inSync, OFF, out, tlOut, storeBatch } from './helpers/exec_rig.js';

const DATA = BO_VA + BigInt(OFF.DATA);

t.test('case 31: a bad sync leaves the out-syncs and the queue last fence unchanged', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const { handle: hold, release } = x.hold();
  const s0 = x.syncobj();
  t.equal(x.exec({ address: x.batch(storeBatch(DATA, 1)), syncs: [inSync(hold), out(s0)] }), 0);
  const q = x.r.file().execQueues.get(x.q)!;
  const last = q.lastFence.peek();
  t.equal(last, x.fenceOf(s0), 'the last fence is the pending job');
  const so = x.syncobj();
  t.equal(x.exec({ address: x.batch(storeBatch(DATA, 2), OFF.BATCH2), syncs: [out(so), { type: 0, flags: 2, handle: so }] }), EINVAL);
  t.equal(q.lastFence.peek(), last, 'the last fence is unchanged');
  t.equal(x.fenceOf(so), null, 'the valid out-sync before it is untouched');
  release();
  x.settle();
  t.equal(x.u32(OFF.DATA), 1, 'only the first job ran');
  t.end();
});

t.test('case 51: a timeline out-point is available at once, reached when the job completes', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const { handle: hold, release } = x.hold();
  const tl = x.syncobj();
  t.equal(x.exec({ address: x.batch(storeBatch(DATA, 5)), syncs: [inSync(hold), tlOut(tl, 10n)] }), 0);
  const arr = x.r.mmap(0x1000n);
  const words = new Uint8Array(16);
  new DataView(words.buffer).setUint32(0, tl, true);
  new DataView(words.buffer).setBigUint64(8, 10n, true);
  x.r.proc.as.write(arr, words);
  const twait = (flags: number): number => {
    try {
      x.ioctl('DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', { handles: arr, points: arr + 8n, count_handles: 1, flags, timeout_nsec: 0n });
      return 0;
    } catch (e) {
      return (e as { errno: number }).errno;
    }
  };
  const query = (): bigint => {
    x.ioctl('DRM_IOCTL_SYNCOBJ_QUERY', { handles: arr, points: arr + 0x100n, count_handles: 1 });
    return new DataView(x.r.proc.as.read(arr + 0x100n, 8).slice().buffer).getBigUint64(0, true);
  };
  t.equal(twait(C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE')), 0, 'WAIT_AVAILABLE: the point exists');
  t.equal(twait(0), ETIME, 'not yet signalled');
  t.equal(query(), 0n, 'QUERY: not reached');
  release();
  x.settle();
  t.equal(query(), 10n, 'QUERY gives 10 after the job');
  t.equal(twait(0), 0);
  t.end();
});

t.test('case 67: a VM_BIND user fence is written when the bind completes; WAIT_USER_FENCE sees it', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const P = x.r.mmap(0x1000n);
  const { handle: hold, release } = x.hold();
  x.bind(x.newBo(), 0x80_0000n, BO_SIZE, [inSync(hold), { type: C('DRM_XE_SYNC_TYPE_USER_FENCE'), flags: 1, addr: P, timeline_value: 7n }]);
  x.settle();
  t.equal(x.waitUfence(P, 7n), ETIME, 'not written while the bind waits');
  release();
  x.settle();
  t.equal(new DataView(x.r.proc.as.read(P, 8).slice().buffer).getBigUint64(0, true), 7n, '*P == 7');
  t.equal(x.waitUfence(P, 7n), 0, 'WAIT {P, EQ, 7}');
  t.end();
});

t.test('case 77: VM_BIND on vm_id 999 is -EINVAL', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const bind = { op: C('DRM_XE_VM_BIND_OP_MAP'), obj: x.bo, addr: 0x80_0000n, range: BO_SIZE, pat_index: x.vm.dev.profile.patWb };
  let errno = 0;
  try {
    x.ioctl('DRM_IOCTL_XE_VM_BIND', { vm_id: 999, num_binds: 1, bind });
  } catch (e) {
    errno = (e as { errno: number }).errno;
  }
  t.equal(errno, EINVAL);
  t.equal(x.vm.gpuvm.size, 1, 'nothing bound');
  t.end();
});

t.test('case 78: user fences of two binds on one bind queue are written in order', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const bq = x.queue(C('DRM_XE_ENGINE_CLASS_VM_BIND'));
  const P = x.r.mmap(0x1000n);
  const u64 = (off: bigint): bigint => new DataView(x.r.proc.as.read(P + off, 8).slice().buffer).getBigUint64(0, true);
  const { handle: hold, release } = x.hold();
  const uf = (off: bigint, v: bigint) => ({ type: C('DRM_XE_SYNC_TYPE_USER_FENCE'), flags: 1, addr: P + off, timeline_value: v });
  const bind = (va: bigint, syncs: FieldsIn[]): void => {
    const b = { op: C('DRM_XE_VM_BIND_OP_MAP'), obj: x.newBo(), addr: va, range: BO_SIZE, pat_index: x.vm.dev.profile.patWb };
    x.ioctl('DRM_IOCTL_XE_VM_BIND', { vm_id: x.vmId, exec_queue_id: bq, num_binds: 1, bind: b, num_syncs: syncs.length, syncs: x.syncArray(syncs) });
  };
  bind(0x80_0000n, [inSync(hold), uf(0n, 1n)]);
  bind(0x90_0000n, [uf(8n, 2n)]);
  x.settle();
  t.same([u64(0n), u64(8n)], [0n, 0n], 'the second bind waits behind the first: neither is written');
  release();
  x.settle();
  t.same([u64(0n), u64(8n)], [1n, 2n], 'both written once the first ran');
  t.end();
});

t.test('§4.1 step 6: an unreadable sync array is -EFAULT with nothing signalled', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const addr = x.batch(storeBatch(DATA, 3));
  t.equal(x.exec({ address: addr, num_syncs: 1, syncs: 0x10n }), EFAULT);
  // A valid out-sync first, then an entry on an unmapped page: the first is not signalled.
  const so = x.syncobj();
  const arr = x.r.mmap(0x2000n);
  x.r.munmap(arr + 0x1000n, 0x1000n);
  const entry = x.syncArray([out(so)]);
  x.r.proc.as.write(arr + 0x1000n - 48n, x.r.proc.as.read(entry, 48).slice());
  t.equal(x.exec({ address: addr, num_syncs: 2, syncs: arr + 0x1000n - 48n }), EFAULT);
  x.settle();
  t.equal(x.fenceOf(so), null, 'the parsed out-sync is not signalled');
  t.equal(x.u32(OFF.DATA), 0, 'no job ran');
  t.end();
});

t.test('§4.1 step 14: a closed VM is -ECANCELED for real submissions only (3.3)', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const addr = x.batch(storeBatch(DATA, 4));
  x.ioctl('DRM_IOCTL_XE_VM_DESTROY', { vm_id: x.vmId });
  const so = x.syncobj();
  t.equal(x.exec({ address: addr, syncs: [out(so)] }), ECANCELED, 'a batch on the queue of a closed VM');
  t.equal(x.fenceOf(so), null, 'nothing signalled');
  t.equal(x.exec({ num_batch_buffer: 0, address: 0n, syncs: [out(so)] }), 0, 'the passthrough still works');
  t.equal(x.pollSyncobj(so), 0, 'with a signalled stub');
  t.equal(x.ban(), 0n, 'the queue itself is not banned');
  t.end();
});

// ---- garbage batches

const RENDER = C('DRM_XE_ENGINE_CLASS_RENDER');
const SPAN = 0x400; // dwords of a garbage batch (a page)
/** Random addresses stay below this; a batch that only ends lives above it. */
const RANDOM_TOP = 0x3fff_fff0;
const END_BATCH = 0x4000_0000n;

/** One piece of a garbage batch. */
const piece = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }).map((v) => [v]),
  fc.constant(miNoop()),
  // An MI header with a random opcode, flags and length: unknown commands and malformed lengths.
  fc.tuple(fc.integer({ min: 0, max: 0x3f }), fc.integer({ min: 0, max: 0x3ff })).map(([op, len]) => [miHeader(op, 0, len)]),
  // Stores and copies to and from anywhere in a 32-bit space: mostly unmapped.
  fc.tuple(fc.integer({ min: 0, max: RANDOM_TOP }), fc.integer()).map(([a, v]) => miStoreDwordImm(a & ~3, v >>> 0)),
  fc.tuple(fc.integer({ min: 0, max: RANDOM_TOP }), fc.integer({ min: 0, max: RANDOM_TOP })).map(([d, s]) => miCopyMemMem(d & ~3, s & ~3)),
  // Jumps: anywhere (mostly outside mapped memory), or back to the batch's start (a loop forever).
  fc.integer({ min: 0, max: RANDOM_TOP }).map((a) => miBatchBufferStart(a & ~3)),
  fc.constant(miBatchBufferStart(Number(BO_VA))),
  fc.constant(miBatchBufferEnd()),
  fc.constant([miHeader(MI.BATCH_BUFFER_END, 0, 0)]),
);
const garbage = fc.array(piece, { minLength: 1, maxLength: 24 }).map((ps) => ps.flat().slice(0, SPAN));

t.test('garbage batches end in a hang, a fault or a timeout with the documented errors and ban; the kernel goes on', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  const endBo = x.newBo();
  x.r.proc.as.write(x.mapBo(endBo), storeBatch(END_BATCH + 0x100n, 1).bytes());
  x.bind(endBo, END_BATCH, BO_SIZE);
  const outcomes = new Map<number, number>();
  fc.assert(
    fc.property(garbage, (dwords) => {
      const q = x.queue(RENDER);
      const b = new Batch();
      // The whole page: runs do not see each other's leftovers.
      for (let i = 0; i < SPAN; i++) b.emit([dwords[i] ?? 0]);
      const s1 = x.syncobj();
      const s2 = x.syncobj();
      // Held by an in-fence until the job behind it is queued too.
      const { handle, release } = x.hold();
      const r1 = x.exec({ exec_queue_id: q, address: x.batch(b, OFF.BATCH), syncs: [inSync(handle), out(s1)] });
      // A job behind it on the same queue, its batch where the garbage cannot write.
      const r2 = x.exec({ exec_queue_id: q, address: END_BATCH, syncs: [out(s2)] });
      release();
      let state = x.settle();
      if (state !== 'idle') {
        // Still running (a loop or a semaphore): the job timeout ends it.
        x.r.m.advance(BigInt(x.r.file().execQueues.get(q)!.jobTimeoutMs) * 1_000_000n);
        state = x.settle();
      }
      const polls = [x.pollSyncobj(s1), x.pollSyncobj(s2)];
      if (r1 || r2 || state !== 'idle' || polls[0] || polls[1]) throw new Error(`exec ${r1} ${r2}, GPU ${state}, syncobjs ${polls}`);
      const e1 = -x.fenceError(s1);
      const e2 = -x.fenceError(s2);
      outcomes.set(e1, (outcomes.get(e1) ?? 0) + 1);
      const ban = x.ban(q);
      x.ioctl('DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', { exec_queue_id: q });
      const ok = e1 === 0 ? e2 === 0 && ban === 0n : (e1 === EIO || e1 === ETIME) && e2 === ECANCELED && ban === 1n;
      if (!ok) throw new Error(`job errors ${e1}, ${e2}, ban ${ban}`);
    }),
    { seed: 0x5eed_0008, numRuns: 150 },
  );
  t.ok(outcomes.get(EIO), `hangs and faults: -EIO (${outcomes.get(EIO)} runs)`);
  t.ok(outcomes.get(ETIME), `loops: -ETIME (${outcomes.get(ETIME)} runs)`);
  t.ok(outcomes.get(0), `and some batches just end (${outcomes.get(0)} runs)`);
  // The kernel still serves calls, and a fresh queue on a fresh VM runs a store.
  const y = new ExecRig({ rig: x.r });
  t.equal(y.exec({ address: y.batch(storeBatch(DATA, 0x600d)) }), 0);
  y.settle();
  t.equal(y.u32(OFF.DATA), 0x600d, 'a good batch runs afterwards');
  t.equal(y.exec({ exec_queue_id: 999, address: 0n }), ENOENT, 'and bad input still gets its errno');
  t.end();
});

