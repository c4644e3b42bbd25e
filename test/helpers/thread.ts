// Worker-thread body for device.test.ts: attaches to a process thread handle and makes calls.
import { parentPort, workerData } from 'node:worker_threads';
import { attachThread, type ThreadHandle } from '../../src/index.js';
import { drm_get_cap, syncobj_create } from '../../src/userspace/igt.js';
import { C } from '../../src/uapi/uapi.js';

const { handle, fd, shared } = workerData as { handle: ThreadHandle; fd: number; shared: bigint };
const p = attachThread(handle);
const seen = p.mem.readU64(shared);
const cap = drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ'));
const handles = [syncobj_create(p, fd), syncobj_create(p, fd), syncobj_create(p, fd)];
p.mem.writeU64(shared, 0x5678n);
p.exitThread();
parentPort!.postMessage({ seen: seen.toString(), cap: cap.toString(), handles });
