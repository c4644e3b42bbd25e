/**
 * A process's user memory as its own code sees it: loads and stores through the process
 * page table (a fault throws Segfault, the analogue of SIGSEGV) and malloc/free served by
 * the kernel's memory map.
 */
import { AddressSpace, PageFault, type AccessHook } from '../hw/cpu_mmu.js';
import { CH_MSG_BYTES, SYS, TRACE_ACCESS_MAX } from '../uapi/channel.js';
import { DeviceClosed, type Channel } from './channel.js';
import { assertBigint } from './check.js';

/**
 * The access hook of user code's AddressSpace: an access to pages the kernel marked
 * PTE_TRACED (shared with the GPU under a trace) is reported with SYS.TRACE_ACCESS so that
 * the kernel records its bytes: an access of at most CH_MSG_BYTES carries them (exactly
 * those read or written, even if the GPU stores there before the kernel takes the report); a
 * longer one goes in pieces of at most TRACE_ACCESS_MAX bytes that the kernel takes from
 * memory. A device closed meanwhile has finished its trace: the access stands, unreported.
 */
export function reportAccess(chan: Channel): AccessHook {
  return (addr, bytes, write) => {
    const len = bytes.length;
    const w = write ? 1n : 0n;
    try {
      if (len <= CH_MSG_BYTES) chan.callWithMessage(SYS.TRACE_ACCESS, bytes, addr, BigInt(len), w, 1n);
      else for (let at = 0; at < len; at += TRACE_ACCESS_MAX) chan.call(SYS.TRACE_ACCESS, addr + BigInt(at), BigInt(Math.min(TRACE_ACCESS_MAX, len - at)), w);
    } catch (e) {
      if (!(e instanceof DeviceClosed)) throw e;
    }
  };
}

/** A user-space access to an unmapped (or read-only) address. */
export class Segfault extends Error {
  override readonly name = 'Segfault';
  constructor(readonly addr: bigint) {
    super(`segmentation fault at 0x${addr.toString(16)}`);
  }
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PageFault) throw new Segfault(e.addr);
    throw e;
  }
}

/** User memory of one process, used from one thread. */
export class UserMem {
  constructor(
    private readonly as: AddressSpace,
    private readonly chan: Channel,
  ) {}

  /**
   * malloc: a bigint address of `size` zeroed bytes, aligned to `align` (default 16).
   * Unlike C's malloc(0), a size of 0 (or a negative or fractional size) throws a
   * RangeError: in a JS program it is always a bug, and a pointer to no bytes would only
   * hide it.
   */
  alloc(size: number, align = 0): bigint {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`mem.alloc: size must be a positive integer, got ${size}`);
    const r = this.chan.call(SYS.MALLOC, BigInt(size), BigInt(align));
    if (r.result < 0) throw new RangeError(`alloc(${size}, ${align}) failed: errno ${r.errno}: ${this.chan.reason()}`);
    return BigInt.asUintN(64, r.rets[0]);
  }

  /** free: returns memory from alloc. */
  free(addr: bigint): void {
    assertBigint('mem.free addr', addr);
    const r = this.chan.call(SYS.FREE, addr);
    if (r.result < 0) throw new RangeError(`free(0x${addr.toString(16)}): not an allocated block`);
  }

  /** Copies `n` bytes out of user memory. */
  read(addr: bigint, n: number): Uint8Array {
    assertBigint('mem.read addr', addr);
    return guard(() => this.as.read(addr, n));
  }

  /** Copies bytes into user memory. */
  write(addr: bigint, bytes: Uint8Array): void {
    assertBigint('mem.write addr', addr);
    guard(() => this.as.write(addr, bytes));
  }

  /** Little-endian u32 load. */
  readU32(addr: bigint): number {
    const b = this.read(addr, 4);
    return new DataView(b.buffer).getUint32(0, true);
  }

  /** Little-endian u32 store. */
  writeU32(addr: bigint, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.write(addr, b);
  }

  /** Little-endian u64 load. */
  readU64(addr: bigint): bigint {
    assertBigint('mem.readU64 addr', addr);
    return guard(() => this.as.readU64(addr));
  }

  /** Little-endian u64 store. */
  writeU64(addr: bigint, v: bigint): void {
    assertBigint('mem.writeU64 addr', addr);
    assertBigint('mem.writeU64 value', v);
    guard(() => this.as.writeU64(addr, v));
  }
}
