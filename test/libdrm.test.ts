// The libdrm-style wrappers against the emulated device: libdrm's return conventions (0 /
// -1 with errno; -errno from the waits), out-values only on success, exact errnos.
import t from 'tap';
import { C, createDevice, errno, igt, IOCTL, libdrm, pack } from '../src/index.js';

t.test('drmIoctl restarts on EINTR and EAGAIN only', async (t) => {
  const script = [errno.EINTR, errno.EAGAIN, errno.EINTR, 0];
  const target = {
    errno: 0,
    calls: 0,
    ioctl(): number {
      const e = script[this.calls++];
      if (e === 0) return 0;
      this.errno = e;
      return -1;
    },
  };
  t.equal(libdrm.drmIoctl(target, 3, 0, 0n), 0);
  t.equal(target.calls, 4, 'two EINTRs and an EAGAIN restarted');
  const failing = { errno: 0, calls: 0, ioctl(): number { this.calls++; this.errno = errno.EINVAL; return -1; } };
  t.equal(libdrm.drmIoctl(failing, 3, 0, 0n), -1);
  t.equal(failing.errno, errno.EINVAL);
  t.equal(failing.calls, 1, 'any other errno is returned at once');

  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const a = p.mem.alloc(16);
  p.mem.write(a, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));
  t.equal(libdrm.drmIoctl(p, fd, IOCTL('DRM_IOCTL_GET_CAP'), a), 0);
  t.equal(p.mem.readU64(a + 8n), 1n);
  t.equal(libdrm.drmIoctl(p, 99, IOCTL('DRM_IOCTL_GET_CAP'), a), -1);
  t.equal(p.errno, errno.EBADF);
  await dev.close();
});

t.test('drmGetVersion and drmGetCap', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  t.same(libdrm.drmGetVersion(p, fd), {
    version_major: 1, version_minor: 1, version_patchlevel: 0,
    name_len: 2, name: 'xe', date_len: 1, date: '0', desc_len: 18, desc: 'Intel Xe2 Graphics',
  });
  t.equal(libdrm.drmGetVersion(p, 42), null);
  t.equal(p.errno, errno.EBADF);
  t.same(libdrm.drmGetCap(p, fd, C('DRM_CAP_SYNCOBJ_TIMELINE')), { ret: 0, value: 1n });
  t.same(libdrm.drmGetCap(p, fd, 0x99), { ret: -1 }, 'no value on failure');
  t.equal(p.errno, errno.EOPNOTSUPP, 'no modesetting: every other cap is EOPNOTSUPP');
  await dev.close();
});

t.test('syncobj create, signal, wait, reset, destroy', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  t.same(libdrm.drmSyncobjCreate(p, fd, 0), { ret: 0, handle: 1 });
  t.same(libdrm.drmSyncobjCreate(p, fd, 0x4), { ret: -1 }, 'unknown flag');
  t.equal(p.errno, errno.EINVAL);
  t.same(libdrm.drmSyncobjCreate(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED')), { ret: 0, handle: 2 }, 'no id used by the failure');
  // The waits return -errno, not -1.
  t.same(libdrm.drmSyncobjWait(p, fd, [1], 0n, 0), { ret: -errno.EINVAL }, 'no fence, no WAIT_FOR_SUBMIT');
  t.same(libdrm.drmSyncobjWait(p, fd, [1, 2], 0n, 0), { ret: -errno.EINVAL });
  t.equal(libdrm.drmSyncobjSignal(p, fd, [1]), 0);
  t.same(libdrm.drmSyncobjWait(p, fd, [1, 2], 0n, C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL')), { ret: 0, first_signaled: 0 });
  t.same(libdrm.drmSyncobjWait(p, fd, [9], 0n, 0), { ret: -errno.ENOENT });
  t.equal(libdrm.drmSyncobjReset(p, fd, [1]), 0);
  t.same(libdrm.drmSyncobjWait(p, fd, [1], 0n, 0), { ret: -errno.EINVAL }, 'reset removed the fence');
  t.equal(libdrm.drmSyncobjReset(p, fd, [1, 9]), -1);
  t.equal(p.errno, errno.ENOENT);
  t.equal(libdrm.drmSyncobjSignal(p, fd, []), -1, 'an empty array');
  t.equal(p.errno, errno.EINVAL);
  t.equal(libdrm.drmSyncobjDestroy(p, fd, 1), 0);
  t.equal(libdrm.drmSyncobjDestroy(p, fd, 1), -1);
  t.equal(p.errno, errno.EINVAL);
  await dev.close();
});

t.test('timeline signal, wait, query, query2, transfer and eventfd', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const tl = libdrm.drmSyncobjCreate(p, fd, 0).handle as number;
  const bin = libdrm.drmSyncobjCreate(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED')).handle as number;
  t.same(libdrm.drmSyncobjQuery(p, fd, [tl]), { ret: 0, points: [0n] });
  t.equal(libdrm.drmSyncobjTimelineSignal(p, fd, [tl], [5n]), 0);
  t.same(libdrm.drmSyncobjQuery(p, fd, [tl, bin]), { ret: 0, points: [5n, 0n] });
  t.same(libdrm.drmSyncobjQuery2(p, fd, [tl], C('DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED')), { ret: 0, points: [5n] });
  t.same(libdrm.drmSyncobjQuery2(p, fd, [tl], 0x8), { ret: -1 }, 'unknown query flag');
  t.equal(p.errno, errno.EINVAL);
  t.same(libdrm.drmSyncobjTimelineWait(p, fd, [tl], [5n], 0n, 0), { ret: 0, first_signaled: 0 });
  t.same(libdrm.drmSyncobjTimelineWait(p, fd, [tl], [6n], 0n, 0), { ret: -errno.EINVAL }, 'unsubmitted point');
  t.same(
    libdrm.drmSyncobjTimelineWait(p, fd, [tl], [6n], 0n, C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT')),
    { ret: -errno.ETIME },
  );
  t.equal(libdrm.drmSyncobjTransfer(p, fd, tl, 7n, bin, 0n, 0), 0, 'binary fence to timeline point 7');
  t.same(libdrm.drmSyncobjQuery(p, fd, [tl]), { ret: 0, points: [7n] });
  t.equal(libdrm.drmSyncobjTransfer(p, fd, tl, 8n, 99, 0n, 0), -1);
  t.equal(p.errno, errno.ENOENT);
  const ev = p.eventfd();
  t.equal(libdrm.drmSyncobjEventfd(p, fd, tl, 9n, ev, 0), 0);
  t.equal(libdrm.drmSyncobjTimelineSignal(p, fd, [tl], [9n]), 0);
  t.equal(p.readEventfd(ev), 1n, 'the eventfd fired when point 9 signalled');
  t.equal(libdrm.drmSyncobjEventfd(p, fd, tl, 10n, 77, 0), -1, 'not an eventfd');
  t.equal(p.errno, errno.EBADF);
  await dev.close();
});

t.test('syncobj fds, sync files and prime', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const s = libdrm.drmSyncobjCreate(p, fd, 0).handle as number;
  t.same(libdrm.drmSyncobjExportSyncFile(p, fd, s), { ret: -1 }, 'no fence to export');
  t.equal(p.errno, errno.EINVAL);
  t.equal(libdrm.drmSyncobjSignal(p, fd, [s]), 0);
  const sf = libdrm.drmSyncobjExportSyncFile(p, fd, s);
  t.same(sf, { ret: 0, sync_file_fd: 4 });
  const other = libdrm.drmSyncobjCreate(p, fd, 0).handle as number;
  t.equal(libdrm.drmSyncobjImportSyncFile(p, fd, other, sf.sync_file_fd as number), 0);
  t.same(libdrm.drmSyncobjWait(p, fd, [other], 0n, 0), { ret: 0, first_signaled: 0 }, 'imported fence is signalled');
  t.equal(libdrm.drmSyncobjImportSyncFile(p, fd, other, 99), -1);
  t.equal(p.errno, errno.EINVAL);

  const h2f = libdrm.drmSyncobjHandleToFD(p, fd, s);
  t.same(h2f, { ret: 0, obj_fd: 5 });
  t.same(libdrm.drmSyncobjFDToHandle(p, fd, h2f.obj_fd as number), { ret: 0, handle: 3 });
  t.same(libdrm.drmSyncobjFDToHandle(p, fd, 99), { ret: -1 });
  t.equal(p.errno, errno.EINVAL);
  t.same(libdrm.drmSyncobjHandleToFD(p, fd, 77), { ret: -1 });
  t.equal(p.errno, errno.EINVAL);

  const bo = igt.xe_bo_create(p, fd, 0, 0x10000, igt.system_memory(p, fd));
  const pr = libdrm.drmPrimeHandleToFD(p, fd, bo, C('DRM_CLOEXEC'));
  t.same(pr, { ret: 0, prime_fd: 6 });
  t.same(libdrm.drmPrimeFDToHandle(p, fd, pr.prime_fd as number), { ret: 0, handle: bo }, 'same file: the same handle');
  t.same(libdrm.drmPrimeHandleToFD(p, fd, 77, 0), { ret: -1 });
  t.equal(p.errno, errno.ENOENT);
  t.same(libdrm.drmPrimeFDToHandle(p, fd, 99), { ret: -1 });
  t.equal(p.errno, errno.EBADF);
  await dev.close();
});
