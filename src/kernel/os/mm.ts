/**
 * A process's memory map (the kernel's mm_struct): which user pages are mapped to which
 * physical pages, anonymous mmap, BO mmap, munmap, and the malloc heap that backs
 * `mem.alloc`. The malloc heap lives here rather than in user space so that every thread of
 * a process shares one allocator without locks of its own (the kernel serialises calls).
 */
import { CpuPageTable } from '../../hw/cpu_mmu.js';
import { PAGE_SIZE, type PageAllocator, type PhysicalMemory } from '../../hw/memory.js';
import { EINVAL, ENOMEM } from '../../uapi/errno.js';
import { Errno } from './errno.js';

/** Something that owns the physical pages behind a mapping and is told when it goes away. */
export interface MappingBacking {
  /** Physical address of page `i` of the mapped object. */
  page(i: number): number;
  /** Called when the mapping is removed. */
  release(): void;
}

/** One mapping of the memory map. */
interface Mapping {
  first: number;
  count: number;
  /** Anonymous pages are owned by the mapping; a BO mapping borrows the object's pages. */
  anon: number[] | null;
  backing: MappingBacking | null;
  /** Page index of the mapping's first page within the backing object. */
  pgoff: number;
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
  private readonly mappings = new Map<number, Mapping>();
  private readonly used: Uint8Array;
  private hint = 0;
  /** Free heap blocks, sorted by address. */
  private free: Block[] = [];
  /** Live heap allocations: address -> size. */
  private readonly live = new Map<bigint, number>();

  constructor(
    readonly pt: CpuPageTable,
    private readonly phys: PhysicalMemory,
    private readonly sysmem: PageAllocator,
  ) {
    this.used = new Uint8Array(pt.pages);
  }

  /** Finds the lowest run of `count` free pages starting at a multiple of `align` pages. */
  private findVa(count: number, align: number): number {
    for (let i = Math.ceil(this.hint / align) * align; i + count <= this.used.length; i += align) {
      let k = 0;
      while (k < count && !this.used[i + k]) k++;
      if (k === count) return i;
    }
    return -1;
  }

  private insert(m: Mapping, writable: boolean): bigint {
    this.used.fill(1, m.first, m.first + m.count);
    for (let k = 0; k < m.count; k++) {
      this.pt.map(m.first + k, m.anon ? m.anon[k] : m.backing!.page(m.pgoff + k), writable);
    }
    this.mappings.set(m.first, m);
    if (m.first === this.hint) this.hint = m.first + m.count;
    return this.pt.pageAddr(m.first);
  }

  /** Anonymous zeroed memory of `length` bytes (rounded up to pages). */
  mmapAnon(length: number, alignPages = 1): bigint {
    const count = pagesFor(length);
    const first = this.findVa(count, alignPages);
    if (count === 0 || first < 0) throw new Errno(ENOMEM);
    const pages = this.sysmem.alloc(count);
    if (!pages) throw new Errno(ENOMEM);
    for (const pa of pages) this.phys.fill0(pa, PAGE_SIZE);
    return this.insert({ first, count, anon: pages, backing: null, pgoff: 0 }, true);
  }

  /** Maps `count` pages of an object, starting at its page `pgoff`. */
  mmapObject(backing: MappingBacking, pgoff: number, length: number): bigint {
    const count = pagesFor(length);
    const first = this.findVa(count, 1);
    if (count === 0 || first < 0) throw new Errno(ENOMEM);
    return this.insert({ first, count, anon: null, backing, pgoff }, true);
  }

  /** Removes every mapping overlapping [addr, addr+length); whole mappings only. */
  munmap(addr: bigint, length: number): void {
    const first = this.pt.pageIndex(addr);
    if (first < 0 || (addr & BigInt(PAGE_SIZE - 1)) !== 0n || length <= 0) throw new Errno(EINVAL);
    const end = first + pagesFor(length);
    for (const m of [...this.mappings.values()]) {
      if (m.first < end && m.first + m.count > first) this.remove(m);
    }
  }

  private remove(m: Mapping): void {
    for (let k = 0; k < m.count; k++) this.pt.unmap(m.first + k);
    this.used.fill(0, m.first, m.first + m.count);
    this.hint = Math.min(this.hint, m.first);
    this.mappings.delete(m.first);
    if (m.anon) this.sysmem.free(m.anon);
    m.backing?.release();
  }

  /** Drops every mapping (process exit). */
  teardown(): void {
    for (const m of [...this.mappings.values()]) this.remove(m);
    this.free = [];
    this.live.clear();
  }

  /** malloc: zeroed memory of `size` bytes aligned to `align` (a power of two). */
  malloc(size: number, align = HEAP_QUANTUM): bigint {
    if (size <= 0 || align <= 0 || (align & (align - 1)) !== 0) throw new Errno(EINVAL);
    const need = Math.ceil(size / HEAP_QUANTUM) * HEAP_QUANTUM;
    const a = BigInt(Math.max(align, HEAP_QUANTUM));
    let addr = this.takeFree(need, a);
    if (addr === null) {
      const arena = Math.max(ARENA_BYTES, pagesFor(need + Number(a)) * PAGE_SIZE);
      const base = this.mmapAnon(arena, align > PAGE_SIZE ? align / PAGE_SIZE : 1);
      this.release({ addr: base, size: arena });
      addr = this.takeFree(need, a)!;
    }
    this.live.set(addr, need);
    this.zero(addr, need);
    return addr;
  }

  /** free: returns a malloc block; an address malloc did not return is -EINVAL. */
  freeBlock(addr: bigint): void {
    const size = this.live.get(addr);
    if (size === undefined) throw new Errno(EINVAL);
    this.live.delete(addr);
    this.release({ addr, size });
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
      const inPage = Number(va & BigInt(PAGE_SIZE - 1));
      const n = Math.min(len - at, PAGE_SIZE - inPage);
      this.phys.fill0(this.pt.translate(va, true) + inPage, n);
      at += n;
    }
  }
}

function pagesFor(length: number): number {
  return Math.ceil(length / PAGE_SIZE);
}

