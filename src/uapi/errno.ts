/** Linux x86-64 errno values used by the DRM / Xe uAPI (what user space sees in errno). */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const E2BIG = 7;
export const ENOEXEC = 8;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EMFILE = 24;
export const ENOTTY = 25;
export const ENOSPC = 28;
export const ENODATA = 61;
export const ETIME = 62;
export const ENOBUFS = 105;
export const EOPNOTSUPP = 95;
export const ETIMEDOUT = 110;
export const ECANCELED = 125;

/** errno value -> symbolic name, for messages and the decoder. */
export const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  [EPERM, 'EPERM'], [ENOENT, 'ENOENT'], [EINTR, 'EINTR'], [EIO, 'EIO'], [E2BIG, 'E2BIG'],
  [ENOEXEC, 'ENOEXEC'], [EBADF, 'EBADF'], [EAGAIN, 'EAGAIN'], [ENOMEM, 'ENOMEM'],
  [EACCES, 'EACCES'], [EFAULT, 'EFAULT'], [EBUSY, 'EBUSY'], [EEXIST, 'EEXIST'], [ENODEV, 'ENODEV'],
  [EINVAL, 'EINVAL'], [EMFILE, 'EMFILE'], [ENOTTY, 'ENOTTY'], [ENOSPC, 'ENOSPC'], [ENODATA, 'ENODATA'],
  [ETIME, 'ETIME'], [ENOBUFS, 'ENOBUFS'], [EOPNOTSUPP, 'EOPNOTSUPP'], [ETIMEDOUT, 'ETIMEDOUT'],
  [ECANCELED, 'ECANCELED'],
]);
