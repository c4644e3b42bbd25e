/**
 * DRM syncobj ioctls against shared/spec/sync_exec.md section 8 and test cases 1-30 of
 * section 10 (cases 1, 2, 4 and 5 are dispatch / GET_CAP and live with those tests; 3 and 6
 * are here). Every error case also checks that nothing changed.
 */
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { C, createDevice, DEBUG, decode, IOCTL, pack, type FieldsIn } from '../src/index.js';
import { EBADF, ECANCELED, EFAULT, EINVAL, ENOENT, ETIME } from '../src/uapi/errno.js';
import { DRM_IOCTL_TYPE, ioc, iocDecode } from '../src/uapi/ioctl.js';
import { doIoctl, ioctlOk, type IoctlOutcome } from '../src/userspace/igt.js';

const SIGNALED = C('DRM_SYNCOBJ_CREATE_SIGNALED');
const WAIT_ALL = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL');
const WAIT_FOR_SUBMIT = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT');
const WAIT_AVAILABLE = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE');
const WAIT_DEADLINE = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE');
const LAST_SUBMITTED = C('DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED');
const EXPORT_SYNC_FILE = C('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE');
const EXPORT_TIMELINE = C('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE');
const IMPORT_SYNC_FILE = C('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE');
const IMPORT_TIMELINE = C('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE');
const UNTOUCHED = 0x5a5a5a5a;

const dev = await createDevice();
const p = dev.process;
t.teardown(() => dev.close());

// ---- helpers

/** errno of an outcome, 0 on success. */
function err(r: IoctlOutcome): number {
  return r.rc < 0 ? r.errno : 0;
}

/** A u32 array in user memory. */
function u32s(values: number[]): bigint {
  const a = p.mem.alloc(Math.max(4, values.length * 4), 8);
  values.forEach((v, i) => p.mem.writeU32(a + BigInt(4 * i), v));
  return a;
}

/** A u64 array in user memory. */
function u64s(values: Array<bigint | number>): bigint {
  const a = p.mem.alloc(Math.max(8, values.length * 8), 8);
  values.forEach((v, i) => p.mem.writeU64(a + BigInt(8 * i), BigInt(v)));
  return a;
}

function create(fd: number, flags = 0): number {
  return ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags }).handle as number;
}

function wait(fd: number, handles: number[], f: FieldsIn = {}): IoctlOutcome {
  return doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
    handles: u32s(handles), count_handles: handles.length, first_signaled: UNTOUCHED, ...f,
  });
}

function twait(fd: number, handles: number[], points: Array<bigint | number>, f: FieldsIn = {}): IoctlOutcome {
  return doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', {
    handles: u32s(handles), points: u64s(points), count_handles: handles.length, first_signaled: UNTOUCHED, ...f,
  });
}

function array(fd: number, name: 'RESET' | 'SIGNAL', handles: number[], f: FieldsIn = {}): IoctlOutcome {
  return doIoctl(p, fd, `DRM_IOCTL_SYNCOBJ_${name}`, { handles: u32s(handles), count_handles: handles.length, ...f });
}

function tsignal(fd: number, handles: number[], points: Array<bigint | number>, f: FieldsIn = {}): IoctlOutcome {
  return doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', {
    handles: u32s(handles), points: u64s(points), count_handles: handles.length, ...f,
  });
}

/** QUERY: the points, or throws. */
function query(fd: number, handles: number[], flags = 0): bigint[] {
  const pts = u64s(handles.map(() => 0xeeeeeeeen));
  const r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles: u32s(handles), points: pts, count_handles: handles.length, flags });
  if (r.rc < 0) throw new Error(`QUERY failed: errno ${r.errno}`);
  return handles.map((_, i) => p.mem.readU64(pts + BigInt(8 * i)));
}

function transfer(fd: number, f: FieldsIn): IoctlOutcome {
  return doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TRANSFER', f);
}

/** A pending fence the test completes (FENCE_ATTACH): point 0 replaces, else adds a point. */
function attach(fd: number, handle: number, point = 0n): bigint {
  return p.debug(DEBUG.FENCE_ATTACH, BigInt(fd), BigInt(handle), point)[0];
}

function fsignal(id: bigint, errno = 0): void {
  p.debug(DEBUG.FENCE_SIGNAL, id, BigInt(errno));
}

/** Whether a binary wait with timeout 0 finds the syncobj signalled (0), pending (ETIME) or empty (EINVAL). */
function state(fd: number, h: number): number {
  return err(wait(fd, [h]));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface ThreadRun {
  started: Promise<void>;
  done: Promise<{ rc: number; errno: number; out: Record<string, unknown> }>;
  finished: () => boolean;
}

/** Runs one ioctl on a new thread of the process (test/helpers/ioctl_thread.ts). */
function inThread(fd: number, name: string, fields: FieldsIn): ThreadRun {
  const w = new Worker(new URL('./helpers/ioctl_thread.js', import.meta.url), {
    workerData: { handle: p.threadHandle(), fd, name, fields },
  });
  let fin = false;
  let started!: () => void;
  const s = new Promise<void>((r) => (started = r));
  const done = new Promise<{ rc: number; errno: number; out: Record<string, unknown> }>((resolve, reject) => {
    w.on('message', (m: { kind: string; rc: number; errno: number; out: Record<string, unknown> }) => {
      if (m.kind === 'started') started();
      else {
        fin = true;
        resolve(m);
      }
    });
    w.on('error', reject);
  });
  return { started: s, done, finished: () => fin };
}

// ---- dispatch-level cases

t.test('case 3: old 32-byte SYNCOBJ_WAIT command', async (t) => {
  const fd = p.open();
  const h = create(fd, SIGNALED);
  const old = ioc('RW', DRM_IOCTL_TYPE, iocDecode(IOCTL('DRM_IOCTL_SYNCOBJ_WAIT')).nr, 32);
  t.equal(old, 0xc02064c3);
  const a = p.mem.alloc(40, 8);
  p.mem.write(a, pack('drm_syncobj_wait', {
    handles: u32s([h]), count_handles: 1, timeout_nsec: 0n, flags: 0, first_signaled: UNTOUCHED, deadline_nsec: 0xdeadbeefcafef00dn,
  }));
  t.equal(p.ioctl(fd, old, a), 0);
  const out = decode('drm_syncobj_wait', p.mem.read(a, 40));
  t.equal(out.first_signaled, 0);
  t.equal(out.deadline_nsec, 0xdeadbeefcafef00dn, 'only 32 bytes are written back');
  p.close(fd);
});

t.test('case 6: wedged device: CREATE fails with ECANCELED and creates nothing', async (t) => {
  const fd = p.open();
  p.wedge();
  try {
    t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags: 0 })), ECANCELED);
    t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { count_handles: 0 })), ECANCELED);
  } finally {
    p.wedge(false);
  }
  t.equal(create(fd), 1, 'first handle after unwedging is 1');
  p.close(fd);
});

t.test('dispatch: an unserved core slot; a copy-back fault replaces the result (sync_exec.md 1.2 steps 3, 9)', async (t) => {
  const fd = p.open();
  const a = p.mem.alloc(24, 8);
  p.mem.write(a, new Uint8Array(24).fill(0xa5));
  // 0x3D lies between CRTC_QUEUE_SEQUENCE and UPDATE_DRAW: a gap of drm_ioctls[], no handler.
  t.equal(p.ioctl(fd, ioc('RW', DRM_IOCTL_TYPE, 0x3d, 24), a), -1);
  t.equal(p.errno, EINVAL, 'a core slot without a handler');
  t.same([...p.mem.read(a, 24)], new Array(24).fill(0xa5), 'argument memory untouched');
  // A READ-only user direction on an IOWR ioctl: nothing is copied in (the handler sees zeros),
  // the result is copied out to an unmapped address: -EFAULT replaces the handler's 0.
  const nr = (name: string): number => iocDecode(IOCTL(name)).nr;
  t.equal(p.ioctl(fd, ioc('R', DRM_IOCTL_TYPE, nr('DRM_IOCTL_SYNCOBJ_WAIT'), 40), 0x10n), -1);
  t.equal(p.errno, EFAULT, 'WAIT with count 0 succeeds, the copy back faults');
  // The handler ran all the same: CREATE made handle 1, which stays (as in the kernel).
  t.equal(p.ioctl(fd, ioc('R', DRM_IOCTL_TYPE, nr('DRM_IOCTL_SYNCOBJ_CREATE'), 8), 0x10n), -1);
  t.equal(p.errno, EFAULT);
  t.equal(create(fd), 2, 'the handle made before the faulting copy back is kept');
  p.close(fd);
});

// ---- CREATE / DESTROY

t.test('cases 7, 8: CREATE flags and lowest-free handles', async (t) => {
  const fd = p.open();
  const bad = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags: 2, handle: 77 });
  t.equal(err(bad), EINVAL);
  t.equal(bad.out.handle, 77, 'handle not written on error');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags: 0xfffffffe })), EINVAL);
  t.equal(create(fd), 1, 'no handle was allocated by the failed creates');
  t.equal(create(fd), 2);
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: 1 });
  t.equal(create(fd), 1, 'lowest free handle is reused');
  t.equal(create(fd), 3);
  // Handles are per file.
  const fd2 = p.open();
  t.equal(create(fd2), 1);
  p.close(fd2);
  p.close(fd);
});

t.test('CREATE contents: empty vs SIGNALED', async (t) => {
  const fd = p.open();
  const e = create(fd);
  const s = create(fd, SIGNALED);
  t.equal(state(fd, e), EINVAL, 'empty: no fence');
  t.equal(state(fd, s), 0, 'SIGNALED: a signalled stub');
  t.same(query(fd, [e, s]), [0n, 0n], 'neither is a timeline');
  p.close(fd);
});

t.test('case 17: DESTROY errors', async (t) => {
  const fd = p.open();
  const h = create(fd, SIGNALED);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: 999 })), EINVAL);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: h, pad: 1 })), EINVAL);
  t.equal(state(fd, h), 0, 'h still exists with its fence');
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: h });
  t.equal(err(wait(fd, [h])), ENOENT, 'gone after a real destroy');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: h })), EINVAL, 'second destroy');
  p.close(fd);
});

// ---- WAIT

t.test('cases 9-11, 14, 15: WAIT argument and content errors', async (t) => {
  const fd = p.open();
  const a = create(fd, SIGNALED);
  const b = create(fd);
  let r = wait(fd, [b]);
  t.equal(err(r), EINVAL, 'case 9: empty syncobj');
  t.equal(r.out.first_signaled, UNTOUCHED, 'first_signaled left as passed');
  r = wait(fd, [b], { flags: WAIT_FOR_SUBMIT });
  t.equal(err(r), ETIME, 'case 10: WAIT_FOR_SUBMIT polls and times out');
  t.equal(r.out.first_signaled, UNTOUCHED);
  t.equal(err(wait(fd, [b, a])), EINVAL, 'case 11: missing fence beats a signalled one');
  t.equal(err(wait(fd, [a, b])), EINVAL, 'also when the signalled one comes first');
  t.equal(err(wait(fd, [a], { flags: WAIT_AVAILABLE })), EINVAL, 'case 14: WAIT_AVAILABLE not accepted');
  t.equal(err(wait(fd, [a], { flags: 0x10 })), EINVAL, 'unknown flag');
  r = wait(fd, [a, 999]);
  t.equal(err(r), ENOENT, 'case 15: unknown handle');
  t.equal(r.out.first_signaled, UNTOUCHED);
  t.equal(err(wait(fd, [999, b])), ENOENT, 'lookup comes before the content check');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { handles: 0n, count_handles: 1 })), EFAULT, 'bad handle array');
  r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { handles: 0n, count_handles: 0, first_signaled: UNTOUCHED });
  t.equal(err(r), 0, 'count 0 returns 0 (newest)');
  t.equal(r.out.first_signaled, UNTOUCHED);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { flags: WAIT_AVAILABLE, count_handles: 0 })), EINVAL, 'flags checked before count');
  p.close(fd);
});

t.test('case 12 and first_signaled rules', async (t) => {
  const fd = p.open();
  const a = create(fd, SIGNALED);
  const h = create(fd);
  const id = attach(fd, h);
  let r = wait(fd, [h, a]);
  t.equal(err(r), 0, 'case 12');
  t.equal(r.out.first_signaled, 1);
  r = wait(fd, [h, a], { flags: WAIT_ALL });
  t.equal(err(r), ETIME, 'WAIT_ALL with one pending');
  t.equal(r.out.first_signaled, UNTOUCHED);
  r = wait(fd, [a, h, a], { flags: WAIT_DEADLINE, deadline_nsec: 1n });
  t.equal(err(r), 0, 'WAIT_DEADLINE is only a hint');
  t.equal(r.out.first_signaled, 0);
  fsignal(id, 5);
  r = wait(fd, [h]);
  t.equal(err(r), 0, 'a fence signalled with an error counts as signalled');
  t.equal(r.out.first_signaled, 0);
  r = wait(fd, [h, a], { flags: WAIT_ALL });
  t.equal(err(r), 0);
  t.equal(r.out.first_signaled, 0, 'WAIT_ALL: first entry signalled in the initial scan');
  // A timeout in the past polls.
  const e = create(fd);
  attach(fd, e);
  t.equal(err(wait(fd, [e], { timeout_nsec: 1n })), ETIME);
  t.equal(err(wait(fd, [e], { timeout_nsec: -5n })), ETIME);
  p.close(fd);
});

t.test('case 16: pending fence, timeout now + 1 ms', async (t) => {
  const fd = p.open();
  const h = create(fd);
  attach(fd, h);
  const start = p.clockMonotonicNs();
  const r = wait(fd, [h], { timeout_nsec: start + 1_000_000n });
  const elapsed = p.clockMonotonicNs() - start;
  t.equal(err(r), ETIME);
  t.ok(elapsed >= 1_000_000n, `ETIME only after the deadline (${elapsed} ns)`);
  t.ok(elapsed < 1_000_000_000n, 'and about then');
  t.equal(r.out.first_signaled, UNTOUCHED);
  p.close(fd);
});

t.test('blocking waits on other threads do not block the kernel (case 13 and more)', async (t) => {
  const fd = p.open();
  t.teardown(() => void p.close(fd));

  t.test('case 13: WAIT_ALL on two pending fences', async (t) => {
    const h1 = create(fd);
    const h2 = create(fd);
    const f1 = attach(fd, h1);
    const f2 = attach(fd, h2);
    const run = inThread(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
      handles: u32s([h1, h2]), count_handles: 2, flags: WAIT_ALL, first_signaled: UNTOUCHED,
      timeout_nsec: p.clockMonotonicNs() + 10_000_000_000n,
    });
    await run.started;
    await sleep(100);
    t.notOk(run.finished(), 'still waiting');
    // Other calls go through while the wait is parked.
    const other = create(fd, SIGNALED);
    t.equal(state(fd, other), 0);
    t.same(query(fd, [h1, h2]), [0n, 0n]);
    fsignal(f1);
    await sleep(50);
    t.notOk(run.finished(), 'WAIT_ALL still needs h2');
    fsignal(f2);
    const r = await run.done;
    t.equal(r.rc, 0);
    t.equal(r.out.first_signaled, 0xffffffff, 'none was signalled in the initial scan');
  });

  t.test('any-of wait reports the signalled index', async (t) => {
    const h1 = create(fd);
    const h2 = create(fd);
    attach(fd, h1);
    const f2 = attach(fd, h2);
    const run = inThread(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
      handles: u32s([h1, h2]), count_handles: 2, first_signaled: UNTOUCHED, timeout_nsec: p.clockMonotonicNs() + 10_000_000_000n,
    });
    await run.started;
    await sleep(50);
    fsignal(f2);
    const r = await run.done;
    t.equal(r.rc, 0);
    t.equal(r.out.first_signaled, 1);
  });

  t.test('WAIT_ALL with one already signalled keeps its index', async (t) => {
    const h = create(fd);
    const a = create(fd, SIGNALED);
    const f = attach(fd, h);
    const run = inThread(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
      handles: u32s([h, a]), count_handles: 2, flags: WAIT_ALL, first_signaled: UNTOUCHED,
      timeout_nsec: p.clockMonotonicNs() + 10_000_000_000n,
    });
    await run.started;
    await sleep(50);
    fsignal(f);
    const r = await run.done;
    t.equal(r.rc, 0);
    t.equal(r.out.first_signaled, 1);
  });

  t.test('WAIT_FOR_SUBMIT waits for a fence to be attached, then for it', async (t) => {
    const h = create(fd);
    const run = inThread(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
      handles: u32s([h]), count_handles: 1, flags: WAIT_FOR_SUBMIT, first_signaled: UNTOUCHED,
      timeout_nsec: p.clockMonotonicNs() + 10_000_000_000n,
    });
    await run.started;
    await sleep(50);
    const f = attach(fd, h);
    await sleep(50);
    t.notOk(run.finished(), 'attached but not signalled');
    fsignal(f);
    const r = await run.done;
    t.equal(r.rc, 0);
    t.equal(r.out.first_signaled, 0);
  });

  t.test('the wait keeps the fence it found when the syncobj is reset', async (t) => {
    const h = create(fd);
    const f = attach(fd, h);
    const run = inThread(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
      handles: u32s([h]), count_handles: 1, first_signaled: UNTOUCHED, timeout_nsec: p.clockMonotonicNs() + 10_000_000_000n,
    });
    await run.started;
    await sleep(50);
    t.equal(err(array(fd, 'RESET', [h])), 0);
    t.equal(err(array(fd, 'SIGNAL', [h])), 0);
    await sleep(50);
    t.notOk(run.finished(), 'still waiting on the original fence');
    fsignal(f);
    t.equal((await run.done).rc, 0);
  });

  t.test('TIMELINE_WAIT WAIT_AVAILABLE returns once the point exists', async (t) => {
    const tl = create(fd);
    const run = inThread(fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', {
      handles: u32s([tl]), points: u64s([4]), count_handles: 1, flags: WAIT_AVAILABLE, first_signaled: UNTOUCHED,
      timeout_nsec: p.clockMonotonicNs() + 10_000_000_000n,
    });
    await run.started;
    await sleep(50);
    t.equal(err(tsignal(fd, [tl], [2])), 0);
    await sleep(50);
    t.notOk(run.finished(), 'point 2 does not make point 4 available');
    attach(fd, tl, 4n);
    const r = await run.done;
    t.equal(r.rc, 0);
    t.equal(r.out.first_signaled, 0);
    t.same(query(fd, [tl]), [2n], 'point 4 itself is still pending');
  });

  t.test('TRANSFER WAIT_FOR_SUBMIT completes when the source point appears', async (t) => {
    const src = create(fd);
    const dst = create(fd);
    const run = inThread(fd, 'DRM_IOCTL_SYNCOBJ_TRANSFER', {
      src_handle: src, dst_handle: dst, src_point: 3n, dst_point: 9n, flags: WAIT_FOR_SUBMIT,
    });
    await run.started;
    await sleep(50);
    const f = attach(fd, src, 3n);
    t.equal((await run.done).rc, 0);
    t.same(query(fd, [dst], LAST_SUBMITTED), [9n]);
    t.same(query(fd, [dst]), [0n], 'dst point 9 carries the pending fence');
    fsignal(f);
    t.same(query(fd, [dst]), [9n]);
  });
});

// ---- RESET / SIGNAL

t.test('case 18: RESET empties', async (t) => {
  const fd = p.open();
  const h = create(fd, SIGNALED);
  t.equal(err(array(fd, 'RESET', [h])), 0);
  t.equal(state(fd, h), EINVAL);
  t.equal(err(wait(fd, [h], { flags: WAIT_FOR_SUBMIT })), ETIME);
  p.close(fd);
});

t.test('case 19: RESET / SIGNAL errors change nothing', async (t) => {
  const fd = p.open();
  const s = create(fd, SIGNALED);
  const e = create(fd);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_SIGNAL', { handles: u32s([e]), count_handles: 0 })), EINVAL);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_RESET', { handles: u32s([e]), count_handles: 0 })), EINVAL);
  t.equal(err(array(fd, 'RESET', [s], { pad: 1 })), EINVAL);
  t.equal(err(array(fd, 'SIGNAL', [e], { pad: 1 })), EINVAL);
  t.equal(err(array(fd, 'RESET', [s, 999])), ENOENT, 'unknown handle after a valid one');
  t.equal(err(array(fd, 'SIGNAL', [e, 999])), ENOENT);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_RESET', { handles: 0n, count_handles: 1 })), EFAULT);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_SIGNAL', { handles: 0n, count_handles: 1 })), EFAULT);
  t.equal(state(fd, s), 0, 's still has its fence');
  t.equal(state(fd, e), EINVAL, 'e still empty');
  t.equal(err(array(fd, 'SIGNAL', [e, s])), 0);
  t.equal(state(fd, e), 0);
  p.close(fd);
});

t.test('SIGNAL on a timeline drops the chain', async (t) => {
  const fd = p.open();
  const tl = create(fd);
  t.equal(err(tsignal(fd, [tl], [5])), 0);
  t.same(query(fd, [tl]), [5n]);
  t.equal(err(array(fd, 'SIGNAL', [tl])), 0);
  t.same(query(fd, [tl]), [0n]);
  t.same(query(fd, [tl], LAST_SUBMITTED), [0n]);
  t.equal(err(twait(fd, [tl], [1])), EINVAL, 'no timeline any more');
  p.close(fd);
});

// ---- TIMELINE_SIGNAL / QUERY / TIMELINE_WAIT

t.test('cases 20-24: timeline signal, query, wait', async (t) => {
  const fd = p.open();
  const tl = create(fd);
  t.equal(err(tsignal(fd, [tl], [5], { flags: 1 })), EINVAL, 'case 20');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', { handles: u32s([tl]), points: u64s([5]), count_handles: 0 })), EINVAL);
  t.same(query(fd, [tl], LAST_SUBMITTED), [0n], 'failed signals added nothing');
  t.equal(err(tsignal(fd, [tl], [5])), 0, 'case 21');
  t.same(query(fd, [tl]), [5n]);
  t.same(query(fd, [tl], LAST_SUBMITTED), [5n]);

  let r = twait(fd, [tl], [6]);
  t.equal(err(r), EINVAL, 'case 22: point not submitted');
  t.equal(r.out.first_signaled, UNTOUCHED);
  t.equal(err(twait(fd, [tl], [6], { flags: WAIT_FOR_SUBMIT })), ETIME);
  t.equal(err(twait(fd, [tl], [6], { flags: WAIT_AVAILABLE })), ETIME);
  t.equal(err(tsignal(fd, [tl], [6])), 0);
  r = twait(fd, [tl], [6], { flags: WAIT_AVAILABLE });
  t.equal(err(r), 0);
  t.equal(r.out.first_signaled, 0);

  r = twait(fd, [tl], [3]);
  t.equal(err(r), 0, 'case 23: already complete');
  t.equal(r.out.first_signaled, 0);

  const b = create(fd, SIGNALED);
  t.equal(err(twait(fd, [b], [1])), EINVAL, 'case 24: binary with a point');
  t.same(query(fd, [b]), [0n]);
  t.equal(err(twait(fd, [b], [0])), 0, 'point 0 is the binary fence');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', { handles: u32s([b]), points: 0n, count_handles: 1 })), 0, 'NULL points = zeros');

  t.equal(err(twait(fd, [tl], [1], { flags: 0x10 })), EINVAL, 'unknown flag');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', { count_handles: 0 })), 0, 'count 0 returns 0');
  t.equal(err(twait(fd, [tl, 999], [1, 1])), ENOENT);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', { handles: u32s([999]), points: 8n, count_handles: 1 })), ENOENT, 'handles before points');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', { handles: u32s([tl]), points: 8n, count_handles: 1 })), EFAULT, 'bad points array');
  r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', { handles: 8n, points: u64s([1]), count_handles: 1, first_signaled: UNTOUCHED });
  t.equal(err(r), EFAULT, 'bad handle array');
  t.equal(r.out.first_signaled, UNTOUCHED, 'first_signaled left as passed');
  p.close(fd);
});

t.test('case 25: points are cumulative', async (t) => {
  const fd = p.open();
  const tl = create(fd);
  const job = attach(fd, tl, 1n);
  t.equal(err(tsignal(fd, [tl], [2])), 0);
  t.same(query(fd, [tl]), [0n]);
  t.same(query(fd, [tl], LAST_SUBMITTED), [2n]);
  t.equal(err(twait(fd, [tl], [2])), ETIME, 'point 2 waits on point 1');
  fsignal(job);
  t.same(query(fd, [tl]), [2n]);
  t.equal(err(twait(fd, [tl], [2])), 0);
  p.close(fd);
});

t.test('QUERY: partial progress, unordered points, errors', async (t) => {
  const fd = p.open();
  const tl = create(fd);
  const f1 = attach(fd, tl, 1n);
  const f2 = attach(fd, tl, 2n);
  attach(fd, tl, 3n);
  t.same(query(fd, [tl]), [0n]);
  fsignal(f1);
  t.same(query(fd, [tl]), [1n]);
  fsignal(f2);
  t.same(query(fd, [tl]), [2n]);
  t.same(query(fd, [tl], LAST_SUBMITTED), [3n]);

  // An unordered point starts a new context: QUERY stops at the break.
  const u = create(fd);
  t.equal(err(tsignal(fd, [u], [5])), 0);
  const pend = attach(fd, u, 3n);
  t.same(query(fd, [u]), [0n], 'pending unordered head: 0');
  t.same(query(fd, [u], LAST_SUBMITTED), [5n], 'seqno kept monotonic');
  fsignal(pend);
  t.same(query(fd, [u]), [5n]);

  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles: u32s([tl]), points: u64s([0]), count_handles: 1, flags: 2 })), EINVAL);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles: u32s([tl]), points: u64s([0]), count_handles: 0 })), EINVAL);
  const untouchedPts = u64s([0xeeeen, 0xeeeen]);
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles: u32s([tl, 999]), points: untouchedPts, count_handles: 2 })), ENOENT);
  t.same([p.mem.readU64(untouchedPts), p.mem.readU64(untouchedPts + 8n)], [0xeeeen, 0xeeeen], 'no point written: lookup comes first');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles: 8n, points: untouchedPts, count_handles: 1 })), EFAULT, 'bad handle array');
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', { handles: 8n, points: u64s([9]), count_handles: 1 })), EFAULT, 'TIMELINE_SIGNAL: bad handle array');

  // Points written one at a time: the second write faults, the first stays. A mapped page
  // followed by an unmapped one; no allocation happens between the munmap and the calls.
  const qa = p.mem.alloc(24, 8);
  const sa = p.mem.alloc(24, 8);
  const hs = u32s([tl, u]);
  const page = p.mmapAnon(4096);
  const next = p.mmapAnon(4096);
  t.equal(next, page + 4096n, 'adjacent mappings');
  t.equal(p.munmap(next, 4096), 0);
  t.throws(() => p.mem.read(next, 1), 'the next page is unmapped');
  const pts = page + 4096n - 8n;
  p.mem.write(qa, pack('drm_syncobj_timeline_array', { handles: hs, points: pts, count_handles: 2 }));
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_SYNCOBJ_QUERY'), qa), -1);
  t.equal(p.errno, EFAULT);
  t.equal(p.mem.readU64(pts), 2n, 'first point written before the fault');

  // TIMELINE_SIGNAL copies the points before modifying anything.
  p.mem.write(sa, pack('drm_syncobj_timeline_array', { handles: hs + 4n, points: next, count_handles: 1 }));
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL'), sa), -1);
  t.equal(p.errno, EFAULT);
  t.equal(err(tsignal(fd, [u, 999], [9, 9])), ENOENT);
  t.same(query(fd, [u], LAST_SUBMITTED), [5n], 'nothing added');
  p.close(fd);
});

// ---- TRANSFER

t.test('cases 26-28: TRANSFER', async (t) => {
  const fd = p.open();
  const s = create(fd, SIGNALED);
  const d = create(fd);
  t.equal(err(transfer(fd, { src_handle: s, src_point: 0n, dst_handle: d, dst_point: 3n })), 0, 'case 26');
  t.same(query(fd, [d]), [3n]);

  const d2 = create(fd);
  t.equal(err(transfer(fd, { src_handle: s, src_point: 7n, dst_handle: d2, dst_point: 0n })), EINVAL, 'case 27: binary source with a point');
  t.equal(state(fd, d2), EINVAL, 'd2 unchanged');
  t.equal(err(transfer(fd, { src_handle: s, src_point: 7n, dst_handle: d2, dst_point: 0n, flags: WAIT_ALL })), EINVAL, 'flags other than WAIT_FOR_SUBMIT');
  t.equal(err(transfer(fd, { src_handle: s, src_point: 0n, dst_handle: d2, dst_point: 0n, flags: WAIT_ALL })), EINVAL, 'even for a resolvable source');
  t.equal(state(fd, d2), EINVAL, 'd2 unchanged');
  const t0 = p.clockMonotonicNs();
  const r = transfer(fd, { src_handle: s, src_point: 7n, dst_handle: d2, dst_point: 0n, flags: WAIT_FOR_SUBMIT });
  const waited = p.clockMonotonicNs() - t0;
  t.equal(err(r), ETIME, 'case 27: WAIT_FOR_SUBMIT gives up');
  t.ok(waited >= 5_000_000_000n && waited < 7_000_000_000n, `after about 5 s (${waited} ns)`);
  t.equal(state(fd, d2), EINVAL, 'd2 unchanged');

  t.equal(err(transfer(fd, { src_handle: s, dst_handle: 999, dst_point: 1n })), ENOENT, 'case 28: no dst');
  t.equal(err(transfer(fd, { src_handle: s, dst_handle: 999 })), ENOENT);
  t.equal(err(transfer(fd, { src_handle: 999, dst_handle: d2 })), ENOENT, 'no src');
  t.equal(err(transfer(fd, { src_handle: 999, dst_handle: d2, flags: WAIT_ALL })), ENOENT, 'src lookup before the flags (newest drm_syncobj_find_fence)');
  t.equal(err(transfer(fd, { src_handle: 999, dst_handle: d2, dst_point: 1n, flags: WAIT_ALL })), ENOENT, 'also to a timeline point');
  t.equal(state(fd, d2), EINVAL, 'd2 unchanged');
  t.equal(err(transfer(fd, { src_handle: s, dst_handle: 999, flags: WAIT_ALL })), ENOENT, 'dst before flags');
  t.equal(err(transfer(fd, { src_handle: s, dst_handle: d2, pad: 1 })), EINVAL, 'case 28: pad');
  t.equal(err(transfer(fd, { src_handle: 999, dst_handle: 999, pad: 1 })), EINVAL, 'pad first');
  t.equal(state(fd, d2), EINVAL);

  // Timeline to binary: the point's fence replaces the content.
  const tl = create(fd);
  const job = attach(fd, tl, 2n);
  t.equal(err(transfer(fd, { src_handle: tl, src_point: 2n, dst_handle: d2, dst_point: 0n })), 0);
  t.equal(state(fd, d2), ETIME, 'pending');
  // A point that has completed resolves to a signalled fence.
  t.equal(err(transfer(fd, { src_handle: d, src_point: 1n, dst_handle: s, dst_point: 0n })), 0);
  t.equal(state(fd, s), 0);
  fsignal(job);
  t.equal(state(fd, d2), 0);
  p.close(fd);
});

// ---- HANDLE_TO_FD / FD_TO_HANDLE

t.test('cases 29, 30: HANDLE_TO_FD / FD_TO_HANDLE errors', async (t) => {
  const fd = p.open();
  const h = create(fd, SIGNALED);
  const bad = (name: string, f: FieldsIn): number => err(doIoctl(p, fd, `DRM_IOCTL_SYNCOBJ_${name}`, { fd: -1, ...f }));
  t.equal(bad('HANDLE_TO_FD', { handle: h, flags: 0, point: 4n }), EINVAL, 'case 29: point without export');
  t.equal(bad('HANDLE_TO_FD', { handle: h, flags: EXPORT_TIMELINE, point: 4n }), EINVAL, 'point with TIMELINE but no export');
  t.equal(bad('HANDLE_TO_FD', { handle: 999, flags: 0 }), EINVAL, 'case 29: unknown handle, plain export');
  t.equal(bad('HANDLE_TO_FD', { handle: 999, flags: EXPORT_SYNC_FILE }), ENOENT, 'case 29: unknown handle, sync_file');
  t.equal(bad('HANDLE_TO_FD', { handle: h, flags: 4 }), EINVAL, 'unknown flag');
  t.equal(bad('HANDLE_TO_FD', { handle: h, pad: 1 }), EINVAL, 'pad');
  const e = create(fd);
  t.equal(bad('HANDLE_TO_FD', { handle: e, flags: EXPORT_SYNC_FILE }), EINVAL, 'no fence to export');
  t.equal(bad('HANDLE_TO_FD', { handle: h, flags: EXPORT_SYNC_FILE | EXPORT_TIMELINE, point: 1n }), EINVAL, 'binary has no point 1');
  // No failure wrote `fd` or took an fd number (the sync_file path reserves one first and gives it back).
  const probe = p.eventfd();
  p.close(probe);
  for (const f of [
    { handle: h, flags: 0, point: 4n }, { handle: 999, flags: 0 }, { handle: 999, flags: EXPORT_SYNC_FILE },
    { handle: e, flags: EXPORT_SYNC_FILE }, { handle: h, flags: EXPORT_SYNC_FILE | EXPORT_TIMELINE, point: 1n },
  ]) {
    t.equal(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { fd: -1, ...f }).out.fd, -1, `fd field untouched (${JSON.stringify(f, (_, v) => (typeof v === 'bigint' ? Number(v) : v))})`);
  }
  const again = p.eventfd();
  t.equal(again, probe, 'no fd number consumed by the failures');
  p.close(again);

  const ev = p.eventfd();
  const r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: ev, flags: 0, handle: 0 });
  t.equal(err(r), EINVAL, 'case 30: eventfd is not a syncobj fd');
  t.equal(r.out.handle, 0);
  t.equal(bad('FD_TO_HANDLE', { fd: 1000 }), EINVAL, 'not an fd');
  t.equal(bad('FD_TO_HANDLE', { fd, flags: 0 }), EINVAL, 'a DRM fd');
  t.equal(bad('FD_TO_HANDLE', { fd: ev, flags: IMPORT_SYNC_FILE, handle: h }), EINVAL, 'eventfd is not a sync_file');
  t.equal(bad('FD_TO_HANDLE', { fd: ev, flags: IMPORT_SYNC_FILE, handle: 999 }), EINVAL, 'the fd is checked before the target handle');
  t.equal(bad('FD_TO_HANDLE', { fd: ev, flags: 4 }), EINVAL, 'unknown flag');
  t.equal(bad('FD_TO_HANDLE', { fd: ev, pad: 1 }), EINVAL, 'pad');
  const sf = ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: h, flags: EXPORT_SYNC_FILE }).fd as number;
  t.equal(bad('FD_TO_HANDLE', { fd: sf, flags: IMPORT_SYNC_FILE, handle: 999 }), ENOENT, 'import into unknown handle');
  t.equal(bad('FD_TO_HANDLE', { fd: sf, flags: 0, point: 2n }), EINVAL, 'point without import');
  t.equal(bad('FD_TO_HANDLE', { fd: sf, flags: 0 }), EINVAL, 'sync_file is not a syncobj fd');
  t.equal(create(fd), 3, 'no handle was allocated');
  p.close(sf);
  p.close(ev);
  p.close(fd);
});

t.test('syncobj fds share the object', async (t) => {
  const fd = p.open();
  const fd2 = p.open();
  const h = create(fd);
  const out = ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: h, flags: 0 });
  const sfd = out.fd as number;
  t.ok(sfd >= 3);
  const h2 = ioctlOk(p, fd2, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: sfd, flags: 0 }).handle as number;
  t.equal(h2, 1);
  const h3 = ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: sfd }).handle as number;
  t.equal(h3, 2, 'every import is a new handle');
  p.close(sfd);
  const f = attach(fd, h);
  t.equal(state(fd2, h2), ETIME, 'the fence is visible through the other file');
  fsignal(f);
  t.equal(state(fd2, h2), 0);
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: h });
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle: h3 });
  t.equal(err(array(fd2, 'RESET', [h2])), 0, 'alive while a handle remains');
  t.equal(state(fd2, h2), EINVAL);
  p.close(fd);
  p.close(fd2);
});

t.test('sync_file export / import', async (t) => {
  const fd = p.open();
  const h = create(fd);
  const f = attach(fd, h);
  const sf = ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: h, flags: EXPORT_SYNC_FILE }).fd as number;
  t.equal(err(array(fd, 'RESET', [h])), 0, 'the sync_file keeps the fence it was given');
  const b = create(fd, SIGNALED);
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: sf, flags: IMPORT_SYNC_FILE, handle: b });
  t.equal(state(fd, b), ETIME, 'imported pending fence replaced the stub');
  const tl = create(fd);
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: sf, flags: IMPORT_SYNC_FILE | IMPORT_TIMELINE, handle: tl, point: 4n });
  t.same(query(fd, [tl], LAST_SUBMITTED), [4n], 'imported as point 4');
  t.same(query(fd, [tl]), [0n]);
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: sf, flags: IMPORT_SYNC_FILE, handle: b, point: 4n });
  t.equal(state(fd, b), ETIME, 'point ignored without TIMELINE: replaced');
  t.same(query(fd, [b]), [0n]);
  fsignal(f);
  t.equal(state(fd, b), 0);
  t.same(query(fd, [tl]), [4n]);

  // Export a timeline point; a complete point exports a signalled stub.
  const job = attach(fd, tl, 6n);
  const sf6 = ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: tl, flags: EXPORT_SYNC_FILE | EXPORT_TIMELINE, point: 6n }).fd as number;
  const sf2 = ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: tl, flags: EXPORT_SYNC_FILE | EXPORT_TIMELINE, point: 2n }).fd as number;
  t.equal(err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: tl, flags: EXPORT_SYNC_FILE | EXPORT_TIMELINE, point: 7n })), EINVAL, 'not submitted');
  const x = create(fd);
  const y = create(fd);
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: sf6, flags: IMPORT_SYNC_FILE, handle: x });
  ioctlOk(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: sf2, flags: IMPORT_SYNC_FILE, handle: y });
  t.equal(state(fd, x), ETIME);
  t.equal(state(fd, y), 0);
  fsignal(job);
  t.equal(state(fd, x), 0);
  for (const s of [sf, sf6, sf2]) p.close(s);
  p.close(fd);
});

// ---- EVENTFD

t.test('EVENTFD', async (t) => {
  const fd = p.open();
  const h = create(fd);
  const ev = p.eventfd();
  const ef = (f: FieldsIn): number => err(doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle: h, fd: ev, ...f }));
  t.equal(ef({ flags: WAIT_FOR_SUBMIT }), EINVAL, 'only WAIT_AVAILABLE');
  t.equal(ef({ pad: 1 }), EINVAL);
  t.equal(ef({ handle: 999 }), ENOENT);
  t.equal(ef({ fd: 1000 }), EBADF, 'not an fd');
  t.equal(ef({ fd }), EINVAL, 'not an eventfd');
  t.equal(ef({ handle: 999, fd: 1000 }), ENOENT, 'handle before fd');
  t.equal(ef({ flags: WAIT_AVAILABLE | WAIT_FOR_SUBMIT }), EINVAL, 'WAIT_AVAILABLE plus another flag');
  // None of the failures registered the eventfd: signalling h does not increment it.
  t.equal(err(array(fd, 'SIGNAL', [h])), 0);
  t.equal(p.readEventfd(ev), 0n, 'failed EVENTFD calls registered nothing');
  t.equal(err(array(fd, 'RESET', [h])), 0);

  // Signalled once the (binary) content signals; re-evaluated when the content changes.
  t.equal(ef({}), 0);
  t.equal(p.readEventfd(ev), 0n);
  t.equal(err(array(fd, 'RESET', [h])), 0);
  const f = attach(fd, h);
  t.equal(p.readEventfd(ev), 0n, 'fence attached, not signalled');
  fsignal(f);
  t.equal(p.readEventfd(ev), 1n);
  fsignal(attach(fd, h));
  t.equal(p.readEventfd(ev), 0n, 'one-shot');

  // WAIT_AVAILABLE on a timeline point.
  const tl = create(fd);
  t.equal(ef({ handle: tl, point: 3n, flags: WAIT_AVAILABLE }), 0);
  t.equal(ef({ handle: tl, point: 3n }), 0);
  t.equal(err(tsignal(fd, [tl], [1])), 0);
  t.equal(p.readEventfd(ev), 0n, 'point 3 not there yet');
  const j = attach(fd, tl, 3n);
  t.equal(p.readEventfd(ev), 1n, 'available: the WAIT_AVAILABLE entry fired');
  fsignal(j);
  t.equal(p.readEventfd(ev), 1n, 'signalled: the other entry fired');

  // Already signalled at registration.
  const s = create(fd, SIGNALED);
  t.equal(ef({ handle: s }), 0);
  t.equal(p.readEventfd(ev), 1n);
  p.close(ev);
  p.close(fd);
});

t.test('FENCE_ATTACH / FENCE_SIGNAL errors', async (t) => {
  const fd = p.open();
  t.throws(() => p.debug(DEBUG.FENCE_ATTACH, BigInt(fd), 42n, 0n), 'unknown handle');
  t.throws(() => p.debug(DEBUG.FENCE_ATTACH, 999n, 1n, 0n), 'unknown fd');
  t.throws(() => p.debug(DEBUG.FENCE_SIGNAL, 123456n, 0n), 'unknown fence');
  const h = create(fd);
  const f = attach(fd, h);
  fsignal(f);
  t.throws(() => fsignal(f), 'a fence signals once');
  p.close(fd);
});
