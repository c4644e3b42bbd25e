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
