// The GPU MMU walker (src/hw/mmu.ts) over page tables built by hand in emulated physical
// memory: entries are written here as literal u64 values from the spec's bit table
// (shared/spec/vm_bind.md 5.1-5.2, 5.7-5.8), not with the encoders under test.
import t from 'tap';
import { createRegions, PageAllocator, PhysicalMemory, REGION_SPAN } from '../src/hw/memory.js';
import { GpuMmu, isFault, type GpuFault, type Translation } from '../src/hw/mmu.js';
import { PtMemory, ptGeometry, type PtVisit } from '../src/hw/pagetable.js';
import { PROFILES, type Profile } from '../src/hw/profile.js';

const MiB = 1 << 20;
const GiB = 2 ** 30;
const PRESENT_RW = 0x3n;
const PS = 0x80n;
const PS64 = 0x100n;
const NULL = 0x200n;
const DM = 0x800n;
const PDE_64K = 0x40n;

/** A device with 64 MiB of system memory (and 64 MiB of VRAM when discrete) and an empty root. */
function setup(p: Profile) {
  const mem = new PhysicalMemory(createRegions(64 * MiB, p.isDgfx ? [64 * MiB] : []));
  const ptm = new PtMemory(mem, ptGeometry(p));
  const tables = new PageAllocator(p.isDgfx ? mem.regions[1] : mem.regions[0]);
  tables.alloc(256); // keep tables above the first MiB, where the tests put data pages
  const newTable = (): number => ptm.allocTable(tables)!;
  const root = newTable();
  /** Device address of a table (its offset in its region). */
  const dev = (pa: number): number => pa % REGION_SPAN;
  const dv = (pa: number): DataView => new DataView(mem.view(pa, 8).slice().buffer);
  const get = (tablePa: number, i: number): bigint => dv(tablePa + i * 8).getBigUint64(0, true);
  const put = (tablePa: number, i: number, v: bigint): void => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    mem.copyIn(tablePa + i * 8, b, 0, 8);
  };
  const idx = (va: number, level: number): number => Number((BigInt(va) >> BigInt(12 + 9 * level)) & 511n);
  const rootLevel = p.vmMaxLevel;
  const tableBase = p.isDgfx ? REGION_SPAN : 0;
  /** The table at `level` on va's path, created (linked with PRESENT | RW PDEs) as needed. */
  const tableAt = (va: number, level: number): number => {
    let tbl = root;
    for (let l = rootLevel; l > level; l--) {
      const i = idx(va, l);
      if (!(get(tbl, i) & 1n)) put(tbl, i, BigInt(dev(newTable())) | PRESENT_RW);
      tbl = tableBase + Number(get(tbl, i) & 0xffff_ffff_f000n);
    }
    return tbl;
  };
  const mmu = new GpuMmu(ptm, dev(root));
  return { mem, ptm, mmu, root, newTable, dev, get, put, idx, tableAt, rootLevel };
}

const ok = (r: Translation | GpuFault): Translation => {
  if (isFault(r)) throw new Error(`unexpected fault ${JSON.stringify(r)}`);
  return r;
};
const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

for (const p of Object.values(PROFILES) as Profile[]) {
  t.test(`${p.name} (${p.vmMaxLevel + 1} levels): 4K leaves, PS64 runs, reads and writes`, async (t) => {
    const s = setup(p);
    const va = 0x10_0000;
    s.put(s.tableAt(va, 0), s.idx(va, 0), 0x20_0000n | PRESENT_RW | 0x10n);
    const tr = ok(s.mmu.translate(va + 0x234));
    t.same([tr.va, tr.size, tr.pa, tr.level, tr.entry.kind, tr.entry.patIndex], [va, 0x1000, 0x20_0000, 0, 'pte4k', 2]);
    t.equal(s.mmu.gpuWrite(va + 0x234, bytes(1, 2, 3)), null);
    t.same([...s.mem.view(0x20_0234, 3)], [1, 2, 3], 'the write reached the physical page');
    t.same(s.mmu.gpuRead(va + 0x233, 5), bytes(0, 1, 2, 3, 0));

    // A 64K run: 16 PTEs with PS64, each still translated on its own.
    const run = 0x11_0000;
    const l0 = s.tableAt(run, 0);
    for (let i = 0; i < 16; i++) {
      s.put(l0, s.idx(run, 0) + i, BigInt(0x30_0000 + i * 0x1000) | PS64 | PRESENT_RW);
      s.mem.view(0x30_0000 + i * 0x1000, 1)[0] = 0xa0 + i;
    }
    const r5 = ok(s.mmu.translate(run + 5 * 0x1000 + 7));
    t.same([r5.size, r5.pa, r5.entry.ps64, r5.entry.kind], [0x1000, 0x30_5000, true, 'pte4k']);
    s.mem.view(0x30_0fff, 1)[0] = 0x9f;
    const rd = s.mmu.gpuRead(run + 0xfff, 0x1002) as Uint8Array;
    t.same([rd[0], rd[1], rd[0x1001]], [0x9f, 0xa1, 0xa2], 'a read across pages splits at each page');
  });

  t.test(`${p.name}: 2M and 1G leaves, NULL leaves, DM`, async (t) => {
    const s = setup(p);
    const va2m = 0x4000_0000 + 0x40_0000;
    s.put(s.tableAt(va2m, 1), s.idx(va2m, 1), 0x60_0000n | PS | PRESENT_RW | 0x1008n);
    const t2 = ok(s.mmu.translate(va2m + 0x1_2345));
    t.same([t2.va, t2.size, t2.pa, t2.level, t2.entry.kind, t2.entry.patIndex], [va2m, 2 * MiB, 0x60_0000, 1, 'pte2m', 5], 'PAT2 at bit 12 of a 2M leaf');
    s.mem.view(0x61_2345, 1)[0] = 0x5a;
    t.same(s.mmu.gpuRead(va2m + 0x1_2345, 1), bytes(0x5a));

    const va1g = 3 * GiB;
    s.put(s.tableAt(va1g, 2), s.idx(va1g, 2), PS | PRESENT_RW);
    const t1 = ok(s.mmu.translate(va1g + 0x61_2345));
    t.same([t1.va, t1.size, t1.pa, t1.level, t1.entry.kind], [va1g, GiB, 0, 2, 'pte1g']);
    t.same(s.mmu.gpuRead(va1g + 0x61_2345, 1), bytes(0x5a), 'the 1G leaf maps the same physical byte');
    t.match(s.mmu.gpuRead(va1g + 0x3000_0000, 1), { fault: 'bad-address', level: 2 }, 'beyond emulated memory: a fault, not a crash');

    // Case 63: L2[1] = 0x293, a 1 GiB NULL leaf: reads 0, writes dropped.
    const vaNull = 0x4000_0000;
    s.put(s.tableAt(vaNull, 2), 1, 0x293n);
    const before = s.mem.view(0, 16).slice();
    t.same(s.mmu.gpuRead(0x4000_1234, 4), bytes(0, 0, 0, 0));
    t.equal(s.mmu.gpuWrite(0x4000_1234, bytes(9, 9)), null, 'a write to NULL is dropped without a fault');
    t.same(s.mem.view(0, 16), before, 'and reaches no memory');
    const tn = ok(s.mmu.translate(0x4000_1234, 'write'));
    t.same([tn.pa, tn.entry.nul, tn.entry.kind], [-1, true, 'pte1g']);
    // READONLY NULL (0x291): reads 0, a write is a read-only fault.
    s.put(s.tableAt(vaNull, 2), 2, 0x291n);
    t.same(s.mmu.gpuRead(0x8000_0000, 2), bytes(0, 0));
    t.match(s.mmu.gpuWrite(0x8000_0000, bytes(1)), { fault: 'read-only', level: 2, access: 'write' });

    // DM: the address is an offset in the tile's VRAM.
    const vaDm = 0x20_0000;
    s.put(s.tableAt(vaDm, 0), s.idx(vaDm, 0), 0x1_0000n | DM | PRESENT_RW);
    if (p.isDgfx) {
      s.mem.view(REGION_SPAN + 0x1_0010, 1)[0] = 0x77;
      t.same(s.mmu.gpuRead(vaDm + 0x10, 1), bytes(0x77), 'DM leaf reads VRAM');
      t.equal(ok(s.mmu.translate(vaDm)).pa, REGION_SPAN + 0x1_0000);
    } else {
      t.match(s.mmu.translate(vaDm), { fault: 'bad-address', level: 0 }, 'DM on a device without VRAM');
    }
  });

  t.test(`${p.name}: compact 64K tables ${p.pt.compact64k ? 'are' : 'are not'} used (PDE bit 6)`, async (t) => {
    const s = setup(p);
    const va = 0x60_0000; // a 2 MiB slot
    const child = s.newTable();
    s.put(s.tableAt(va, 1), s.idx(va, 1), BigInt(s.dev(child)) | PDE_64K | PRESENT_RW);
    for (let k = 0; k < 32; k++) s.put(child, k, BigInt(0x80_0000 + k * 0x1_0000) | PRESENT_RW);
    s.put(child, 18, 0x7_0000n | PRESENT_RW); // what a 4K-table reader uses for offset 0x12345
    const tr = s.mmu.translate(va + 0x1_2345);
    if (p.pt.compact64k) {
      const c = ok(tr);
      t.same([c.va, c.size, c.pa, c.compact, c.entry.kind, c.level], [va + 0x1_0000, 0x1_0000, 0x81_0000, true, 'pte64k', 0]);
      t.equal(ok(s.mmu.translate(va + 0x1f_ffff)).pa, 0x80_0000 + 31 * 0x1_0000, 'entry 31 covers the last 64K');
      s.put(child, 3, 0n);
      t.match(s.mmu.translate(va + 0x3_0000), { fault: 'not-present', level: 0 });
    } else {
      const c = ok(tr);
      t.same([c.size, c.pa, c.compact, c.entry.kind], [0x1000, 0x7_0000, false, 'pte4k'], 'bit 6 ignored: a 4K table, entry 18');
    }
  });

  t.test(`${p.name}: not-present faults at every level, read-only and range faults`, async (t) => {
    const s = setup(p);
    // Walks that stop at each level: build the path down to `level`, leave its entry empty
    // (the root first, while it is still empty).
    for (let level = s.rootLevel; level >= 0; level--) {
      const va = level === s.rootLevel ? 0 : (level + 1) * 2 ** (12 + 9 * level);
      s.tableAt(va, level);
      t.match(s.mmu.translate(va, 'read'), { fault: 'not-present', level, va, access: 'read' }, `stops at level ${level}`);
    }
    const ro = 0x40_0000;
    s.put(s.tableAt(ro, 0), s.idx(ro, 0), 0x20_0000n | 0x1n);
    s.mem.view(0x20_0000, 1)[0] = 0x42;
    t.same(s.mmu.gpuRead(ro, 1), bytes(0x42), 'READONLY leaf reads');
    t.match(s.mmu.gpuWrite(ro, bytes(1)), { fault: 'read-only', level: 0, va: ro, access: 'write' });
    t.match(s.mmu.translate(ro, 'atomic'), { fault: 'read-only', access: 'atomic' });
    t.equal(s.mem.view(0x20_0000, 1)[0], 0x42, 'the faulting write changed nothing');
    t.match(s.mmu.translate(2 ** 48), { fault: 'out-of-range', level: s.rootLevel });
    t.match(s.mmu.translate(-4096), { fault: 'out-of-range' });
    t.match(s.mmu.translate(0.5), { fault: 'out-of-range' });

    // A write across a page boundary into an unmapped page: the first page is written.
    const a = 0x50_0000;
    s.put(s.tableAt(a, 0), s.idx(a, 0), 0x21_0000n | PRESENT_RW);
    t.match(s.mmu.gpuWrite(a + 0xffe, bytes(7, 8, 9, 10)), { fault: 'not-present', level: 0, va: a + 0x1000 });
    t.same([...s.mem.view(0x21_0ffe, 2)], [7, 8], 'pages before the faulting one were written');
  });

  /** va mapped RW to page 0x22_0000 (holding 0xaa); page 0x23_0000 holds 0xbb; l0: its level-0 table. */
  const twoPages = () => {
    const s = setup(p);
    const va = 0x70_0000;
    const l0 = s.tableAt(va, 0);
    s.put(l0, s.idx(va, 0), 0x22_0000n | PRESENT_RW);
    s.mem.view(0x22_0000, 1)[0] = 0xaa;
    s.mem.view(0x23_0000, 1)[0] = 0xbb;
    return { s, va, l0 };
  };

  t.test(`${p.name}: with the TLB off every access walks and sees the tables as they are`, async (t) => {
    const { s, va, l0 } = twoPages();
    s.mmu.tlbEnabled = false;
    const walks = s.mmu.walks;
    t.same(s.mmu.gpuRead(va, 1), bytes(0xaa));
    t.same(s.mmu.gpuRead(va, 1), bytes(0xaa));
    t.equal(s.mmu.walks, walks + 2, 'one walk per access');
    t.equal(s.mmu.tlbSize, 0, 'nothing cached');
    s.put(l0, s.idx(va, 0), 0x23_0000n | PRESENT_RW);
    t.same(s.mmu.gpuRead(va, 1), bytes(0xbb), 'a rewritten PTE is used without an invalidation');
  });

  t.test(`${p.name}: the TLB serves stale translations until invalidated`, async (t) => {
    const { s, va, l0 } = twoPages();
    t.same(s.mmu.gpuRead(va, 1), bytes(0xaa));
    const walks = s.mmu.walks;
    s.put(l0, s.idx(va, 0), 0x23_0000n | PRESENT_RW); // the kernel rewrites the PTE
    t.same(s.mmu.gpuRead(va, 1), bytes(0xaa), 'stale: the old page is still used');
    t.equal(s.mmu.walks, walks, 'from the TLB, without a walk');
    s.mmu.invalidateRange(va + 0x1000, va + 0x2000);
    t.same(s.mmu.gpuRead(va, 1), bytes(0xaa), 'an invalidation of another range keeps it');
    s.mmu.invalidateRange(va, va + 0x1000);
    t.same(s.mmu.gpuRead(va, 1), bytes(0xbb), 'after a ranged invalidation the new PTE is used');

    s.put(l0, s.idx(va, 0), 0n); // unbind
    t.same(s.mmu.gpuRead(va, 1), bytes(0xbb), 'an unbound page stays reachable until invalidated');
    s.mmu.invalidateAll();
    t.match(s.mmu.gpuRead(va, 1), { fault: 'not-present', level: 0 }, 'full invalidation');
    t.equal(s.mmu.tlbSize, 0, 'faults are not cached');

    // A cached 2M leaf is dropped by any range that overlaps it.
    const big = 0x4000_0000;
    s.put(s.tableAt(big, 1), s.idx(big, 1), 0x40_0000n | PS | PRESENT_RW);
    ok(s.mmu.translate(big + 0x1000));
    s.put(s.tableAt(big, 1), s.idx(big, 1), 0n);
    t.ok(!isFault(s.mmu.translate(big + 0x1000)), 'cached 2M leaf');
    s.mmu.invalidateRange(big + 0x10_0000, big + 0x10_1000);
    t.match(s.mmu.translate(big + 0x1000), { fault: 'not-present' }, 'invalidating a range inside the leaf drops it');

    // A cached READONLY translation never turns a write into a stale fault: the walk is redone.
    s.put(l0, s.idx(va, 0), 0x22_0000n | 0x1n);
    s.mmu.invalidateAll();
    t.same(s.mmu.gpuRead(va, 1), bytes(0xaa));
    s.put(l0, s.idx(va, 0), 0x22_0000n | PRESENT_RW);
    t.equal(s.mmu.gpuWrite(va, bytes(0xcc)), null, 'the write walks again and sees RW');
    t.equal(s.mem.view(0x22_0000, 1)[0], 0xcc);
  });

  t.test(`${p.name}: table memory helpers and the tree visitor`, async (t) => {
    const s = setup(p);
    const tablePa = s.newTable();
    t.equal(tablePa >= REGION_SPAN, p.isDgfx, 'tables in VRAM exactly on discrete profiles');
    t.same(s.mem.view(tablePa, 4096), new Uint8Array(4096), 'zeroed');
    if (p.isDgfx) t.throws(() => s.ptm.allocTable(new PageAllocator(s.mem.regions[0])), /page tables of this device live in vram/);
    s.ptm.writeEntry(tablePa, 5, { lo: 0x1234_5013, hi: 0x4000_0001 });
    t.equal(s.get(tablePa, 5), 0x4000_0001_1234_5013n, 'writeEntry stores a little-endian u64');
    t.same(s.ptm.readEntry(tablePa, 5), { lo: 0x1234_5013, hi: 0x4000_0001 });
    t.throws(() => s.ptm.readEntry(tablePa, 512), RangeError);
    t.same(s.ptm.pageAddr(0x5000), { addr: 0x5000, dm: false });
    if (p.isDgfx) t.same(s.ptm.pageAddr(REGION_SPAN + 0x5000), { addr: 0x5000, dm: true });
    t.equal(s.ptm.tableAddr(tablePa), s.dev(tablePa));

    s.put(s.tableAt(0x1000, 0), 1, 0x20_0000n | PRESENT_RW);
    s.put(s.tableAt(0x4000_0000, 1), 0, 0x40_0000n | PS | PRESENT_RW);
    s.put(s.tableAt(0x4000_0000, 2), 2, NULL | PS | PRESENT_RW);
    const seen: Array<[number, number, string]> = [];
    s.ptm.forEachEntry(s.root, (v: PtVisit) => {
      seen.push([v.level, v.va, v.entry.kind]);
    });
    const top = p.vmMaxLevel === 4 ? [[4, 0, 'pde']] : [];
    t.same(seen, [...top, [3, 0, 'pde'], [2, 0, 'pde'], [1, 0, 'pde'], [0, 0x1000, 'pte4k'],
      [2, GiB, 'pde'], [1, GiB, 'pte2m'], [2, 2 * GiB, 'pte1g']], 'every present entry, in VA order, with its level and kind');
    let visits = 0;
    s.ptm.forEachEntry(s.root, () => {
      visits++;
      return false;
    });
    t.equal(visits, 1, 'returning false skips the children');
  });
}
