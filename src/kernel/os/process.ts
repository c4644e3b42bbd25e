/**
 * A user process as the kernel sees it: its page table and memory map, its fd table, its
 * capabilities and the channel slots of its threads.
 */
import { AddressSpace, CpuPageTable } from '../../hw/cpu_mmu.js';
import type { PageAllocator, PhysicalMemory } from '../../hw/memory.js';
import { CAP, RLIMIT } from '../../uapi/channel.js';
import { EBADF, EINVAL, EMFILE, EPERM } from '../../uapi/errno.js';
import { Errno } from './errno.js';
import type { KFile, Task } from './file.js';
import { IdTable } from './idr.js';
import { Mm, type SharedPages } from './mm.js';
import { LocalUserMemory, type UserMemory } from './uaccess.js';

/** Lowest fd number handed out (0-2 are stdio in a real process). */
const FIRST_FD = 3;

/** fs.nr_open (sysctl default): the largest RLIMIT_NOFILE. */
const NR_OPEN = 1 << 20;

/** A resource limit (struct rlimit). */
export interface Rlimit {
  cur: number;
  max: number;
}

/** A process. */
export class Process implements Task {
  readonly pt: CpuPageTable;
  readonly as: AddressSpace;
  readonly um: UserMemory;
  /**
   * The same memory, never recorded: for writes that are GPU effects (a user fence written
   * when its job completes), which are no copy of the call being served.
   */
  readonly rawUm: UserMemory;
  readonly mm: Mm;
  readonly fds = new IdTable<KFile>(FIRST_FD, 1 << 20);
  readonly slots = new Set<number>();
  /** RLIMIT_NOFILE: fds are below `cur` (the usual defaults: 1024 soft, 4096 hard). */
  readonly nofile: Rlimit = { cur: 1024, max: 4096 };
  /** fds reserved by get_unused_fd_flags and not yet installed. */
  private readonly reserved = new Set<number>();

  constructor(
    readonly pid: number,
    ptSab: SharedArrayBuffer,
    phys: PhysicalMemory,
    sysmem: PageAllocator,
    readonly caps: ReadonlySet<number>,
    wrapUm: (um: UserMemory) => UserMemory = (um) => um,
    shared: SharedPages | null = null,
  ) {
    this.pt = new CpuPageTable(ptSab);
    this.as = new AddressSpace(this.pt, phys);
    this.mm = new Mm(this.pt, phys, sysmem, shared);
    this.rawUm = new LocalUserMemory(this.as, (addr, count) => this.mm.share(addr, count));
    // A recording kernel wraps the process's user memory (os/trace.ts).
    this.um = wrapUm(this.rawUm);
  }

  /** Whether the process holds capability `cap` (Linux CAP_* number). */
  capable(cap: number): boolean {
    return this.caps.has(cap);
  }

  /** The file behind `fd`, or -EBADF. */
  file(fd: number): KFile {
    const f = this.fds.get(fd);
    if (!f) throw new Errno(EBADF, 'fd %d: not open', fd);
    return f;
  }

  /** Installs a file at the lowest free fd; a full table drops the file's reference and is -EMFILE. */
  installFd(f: KFile): number {
    try {
      return this.installNewFd(() => f);
    } catch (e) {
      f.put();
      throw e;
    }
  }

  /** Reserves the lowest free fd (-EMFILE), then installs the file `create` makes; its failure frees the fd. */
  installNewFd(create: () => KFile): number {
    const fd = this.reserveFd();
    try {
      this.fds.set(fd, create());
    } finally {
      this.reserved.delete(fd);
    }
    return fd;
  }

  /** get_unused_fd_flags: the lowest fd below RLIMIT_NOFILE neither open nor reserved, or -EMFILE. */
  private reserveFd(): number {
    for (let fd = FIRST_FD; fd < this.nofile.cur; fd++) {
      if (!this.fds.get(fd) && !this.reserved.has(fd)) {
        this.reserved.add(fd);
        return fd;
      }
    }
    throw new Errno(EMFILE, 'no free fd below RLIMIT_NOFILE (%d)', this.nofile.cur);
  }

  /**
   * setrlimit(resource, {cur, max}) as do_prlimit checks it: only RLIMIT_NOFILE is modelled
   * (-EINVAL otherwise); cur > max -> -EINVAL; max above fs.nr_open, or raising max without
   * CAP_SYS_RESOURCE -> -EPERM. Open fds at or above the new limit stay open.
   */
  setrlimit(resource: number, cur: number, max: number): void {
    if (resource !== RLIMIT.NOFILE || cur > max) throw new Errno(EINVAL, 'setrlimit(%d, %d, %d): only RLIMIT_NOFILE, cur <= max', resource, cur, max);
    if (max > NR_OPEN || (max > this.nofile.max && !this.capable(CAP.SYS_RESOURCE))) throw new Errno(EPERM, 'setrlimit: max %d over nr_open or raised without CAP_SYS_RESOURCE', max);
    this.nofile.cur = cur;
    this.nofile.max = max;
  }

  /** close(fd). */
  closeFd(fd: number): void {
    const f = this.fds.remove(fd);
    if (!f) throw new Errno(EBADF, 'close: fd %d not open', fd);
    f.put();
  }

  /** Process exit: closes every fd and unmaps everything. */
  exit(): void {
    for (const [fd] of this.fds.entries()) this.closeFd(fd);
    this.mm.teardown();
  }
}
