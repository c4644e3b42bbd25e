// The IGT-style helpers: each plain helper works end to end; each `__` variant returns the
// negative errno of a bad call and leaves no state behind.
import t from 'tap';
import { createDevice, DEBUG, errno, formatIoctl, IOCTL, pack } from '../src/index.js';
import * as igt from '../src/userspace/igt.js';
import { C } from '../src/uapi/uapi.js';

t.test('VM, BO, map, exec queues', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const vm = igt.xe_vm_create(p, fd, 0);
  t.equal(vm, 1);
  t.equal(igt.__xe_vm_create(p, fd, 0x80), -errno.EINVAL, '__xe_vm_create returns -EINVAL');
  t.equal(igt.xe_vm_create(p, fd, 0), 2, 'no id consumed by the failed create');

  const bo = igt.xe_bo_create(p, fd, 0, 0x10000, igt.system_memory(p, fd));
  t.equal(bo, 1);
  t.equal(igt.__xe_bo_create(p, fd, 0, 4097, igt.system_memory(p, fd)), -errno.EINVAL);
  const map = igt.xe_bo_map(p, fd, bo, 0x10000);
  p.mem.writeU64(map + 0x8000n, 0xfeedn);
  const map2 = igt.xe_bo_map(p, fd, bo, 0x10000);
  t.not(map2, map);
  t.equal(p.mem.readU64(map2 + 0x8000n), 0xfeedn, 'two maps of one BO share its pages');

  const engines = igt.xe_query_engines(p, fd);
  t.ok(engines.length > 0);
  t.match(engines[0], { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 });
  const q = igt.xe_exec_queue_create(p, fd, vm, engines[0]);
  t.equal(q, 1);
  const bq = igt.xe_bind_exec_queue_create(p, fd, vm);
  t.equal(bq, 2);
  t.equal(igt.__xe_exec_queue_create(p, fd, 999, engines[0]), -errno.ENOENT);
  igt.xe_exec_queue_destroy(p, fd, q);
  t.equal(igt.__xe_exec_queue_destroy(p, fd, q), -errno.ENOENT);
  igt.gem_close(p, fd, bo);
  t.equal(igt.__gem_close(p, fd, bo), -errno.EINVAL);
  igt.xe_vm_destroy(p, fd, vm);
  t.equal(igt.__xe_vm_destroy(p, fd, vm), -errno.ENOENT);
  t.throws(() => igt.xe_vm_destroy(p, fd, vm), { name: 'Error', errno: errno.ENOENT });
  await dev.close();
});

t.test('query helpers per profile', async (t) => {
  for (const profile of ['lnl', 'bmg', 'dg2', 'tgl'] as const) {
    const dev = await createDevice({ profile });
    const p = dev.process;
    const fd = p.open();
    const cfg = igt.xe_query_config(p, fd);
    t.equal(cfg.length, 5, `${profile}: 5 config params`);
    t.equal(cfg[C('DRM_XE_QUERY_CONFIG_VA_BITS')], 48n);
    const dgfx = dev.profile.isDgfx;
    t.equal(igt.vram_if_possible(p, fd, 0), dgfx ? 2 : 1, `${profile}: vram_if_possible`);
    t.equal(cfg[C('DRM_XE_QUERY_CONFIG_MIN_ALIGNMENT')], profile === 'dg2' ? 0x10000n : 0x1000n);
    await dev.close();
  }
});

t.test('syncobj helpers', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const a = igt.syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  const b = igt.syncobj_create(p, fd);
  t.equal(igt.__syncobj_create(p, fd, 2), -errno.EINVAL);
  t.equal(igt.syncobj_wait(p, fd, [a], 0n), true);
  t.equal(igt.__syncobj_wait(p, fd, [b], 0n), -errno.EINVAL, 'no fence and no WAIT_FOR_SUBMIT');
  t.equal(igt.syncobj_wait(p, fd, [b], 0n, C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT')), false, 'ETIME is false');
  igt.syncobj_signal(p, fd, [b]);
  t.equal(igt.__syncobj_wait(p, fd, [b, a], 0n, C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL')), 0, 'first_signaled 0');
  igt.syncobj_reset(p, fd, [a]);
  t.equal(igt.__syncobj_reset(p, fd, [a, 77]), -errno.ENOENT);
  t.equal(igt.__syncobj_wait(p, fd, [a], 0n), -errno.EINVAL, 'reset dropped the fence');
  const tl = igt.syncobj_create(p, fd);
  igt.syncobj_timeline_signal(p, fd, [tl], [5n]);
  t.same(igt.syncobj_timeline_query(p, fd, [tl]), [5n]);
  t.equal(igt.__syncobj_timeline_signal(p, fd, [], []), -errno.EINVAL, 'count 0');
  igt.syncobj_destroy(p, fd, tl);
  t.equal(igt.__syncobj_destroy(p, fd, tl), -errno.EINVAL);
  await dev.close();
});

t.test('user fence helpers', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const f = p.mem.alloc(8, 8);
  t.equal(igt.__xe_wait_ufence(p, fd, f, 7n, 0, 0n).err, -errno.ETIME);
  p.debug(DEBUG.UFENCE_WRITE, f, 7n);
  const left = igt.xe_wait_ufence(p, fd, f, 7n, 0, 1_000_000n);
  t.ok(left > 0n && left <= 1_000_000n, 'condition true at once: most of the timeout is left');
  t.equal(igt.__xe_wait_ufence(p, fd, f + 4n, 7n).err, -errno.EINVAL, 'unaligned address');
  await dev.close();
});

t.test('the decoder prints a raw ioctl', async (t) => {
  const bytes = pack('drm_xe_vm_create', { flags: C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE') | 0x40, vm_id: 3 });
  t.equal(formatIoctl(IOCTL('DRM_IOCTL_XE_VM_CREATE'), bytes), 'DRM_IOCTL_XE_VM_CREATE {flags=SCRATCH_PAGE|0x40, vm_id=3}');
});

t.test('throwing helpers name the helper, the ioctl, the errno and the reason', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  t.throws(() => igt.xe_vm_destroy(p, fd, 9), {
    message: 'xe_vm_destroy: DRM_IOCTL_XE_VM_DESTROY failed: ENOENT (2): drm_xe_vm_destroy.vm_id 9: no such VM',
    errno: errno.ENOENT,
    ioctl: 'DRM_IOCTL_XE_VM_DESTROY',
    reason: 'drm_xe_vm_destroy.vm_id 9: no such VM',
  });
  t.throws(() => igt.syncobj_destroy(p, fd, 9), {
    message: 'syncobj_destroy: DRM_IOCTL_SYNCOBJ_DESTROY failed: EINVAL (22): drm_syncobj_destroy.handle 9: no such syncobj',
  });
  t.throws(() => igt.ioctlOk(p, fd, 'DRM_IOCTL_GET_CAP', { capability: 0x99 }), {
    message: 'DRM_IOCTL_GET_CAP: DRM_IOCTL_GET_CAP failed: EOPNOTSUPP (95): drm_get_cap.capability 153: not a cap this driver has',
  });
  await dev.close();
});

t.test('syncobj timeline waits, transfers, eventfd', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const tl = igt.syncobj_create(p, fd);
  const bin = igt.syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  const submit = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT');
  t.equal(igt.syncobj_timeline_wait(p, fd, [tl], [1n], 0n, submit), false, 'ETIME is false');
  t.equal(igt.syncobj_timeline_wait_err(p, fd, [tl], [1n], 0n, 0), -errno.EINVAL, 'unsubmitted point');
  t.equal(igt.__syncobj_timeline_wait(p, fd, [tl, 77], [1n, 1n], 0n, 0), -errno.ENOENT);
  igt.syncobj_binary_to_timeline(p, fd, tl, 3n, bin);
  t.same(igt.syncobj_timeline_query(p, fd, [tl]), [3n], 'the binary fence became point 3');
  t.equal(igt.syncobj_timeline_wait(p, fd, [tl], [3n], 0n, 0), true);
  t.equal(igt.__syncobj_timeline_wait(p, fd, [bin, tl], [0n, 3n], 0n, 0), 0, 'first_signaled 0');
  const bin2 = igt.syncobj_create(p, fd);
  igt.syncobj_timeline_to_binary(p, fd, bin2, tl, 3n);
  t.equal(igt.syncobj_wait(p, fd, [bin2], 0n), true, 'point 3 moved into a binary syncobj');
  const tl2 = igt.syncobj_create(p, fd);
  igt.syncobj_timeline_to_timeline(p, fd, tl2, 8n, tl, 3n);
  t.same(igt.syncobj_timeline_query(p, fd, [tl, tl2]), [3n, 8n]);
  t.equal(igt.__syncobj_transfer(p, fd, tl2, 9n, 77, 0n), -errno.ENOENT);
  t.same(igt.__syncobj_timeline_query(p, fd, [77]), { err: -errno.ENOENT, points: [0n] });
  t.same(igt.syncobj_timeline_query(p, fd, [tl2], C('DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED')), [8n]);
  const ev = p.eventfd();
  igt.syncobj_eventfd(p, fd, tl2, 10n, 0, ev);
  igt.syncobj_timeline_signal(p, fd, [tl2], [10n]);
  t.equal(p.readEventfd(ev), 1n, 'eventfd signalled with point 10');
  t.equal(igt.__syncobj_eventfd(p, fd, tl2, 11n, 0, 99), -errno.EBADF);
  await dev.close();
});

t.test('syncobj and prime fd export and import', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const s = igt.syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  const sfd = igt.syncobj_handle_to_fd(p, fd, s);
  t.equal(sfd, 4);
  const s2 = igt.syncobj_fd_to_handle(p, fd, sfd);
  t.equal(s2, 2, 'a new handle to the same syncobj');
  igt.syncobj_reset(p, fd, [s2]);
  t.equal(igt.__syncobj_wait(p, fd, [s], 0n), -errno.EINVAL, 'reset through one handle is seen through the other');
  t.equal(igt.__syncobj_fd_to_handle(p, fd, { fd: 99 }), -errno.EINVAL);
  t.equal(igt.__syncobj_handle_to_fd(p, fd, { handle: 77 }), -errno.EINVAL);

  const export_ = C('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE');
  t.equal(igt.__syncobj_handle_to_fd(p, fd, { handle: s, flags: export_ }), -errno.EINVAL, 'no fence to export');
  const signalled = igt.syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  const syncFile = igt.syncobj_handle_to_fd(p, fd, signalled, export_);
  igt.syncobj_import_sync_file(p, fd, s, syncFile);
  t.equal(igt.syncobj_wait(p, fd, [s], 0n), true, 'imported fence is signalled');
  t.throws(() => igt.syncobj_import_sync_file(p, fd, s, 99), { name: 'Error', errno: errno.EINVAL, ioctl: 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE' });

  const bo = igt.xe_bo_create(p, fd, 0, 0x10000, igt.system_memory(p, fd));
  const dmabuf = igt.prime_handle_to_fd(p, fd, bo);
  t.equal(dmabuf, 6);
  const fd2 = p.open();
  const bo2 = igt.prime_fd_to_handle(p, fd2, dmabuf);
  t.equal(bo2, 1, 'first handle in the importing file');
  const map = igt.xe_bo_map(p, fd, bo, 0x10000);
  const map2 = igt.xe_bo_map(p, fd2, bo2, 0x10000);
  p.mem.writeU64(map + 0x40n, 0xabcdn);
  t.equal(p.mem.readU64(map2 + 0x40n), 0xabcdn, 'both handles name the same pages');
  t.equal(igt.__prime_handle_to_fd(p, fd, 77, 0), -errno.ENOENT);
  t.equal(igt.prime_handle_to_fd_for_mmap(p, fd, 77), -1);
  t.ok(igt.prime_handle_to_fd_for_mmap(p, fd, bo) > 0);
  t.equal(igt.__prime_fd_to_handle(p, fd, 99), -errno.EBADF);
  await dev.close();
});

t.test('cached query helpers per profile', async (t) => {
  // [dev_id, va_bits, has_vram, regions, default alignment, engines, gts]
  const want = {
    lnl: [0x64a0, 48, false, 0b1, 0x1000, 6, 2],
    bmg: [0xe20b, 48, true, 0b11, 0x1000, 7, 2],
    dg2: [0x56a0, 48, true, 0b11, 0x10000, 7, 1],
    tgl: [0x9a49, 48, false, 0b1, 0x1000, 5, 1],
  } as const;
  for (const [profile, [devId, vaBits, hasVram, regions, align, nEngines, nGts]] of Object.entries(want)) {
    const dev = await createDevice({ profile: profile as keyof typeof want });
    const p = dev.process;
    const fd = p.open();
    t.equal(igt.xe_dev_id(p, fd), devId, `${profile}: dev id`);
    t.equal(igt.xe_va_bits(p, fd), vaBits);
    t.equal(igt.xe_has_vram(p, fd), hasVram);
    t.equal(igt.all_memory_regions(p, fd), regions);
    t.equal(igt.system_memory(p, fd), 1);
    t.equal(igt.xe_get_default_alignment(p, fd), align, `${profile}: default alignment`);
    t.equal(igt.xe_number_engines(p, fd), nEngines, `${profile}: engines`);
    t.equal(igt.xe_number_gt(p, fd), nGts, `${profile}: GTs`);
    t.equal(igt.xe_gt_list(p, fd).length, nGts);
    t.same([...igt.xe_for_each_engine(p, fd)], igt.xe_query_engines(p, fd), 'xe_for_each_engine walks the ENGINES query');
    t.same(igt.xe_engine(p, fd, 0).instance, { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0, pad: 0 });
    t.throws(() => igt.xe_engine(p, fd, nEngines), RangeError);
    t.equal(igt.vram_memory(p, fd, 0), hasVram ? 2 : 0);
    t.equal(igt.vram_if_possible(p, fd, 0), hasVram ? 2 : 1);
    t.equal(igt.xe_vram_size(p, fd, 0), hasVram ? BigInt(dev.profile.vram[0]) : 0n, `${profile}: vram size`);
    t.equal(igt.xe_visible_vram_size(p, fd, 0), igt.xe_vram_size(p, fd, 0));
    t.equal(igt.xe_min_page_size(p, fd, igt.vram_if_possible(p, fd, 0)), align);
    t.throws(() => igt.vram_memory(p, fd, 5), RangeError, 'no GT 5');
    const cached = igt.xe_config(p, fd);
    t.equal(igt.xe_config(p, fd), cached, 'one cached query per fd');
    igt.xe_device_put(p, fd);
    const fresh = igt.xe_config(p, fd);
    t.not(fresh, cached, 'put dropped the cache: queried again');
    t.same(fresh, cached);
    await dev.close();
  }
});
