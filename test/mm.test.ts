/**
 * The kernel's memory map API on its own (src/kernel/os/mm.ts): find, overlapping, split,
 * and the hold a split object mapping keeps on its backing.
 */
import t from 'tap';
import { CpuPageTable } from '../src/hw/cpu_mmu.js';
import { createRegions, PAGE_SIZE, PageAllocator, PhysicalMemory } from '../src/hw/memory.js';
import { Errno } from '../src/kernel/os/errno.js';
import { Mm, type MappingBacking } from '../src/kernel/os/mm.js';
import { MAP_FIXED } from '../src/uapi/channel.js';
import { EINVAL } from '../src/uapi/errno.js';

const P = BigInt(PAGE_SIZE);

function newMm(): { mm: Mm; sysmem: PageAllocator } {
  const regions = createRegions(1 << 20, []);
  const sysmem = new PageAllocator(regions[0]);
  const pt = new CpuPageTable(CpuPageTable.allocate(64n * P));
  return { mm: new Mm(pt, new PhysicalMemory(regions), sysmem), sysmem };
}

/** A backing whose page i is at 0x1000 * (100 + i), counting releases. */
function backing(): MappingBacking & { released: number } {
  return {
    released: 0,
    page: (i) => (100 + i) * PAGE_SIZE,
    release() {
      this.released++;
    },
  };
}

/** [first, count] of each mapping over the whole window. */
function layout(mm: Mm): number[][] {
  return mm.overlapping(mm.pt.base, mm.pt.span).map((v) => [v.first, v.count]);
}

t.test('find, overlapping and split', async (t) => {
  const { mm } = newMm();
  const a = mm.mmap({ addr: 0n, length: 4n * P, flags: 0 }, null);
  const b = mm.mmap({ addr: a + 6n * P, length: 2n * P, flags: MAP_FIXED }, null);
  t.equal(a, mm.pt.base, 'the lowest free range');
  t.same(layout(mm), [[0, 4], [6, 2]]);
  t.equal(mm.find(a + 3n * P + 5n)?.first, 0, 'an address in the last page of the first mapping');
  t.equal(mm.find(a + 4n * P), undefined, 'the hole');
  t.equal(mm.find(b + 2n * P - 1n)?.first, 6);
  t.equal(mm.find(0x1000n), undefined, 'outside the window');
  t.same(mm.overlapping(a + 3n * P, 4n * P).map((v) => v.first), [0, 6], 'a range touching both');
  t.same(mm.overlapping(a + 4n * P, 2n * P), [], 'a range in the hole');
  const pa = mm.find(a + 2n * P)!.page(2);
  mm.split(a + 2n * P);
  t.same(layout(mm), [[0, 2], [2, 2], [6, 2]], 'split at page 2');
  t.equal(mm.find(a + 2n * P)!.page(0), pa, 'the upper piece keeps its physical pages');
  mm.split(a + 2n * P);
  mm.split(a + 5n * P);
  t.same(layout(mm), [[0, 2], [2, 2], [6, 2]], 'splitting at a mapping start or in a hole changes nothing');
  t.throws(() => mm.split(a + 1n), new Errno(EINVAL, 'split at %x: not page aligned', a + 1n), 'an unaligned address');
});

t.test('the pieces of a split object mapping share one hold', async (t) => {
  const { mm, sysmem } = newMm();
  const used = sysmem.usedPages;
  const obj = backing();
  const a = mm.mmapObject(obj, 1, 3 * PAGE_SIZE, true);
  t.same([0, 1, 2].map((k) => mm.find(a)!.page(k)), [101, 102, 103].map((n) => n * PAGE_SIZE), 'from object page 1');
  mm.split(a + P);
  mm.split(a + 2n * P);
  t.equal(mm.find(a + 2n * P)!.page(0), 103 * PAGE_SIZE, 'each piece keeps its page offset');
  t.equal(mm.find(a)!.anon, false);
  mm.munmap(a + P, P);
  mm.munmap(a, P);
  t.equal(obj.released, 0, 'held while a piece is mapped');
  mm.munmap(a + 2n * P, P);
  t.equal(obj.released, 1, 'released once, with the last piece');
  t.equal(sysmem.usedPages, used, 'an object mapping allocates no pages');
});
