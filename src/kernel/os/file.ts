/**
 * Open files. A KFile is what an fd points at (the kernel's struct file): a DRM device file,
 * an exported syncobj, a sync_file, an eventfd or a dma-buf. Files are reference counted;
 * the last close releases what they own. The file operations (ioctl, mmap) are methods the
 * file's class implements; the syscall layer calls them without knowing the class.
 */
import { EBADF, EINVAL, ENOTTY } from '../../uapi/errno.js';
import { Errno, fail } from './errno.js';
import type { IdTable } from './idr.js';
import type { Mm } from './mm.js';
import type { UserMemory } from './uaccess.js';
import type { CallResult } from './wait.js';

/**
 * The calling process as file operations see it (`current` in the kernel): its user memory,
 * capabilities and fd table. Process implements it.
 */
export interface Task {
  readonly pid: number;
  /** User memory (copy_from_user / copy_to_user). */
  readonly um: UserMemory;
  /** The same memory, never recorded in a trace: for writes that are GPU effects (a user fence at job completion). */
  readonly rawUm: UserMemory;
  /** The address space (current->mm): what a fault-mode VM mirrors and userptr VMAs follow. */
  readonly mm: Mm;
  /** The fd table. */
  readonly fds: IdTable<KFile>;
  /** Whether the process holds capability `cap` (Linux CAP_* number). */
  capable(cap: number): boolean;
  /** The file behind `fd`, or -EBADF. */
  file(fd: number): KFile;
  /** Installs a file at the lowest free fd; a full table drops the file's reference and is -EMFILE. */
  installFd(f: KFile): number;
  /**
   * get_unused_fd_flags, then the file `create` makes (it may throw Errno), then fd_install:
   * a full fd table is -EMFILE before `create` runs.
   */
  installNewFd(create: () => KFile): number;
}

/** Base of every open file. */
export abstract class KFile {
  private refs = 1;
  /** Short kind name, for diagnostics. */
  abstract readonly kind: string;

  /** Takes a reference (a new fd or an in-flight user). */
  get(): this {
    this.refs++;
    return this;
  }

  /** Drops a reference; the last one releases the file. */
  put(): void {
    if (--this.refs === 0) this.release();
  }

  /** unlocked_ioctl: a file without the op is -ENOTTY (not a typewriter). */
  ioctl(_task: Task, _request: number, _argp: bigint): CallResult {
    return { done: true, rc: fail(ENOTTY, 'not a DRM device (%s file)', this.kind) };
  }

  /** FMODE_WRITE: the file was opened for writing; a shared writable mmap needs it. */
  get writable(): boolean {
    return true;
  }

  /**
   * mmap of `length` bytes at file offset `offset` into `mm`, writable or read-only; returns
   * the address. A file without the op is -EBADF (the emulator's answer for "not a mappable fd").
   */
  mmap(_mm: Mm, _offset: bigint, _length: number, _writable: boolean): bigint {
    throw new Errno(EBADF, 'mmap of a %s file: not mappable', this.kind);
  }

  /** Frees what the file owns. */
  protected abstract release(): void;
}

/** Throws -EINVAL (or `errno`) unless `f` is a file of class `cls`; `what` names it in the reason. */
export function fileAs<T extends KFile>(f: KFile | undefined, cls: abstract new (...a: never[]) => T, what: string, errno = EINVAL): T {
  if (!(f instanceof cls)) throw new Errno(errno, '%s: %s file, wanted %s', what, f?.kind ?? 'no', cls.name);
  return f;
}
