/**
 * Sleeping in the kernel: a blocking call parks a Wait, and the wait queue's flag tells the
 * syscall loop that something a parked call may be waiting for has happened (a fence
 * signalled, a user fence was written).
 */

/** A blocking call parked in the kernel until its condition holds or its deadline passes. */
export interface Wait {
  /** Re-checks the condition: the final result (0 / -errno), or null to keep waiting. */
  poll(): number | null;
  /** Absolute CLOCK_MONOTONIC deadline in ns, or null to wait without limit. */
  deadline: bigint | null;
  /** The result when the deadline passes. */
  expire(): number;
  /** Releases what the wait holds when it is abandoned (its process exited). */
  cancel?(): void;
}

/** How a call that may block ended: now, or parked with a continuation that gives the final result. */
export type CallResult = { done: true; rc: number } | { done: false; wait: Wait; finish: (rc: number) => number };

/** The wake-up flag of parked calls (one per kernel: every wait re-checks on any wake-up). */
export class WaitQueue {
  private woken = false;

  /** Notes that something waiters may be waiting for happened (wake_up_all). */
  wake(): void {
    this.woken = true;
  }

  /** Whether a wake-up is pending. */
  pending(): boolean {
    return this.woken;
  }

  /** Returns and clears the wake-up flag. */
  take(): boolean {
    const w = this.woken;
    this.woken = false;
    return w;
  }
}

const hostClock = (): bigint => process.hrtime.bigint();
let clock = hostClock;

/** CLOCK_MONOTONIC in nanoseconds (ktime_get_ns). */
export function monotonicNs(): bigint {
  return clock();
}

/**
 * Replaces the kernel's clock (null restores the host's). A seam for an in-process harness
 * (src/fuzz) that advances time itself, so deadlines and timestamps are reproducible.
 */
export function setMonotonicClock(fn: (() => bigint) | null): void {
  clock = fn ?? hostClock;
}
