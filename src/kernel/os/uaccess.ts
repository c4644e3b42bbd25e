/**
 * copy_from_user / copy_to_user. Every kernel read or write of user memory goes through a
 * UserMemory, so that a recorder can wrap it (traces) and a second backend (another OS
 * process's memory, for the C shim) can implement it.
 */
import { PageFault, type AddressSpace } from '../../hw/cpu_mmu.js';
import { PAGE_SIZE } from '../../hw/memory.js';
import { EFAULT } from '../../uapi/errno.js';
import { Errno } from './errno.js';

/** The kernel's view of one process's user memory. Faults throw Errno(EFAULT). */
export interface UserMemory {
  /** Copies `len` bytes from user memory into `into` (from its start) or a new array; returns it. */
  copyFromUser(addr: bigint, len: number, into?: Uint8Array): Uint8Array;
  /** Copies the first `len` (default: all) bytes of `data` to user memory. */
  copyToUser(addr: bigint, data: Uint8Array, len?: number): void;
  /**
   * get_user_pages / hmm_range_fault: the physical address of each of the `count` pages from
   * page-aligned `addr`, as the CPU page table maps them now; a page not mapped (for a write
   * when `write`) throws Errno(EFAULT). Optional: a backend without local pages lacks it.
   */
  getUserPages?(addr: bigint, count: number, write: boolean): number[];
}

/** UserMemory over a process address space in this device's emulated memory. */
export class LocalUserMemory implements UserMemory {
  constructor(
    private readonly as: AddressSpace,
    /** Told of the pages getUserPages hands to a driver (Mm.share: marked under a trace). */
    private readonly pinned?: (addr: bigint, count: number) => void,
  ) {}

  copyFromUser(addr: bigint, len: number, into?: Uint8Array): Uint8Array {
    const out = into ?? new Uint8Array(len);
    try {
      this.as.readInto(addr, out, len);
    } catch (e) {
      throw efault(e, 'copy_from_user', addr, len);
    }
    return out;
  }

  copyToUser(addr: bigint, data: Uint8Array, len = data.length): void {
    try {
      this.as.write(addr, data, len);
    } catch (e) {
      throw efault(e, 'copy_to_user', addr, len);
    }
  }

  getUserPages(addr: bigint, count: number, write: boolean): number[] {
    const pages: number[] = [];
    for (let k = 0; k < count; k++) {
      const va = addr + BigInt(k * PAGE_SIZE);
      const pa = this.as.pt.translate(va, write);
      if (pa < 0) throw new Errno(EFAULT, 'user page %x: not mapped%s', va, write ? ' for writing' : '');
      pages.push(pa);
    }
    this.pinned?.(addr, count);
    return pages;
  }
}

/** A page fault becomes -EFAULT; anything else is a kernel bug and passes through. */
function efault(e: unknown, op: string, addr: bigint, len: number): unknown {
  return e instanceof PageFault ? new Errno(EFAULT, '%s: %s', `${op}(0x${addr.toString(16)}, ${len})`, e.message) : e;
}

/** Reads a little-endian u64 from user memory. */
export function getUserU64(um: UserMemory, addr: bigint): bigint {
  const b = um.copyFromUser(addr, 8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

/** Writes a little-endian u64 to user memory. */
export function putUserU64(um: UserMemory, addr: bigint, v: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  um.copyToUser(addr, b);
}

/** Reads an array of `count` little-endian u32 from user memory. */
export function getUserU32Array(um: UserMemory, addr: bigint, count: number): number[] {
  const b = um.copyFromUser(addr, count * 4);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: count }, (_, i) => dv.getUint32(i * 4, true));
}

/** Reads an array of `count` little-endian u64 from user memory. */
export function getUserU64Array(um: UserMemory, addr: bigint, count: number): bigint[] {
  const b = um.copyFromUser(addr, count * 8);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: count }, (_, i) => dv.getBigUint64(i * 8, true));
}
