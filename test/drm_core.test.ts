// DRM core as the newest upstream does it (shared/spec/sync_exec.md 11): command directions
// of refused core slots, primary-node answers without display, SET_CLIENT_NAME,
// GEM_CHANGE_HANDLE, RLIMIT_NOFILE and fd reservation order, syncobj array limits, and
// PRIME access modes with the cached dma-buf.
import t, { type Test } from 'tap';
import { CAP, createDevice, DEBUG, errno, Segfault, type Process } from '../src/index.js';
import { ioc } from '../src/uapi/ioctl.js';
import { C } from '../src/uapi/uapi.js';
import { doIoctl, ioctlOk } from '../src/userspace/igt.js';
import { syncobj_create, syncobj_handle_to_fd, syncobj_wait } from '../src/userspace/igt_syncobj.js';

const { EACCES, EBADF, EFAULT, EINVAL, EMFILE, ENOENT, ENOMEM, EOPNOTSUPP, EPERM } = errno;
const PAGE = 4096;
const BAD = 0x10n;

/** A 4 KiB BO in system memory; its handle. */
function bo(p: Process, fd: number): number {
  return ioctlOk(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', { size: PAGE, placement: 1, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WB') })
    .handle as number;
}

/** A read-only page: a BO exported without DRM_RDWR, mapped with PROT_READ. Returns its address. */
function readOnlyPage(p: Process, fd: number): bigint {
  const dmabuf = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: bo(p, fd), flags: 0 }).fd as number;
  const addr = p.mmap(PAGE, dmabuf, 0n, { prot: 'r' });
  if (addr < 0n) throw new Error(`mmap: errno ${p.errno}`);
  return addr;
}

/** Raw ioctl with an explicit request; returns the errno (0 on success). */
function raw(p: Process, fd: number, request: number, arg: bigint): number {
  return p.ioctl(fd, request, arg) < 0 ? p.errno : 0;
}

/** [request, argument, expected errno (0 = success), what]. */
type Row = readonly [number, bigint, number, string];

/** Runs each raw ioctl on `fd` and checks its errno. */
function expect(t: Test, p: Process, fd: number, rows: readonly Row[]): void {
  for (const [request, arg, want, what] of rows) t.equal(raw(p, fd, request, arg), want, what);
}

t.test('refused core slots copy by the kernel command direction and size', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const render = p.open();
  const ro = readOnlyPage(p, render);
  const a = p.mem.alloc(256, 8);

  // _IO: nothing copied at all; _IOW: copied in (a bad pointer faults first), never back (a
  // read-only page is fine); _IOWR: copied back even on refusal (a read-only page faults);
  // drm_invalid_op (SET_UNIQUE) copies in and checks permissions before answering.
  expect(t, p, render, [
    [ioc('RW', 0x64, 0x1e, 16), BAD, EACCES, 'SET_MASTER (_IO), bad pointer: EACCES, not EFAULT'],
    [ioc('none', 0x64, 0x1f, 0), 0n, EACCES, 'DROP_MASTER (_IO)'],
    [ioc('RW', 0x64, 0x11, 4), BAD, EFAULT, 'AUTH_MAGIC (_IOW): the copy-in faults first'],
    [ioc('RW', 0x64, 0x11, 4), ro, EACCES, 'AUTH_MAGIC: no copy back to a read-only page'],
    [ioc('RW', 0x64, 0x2c, 8), ro, EACCES, 'FINISH (_IOW)'],
    [ioc('RW', 0x64, 0x0a, 8), ro, EFAULT, 'GEM_FLINK (_IOWR): copied back'],
    [ioc('RW', 0x64, 0xa0, 64), ro, EFAULT, 'MODE_GETRESOURCES (_IOWR)'],
    [ioc('RW', 0x64, 0x02, 4), BAD, EFAULT, 'GET_MAGIC (_IOR), bad pointer: nothing copied in, the copy back faults'],
    [ioc('W', 0x64, 0x10, 16), BAD, EFAULT, 'SET_UNIQUE (_IOW), bad pointer: EFAULT'],
    [ioc('W', 0x64, 0x10, 16), a, EACCES, 'SET_UNIQUE on a render node: EACCES'],
    [ioc('RW', 0x64, 0x03, 8), BAD, EINVAL, 'an empty slot: EINVAL before any copy'],
  ]);
  p.mem.write(a, new Uint8Array(16).fill(0xa5));
  t.equal(raw(p, render, ioc('RW', 0x64, 0x02, 8), a), EACCES, 'GET_MAGIC (_IOR) on a render node');
  t.same([...p.mem.read(a, 9)], [0, 0, 0, 0, 0, 0, 0, 0, 0xa5], 'the zero-filled kernel buffer came back (user size 8)');
  await dev.close();
});

t.test('primary node without display (every profile is headless)', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const admin = dev.createProcess({ caps: [CAP.SYS_ADMIN] });
  const primary = p.open('primary');
  const adminPrimary = admin.open('primary');
  const a = p.mem.alloc(256, 8);
  const b = admin.mem.alloc(256, 8);
  const kms = [
    [0xa0, 64, 'MODE_GETRESOURCES'],
    [0xa1, 104, 'MODE_GETCRTC'],
    [0xbc, 56, 'MODE_ATOMIC'],
    [0xc6, 24, 'MODE_CREATE_LEASE'],
    [0xce, 104, 'MODE_GETFB2'],
    [0xd0, 8, 'MODE_CLOSEFB'],
    [0x3a, 24, 'WAIT_VBLANK'],
    [0x3b, 24, 'CRTC_GET_SEQUENCE'],
  ] as const;
  expect(t, p, primary, [
    ...kms.map(([nr, size, what]): Row => [ioc('RW', 0x64, nr, size), a, EOPNOTSUPP, `${what}: no DRIVER_MODESET`]),
    [ioc('RW', 0x64, 0xa8, 72), a, 0, 'MODE_ATTACHMODE is drm_noop'],
    [ioc('W', 0x64, 0x2c, 8), a, 0, 'FINISH is drm_noop'],
    [ioc('RW', 0x64, 0x12, 4), a, EACCES, 'BLOCK is DRM_ROOT_ONLY: EACCES without CAP_SYS_ADMIN'],
    [ioc('W', 0x64, 0x10, 16), a, EACCES, 'SET_UNIQUE without CAP_SYS_ADMIN: EACCES'],
  ]);
  expect(t, admin, adminPrimary, [
    [ioc('RW', 0x64, 0x12, 4), b, 0, 'BLOCK with CAP_SYS_ADMIN: drm_noop'],
    [ioc('W', 0x64, 0x10, 16), b, EINVAL, 'SET_UNIQUE with it: drm_invalid_op'],
    [ioc('W', 0x64, 0x10, 16), BAD, EFAULT, 'SET_UNIQUE copies in first'],
  ]);
  await dev.close();
});

t.test('SET_CLIENT_NAME (0xD1)', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const other = p.open();
  const buf = p.mem.alloc(128);
  const name = (f: number): string | null => {
    const [len] = p.debug(DEBUG.CLIENT_NAME, BigInt(f), buf, 128n);
    return len === 0n ? null : new TextDecoder().decode(p.mem.read(buf, Number(len)));
  };
  const set = (bytes: Uint8Array | null, len = bytes?.length ?? 0, f = fd): number => {
    const ptr = bytes ? p.mem.alloc(Math.max(bytes.length, 1)) : BAD;
    if (bytes) p.mem.write(ptr, bytes);
    return doIoctl(p, f, 'DRM_IOCTL_SET_CLIENT_NAME', { name_len: BigInt(len), name: ptr }).errno;
  };
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

  t.equal(name(fd), null, 'a new file has no name');
  t.equal(set(enc('vk-app.1')), 0, 'set on a render node');
  t.equal(name(fd), 'vk-app.1', 'stored for the file');
  t.equal(name(other), null, 'another file of the same process is unaffected');
  t.equal(set(enc('x'.repeat(65))), EINVAL, 'name_len 65 > DRM_CLIENT_NAME_MAX_LEN');
  t.equal(set(null, 65), EINVAL, 'the length is checked before the pointer');
  t.equal(set(null, 3), EFAULT, 'unreadable name: EFAULT');
  t.equal(set(enc('a b')), EINVAL, 'a space');
  t.equal(set(enc('ab\0c')), EINVAL, 'an embedded NUL');
  t.equal(set(enc('ab\tc')), EINVAL, 'a control character');
  t.equal(set(new Uint8Array([0x61, 0xc3, 0xa9])), EINVAL, 'a non-ASCII byte');
  t.equal(name(fd), 'vk-app.1', 'failures left the name unchanged');
  t.equal(set(enc('~'.repeat(64))), 0, '64 printable characters');
  t.equal(name(fd), '~'.repeat(64));
  const r = doIoctl(p, fd, 'DRM_IOCTL_SET_CLIENT_NAME', { name_len: 0n, name: BAD });
  t.equal(r.rc, 0, 'name_len 0 clears; the pointer is not read');
  t.same([r.out.name_len, r.out.name], [0n, BAD], 'IOWR: the struct comes back unchanged');
  t.equal(name(fd), null, 'cleared');
  const primary = p.open('primary');
  t.equal(set(enc('compositor'), undefined, primary), 0, 'also on the primary node');
  t.equal(name(primary), 'compositor');
  await dev.close();
});

t.test('GEM_CHANGE_HANDLE (0xD2) is drm_invalid_op', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const h = bo(p, fd);
  let r = doIoctl(p, fd, 'DRM_IOCTL_GEM_CHANGE_HANDLE', { handle: h, new_handle: 7 });
  t.same([r.rc, r.errno], [-1, EINVAL], 'render node: EINVAL (RENDER_ALLOW, always invalid)');
  t.same([r.out.handle, r.out.new_handle], [h, 7], 'IOWR: copied back unchanged');
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle: 7 }).errno, EINVAL, 'no handle 7 was made');
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle: h }).rc, 0, 'the old handle still works');
  t.equal(raw(p, fd, ioc('RW', 0x64, 0xd2, 8), BAD), EFAULT, 'bad pointer: the copy-in faults');
  r = doIoctl(p, p.open('primary'), 'DRM_IOCTL_GEM_CHANGE_HANDLE', { handle: 1, new_handle: 2 });
  t.equal(r.errno, EINVAL, 'primary node: EINVAL');
  await dev.close();
});

t.test('RLIMIT_NOFILE and the order of fd reservation', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open(); // 3
  const h = bo(p, fd);
  const s = syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  t.equal(p.setrlimit('NOFILE', 10, 5), -1, 'cur > max');
  t.equal(p.errno, EINVAL);
  t.equal(p.setrlimit('NOFILE', 5000), -1, 'raising the hard limit (4096) without CAP_SYS_RESOURCE');
  t.equal(p.errno, EPERM);
  t.equal(p.setrlimit('NOFILE', 6, 4096), 0, 'RLIMIT_NOFILE 6: fds 3-5');
  const e4 = p.eventfd();
  const e5 = p.eventfd();
  t.same([e4, e5], [4, 5], 'lowest free fds');
  const full = (what: string, got: number): void => {
    t.equal(got, EMFILE, what);
  };
  t.equal(p.eventfd(), -1);
  full('eventfd', p.errno);
  t.equal(p.dup(fd), -1);
  full('dup', p.errno);
  t.equal(p.dup(99), -1, 'dup of a bad fd');
  t.equal(p.errno, EBADF, 'EBADF before EMFILE');
  t.equal(p.open(), -1);
  full('open', p.errno);
  let r = doIoctl(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: 999, flags: 0, fd: -1 });
  full('PRIME_HANDLE_TO_FD of an unknown handle: the fd is reserved first', r.errno);
  r = doIoctl(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: h, flags: 1 << 30, fd: -1 });
  t.equal(r.errno, EINVAL, 'PRIME flags are checked before the fd is reserved');
  const exp = C('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE');
  r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: 999, flags: exp, fd: -1 });
  full('EXPORT_SYNC_FILE of an unknown handle: the fd is reserved first', r.errno);
  r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: 999, flags: 0, fd: -1 });
  t.equal(r.errno, EINVAL, 'syncobj fd export: the handle is looked up first');
  r = doIoctl(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { handle: s, flags: 0, fd: -1 });
  full('syncobj fd export of a known handle', r.errno);
  t.equal(r.out.fd, -1, 'no fd written');

  t.equal(p.close(e4), 0);
  t.equal(syncobj_handle_to_fd(p, fd, s, exp), 4, 'a freed fd below the limit is reused');
  t.equal(p.setrlimit('NOFILE', 4, 4096), 0, 'lowering the limit below open fds');
  t.equal(p.dup(fd), -1);
  full('nothing below 4 is free', p.errno);
  t.equal(p.readEventfd(e5), 0n, 'fd 5, above the new limit, stays usable');
  t.equal(p.setrlimit('NOFILE', 1024, 1024), 0, 'back to 1024, lowering the hard limit');
  t.equal(p.setrlimit('NOFILE', 1024, 4096), -1, 'raising it again needs CAP_SYS_RESOURCE');
  t.equal(p.errno, EPERM);
  const dmabuf = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: h, flags: 0, fd: -1 }).fd;
  t.equal(dmabuf, 6, 'the failed exports left no fd and no dma-buf behind');
  await dev.close();
});

t.test('syncobj array limits (drm_syncobj_array_find, wait entries)', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const s = syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  const u = syncobj_create(p, fd);
  const repeated = (h: number, n: number): bigint => {
    const ptr = p.mem.alloc(n * 4, 8);
    p.mem.write(ptr, new Uint8Array(new Uint32Array(n).fill(h).buffer));
    return ptr;
  };
  const arr = (name: string, handles: bigint, count: number, extra: Record<string, unknown> = {}): number =>
    doIoctl(p, fd, name, { handles, count_handles: count, ...extra }).errno;
  const W = 'DRM_IOCTL_SYNCOBJ_WAIT';
  const TW = 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT';
  const h65536 = repeated(s, 65537);
  t.equal(arr(W, h65536, 65536), 0, 'WAIT on 65536 copies of one signalled handle');
  t.equal(arr(W, h65536, 65537), ENOMEM, 'WAIT on 65537: one 64-byte wait entry each is over 4 MiB');
  t.equal(arr(TW, h65536, 65537), ENOMEM, 'TIMELINE_WAIT on 65537 (NULL points: zeros)');
  t.equal(arr(TW, h65536, 65537, { points: BAD }), EFAULT, 'TIMELINE_WAIT: the points copy comes before the entries');
  const hu = repeated(u, 65537);
  t.equal(arr(W, hu, 65537), ENOMEM, 'ENOMEM before the missing-fence check');
  t.equal(arr(W, repeated(999, 65537), 65537), ENOENT, 'the lookups come before the wait entries');

  const big = 524289;
  const hs = repeated(s, big);
  const hx = repeated(999, big);
  for (const name of ['DRM_IOCTL_SYNCOBJ_RESET', 'DRM_IOCTL_SYNCOBJ_SIGNAL']) {
    t.equal(arr(name, hs, big), ENOMEM, `${name}: 524289 pointers are over 4 MiB`);
    t.equal(arr(name, hx, big), ENOMEM, `${name}: before any lookup`);
    t.equal(arr(name, BAD, big), EFAULT, `${name}: after the handle copy`);
    t.equal(arr(name, BAD, 1048577), ENOMEM, `${name}: a handle array over 4 MiB fails before the copy`);
  }
  for (const name of ['DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', 'DRM_IOCTL_SYNCOBJ_QUERY', W, TW]) {
    const points = name === W ? {} : { points: BAD };
    t.equal(arr(name, hx, big, points), ENOMEM, `${name}: 524289 handles, ENOMEM before lookups and points`);
    t.equal(arr(name, BAD, big, points), EFAULT, `${name}: the handle copy first`);
  }
  t.equal(arr('DRM_IOCTL_SYNCOBJ_RESET', hs, big - 1), 0, 'RESET of 524288 copies works');
  t.equal(arr(W, repeated(u, 1), 1, { timeout_nsec: 0n }), EINVAL, 'so the object is reset (no fence)');
  t.equal(arr('DRM_IOCTL_SYNCOBJ_SIGNAL', hu, 65537), 0, 'SIGNAL of 65537 copies works');
  t.ok(syncobj_wait(p, fd, [u], 0n), 'signalled');
  await dev.close();
});

t.test('PRIME: access mode of a dma-buf, and the dma-buf an object keeps', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  doIoctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle: bo(p, fd) }); // the heap arena is in place
  const before = p.debug(DEBUG.MEM_USAGE)[0];
  const RDWR = C('DRM_RDWR');
  const h = bo(p, fd);
  const roFd = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: h, flags: 0 }).fd as number;
  t.equal(p.mmap(PAGE, roFd, 0n), -1n, 'shared writable mapping of an export without DRM_RDWR');
  t.equal(p.errno, EACCES);
  const ro = p.mmap(PAGE, roFd, 0n, { prot: 'r' });
  t.not(ro, -1n, 'a read-only mapping works');
  t.equal(p.mem.readU64(ro), 0n, 'and reads');
  t.throws(() => p.mem.writeU64(ro, 1n), Segfault, 'but does not write');
  t.equal(p.munmap(ro, PAGE), 0);

  t.equal(p.close(roFd), 0, 'every fd of the dma-buf closed');
  const again = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: h, flags: RDWR }).fd as number;
  t.equal(p.mmap(PAGE, again, 0n), -1n, 're-export with DRM_RDWR returns the same read-only dma-buf');
  t.equal(p.errno, EACCES);

  // A second object, exported read-write; its dma-buf outlives its last handle, and an
  // import of it links it again.
  const h2 = bo(p, fd);
  const rw = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: h2, flags: RDWR }).fd as number;
  const map = p.mmap(PAGE, rw, 0n);
  p.mem.writeU64(map, 0x1234n);
  t.equal(p.munmap(map, PAGE), 0);
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle: h2 }).rc, 0, 'last handle closed, the dma-buf fd stays');
  const back = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_FD_TO_HANDLE', { fd: rw }).handle as number;
  t.equal(p.close(rw), 0);
  const rw2 = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: back, flags: 0 }).fd as number;
  const map2 = p.mmap(PAGE, rw2, 0n);
  t.not(map2, -1n, 'the import re-linked the read-write dma-buf: a read-only re-export gets it');
  t.equal(p.mem.readU64(map2), 0x1234n, 'same memory');
  t.equal(p.munmap(map2, PAGE), 0);

  for (const f of [again, rw2]) p.close(f);
  for (const handle of [h, back]) doIoctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle });
  t.equal(p.debug(DEBUG.MEM_USAGE)[0], before, 'everything freed: the object-dma-buf link is dropped with the last handle');
  await dev.close();
});
