// The page-table builder of a VM (src/kernel/xe/xe_pt.ts): spec vm_bind.md 1.4, 5.3-5.8 and
// the page-table cases 63-68 of section 7, entry by entry, with expected entries written as
// literal u64 values from the spec's bit table; translations checked through the GPU MMU.
import fc from 'fast-check';
import t from 'tap';
import { createRegions, PageAllocator, PhysicalMemory, REGION_SPAN } from '../src/hw/memory.js';
import { isFault, type GpuFault, type Translation } from '../src/hw/mmu.js';
import { PtMemory, ptGeometry } from '../src/hw/pagetable.js';
import { PROFILES, type Profile } from '../src/hw/profile.js';
import {
  PTE_1G, PTE_2M, PTE_4K, PTE_64K, PTE_COMPACT, XePt, maxPteSize, pdePatIndex, remapUnbindRange, type BindRange, type PtNode,
} from '../src/kernel/xe/xe_pt.js';
import { Errno } from '../src/kernel/os/errno.js';
import { XeDevice } from '../src/kernel/xe/xe_device.js';

const MiB = 1 << 20;
const GiB = 2 ** 30;
const { lnl: P, dg2: D, tgl, bmg } = PROFILES;

/** A device's memory and a fresh VM tree; `sysmem` big enough for data pages at 2 GiB. */
function setup(p: Profile, scratch: boolean, sysmem = 64 * MiB) {
  const mem = new PhysicalMemory(createRegions(sysmem, p.isDgfx ? [64 * MiB] : []));
  const ptm = new PtMemory(mem, ptGeometry(p));
  const alloc = new PageAllocator(p.isDgfx ? mem.regions[1] : mem.regions[0]);
  const baseline = alloc.usedPages;
  const pt = new XePt(ptm, alloc, scratch, p.patWb, pdePatIndex(p));
  /** Entry `i` of the table at device address `addr` (in table memory) as a u64. */
  const entryAt = (addr: number, i: number): bigint => {
    const e = ptm.readEntry(ptm.tablePa(addr), i);
    return (BigInt(e.hi) << 32n) | BigInt(e.lo);
  };
  /** Device address of the child table of a PDE value. */
  const child = (pde: bigint): number => Number(pde & 0xffff_ffff_f000n);
  /** The table at `level` on va's path (device address), following PDEs from the root. */
  const tableAt = (va: number, level: number): number => {
    let addr = pt.root.addr;
    for (let l = p.vmMaxLevel; l > level; l--) addr = child(entryAt(addr, idx(va, l)));
    return addr;
  };
  /** Bytes of every table page: what must come back after unbinding everything. */
  const snapshot = (): Map<number, Uint8Array> => {
    const out = new Map<number, Uint8Array>();
    const visit = (n: PtNode): void => {
      out.set(n.pa, mem.view(n.pa, 4096).slice());
      for (const c of n.children) if (c) visit(c);
    };
    for (const n of [pt.root, ...pt.scratch]) if (n) visit(n);
    return out;
  };
  return { mem, ptm, alloc, baseline, pt, entryAt, child, tableAt, snapshot };
}

const idx = (va: number, level: number): number => Math.floor(va / 2 ** (12 + 9 * level)) % 512;
const pages = (pa: number, n: number): number[] => Array.from({ length: n }, (_, i) => pa + i * 4096);
const ok = (r: Translation | GpuFault): Translation => {
  if (isFault(r)) throw new Error(`unexpected fault ${JSON.stringify(r)}`);
  return r;
};
const range = (start: number, len: number, pg: number[] | null, patIndex: number, more: Partial<BindRange> = {}): BindRange =>
  ({ start, end: start + len, pages: pg, patIndex, ...more });

t.test('a new VM: root only, or the scratch chain (1.4, 5.6)', async (t) => {
  const s = setup(P, false);
  t.same(s.pt.stats(), { tables: [0, 0, 0, 0, 1], leaves: { '4K': 0, ps64: 0, '64K': 0, '2M': 0, '1G': 0 }, bytes: 4096 });
  t.ok(s.snapshot().get(s.pt.root.pa)!.every((b) => b === 0), 'non-scratch root: every entry 0');
  t.equal(s.alloc.usedPages, s.baseline + 1);

  const sc = setup(P, true);
  t.same(sc.pt.stats().tables, [0, 0, 1, 1, 1], 'scratch L2 and L3 plus the root');
  const l3 = sc.child(sc.entryAt(sc.pt.root.addr, 0));
  // LNL: tables are WC system memory (graphics 20.04 >= 12.70), so PDEs carry the UC index 3.
  t.equal(sc.entryAt(sc.pt.root.addr, 0), BigInt(l3) | 0x1bn, 'root[0] -> scratch L3, PRESENT|RW|PAT0|PAT1');
  t.equal(sc.entryAt(sc.pt.root.addr, 511), sc.entryAt(sc.pt.root.addr, 0), 'every root entry the same');
  const l2 = sc.child(sc.entryAt(l3, 77));
  t.equal(sc.entryAt(l3, 77), BigInt(l2) | 0x1bn);
  t.equal(sc.entryAt(l2, 0), 0x293n, 'scratch L2: 1G NULL leaves with WB index 2');
  t.equal(sc.entryAt(l2, 511), 0x293n);
  t.same(sc.pt.mmu.gpuRead(0x1234_5678_9000, 8), new Uint8Array(8), 'any VA reads 0');

  const d = setup(D, true);
  const dl2 = d.child(d.entryAt(d.pt.root.addr, 3));
  t.equal(d.entryAt(d.pt.root.addr, 3), BigInt(dl2) | 0x1bn, 'DG2: 4 levels, root -> scratch L2, UC index 3 (VRAM tables)');
  t.equal(d.entryAt(dl2, 5), 0xa83n, 'DG2 scratch: 1G NULL leaf with DM, WB index 0');

  const tg = setup(tgl, false);
  t.equal(pdePatIndex(tgl), 0, 'TGL: cached system-memory tables, PDEs carry WB index 0');
  tg.pt.bind([range(0, 4096, [0x10_0000], 0)]);
  t.equal(tg.entryAt(tg.pt.root.addr, 0) & 0xfffn, 0x3n);
});

t.test('63: NULL 1 GiB at 1 GiB, non-scratch P', async (t) => {
  const s = setup(P, false);
  t.same(s.pt.bind([range(GiB, GiB, null, 2)]), [PTE_1G]);
  const l3 = s.child(s.entryAt(s.pt.root.addr, 0));
  const l2 = s.child(s.entryAt(l3, 0));
  t.equal(s.entryAt(s.pt.root.addr, 0) & 0xfffn, 0x1bn, 'root[0] -> new L3');
  t.equal(s.entryAt(l3, 0) & 0xfffn, 0x1bn, 'L3[0] -> new L2');
  t.equal(s.entryAt(l2, 1), 0x293n, 'L2[1] = 0x293');
  t.equal(s.entryAt(l2, 0), 0n, 'L2[0] stays empty');
  t.same(s.pt.mmu.gpuRead(0x4000_1234, 4), new Uint8Array(4), 'reads return 0');
  t.equal(s.pt.mmu.gpuWrite(0x4000_1234, Uint8Array.of(1, 2)), null, 'writes are dropped without a fault');
  t.match(s.pt.mmu.translate(0x3fff_f000), { fault: 'not-present' });
  t.same(s.pt.stats(), { tables: [0, 0, 1, 1, 1], leaves: { '4K': 0, ps64: 0, '64K': 0, '2M': 0, '1G': 1 }, bytes: 3 * 4096 });
  t.same(s.pt.invalidations, [], 'a first bind in a non-scratch VM needs no invalidation');
});

t.test('64 / 65: a 64K BO at 0x100000 with phys 0x80000000, writable and READONLY', async (t) => {
  for (const [ro, ae, bits] of [[false, false, 0x113n], [false, true, 0x513n], [true, false, 0x111n]] as const) {
    const s = setup(P, false, 2 * GiB + 16 * MiB);
    t.same(s.pt.bind([range(0x10_0000, 0x1_0000, pages(0x8000_0000, 16), 2, { readOnly: ro, atomicSysmem: ae })]), [PTE_64K], 'the VMA records 64K');
    const l0 = s.tableAt(0x10_0000, 0);
    for (let i = 256; i < 272; i++) t.equal(s.entryAt(l0, i), BigInt(0x8000_0000 + (i - 256) * 0x1000) | bits, `L0[${i}]`);
    t.equal(s.entryAt(l0, 255), 0n);
    t.equal(s.entryAt(l0, 272), 0n);
    s.mem.view(0x8000_5010, 1)[0] = 0x5a;
    t.same(s.pt.mmu.gpuRead(0x10_5010, 1), Uint8Array.of(0x5a), 'a GPU read reaches the BO page');
    const w = s.pt.mmu.gpuWrite(0x10_5010, Uint8Array.of(7));
    if (ro) t.match(w, { fault: 'read-only', level: 0, va: 0x10_5010 }, 'READONLY: a write faults');
    else t.equal(s.mem.view(0x8000_5010, 1)[0], 7, 'a GPU write lands in the page');
  }
});

t.test('66: scratch VM, unbind reverts to scratch NULL leaves', async (t) => {
  const s = setup(P, true);
  const fresh = s.snapshot();
  const A = range(0x10_0000, 0x1_0000, pages(0x20_0000, 16), 2);
  const W = range(0x12_0000, 0x1_0000, pages(0x30_0000, 16), 2);
  t.same(s.pt.mmu.gpuRead(0x10_0000, 4), new Uint8Array(4), 'unmapped reads 0');
  s.pt.mmu.translate(0x10_0000); // cache the scratch translation
  s.pt.bind([A, W]);
  t.same(s.pt.invalidations.map((i) => i.reason), ['scratch', 'scratch'], 'binds over scratch invalidate (5.8)');
  const l0 = s.tableAt(0x10_0000, 0);
  t.equal(s.entryAt(l0, 0), 0x213n, 'the new L0 is pre-filled with 4K NULL leaves');
  t.equal(ok(s.pt.mmu.translate(0x10_0000)).pa, 0x20_0000, 'translation sees the bind (TLB invalidated)');
  s.pt.unbind(A.start, A.end);
  for (let i = 256; i < 272; i++) t.equal(s.entryAt(l0, i), 0x213n, `L0[${i}] back to the 4K NULL leaf`);
  t.equal(s.entryAt(l0, 288), 0x30_0113n, 'W keeps its leaves');
  t.same(s.pt.mmu.gpuRead(0x10_4000, 4), new Uint8Array(4), 'reads return 0 again');
  t.same(s.pt.invalidations.at(-1), { start: A.start, end: A.end, reason: 'unbind' });
  s.pt.unbind(W.start, W.end);
  t.same(s.snapshot(), fresh, 'unbinding the last mapping frees the chain: the tree is as created');
  t.equal(s.alloc.usedPages, s.baseline + 3, 'only root and scratch tables remain');
});

t.test('67: REMAP of a 2M-leaf mapping keeps the first leaf and rebinds the rest', async (t) => {
  const s = setup(P, false);
  const bo = pages(0x200_0000, 1024);
  const [flags] = s.pt.bind([range(0, 4 * MiB, bo, 2)]);
  t.equal(flags, PTE_2M);
  const l1 = s.tableAt(0, 1);
  const leaf0 = s.entryAt(l1, 0);
  t.equal(leaf0, 0x200_0093n, 'L1[0]: 2M leaf');
  t.equal(s.entryAt(l1, 1), 0x220_0093n, 'L1[1]: 2M leaf');
  const r = remapUnbindRange({ old: { start: 0, end: 4 * MiB, userptr: false, pteFlags: flags }, prev: { start: 0, end: 2 * MiB }, next: { start: 0x20_1000, end: 4 * MiB } });
  t.same(r, { start: 2 * MiB, end: 4 * MiB, skipPrev: true, skipNext: false });
  s.pt.unbind(r.start, r.end);
  t.equal(s.entryAt(l1, 1), 0n, 'the second 2M leaf is removed');
  const [nf] = s.pt.bind([range(0x20_1000, 4 * MiB - 0x20_1000, bo.slice(513), 2)]);
  t.equal(nf, PTE_4K | PTE_64K);
  t.equal(s.entryAt(l1, 0), leaf0, 'the first 2M leaf is untouched');
  const l0 = s.child(s.entryAt(l1, 1));
  t.equal(s.entryAt(l0, 0), 0n, '[0x200000, 0x201000) unmapped');
  t.equal(s.entryAt(l0, 1), 0x220_1013n, 'pages of the partial first 64K: 4K leaves without PS64');
  t.equal(s.entryAt(l0, 15), 0x220_f013n);
  t.equal(s.entryAt(l0, 16), 0x221_0113n, 'whole 64K runs: PS64');
  t.equal(s.entryAt(l0, 511), 0x23f_f113n);
  t.match(s.pt.mmu.translate(0x20_0000), { fault: 'not-present' });
  t.equal(ok(s.pt.mmu.translate(0x30_0000)).pa, 0x230_0000);
  t.equal(ok(s.pt.mmu.translate(0x1f_f000)).size, 2 * MiB);
});

t.test('68: DG2 2 MiB VRAM BO, 64K- but not 2M-aligned: a compact L0', async (t) => {
  const s = setup(D, false);
  const vram = REGION_SPAN + 0x41_0000;
  const [flags] = s.pt.bind([range(0x60_0000, 2 * MiB, pages(vram, 512), 0)]);
  t.equal(flags, PTE_COMPACT | 0, 'compact, no other leaf size');
  const l1 = s.tableAt(0x60_0000, 1);
  const pde = s.entryAt(l1, 3);
  t.equal(pde & 0xfffn, 0x5bn, 'level-1 PDE with bit 6 (and UC PAT bits)');
  const l0 = s.child(pde);
  for (let i = 0; i < 32; i++) t.equal(s.entryAt(l0, i), BigInt(0x41_0000 + i * 0x1_0000) | 0x803n, `compact[${i}]: 64K leaf with DM, no PS64`);
  t.equal(s.entryAt(l0, 32), 0n);
  const tr = ok(s.pt.mmu.translate(0x61_2345));
  t.same([tr.size, tr.compact, tr.pa], [0x1_0000, true, vram + 0x1_0000]);
  t.same(s.pt.stats().leaves, { '4K': 0, ps64: 0, '64K': 32, '2M': 0, '1G': 0 });
});

t.test('leaf sizes follow the real contiguity and alignment of the backing (5.3)', async (t) => {
  const s = setup(P, false, 2 * GiB + 16 * MiB);
  t.same(s.pt.bind([range(GiB, GiB, pages(GiB, 262144), 2)]), [PTE_1G], '1G-aligned contiguous: a 1G leaf');
  t.equal(s.entryAt(s.tableAt(GiB, 2), 1), 0x4000_0093n);
  t.same(s.pt.bind([range(4 * GiB, 4 * MiB, pages(0x400_0000, 1024), 2)]), [PTE_2M], '2M-aligned: 2M leaves');
  t.same(s.pt.bind([range(8 * GiB, 2 * MiB, pages(0x801_0000, 512), 2)]), [PTE_COMPACT], 'LNL, 64K-aligned 2M: compact');
  const frag = Array.from({ length: 512 }, (_, i) => 0xa00_0000 + i * 0x2000);
  t.same(s.pt.bind([range(12 * GiB, 2 * MiB, frag, 2)]), [PTE_4K], 'fragmented: 4K leaves');
  t.same(s.pt.bind([range(16 * GiB + 0x1_0000, 0x3_0000, pages(0xc01_0000, 48), 2)]), [PTE_64K], 'partial L0, 64K runs: PS64');
  t.same(s.pt.bind([range(20 * GiB, 0x2_0000, pages(0xc40_1000, 32), 2)]), [PTE_4K], 'contiguous but 4K-aligned DMA: no PS64');
  t.same(s.pt.bind([range(24 * GiB, 2 * MiB, null, 2)]), [PTE_2M], 'NULL: the largest leaf regardless of backing');
  t.same(s.pt.stats().leaves, { '4K': 512 + 48 + 32, ps64: 48, '64K': 32, '2M': 3, '1G': 1 });

  const tg = setup(tgl, false);
  t.same(tg.pt.bind([range(0, 2 * MiB, pages(0x201_0000, 512), 0)]), [PTE_64K], 'TGL has no compact tables: PS64 over 2M');
  const d = setup(D, false);
  const before = d.snapshot();
  const frag4k = Array.from({ length: 16 }, (_, i) => REGION_SPAN + 0x100_0000 + i * 0x2000);
  t.throws(() => d.pt.bind([range(0, 0x1_0000, frag4k, 0)]), new Errno(22, 'VRAM page at VA %x needs a 64K leaf on this device', 0), 'DG2: a 4K VRAM leaf is -EINVAL');
  t.same(d.snapshot(), before, 'and changes nothing');
  t.equal(d.alloc.usedPages, d.baseline + 1, 'no table leaks');
  t.same(d.pt.bind([range(0, 0x1_0000, frag4k.map((_, i) => 0x10_0000 + i * 0x2000), 0)]), [PTE_4K], 'DG2 system memory: 4K is fine');
  t.equal(maxPteSize(0), GiB, 'maxpte of a never-bound VMA: 1G');
  t.equal(maxPteSize(PTE_4K | PTE_COMPACT), 2 * MiB);
});

t.test('allocation failure at every point of a multi-range bind leaves the bytes identical', async (t) => {
  for (const p of [P, D, bmg]) {
    const s = setup(p, p !== D);
    const base = p.isDgfx ? REGION_SPAN + 0x200_0000 : 0x200_0000;
    s.pt.bind([range(0x40_0000, 0x1_0000, pages(base, 16), 0)]);
    const ranges = [
      range(0x41_0000, 0x1_0000, pages(base + 0x1_0000, 16), 0),
      range(2 * GiB, 2 * MiB, pages(base + 0x20_0000, 512), 0),
      range(2 ** 40, 0x2_0000, pages(base + 0x40_0000, 32), 0),
      range(GiB, GiB, null, 0),
    ];
    const before = s.snapshot();
    const used = s.alloc.usedPages;
    let n = 1;
    for (; ; n++) {
      s.pt.failAllocation(n);
      try {
        s.pt.bind(ranges);
        break;
      } catch (e) {
        t.match(e, { errno: 12, reason: /^no memory for a level-\d page table$/ }, `${p.name}: allocation ${n} fails with -ENOMEM`);
        t.same(s.snapshot(), before, `${p.name}: table bytes unchanged after failing allocation ${n}`);
        t.equal(s.alloc.usedPages, used, 'no page leaks');
      }
    }
    s.pt.failAllocation(0);
    t.ok(n > 4, `${p.name}: the bind needed ${n - 1} tables and failed at each`);
    t.equal(ok(s.pt.mmu.translate(2 ** 40 + 0x1_1000)).pa, base + 0x41_1000, 'the last successful bind maps');
  }
});

t.test('VM creation fails cleanly without table memory', async (t) => {
  const mem = new PhysicalMemory(createRegions(16 * 4096, []));
  const alloc = new PageAllocator(mem.regions[0]);
  alloc.alloc(14);
  const ptm = new PtMemory(mem, ptGeometry(P));
  t.throws(() => new XePt(ptm, alloc, true, 2, 3), new Errno(12, 'no memory for a level-%d page table', 4), '3 tables needed, 2 free');
  t.equal(alloc.usedPages, 14, 'nothing stays allocated');
});

// ---- Property: random binds, unbinds and REMAPs against a page-array model ----

/** A VMA of the model: its range, backing pages (null: NULL) and recorded PTE sizes. */
interface MVma { start: number; end: number; pages: number[] | null; flags: number }
type Backing = { kind: 'contig'; off: number; align: number } | { kind: 'frag'; off: number; stride: number } | { kind: 'null' };
type Cmd =
  | { kind: 'bind'; anchor: number; page: number; len: number; backing: Backing; ro: boolean; fail: number }
  | { kind: 'unbind'; pick: number }
  | { kind: 'remap'; pick: number; from: number; len: number };

const ANCHORS = [0, GiB - 4 * MiB, 2 ** 39 - 4 * MiB];
const POOL_PAGES = 8192; // 32 MiB of data pages
const backing: fc.Arbitrary<Backing> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('contig' as const), off: fc.nat(POOL_PAGES), align: fc.constantFrom(1, 16, 512) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('frag' as const), off: fc.nat(POOL_PAGES), stride: fc.constantFrom(3, 17, 513) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'null' as const }) },
);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('bind' as const), anchor: fc.nat(ANCHORS.length - 1), page: fc.nat(2047),
      len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(16, 512, 1024)), backing, ro: fc.boolean(),
      fail: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unbind' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remap' as const), pick: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 600 }) }) },
);

/** The flag that records a REMAP piece's inherited maxpte. */
function flagOf(size: number): number {
  return size === GiB ? PTE_1G : size === 2 * MiB ? PTE_2M : size === 0x1_0000 ? PTE_64K : PTE_4K;
}

for (const [p, scratch] of [[P, false], [P, true], [D, true], [tgl, false]] as const) {
  t.test(`${p.name}${scratch ? ' scratch' : ''}: random binds and unbinds agree with a page model through the MMU`, async (t) => {
    const property = fc.property(fc.array(cmd, { maxLength: 20 }), (cmds) => {
      const s = setup(p, scratch);
      // Data pages: 32 MiB, 2M-aligned, in VRAM on a discrete device; tables come after them.
      const pool = s.alloc.alloc(POOL_PAGES, 512)![0];
      const baseline = s.alloc.usedPages;
      const fresh = s.snapshot();
      let vmas: MVma[] = [];
      const poolPages = (b: Backing, n: number): number[] | null => {
        if (b.kind === 'null') return null;
        if (b.kind === 'frag') return Array.from({ length: n }, (_, k) => pool + ((b.off + k * b.stride) % POOL_PAGES) * 4096);
        const first = Math.min(Math.floor(b.off / b.align) * b.align, POOL_PAGES - n);
        return pages(pool + first * 4096, n);
      };
      const tryBind = (rs: MVma[], ro: boolean): boolean => {
        const before = s.snapshot();
        try {
          const flags = s.pt.bind(rs.map((r) => range(r.start, r.end - r.start, r.pages, 0, { readOnly: ro })));
          rs.forEach((r, i) => (r.flags = flags[i]));
          vmas.push(...rs);
          return true;
        } catch (e) {
          const vram = rs.some((r) => r.pages && r.pages[0] >= REGION_SPAN);
          if (!(e instanceof Errno) || (e.errno === 22 && !(p.vram64k && vram))) throw e;
          t.same(s.snapshot(), before);
          return false;
        }
      };
      for (const c of cmds) {
        if (c.kind === 'bind') {
          const start = ANCHORS[c.anchor] + c.page * 4096;
          const end = start + c.len * 4096;
          if (vmas.some((v) => v.start < end && start < v.end)) continue;
          s.pt.failAllocation(c.fail);
          tryBind([{ start, end, pages: poolPages(c.backing, c.len), flags: 0 }], c.ro);
          s.pt.failAllocation(0);
        } else if (vmas.length) {
          const old = vmas[c.pick % vmas.length];
          vmas = vmas.filter((v) => v !== old);
          if (c.kind === 'unbind') {
            s.pt.unbind(old.start, old.end);
          } else {
            const n = (old.end - old.start) / 4096;
            const from = c.from % n;
            const to = Math.min(n, from + c.len);
            const piece = (a: number, b: number): MVma => ({
              start: old.start + a * 4096, end: old.start + b * 4096, pages: old.pages && old.pages.slice(a, b), flags: old.flags,
            });
            const prev = from > 0 ? piece(0, from) : undefined;
            const next = to < n ? piece(to, n) : undefined;
            const r = remapUnbindRange({ old: { ...old, userptr: false, pteFlags: old.flags }, prev, next });
            s.pt.unbind(r.start, r.end);
            const kept = [r.skipPrev && prev, r.skipNext && next].filter((v): v is MVma => !!v);
            for (const k of kept) k.flags = flagOf(maxPteSize(old.flags));
            vmas.push(...kept);
            const rebind = [!r.skipPrev && prev, !r.skipNext && next].filter((v): v is MVma => !!v);
            if (rebind.length) tryBind(rebind, false);
          }
        }
        checkTranslations(s.pt, vmas, scratch);
      }
      for (const v of vmas) s.pt.unbind(v.start, v.end);
      t.same(s.snapshot(), fresh, 'after unbinding everything the tree is as created');
      t.equal(s.alloc.usedPages, baseline, 'no table page leaks');
    });
    const result = fc.check(property, { seed: 0x7074_0003, numRuns: 150 });
    t.notOk(result.failed, fc.defaultReportMessage(result) ?? 'the model agrees');
  });
}

/** Every VMA's pages (a sample of long ones) and its neighbours translate as the model says. */
function checkTranslations(pt: XePt, vmas: MVma[], scratch: boolean): void {
  for (const v of vmas) {
    const n = (v.end - v.start) / 4096;
    const step = Math.max(1, Math.floor(n / 24));
    for (let k = 0; k < n; k += k + step < n ? step : Math.max(1, n - 1 - k)) {
      const tr = pt.mmu.translate(v.start + k * 4096 + 8);
      if (isFault(tr)) throw new Error(`fault at 0x${(v.start + k * 4096).toString(16)}: ${tr.fault}`);
      const pa = tr.pa < 0 ? -1 : tr.pa + (v.start + k * 4096 - tr.va);
      const want = v.pages ? v.pages[k] : -1;
      if (pa !== want || tr.entry.nul !== !v.pages) throw new Error(`0x${(v.start + k * 4096).toString(16)}: pa ${pa} != ${want}`);
    }
    for (const va of [v.start - 4096, v.end]) {
      if (va < 0 || vmas.some((w) => w.start <= va && va < w.end)) continue;
      const tr = pt.mmu.translate(va);
      const good = scratch ? !isFault(tr) && tr.entry.nul : isFault(tr) && tr.fault === 'not-present';
      if (!good) throw new Error(`unmapped 0x${va.toString(16)} translates to ${JSON.stringify(tr)}`);
    }
  }
}

t.test('forDevice: tables from VRAM on a discrete device, system memory otherwise', async (t) => {
  for (const p of [P, D]) {
    const dev = new XeDevice(p, createRegions(16 * MiB, p.isDgfx ? [16 * MiB] : []));
    const alloc = p.isDgfx ? dev.vram[0] : dev.sysmem;
    const before = alloc.usedPages;
    const pt = XePt.forDevice(dev, true);
    t.equal(alloc.usedPages - before, p.vmMaxLevel - 1, `${p.name}: root and ${p.vmMaxLevel - 2} scratch tables (levels 2 to root-1)`);
    t.equal(pt.ptm.tableRegion, alloc.region);
    pt.destroy();
    t.equal(alloc.usedPages, before, 'destroy frees every table');
  }
});
