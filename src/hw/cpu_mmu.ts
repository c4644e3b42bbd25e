/**
 * The CPU MMU of an emulated process: a flat page table over the user address window,
 * kept in a SharedArrayBuffer so that the process's threads and the kernel translate the
 * same way. An entry is `TRACED | (pfn << 2) | WRITE | PRESENT`, 0 when nothing is mapped.
 */
import { PAGE_SHIFT, PAGE_SIZE, type PhysicalMemory } from './memory.js';

/** Entry bit: the page is mapped. */
export const PTE_PRESENT = 1;
/** Entry bit: the page is writable. */
export const PTE_WRITE = 2;
/**
 * Entry bit (a software bit, like x86's AVL bits): the page is shared with the GPU and the
 * device records or replays a trace, so CPU accesses to it are trace records (types 16, 17).
 */
export const PTE_TRACED = 0x8000_0000;
/** Entry bits of the page frame number, shifted left by 2. */
const PTE_PFN = 0x7fff_fffc;

/** Default start of the user address window (page aligned, typical of x86-64 mmap areas). */
export const USER_BASE = 0x7f00_0000_0000n;
/** Default size of the user address window. */
export const USER_SPAN = 4n << 30n;

/** Where an access went wrong. */
export class PageFault extends Error {
  constructor(
    readonly addr: bigint,
    readonly write: boolean,
  ) {
    super(`${write ? 'write' : 'read'} fault at 0x${addr.toString(16)}`);
  }
}

/** A process page table: translation from user virtual pages to physical pages. */
export class CpuPageTable {
  readonly sab: SharedArrayBuffer;
  readonly base: bigint;
  readonly span: bigint;
  private readonly pte: Uint32Array;
  private readonly baseNum: number;
  private readonly spanNum: number;

  /** Creates a table over [base, base + span), or attaches to an existing table's SAB. */
  constructor(sab: SharedArrayBuffer, base: bigint = USER_BASE) {
    this.sab = sab;
    this.base = base;
    this.pte = new Uint32Array(sab);
    this.span = BigInt(this.pte.length) << BigInt(PAGE_SHIFT);
    this.baseNum = Number(base);
    this.spanNum = Number(this.span);
  }

  /** A zeroed table SAB for a window of `span` bytes. */
  static allocate(span: bigint = USER_SPAN): SharedArrayBuffer {
    return new SharedArrayBuffer(Number(span >> BigInt(PAGE_SHIFT)) * 4);
  }

  /** Index of the page holding `addr`, or -1 outside the window. */
  pageIndex(addr: bigint): number {
    // Plain numbers: the window lies far below 2^53, and anything rounded above it is outside.
    const off = Number(addr) - this.baseNum;
    return off < 0 || off >= this.spanNum ? -1 : Math.floor(off / PAGE_SIZE);
  }

  /** Virtual address of page index `i`. */
  pageAddr(i: number): bigint {
    return this.base + (BigInt(i) << BigInt(PAGE_SHIFT));
  }

  /** Number of pages in the window. */
  get pages(): number {
    return this.pte.length;
  }

  /** Maps page index `i` to physical address `pa`, marked PTE_TRACED when `traced`. */
  map(i: number, pa: number, writable: boolean, traced = false): void {
    if (pa / PAGE_SIZE >= 2 ** 29) throw new RangeError(`physical address 0x${pa.toString(16)}: beyond the page table's 29-bit frame numbers`);
    Atomics.store(this.pte, i, (((pa / PAGE_SIZE) << 2) | PTE_PRESENT | (writable ? PTE_WRITE : 0) | (traced ? PTE_TRACED : 0)) >>> 0);
  }

  /** Marks the mapped page index `i` as shared with the GPU under a trace (PTE_TRACED). */
  setTraced(i: number): void {
    if (Atomics.load(this.pte, i) & PTE_PRESENT) Atomics.or(this.pte, i, PTE_TRACED);
  }

  /** Whether the page holding `addr` is mapped and marked PTE_TRACED. */
  isTraced(addr: bigint): boolean {
    const i = this.pageIndex(addr);
    return i >= 0 && (this.pte[i] & (PTE_TRACED | PTE_PRESENT)) >>> 0 === (PTE_TRACED | PTE_PRESENT) >>> 0;
  }

  /** Unmaps page index `i`. */
  unmap(i: number): void {
    Atomics.store(this.pte, i, 0);
  }

  /**
   * Physical address of `addr` when [addr, addr+len) lies in one page mapped for the access
   * and not PTE_TRACED, else -1. The hot path of every copy: plain number arithmetic only.
   */
  resolve(addr: bigint, len: number, write: boolean): number {
    const off = Number(addr) - this.baseNum;
    if (off < 0 || off >= this.spanNum) return -1;
    const inPage = off & (PAGE_SIZE - 1); // an integer below 2^53: its low bits survive ToInt32
    if (inPage + len > PAGE_SIZE) return -1;
    const e = this.pte[(off - inPage) / PAGE_SIZE];
    // One test for "mapped and not traced": a traced page takes the slow path.
    if ((e & (PTE_PRESENT | PTE_TRACED)) !== PTE_PRESENT || (write && !(e & PTE_WRITE))) return -1;
    return ((e & PTE_PFN) >>> 2) * PAGE_SIZE + inPage;
  }

  /** Physical address of the page at `addr` (page aligned down), or -1 when not mapped for the access. */
  translate(addr: bigint, write: boolean): number {
    const i = this.pageIndex(addr);
    if (i < 0) return -1;
    const e = this.pte[i];
    if (!(e & PTE_PRESENT) || (write && !(e & PTE_WRITE))) return -1;
    return ((e & PTE_PFN) >>> 2) * PAGE_SIZE;
  }
}

/**
 * Told of each access that touched a PTE_TRACED page, after it was done: `bytes` were read
 * from (`write` false) or written to `addr`. `bytes` is a view of the caller's buffer.
 */
export type AccessHook = (addr: bigint, bytes: Uint8Array, write: boolean) => void;

/** Reads and writes user virtual memory through a page table; faults throw PageFault. */
export class AddressSpace {
  constructor(
    readonly pt: CpuPageTable,
    readonly phys: PhysicalMemory,
    /** User code's view: accesses to PTE_TRACED pages are reported here (trace records 16, 17). */
    private readonly hook?: AccessHook,
  ) {}

  /**
   * The slow path: calls `fn` with each physical chunk of [addr, addr+len); throws PageFault
   * before touching anything if any page is unmapped. Returns whether a page was PTE_TRACED.
   */
  private chunks(addr: bigint, len: number, write: boolean, fn: (pa: number, at: number, n: number) => void): boolean {
    const parts: Array<[number, number, number]> = [];
    let traced = false;
    let at = 0;
    while (at < len) {
      const va = addr + BigInt(at);
      const pa = this.pt.translate(va, write);
      if (pa < 0) throw new PageFault(va, write);
      traced ||= this.pt.isTraced(va);
      const inPage = Number(va & BigInt(PAGE_SIZE - 1));
      const n = Math.min(len - at, PAGE_SIZE - inPage);
      parts.push([pa + inPage, at, n]);
      at += n;
    }
    for (const [pa, off, n] of parts) fn(pa, off, n);
    return traced;
  }

  /** Copies `len` bytes from user memory. */
  read(addr: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(addr, out);
    return out;
  }

  /** Physical address of [addr, addr+len) when it lies in one mapped page, else -1 (the slow path decides). */
  private within(addr: bigint, len: number, write: boolean): number {
    return this.pt.resolve(addr, len, write);
  }

  /** Copies `len` (default: all) bytes of user memory into the start of `out`. */
  readInto(addr: bigint, out: Uint8Array, len = out.length): void {
    const pa = this.within(addr, len, false);
    if (pa >= 0) this.phys.copyOut(pa, out, 0, len);
    else if (this.chunks(addr, len, false, (p, at, n) => this.phys.copyOut(p, out, at, n))) this.hook?.(addr, out.subarray(0, len), false);
  }

  /** Copies the first `len` (default: all) bytes of `data` into user memory. */
  write(addr: bigint, data: Uint8Array, len = data.length): void {
    const pa = this.within(addr, len, true);
    if (pa >= 0) this.phys.copyIn(pa, data, 0, len);
    else if (this.chunks(addr, len, true, (p, at, n) => this.phys.copyIn(p, data, at, n))) this.hook?.(addr, data.subarray(0, len), true);
  }

  /** Reads a little-endian u64. */
  readU64(addr: bigint): bigint {
    const b = this.read(addr, 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  /** Writes a little-endian u64. */
  writeU64(addr: bigint, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.write(addr, b);
  }
}
