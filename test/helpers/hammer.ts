// Worker-thread body for stress.test.ts: many create/destroy/GET_CAP calls with short pauses
// (so the kernel goes to sleep between them), reporting any failure.
import { parentPort, workerData } from 'node:worker_threads';
import { attachThread, type ThreadHandle } from '../../src/index.js';
import { __syncobj_create, __syncobj_destroy, drm_get_cap } from '../../src/userspace/igt.js';
import { C } from '../../src/uapi/uapi.js';

const { handle, fd, iterations, seed } = workerData as { handle: ThreadHandle; fd: number; iterations: number; seed: number };
const p = attachThread(handle);
const nap = new Int32Array(new SharedArrayBuffer(4));
let x = seed;
const errors: string[] = [];
for (let i = 0; i < iterations; i++) {
  const h = __syncobj_create(p, fd);
  if (h <= 0) errors.push(`create ${i}: ${h}`);
  if (drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ')) !== 1n) errors.push(`get_cap ${i}`);
  const rc = __syncobj_destroy(p, fd, h);
  if (rc !== 0) errors.push(`destroy ${i} of ${h}: ${rc}`);
  x = (x * 1103515245 + 12345) >>> 0;
  if (x % 64 === 0) Atomics.wait(nap, 0, 0, 1); // let the kernel fall asleep now and then
}
p.exitThread();
parentPort!.postMessage({ errors });
