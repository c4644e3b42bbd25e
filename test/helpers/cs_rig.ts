/**
 * A command-streamer rig: emulated memory, a page table written by hand (literal entry bits of
 * vm_bind.md 5.2, as test/gpu_mmu.test.ts does), a GpuMmu over it, engines and contexts.
 */
import { CsContext, CsEngine, type CsEngineOpts } from '../../src/hw/cs.js';
import { createRegions, PageAllocator, PhysicalMemory, REGION_SPAN } from '../../src/hw/memory.js';
import { GpuMmu } from '../../src/hw/mmu.js';
import { PtMemory, ptGeometry } from '../../src/hw/pagetable.js';
import { ENGINE_CLASS, PROFILES, graphicsVerx100, type Profile } from '../../src/hw/profile.js';
import type { Batch } from '../../src/uapi/gpu_commands.js';

const MiB = 1 << 20;
/** Leaf bits: PRESENT | RW, PRESENT alone (read-only), NULL | PRESENT | RW. */
export const RW = 0x3n;
export const RO = 0x1n;
export const NUL = 0x203n;

const ENGINE_NAMES: Record<number, string> = {
  [ENGINE_CLASS.RENDER]: 'rcs0', [ENGINE_CLASS.COPY]: 'bcs0', [ENGINE_CLASS.VIDEO_DECODE]: 'vcs0',
  [ENGINE_CLASS.VIDEO_ENHANCE]: 'vecs0', [ENGINE_CLASS.COMPUTE]: 'ccs0',
};

/** A rig on profile `p` (Lunar Lake by default). */
export function csRig(p: Profile = PROFILES.lnl) {
  const mem = new PhysicalMemory(createRegions(16 * MiB, p.isDgfx ? [16 * MiB] : []));
  const ptm = new PtMemory(mem, ptGeometry(p));
  const tables = new PageAllocator(p.isDgfx ? mem.regions[1] : mem.regions[0]);
  tables.alloc(1024); // tables above 4 MiB; data pages live below
  const root = ptm.allocTable(tables)!;
  const tableBase = p.isDgfx ? REGION_SPAN : 0;
  const idx = (va: number, level: number): number => Math.floor(va / 2 ** (12 + 9 * level)) % 512;
  const dv = new DataView(ptm.tableRegion.sab);
  const get = (tablePa: number, i: number): bigint => dv.getBigUint64(tablePa - tableBase + i * 8, true);
  const put = (tablePa: number, i: number, v: bigint): void => dv.setBigUint64(tablePa - tableBase + i * 8, v, true);
  /** The level-0 table of `va`, created with PRESENT | RW PDEs as needed. */
  const leafTable = (va: number): number => {
    let tbl = root;
    for (let l = p.vmMaxLevel; l > 0; l--) {
      if (!(get(tbl, idx(va, l)) & 1n)) put(tbl, idx(va, l), BigInt(ptm.allocTable(tables)! - tableBase) | RW);
      tbl = tableBase + Number(get(tbl, idx(va, l)) & 0xffff_ffff_f000n);
    }
    return tbl;
  };
  const mmu = new GpuMmu(ptm, root - tableBase);
  const sys = new DataView(mem.regions[0].sab);
  return {
    mem, mmu,
    /** Maps the 4K page at `va` to system memory `pa` with leaf bits `bits`. */
    map(va: number, pa: number, bits = RW): void {
      put(leafTable(va), idx(va, 0), BigInt(pa) | bits);
      mmu.invalidateRange(va, va + 4096);
    },
    /** Maps `pages` 4K pages from `va` to consecutive system memory from `pa`. */
    mapRange(va: number, pa: number, pages: number, bits = RW): void {
      for (let i = 0; i < pages; i++) this.map(va + i * 4096, pa + i * 4096, bits);
    },
    /** Removes the mapping of the page at `va`. */
    unmap(va: number): void {
      put(leafTable(va), idx(va, 0), 0n);
      mmu.invalidateRange(va, va + 4096);
    },
    /** Copies a batch into system memory at `pa`. */
    load(pa: number, b: Batch): void {
      mem.copyIn(pa, b.bytes(), 0, b.size);
    },
    u32: (pa: number): number => sys.getUint32(pa, true),
    u64: (pa: number): bigint => sys.getBigUint64(pa, true),
    setU32: (pa: number, v: number): void => sys.setUint32(pa, v, true),
    setU64: (pa: number, v: bigint): void => sys.setBigUint64(pa, v, true),
    bytes: (pa: number, n: number): number[] => [...mem.view(pa, n)],
    engine: (cls: number = ENGINE_CLASS.RENDER, opts?: CsEngineOpts): CsEngine => new CsEngine(cls, ENGINE_NAMES[cls], graphicsVerx100(p), opts),
    ctx: (id = 0): CsContext => new CsContext(mmu, id),
  };
}
