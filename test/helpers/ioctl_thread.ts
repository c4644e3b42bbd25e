/**
 * Worker-thread helper for tests: attaches to a thread handle of a process, issues one ioctl
 * (blocking or not) with doIoctl, and posts the outcome. workerData: { handle, fd, name, fields }.
 * Messages: { kind: 'started' } before the call, { kind: 'done', rc, errno, out } after it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FieldsIn } from '../../src/index.js';
import { attachThread, type ThreadHandle } from '../../src/index.js';
import { doIoctl } from '../../src/userspace/igt.js';

const { handle, fd, name, fields } = workerData as { handle: ThreadHandle; fd: number; name: string; fields: FieldsIn };
const p = attachThread(handle);
parentPort!.postMessage({ kind: 'started' });
const r = doIoctl(p, fd, name, fields);
p.exitThread();
parentPort!.postMessage({ kind: 'done', rc: r.rc, errno: r.errno, out: r.out });
