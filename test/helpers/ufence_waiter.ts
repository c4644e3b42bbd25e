// Worker-thread body for ufence.test.ts: attaches to a process thread handle and blocks in
// DRM_IOCTL_XE_WAIT_USER_FENCE until another thread writes the fence (or the queue is banned).
import { parentPort, workerData } from 'node:worker_threads';
import { attachThread, C, type ThreadHandle } from '../../src/index.js';
import { doIoctl } from '../../src/userspace/igt.js';

const { handle, fd, addr, value, queue, timeout } = workerData as {
  handle: ThreadHandle;
  fd: number;
  addr: bigint;
  value: bigint;
  queue: number;
  timeout: bigint;
};
const p = attachThread(handle);
parentPort!.postMessage({ ready: true });
const start = process.hrtime.bigint();
const r = doIoctl(p, fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', {
  addr, op: C('DRM_XE_UFENCE_WAIT_OP_EQ'), value, mask: (1n << 64n) - 1n, timeout, exec_queue_id: queue,
});
const elapsed = process.hrtime.bigint() - start;
p.exitThread();
parentPort!.postMessage({ rc: r.rc, errno: r.errno, timeout: r.out.timeout as bigint, elapsed });
