/**
 * Page-table and bind benchmarks of issue 7 item 9 below the ioctl (bench/vm_ioctl.ts has
 * them through VM_BIND): XePt binds of 1 GiB, contiguous and fragmented, page-table bytes
 * against the minimum the entry format needs, and the bind + unbind of one 4K VMA among N at
 * the gpuvm + XePt level.
 */
import { createRegions, PAGE_SIZE, PageAllocator, PhysicalMemory } from '../src/hw/memory.js';
import { MAX_HUGEPTE_LEVEL, levelSize, ptGeometry, PtMemory, type PtGeometry } from '../src/hw/pagetable.js';
import { PROFILES } from '../src/hw/profile.js';
import { Bo } from '../src/kernel/xe/xe_bo.js';
import { XeDevice } from '../src/kernel/xe/xe_device.js';
import { pdePatIndex, XePt, type BindRange, type PtStats } from '../src/kernel/xe/xe_pt.js';
import { Vm } from '../src/kernel/xe/xe_vm.js';
import { defaultMemAttr } from '../src/kernel/xe/xe_vma.js';
import { vmBindMap, vmBindUnmap } from '../test/helpers/vm_bind.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const P = PROFILES.lnl;

/** ms of one call of `fn`. */
function ms(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A fresh non-scratch LNL tree over a system memory of `sysmem` bytes (tables from its start). */
function freshPt(sysmem: number): XePt {
  const mem = new PhysicalMemory(createRegions(sysmem, []));
  return new XePt(new PtMemory(mem, ptGeometry(P)), new PageAllocator(mem.regions[0]), false, P.patWb, pdePatIndex(P));
}

/** `n` physical pages from `base`: contiguous, or `stride`-scattered (a permutation with no two neighbours adjacent). */
function pages(base: number, n: number, stride = 1): number[] {
  return Array.from({ length: n }, (_, i) => base + ((i * stride) % n) * PAGE_SIZE);
}

const leafLine = (s: PtStats): string => `1G ${s.leaves['1G']}, 2M ${s.leaves['2M']}, 64K ${s.leaves['64K']}, 4K ${s.leaves['4K']} (ps64 ${s.leaves.ps64})`;

/** (a) 1 GiB bind and unbind of a contiguous and of a fragmented backing; leaf counts and times. */
function gigBind(log: (s: string) => void, rounds: number): void {
  log('  XePt 1 GiB bind + unbind (LNL, 5 levels; median of rounds):');
  const cases: Array<[string, number[]]> = [
    ['contiguous, 1G-aligned', pages(GiB, GiB / PAGE_SIZE)],
    ['fragmented (no two pages adjacent)', pages(GiB, GiB / PAGE_SIZE, 7919)],
  ];
  for (const [name, backing] of cases) {
    const pt = freshPt(2 * GiB + 16 * MiB);
    const range: BindRange = { start: 4 * GiB, end: 5 * GiB, pages: backing, patIndex: 2 };
    const bind: number[] = [];
    const unbind: number[] = [];
    let stats: PtStats | null = null;
    for (let r = 0; r < rounds; r++) {
      bind.push(ms(() => pt.bind([range])));
      stats ??= pt.stats();
      unbind.push(ms(() => pt.unbind(range.start, range.end)));
    }
    log(`    ${name.padEnd(36)} bind ${median(bind).toFixed(2)} ms, unbind ${median(unbind).toFixed(2)} ms; leaves ${leafLine(stats!)}`);
  }
}

/**
 * The fewest tables the entry format needs for `ranges` (computed here, not by XePt): each
 * 4K-aligned address gets the largest leaf whose slot lies inside its range with a backing
 * that is contiguous and aligned to the leaf (NULL: any), and a level holds as many tables as
 * its leaves and child tables fall into distinct parent slots; plus the root.
 */
function minTables(geo: PtGeometry, ranges: BindRange[]): number {
  const slots: Array<Set<number>> = Array.from({ length: geo.rootLevel }, () => new Set());
  for (const r of ranges) {
    for (let a = r.start; a < r.end;) {
      let level = MAX_HUGEPTE_LEVEL;
      while (level > 0 && !leafFits(r, a, levelSize(level))) level--;
      for (let l = level; l < geo.rootLevel; l++) slots[l].add(Math.floor(a / levelSize(l + 1)));
      a += levelSize(level);
    }
  }
  return 1 + slots.reduce((n, s) => n + s.size, 0);
}

/** Whether a leaf of `size` at `a` fits range `r`: the whole slot inside, backing contiguous and aligned. */
function leafFits(r: BindRange, a: number, size: number): boolean {
  if (a % size || a + size > r.end) return false;
  if (!r.pages) return true;
  const k = (a - r.start) / PAGE_SIZE;
  if (r.pages[k] % size) return false;
  for (let i = 1; i < size / PAGE_SIZE; i++) if (r.pages[k + i] !== r.pages[k] + i * PAGE_SIZE) return false;
  return true;
}

/** A seeded LCG in [0, 1) (the same mapping set every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** (b) XePt's table bytes against the minimum for a few mapping sets. */
function efficiency(log: (s: string) => void): void {
  const rnd = lcg(7);
  const scattered = new Map<number, BindRange>();
  while (scattered.size < 1000) {
    const va = Math.floor(rnd() * 2 ** 20) * 0x1_0000; // 64K-aligned in 64 GiB
    if (!scattered.has(va)) scattered.set(va, { start: va, end: va + 0x1_0000, pages: pages(GiB + scattered.size * 0x1_0000, 16), patIndex: 2 });
  }
  const sets: Array<[string, BindRange[]]> = [
    ['one 1 GiB run (contiguous)', [{ start: GiB, end: 2 * GiB, pages: pages(GiB, GiB / PAGE_SIZE), patIndex: 2 }]],
    ['1000 scattered 64K BOs in 64 GiB', [...scattered.values()].sort((x, y) => x.start - y.start)],
    ['dense 256 MiB of 4K pages', [{ start: 4 * GiB, end: 4 * GiB + 256 * MiB, pages: pages(GiB, 256 * MiB / PAGE_SIZE, 7919), patIndex: 2 }]],
  ];
  log('  page-table bytes against the minimum the entry format needs (target <= 1.05x):');
  for (const [name, ranges] of sets) {
    const pt = freshPt(2 * GiB + 16 * MiB);
    pt.bind(ranges);
    const bytes = pt.stats().bytes;
    const min = minTables(pt.ptm.geo, ranges) * PAGE_SIZE;
    log(`    ${name.padEnd(36)} ${bytes} bytes, minimum ${min}: ${(bytes / min).toFixed(3)}x`);
  }
}

/** Maps and unmaps 4K VMAs of one VM; the scaling case measures through it. */
export interface Binder {
  map(start: number): void;
  unmap(start: number): void;
}

/** A Binder at the gpuvm + XePt level (ops, commit, page tables, finish), all VMAs on one BO page. */
function kernelBinder(): Binder {
  const dev = new XeDevice(P, createRegions(256 * MiB, []));
  const vm = new Vm(dev, 0);
  vm.pt = XePt.forDevice(dev, false);
  const obj = Bo.create(dev, { size: BigInt(PAGE_SIZE), placement: 1, flags: 0, cpuCaching: 1, vm: null });
  const attrs = defaultMemAttr(2);
  return {
    map: (start) => void vmBindMap(vm, { start, range: PAGE_SIZE, obj, attrs }),
    unmap: (start) => vmBindUnmap(vm, start, PAGE_SIZE),
  };
}

/**
 * (c) bind + unbind of one 4K VMA into a hole in the middle of N 4K VMAs (every other page),
 * one VM per N of `sizes`, measured in interleaved rounds: ns per pair, and the median over
 * rounds of each N's ratio to the first N (so machine noise hits both sides alike).
 */
export function bindScaling(newBinder: () => Binder, sizes: number[], pairs: number, rounds: number): Array<{ ns: number; ratio: number }> {
  const bodies = sizes.map((n) => {
    const b = newBinder();
    for (let i = 0; i < n; i++) b.map(i * 2 * PAGE_SIZE);
    const hole = (n >> 1) * 2 * PAGE_SIZE + PAGE_SIZE;
    return (): void => {
      for (let i = 0; i < pairs; i++) {
        b.map(hole);
        b.unmap(hole);
      }
    };
  });
  for (const body of bodies) body();
  const samples = bodies.map((): number[] => []);
  for (let r = 0; r < rounds; r++) bodies.forEach((body, i) => samples[i].push((ms(body) * 1e6) / pairs));
  return samples.map((xs) => ({ ns: median(xs), ratio: median(xs.map((x, r) => x / samples[0][r])) }));
}

/** Runs (a), (b) and (c), printing in bench/run.ts's format. */
export function vmBenchmarks(log: (s: string) => void, rounds: number): void {
  gigBind(log, Math.min(rounds, 5));
  efficiency(log);
  const sizes = [1e3, 1e4, 1e5, 1e6];
  const res = bindScaling(kernelBinder, sizes, 2000, rounds);
  log('  gpuvm + XePt bind + unbind of one 4K VMA among N 4K VMAs (ops, commit, PTEs, finish):');
  sizes.forEach((n, i) => log(`    N = ${n.toExponential(0).replace('+', '')}  ${(res[i].ns / 1000).toFixed(2)} us   ${res[i].ratio.toFixed(2)}x N = 1e3 (target <= 2x)`));
}
