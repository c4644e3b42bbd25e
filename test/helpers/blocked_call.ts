/**
 * Worker-thread helper for test/lifetime.test.ts: attaches to a thread handle of a process
 * and issues one ioctl that may block. workerData: { handle, fd, name, fields }.
 * Messages: { kind: 'started' } before the call; then { kind: 'done', rc, errno, out } when
 * it returned, or { kind: 'threw', name, next } when it threw (its process exited, the device
 * closed), where `next` names what a further call (getpid) on the same thread threw.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachThread, type FieldsIn, type ThreadHandle } from '../../src/index.js';
import { doIoctl } from '../../src/userspace/igt.js';

const { handle, fd, name, fields } = workerData as { handle: ThreadHandle; fd: number; name: string; fields: FieldsIn };
const p = attachThread(handle);

/** The name of the error `f` throws, or 'none'. */
function thrownBy(f: () => unknown): string {
  try {
    f();
    return 'none';
  } catch (e) {
    return (e as Error).name;
  }
}

parentPort!.postMessage({ kind: 'started' });
let r: ReturnType<typeof doIoctl> | undefined;
const threw = thrownBy(() => (r = doIoctl(p, fd, name, fields)));
if (r) {
  p.exitThread();
  parentPort!.postMessage({ kind: 'done', rc: r.rc, errno: r.errno, out: r.out });
} else {
  parentPort!.postMessage({ kind: 'threw', name: threw, next: thrownBy(() => p.getpid()) });
}
