/**
 * Open files and descriptor tables. A KFile is what an fd points at (the kernel's struct
 * file): a DRM device file, an exported syncobj, a sync_file, an eventfd or a dma-buf. Files
 * are reference counted; the last close releases what they own.
 */
import { EINVAL } from '../../uapi/errno.js';
import { Errno } from './errno.js';

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

  /** Frees what the file owns. */
  protected abstract release(): void;
}

/** An eventfd: a 64-bit counter, as used by DRM_IOCTL_SYNCOBJ_EVENTFD. */
export class EventFd extends KFile {
  readonly kind = 'eventfd';
  count: bigint;

  constructor(initval: bigint) {
    super();
    this.count = initval;
  }

  /** eventfd_signal: adds `n` to the counter. */
  signal(n = 1n): void {
    this.count += n;
  }

  /** read(): returns and clears the counter; -EAGAIN semantics are the caller's (non-blocking here). */
  take(): bigint {
    const v = this.count;
    this.count = 0n;
    return v;
  }

  protected release(): void {}
}

/** Throws -EINVAL unless `f` is a file of class `cls`. */
export function fileAs<T extends KFile>(f: KFile | undefined, cls: abstract new (...a: never[]) => T, errno = EINVAL): T {
  if (!(f instanceof cls)) throw new Errno(errno);
  return f;
}
