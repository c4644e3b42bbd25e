/** eventfd: a file holding a 64-bit counter, as used by DRM_IOCTL_SYNCOBJ_EVENTFD. */
import { KFile } from './file.js';

/** An eventfd. */
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
