/**
 * Queue and engine inspection through the public API on a worker device (p.queueInfo,
 * p.engineTrace; DEBUG QUEUE_INFO / ENGINE_TRACE): a running spinner and a job waiting behind
 * it with their fences, contexts and engines; the last fence; the trace of the commands run,
 * decoded; the ban a hang leaves; the size protocol and errno on bad input.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { C, errno } from '../src/index.js';
import { DEBUG } from '../src/uapi/channel.js';
import { Batch, miBatchBufferEnd, miStoreDwordImm } from '../src/uapi/gpu_commands.js';
import { engineSelector } from '../src/uapi/sched_inspect.js';
import {
  syncobj_create, syncobj_wait, xe_exec_queue_create, xe_exec_sync, xe_spin_end, xe_spin_init, xe_spin_started,
} from '../src/userspace/igt.js';
import { vmArgWord } from '../src/userspace/vm_inspect.js';
import { execDevice, VA } from './helpers/exec_device.js';

const RENDER = C('DRM_XE_ENGINE_CLASS_RENDER');
const SIGNAL = C('DRM_XE_SYNC_FLAG_SIGNAL');
const SYNCOBJ = C('DRM_XE_SYNC_TYPE_SYNCOBJ');

function batch(...cmds: number[][]): Uint8Array {
  const b = new Batch();
  for (const c of cmds) b.emit(c);
  return b.bytes();
}

t.test('queue state and engine trace around a spinner, a waiting job and a hang', async (t) => {
  const { p, fd, vm, cpu } = await execDevice(t);
  const q = xe_exec_queue_create(p, fd, vm, { engine_class: RENDER, engine_instance: 0, gt_id: 0 });

  const idle = p.queueInfo(fd, q)!;
  t.same(idle, {
    id: q, engineClass: RENDER, width: 1, gt: 0, engines: ['rcs0'], bind: false, vmId: vm, lr: false,
    banned: false, killed: false, engineReset: false, jobTimeoutMs: idle.jobTimeoutMs, lastFence: null, jobs: [],
  }, 'a new queue: no jobs, no last fence');

  // A spinner, then a store that waits behind it (its dependency: the queue's last fence).
  p.mem.write(cpu + 0x2000n, xe_spin_init({ addr: VA + 0x2000n, semaphore: true }));
  p.mem.write(cpu + 0x1000n, batch(miStoreDwordImm(Number(VA) + 0x4000, 0xfeed), miBatchBufferEnd()));
  const [s1, s2] = [syncobj_create(p, fd), syncobj_create(p, fd)];
  xe_exec_sync(p, fd, q, VA + 0x2000n, [{ type: SYNCOBJ, flags: SIGNAL, handle: s1 }]);
  xe_exec_sync(p, fd, q, VA + 0x1000n, [{ type: SYNCOBJ, flags: SIGNAL, handle: s2 }]);
  while (!xe_spin_started(p, cpu + 0x2000n)) await sleep(1);

  const busy = p.queueInfo(fd, q)!;
  t.equal(busy.jobs.length, 2, 'two unfinished jobs');
  const [spin, store] = busy.jobs;
  t.equal(spin.state, 'running');
  t.same(spin.batches, [VA + 0x2000n]);
  t.equal(spin.slots.length, 1);
  t.equal(spin.slots[0].engine, 'rcs0', 'placed on rcs0');
  t.same({ ...spin.fence, context: 0 }, { context: 0, seqno: 1, signalled: false, error: 0 }, 'the spinner fence is pending');
  t.same({ state: store.state, slots: store.slots, batches: store.batches }, { state: 'waiting', slots: [], batches: [VA + 0x1000n] }, 'the store waits for the last fence');
  t.same(store.fence, { ...spin.fence, seqno: 2 }, 'same timeline, the next seqno');
  t.same(busy.lastFence, store.fence, 'the last fence is the newest job fence');

  xe_spin_end(p, cpu + 0x2000n);
  t.equal(syncobj_wait(p, fd, [s1, s2], p.clockMonotonicNs() + 10_000_000_000n), true);
  const done = p.queueInfo(fd, q)!;
  t.same(done.jobs, [], 'no unfinished jobs');
  t.same(done.lastFence, { ...store.fence, signalled: true }, 'the last fence signalled without error');

  const tr = p.engineTrace(fd, RENDER, 0, 0)!;
  t.same({ ...tr, trace: [] }, { engine: 'rcs0', gt: 0, engineClass: RENDER, instance: 0, trace: [] });
  const mine = tr.trace.filter((r) => r.ctx === spin.slots[0].ctx);
  t.ok(mine.length > 2, 'the spinner context ran several commands');
  t.equal(mine[0].addr, VA + 0x2000n, 'its first command is at the batch start');
  t.ok(mine.some((r) => r.decoded.name === 'MI_SEMAPHORE_WAIT'), 'a semaphore spinner waits with MI_SEMAPHORE_WAIT');
  const last = tr.trace[tr.trace.length - 1];
  t.equal(last.decoded.name, 'MI_BATCH_BUFFER_END', 'the store batch ended last');
  const st = tr.trace[tr.trace.length - 2];
  t.same({ addr: st.addr, name: st.decoded.name }, { addr: VA + 0x1000n, name: 'MI_STORE_DATA_IMM' });
  t.match(st.text, /^MI_STORE_DATA_IMM addr=0x1a4000 .*data=0xfeed/, 'the one-line text');
  t.not(st.ctx, spin.slots[0].ctx, 'another context ran the store');
  t.equal(p.mem.readU32(cpu + 0x4000n), 0xfeed);

  // A hang: the queue banned with an engine reset.
  p.mem.write(cpu + 0x3000n, batch([0xffff_ffff]));
  const s3 = syncobj_create(p, fd);
  xe_exec_sync(p, fd, q, VA + 0x3000n, [{ type: SYNCOBJ, flags: SIGNAL, handle: s3 }]);
  t.equal(syncobj_wait(p, fd, [s3], p.clockMonotonicNs() + 10_000_000_000n), true);
  const hung = p.queueInfo(fd, q)!;
  t.same({ banned: hung.banned, engineReset: hung.engineReset, jobs: hung.jobs }, { banned: true, engineReset: true, jobs: [] });
  t.same({ signalled: hung.lastFence!.signalled, error: hung.lastFence!.error }, { signalled: true, error: -errno.EIO }, 'the last fence: the guilty job, -EIO');
  t.same(p.engineTrace(fd, RENDER)!.trace.at(-1), last, 'the garbage command was not executed: the trace ends as before');
});

t.test('bad input and the size protocol', async (t) => {
  const { p, fd, vm } = await execDevice(t);
  const q = xe_exec_queue_create(p, fd, vm, { engine_class: C('DRM_XE_ENGINE_CLASS_COPY'), engine_instance: 0, gt_id: 0 });
  t.equal(p.queueInfo(fd, 99), null);
  t.equal(p.errno, errno.ENOENT);
  t.match(p.lastError?.reason, /QUEUE_INFO: exec queue 99: no such queue/);
  t.equal(p.queueInfo(77, q), null);
  t.equal(p.errno, errno.EBADF);
  t.equal(p.engineTrace(fd, RENDER, 7), null, 'no rcs7');
  t.equal(p.errno, errno.ENOENT);
  t.equal(p.engineTrace(fd, 9), null, 'no class 9');
  t.equal(p.errno, errno.ENOENT);
  t.same(p.engineTrace(fd, C('DRM_XE_ENGINE_CLASS_COPY'))!.trace, [], 'an engine that ran nothing');

  const arg = vmArgWord(fd, q);
  const [len] = p.debug(DEBUG.QUEUE_INFO, arg, 0n, 0n);
  const buf = p.mem.alloc(Number(len));
  t.throws(() => p.debug(DEBUG.QUEUE_INFO, arg, buf, len - 1n), 'a buffer one byte short fails');
  t.equal(p.errno, errno.ENOSPC);
  t.equal(p.debug(DEBUG.QUEUE_INFO, arg, buf, len)[0], len, 'the exact size: answered, the length again');
  t.equal(JSON.parse(new TextDecoder().decode(p.mem.read(buf, Number(len)))).engines[0], 'bcs0', 'the copy queue on bcs0');
  t.ok(p.debug(DEBUG.ENGINE_TRACE, vmArgWord(fd, engineSelector(RENDER, 0, 0)), 0n, 0n)[0] > 0n, 'ENGINE_TRACE answers its length');
});
