/**
 * The GPU MMU of one address space: translates a GPU VA by reading the page-table entries
 * from emulated physical memory the way the hardware walker does (root table, then one
 * entry per level down to a 4K, 64K, 2M or 1G leaf), and caches leaf translations in a TLB
 * that only explicit invalidation clears: after the kernel rewrites an entry, accesses keep
 * using the cached translation until it invalidates the range (spec vm_bind.md 5.7-5.8).
 *
 * Assumptions where no driver source settles the hardware: write permission comes from the
 * leaf (the driver sets RW on every PDE); a VA at or above 2^va_bits faults ('out-of-range');
 * an entry whose address lies outside emulated memory faults ('bad-address'); a cached
 * translation that denies an access is dropped and the walk repeated, so faults always
 * reflect the tables in memory (as x86 does); faults are not cached.
 */
import { PAGE_SIZE } from './memory.js';
import {
  COMPACT_SHIFT, MAX_HUGEPTE_LEVEL, PT_ENTRY_BYTES, XE_PAGE_PRESENT, XE_PDE_64K, XE_PDE_PS, compactIndex, decodeEntry,
  levelSize, ptIndex, type DecodedEntry, type PtMemory,
} from './pagetable.js';

/** The kind of a GPU memory access. */
export type GpuAccess = 'read' | 'write' | 'atomic';

/** Why a translation failed. */
export type GpuFaultKind = 'not-present' | 'read-only' | 'out-of-range' | 'bad-address';

/** A GPU page fault. */
export interface GpuFault {
  fault: GpuFaultKind;
  /** The faulting GPU VA. */
  va: number;
  /** Level of the entry that faulted (the root level for 'out-of-range'). */
  level: number;
  access: GpuAccess;
}

/** A leaf translation, as the TLB caches it. */
export interface Translation {
  /** First VA of the leaf. */
  va: number;
  /** Bytes the leaf maps: 4K, 64K (compact table), 2M or 1G. */
  size: number;
  /** Emulated physical address of the leaf's first byte; -1 for a NULL leaf. */
  pa: number;
  /** Level of the leaf entry (0 for 4K and compact 64K leaves). */
  level: number;
  /** The leaf in a compact level-0 table. */
  compact: boolean;
  /** The decoded leaf entry (writable, PAT index, NULL, DM, AE, PS64). */
  entry: DecodedEntry;
}

/** Whether a translate() result is a fault. */
export function isFault(r: Translation | GpuFault): r is GpuFault {
  return 'fault' in r;
}

/** Translations the TLB holds before it is flushed whole to make room. */
export const TLB_ENTRIES = 4096;

/** A GPU MMU over one page-table tree. */
export class GpuMmu {
  readonly ptm: PtMemory;
  /** Device address of the root table (what the context's page-directory pointer holds). */
  readonly rootAddr: number;
  /** Cached leaf translations by 4K virtual page number. */
  private readonly tlb = new Map<number, Translation>();
  private readonly vaLimit: number;
  /** Address bits of an entry's high half (dma_mask_size - 32 of them). */
  private readonly addrHiMask: number;
  private readonly compact64k: boolean;
  /** Walks done (TLB misses), for tests and benchmarks. */
  walks = 0;
  /** The TLB in use; off, every access walks the tables (benchmarks measure the walk with it). */
  tlbEnabled = true;

  constructor(ptm: PtMemory, rootAddr: number) {
    this.ptm = ptm;
    this.rootAddr = rootAddr;
    this.vaLimit = 2 ** ptm.geo.vaBits;
    this.addrHiMask = 2 ** (ptm.geo.dmaMaskSize - 32) - 1;
    this.compact64k = ptm.geo.compact64k;
  }

  /** Cached translations. */
  get tlbSize(): number {
    return this.tlb.size;
  }

  /** Translates `va` for `access`: from the TLB, else by walking the tables (then cached). */
  translate(va: number, access: GpuAccess = 'read'): Translation | GpuFault {
    if (!(va >= 0 && va < this.vaLimit && va % 1 === 0)) {
      return { fault: 'out-of-range', va, level: this.ptm.geo.rootLevel, access };
    }
    const vpn = Math.floor(va / PAGE_SIZE);
    const hit = this.tlb.get(vpn);
    if (hit !== undefined) {
      if (access === 'read' || hit.entry.writable) return hit;
      this.tlb.delete(vpn);
    }
    const r = this.walk(va, access);
    if (isFault(r) || !this.tlbEnabled) return r;
    if (this.tlb.size >= TLB_ENTRIES) this.tlb.clear();
    this.tlb.set(vpn, r);
    return r;
  }

  /** Drops cached translations whose leaf overlaps [start, end) (a ranged TLB invalidation). */
  invalidateRange(start: number, end: number): void {
    this.tlb.forEach((t, vpn) => {
      if (t.va < end && t.va + t.size > start) this.tlb.delete(vpn);
    });
  }

  /** Drops every cached translation (a full TLB invalidation). */
  invalidateAll(): void {
    this.tlb.clear();
  }

  /** Reads `len` bytes at `va` (NULL leaves read 0), or the fault of the first bad page. */
  gpuRead(va: number, len: number): Uint8Array | GpuFault {
    const out = new Uint8Array(len);
    return this.access(va, out, 'read') ?? out;
  }

  /**
   * Writes `data` at `va` (NULL leaves drop it); on a fault the pages before the faulting one
   * are written, as the hardware would have, and the fault is returned.
   */
  gpuWrite(va: number, data: Uint8Array): GpuFault | null {
    return this.access(va, data, 'write');
  }

  /** Copies page by page between `buf` and the memory at `va`. */
  private access(va: number, buf: Uint8Array, access: GpuAccess): GpuFault | null {
    for (let done = 0; done < buf.length;) {
      const cur = va + done;
      const t = this.translate(cur, access);
      if (isFault(t)) return t;
      const n = Math.min(buf.length - done, PAGE_SIZE - (cur % PAGE_SIZE));
      if (t.pa < 0) {
        if (access === 'read') buf.fill(0, done, done + n);
      } else if (access === 'read') {
        this.ptm.mem.copyOut(t.pa + (cur - t.va), buf, done, n);
      } else {
        this.ptm.mem.copyIn(t.pa + (cur - t.va), buf, done, n);
      }
      done += n;
    }
    return null;
  }

  /** One page walk from the root (allocation-free down to the leaf: walks are hot). */
  private walk(va: number, access: GpuAccess): Translation | GpuFault {
    this.walks++;
    const { ptm } = this;
    const dv = ptm.tableView;
    let table = this.rootAddr;
    for (let level = ptm.geo.rootLevel; ; level--) {
      if (!ptm.tableOk(table)) return { fault: 'bad-address', va, level, access };
      const off = table + ptIndex(va, level) * PT_ENTRY_BYTES;
      const lo = dv.getUint32(off, true);
      const hi = dv.getUint32(off + 4, true);
      if (!(lo & XE_PAGE_PRESENT)) return { fault: 'not-present', va, level, access };
      if (level === 0 || (level <= MAX_HUGEPTE_LEVEL && lo & XE_PDE_PS)) return this.leaf(va, access, lo, hi, level, false);
      // Address bits 32+ are rare here; keeping the common case an integer keeps the loads fast.
      const addrHi = hi & this.addrHiMask;
      table = addrHi === 0 ? (lo & ~(PAGE_SIZE - 1)) >>> 0 : addrHi * 2 ** 32 + ((lo & ~(PAGE_SIZE - 1)) >>> 0);
      if (level === 1 && this.compact64k && lo & XE_PDE_64K) return this.compactLeaf(va, access, table);
    }
  }

  /** The 64K leaf of `va` in the compact level-0 table at device address `table`. */
  private compactLeaf(va: number, access: GpuAccess, table: number): Translation | GpuFault {
    if (!this.ptm.tableOk(table)) return { fault: 'bad-address', va, level: 0, access };
    const off = table + compactIndex(va) * PT_ENTRY_BYTES;
    const lo = this.ptm.tableView.getUint32(off, true);
    if (!(lo & XE_PAGE_PRESENT)) return { fault: 'not-present', va, level: 0, access };
    return this.leaf(va, access, lo, this.ptm.tableView.getUint32(off + 4, true), 0, true);
  }

  /** The translation of a present leaf, or its permission / address fault. */
  private leaf(va: number, access: GpuAccess, lo: number, hi: number, level: number, compact: boolean): Translation | GpuFault {
    const entry = decodeEntry(this.ptm.geo, lo, hi, level, compact);
    if (access !== 'read' && !entry.writable) return { fault: 'read-only', va, level, access };
    const size = compact ? 2 ** COMPACT_SHIFT : levelSize(level);
    const start = va - (va % size);
    let pa = -1;
    if (!entry.nul) {
      // The page being accessed must be memory (the TLB holds one 4K page per translation).
      const pageOff = va - start - ((va - start) % PAGE_SIZE);
      const pagePa = this.ptm.leafPa(entry.addr + pageOff, entry.dm, PAGE_SIZE);
      if (pagePa < 0) return { fault: 'bad-address', va, level, access };
      pa = pagePa - pageOff;
    }
    return { va: start, size, pa, level, compact, entry };
  }
}
