/**
 * Kernel error plumbing: handlers may return -errno or throw an Errno from deep inside a
 * helper (a uaccess fault, a failed lookup); dispatch turns both into the ioctl result.
 */

/** A negative-errno result travelling as an exception. */
export class Errno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

/** Whether a must-be-zero value (a number, bigint, or an array of them: pad[], reserved[]) is set. */
export function nonZero(v: unknown): boolean {
  return Array.isArray(v) ? v.some(nonZero) : v !== 0 && v !== 0n;
}

/** Throws Errno(errno) when `cond` holds; reads like the driver's XE_IOCTL_DBG checks. */
export function check(cond: boolean, errno: number): void {
  if (cond) throw new Errno(errno);
}
