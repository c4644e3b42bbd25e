// Clear errors at the user-space API boundary: a closed device, an exited process, a number
// where a bigint address belongs, alloc(0) and a wrong profile name each fail at once with a
// named error.
import t from 'tap';
import { createDevice, IOCTL, pack, type DeviceOptions } from '../src/index.js';

t.test('every call after dev.close() throws DeviceClosed at once', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const a = p.mem.alloc(16);
  await dev.close();
  t.throws(() => p.open(), { name: 'DeviceClosed', message: /dev\.close\(\)/ });
  t.throws(() => p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), a), { name: 'DeviceClosed' });
  t.throws(() => p.mem.alloc(8), { name: 'DeviceClosed' });
  t.throws(() => dev.createProcess(), { name: 'DeviceClosed' });
  await dev.close();
  t.pass('a second close does nothing');
});

t.test('every call on a process after it exited throws ProcessExited', async (t) => {
  const dev = await createDevice();
  const q = dev.createProcess();
  const fd = q.open();
  t.equal(fd, 3, 'fds start after stdin, stdout and stderr');
  q.exit();
  t.throws(() => q.open(), { name: 'ProcessExited', pid: q.pid, message: `xe-emu process ${q.pid} has exited` });
  t.throws(() => q.mem.alloc(8), { name: 'ProcessExited' });
  t.equal(dev.process.open(), 3, 'the device and other processes carry on');
  await dev.close();
});

t.test('a number where a bigint address belongs is a TypeError naming the parameter', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const a = p.mem.alloc(16);
  p.mem.write(a, pack('drm_get_cap', { capability: 1 }));
  const n = Number(a) as unknown as bigint;
  t.throws(() => p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), n), { name: 'TypeError', message: /^ioctl argp must be a bigint/ });
  t.throws(() => p.mem.read(n, 4), { name: 'TypeError', message: /^mem\.read addr must be a bigint/ });
  t.throws(() => p.mem.write(n, new Uint8Array(4)), { name: 'TypeError', message: /^mem\.write addr/ });
  t.throws(() => p.mem.readU64(n), { name: 'TypeError', message: /^mem\.readU64 addr/ });
  t.throws(() => p.mem.writeU64(a, 5 as unknown as bigint), { name: 'TypeError', message: /^mem\.writeU64 value/ });
  t.throws(() => p.mem.free(n), { name: 'TypeError', message: /^mem\.free addr/ });
  t.throws(() => p.mmap(4096, fd, 0 as unknown as bigint), { name: 'TypeError', message: /^mmap offset/ });
  t.throws(() => p.munmap(n, 4096), { name: 'TypeError', message: /^munmap addr/ });
  t.equal(p.mem.readU64(a), 1n, 'user memory untouched by the rejected calls');
  await dev.close();
});

t.test('mem.alloc of 0, a negative or a fractional size throws a RangeError', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  for (const size of [0, -8, 1.5, Number.NaN]) {
    t.throws(() => p.mem.alloc(size), { name: 'RangeError', message: `mem.alloc: size must be a positive integer, got ${size}` });
  }
  t.type(p.mem.alloc(1), 'bigint', 'alloc(1) still works');
  await dev.close();
});

t.test('an unknown profile name lists the valid ones', async (t) => {
  for (const profile of ['xyz', 'toString', 'constructor']) {
    await t.rejects(createDevice({ profile } as unknown as DeviceOptions), {
      message: `unknown device profile '${profile}' (known: lnl, bmg, dg2, tgl)`,
    });
  }
});
