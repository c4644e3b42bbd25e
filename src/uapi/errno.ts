/** Linux x86-64 errno values used by the DRM / Xe uAPI (what user space sees in errno). */
const TABLE = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  ENOSPC: 28,
  ENODATA: 61,
  ETIME: 62,
  ENOLINK: 67,
  ENOBUFS: 105,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
  ECANCELED: 125,
} as const;

/** The name of an errno of ERRNO, e.g. 'EINVAL'. */
export type ErrnoName = keyof typeof TABLE;

/** Errno values by name (the reverse of errnoName): `ERRNO.EINVAL === 22`. */
export const ERRNO: Readonly<Record<ErrnoName, number>> = TABLE;

/** Each errno as a constant of its own, as the C headers define them. */
export const {
  EPERM, ENOENT, ESRCH, EINTR, EIO, E2BIG, ENOEXEC, EBADF, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, ENODEV, EINVAL, EMFILE, ENOTTY, ENOSPC, ENODATA, ETIME, ENOLINK, ENOBUFS, EOPNOTSUPP, ETIMEDOUT, ECANCELED,
} = ERRNO;

const NAMES = new Map<number, ErrnoName>(Object.entries(ERRNO).map(([k, v]) => [v, k as ErrnoName]));

/**
 * The name of errno `n` (`errnoName(22) === 'EINVAL'`); a negative kernel return value
 * (-EINVAL) names the same errno. Undefined for a number ERRNO does not list.
 */
export function errnoName(n: number): ErrnoName | undefined {
  return NAMES.get(Math.abs(n));
}
