/**
 * A user process as the kernel sees it: its page table and memory map, its fd table, its
 * capabilities and the channel slots of its threads.
 */
import { AddressSpace, CpuPageTable } from '../../hw/cpu_mmu.js';
import type { PageAllocator, PhysicalMemory } from '../../hw/memory.js';
import { EBADF, EMFILE } from '../../uapi/errno.js';
import { Errno } from './errno.js';
import type { KFile, Task } from './file.js';
import { IdTable } from './idr.js';
import { Mm } from './mm.js';
import { LocalUserMemory, type UserMemory } from './uaccess.js';

/** Lowest fd number handed out (0-2 are stdio in a real process). */
const FIRST_FD = 3;

/** A process. */
export class Process implements Task {
  readonly pt: CpuPageTable;
  readonly as: AddressSpace;
  readonly um: UserMemory;
  readonly mm: Mm;
  readonly fds = new IdTable<KFile>(FIRST_FD, 1 << 20);
  readonly slots = new Set<number>();

  constructor(
    readonly pid: number,
    ptSab: SharedArrayBuffer,
    phys: PhysicalMemory,
    sysmem: PageAllocator,
    readonly caps: ReadonlySet<number>,
  ) {
    this.pt = new CpuPageTable(ptSab);
    this.as = new AddressSpace(this.pt, phys);
    this.um = new LocalUserMemory(this.as);
    this.mm = new Mm(this.pt, phys, sysmem);
  }

  /** Whether the process holds capability `cap` (Linux CAP_* number). */
  capable(cap: number): boolean {
    return this.caps.has(cap);
  }

  /** The file behind `fd`, or -EBADF. */
  file(fd: number): KFile {
    const f = this.fds.get(fd);
    if (!f) throw new Errno(EBADF);
    return f;
  }

  /** Installs a file at the lowest free fd; a full table drops the file's reference and is -EMFILE. */
  installFd(f: KFile): number {
    const fd = this.fds.alloc(f);
    if (fd < 0) {
      f.put();
      throw new Errno(EMFILE);
    }
    return fd;
  }

  /** close(fd). */
  closeFd(fd: number): void {
    const f = this.fds.remove(fd);
    if (!f) throw new Errno(EBADF);
    f.put();
  }

  /** Process exit: closes every fd and unmaps everything. */
  exit(): void {
    for (const [fd] of this.fds.entries()) this.closeFd(fd);
    this.mm.teardown();
  }
}
