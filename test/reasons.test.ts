// "Why did it fail?": every failing check in the kernel gives a reason (condition, field,
// value) that user space reads as p.lastError after the call, in the kernel's failure log
// (dev.dmesg()) and in IgtError messages. One failure per handler family, plus dispatch.
import t, { type Test } from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { C, createDevice, errno, IOCTL, pack, type Process } from '../src/index.js';
import { igt } from '../src/index.js';
import { doIoctl } from '../src/userspace/igt.js';

/** The last failure of `p`, asserted to be `errnoValue`; returns its reason. */
function lastReason(t: Test, p: Process, errnoValue: number, call: string): string {
  t.equal(p.errno, errnoValue, `errno ${errnoValue}`);
  t.equal(p.lastError?.errno, errnoValue, 'lastError.errno matches errno');
  t.equal(p.lastError?.call, call, `lastError.call is ${call}`);
  return p.lastError?.reason ?? '';
}

async function setup() {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  return { dev, p, fd };
}

t.test('DRM core: GET_CAP, SET_CLIENT_CAP and SET_CLIENT_NAME name the field and value', async (t) => {
  const { dev, p, fd } = await setup();
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_GET_CAP', { capability: 0x99 }).rc, -1);
  t.equal(lastReason(t, p, errno.EOPNOTSUPP, 'DRM_IOCTL_GET_CAP'), 'drm_get_cap.capability 153: not a cap this driver has');
  const primary = p.open('primary');
  t.equal(doIoctl(p, primary, 'DRM_IOCTL_SET_CLIENT_CAP', { capability: C('DRM_CLIENT_CAP_STEREO_3D'), value: 2 }).rc, -1);
  const capReason = 'drm_set_client_cap.capability 1: no modesetting on this device, every client cap is refused';
  t.equal(lastReason(t, p, errno.EOPNOTSUPP, 'DRM_IOCTL_SET_CLIENT_CAP'), capReason);
  t.equal(p.lastError?.name, 'EOPNOTSUPP');
  t.equal(p.lastError?.message, `DRM_IOCTL_SET_CLIENT_CAP: EOPNOTSUPP (95): ${capReason}`);
  const name = p.mem.alloc(8);
  p.mem.write(name, new TextEncoder().encode('ab c'));
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_SET_CLIENT_NAME', { name_len: 4, name }).rc, -1);
  t.equal(
    lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_SET_CLIENT_NAME'),
    'drm_set_client_name.name: byte 2 is not a printable non-space ASCII character',
  );
  await dev.close();
});

t.test('GEM / BO: GEM_CREATE flags and vm_id, GEM_CLOSE handle, MMAP_OFFSET handle', async (t) => {
  const { dev, p, fd } = await setup();
  const sys = 1; // placement bit 0: system memory
  const create = (fields: Record<string, number | bigint>) =>
    doIoctl(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', { size: 4096, placement: sys, cpu_caching: 1, ...fields }).rc;
  t.equal(create({ flags: 0x80 }), -1);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_GEM_CREATE'), 'drm_xe_gem_create.flags 0x80: unknown flag bits 0x80');
  t.equal(create({ vm_id: 7 }), -1);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_XE_GEM_CREATE'), 'drm_xe_gem_create.vm_id 7: no such VM');
  t.equal(create({ size: 4097 }), -1);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_GEM_CREATE'), 'drm_xe_gem_create.size 0x1001: not a multiple of the page size');
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle: 77 }).rc, -1);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_GEM_CLOSE'), 'drm_gem_close.handle 77: no such object');
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle: 5 }).rc, -1);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET'), 'drm_xe_gem_mmap_offset.handle 5: no such object');
  await dev.close();
});

t.test('VM: VM_CREATE flags, VM_DESTROY vm_id', async (t) => {
  const { dev, p, fd } = await setup();
  t.equal(igt.__xe_vm_create(p, fd, 1 << 12), -errno.EINVAL);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_VM_CREATE'), 'drm_xe_vm_create.flags 0x1000: unknown flag bits 0x1000');
  t.equal(igt.__xe_vm_destroy(p, fd, 7), -errno.ENOENT);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_XE_VM_DESTROY'), 'drm_xe_vm_destroy.vm_id 7: no such VM');
  await dev.close();
});

t.test('exec queue: unknown VM, an extension property, destroy and GET_PROPERTY', async (t) => {
  const { dev, p, fd } = await setup();
  const render = { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 };
  t.equal(igt.__xe_exec_queue_create(p, fd, 42, render), -errno.ENOENT);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE'), 'drm_xe_exec_queue_create.vm_id 42: no such VM');
  const vm = igt.xe_vm_create(p, fd);
  const ext = p.mem.alloc(64, 8);
  p.mem.write(ext, pack('drm_xe_ext_set_property', {
    base: { next_extension: 0n, name: 0 }, property: C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_PRIORITY'), value: 3n,
  }));
  t.equal(igt.__xe_exec_queue_create(p, fd, vm, render, ext), -errno.EINVAL);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE'), 'property PRIORITY 3: above HIGH (2)');
  p.mem.write(ext, pack('drm_xe_ext_set_property', {
    base: { next_extension: 0n, name: 5 }, property: 0, value: 0n,
  }));
  t.equal(igt.__xe_exec_queue_create(p, fd, vm, render, ext), -errno.EINVAL);
  t.equal(
    lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE'),
    `drm_xe_user_extension at 0x${ext.toString(16)}: name 5 unknown or pad 0 set`,
  );
  t.equal(igt.__xe_exec_queue_destroy(p, fd, 5), -errno.ENOENT);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY'), 'drm_xe_exec_queue_destroy.exec_queue_id 5: no such exec queue');
  const q = igt.xe_exec_queue_create(p, fd, vm, render);
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', { exec_queue_id: q, property: 4 }).rc, -1);
  t.equal(
    lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY'),
    'drm_xe_exec_queue_get_property.property 4: only BAN (0) can be read',
  );
  await dev.close();
});

t.test('query: unknown query id, wrong size', async (t) => {
  const { dev, p, fd } = await setup();
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', { query: 99 }).rc, -1);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_DEVICE_QUERY'), 'drm_xe_device_query.query 99: unknown query');
  const need = Number(doIoctl(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', { query: C('DRM_XE_DEVICE_QUERY_CONFIG') }).out.size);
  t.equal(doIoctl(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', { query: C('DRM_XE_DEVICE_QUERY_CONFIG'), size: 8 }).rc, -1);
  t.equal(
    lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_DEVICE_QUERY'),
    `drm_xe_device_query.size 8: this query needs ${need} (or 0 to ask)`,
  );
  await dev.close();
});

t.test('syncobj: create flags, destroy handle, an unknown handle in a wait array, a timed-out wait', async (t) => {
  const { dev, p, fd } = await setup();
  t.equal(igt.__syncobj_create(p, fd, 2), -errno.EINVAL);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_SYNCOBJ_CREATE'), 'drm_syncobj_create.flags 0x2: unknown bits 0x2');
  const s = igt.syncobj_create(p, fd);
  t.equal(igt.__syncobj_wait(p, fd, [s, 99], 0n, 0), -errno.ENOENT);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_SYNCOBJ_WAIT'), 'handles[1] 99: no such syncobj');
  t.equal(igt.__syncobj_wait(p, fd, [s], 0n, 0), -errno.EINVAL);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_SYNCOBJ_WAIT'), 'handles[0] point 0: no fence (no WAIT_FOR_SUBMIT)');
  // A wait that parks in the kernel and fails when its deadline passes carries its reason too.
  const waitForSubmit = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT');
  const soon = p.clockMonotonicNs() + 2_000_000n;
  t.equal(igt.__syncobj_wait(p, fd, [s], soon, waitForSubmit), -errno.ETIME);
  t.equal(lastReason(t, p, errno.ETIME, 'DRM_IOCTL_SYNCOBJ_WAIT'), 'timed out before the fences signalled');
  await dev.close();
});

t.test('user fence: alignment, unknown queue, a parked wait that times out', async (t) => {
  const { dev, p, fd } = await setup();
  const f = p.mem.alloc(16, 8);
  t.equal(igt.__xe_wait_ufence(p, fd, f + 4n, 7n).err, -errno.EINVAL);
  t.equal(
    lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_XE_WAIT_USER_FENCE'),
    `drm_xe_wait_user_fence.addr 0x${(f + 4n).toString(16)}: not 8-byte aligned`,
  );
  t.equal(igt.__xe_wait_ufence(p, fd, f, 7n, 3).err, -errno.ENOENT);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_XE_WAIT_USER_FENCE'), 'drm_xe_wait_user_fence.exec_queue_id 3: no such exec queue');
  t.equal(igt.__xe_wait_ufence(p, fd, f, 7n, 0, 1_000_000n).err, -errno.ETIME);
  t.equal(lastReason(t, p, errno.ETIME, 'DRM_IOCTL_XE_WAIT_USER_FENCE'), 'timed out: the value at .addr did not pass the compare');
  await dev.close();
});

t.test('prime: unknown handle, an fd that is not a dma-buf', async (t) => {
  const { dev, p, fd } = await setup();
  t.equal(igt.__prime_handle_to_fd(p, fd, 12, C('DRM_CLOEXEC')), -errno.ENOENT);
  t.equal(lastReason(t, p, errno.ENOENT, 'DRM_IOCTL_PRIME_HANDLE_TO_FD'), 'drm_prime_handle.handle 12: no such object');
  const efd = p.eventfd();
  t.equal(igt.__prime_fd_to_handle(p, fd, efd), -errno.EINVAL);
  t.equal(lastReason(t, p, errno.EINVAL, 'DRM_IOCTL_PRIME_FD_TO_HANDLE'), `drm_prime_handle.fd ${efd}: not a dma-buf (eventfd file)`);
  await dev.close();
});

t.test('dispatch: type byte, unknown number, render-allow, EFAULT on copy-in, non-DRM fd, wedged', async (t) => {
  const { dev, p, fd } = await setup();
  const arg = p.mem.alloc(64, 8);
  const foreign = (IOCTL('DRM_IOCTL_GET_CAP') & ~0xff00) | (0x41 << 8);
  t.equal(p.ioctl(fd, foreign, arg), -1);
  t.equal(
    lastReason(t, p, errno.ENOTTY, `ioctl 0x${(foreign >>> 0).toString(16)}`),
    `request 0x${(foreign >>> 0).toString(16)}: type byte 0x41 is not DRM (0x64)`,
  );
  const unknownNr = (IOCTL('DRM_IOCTL_XE_DEVICE_QUERY') & ~0xff) | 0x7f;
  t.equal(p.ioctl(fd, unknownNr, arg), -1);
  t.equal(
    lastReason(t, p, errno.EINVAL, `ioctl 0x${(unknownNr >>> 0).toString(16)}`),
    `request 0x${(unknownNr >>> 0).toString(16)}: no ioctl number 0x7f in this driver`,
  );
  p.mem.write(arg, pack('drm_set_client_cap', { capability: 1, value: 1 }));
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_SET_CLIENT_CAP'), arg), -1);
  t.equal(lastReason(t, p, errno.EACCES, 'DRM_IOCTL_SET_CLIENT_CAP'), 'not DRM_RENDER_ALLOW: primary node only');
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), 0x10n), -1);
  t.match(lastReason(t, p, errno.EFAULT, 'DRM_IOCTL_GET_CAP'), /^copy_from_user\(0x10, 16\): read fault at 0x10$/);
  const efd = p.eventfd();
  t.equal(p.ioctl(efd, IOCTL('DRM_IOCTL_GET_CAP'), arg), -1);
  t.equal(lastReason(t, p, errno.ENOTTY, 'DRM_IOCTL_GET_CAP'), 'not a DRM device (eventfd file)');
  t.equal(p.ioctl(99, IOCTL('DRM_IOCTL_GET_CAP'), arg), -1);
  t.equal(lastReason(t, p, errno.EBADF, 'DRM_IOCTL_GET_CAP'), 'fd 99: not open');
  p.wedge();
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), arg), -1);
  t.equal(lastReason(t, p, errno.ECANCELED, 'DRM_IOCTL_GET_CAP'), 'device is wedged');
  await dev.close();
});

t.test('system calls: close, mmap and read give reasons too', async (t) => {
  const { dev, p, fd } = await setup();
  t.equal(p.close(55), -1);
  t.equal(lastReason(t, p, errno.EBADF, 'close'), 'close: fd 55 not open');
  t.equal(p.mmap(4096, fd, 0x1234000n), -1n);
  t.equal(lastReason(t, p, errno.EINVAL, 'mmap'), 'mmap offset 0x1234000: no GEM object starts there');
  t.equal(p.readEventfd(fd), -1n);
  t.equal(lastReason(t, p, errno.EINVAL, 'read'), 'read: fd: drm file, wanted EventFd');
  await dev.close();
});

t.test('lastError is kept by a successful call (like errno) and replaced by the next failure', async (t) => {
  const { dev, p, fd } = await setup();
  t.equal(p.lastError, null, 'no failure yet');
  t.equal(igt.__xe_vm_destroy(p, fd, 7), -errno.ENOENT);
  const first = p.lastError;
  const vm = igt.xe_vm_create(p, fd);
  t.ok(vm > 0);
  t.equal(p.lastError, first, 'a successful ioctl leaves lastError');
  t.equal(p.errno, errno.ENOENT, 'and errno');
  t.equal(igt.__syncobj_destroy(p, fd, 4), -errno.EINVAL);
  t.equal(p.lastError?.reason, 'drm_syncobj_destroy.handle 4: no such syncobj', 'the next failure replaces it');
  // Each process (thread) has its own.
  const q = dev.createProcess();
  t.equal(q.lastError, null);
  await dev.close();
});

t.test('dev.dmesg(): one line per failed call with pid, call, errno and reason; off by default', async (t) => {
  const dev = await createDevice({ dmesg: true });
  const p = dev.process;
  const fd = p.open();
  const q = dev.createProcess();
  const qfd = q.open();
  igt.__xe_vm_destroy(p, fd, 9);
  igt.__xe_vm_create(q, qfd, 1 << 12);
  q.close(77);
  t.ok(igt.xe_vm_create(p, fd) > 0, 'successful calls are not logged');
  t.same(dev.dmesg(), [
    '[DRM_IOCTL_XE_VM_DESTROY] pid 1: ENOENT (-2): drm_xe_vm_destroy.vm_id 9: no such VM',
    `[DRM_IOCTL_XE_VM_CREATE] pid ${q.pid}: EINVAL (-22): drm_xe_vm_create.flags 0x1000: unknown flag bits 0x1000`,
    `[close] pid ${q.pid}: EBADF (-9): close: fd 77 not open`,
  ]);
  await dev.close();

  const quiet = await createDevice();
  const qp = quiet.process;
  igt.__xe_vm_destroy(qp, qp.open(), 9);
  t.same(quiet.dmesg(), [], 'without dmesg: true the log is empty');
  t.equal(qp.lastError?.reason, 'drm_xe_vm_destroy.vm_id 9: no such VM', 'lastError works without the log');
  await quiet.close();
});

t.test('IgtError carries the reason', async (t) => {
  const { dev, p, fd } = await setup();
  t.throws(() => igt.xe_bo_create(p, fd, 3, 4096, 1), {
    name: 'Error',
    message: 'xe_bo_create: DRM_IOCTL_XE_GEM_CREATE failed: ENOENT (2): drm_xe_gem_create.vm_id 3: no such VM',
    reason: 'drm_xe_gem_create.vm_id 3: no such VM',
  });
  t.throws(() => igt.syncobj_create(p, fd, 4), {
    message: 'syncobj_create: DRM_IOCTL_SYNCOBJ_CREATE failed: EINVAL (22): drm_syncobj_create.flags 0x4: unknown bits 0x4',
  });
  await dev.close();
});

t.test('every errno site in src/kernel carries a reason (no bare -EXXX)', async (t) => {
  // check(), fail() and new Errno() require one (the compiler sees to it); a bare negative
  // errno constant in code would bypass them.
  const root = new URL('../../src/kernel/', import.meta.url);
  const files = readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.ts'));
  t.ok(files.length > 20, 'the kernel sources are found');
  const bare: string[] = [];
  for (const f of files) {
    readFileSync(new URL(f, root), 'utf8').split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (/^\s*(\*|\/\*)/.test(code)) return;
      if (/(^|[^\w.])-E[A-Z0-9]{2,}\b/.test(code)) bare.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  t.same(bare, [], 'no bare -EXXX in kernel code');
});
