/**
 * CPU mappings of BOs through their fake offsets (drm_gem_mmap semantics): data lands in
 * the BO's pages, mappings hold the object, permission and range checks.
 */
import t from 'tap';
import { createDevice, DEBUG, type Process } from '../src/index.js';
import { SYS } from '../src/uapi/channel.js';
import { EACCES, EINVAL } from '../src/uapi/errno.js';
import { C, IOCTL } from '../src/uapi/uapi.js';
import { doIoctl, ioctlOk } from '../src/userspace/igt.js';
import { faults } from './helpers/pages.js';

/** Placement bits are memory-region instances (DEVICE_QUERY MEM_REGIONS): 0 system, 1 VRAM0. */
const SYSMEM = 1 << 0;
const VRAM0 = 1 << 1;
const WB = C('DRM_XE_GEM_CPU_CACHING_WB');
const WC = C('DRM_XE_GEM_CPU_CACHING_WC');
const PAGE = 4096;
const SZ_64K = 65536;

function usage(p: Process): [number, number] {
  const [s, v] = p.debug(DEBUG.MEM_USAGE);
  return [Number(s), Number(v)];
}

function createBo(p: Process, fd: number, size: number, placement = SYSMEM, cpu_caching = WB): number {
  return ioctlOk(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', { size, placement, cpu_caching }).handle as number;
}

function offsetOf(p: Process, fd: number, handle: number): bigint {
  return ioctlOk(p, fd, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle }).offset as bigint;
}

function closeBo(p: Process, fd: number, handle: number): void {
  ioctlOk(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle });
}

function mapOk(p: Process, length: number, fd: number, offset: bigint): bigint {
  const a = p.mmap(length, fd, offset);
  if (a === -1n) throw new Error(`mmap failed: errno ${p.errno}`);
  return a;
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

t.test('write / read round trip through two mappings', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const h = createBo(p, fd, 3 * PAGE);
  const off = offsetOf(p, fd, h);
  const a = mapOk(p, 3 * PAGE, fd, off);
  const b = mapOk(p, 3 * PAGE, fd, off);
  t.not(a, b, 'two distinct mappings');
  t.same(p.mem.read(a, 3 * PAGE), new Uint8Array(3 * PAGE), 'a new BO is zero-filled');
  const data = bytes(2 * PAGE + 100, 7);
  p.mem.write(a + 1000n, data);
  t.same(p.mem.read(b + 1000n, data.length), data, 'a write through one mapping is seen through the other');
  p.mem.writeU64(b + BigInt(3 * PAGE - 8), 0x1122334455667788n);
  t.equal(p.mem.readU64(a + BigInt(3 * PAGE - 8)), 0x1122334455667788n, 'and back');
  const c = mapOk(p, 100, fd, off);
  t.same(p.mem.read(c + 1000n, 16), data.subarray(0, 16), 'a shorter mapping of the start sees the same bytes');
  t.ok(faults(() => p.mem.read(c + BigInt(PAGE), 1)), 'a 100-byte mapping covers one page only');
  await dev.close();
});

t.test('munmap, then access faults', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const h = createBo(p, fd, PAGE);
  const a = mapOk(p, PAGE, fd, offsetOf(p, fd, h));
  p.mem.writeU32(a, 0xdeadbeef);
  t.equal(p.munmap(a, PAGE), 0);
  t.ok(faults(() => p.mem.readU32(a)), 'read after munmap');
  t.ok(faults(() => p.mem.writeU32(a, 1)), 'write after munmap');
  const b = mapOk(p, PAGE, fd, offsetOf(p, fd, h));
  t.equal(p.mem.readU32(b), 0xdeadbeef, 'the data stays in the BO');
  await dev.close();
});

t.test('mmap checks: offset, length, permission', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const h = createBo(p, fd, 2 * PAGE);
  const off = offsetOf(p, fd, h);
  const fails = (what: string, length: number, mfd: number, offset: bigint, errno: number, proc = p): void => {
    t.equal(proc.mmap(length, mfd, offset), -1n, `${what}: fails`);
    t.equal(proc.errno, errno, `${what}: errno ${errno}`);
  };
  fails('length beyond the BO', 2 * PAGE + 1, fd, off, EINVAL);
  fails('offset inside the BO', PAGE, fd, off + BigInt(PAGE), EINVAL);
  fails('offset of nothing', PAGE, fd, off + (1n << 30n), EINVAL);
  fails('unaligned offset', PAGE, fd, off + 1n, EINVAL);
  fails('PCI barrier offset (not a BO; read/write barrier maps are refused)', PAGE, fd, 0x50n << 12n, EINVAL);
  const fd2 = p.open();
  fails('a file without a handle to the BO', PAGE, fd2, off, EACCES);
  fails('range is checked before permission', 3 * PAGE, fd2, off, EINVAL);
  const q = dev.createProcess();
  const qfd = q.open();
  fails('another process', PAGE, qfd, off, EACCES, q);
  // After import the other file may map it.
  const dmabuf = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle: h }).fd as number;
  ioctlOk(p, fd2, 'DRM_IOCTL_PRIME_FD_TO_HANDLE', { fd: dmabuf });
  const a = mapOk(p, 2 * PAGE, fd2, off);
  const b = mapOk(p, 2 * PAGE, fd, off);
  p.mem.writeU32(a + 4n, 42);
  t.equal(p.mem.readU32(b + 4n), 42, 'the importing file maps the same pages');
  // A dup of the DRM fd is the same file: it holds the handle.
  const dupfd = p.dup(fd);
  t.not(mapOk(p, PAGE, dupfd, off), -1n, 'a dup of the fd may map');
  await dev.close();
});

t.test('a mapping keeps the BO alive after its handle is closed', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  closeBo(p, fd, createBo(p, fd, PAGE)); // settle the heap
  const before = usage(p);
  const h = createBo(p, fd, 16 * PAGE);
  const off = offsetOf(p, fd, h);
  const a = mapOk(p, 16 * PAGE, fd, off);
  const b = mapOk(p, 4 * PAGE, fd, off);
  p.mem.writeU32(a + BigInt(15 * PAGE), 77);
  closeBo(p, fd, h);
  t.same(usage(p), [before[0] + 16, before[1]], 'still allocated while mapped');
  t.equal(p.mem.readU32(a + BigInt(15 * PAGE)), 77, 'data still reachable');
  t.equal(p.mmap(PAGE, fd, off), -1n, 'no new mapping without a handle');
  t.equal(p.errno, EACCES, 'EACCES: the object lives, the file has no handle');
  t.equal(createBo(p, fd, PAGE), h, 'the handle number is free again');
  closeBo(p, fd, h);
  p.munmap(a, 16 * PAGE);
  t.same(usage(p), [before[0] + 16, before[1]], 'one mapping left');
  p.munmap(b, 4 * PAGE);
  t.same(usage(p), before, 'freed at the last munmap');
  t.equal(p.mmap(PAGE, fd, off), -1n);
  t.equal(p.errno, EINVAL, 'the offset is gone with the object');
  await dev.close();
});

t.test('closing the DRM fd keeps mappings; process exit releases them', async (t) => {
  const dev = await createDevice();
  const q = dev.createProcess();
  const fd = q.open();
  closeBo(q, fd, createBo(q, fd, PAGE));
  const before = usage(q);
  const h = createBo(q, fd, 8 * PAGE);
  const a = mapOk(q, 8 * PAGE, fd, offsetOf(q, fd, h));
  q.close(fd);
  q.mem.writeU32(a, 5);
  t.equal(q.mem.readU32(a), 5, 'mapping usable after close(fd)');
  t.same(usage(q), [before[0] + 8, before[1]]);
  q.rawSyscall(SYS.PROCESS_EXIT);
  const p = dev.process;
  const [sys] = usage(p);
  t.ok(sys < before[0], 'exit released the BO and the heap of the process');
  await dev.close();
});

t.test('VRAM BO mapping on dg2', async (t) => {
  const dev = await createDevice({ profile: 'dg2' });
  const p = dev.process;
  const fd = p.open();
  const h = createBo(p, fd, SZ_64K, VRAM0, WC);
  const off = offsetOf(p, fd, h);
  const a = mapOk(p, SZ_64K, fd, off);
  const b = mapOk(p, SZ_64K, fd, off);
  const data = bytes(SZ_64K, 3);
  p.mem.write(a, data);
  t.same(p.mem.read(b, SZ_64K), data, 'VRAM pages through two mappings');
  const [, vram] = usage(p);
  t.equal(vram, 16, '16 VRAM pages');
  await dev.close();
});

t.test('doIoctl on a mapped BO address: the kernel reads the same memory', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const h = createBo(p, fd, PAGE);
  const a = mapOk(p, PAGE, fd, offsetOf(p, fd, h));
  // The BO mapping as an ioctl argument buffer.
  const r = doIoctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle: 999 });
  t.equal(r.errno, EINVAL);
  p.mem.writeU32(a, 999);
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GEM_CLOSE'), a), -1);
  t.equal(p.errno, EINVAL, 'copy_from_user through a BO mapping');
  p.mem.writeU32(a, h);
  t.equal(p.ioctl(fd, IOCTL('DRM_IOCTL_GEM_CLOSE'), a), 0, 'handle read from the BO page');
  t.equal(p.mem.readU32(a), h, 'the mapping survives closing the handle');
  await dev.close();
});
