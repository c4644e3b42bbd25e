// Hostile input: every ioctl of the table with random argument bytes, random pointers into a
// random-filled playground, random sizes and directions. The kernel must answer each call with
// a result (never an internal error), and keep serving afterwards. Deterministic seed.
import t from 'tap';
import { createDevice, errno, IOCTL_LIST } from '../src/index.js';
import { drm_get_cap, syncobj_create, xe_vm_create } from '../src/userspace/igt.js';
import { encode } from '../src/uapi/codec.js';
import { ioc, iocDecode } from '../src/uapi/ioctl.js';
import { C } from '../src/uapi/uapi.js';

/** xorshift32: the same sequence on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** Members that would make a call block (waits): forced to "do not wait" after randomising. */
const NO_WAIT: Record<string, Record<string, number | bigint>> = {
  drm_syncobj_wait: { timeout_nsec: 0n },
  drm_syncobj_timeline_wait: { timeout_nsec: 0n },
  drm_xe_wait_user_fence: { timeout: 0n },
  drm_syncobj_transfer: { flags: 0 },
};

const DIRS = ['none', 'W', 'R', 'RW'] as const;

t.test('random arguments to every ioctl never hurt the kernel', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  // Some objects for the random calls to find: ids 1.. of each kind exist.
  xe_vm_create(p, fd, 0);
  syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  syncobj_create(p, fd);
  const next = rng(0x5eed);
  const PLAY = 64 * 1024;
  const play = p.mem.alloc(PLAY, 4096);
  const arg = p.mem.alloc(16384, 4096);
  const pointerInto = (): bigint => play + BigInt(next() % PLAY & ~7);
  const randomBytes = (n: number, withPointers: boolean): Uint8Array => {
    const b = new Uint8Array(n);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < n; i += 4) dv.setUint32(i, next() % 4 === 0 ? next() % 8 : next());
    if (withPointers) {
      for (let i = 0; i + 8 <= n; i += 8) {
        const r = next() % 8;
        if (r === 0) dv.setBigUint64(i, pointerInto(), true);
        else if (r === 1) dv.setBigUint64(i, BigInt(next() % 4), true); // small counts and ids
      }
    }
    return b;
  };
  p.mem.write(play, randomBytes(PLAY, true));

  let calls = 0;
  const seen = new Set<number>();
  for (const io of IOCTL_LIST) {
    for (let round = 0; round < 60; round++) {
      const size = io.layout.size;
      const bytes = randomBytes(size, true);
      if (NO_WAIT[io.layout.name]) encode(io.layout.name, NO_WAIT[io.layout.name], bytes);
      p.mem.write(arg, bytes);
      let request = io.request;
      if (round % 10 === 9) {
        // Odd sizes and directions for the same command number.
        const dir = DIRS[next() % 4];
        request = ioc(dir, 0x64, io.nr, Math.min(0x3fff, next() % (size * 2 + 1)));
      }
      if (round % 15 === 14) request = ioc('RW', 0x64, io.nr, 0x3fff); // the largest size
      const waitLike = NO_WAIT[io.layout.name] !== undefined;
      // A resized wait may lose its "do not wait" member; keep those at the exact size.
      if (waitLike && iocDecode(request).size !== size) request = io.request;
      const rc = p.ioctl(fd, request, round % 20 === 19 ? 0x10n : arg);
      calls++;
      if (rc < 0) seen.add(p.errno);
    }
  }
  t.equal(calls, IOCTL_LIST.length * 60, 'every call returned');
  t.ok(seen.has(errno.EINVAL) && seen.has(errno.EFAULT), `errnos seen: ${[...seen].sort((a, b) => a - b).join(', ')}`);
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ')), 1n, 'the kernel still serves calls');
  const p2 = dev.createProcess();
  t.equal(drm_get_cap(p2, p2.open(), C('DRM_CAP_SYNCOBJ')), 1n, 'and other processes');
  await dev.close();
});
