// File lifetime under concurrency (shared/spec/sync_exec.md 11 "File lifetime"), threads of
// a process that exits or is killed, dev.close() with calls in flight, and fd passing between
// processes (receiveFd, pidfd_getfd-style).
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { attachThread, C, createDevice, DEBUG, errno, type Device, type FieldsIn, type Process } from '../src/index.js';
import {
  __ioctl, prime_fd_to_handle, prime_handle_to_fd, syncobj_create, syncobj_fd_to_handle,
  syncobj_handle_to_fd, xe_bo_create, xe_bo_map, xe_exec_queue_create, xe_vm_create,
} from '../src/userspace/igt.js';

const SYSMEM = 1 << 0;
const BO_SIZE = 64 * 1024;
const ALL = (1n << 64n) - 1n;
const WAIT_FOR_SUBMIT = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT');
const RENDER = { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 };

/** System-memory pages in use on the device. */
function used(dev: Device): number {
  return Number(dev.process.debug(DEBUG.MEM_USAGE)[0]);
}

/** Calls parked (blocked) in the kernel. */
function parked(dev: Device): number {
  return Number(dev.process.debug(DEBUG.PARKED)[0]);
}

/** What the thread's call ended with (test/helpers/blocked_call.ts). */
type Outcome =
  | { kind: 'done'; rc: number; errno: number; out: Record<string, unknown> }
  | { kind: 'threw'; name: string; next: string };

/**
 * Runs ioctl `name` on a new thread of `p` and resolves once the kernel has parked it (the
 * device's parked count went up), so the test acts while the call is blocked.
 */
async function blocked(dev: Device, p: Process, fd: number, name: string, fields: FieldsIn): Promise<{ outcome: Promise<Outcome> }> {
  const before = parked(dev);
  const w = new Worker(new URL('./helpers/blocked_call.js', import.meta.url), {
    workerData: { handle: p.threadHandle(), fd, name, fields },
  });
  let ended: Outcome | null = null;
  const outcome = new Promise<Outcome>((resolve, reject) => {
    w.on('message', (m: Outcome | { kind: 'started' }) => {
      if (m.kind !== 'started') resolve((ended = m));
    });
    w.on('error', reject);
  });
  while (parked(dev) === before) {
    if (ended) throw new Error(`${name} returned instead of blocking: ${JSON.stringify(ended)}`);
    await sleep(5);
  }
  return { outcome };
}

/** A device with a process `p`, its fd, a VM, a render queue and a 64 KiB BO (the teardown witness). */
async function env(t: Test): Promise<{ dev: Device; p: Process; fd: number; q: number; base: number; full: number; fence: bigint }> {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p = dev.process;
  const fence = p.mem.alloc(8, 8);
  const base = used(dev);
  const fd = p.open();
  const vm = xe_vm_create(p, fd);
  const q = xe_exec_queue_create(p, fd, vm, RENDER);
  xe_bo_create(p, fd, 0, BO_SIZE, SYSMEM);
  const full = used(dev);
  t.ok(full >= base + BO_SIZE / 4096, 'the BO is backed');
  return { dev, p, fd, q, base, full, fence };
}

/** WAIT_USER_FENCE fields: wait for `value` at `addr` on queue `q`. */
function ufence(addr: bigint, q: number, timeout: bigint, value = 1n): FieldsIn {
  return { addr, op: C('DRM_XE_UFENCE_WAIT_OP_EQ'), value, mask: ALL, timeout, exec_queue_id: q };
}

/** The errno of a new call on `fd` (a cheap ioctl). */
function callErrno(p: Process, fd: number): number {
  return -__ioctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', {}).err;
}

// ---- 1. an ioctl in flight holds its file

t.test('close during WAIT_USER_FENCE from another thread: ETIME at the timeout, teardown after', async (t) => {
  const e = await env(t);
  e.p.mem.writeU64(e.fence, 0n);
  const { outcome } = await blocked(e.dev, e.p, e.fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', ufence(e.fence, e.q, 1_000_000_000n));
  t.equal(e.p.close(e.fd), 0, 'close succeeds at once');
  t.equal(callErrno(e.p, e.fd), errno.EBADF, 'a new call on the fd: EBADF');
  t.equal(used(e.dev), e.full, 'the file is not torn down while the wait holds it');
  const r = await outcome;
  t.match(r, { kind: 'done', rc: -1, errno: errno.ETIME }, 'the wait ends as it would have: ETIME, not EIO');
  t.equal(used(e.dev), e.base, 'the teardown ran when the wait returned');
  t.equal(parked(e.dev), 0, 'nothing left parked');
});

t.test('close during SYNCOBJ_WAIT: the wait is woken by its fence, then the file goes', async (t) => {
  const e = await env(t);
  const h = syncobj_create(e.p, e.fd);
  const [fence] = e.p.debug(DEBUG.FENCE_ATTACH, BigInt(e.fd), BigInt(h), 0n);
  const handles = e.p.mem.alloc(4, 4);
  e.p.mem.writeU32(handles, h);
  const { outcome } = await blocked(e.dev, e.p, e.fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { handles, count_handles: 1, timeout_nsec: 1n << 62n });
  t.equal(e.p.close(e.fd), 0, 'close');
  t.equal(used(e.dev), e.full, 'objects alive while the wait runs');
  e.p.debug(DEBUG.FENCE_SIGNAL, fence, 0n);
  t.match(await outcome, { kind: 'done', rc: 0, out: { first_signaled: 0 } }, 'the wait succeeds');
  t.equal(used(e.dev), e.base, 'then the file is released');
});

t.test('close during TRANSFER WAIT_FOR_SUBMIT; the source is reached through its exported fd', async (t) => {
  const e = await env(t);
  const src = syncobj_create(e.p, e.fd);
  const dst = syncobj_create(e.p, e.fd);
  const sfd = syncobj_handle_to_fd(e.p, e.fd, src);
  const { outcome } = await blocked(e.dev, e.p, e.fd, 'DRM_IOCTL_SYNCOBJ_TRANSFER', {
    src_handle: src, dst_handle: dst, src_point: 1n, dst_point: 0n, flags: WAIT_FOR_SUBMIT,
  });
  t.equal(e.p.close(e.fd), 0, 'close the DRM fd');
  t.equal(used(e.dev), e.full, 'objects alive while the transfer waits');
  // Submit point 1 through another file that imported the syncobj fd.
  const fd2 = e.p.open();
  const h2 = syncobj_fd_to_handle(e.p, fd2, sfd);
  e.p.debug(DEBUG.FENCE_ATTACH, BigInt(fd2), BigInt(h2), 1n);
  t.match(await outcome, { kind: 'done', rc: 0 }, 'the transfer completes');
  t.equal(used(e.dev), e.base, 'the file is released after it');
  t.equal(e.p.close(sfd), 0);
  t.equal(e.p.close(fd2), 0);
});

t.test('close of a dup\'d fd and of the original during a wait: the queue survives until it returns', async (t) => {
  const e = await env(t);
  e.p.mem.writeU64(e.fence, 0n);
  const fd2 = e.p.dup(e.fd);
  const { outcome } = await blocked(e.dev, e.p, fd2, 'DRM_IOCTL_XE_WAIT_USER_FENCE', ufence(e.fence, e.q, -1n, 7n));
  t.equal(e.p.close(fd2), 0, 'close the dup the wait came through');
  t.equal(e.p.close(e.fd), 0, 'close the original');
  t.equal(used(e.dev), e.full, 'objects alive');
  // A wake-up with the wrong value: a killed queue would end the wait with EIO here.
  e.p.debug(DEBUG.UFENCE_WRITE, e.fence, 6n);
  t.equal(parked(e.dev), 1, 'the wait goes back to sleep: its queue lives');
  e.p.debug(DEBUG.UFENCE_WRITE, e.fence, 7n);
  t.match(await outcome, { kind: 'done', rc: 0 }, 'woken by the write');
  t.equal(used(e.dev), e.base, 'released after the wait');
});

t.test('the DRM fd shared with another process, closed there during a wait here', async (t) => {
  const e = await env(t);
  e.p.mem.writeU64(e.fence, 0n);
  const p2 = e.dev.createProcess();
  const fd2 = p2.receiveFd(e.p, e.fd);
  t.equal(fd2, 3, 'installed at the lowest free fd of the receiver');
  t.equal(-__ioctl(p2, fd2, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', { exec_queue_id: 999 }).err, errno.ENOENT, 'the same file: its id space');
  // The second process has a heap of its own now: count from here.
  const full = used(e.dev);
  const { outcome } = await blocked(e.dev, e.p, e.fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', ufence(e.fence, e.q, -1n));
  t.equal(e.p.close(e.fd), 0, 'close here');
  t.equal(used(e.dev), full, 'the other process still holds the file');
  t.equal(p2.close(fd2), 0, 'close in the other process: only the wait holds the file now');
  t.equal(callErrno(p2, fd2), errno.EBADF, 'its fd is gone');
  t.equal(used(e.dev), full, 'objects alive while the wait runs');
  e.p.debug(DEBUG.UFENCE_WRITE, e.fence, 1n);
  t.match(await outcome, { kind: 'done', rc: 0 }, 'the wait succeeds');
  t.equal(used(e.dev), full - (e.full - e.base), 'released after the wait');
});

// ---- 2. a thread whose process exits

/** A second process with an fd, a queue and a BO, and a thread blocked in an endless wait on it. */
async function blockedProcess(t: Test): Promise<{ dev: Device; p2: Process; base: number; outcome: Promise<Outcome> }> {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const base = used(dev);
  const p2 = dev.createProcess();
  const fd = p2.open();
  const q = xe_exec_queue_create(p2, fd, xe_vm_create(p2, fd), RENDER);
  xe_bo_create(p2, fd, 0, BO_SIZE, SYSMEM);
  const fence = p2.mem.alloc(8, 8);
  const { outcome } = await blocked(dev, p2, fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', ufence(fence, q, -1n));
  return { dev, p2, base, outcome };
}

t.test('exit() while another thread waits forever: that call throws ProcessExited', async (t) => {
  const { dev, p2, base, outcome } = await blockedProcess(t);
  p2.exit();
  t.same(await outcome, { kind: 'threw', name: 'ProcessExited', next: 'ProcessExited' }, 'the blocked call ends, and so does the next');
  t.equal(parked(dev), 0, 'the wait is dropped');
  t.equal(used(dev), base, 'everything the process and its call held is released');
});

t.test('a process killed mid-call: its blocked thread and its other threads get ProcessExited', async (t) => {
  const { dev, p2, base, outcome } = await blockedProcess(t);
  const idle = p2.threadHandle();
  dev.kill(p2);
  t.same(await outcome, { kind: 'threw', name: 'ProcessExited', next: 'ProcessExited' }, 'the blocked call ends');
  t.throws(() => p2.getpid(), { name: 'ProcessExited', pid: p2.pid }, 'its main thread');
  t.throws(() => attachThread(idle).getpid(), { name: 'ProcessExited', pid: p2.pid }, 'an idle attached thread');
  t.equal(used(dev), base, 'released');
  t.equal(dev.process.kill(p2.pid), -1, 'killing it again fails');
  t.equal(dev.process.errno, errno.ESRCH, 'ESRCH');
  t.equal(dev.process.kill(999), -1);
  t.equal(dev.process.errno, errno.ESRCH, 'unknown pid: ESRCH');
  t.equal(dev.process.kill(0), -1);
  t.equal(dev.process.errno, errno.ESRCH, 'pid 0: ESRCH');
  const p3 = dev.createProcess();
  t.throws(() => p3.kill(p3.pid), { name: 'ProcessExited', pid: p3.pid }, 'a process that kills itself never returns');
  t.equal(dev.process.getpid(), 1, 'the killer goes on');
});

t.test('a slot of an exited process handed to a new one: the stale thread backs off', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p2 = dev.createProcess();
  const stale = p2.threadHandle();
  p2.exit();
  // The new process and its thread take the lowest free slots, the stale thread's among them.
  const p3 = dev.createProcess();
  const h3 = p3.threadHandle();
  t.equal(h3.slot, stale.slot, 'the slot is handed out again');
  t.throws(() => attachThread(stale).getpid(), { name: 'ProcessExited', pid: p2.pid }, 'the stale thread gets ProcessExited');
  t.equal(attachThread(h3).getpid(), p3.pid, 'the new owner uses the slot');
  t.equal(p3.getpid(), p3.pid);
});

t.test('dev.close() with a call in flight: it throws DeviceClosed', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  const fence = p.mem.alloc(8, 8);
  const { outcome } = await blocked(dev, p, fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', ufence(fence, 0, -1n));
  await dev.close();
  t.same(await outcome, { kind: 'threw', name: 'DeviceClosed', next: 'DeviceClosed' });
});

// ---- 3. fd passing

t.test('a syncobj fd passed to another process is the same syncobj', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p1 = dev.createProcess();
  const p2 = dev.createProcess();
  const fd1 = p1.open();
  const h1 = syncobj_create(p1, fd1);
  const sfd = syncobj_handle_to_fd(p1, fd1, h1);
  const fd2 = p2.open();
  const got = p2.receiveFd(p1, sfd);
  t.equal(got, fd2 + 1, 'lowest free fd of the receiver');
  const h2 = syncobj_fd_to_handle(p2, fd2, got);
  const [fence] = p1.debug(DEBUG.FENCE_ATTACH, BigInt(fd1), BigInt(h1), 0n);
  const handles = p2.mem.alloc(4, 4);
  p2.mem.writeU32(handles, h2);
  const wait = (): number => -__ioctl(p2, fd2, 'DRM_IOCTL_SYNCOBJ_WAIT', { handles, count_handles: 1, timeout_nsec: 0n }).err;
  t.equal(wait(), errno.ETIME, 'the fence attached in the sender is seen by the receiver, unsignalled');
  p1.debug(DEBUG.FENCE_SIGNAL, fence, 0n);
  t.equal(wait(), 0, 'and signalled');
  p1.exit();
  t.equal(wait(), 0, 'the syncobj outlives the sender');
  t.equal(p2.close(got), 0, 'the received fd is an fd of the receiver');
});

t.test('a dma-buf passed to another process: same pages, alive until the last holder goes', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const base = used(dev);
  const p1 = dev.createProcess();
  const p2 = dev.createProcess();
  const fd1 = p1.open();
  const bo = xe_bo_create(p1, fd1, 0, BO_SIZE, SYSMEM);
  const map1 = xe_bo_map(p1, fd1, bo, BO_SIZE);
  p1.mem.writeU64(map1 + 0x1000n, 0xfeedfacecafebeefn);
  const dfd = prime_handle_to_fd(p1, fd1, bo);
  const fd2 = p2.open();
  const got = p2.receiveFd(p1.pid, dfd);
  t.ok(got >= 3, 'received');
  p1.exit();
  t.ok(used(dev) >= base + BO_SIZE / 4096, 'the BO lives on through the receiver\'s fd');
  const h2 = prime_fd_to_handle(p2, fd2, got);
  const map2 = xe_bo_map(p2, fd2, h2, BO_SIZE);
  t.equal(p2.mem.readU64(map2 + 0x1000n), 0xfeedfacecafebeefn, 'the receiver sees the sender\'s bytes');
  p2.exit();
  t.equal(used(dev), base, 'freed when the last holder is gone');
});

t.test('receiveFd failures', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p1 = dev.createProcess();
  const p2 = dev.createProcess();
  const fd = p1.open();
  t.equal(p2.receiveFd(p1, 99), -1);
  t.equal(p2.errno, errno.EBADF, 'no such fd in the sender: EBADF');
  t.equal(p2.receiveFd(12345, fd), -1);
  t.equal(p2.errno, errno.ESRCH, 'no such process: ESRCH');
  const gone = dev.createProcess();
  const gfd = gone.open();
  gone.exit();
  t.equal(p2.receiveFd(gone, gfd), -1);
  t.equal(p2.errno, errno.ESRCH, 'an exited process: ESRCH');
  t.equal(p2.open(), 3, 'nothing was installed by the failures');
  t.equal(p1.receiveFd(p1, fd), fd + 1, 'from itself: like dup');
});

t.test('receiveFd into a full fd table is EMFILE and installs nothing', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p1 = dev.createProcess();
  const p2 = dev.createProcess();
  const fd = p1.open();
  t.equal(p2.setrlimit('NOFILE', 5), 0);
  t.same([p2.open(), p2.open()], [3, 4], 'fds 3 and 4 fill the table below the limit of 5');
  t.equal(p2.receiveFd(p1, fd), -1);
  t.equal(p2.errno, errno.EMFILE, 'no free fd below RLIMIT_NOFILE: EMFILE');
  t.equal(p2.receiveFd(p1, 99), -1);
  t.equal(p2.errno, errno.EBADF, 'the sender\'s fd is looked up first (pidfd_getfd): EBADF');
  t.equal(p2.close(4), 0);
  t.equal(p2.receiveFd(p1, fd), 4, 'after a close the same file arrives at the freed fd');
  t.equal(p1.close(fd), 0, 'the sender\'s fd is untouched by the failures');
});
