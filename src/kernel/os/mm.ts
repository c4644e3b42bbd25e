/**
 * A process's memory map (the kernel's mm_struct): its mappings (VMAs) as sorted, disjoint
 * page intervals over the page table's window, mmap (anonymous, object, MAP_FIXED, hints),
 * munmap, and the malloc heap that backs `mem.alloc`. The malloc heap lives here rather than
 * in user space so that every thread of a process shares one allocator without locks of its
 * own (the kernel serialises calls).
 *
 * Range rules, as Linux's: an operation on a range acts on exactly the pages asked for and
 * splits the mappings it cuts (split_vma); the pieces of an object mapping share one hold on
 * the object, dropped when the last piece goes (vm_ops open/close); an anonymous page belongs
 * to exactly one mapping page and is freed when that page is unmapped.
 *
 * Mappings are indexed by their first page in an ordered map (@js-sdsl/ordered-map, a
 * red-black tree with lower/upper bounds), so finding the mapping of an address is O(log n)
 * and walking a range is O(log n + mappings in it).
 *
 * Two hooks let drivers follow the CPU side (the OS never knows who listens):
 * - MMU notifiers (`subscribe`, mmu_interval_notifier): called with each interval whose
 *   pages are about to go (munmap, MAP_FIXED over a mapping, exit) or whose PTEs are about to
 *   change under an object that moved (`ObjectMappings.refresh`), before it happens.
 * - An object's `ObjectMappings` (the i_mmap tree of its address_space): every piece of
 *   every mapping of the object in any process, so that a driver that moved the object's
 *   pages can point their PTEs at the new pages (unmap_mapping_range).
 *
 * Under a trace (`SharedPages`) the pages user code shares with the GPU are marked
 * PTE_TRACED, so that user code reports its accesses to them (trace records 16, 17): every
 * page of an object mapping (the only objects mapped are a driver's: GEM objects, dma-bufs),
 * whenever its PTE is written, and the pages a driver shares through `share` (a userptr pin,
 * a mirror fault). Nothing clears the mark but the PTE going: recording more is harmless.
 */
import { OrderedMap } from '@js-sdsl/ordered-map';
import { CpuPageTable } from '../../hw/cpu_mmu.js';
import { PAGE_SIZE, type PageAllocator, type PhysicalMemory } from '../../hw/memory.js';
import { MAP_FIXED, MAP_FIXED_NOREPLACE } from '../../uapi/channel.js';
import { EEXIST, EINVAL, ENOMEM } from '../../uapi/errno.js';
import { Errno } from './errno.js';

const PAGE = BigInt(PAGE_SIZE);
const IN_PAGE = PAGE - 1n;

/** x86-64 TASK_SIZE (4-level paging): user addresses lie below it. */
export const TASK_SIZE = (1n << 47n) - PAGE;

/** Something that owns the physical pages behind a mapping and is told when it goes away. */
export interface MappingBacking {
  /** Physical address of page `i` of the mapped object. */
  page(i: number): number;
  /** Called when the mapping is removed (its last piece, once split). */
  release(): void;
  /** The object's mapping set, when the object's pages can move (it then lists the mapping). */
  readonly mappings?: ObjectMappings;
}

/** Why an MMU notifier is called (enum mmu_notifier_event). */
export type MmuEvent =
  /** MMU_NOTIFY_UNMAP: the interval is being unmapped; its pages go. */
  | 'unmap'
  /** MMU_NOTIFY_CLEAR: the PTEs of the interval are being rewritten (the object moved). */
  | 'clear';

/** An MMU notifier: told about [start, end) (page aligned) before its CPU PTEs change. */
export type MmuNotifier = (start: bigint, end: bigint, event: MmuEvent) => void;

/** A mapping as the rest of the kernel sees it. */
export interface Vma {
  /** Page index of its first page in the window (CpuPageTable.pageIndex). */
  readonly first: number;
  /** Number of pages. */
  readonly count: number;
  /** Anonymous memory owned by the mapping, rather than an object's pages. */
  readonly anon: boolean;
  /** Mapped with PROT_WRITE (VM_WRITE). */
  readonly writable: boolean;
  /** Physical address of the mapping's page `k`. */
  page(k: number): number;
}

/** What an address space does with pages shared with the GPU under a trace (see the header). */
export interface SharedPages {
  /** Content of pages `share` marks for the first time (they may hold data written unrecorded), for the trace. */
  snapshot?(addr: bigint, bytes: Uint8Array): void;
}

/** The pieces of one object mapping share one hold on the object. */
interface Hold {
  readonly backing: MappingBacking;
  pieces: number;
}

/** One mapping (vm_area_struct). */
class Mapping implements Vma {
  constructor(
    public first: number,
    public count: number,
    /** Physical pages of an anonymous mapping; null for an object mapping. */
    private pages: number[] | null,
    private readonly hold: Hold | null,
    /** Page of the object mapped at `first`. */
    private readonly pgoff: number,
    readonly writable: boolean,
  ) {}

  /** The object's mapping set, if its pages can move. */
  get objectMappings(): ObjectMappings | undefined {
    return this.hold?.backing.mappings;
  }

  get anon(): boolean {
    return this.pages !== null;
  }

  page(k: number): number {
    return this.pages ? this.pages[k] : this.hold!.backing.page(this.pgoff + k);
  }

  /** Cuts the mapping before page index `at` (inside it); returns the upper piece. */
  splitAt(at: number): Mapping {
    const k = at - this.first;
    const upper = new Mapping(at, this.count - k, this.pages?.splice(k) ?? null, this.hold, this.pgoff + k, this.writable);
    if (this.hold) this.hold.pieces++; // vm_ops->open on the new piece
    this.count = k;
    return upper;
  }

  /** Lets go of what the mapping holds: its anonymous pages, or its piece of the hold. */
  drop(sysmem: PageAllocator): void {
    if (this.pages) sysmem.free(this.pages);
    if (this.hold && --this.hold.pieces === 0) this.hold.backing.release();
  }
}

/**
 * The CPU mappings of one object, in every address space (the i_mmap tree of the object's
 * address_space): each piece of each mapping with the Mm that holds it. Mm keeps it up to
 * date as pieces are created, split and removed.
 */
export class ObjectMappings {
  private readonly pieces = new Map<Mapping, Mm>();

  /** Number of mapping pieces. */
  get size(): number {
    return this.pieces.size;
  }

  /** @internal Mm: a piece of a mapping of the object was created. */
  add(m: Mapping, mm: Mm): void {
    this.pieces.set(m, mm);
  }

  /** @internal Mm: a piece went away. */
  delete(m: Mapping): void {
    this.pieces.delete(m);
  }

  /**
   * The object's pages moved: every mapping's PTEs are pointed at the pages the backing
   * gives now, each address space's notifiers hearing 'clear' for the piece first. Linux
   * zaps the PTEs (unmap_mapping_range) and the next CPU access faults the new pages in;
   * user space here walks the page table itself, so the PTEs are rewritten at once.
   */
  refresh(): void {
    for (const [m, mm] of this.pieces) mm.remapPiece(m);
  }
}

/** An mmap call: where (`addr`, a place with MAP_FIXED*, else a hint or 0) and how long. */
export interface MmapRequest {
  addr: bigint;
  length: bigint;
  /** MAP_FIXED, MAP_FIXED_NOREPLACE or 0. */
  flags: number;
}

/** Where the mapping being created by mmap goes, while the file's mmap operation runs. */
interface Placement {
  first: number;
  count: number;
  /** MAP_FIXED: whatever is mapped there is replaced. */
  replace: boolean;
}

/** Heap block sizes are multiples of this. */
const HEAP_QUANTUM = 16;
/** Size of each heap arena obtained by anonymous mmap. */
const ARENA_BYTES = 1 << 20;

interface Block {
  addr: bigint;
  size: number;
}

/** The memory map of one process. */
export class Mm {
  /** Mappings by first page index; disjoint. */
  private readonly vmas = new OrderedMap<number, Mapping>([], (a, b) => a - b);
  /** No page below this index is free: the search for free space starts here. */
  private lowestFree = 0;
  private placement: Placement | null = null;
  /** Free heap blocks, sorted by address. */
  private free: Block[] = [];
  /** Live heap allocations: address -> size. */
  private readonly live = new Map<bigint, number>();
  private readonly notifiers = new Set<MmuNotifier>();

  constructor(
    readonly pt: CpuPageTable,
    private readonly phys: PhysicalMemory,
    private readonly sysmem: PageAllocator,
    /** Set under a trace: shared pages are marked PTE_TRACED. */
    private readonly shared: SharedPages | null = null,
  ) {}

  /**
   * The pages of [addr, addr + count pages) (page aligned) are shared with the GPU from now
   * on (get_user_pages for a userptr, hmm_range_fault for a mirror). Under a trace, each
   * mapped page not yet PTE_TRACED has its content snapshotted (runs of such pages in one
   * piece) and is marked; otherwise nothing.
   */
  share(addr: bigint, count: number): void {
    if (!this.shared) return;
    const first = this.pt.pageIndex(addr);
    if (first < 0) return;
    const end = Math.min(first + count, this.pt.pages);
    let run = first;
    for (let i = first; i <= end; i++) {
      if (i < end && this.pt.translate(this.pt.pageAddr(i), false) >= 0 && !this.pt.isTraced(this.pt.pageAddr(i))) continue;
      if (i > run) this.markRun(run, i);
      run = i + 1;
    }
  }

  /**
   * The page holding `addr` is shared with the GPU from now on (a user fence: the kernel writes
   * it on the GPU's behalf and the CPU polls it), as share().
   */
  sharePageOf(addr: bigint): void {
    this.share(addr & ~BigInt(PAGE_SIZE - 1), 1);
  }

  /** Snapshots, then marks, the mapped untraced pages [first, end). */
  private markRun(first: number, end: number): void {
    const bytes = new Uint8Array((end - first) * PAGE_SIZE);
    for (let i = first; i < end; i++) this.phys.copyOut(this.pt.translate(this.pt.pageAddr(i), false), bytes, (i - first) * PAGE_SIZE, PAGE_SIZE);
    this.shared!.snapshot?.(this.pt.pageAddr(first), bytes);
    for (let i = first; i < end; i++) this.pt.setTraced(i);
  }

  /**
   * mmu_interval_notifier_insert over the whole address space: `fn` hears every interval
   * before its CPU PTEs change. Returns the function that removes it again.
   */
  subscribe(fn: MmuNotifier): () => void {
    this.notifiers.add(fn);
    return () => this.notifiers.delete(fn);
  }

  /** The mapping containing `addr` (vma_lookup), if any. */
  find(addr: bigint): Vma | undefined {
    const i = this.pt.pageIndex(addr);
    return i < 0 ? undefined : this.at(i);
  }

  /** The mappings overlapping [addr, addr + length), in address order. */
  overlapping(addr: bigint, length: bigint): Vma[] {
    return this.within(...this.clip(addr, length));
  }

  /**
   * Splits the mapping containing `addr` so that a mapping starts there (split_vma); nothing
   * when none contains it or one already starts there. -EINVAL unless page aligned.
   */
  split(addr: bigint): void {
    if ((addr & IN_PAGE) !== 0n) throw new Errno(EINVAL, 'split at %x: not page aligned', addr);
    const i = this.pt.pageIndex(addr);
    if (i >= 0) this.splitAt(i);
  }

  /**
   * munmap (do_vmi_munmap): removes exactly the pages of [addr, addr + length) rounded up to
   * pages, splitting the mappings it cuts; holes in the range are fine. -EINVAL for an
   * unaligned address, a zero length, or a range past TASK_SIZE.
   */
  munmap(addr: bigint, length: bigint): void {
    if ((addr & IN_PAGE) !== 0n || addr > TASK_SIZE || length > TASK_SIZE - addr || length === 0n) {
      throw new Errno(EINVAL, 'munmap(%x, %d): unaligned, empty or past TASK_SIZE', addr, length);
    }
    this.unmapPages(...this.clip(addr, length));
  }

  /**
   * do_mmap: places a new mapping of `req.length` bytes and creates it: anonymous zeroed
   * memory when `fileMmap` is null, else through the file's mmap operation `fileMmap`, which
   * fills the placed mapping by calling mmapObject. Checks in Linux's order: zero length
   * -EINVAL; over TASK_SIZE -ENOMEM; with MAP_FIXED*, a range past TASK_SIZE -ENOMEM, an
   * unaligned address -EINVAL, an overlap with MAP_FIXED_NOREPLACE -EEXIST; no room -ENOMEM.
   */
  mmap(req: MmapRequest, fileMmap: ((length: number) => bigint) | null): bigint {
    if (req.length === 0n) throw new Errno(EINVAL, 'mmap: length 0');
    if (req.length > TASK_SIZE) throw new Errno(ENOMEM, 'mmap: length %x over TASK_SIZE', req.length);
    const count = Number((req.length + IN_PAGE) / PAGE);
    const fixed = (req.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    const first = fixed ? this.fixedPlace(req.addr, count, req.flags) : this.freePlace(req.addr, count);
    if (!fileMmap) return this.mapAnon(first, count, fixed);
    this.placement = { first, count, replace: fixed };
    try {
      return fileMmap(Number(req.length));
    } finally {
      this.placement = null;
    }
  }

  /**
   * A file's mmap operation (f_op->mmap): maps `length` bytes of `backing` from its page
   * `pgoff`, writable or read-only. Inside mmap() the mapping goes where mmap placed it, replacing what is there
   * under MAP_FIXED (only now, so that a refused mmap changes nothing); called on its own,
   * at the lowest free range. The mapping takes over the caller's hold: `backing.release()`
   * runs when its last piece is unmapped.
   */
  mmapObject(backing: MappingBacking, pgoff: number, length: number, writable: boolean): bigint {
    const count = pagesFor(length);
    if (count <= 0) throw new Errno(EINVAL, 'mmap of an object: length %d', length);
    const at = this.placement ?? { first: this.freePlace(0n, count), count, replace: false };
    this.placement = null;
    if (at.count !== count) throw new Error(`mmapObject: ${count} pages where mmap placed ${at.count}`);
    return this.insert(new Mapping(at.first, count, null, { backing, pieces: 1 }, pgoff, writable), at.replace);
  }

  /** Drops every mapping (process exit). */
  teardown(): void {
    this.free = [];
    this.live.clear();
    for (const [, m] of [...this.vmas]) this.remove(m);
  }

  /** Page index range [first, end) of the window covered by [addr, addr + length). */
  private clip(addr: bigint, length: bigint): [number, number] {
    const lo = addr > this.pt.base ? addr : this.pt.base;
    const top = this.pt.base + this.pt.span;
    const hi = addr + length < top ? addr + length : top;
    if (hi <= lo) return [0, 0];
    return [Number((lo - this.pt.base) / PAGE), Number((hi - this.pt.base + IN_PAGE) / PAGE)];
  }

  /** The mapping containing page index `i`. */
  private at(i: number): Mapping | undefined {
    const it = this.vmas.reverseLowerBound(i);
    if (it.equals(this.vmas.end())) return undefined;
    const m = it.pointer[1];
    return i < m.first + m.count ? m : undefined;
  }

  /** Mappings overlapping page indexes [first, end), in order. */
  private within(first: number, end: number): Mapping[] {
    const out: Mapping[] = [];
    for (const m of this.from(first)) {
      if (m.first >= end) break;
      out.push(m);
    }
    return out;
  }

  private splitAt(i: number): void {
    const m = this.at(i);
    if (!m || m.first >= i) return;
    const upper = m.splitAt(i);
    this.vmas.setElement(i, upper);
    upper.objectMappings?.add(upper, this);
  }

  /** Tells the notifiers that the pages of `m` are about to change. */
  private notify(m: Mapping, event: MmuEvent): void {
    if (this.notifiers.size === 0) return;
    const start = this.pt.pageAddr(m.first);
    const end = this.pt.pageAddr(m.first + m.count);
    for (const fn of [...this.notifiers]) fn(start, end, event);
  }

  /** @internal ObjectMappings.refresh: points the PTEs of piece `m` at its object's current pages. */
  remapPiece(m: Mapping): void {
    this.notify(m, 'clear');
    this.mapPtes(m);
  }

  private mapPtes(m: Mapping): void {
    const traced = this.shared !== null && !m.anon;
    for (let k = 0; k < m.count; k++) this.pt.map(m.first + k, m.page(k), m.writable, traced);
  }

  private unmapPages(first: number, end: number): void {
    if (first >= end) return;
    this.splitAt(first);
    this.splitAt(end);
    for (const m of this.within(first, end)) this.remove(m);
    this.heapForget(this.pt.pageAddr(first), this.pt.pageAddr(end));
  }

  /** Removes a mapping; the notifiers hear of it while its pages are still there. */
  private remove(m: Mapping): void {
    this.notify(m, 'unmap');
    for (let k = 0; k < m.count; k++) this.pt.unmap(m.first + k);
    this.vmas.eraseElementByKey(m.first);
    this.lowestFree = Math.min(this.lowestFree, m.first);
    m.objectMappings?.delete(m);
    m.drop(this.sysmem);
  }

  private insert(m: Mapping, replace: boolean): bigint {
    if (replace) this.unmapPages(m.first, m.first + m.count);
    this.mapPtes(m);
    this.vmas.setElement(m.first, m);
    m.objectMappings?.add(m, this);
    if (m.first === this.lowestFree) this.lowestFree = m.first + m.count;
    return this.pt.pageAddr(m.first);
  }

  /** The place of a MAP_FIXED mapping; only the page table's window can be mapped. */
  private fixedPlace(addr: bigint, count: number, flags: number): number {
    if (addr > TASK_SIZE - BigInt(count) * PAGE) throw new Errno(ENOMEM, 'MAP_FIXED at %x: %d pages past TASK_SIZE', addr, count);
    if ((addr & IN_PAGE) !== 0n) throw new Errno(EINVAL, 'MAP_FIXED at %x: not page aligned', addr);
    const first = this.pt.pageIndex(addr);
    if (first < 0 || first + count > this.pt.pages) throw new Errno(ENOMEM, 'MAP_FIXED at %x: %d pages outside the mappable window', addr, count);
    if ((flags & MAP_FIXED_NOREPLACE) !== 0 && this.within(first, first + count).length) {
      throw new Errno(EEXIST, 'MAP_FIXED_NOREPLACE at %x: overlaps a mapping', addr);
    }
    return first;
  }

  /** get_unmapped_area: the hint rounded down to a page when its range is free, else the lowest free range. */
  private freePlace(hint: bigint, count: number, align = 1): number {
    const h = hint === 0n ? -1 : this.pt.pageIndex(hint & ~IN_PAGE);
    if (h >= 0 && h + count <= this.pt.pages && !this.within(h, h + count).length) return h;
    const first = this.findFree(count, align);
    if (first < 0) throw new Errno(ENOMEM, 'mmap: no free range of %d pages', count);
    return first;
  }

  /** The lowest run of `count` free pages starting at a multiple of `align` pages, or -1. */
  private findFree(count: number, align: number): number {
    let cand = alignUp(this.lowestFree, align);
    for (const m of this.from(cand)) {
      if (cand + count <= m.first) break;
      cand = Math.max(cand, alignUp(m.first + m.count, align));
    }
    return cand + count <= this.pt.pages ? cand : -1;
  }

  /** The mappings from the one containing or following page index `i` on. */
  private *from(i: number): Generator<Mapping> {
    const c = this.at(i);
    const it = c ? this.vmas.find(c.first) : this.vmas.lowerBound(i);
    for (; !it.equals(this.vmas.end()); it.next()) yield it.pointer[1];
  }

  /** Anonymous zeroed pages at page index `first`; the pages come first so that a failure changes nothing. */
  private mapAnon(first: number, count: number, replace: boolean): bigint {
    const pages = this.sysmem.alloc(count);
    if (!pages) throw new Errno(ENOMEM, 'mmap: system memory full (%d pages wanted)', count);
    for (const pa of pages) this.phys.fill0(pa, PAGE_SIZE);
    return this.insert(new Mapping(first, count, pages, null, 0, true), replace);
  }

  /** malloc: zeroed memory of `size` bytes aligned to `align` (a power of two). */
  malloc(size: number, align = HEAP_QUANTUM): bigint {
    if (size <= 0 || align <= 0 || (align & (align - 1)) !== 0) throw new Errno(EINVAL, 'malloc(%d, %d): bad size or alignment', size, align);
    const need = Math.ceil(size / HEAP_QUANTUM) * HEAP_QUANTUM;
    const a = BigInt(Math.max(align, HEAP_QUANTUM));
    let addr = this.takeFree(need, a);
    if (addr === null) {
      const count = pagesFor(Math.max(ARENA_BYTES, pagesFor(need + Number(a)) * PAGE_SIZE));
      const first = this.freePlace(0n, count, align > PAGE_SIZE ? align / PAGE_SIZE : 1);
      const base = this.mapAnon(first, count, false);
      this.release({ addr: base, size: count * PAGE_SIZE });
      addr = this.takeFree(need, a)!;
    }
    this.live.set(addr, need);
    this.zero(addr, need);
    return addr;
  }

  /** free: returns a malloc block; an address malloc did not return is -EINVAL. */
  freeBlock(addr: bigint): void {
    const size = this.live.get(addr);
    if (size === undefined) throw new Errno(EINVAL, 'free(%x): not a malloc block', addr);
    this.live.delete(addr);
    this.release({ addr, size });
  }

  /**
   * [lo, hi) was unmapped: the heap never hands it out again, and forgets the live blocks in
   * it (free of one is then -EINVAL, where glibc would fault on its chunk header).
   */
  private heapForget(lo: bigint, hi: bigint): void {
    this.free = this.free.flatMap((b) => clipBlock(b, lo, hi));
    for (const [addr, size] of this.live) if (addr < hi && addr + BigInt(size) > lo) this.live.delete(addr);
  }

  private takeFree(need: number, align: bigint): bigint | null {
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      const start = ((b.addr + align - 1n) / align) * align;
      const lead = Number(start - b.addr);
      if (lead + need > b.size) continue;
      const tail = b.size - lead - need;
      const repl: Block[] = [];
      if (lead) repl.push({ addr: b.addr, size: lead });
      if (tail) repl.push({ addr: start + BigInt(need), size: tail });
      this.free.splice(i, 1, ...repl);
      return start;
    }
    return null;
  }

  /** Puts a block on the free list, merging with its neighbours. */
  private release(blk: Block): void {
    let i = 0;
    while (i < this.free.length && this.free[i].addr < blk.addr) i++;
    this.free.splice(i, 0, { ...blk });
    const join = (j: number): void => {
      const a = this.free[j];
      const b = this.free[j + 1];
      if (a && b && a.addr + BigInt(a.size) === b.addr) {
        a.size += b.size;
        this.free.splice(j + 1, 1);
      }
    };
    join(i);
    if (i > 0) join(i - 1);
  }

  private zero(addr: bigint, len: number): void {
    let at = 0;
    while (at < len) {
      const va = addr + BigInt(at);
      const inPage = Number(va & IN_PAGE);
      const n = Math.min(len - at, PAGE_SIZE - inPage);
      this.phys.fill0(this.pt.translate(va, true) + inPage, n);
      at += n;
    }
  }
}

/** The parts of heap block `b` outside [lo, hi). */
function clipBlock(b: Block, lo: bigint, hi: bigint): Block[] {
  const end = b.addr + BigInt(b.size);
  if (end <= lo || b.addr >= hi) return [b];
  const out: Block[] = [];
  if (b.addr < lo) out.push({ addr: b.addr, size: Number(lo - b.addr) });
  if (end > hi) out.push({ addr: hi, size: Number(end - hi) });
  return out;
}

function pagesFor(length: number): number {
  return Math.ceil(length / PAGE_SIZE);
}

function alignUp(i: number, align: number): number {
  return Math.ceil(i / align) * align;
}
