/**
 * munmap and MAP_FIXED act on exact page ranges (issue 12 section 3): mappings split, holes
 * are fine, bad ranges are EINVAL with nothing changed, and a split BO or dma-buf mapping
 * holds its object until its last piece goes.
 */
import t from 'tap';
import { createDevice, DEBUG, type Process } from '../src/index.js';
import { EEXIST, EFAULT, EINVAL, ENOMEM } from '../src/uapi/errno.js';
import { C, IOCTL } from '../src/uapi/uapi.js';
import { ioctlOk } from '../src/userspace/igt.js';
import { faults, marker, setMarker } from './helpers/pages.js';

const PAGE = 4096;
const P = BigInt(PAGE);
/** x86-64 TASK_SIZE with 4-level paging. */
const TASK_SIZE = (1n << 47n) - P;

function sysPages(p: Process): number {
  return Number(p.debug(DEBUG.MEM_USAGE)[0]);
}

/** System pages in use once the malloc arena that ioctl arguments live in exists. */
function settledUsage(p: Process): number {
  p.mem.free(p.mem.alloc(16));
  return sysPages(p);
}

/** A system-memory WB BO of `pages` pages. */
function createBo(p: Process, fd: number, pages: number): number {
  const args = { size: pages * PAGE, placement: 1 << 0, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WB') };
  return ioctlOk(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', args).handle as number;
}

function anon(p: Process, pages: number, at = {}): bigint {
  const a = p.mmapAnon(pages * PAGE, at);
  if (a === -1n) throw new Error(`mmapAnon failed: errno ${p.errno}`);
  return a;
}

/** A mapping of a new `pages`-page BO whose page i is marked `mark0 + i`. */
function mappedBo(p: Process, fd: number, pages: number, mark0: number): { handle: number; offset: bigint; addr: bigint } {
  const handle = createBo(p, fd, pages);
  const offset = ioctlOk(p, fd, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle }).offset as bigint;
  const addr = p.mmap(pages * PAGE, fd, offset);
  for (let i = 0; i < pages; i++) mark(p, addr, i, mark0 + i);
  return { handle, offset, addr };
}

/** Writes marker `v` in page `i` from `base`. */
function mark(p: Process, base: bigint, i: number, v: number): void {
  setMarker(p, base + BigInt(i) * P, v);
}

/** The markers of `pages` pages from `base` ('fault' for unmapped ones). */
function marks(p: Process, base: bigint, pages: number): Array<number | 'fault'> {
  return Array.from({ length: pages }, (_, i) => marker(p, base + BigInt(i) * P));
}

/** Anonymous memory of `pages` pages, page i marked `mark0 + i`. */
function markedAnon(p: Process, pages: number, mark0: number): bigint {
  const a = anon(p, pages);
  for (let i = 0; i < pages; i++) mark(p, a, i, mark0 + i);
  return a;
}

/** A region of `pages` free pages: mapped once to learn the address, then unmapped. */
function freeRegion(p: Process, pages: number): bigint {
  const a = anon(p, pages);
  if (p.munmap(a, pages * PAGE) !== 0) throw new Error(`munmap failed: errno ${p.errno}`);
  return a;
}

t.test('the issue: munmap of page 2 of a 2-page mapping keeps page 1', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const a = anon(p, 2);
  mark(p, a, 0, 0x1111);
  mark(p, a, 1, 0x2222);
  const before = sysPages(p);
  t.equal(p.munmap(a + P, PAGE), 0);
  t.equal(marker(p, a), 0x1111, 'page 1 keeps its data');
  p.mem.writeU32(a + 8n, 0xabcd);
  t.equal(p.mem.readU32(a + 8n), 0xabcd, 'page 1 is still writable');
  t.ok(faults(() => p.mem.readU32(a + P)), 'a user read of page 2 faults');
  t.ok(faults(() => p.mem.writeU32(a + P, 1)), 'a user write of page 2 faults');
  t.ok(faults(() => p.mem.read(a + P - 4n, 8)), 'an access straddling into page 2 faults');
  t.equal(sysPages(p), before - 1, 'exactly one anonymous page was freed');
  const gemClose = IOCTL('DRM_IOCTL_GEM_CLOSE');
  p.mem.writeU32(a, 999);
  t.equal(p.ioctl(fd, gemClose, a), -1);
  t.equal(p.errno, EINVAL, 'the kernel reads page 1 (handle 999 is unknown)');
  t.equal(p.ioctl(fd, gemClose, a + P), -1);
  t.equal(p.errno, EFAULT, 'a kernel access to page 2 is EFAULT');
  t.equal(p.ioctl(fd, gemClose, a + P - 4n), -1);
  t.equal(p.errno, EFAULT, 'an argument straddling into page 2 is EFAULT');
  await dev.close();
});

t.test('munmap of a middle page leaves two pieces; a span over the hole unmaps both', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const a = markedAnon(p, 3, 0x100);
  const before = sysPages(p);
  t.equal(p.munmap(a + P, PAGE), 0);
  t.same(marks(p, a, 3), [0x100, 'fault', 0x102], 'outer pages keep their data');
  t.equal(sysPages(p), before - 1);
  t.equal(p.munmap(a + P, PAGE), 0, 'unmapping the hole again succeeds');
  t.equal(p.munmap(a, 3 * PAGE), 0, 'a range over both pieces and the hole');
  t.same(marks(p, a, 3), ['fault', 'fault', 'fault']);
  t.equal(sysPages(p), before - 3, 'every anonymous page is freed');
  await dev.close();
});

t.test('munmap EINVAL cases change nothing; holes anywhere below TASK_SIZE are fine', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const a = markedAnon(p, 2, 7);
  const before = sysPages(p);
  const cases: Array<[string, bigint, bigint | number]> = [
    ['unaligned address', a + 1n, PAGE],
    ['address in the middle of a page', a + P / 2n, PAGE],
    ['zero length', a, 0],
    ['length of -1 (SIZE_MAX)', a, -1],
    ['length past TASK_SIZE', a, TASK_SIZE],
    ['length wrapping the address space', a, (1n << 64n) - P],
    ['address past TASK_SIZE', TASK_SIZE + P, PAGE],
  ];
  for (const [what, addr, len] of cases) {
    t.equal(p.munmap(addr, len), -1, `${what}: fails`);
    t.equal(p.errno, EINVAL, `${what}: EINVAL`);
  }
  t.same(marks(p, a, 2), [7, 8], 'both pages still mapped with their data');
  t.equal(sysPages(p), before, 'no page freed');
  t.equal(p.munmap(0x10000n, PAGE), 0, 'a hole outside the emulated window');
  t.equal(p.munmap(TASK_SIZE - P, PAGE), 0, 'the last user page');
  t.equal(p.munmap(a, 3), 0, 'a length is rounded up to a page');
  t.same(marks(p, a, 2), ['fault', 8]);
  await dev.close();
});

t.test('a range spanning mappings and holes unmaps every mapped page in it', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const base = freeRegion(p, 8);
  // Pages: A A . B B . C C
  for (const at of [0, 3, 6]) anon(p, 2, { fixed: base + BigInt(at) * P });
  for (const i of [0, 1, 3, 4, 6, 7]) mark(p, base, i, 0x40 + i);
  t.equal(p.munmap(base + P, 6 * PAGE), 0);
  t.same(marks(p, base, 8), [0x40, 'fault', 'fault', 'fault', 'fault', 'fault', 'fault', 0x47]);
  t.equal(p.munmap(base, 8 * PAGE), 0);
  t.same(marks(p, base, 8), Array(8).fill('fault'));
  await dev.close();
});

t.test('MAP_FIXED replaces exactly the overlapped pages', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const a = markedAnon(p, 4, 0x10);
  const before = sysPages(p);
  t.equal(p.mmapAnon(2 * PAGE, { fixed: a + P }), a + P, 'mapped exactly there');
  t.same(marks(p, a, 4), [0x10, 0, 0, 0x13], 'the middle is new zeroed memory, the ends keep theirs');
  t.equal(sysPages(p), before, 'two pages freed, two allocated');
  t.equal(p.munmap(a, PAGE), 0);
  t.same(marks(p, a, 4), ['fault', 0, 0, 0x13], 'the pieces are separate mappings');
  await dev.close();
});

t.test('MAP_FIXED and MAP_FIXED_NOREPLACE failures change nothing', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const a = markedAnon(p, 2, 1);
  const fails = (what: string, r: bigint, errno: number): void => {
    t.equal(r, -1n, `${what}: fails`);
    t.equal(p.errno, errno, `${what}: errno ${errno}`);
  };
  fails('unaligned MAP_FIXED', p.mmapAnon(PAGE, { fixed: a + 8n }), EINVAL);
  fails('MAP_FIXED past TASK_SIZE', p.mmapAnon(2 * PAGE, { fixed: TASK_SIZE - P }), ENOMEM);
  fails('MAP_FIXED outside the emulated window', p.mmapAnon(PAGE, { fixed: 0x10000n }), ENOMEM);
  fails('MAP_FIXED_NOREPLACE over a mapping', p.mmapAnon(2 * PAGE, { noReplace: a + P }), EEXIST);
  fails('zero length', p.mmapAnon(0, { fixed: a }), EINVAL);
  fails('length over TASK_SIZE', p.mmapAnon(1n << 48n), ENOMEM);
  const fd = p.open();
  fails('MAP_FIXED of an offset that is no BO', p.mmap(PAGE, fd, 1n << 40n, { fixed: a }), EINVAL);
  t.same(marks(p, a, 2), [1, 2], 'the mapping is untouched');
  const hole = freeRegion(p, 2);
  t.equal(p.mmapAnon(2 * PAGE, { noReplace: hole }), hole, 'MAP_FIXED_NOREPLACE in a hole');
  t.throws(() => p.mmapAnon(PAGE, { fixed: a, hint: a }), TypeError, 'one placement at a time');
  await dev.close();
});

t.test('a hint is used when its range is free, rounded down to a page', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const hole = freeRegion(p, 4);
  const lowest = freeRegion(p, 1);
  t.equal(lowest, hole, 'the kernel picks the lowest free range');
  t.equal(p.mmapAnon(PAGE, { hint: hole + 2n * P + 5n }), hole + 2n * P, 'the hint, page aligned');
  t.equal(p.mmapAnon(2 * PAGE, { hint: hole + P }), hole, 'a hint whose range is taken: the lowest fit instead');
  t.equal(p.mmapAnon(PAGE, { hint: 0x10000n }), hole + 3n * P, 'a hint outside the window: the lowest fit');
  await dev.close();
});

t.test('a split BO mapping holds the BO until its last piece is unmapped', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const baseline = settledUsage(p);
  const { handle, addr: a } = mappedBo(p, fd, 4, 0x500);
  ioctlOk(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle });
  const held = sysPages(p);
  t.equal(held, baseline + 4, 'the mapping holds the BO after GEM_CLOSE');
  t.equal(p.munmap(a + P, 2 * PAGE), 0, 'cut out the middle: two pieces');
  t.same(marks(p, a, 4), [0x500, 'fault', 'fault', 0x503], 'each piece maps its own BO page');
  t.equal(sysPages(p), held, 'both pieces hold the BO');
  t.equal(p.munmap(a, PAGE), 0);
  t.equal(sysPages(p), held, 'the last piece still holds it');
  t.equal(p.mem.readU32(a + 3n * P), 0x503);
  t.equal(p.munmap(a + 3n * P, PAGE), 0);
  t.equal(sysPages(p), baseline, 'freed with the last piece');
  await dev.close();
});

t.test('MAP_FIXED of a BO over part of a mapping; a split dma-buf mapping holds the BO', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const baseline = settledUsage(p);
  const { handle, offset, addr: bo } = mappedBo(p, fd, 3, 0xb0);
  const a = markedAnon(p, 4, 1);
  t.equal(p.mmap(2 * PAGE, fd, offset, { fixed: a + P }), a + P);
  t.same(marks(p, a, 4), [1, 0xb0, 0xb1, 4], 'BO pages 0-1 in the middle of the anonymous mapping');
  // DRM_RDWR: a shared writable mapping of the dma-buf needs a file opened for writing.
  const dmabuf = ioctlOk(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle, flags: C('DRM_RDWR') }).fd as number;
  const d = p.mmap(3 * PAGE, dmabuf, 0n);
  t.equal(p.munmap(d + P, PAGE), 0);
  t.same(marks(p, d, 3), [0xb0, 'fault', 0xb2], 'the dma-buf mapping in two pieces');
  t.equal(p.close(dmabuf), 0);
  ioctlOk(p, fd, 'DRM_IOCTL_GEM_CLOSE', { handle });
  t.equal(p.munmap(bo, 3 * PAGE), 0);
  t.equal(p.munmap(a, 4 * PAGE), 0, 'the anonymous pages and the BO piece');
  t.equal(sysPages(p), baseline + 3, 'every anonymous page is freed; the dma-buf pieces hold the BO');
  t.equal(p.munmap(d, PAGE), 0);
  t.equal(sysPages(p), baseline + 3, 'the last piece still holds it');
  t.equal(p.mem.readU32(d + 2n * P), 0xb2);
  t.equal(p.munmap(d + 2n * P, PAGE), 0);
  t.equal(sysPages(p), baseline, 'freed with the last piece');
  await dev.close();
});

t.test('munmap inside a malloc arena unmaps those heap pages; malloc never reuses them', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const x = p.mem.alloc(64);
  const page = x - (x % P);
  const y = p.mem.alloc(64, PAGE);
  t.equal(y, page + P, 'the next block starts on the next page');
  p.mem.writeU32(y, 0x77);
  t.equal(p.munmap(page, PAGE), 0);
  t.ok(faults(() => p.mem.readU32(x)), 'the block in the unmapped page faults');
  t.throws(() => p.mem.free(x), RangeError, 'and is no longer a heap block');
  t.equal(p.mem.readU32(y), 0x77, 'blocks in other pages are intact');
  const reused = Array.from({ length: 200 }, () => p.mem.alloc(48)).filter((z) => z >= page && z < page + P);
  t.same(reused, [], 'malloc hands out nothing in the unmapped page');
  p.mem.free(y);
  t.equal(p.mem.alloc(64, PAGE), y, 'a freed block is reused');
  await dev.close();
});
