/**
 * DRM_IOCTL_XE_WAIT_USER_FENCE (xe_wait_user_fence.c; shared/spec/sync_exec.md 6, checked
 * against the newest upstream file).
 *
 * Time is kept the way the kernel keeps it, in jiffies, with HZ = 250 (one tick = 4 ms, the
 * common distribution setting):
 * - timeout < 0: wait forever; the struct's timeout becomes LONG_MAX first.
 * - timeout == 0: poll once.
 * - timeout > 0, relative: nsecs_to_jiffies (truncating), at least 1 tick.
 * - timeout > 0, ABSTIME: drm_timeout_abs_to_jiffies (remaining ns truncated to ticks, plus
 *   one; a deadline already past gives 0, raised to 1 tick).
 * The wait then ends `ticks * 4 ms` after it started (schedule_timeout without the
 * partial first tick), so a positive timeout always sleeps at least one tick and a relative
 * timeout may end up to one tick before the nanosecond value.
 *
 * The loop (6.3) runs once in the handler; if it has to sleep, the handler returns a Wait
 * whose poll() is the loop body after a wake-up (dev.wake(): every user-fence write, queue
 * ban, ...) and whose expire() is the loop body after the sleep timed out. The timeout is
 * written back (6.4) before every return; dispatch copies the struct back afterwards.
 */
import { EFAULT, EINVAL, EIO, ENOENT, ETIME } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import type { IoctlDef } from '../drm/drm_ioctl.js';
import { check, Errno, fail, nonZero } from '../os/errno.js';
import { getUserU64 } from '../os/uaccess.js';
import type { Wait } from '../os/wait.js';
import type { ExecQueue } from './xe_exec_queue.js';
import type { IoctlCtx, XeFile } from './xe_file.js';

const OP_EQ = C('DRM_XE_UFENCE_WAIT_OP_EQ');
const OP_NEQ = C('DRM_XE_UFENCE_WAIT_OP_NEQ');
const OP_GT = C('DRM_XE_UFENCE_WAIT_OP_GT');
const OP_GTE = C('DRM_XE_UFENCE_WAIT_OP_GTE');
const OP_LT = C('DRM_XE_UFENCE_WAIT_OP_LT');
const OP_LTE = C('DRM_XE_UFENCE_WAIT_OP_LTE');
/** MAX_OP of the driver. */
const MAX_OP = OP_LTE;
const FLAG_ABSTIME = C('DRM_XE_UFENCE_WAIT_FLAG_ABSTIME');
/** VALID_FLAGS of the driver. */
const VALID_FLAGS = FLAG_ABSTIME;

/** The kernel tick rate modelled (CONFIG_HZ). */
export const HZ = 250n;
/** Nanoseconds per jiffy. */
export const TICK_NS = 1_000_000_000n / HZ;
/** LONG_MAX = MAX_SCHEDULE_TIMEOUT. */
const LONG_MAX = (1n << 63n) - 1n;

/** do_compare: 0 when `(mem & mask) OP (value & mask)` holds, 1 when not; throws EFAULT on a fault. */
function compare(c: IoctlCtx, addr: bigint, value: bigint, mask: bigint, op: number): 0 | 1 {
  const m = getUserU64(c.um, addr) & mask;
  const v = value & mask;
  let passed: boolean;
  switch (op) {
    case OP_EQ: passed = m === v; break;
    case OP_NEQ: passed = m !== v; break;
    case OP_GT: passed = m > v; break;
    case OP_GTE: passed = m >= v; break;
    case OP_LT: passed = m < v; break;
    case OP_LTE: passed = m <= v; break;
    default: throw new Errno(EINVAL, '.op %d: unknown', op);
  }
  return passed ? 0 : 1;
}

/** to_jiffies_timeout: ticks to wait (null = forever); sets timeout to LONG_MAX when negative. */
function toJiffies(c: IoctlCtx, now: bigint): bigint | null {
  const a = c.args;
  const timeout = a.timeout as bigint;
  if (timeout < 0n) {
    a.timeout = LONG_MAX;
    return null;
  }
  if (timeout === 0n) return 0n;
  let t: bigint;
  if ((a.flags as number) & FLAG_ABSTIME) {
    // drm_timeout_abs_to_jiffies
    t = timeout <= now ? 0n : (timeout - now) / TICK_NS + 1n;
  } else {
    t = timeout / TICK_NS;
  }
  if (t > LONG_MAX) t = LONG_MAX - 1n;
  return t === 0n ? 1n : t;
}

/** DRM_IOCTL_XE_WAIT_USER_FENCE. */
function waitUserFence(c: IoctlCtx): number | Wait {
  const a = c.args;
  check(
    a.extensions !== 0n || a.pad !== 0 || a.pad2 !== 0 || nonZero(a.reserved),
    EINVAL,
    '.extensions/.pad/.pad2/.reserved: must be 0',
  );
  check(((a.flags as number) & ~VALID_FLAGS) !== 0, EINVAL, '.flags %x: unknown bits', a.flags as number);
  check((a.op as number) > MAX_OP, EINVAL, '.op %d: unknown', a.op as number);
  const addr = a.addr as bigint;
  check((addr & 7n) !== 0n, EINVAL, '.addr %x: not 8-byte aligned', addr);
  let q: ExecQueue | undefined;
  if (a.exec_queue_id !== 0) {
    q = c.file.execQueues.get(a.exec_queue_id as number);
    check(!q, ENOENT, '.exec_queue_id %d: no such exec queue', a.exec_queue_id as number);
    q!.get();
  }
  // The fence is memory the GPU (or the kernel on its behalf) writes and the CPU polls.
  c.proc.mm.sharePageOf(addr);
  const value = a.value as bigint;
  const mask = a.mask as bigint;
  const op = a.op as number;
  const abstime = ((a.flags as number) & FLAG_ABSTIME) !== 0;

  const start = c.dev.now();
  const ticks = toJiffies(c, start);

  /** Leaves the loop: timeout write-back, queue reference dropped. */
  const finish = (err: number): number => {
    if (!abstime) {
      const left = (a.timeout as bigint) - (c.dev.now() - start);
      a.timeout = left < 0n ? 0n : left;
    }
    q?.put();
    return err;
  };
  const cmp = (): number => {
    try {
      return compare(c, addr, value, mask, op);
    } catch (e) {
      if (e instanceof Errno && e.errno === EFAULT) return fail(EFAULT, '.addr: %s', e.reason);
      throw e;
    }
  };
  /** Loop steps 1-4 (a signal is never pending here): a result, or null to go on. */
  const steps = (): number | null => {
    const err = cmp();
    if (err <= 0) return err;
    if (q?.resetStatus()) return fail(EIO, '.exec_queue_id %d: the queue was reset', a.exec_queue_id as number);
    return null;
  };
  /** Step 5 with no time left: one more look (LNL_FLUSH_WORKQUEUE), then -ETIME. */
  const timedOut = (): number => {
    const err = cmp();
    return err <= 0 ? err : fail(ETIME, 'timed out: the value at .addr did not pass the compare');
  };

  const first = steps();
  if (first !== null) return finish(first);
  if (ticks === 0n) return finish(timedOut());
  return {
    poll: () => {
      const r = steps();
      return r === null ? null : finish(r);
    },
    deadline: ticks === null ? null : start + ticks * TICK_NS,
    expire: () => finish(steps() ?? timedOut()),
    // The caller's process is gone: only the queue reference is left to drop.
    cancel: () => q?.put(),
  };
}

/** User-fence ioctls. */
export const UFENCE_IOCTLS: IoctlDef<XeFile>[] = [{ name: 'DRM_IOCTL_XE_WAIT_USER_FENCE', handler: waitUserFence }];
