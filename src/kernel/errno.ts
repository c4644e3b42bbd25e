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

/** Throws Errno(errno) when `cond` holds; reads like the driver's XE_IOCTL_DBG checks. */
export function check(cond: boolean, errno: number): void {
  if (cond) throw new Errno(errno);
}
