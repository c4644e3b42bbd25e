/**
 * Emulated physical memory: a system-memory pool and optional VRAM regions, each one
 * SharedArrayBuffer so that every thread (user threads, the kernel worker, later the GPU
 * engines) sees the same bytes. Physical addresses are plain numbers: system memory starts
 * at 0, VRAM region i at (i + 1) TiB, so a page frame number always fits 30 bits.
 */

/** CPU and GPU base page size. */
export const PAGE_SIZE = 4096;
/** log2(PAGE_SIZE). */
export const PAGE_SHIFT = 12;
/** Copies up to this many bytes go byte by byte (cheaper than a subarray view). */
const SMALL_COPY = 64;
/** Physical address span reserved for each region. */
export const REGION_SPAN = 2 ** 40;

/** What kind of memory a region is. */
export type RegionKind = 'sysmem' | 'vram';

/** Description of one physical region, transferable to other threads. */
export interface RegionDesc {
  kind: RegionKind;
  /** 0 for system memory, 1.. for VRAM (the memory-region instance of the uAPI). */
  instance: number;
  /** Physical address of the first byte. */
  base: number;
  size: number;
  sab: SharedArrayBuffer;
}

/** Creates the region descriptions for a system pool and VRAM sizes (one per tile). */
export function createRegions(sysmemSize: number, vramSizes: number[]): RegionDesc[] {
  const mk = (kind: RegionKind, instance: number, size: number): RegionDesc => ({
    kind, instance, base: instance * REGION_SPAN, size, sab: new SharedArrayBuffer(size),
  });
  return [mk('sysmem', 0, sysmemSize), ...vramSizes.map((s, i) => mk('vram', i + 1, s))];
}

/** Byte access to physical memory, usable from any thread that holds the region SABs. */
export class PhysicalMemory {
  readonly regions: RegionDesc[];
  private readonly bytes: Uint8Array[];

  constructor(regions: RegionDesc[]) {
    this.regions = regions;
    this.bytes = regions.map((r) => new Uint8Array(r.sab));
  }


  /** Copies `len` bytes at `pa` into `out` at `at` (small copies avoid creating views). */
  copyOut(pa: number, out: Uint8Array, at: number, len: number): void {
    const idx = Math.floor(pa / REGION_SPAN);
    const off = pa - idx * REGION_SPAN;
    const mem = this.checked(idx, off, len);
    if (len <= SMALL_COPY) for (let i = 0; i < len; i++) out[at + i] = mem[off + i];
    else out.set(mem.subarray(off, off + len), at);
  }

  /** Copies `len` bytes of `data` from `at` to physical address `pa`. */
  copyIn(pa: number, data: Uint8Array, at: number, len: number): void {
    const idx = Math.floor(pa / REGION_SPAN);
    const off = pa - idx * REGION_SPAN;
    const mem = this.checked(idx, off, len);
    if (len <= SMALL_COPY) for (let i = 0; i < len; i++) mem[off + i] = data[at + i];
    else mem.set(data.subarray(at, at + len), off);
  }

  /** A live view of `len` bytes at `pa`; the range must lie inside one region. */
  view(pa: number, len: number): Uint8Array {
    const idx = Math.floor(pa / REGION_SPAN);
    const off = pa - idx * REGION_SPAN;
    return this.checked(idx, off, len).subarray(off, off + len);
  }

  /** The bytes of region `idx` after checking that [off, off+len) lies inside it. */
  private checked(idx: number, off: number, len: number): Uint8Array {
    const mem = this.bytes[idx];
    if (!mem || off + len > mem.length) {
      throw new RangeError(`physical range 0x${(idx * REGION_SPAN + off).toString(16)}+${len} is not memory`);
    }
    return mem;
  }

  /** Zero-fills `len` bytes at `pa`. */
  fill0(pa: number, len: number): void {
    this.view(pa, len).fill(0);
  }
}

/**
 * Page-frame allocator of one region (kernel side only). Deterministic: always hands out the
 * lowest free run, so the same program gets the same physical pages run after run.
 */
export class PageAllocator {
  readonly region: RegionDesc;
  readonly pages: number;
  private readonly used: Uint8Array;
  private inUse = 0;
  /** Lowest page index that may be free (a search hint). */
  private hint = 0;

  constructor(region: RegionDesc) {
    this.region = region;
    this.pages = Math.floor(region.size / PAGE_SIZE);
    this.used = new Uint8Array(this.pages);
  }

  /** Pages currently allocated. */
  get usedPages(): number {
    return this.inUse;
  }

  /**
   * Allocates `count` pages in naturally aligned contiguous chunks of `chunk` pages (1 for
   * 4K pages, 16 for 64K pages). Returns physical addresses of each page, or null when the
   * region cannot satisfy the request (nothing is allocated then).
   */
  alloc(count: number, chunk = 1): number[] | null {
    if (count % chunk !== 0 || this.pages - this.inUse < count) return null;
    const starts: number[] = [];
    let i = Math.floor(this.hint / chunk) * chunk;
    while (starts.length * chunk < count && i + chunk <= this.pages) {
      if (this.runFree(i, chunk)) {
        starts.push(i);
        this.used.fill(1, i, i + chunk);
      }
      i += chunk;
    }
    if (starts.length * chunk < count) {
      for (const s of starts) this.used.fill(0, s, s + chunk);
      return null;
    }
    this.inUse += count;
    const out: number[] = [];
    for (const s of starts) for (let k = 0; k < chunk; k++) out.push(this.region.base + (s + k) * PAGE_SIZE);
    if (chunk === 1) this.hint = starts[starts.length - 1] + 1;
    return out;
  }

  /** Returns pages (physical addresses) to the allocator. */
  free(addrs: number[]): void {
    for (const pa of addrs) {
      const idx = (pa - this.region.base) / PAGE_SIZE;
      if (!this.used[idx]) throw new Error(`double free of physical page 0x${pa.toString(16)}`);
      this.used[idx] = 0;
      this.hint = Math.min(this.hint, idx);
    }
    this.inUse -= addrs.length;
  }

  private runFree(start: number, n: number): boolean {
    for (let k = start; k < start + n; k++) if (this.used[k]) return false;
    return true;
  }
}
