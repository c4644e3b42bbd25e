// BO migration between memory regions (xe_bo_migrate; vm_bind.md 4.1 S7, 6.3): contents kept
// through the same CPU mappings, pages moving between the region allocators (MEM_USAGE), the
// placement and room errors with nothing changed, 64K VRAM chunks on dg2, the move notifiers.
import t from 'tap';
import { PAGE_SIZE, REGION_SPAN } from '../src/hw/memory.js';
import { isFault } from '../src/hw/mmu.js';
import { preferredRegion, type Bo } from '../src/kernel/xe/xe_bo.js';
import { defaultMemAttr } from '../src/kernel/xe/xe_vma.js';
import { MAP_FIXED } from '../src/uapi/channel.js';
import { EINVAL, ENOMEM } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { errnoOf, Rig } from './helpers/rig.js';

const WB = C('DRM_XE_GEM_CPU_CACHING_WB');
const WC = C('DRM_XE_GEM_CPU_CACHING_WC');
const SYS = 0b01;
const VRAM0 = 0b10;
const KiB = 1024n;

/** Bytes of a page-sized pattern: page `i` of a BO filled with (i * 7 + k) & 0xff. */
function pattern(pages: number): Uint8Array {
  const out = new Uint8Array(pages * PAGE_SIZE);
  for (let i = 0; i < out.length; i++) out[i] = (Math.floor(i / PAGE_SIZE) * 7 + i) & 0xff;
  return out;
}

/** Region instance of a physical address. */
const regionOf = (pa: number): number => Math.floor(pa / REGION_SPAN);

/** Every physical page of a BO. */
const pagesOf = (bo: Bo): number[] => Array.from({ length: bo.pageCount }, (_, i) => bo.page(i));

for (const profile of ['dg2', 'bmg'] as const) {
  t.test(`${profile}: VRAM -> system -> VRAM keeps the contents seen through the same mmap`, async (t) => {
    const r = new Rig(profile);
    const base = r.memUsage();
    const { handle, bo } = r.bo(128n * KiB, SYS | VRAM0, WC);
    t.equal(bo.region, 1, 'created in VRAM0 (VRAM comes first in the placement order)');
    t.same(r.memUsage(), [base[0], base[1] + 32]);
    const addr = r.mmapBo(handle, 128n * KiB);
    const data = pattern(32);
    r.proc.as.write(addr, data);
    const vramPages = pagesOf(bo);

    bo.migrate(0);
    t.equal(bo.region, 0);
    t.equal(bo.chunkPages, 1);
    t.ok(pagesOf(bo).every((pa) => regionOf(pa) === 0), 'every page in system memory');
    t.same(r.memUsage(), [base[0] + 32, base[1]], 'MEM_USAGE: 32 pages moved from VRAM to system memory');
    t.same(r.proc.as.read(addr, data.length), data, 'the same mmap reads the same bytes');
    t.equal(r.proc.pt.translate(addr + 5n * 4096n, false), bo.page(5), 'the CPU PTE points at the new page');
    t.notOk(vramPages.includes(bo.page(5)));

    // A CPU write after the move lands in the new pages.
    r.proc.as.write(addr + 4096n, new Uint8Array([0xa5]));
    t.equal(r.m.kernel.phys.view(bo.page(1), 1)[0], 0xa5);

    bo.migrate(1);
    t.equal(bo.region, 1);
    t.same(r.memUsage(), [base[0], base[1] + 32], 'and back');
    data[4096] = 0xa5;
    t.same(r.proc.as.read(addr, data.length), data);

    // Freeing after moves returns exactly what was used.
    r.munmap(addr, 128n * KiB);
    r.ioctl('DRM_IOCTL_GEM_CLOSE', { handle });
    t.same(r.memUsage(), base, 'nothing leaked, nothing freed twice');
    r.dispose();
  });

  t.test(`${profile}: a region outside the placement is -EINVAL; the same region changes nothing`, async (t) => {
    const r = new Rig(profile);
    const sys = r.bo(64n * KiB, SYS, WB);
    const vram = r.bo(64n * KiB, VRAM0, WC);
    const before = { sys: pagesOf(sys.bo), vram: pagesOf(vram.bo), usage: r.memUsage() };
    t.equal(errnoOf(() => sys.bo.migrate(1)), EINVAL, 'no VRAM placement: cannot go to VRAM');
    t.equal(errnoOf(() => vram.bo.migrate(0)), EINVAL, 'VRAM-only: cannot go to system memory');
    t.equal(errnoOf(() => vram.bo.migrate(2)), EINVAL, 'a region the device lacks');
    t.equal(errnoOf(() => vram.bo.migrate(-1)), EINVAL, 'a negative region');
    sys.bo.migrate(0);
    vram.bo.migrate(1);
    t.same({ sys: pagesOf(sys.bo), vram: pagesOf(vram.bo), usage: r.memUsage() }, before, 'pages and accounting unchanged');
    t.equal(preferredRegion(sys.bo), 0, 'region -1 for a system-only BO: system memory');
    t.equal(preferredRegion(vram.bo), 1, 'region -1: the first VRAM placement');
    r.dispose();
  });

  t.test(`${profile}: no room in the target region is -ENOMEM and nothing changes`, async (t) => {
    const r = new Rig(profile);
    const dev = r.file().dev;
    const alloc = dev.vram[0];
    // Fill VRAM but for less than one 64K chunk.
    const free = Math.floor((alloc.pages - alloc.usedPages) / 16) * 16;
    const filler = r.bo(BigInt(free * PAGE_SIZE), VRAM0, WC);
    const { bo } = r.bo(64n * KiB, SYS | VRAM0, WC);
    t.equal(bo.region, 0, 'no VRAM left at creation: placed in system memory');
    const before = { pages: pagesOf(bo), usage: r.memUsage() };
    t.equal(errnoOf(() => bo.migrate(1)), ENOMEM);
    t.same({ pages: pagesOf(bo), usage: r.memUsage() }, before, 'still in system memory, accounting unchanged');
    t.equal(bo.region, 0);
    r.ioctl('DRM_IOCTL_GEM_CLOSE', { handle: filler.handle });
    bo.migrate(1);
    t.equal(bo.region, 1, 'room again: it moves');
    r.dispose();
  });
}

t.test('dg2: VRAM pages come in naturally aligned, contiguous 64K chunks; bmg: 4K pages', async (t) => {
  const r = new Rig('dg2');
  // A VM's page tables take single 4K pages of VRAM: 4K allocation would start unaligned.
  r.vm(0);
  t.not(r.file().dev.vram[0].usedPages % 16, 0, 'VRAM use is not a multiple of 64K');
  const { bo } = r.bo(256n * KiB, SYS, WB);
  t.equal(errnoOf(() => bo.migrate(1)), EINVAL, 'system-only');
  const { handle, bo: both } = r.bo(256n * KiB, SYS | VRAM0, WC);
  both.migrate(0);
  const addr = r.mmapBo(handle, 256n * KiB);
  r.proc.as.write(addr, pattern(64));
  both.migrate(1);
  t.equal(both.chunkPages, 16);
  for (let c = 0; c < 4; c++) {
    const first = both.page(c * 16);
    t.equal(first % 0x10000, 0, `chunk ${c} starts 64K aligned`);
    t.ok(Array.from({ length: 16 }, (_, k) => both.page(c * 16 + k)).every((pa, k) => pa === first + k * PAGE_SIZE), `chunk ${c} contiguous`);
  }
  t.same(r.proc.as.read(addr, 64 * PAGE_SIZE), pattern(64));
  r.dispose();

  const b = new Rig('bmg');
  const { bo: bb } = b.bo(64n * KiB, SYS | VRAM0, WC);
  bb.migrate(0);
  bb.migrate(1);
  t.equal(bb.chunkPages, 1, 'bmg needs no 64K VRAM pages');
  b.dispose();
});

t.test('lnl / tgl: no VRAM, a BO can only be in system memory', async (t) => {
  for (const profile of ['lnl', 'tgl'] as const) {
    const r = new Rig(profile);
    const { bo } = r.bo(64n * KiB, SYS, WB);
    t.equal(errnoOf(() => bo.migrate(1)), EINVAL, `${profile}: VRAM is not in any placement`);
    bo.migrate(0);
    t.equal(bo.region, 0);
    r.dispose();
  }
});

t.test('every CPU mapping follows: two mmaps, a dma-buf mmap, a split mapping', async (t) => {
  const r = new Rig('dg2');
  const { handle, bo } = r.bo(64n * KiB, SYS | VRAM0, WC);
  const m1 = r.mmapBo(handle, 64n * KiB);
  const m2 = r.mmapBo(handle, 64n * KiB);
  const dmabuf = Number(r.ioctl('DRM_IOCTL_PRIME_HANDLE_TO_FD', { handle, flags: 0x2 /* O_RDWR */ }).fd);
  const m3 = r.mmap(64n * KiB, dmabuf);
  r.proc.as.write(m1, pattern(16));
  // Cut the first mapping: its middle page goes, two pieces stay.
  r.munmap(m1 + 4n * 4096n, 4096n);
  t.equal(bo.cpuMappings.size, 4, 'two pieces of m1, m2, m3');
  bo.migrate(0);
  const data = pattern(16);
  for (const [name, at] of [['m2', m2], ['m3 (dma-buf)', m3]] as const) {
    t.same(r.proc.as.read(at, data.length), data, `${name} reads the contents`);
    t.equal(r.proc.pt.translate(at + 9n * 4096n, true), bo.page(9), `${name} maps the new page`);
  }
  t.equal(r.proc.pt.translate(m1 + 3n * 4096n, true), bo.page(3), 'lower piece of m1 follows');
  t.equal(r.proc.pt.translate(m1 + 5n * 4096n, true), bo.page(5), 'upper piece of m1 follows');
  t.equal(r.proc.pt.translate(m1 + 4n * 4096n, false), -1, 'the unmapped page stays unmapped');

  // A read-only mapping stays read-only.
  const ro = r.mmap(64n * KiB, r.fd, bo.mmapOffset, 0n, 0, 1);
  bo.migrate(1);
  t.equal(r.proc.pt.translate(ro, false), bo.page(0));
  t.equal(r.proc.pt.translate(ro, true), -1, 'still not writable');

  // Mappings that went away are no longer followed.
  r.munmap(m1, 64n * KiB);
  r.munmap(m2, 64n * KiB);
  r.munmap(m3, 64n * KiB);
  r.munmap(ro, 64n * KiB);
  t.equal(bo.cpuMappings.size, 0);
  // MAP_FIXED over the place of a mapping of the object: anonymous now, untouched by a move.
  const anon = r.mmap(64n * KiB, -1, 0n, m2, MAP_FIXED);
  const anonPa = r.proc.pt.translate(anon, true);
  bo.migrate(0);
  t.equal(r.proc.pt.translate(anon, true), anonPa);
  r.dispose();
});

t.test('move notifiers: a VM re-binds the VMAs of the BO, the GPU sees the new pages', async (t) => {
  const r = new Rig('bmg');
  const vm = r.vm(0);
  const { handle, bo } = r.bo(64n * KiB, SYS | VRAM0, WC);
  const pat = r.file().dev.profile.patWb;
  const va = 0x10_0000n;
  const ops = vm.gpuvm.smMapOpsCreate({ start: va, range: 64n * KiB, obj: bo, offset: 0n, flags: 0, attrs: defaultMemAttr(pat) });
  for (const op of ops) vm.gpuvm.commit(op);
  vm.gpuvm.finish(ops);
  const bindVmas = (): void => {
    for (const vma of vm.gpuvm.linked(bo)) {
      const pages = Array.from({ length: Number(vma.range) / PAGE_SIZE }, (_, i) => bo.page(Number(vma.offset) / PAGE_SIZE + i));
      vm.pt!.bind([{ start: Number(vma.start), end: Number(vma.end), pages, patIndex: vma.attrs.patIndex }]);
    }
  };
  bindVmas();
  const notifier = (moved: Bo): void => {
    t.equal(moved, bo);
    bindVmas();
  };
  bo.moveNotifiers.add(notifier);
  t.equal(vm.pt!.mmu.gpuWrite(Number(va) + 8192, new Uint8Array([1, 2, 3])), null);
  const addr = r.mmapBo(handle, 64n * KiB);
  bo.migrate(0);
  const tr = vm.pt!.mmu.translate(Number(va) + 8192);
  t.notOk(isFault(tr));
  t.equal(!isFault(tr) && tr.pa, bo.page(2), 'the GPU translation goes to the new page');
  t.same(vm.pt!.mmu.gpuRead(Number(va) + 8192, 3), new Uint8Array([1, 2, 3]), 'GPU reads what it wrote before the move');
  t.same(r.proc.as.read(addr + 8192n, 3), new Uint8Array([1, 2, 3]), 'and so does the CPU');
  bo.moveNotifiers.delete(notifier);
  r.dispose();
});
