/**
 * The GPU page-table format (PPGTT) of the emulated devices: entry bits, encoders and
 * decoders, each profile's geometry, and tables in emulated physical memory (allocation,
 * entry access, a walk over a whole tree). Facts: shared/spec/vm_bind.md 5.1-5.2, upstream
 * regs/xe_gtt_defs.h and the pte/pde encoders of xe_vm.c.
 *
 * An entry is a little-endian u64 handled as two u32 halves in plain numbers, `lo` (bits 0-31)
 * and `hi` (bits 32-63): the walker reads them with two DataView loads and never builds a
 * BigInt (bench/run.ts measures the walker).
 *
 * Addresses in entries are device addresses: system memory by its physical address (system
 * memory starts at 0 here, no IOMMU), VRAM by its offset in the tile's VRAM (the DPA; leaves
 * say so with DM). Page tables live in VRAM on a discrete device (the driver allocates them
 * VRAM_IF_DGFX), so a PDE's address is a DPA there and a system address otherwise.
 */
import { PAGE_SHIFT, PAGE_SIZE, type PageAllocator, type PhysicalMemory, type RegionDesc } from './memory.js';
import type { Profile } from './profile.js';

/** Bit 0: the entry is valid. */
export const XE_PAGE_PRESENT = 1 << 0;
/** Bit 1: writable (leaf: unless READONLY; PDE: always). */
export const XE_PAGE_RW = 1 << 1;
/** Bit 3: PAT index bit 0 (leaf and PDE). */
export const XE_PPGTT_PTE_PAT0 = 1 << 3;
/** Bit 4: PAT index bit 1 (leaf and PDE). */
export const XE_PPGTT_PTE_PAT1 = 1 << 4;
/** Bit 6 of a level-1 PDE: the child is a compact table of 32 64K leaves. */
export const XE_PDE_64K = 1 << 6;
/** Bit 7 of a level-0 leaf: PAT index bit 2. */
export const XE_PPGTT_PTE_PAT2 = 1 << 7;
/** Bit 7 at levels 1 and 2: the entry is a huge leaf (XE_PDE_PS_2M, XE_PDPE_PS_1G). */
export const XE_PDE_PS = 1 << 7;
/** Bit 8 of a level-0 leaf in a non-compact table: part of a 64K run (TLB hint). */
export const XE_PTE_PS64 = 1 << 8;
/** Bit 9: no backing; reads return 0, writes are dropped. */
export const XE_PTE_NULL = 1 << 9;
/** Bit 10: atomics enable (platforms with has_atomic_enable_pte_bit). */
export const XE_USM_PPGTT_PTE_AE = 1 << 10;
/** Bit 11: the leaf's address is device memory (VRAM). */
export const XE_PPGTT_PTE_DM = 1 << 11;
/** Bit 12 of a huge leaf (levels 1-2): PAT index bit 2. */
export const XE_PPGTT_PDE_PDPE_PAT2 = 1 << 12;
/** Bit 61 (bit 29 of `hi`): PAT index bit 4 (Xe2+). */
export const XE2_PPGTT_PTE_PAT4_HI = 1 << 29;
/** Bit 62 (bit 30 of `hi`): PAT index bit 3 (Xe_LPG+). */
export const XELPG_PPGTT_PTE_PAT3_HI = 1 << 30;

/** Entries per table (each table is one 4 KiB page of u64). */
export const PT_ENTRIES = 512;
/** Bytes per entry. */
export const PT_ENTRY_BYTES = 8;
/** Entries of a compact level-0 table, each a 64 KiB leaf. */
export const COMPACT_ENTRIES = 32;
/** Shift of a compact table's index: a compact leaf covers 64 KiB. */
export const COMPACT_SHIFT = 16;
/** Highest level that may hold a huge leaf (2 = 1 GiB). */
export const MAX_HUGEPTE_LEVEL = 2;

const TWO32 = 2 ** 32;
/** Bytes one entry covers at each level 0..4 (4K, 2M, 1G, 512G, 256T). */
const LEVEL_SIZE = [0, 1, 2, 3, 4].map((l) => 2 ** (PAGE_SHIFT + 9 * l));

/** Shift of the VA bits that index a table at `level`: 12 + 9 * level. */
export function levelShift(level: number): number {
  return PAGE_SHIFT + 9 * level;
}

/** Bytes one entry at `level` covers (one leaf, or a child table's whole span). */
export function levelSize(level: number): number {
  return LEVEL_SIZE[level];
}

/** Index of `va`'s entry in a table at `level`: (va >> shift) & 511 (exact for va < 2^53). */
export function ptIndex(va: number, level: number): number {
  return (va / LEVEL_SIZE[level]) & (PT_ENTRIES - 1);
}

/** Index of `va`'s entry in a compact level-0 table: (va >> 16) & 31. */
export function compactIndex(va: number): number {
  return (va / 2 ** COMPACT_SHIFT) & (COMPACT_ENTRIES - 1);
}

/** The page-table geometry and entry-format facts of one device. */
export interface PtGeometry {
  /** Number of levels, 4 or 5. */
  levels: number;
  /** Level of the root table (vm_max_level). */
  rootLevel: number;
  /** GPU VA bits: translatable addresses are [0, 2^vaBits). */
  vaBits: number;
  /** Width of device addresses in entries (dma_mask_size). */
  dmaMaskSize: number;
  /** PAT index bits a leaf carries (3, 4 or 5); a PDE carries 2. */
  ptePatBits: number;
  /** Leaves have the AE bit. */
  hasAtomicEnablePteBit: boolean;
  /** Compact 64K level-0 tables exist (graphics 12.50+). */
  compact64k: boolean;
  /** VRAM leaves at level 0 must be 64K (PS64 or compact). */
  vram64k: boolean;
  /** Page tables live in VRAM (discrete device); PDE addresses are then DPAs. */
  tablesInVram: boolean;
}

/** The page-table geometry of a profile. */
export function ptGeometry(p: Profile): PtGeometry {
  return {
    levels: p.vmMaxLevel + 1,
    rootLevel: p.vmMaxLevel,
    vaBits: p.vaBits,
    dmaMaskSize: p.pt.dmaMaskSize,
    ptePatBits: p.pt.ptePatBits,
    hasAtomicEnablePteBit: p.pt.hasAtomicEnablePteBit,
    compact64k: p.pt.compact64k,
    vram64k: p.vram64k,
    tablesInVram: p.isDgfx,
  };
}

/** One u64 entry as two u32 halves. */
export interface PtEntry {
  /** Bits 0-31. */
  readonly lo: number;
  /** Bits 32-63. */
  readonly hi: number;
}

/** The empty entry (not present). */
export const PT_EMPTY: PtEntry = Object.freeze({ lo: 0, hi: 0 });

/** An entry as a u64 BigInt (tests, dumps). */
export function entryToBigInt(e: PtEntry): bigint {
  return (BigInt(e.hi) << 32n) | BigInt(e.lo);
}

/** The entry of a u64 BigInt. */
export function entryFromBigInt(v: bigint): PtEntry {
  return { lo: Number(v & 0xffffffffn), hi: Number((v >> 32n) & 0xffffffffn) };
}

/** Splits a device address into entry halves after checking its alignment and width. */
function addrEntry(addr: number, align: number, lo: number, hi: number): PtEntry {
  if (!Number.isInteger(addr) || addr < 0 || addr % align !== 0 || addr >= 2 ** 52) {
    throw new RangeError(`page-table address 0x${addr.toString(16)} is not ${align}-aligned device memory`);
  }
  const addrHi = Math.floor(addr / TWO32);
  return { lo: ((addr - addrHi * TWO32) | lo) >>> 0, hi: (addrHi | hi) >>> 0 };
}

/** Leaf PAT bits of the low half (pte_encode_pat_index): PAT2 moves to bit 12 above level 0. */
function patLo(patIndex: number, level: number): number {
  return (patIndex & 1 ? XE_PPGTT_PTE_PAT0 : 0) | (patIndex & 2 ? XE_PPGTT_PTE_PAT1 : 0) |
    (patIndex & 4 ? (level > 0 ? XE_PPGTT_PDE_PDPE_PAT2 : XE_PPGTT_PTE_PAT2) : 0);
}

/** Leaf PAT bits of the high half: PAT3 at bit 62, PAT4 at bit 61. */
function patHi(patIndex: number): number {
  return (patIndex & 8 ? XELPG_PPGTT_PTE_PAT3_HI : 0) | (patIndex & 16 ? XE2_PPGTT_PTE_PAT4_HI : 0);
}

/** Options of a leaf entry. */
export interface LeafOpts {
  /** READONLY: RW stays clear. */
  readOnly?: boolean;
  /** NULL leaf: no backing, the address must be 0. */
  nul?: boolean;
  /** The page is device memory (VRAM); also set on dGPU scratch leaves. */
  dm?: boolean;
  /** Atomics enable (5.4). */
  ae?: boolean;
  /** 64K TLB hint of a level-0 leaf in a non-compact table. */
  ps64?: boolean;
}

/**
 * A leaf entry at `level` (0: a 4K leaf, or a 64K leaf of a compact table; 1: 2M; 2: 1G) for
 * the page at device address `addr` (xelp_pte_encode_bo / _vma, xe_pt_stage_bind_entry).
 */
export function encodeLeaf(level: number, addr: number, patIndex: number, opts: LeafOpts = {}): PtEntry {
  if (!(level >= 0 && level <= MAX_HUGEPTE_LEVEL) || !(patIndex >= 0 && patIndex < 32)) {
    throw new RangeError(`no leaf at level ${level} with PAT index ${patIndex}`);
  }
  if (opts.ps64 && level !== 0) throw new RangeError('PS64 is a level-0 bit');
  if (opts.nul && addr !== 0) throw new RangeError('a NULL leaf has address 0');
  const lo = XE_PAGE_PRESENT | (opts.readOnly ? 0 : XE_PAGE_RW) | patLo(patIndex, level) |
    (level > 0 ? XE_PDE_PS : 0) | (opts.nul ? XE_PTE_NULL : 0) | (opts.dm ? XE_PPGTT_PTE_DM : 0) |
    (opts.ae ? XE_USM_PPGTT_PTE_AE : 0) | (opts.ps64 ? XE_PTE_PS64 : 0);
  return addrEntry(addr, LEVEL_SIZE[level], lo, patHi(patIndex));
}

/**
 * A PDE pointing to the child table at device address `childAddr` (xelp_pde_encode_bo):
 * PRESENT | RW | PAT0/PAT1, plus XE_PDE_64K when the child is a compact level-0 table. Only
 * PAT indices 0-3 fit a PDE (pde_pat_index asserts it).
 */
export function encodePde(childAddr: number, patIndex: number, compact = false): PtEntry {
  if (!(patIndex >= 0 && patIndex <= 3)) throw new RangeError(`PAT index ${patIndex} does not fit a PDE`);
  const lo = XE_PAGE_PRESENT | XE_PAGE_RW | patLo(patIndex, 0) | (compact ? XE_PDE_64K : 0);
  return addrEntry(childAddr, PAGE_SIZE, lo, 0);
}

/** What an entry is, as the walker sees it. */
export type EntryKind = 'none' | 'pde' | 'pde64k' | 'pte4k' | 'pte64k' | 'pte2m' | 'pte1g';

/** A decoded entry. */
export interface DecodedEntry {
  kind: EntryKind;
  /** Device address of the page or child table (0 for 'none'). */
  addr: number;
  /** Bytes a leaf maps, or a PDE's child spans. */
  size: number;
  writable: boolean;
  /** PAT index (a PDE's two bits, a leaf's ptePatBits bits). */
  patIndex: number;
  nul: boolean;
  dm: boolean;
  ae: boolean;
  ps64: boolean;
}

const LEAF_KIND: EntryKind[] = ['pte4k', 'pte2m', 'pte1g'];
/** Address bits of `lo` for a 4K, 2M and 1G leaf, and a compact 64K leaf (int32 masks: fast). */
const LEAF_LO_MASK = [~0xfff, ~0x1fffff, ~0x3fffffff];
const COMPACT_LO_MASK = ~0xffff;

/**
 * Decodes the entry (`lo`, `hi`) of a table at `level` as the device's hardware reads it;
 * `compactTable` when the table is a compact level-0 table. Bits the platform lacks (PAT3/4,
 * AE) and address bits beyond dma_mask_size or below the leaf size are ignored.
 */
export function decodeEntry(geo: PtGeometry, lo: number, hi: number, level: number, compactTable = false): DecodedEntry {
  const present = (lo & XE_PAGE_PRESENT) !== 0;
  const leaf = present && (level === 0 || (level <= MAX_HUGEPTE_LEVEL && (lo & XE_PDE_PS) !== 0));
  const compactChild = present && !leaf && level === 1 && geo.compact64k && (lo & XE_PDE_64K) !== 0;
  const size = compactTable ? 2 ** COMPACT_SHIFT : LEVEL_SIZE[level];
  const kind: EntryKind = !present ? 'none' : compactTable ? 'pte64k' : leaf ? LEAF_KIND[level] : compactChild ? 'pde64k' : 'pde';
  let patIndex = (lo & XE_PPGTT_PTE_PAT0 ? 1 : 0) | (lo & XE_PPGTT_PTE_PAT1 ? 2 : 0);
  if (leaf) {
    patIndex |= (lo & (level > 0 ? XE_PPGTT_PDE_PDPE_PAT2 : XE_PPGTT_PTE_PAT2) ? 4 : 0) |
      (hi & XELPG_PPGTT_PTE_PAT3_HI ? 8 : 0) | (hi & XE2_PPGTT_PTE_PAT4_HI ? 16 : 0);
    patIndex &= (1 << geo.ptePatBits) - 1;
  }
  const loMask = compactTable ? COMPACT_LO_MASK : leaf ? LEAF_LO_MASK[level] : LEAF_LO_MASK[0];
  const addrHi = present ? hi & ((1 << (geo.dmaMaskSize - 32)) - 1) : 0;
  const addrLo = present ? (lo & loMask) >>> 0 : 0;
  const addr = addrHi === 0 ? addrLo : addrHi * TWO32 + addrLo;
  return {
    kind, addr, size, patIndex,
    writable: (lo & XE_PAGE_RW) !== 0,
    nul: leaf && (lo & XE_PTE_NULL) !== 0,
    dm: leaf && (lo & XE_PPGTT_PTE_DM) !== 0,
    ae: leaf && geo.hasAtomicEnablePteBit && (lo & XE_USM_PPGTT_PTE_AE) !== 0,
    ps64: leaf && level === 0 && !compactTable && (lo & XE_PTE_PS64) !== 0,
  };
}

/** One present entry met by PtMemory.forEachEntry. */
export interface PtVisit {
  level: number;
  /** Index in its table. */
  index: number;
  /** Emulated physical address of the table holding the entry. */
  tablePa: number;
  /** First GPU VA the entry covers. */
  va: number;
  /** The entry (its `size` is the VA span it covers). */
  entry: DecodedEntry;
}

/**
 * Page tables in emulated physical memory for one tile: conversions between emulated
 * physical addresses and the device addresses that entries hold, table allocation, entry
 * access and a walk over a whole tree.
 */
export class PtMemory {
  readonly mem: PhysicalMemory;
  readonly geo: PtGeometry;
  /** The region page tables live in: the tile's VRAM on a discrete device, else system memory. */
  readonly tableRegion: RegionDesc;
  /** DataView over the table region: device address = byte offset. */
  readonly tableView: DataView;
  /** System memory, and the tile's VRAM (undefined on an integrated device). */
  readonly sysmem: RegionDesc;
  readonly vram: RegionDesc | undefined;

  constructor(mem: PhysicalMemory, geo: PtGeometry, tile = 0) {
    this.mem = mem;
    this.geo = geo;
    this.sysmem = mem.regions[0];
    this.vram = mem.regions.find((r) => r.kind === 'vram' && r.instance === tile + 1);
    const region = geo.tablesInVram ? this.vram : this.sysmem;
    if (!region) throw new Error(`device has no VRAM on tile ${tile} for its page tables`);
    this.tableRegion = region;
    this.tableView = new DataView(region.sab);
  }

  /** Emulated physical address of the table at device address `addr`. */
  tablePa(addr: number): number {
    return this.tableRegion.base + addr;
  }

  /** Device address (as a PDE or the root descriptor holds it) of the table at `pa`. */
  tableAddr(pa: number): number {
    const addr = pa - this.tableRegion.base;
    if (addr < 0 || addr + PAGE_SIZE > this.tableRegion.size) throw new RangeError(`0x${pa.toString(16)} is not page-table memory`);
    return addr;
  }

  /** Whether a whole table at device address `addr` lies in table memory. */
  tableOk(addr: number): boolean {
    return addr + PAGE_SIZE <= this.tableRegion.size;
  }

  /** Emulated physical address of a leaf's device address, or -1 when nothing is there. */
  leafPa(addr: number, dm: boolean, len: number): number {
    const r = dm ? this.vram : this.sysmem;
    return r && addr + len <= r.size ? r.base + addr : -1;
  }

  /** Device address and DM bit of the page at emulated physical address `pa`. */
  pageAddr(pa: number): { addr: number; dm: boolean } {
    for (const r of [this.sysmem, this.vram]) {
      if (r && pa >= r.base && pa < r.base + r.size) return { addr: pa - r.base, dm: r.kind === 'vram' };
    }
    throw new RangeError(`0x${pa.toString(16)} is not memory of this tile`);
  }

  /**
   * A zeroed table page from `alloc` (emulated physical address), or null when the region is
   * full. The allocator must serve the table region (VRAM on a discrete device).
   */
  allocTable(alloc: PageAllocator): number | null {
    if (alloc.region !== this.tableRegion) throw new Error(`page tables of this device live in ${this.tableRegion.kind}`);
    const pages = alloc.alloc(1);
    if (!pages) return null;
    this.mem.fill0(pages[0], PAGE_SIZE);
    return pages[0];
  }

  /** Entry `i` of the table at `tablePa`. */
  readEntry(tablePa: number, i: number): PtEntry {
    const off = this.entryOffset(tablePa, i);
    return { lo: this.tableView.getUint32(off, true), hi: this.tableView.getUint32(off + 4, true) };
  }

  /** Writes entry `i` of the table at `tablePa`. */
  writeEntry(tablePa: number, i: number, e: PtEntry): void {
    const off = this.entryOffset(tablePa, i);
    this.tableView.setUint32(off, e.lo, true);
    this.tableView.setUint32(off + 4, e.hi, true);
  }

  private entryOffset(tablePa: number, i: number): number {
    if (!(i >= 0 && i < PT_ENTRIES && Number.isInteger(i))) throw new RangeError(`entry index ${i}`);
    return this.tableAddr(tablePa) + i * PT_ENTRY_BYTES;
  }

  /**
   * Visits every present entry of the tree under the root table at `rootPa`, depth first in
   * VA order; `visit` returning false skips that entry's child table. Children outside table
   * memory are not descended into (the visitor still sees their PDE).
   */
  forEachEntry(rootPa: number, visit: (v: PtVisit) => boolean | void): void {
    this.visitTable(rootPa, this.geo.rootLevel, 0, false, visit);
  }

  private visitTable(tablePa: number, level: number, vaBase: number, compact: boolean, visit: (v: PtVisit) => boolean | void): void {
    const n = compact ? COMPACT_ENTRIES : PT_ENTRIES;
    for (let index = 0; index < n; index++) {
      const { lo, hi } = this.readEntry(tablePa, index);
      if (!(lo & XE_PAGE_PRESENT)) continue;
      const entry = decodeEntry(this.geo, lo, hi, level, compact);
      const va = vaBase + index * entry.size;
      const descend = visit({ level, index, tablePa, va, entry }) !== false;
      if (descend && (entry.kind === 'pde' || entry.kind === 'pde64k') && this.tableOk(entry.addr)) {
        this.visitTable(this.tablePa(entry.addr), level - 1, va, entry.kind === 'pde64k', visit);
      }
    }
  }
}
