// DRM_IOCTL_XE_WAIT_USER_FENCE (shared/spec/sync_exec.md 6, cases 59-67) and the
// DEBUG UFENCE_WRITE / QUEUE_BAN controls.
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { C, createDevice, DEBUG, errno, pack, type FieldsIn, type Process } from '../src/index.js';
import { doIoctl } from '../src/userspace/igt.js';

const OP = {
  EQ: C('DRM_XE_UFENCE_WAIT_OP_EQ'),
  NEQ: C('DRM_XE_UFENCE_WAIT_OP_NEQ'),
  GT: C('DRM_XE_UFENCE_WAIT_OP_GT'),
  GTE: C('DRM_XE_UFENCE_WAIT_OP_GTE'),
  LT: C('DRM_XE_UFENCE_WAIT_OP_LT'),
  LTE: C('DRM_XE_UFENCE_WAIT_OP_LTE'),
};
const ABSTIME = C('DRM_XE_UFENCE_WAIT_FLAG_ABSTIME');
const ALL = (1n << 64n) - 1n;
const LONG_MAX = (1n << 63n) - 1n;
const TICK_NS = 4_000_000n;

interface Env {
  p: Process;
  fd: number;
  /** The user fence "P", holding 0x1234. */
  P: bigint;
  /** A render queue on a plain VM. */
  q: number;
}

async function env(t: Test): Promise<Env> {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p = dev.process;
  const fd = p.open();
  const P = p.mem.alloc(8, 8);
  p.mem.writeU64(P, 0x1234n);
  const vm = Number(doIoctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', {}).out.vm_id);
  const inst = p.mem.alloc(8, 8);
  p.mem.write(inst, pack('drm_xe_engine_class_instance', { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER') }));
  const q = Number(doIoctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: vm, instances: inst }).out.exec_queue_id);
  return { p, fd, P, q };
}

function wait(e: Env, fields: FieldsIn): { err: number; timeout: bigint; ns: bigint } {
  const start = process.hrtime.bigint();
  const r = doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', { addr: e.P, op: OP.EQ, mask: ALL, ...fields });
  return { err: r.rc < 0 ? r.errno : 0, timeout: r.out.timeout as bigint, ns: process.hrtime.bigint() - start };
}

t.test('case 59: argument checks in order', async (t) => {
  const e = await env(t);
  t.equal(wait(e, { op: 6, value: 0x1234n }).err, errno.EINVAL, 'op 6');
  t.equal(wait(e, { flags: 2, value: 0x1234n }).err, errno.EINVAL, 'flags 2');
  t.equal(wait(e, { addr: e.P + 4n, value: 0x1234n }).err, errno.EINVAL, 'addr P+4');
  t.equal(wait(e, { exec_queue_id: 999, value: 0x1234n }).err, errno.ENOENT, 'unknown queue');
  t.equal(wait(e, { extensions: 1n, value: 0x1234n }).err, errno.EINVAL, 'extensions');
  t.equal(wait(e, { pad: 1, value: 0x1234n }).err, errno.EINVAL, 'pad');
  t.equal(wait(e, { pad2: 1, value: 0x1234n }).err, errno.EINVAL, 'pad2');
  t.equal(wait(e, { reserved: [0n, 1n], value: 0x1234n }).err, errno.EINVAL, 'reserved');
  t.equal(wait(e, { addr: e.P + 4n, exec_queue_id: 999 }).err, errno.EINVAL, 'addr checked before the queue');
  t.equal(wait(e, { op: 6, flags: 2, extensions: 1n, timeout: -5n }).timeout, -5n, 'early failures leave timeout alone');
});

t.test('cases 60-61, 63-64: immediate results and timeout write-back', async (t) => {
  const e = await env(t);
  t.equal(wait(e, { value: 0x34n, mask: 0xffn, timeout: 0n }).err, 0, 'case 60: masked EQ');
  const r61 = wait(e, { value: 0x99n, timeout: 0n });
  t.equal(r61.err, errno.ETIME, 'case 61: false with timeout 0');
  t.equal(r61.timeout, 0n, 'timeout reads back 0');
  const r63 = wait(e, { value: 0x1234n, timeout: -1n });
  t.equal(r63.err, 0, 'case 63: already true, infinite timeout');
  t.ok(r63.timeout <= LONG_MAX && r63.timeout > LONG_MAX - r63.ns - 1n, 'LONG_MAX minus the elapsed ns');
  const T = process.hrtime.bigint() + 5_000_000_000n;
  const r64 = wait(e, { value: 0x1234n, flags: ABSTIME, timeout: T });
  t.equal(r64.err, 0, 'case 64: ABSTIME, already true');
  t.equal(r64.timeout, T, 'ABSTIME timeout unchanged');
  t.equal(wait(e, { value: 0x1234n, flags: ABSTIME, timeout: -1n }).timeout, LONG_MAX, 'ABSTIME negative becomes LONG_MAX');
  const rel = wait(e, { value: 0x1234n, timeout: 5_000_000_000n });
  t.ok(rel.timeout <= 5_000_000_000n && rel.timeout > 5_000_000_000n - rel.ns - 1n, 'relative: timeout minus elapsed');
});

t.test('ops compare masked values as unsigned 64-bit', async (t) => {
  const e = await env(t);
  const check = (mem: bigint, op: number, value: bigint, mask = ALL): number => {
    e.p.mem.writeU64(e.P, mem);
    return wait(e, { op, value, mask, timeout: 0n }).err;
  };
  t.equal(check(ALL, OP.GT, 1n), 0, 'u64 max > 1');
  t.equal(check(1n, OP.GT, ALL), errno.ETIME);
  t.equal(check(5n, OP.GTE, 5n), 0);
  t.equal(check(4n, OP.GTE, 5n), errno.ETIME);
  t.equal(check(4n, OP.LT, 5n), 0);
  t.equal(check(5n, OP.LT, 5n), errno.ETIME);
  t.equal(check(5n, OP.LTE, 5n), 0);
  t.equal(check(5n, OP.NEQ, 6n), 0);
  t.equal(check(5n, OP.NEQ, 5n), errno.ETIME);
  t.equal(check(0xabcdn, OP.EQ, 0x12cdn, 0xffn), 0, 'mask applies to both sides');
  t.equal(check(0xabcdn, OP.EQ, 0x99n, 0n), 0, 'mask 0: EQ always holds');
  t.equal(check(0xabcdn, OP.LTE, 0x99n, 0n), 0, 'mask 0: LTE always holds');
  t.equal(check(0xabcdn, OP.NEQ, 0x99n, 0n), errno.ETIME, 'mask 0: NEQ never holds');
  t.equal(check(0xabcdn, OP.GT, 0x99n, 0n), errno.ETIME, 'mask 0: GT never holds');
});

t.test('case 62: a relative timeout sleeps at least one tick', async (t) => {
  const e = await env(t);
  const r = wait(e, { value: 0x99n, timeout: 1_000_000n });
  t.equal(r.err, errno.ETIME, 'ETIME');
  t.ok(r.timeout >= 0n && r.timeout < 1_000_000n, `timeout reads back ${r.timeout}`);
  t.equal(r.timeout, 0n, 'a full 4 ms tick has elapsed, so 0');
  t.ok(r.ns >= TICK_NS, `slept ${r.ns} ns >= one tick`);
  const r2 = wait(e, { value: 0x99n, timeout: 30_000_000n });
  t.equal(r2.err, errno.ETIME);
  t.ok(r2.ns >= 28_000_000n, 'about 30 ms (7 ticks)');
  t.ok(r2.timeout >= 0n && r2.timeout <= 2_000_000n, 'remaining time under one tick');
  const past = wait(e, { value: 0x99n, flags: ABSTIME, timeout: 1n });
  t.equal(past.err, errno.ETIME, 'ABSTIME deadline in the past');
  t.ok(past.ns >= TICK_NS, 'still one tick');
  t.equal(past.timeout, 1n, 'ABSTIME timeout unchanged on error');
  const abs = process.hrtime.bigint() + 10_000_000n;
  const ra = wait(e, { value: 0x99n, flags: ABSTIME, timeout: abs });
  t.equal(ra.err, errno.ETIME);
  t.ok(process.hrtime.bigint() >= abs, 'an absolute wait never ends before its deadline');
});

t.test('case 65: a banned queue turns a false condition into EIO', async (t) => {
  const e = await env(t);
  t.equal(wait(e, { value: 0x99n, exec_queue_id: e.q, timeout: 0n }).err, errno.ETIME, 'healthy queue: ETIME');
  e.p.debug(DEBUG.QUEUE_BAN, BigInt(e.fd), BigInt(e.q));
  const r = wait(e, { value: 0x99n, exec_queue_id: e.q, timeout: 1_000_000_000n });
  t.equal(r.err, errno.EIO, 'EIO');
  t.ok(r.ns < 500_000_000n, 'immediately');
  t.ok(r.timeout > 500_000_000n, 'timeout written back (minus a little)');
  t.equal(wait(e, { value: 0x99n, exec_queue_id: e.q, timeout: 0n }).err, errno.EIO, 'EIO comes before the timeout test');
  t.equal(wait(e, { value: 0x1234n, exec_queue_id: e.q, timeout: 0n }).err, 0, 'a true condition wins over the ban');
});

t.test('case 66: unmapped address is EFAULT; case 67 via UFENCE_WRITE', async (t) => {
  const e = await env(t);
  const m = e.p.mmapAnon(4096);
  e.p.munmap(m, 4096);
  const r = wait(e, { addr: m, value: 0n, timeout: -1n });
  t.equal(r.err, errno.EFAULT, 'case 66');
  t.ok(r.timeout < LONG_MAX && r.timeout > LONG_MAX - 1_000_000_000n, 'timeout written back on EFAULT too');
  t.throws(() => e.p.debug(DEBUG.UFENCE_WRITE, m, 7n), 'UFENCE_WRITE to an unmapped address fails');
  // Case 67 needs VM_BIND; the GPU-side write it describes is DEBUG.UFENCE_WRITE here.
  e.p.debug(DEBUG.UFENCE_WRITE, e.P, 7n);
  t.equal(e.p.mem.readU64(e.P), 7n, '*P == 7');
  t.equal(wait(e, { value: 7n, timeout: 0n }).err, 0, 'WAIT {P, EQ, 7}');
});

const WAITER = new URL('./helpers/ufence_waiter.js', import.meta.url);

interface WaitResult {
  rc: number;
  errno: number;
  timeout: bigint;
  elapsed: bigint;
}

/** Starts a waiter thread; resolves once it is about to call the ioctl. */
async function startWaiter(
  p: Process,
  data: { fd: number; addr: bigint; value: bigint; queue?: number; timeout?: bigint },
): Promise<{ done: () => boolean; result: Promise<WaitResult> }> {
  const worker = new Worker(WAITER, { workerData: { handle: p.threadHandle(), queue: 0, timeout: -1n, ...data } });
  let finished = false;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const result = new Promise<WaitResult>((resolve, reject) => {
    worker.on('message', (m: { ready?: boolean } & WaitResult) => {
      if (m.ready) return ready();
      finished = true;
      resolve(m);
    });
    worker.on('error', reject);
  });
  await isReady;
  await sleep(50); // let the ioctl reach the kernel and park
  return { done: () => finished, result };
}

t.test('a wait in one thread, woken by UFENCE_WRITE from another; other ioctls proceed', async (t) => {
  const e = await env(t);
  e.p.mem.writeU64(e.P, 0n);
  const w = await startWaiter(e.p, { fd: e.fd, addr: e.P, value: 42n });
  t.equal(w.done(), false, 'the waiter is blocked');
  // The main thread's calls are served while the other thread is parked.
  const vm = doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_VM_CREATE', {});
  t.equal(vm.rc, 0, 'VM_CREATE proceeds');
  t.equal(wait(e, { value: 0n, timeout: 0n }).err, 0, 'a polling wait proceeds');
  t.equal(wait(e, { value: 42n, timeout: 2_000_000n }).err, errno.ETIME, 'a short timed wait proceeds and times out');
  e.p.debug(DEBUG.UFENCE_WRITE, e.P, 41n);
  await sleep(50);
  t.equal(w.done(), false, 'a write of another value wakes it, but it goes back to sleep');
  e.p.debug(DEBUG.UFENCE_WRITE, e.P, 42n);
  const r = await w.result;
  t.equal(r.rc, 0, 'woken with success');
  t.ok(r.timeout < LONG_MAX && r.timeout >= LONG_MAX - r.elapsed - 1_000_000n, 'timeout: LONG_MAX minus the time waited');
  t.ok(r.elapsed >= 100_000_000n, 'it really waited');
});

t.test('a parked wait on a queue sees the ban (EIO), and a timed one expires', async (t) => {
  const e = await env(t);
  e.p.mem.writeU64(e.P, 0n);
  const w = await startWaiter(e.p, { fd: e.fd, addr: e.P, value: 1n, queue: e.q });
  t.equal(w.done(), false, 'blocked on a healthy queue');
  e.p.debug(DEBUG.QUEUE_BAN, BigInt(e.fd), BigInt(e.q));
  const r = await w.result;
  t.equal(r.rc, -1);
  t.equal(r.errno, errno.EIO, 'EIO after the ban');

  const w2 = await startWaiter(e.p, { fd: e.fd, addr: e.P, value: 1n, timeout: 200_000_000n });
  t.equal(w2.done(), false);
  const r2 = await w2.result;
  t.equal(r2.errno, errno.ETIME, 'a parked timed wait expires with ETIME');
  t.ok(r2.elapsed >= 196_000_000n, 'after about 200 ms');
  t.ok(r2.timeout >= 0n && r2.timeout < 10_000_000n, 'little or nothing left');

  // A queue destroyed while a wait on it is parked: the wait holds the (killed) queue, and
  // the next wake-up finds its reset status set.
  const inst = e.p.mem.alloc(8, 8);
  e.p.mem.write(inst, pack('drm_xe_engine_class_instance', { engine_class: C('DRM_XE_ENGINE_CLASS_COPY') }));
  const q2 = Number(doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: 1, instances: inst }).out.exec_queue_id);
  const w3 = await startWaiter(e.p, { fd: e.fd, addr: e.P, value: 1n, queue: q2 });
  t.equal(doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', { exec_queue_id: q2 }).rc, 0);
  e.p.debug(DEBUG.UFENCE_WRITE, e.P, 2n);
  t.equal((await w3.result).errno, errno.EIO, 'EIO: the queue was killed');
});
