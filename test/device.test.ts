// The raw process interface, the channel transport and DRM dispatch rules
// (shared/spec/sync_exec.md 1.2 and 1.3, cases 1-6).
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { createDevice, DEBUG, errno, IOCTL, pack, decode } from '../src/index.js';
import { doIoctl, drm_get_cap, syncobj_create } from '../src/userspace/igt.js';
import { ioc } from '../src/uapi/ioctl.js';
import { C, layoutOf } from '../src/uapi/uapi.js';

t.test('raw interface: open, alloc, read/write, ioctl, close', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  t.equal(fd, 3, 'first fd is 3');
  const a = p.mem.alloc(136);
  t.equal(a % 16n, 0n, 'alloc is 16-byte aligned');
  t.same([...p.mem.read(a, 136)], new Array(136).fill(0), 'alloc returns zeroed memory');
  p.mem.write(a, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ_TIMELINE'), value: 77n }));
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), a), 0);
  t.equal(p.mem.readU64(a + 8n), 1n, 'GET_CAP SYNCOBJ_TIMELINE = 1 written back');
  p.mem.writeU32(a, 0xdeadbeef);
  t.equal(p.mem.readU32(a), 0xdeadbeef);
  const b = p.mem.alloc(64, 4096);
  t.equal(b % 4096n, 0n, 'alignment argument honoured');
  p.mem.free(a);
  p.mem.free(b);
  t.equal(p.close(fd), 0);
  t.equal(p.close(fd), -1);
  t.equal(p.errno, errno.EBADF, 'double close is EBADF');
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), a), -1);
  t.equal(p.errno, errno.EBADF, 'ioctl on a closed fd is EBADF');
  await dev.close();
});

t.test('user access to unmapped memory throws Segfault; kernel access is EFAULT', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  t.throws(() => p.mem.read(0x1000n, 8), { name: 'Segfault' });
  t.throws(() => p.mem.writeU64(0x7f00_ffff_0000n, 1n), { name: 'Segfault' });
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), 0x1000n), -1);
  t.equal(p.errno, errno.EFAULT);
  const m = p.mmapAnon(8192);
  p.mem.writeU64(m + 4096n, 5n);
  t.equal(p.munmap(m, 8192), 0);
  t.throws(() => p.mem.readU64(m + 4096n), { name: 'Segfault' }, 'munmapped page faults');
  await dev.close();
});

t.test('dispatch: number ranges, type byte, sizes, copy-back (sync_exec.md 1.2)', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const a = p.mem.alloc(256, 8);
  const fill = (): void => p.mem.write(a, new Uint8Array(256).fill(0xa5));

  fill();
  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0x5f, 16), a), -1, 'case 1: driver nr beyond the table');
  t.equal(p.errno, errno.EINVAL);
  t.same([...p.mem.read(a, 16)], new Array(16).fill(0xa5), 'argument memory untouched');

  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0xfe, 16), a), -1, 'case 2: core nr 0xFE');
  t.equal(p.errno, errno.EINVAL);

  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0x0a, 8), a), -1, 'GEM_FLINK (no DRM_RENDER_ALLOW) on a render node');
  t.equal(p.errno, errno.EACCES);
  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0xa0, 64), a), -1, 'a KMS ioctl on a render node');
  t.equal(p.errno, errno.EACCES);
  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0x0a, 8), 0x10n), -1, 'the copy-in comes before the permission check');
  t.equal(p.errno, errno.EFAULT);
  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0x03, 8), a), -1, 'a core slot without a handler');
  t.equal(p.errno, errno.EINVAL);
  const primary = p.open('primary');
  t.equal(p.ioctl(primary, ioc('RW', 0x64, 0x0a, 8), a), -1, 'GEM_FLINK on the primary node: not served');
  t.equal(p.errno, errno.EINVAL);
  p.close(primary);

  t.equal(p.ioctl(fd, ioc('RW', 0x65, 0x0c, 16), a), -1, 'foreign type byte');
  t.equal(p.errno, errno.ENOTTY);

  // GET_CAP with a user struct of 8 bytes: capability zero-extended... value is outside.
  p.mem.write(a, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));
  p.mem.writeU64(a + 8n, 0x1111n);
  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0x0c, 8), a), 0, 'shorter user struct accepted');
  t.equal(p.mem.readU64(a + 8n), 0x1111n, 'only the user-size prefix is copied back');

  // GET_CAP with a longer struct: the tail comes back unchanged.
  p.mem.write(a, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));
  p.mem.writeU64(a + 16n, 0x2222n);
  t.equal(p.ioctl(fd, ioc('RW', 0x64, 0x0c, 24), a), 0, 'longer user struct accepted');
  t.equal(p.mem.readU64(a + 8n), 1n);
  t.equal(p.mem.readU64(a + 16n), 0x2222n, 'extra tail copied back unchanged');

  // Write-only user direction on an IOWR ioctl: nothing is copied back.
  p.mem.write(a, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ'), value: 9n }));
  t.equal(p.ioctl(fd, ioc('W', 0x64, 0x0c, 16), a), 0);
  t.equal(p.mem.readU64(a + 8n), 9n, 'no OUT bit in the user cmd: no copy back');

  // Copy back happens even on error (case 5).
  p.mem.write(a, pack('drm_get_cap', { capability: 0x99, value: 1234n }));
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), a), -1, 'case 5: unknown cap');
  t.equal(p.errno, errno.EOPNOTSUPP);
  t.equal(p.mem.readU64(a + 8n), 0n, 'value cleared and copied back on error');

  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), 0x10n), -1);
  t.equal(p.errno, errno.EFAULT, 'unreadable argument is EFAULT');
  await dev.close();
});

t.test('GET_CAP, VERSION, SET_CLIENT_CAP (sync_exec.md 1.3, case 4)', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ')), 1n, 'case 4: SYNCOBJ');
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ_TIMELINE')), 1n, 'case 4: SYNCOBJ_TIMELINE');
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_PRIME')), 3n);
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_TIMESTAMP_MONOTONIC')), 1n);

  const probe = doIoctl(p, fd, 'DRM_IOCTL_VERSION', {});
  t.equal(probe.rc, 0, 'VERSION size probe');
  t.match(probe.out, { version_major: 1, version_minor: 1, version_patchlevel: 0, name_len: 2n, date_len: 1n });
  const name = p.mem.alloc(8);
  const desc = p.mem.alloc(64);
  p.mem.write(name, new Uint8Array(8).fill(0x7a));
  const full = doIoctl(p, fd, 'DRM_IOCTL_VERSION', { name_len: 1n, name, desc_len: 64n, desc });
  t.equal(full.rc, 0);
  t.equal(full.out.name_len, 2n, 'name_len reports the full length');
  t.same([...p.mem.read(name, 3)], [0x78, 0x7a, 0x7a], 'only name_len bytes copied, no NUL');
  const descLen = Number(full.out.desc_len);
  t.equal(descLen, 18, 'desc_len of "Intel Xe2 Graphics" (xe_drv.h DRIVER_DESC)');
  t.equal(new TextDecoder().decode(p.mem.read(desc, descLen)), 'Intel Xe2 Graphics');

  const cc = doIoctl(p, fd, 'DRM_IOCTL_SET_CLIENT_CAP', { capability: C('DRM_CLIENT_CAP_STEREO_3D'), value: 1n });
  t.equal(cc.errno, errno.EACCES, 'SET_CLIENT_CAP is not allowed on a render node');
  const primary = p.open('primary');
  // No profile has a display (DRIVER_MODESET off): every cap, valid or not, any value.
  for (const [cap, value] of [[C('DRM_CLIENT_CAP_STEREO_3D'), 1n], [C('DRM_CLIENT_CAP_UNIVERSAL_PLANES'), 0n],
    [C('DRM_CLIENT_CAP_ATOMIC'), 1n], [C('DRM_CLIENT_CAP_STEREO_3D'), 7n], [0x99, 0n]] as const) {
    const r = doIoctl(p, primary, 'DRM_IOCTL_SET_CLIENT_CAP', { capability: cap, value });
    t.equal(r.errno, errno.EOPNOTSUPP, `primary node without display: cap ${cap} = ${value} -> EOPNOTSUPP`);
  }
  await dev.close();
});

t.test('wedged device: every ioctl is ECANCELED and changes nothing (case 6)', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  p.wedge(true);
  const r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags: 0 });
  t.equal(r.errno, errno.ECANCELED);
  t.equal(r.out.handle, 0, 'nothing copied back');
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_GET_CAP', { capability: C('DRM_CAP_SYNCOBJ') }).errno, errno.ECANCELED);
  p.wedge(false);
  t.equal(syncobj_create(p, fd), 1, 'no handle was allocated while wedged');
  await dev.close();
});

t.test('processes have separate address spaces, fd tables and handle spaces', async (t) => {
  const dev = await createDevice();
  const p1 = dev.process;
  const p2 = dev.createProcess();
  t.not(p2.pid, p1.pid);
  const fd1 = p1.open();
  const fd2 = p2.open();
  t.equal(fd2, 3, 'fd numbers are per process');
  t.equal(syncobj_create(p1, fd1), 1);
  t.equal(syncobj_create(p1, fd1), 2);
  t.equal(syncobj_create(p2, fd2), 1, 'handles are per file');
  const a1 = p1.mem.alloc(64);
  p1.mem.writeU64(a1, 42n);
  const a2 = p2.mem.alloc(64);
  t.equal(a2, a1, 'same layout, same address (deterministic)');
  t.equal(p2.mem.readU64(a2), 0n, 'but different memory');
  const f = p1.open();
  t.equal(p2.close(f + 10), -1);
  t.equal(p2.errno, errno.EBADF);
  await dev.close();
});

t.test('a kernel bug surfaces as an error in the caller, and the kernel goes on', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  t.throws(() => p.debug(DEBUG.KERNEL_BUG), { name: 'KernelError' });
  const fd = p.open();
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ')), 1n, 'kernel still serves calls');
  await dev.close();
});

t.test('hostile arguments never crash the kernel', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const a = p.mem.alloc(4096, 4096);
  const fill = new Uint8Array(4096);
  let seed = 12345;
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < fill.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      fill[i] = seed >>> 24;
    }
    p.mem.write(a, fill);
    const nr = round % 2 ? 0x40 + (round % 24) : 0xbf + (round % 17);
    const size = (seed >>> 8) % 200;
    p.ioctl(fd, ioc('RW', 0x64, nr, size), a);
  }
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ')), 1n, 'kernel alive after 300 random ioctls');
  await dev.close();
});

t.test('threads: a worker thread issues ioctls on its own channel in the same address space', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const shared = p.mem.alloc(8);
  p.mem.writeU64(shared, 0x1234n);
  const handle = p.threadHandle();
  const w = new Worker(new URL('./helpers/thread.js', import.meta.url), { workerData: { handle, fd, shared } });
  // Listen for the exit at once: the thread exits right after posting, possibly before we look.
  const exited = new Promise((r) => w.once('exit', r));
  const msg = await new Promise<{ cap: string; seen: string; handles: number[] }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  t.equal(msg.seen, '4660', 'the thread sees the same memory');
  t.equal(msg.cap, '1', 'the thread can ioctl on the shared fd');
  t.same(msg.handles, [1, 2, 3], 'handles from the thread land in the same file');
  t.equal(p.mem.readU64(shared), 0x5678n, 'the thread wrote our memory');
  t.equal(syncobj_create(p, fd), 4, 'same handle space');
  await exited;
  await dev.close();
});

t.test('struct layout sanity used by the transport tests', async (t) => {
  t.equal(layoutOf('drm_get_cap').size, 16);
  t.same(decode('drm_get_cap', pack('drm_get_cap', { capability: 5, value: 6 })), { capability: 5n, value: 6n });
});

t.test('a dead kernel thread makes every call fail instead of hanging', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const h = syncobj_create(p, fd);
  const handles = p.mem.alloc(4);
  p.mem.writeU32(handles, h);
  const w = new Worker(new URL('./helpers/ioctl_thread.js', import.meta.url), {
    workerData: {
      handle: p.threadHandle(), fd, name: 'DRM_IOCTL_SYNCOBJ_WAIT',
      fields: { handles, count_handles: 1, timeout_nsec: 1n << 62n, flags: C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT') },
    },
  });
  const outcome = new Promise<unknown>((resolve) => {
    w.on('message', (m: { kind: string }) => m.kind === 'done' && resolve(m));
    w.once('error', (e) => resolve({ error: `${e.name}: ${e.message}` }));
  });
  await new Promise<void>((resolve) => w.once('message', () => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  p.debug(DEBUG.KERNEL_PANIC);
  t.throws(() => p.open(), { name: 'KernelError' }, 'the next call reports the dead kernel');
  t.match(await outcome, { error: /KernelError/ }, 'a thread blocked in a wait is woken with an error');
});
