/**
 * EXEC on a worker device with the IGT helpers: xe_exec_wait on a BO binding, and spinners
 * released by a plain CPU write from the user thread (no system call) while another thread
 * is blocked in WAIT_USER_FENCE on the spinner's user fence and the main thread's ioctls are
 * served.
 */
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { C, type Process } from '../src/index.js';
import { Batch, miBatchBufferEnd, miStoreDwordImm } from '../src/uapi/gpu_commands.js';
import {
  syncobj_create, syncobj_wait, xe_exec_queue_create, xe_exec_sync, xe_exec_wait, xe_spin_end, xe_spin_init, xe_spin_started, XE_SPIN,
} from '../src/userspace/igt.js';
import { execDevice, VA } from './helpers/exec_device.js';

const WAITER = new URL('./helpers/ufence_waiter.js', import.meta.url);
const RENDER = { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 };

/** Starts a thread blocked in WAIT_USER_FENCE {addr == value, queue}. */
function waiter(p: Process, fd: number, addr: bigint, value: bigint, queue: number): Promise<{ rc: number; errno: number }> {
  const w = new Worker(WAITER, { workerData: { handle: p.threadHandle(), fd, addr, value, queue, timeout: -1n } });
  return new Promise((resolve, reject) => {
    w.on('message', (m: { ready?: boolean; rc: number; errno: number }) => {
      if (!m.ready) resolve(m);
    });
    w.on('error', reject);
  });
}

t.test('xe_exec_wait: a store-dword batch through a BO binding', async (t) => {
  const { p, fd, vm, cpu } = await execDevice(t);
  const q = xe_exec_queue_create(p, fd, vm, RENDER);
  const b = new Batch();
  b.emit(miStoreDwordImm(Number(VA) + 0x4000, 0xc0de));
  b.emit(miBatchBufferEnd());
  p.mem.write(cpu, b.bytes());
  xe_exec_wait(p, fd, q, VA);
  t.equal(p.mem.readU32(cpu + 0x4000n), 0xc0de);
});

for (const semaphore of [true, false]) {
  t.test(`a ${semaphore ? 'semaphore' : 'looping'} spinner released by a CPU write while other calls are served`, async (t) => {
    const { p, fd, vm, cpu } = await execDevice(t);
    const q = xe_exec_queue_create(p, fd, vm, RENDER);
    const spinVa = VA + 0x2000n;
    const spinCpu = cpu + 0x2000n;
    p.mem.write(spinCpu, xe_spin_init({ addr: spinVa, semaphore }));
    const so = syncobj_create(p, fd);
    const ufCpu = cpu + 0x8000n;
    xe_exec_sync(p, fd, q, spinVa, [
      { type: C('DRM_XE_SYNC_TYPE_SYNCOBJ'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle: so },
      { type: C('DRM_XE_SYNC_TYPE_USER_FENCE'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), addr: VA + 0x8000n, timeline_value: 0x5eedn },
    ]);
    const woken = waiter(p, fd, ufCpu, 0x5eedn, q);
    while (!xe_spin_started(p, spinCpu)) await sleep(1);
    await sleep(20);
    // Other calls of this thread are served while the spinner runs and the waiter is parked.
    const q2 = xe_exec_queue_create(p, fd, vm, { ...RENDER, engine_class: C('DRM_XE_ENGINE_CLASS_COPY') });
    const b = new Batch();
    b.emit(miStoreDwordImm(Number(VA) + 0x4000, 0xabc));
    b.emit(miBatchBufferEnd());
    p.mem.write(cpu + 0x1000n, b.bytes());
    xe_exec_wait(p, fd, q2, VA + 0x1000n);
    t.equal(p.mem.readU32(cpu + 0x4000n), 0xabc, 'a job on another queue ran meanwhile');
    t.equal(syncobj_wait(p, fd, [so], 0n), false, 'the spinner still runs');
    t.equal(p.mem.readU64(ufCpu), 0n, 'its user fence is not written');
    xe_spin_end(p, spinCpu);
    t.equal((await woken).rc, 0, 'WAIT_USER_FENCE returned 0');
    t.equal(p.mem.readU64(ufCpu), 0x5eedn, 'the user fence was written');
    t.equal(syncobj_wait(p, fd, [so], (1n << 63n) - 1n), true, 'the job fence signalled');
    t.equal(p.mem.readU32(spinCpu + BigInt(XE_SPIN.END)), 0);
  });
}
