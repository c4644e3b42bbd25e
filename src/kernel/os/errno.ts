/**
 * Kernel error plumbing: handlers may return -errno or throw an Errno from deep inside a
 * helper (a uaccess fault, a failed lookup); dispatch turns both into the ioctl result.
 *
 * Every failure carries a reason (what the kernel's XE_IOCTL_DBG / drm_dbg lines say, made
 * precise): a printf-style format and up to three values, formatted only when the check
 * fails, so a passing check builds no string. `%d` prints a value in decimal, `%x` as 0x
 * hex, `%s` as is. A format that starts with '.' names a field of the ioctl's argument
 * struct: dispatch puts the struct's name in front (".flags" -> "drm_xe_gem_create.flags").
 * The latest reason is held here (the kernel serves one call at a time) until the syscall
 * layer reads it for a failed call; see `takeReason`.
 */

/** A value a reason prints. */
export type ReasonArg = number | bigint | string | boolean;

/** The latest recorded failure: its errno and its formatted reason. */
const last = { errno: 0, text: '' };

/** Formats a reason: %d decimal, %x 0x-hex, %s as is (each takes the next value). */
function formatReason(fmt: string, a?: ReasonArg, b?: ReasonArg, c?: ReasonArg): string {
  const vals = [a, b, c];
  let i = 0;
  return fmt.replace(/%([dxs])/g, (_m, k: string) => {
    const v = vals[i++];
    if (k === 'x' && (typeof v === 'number' || typeof v === 'bigint')) {
      return (v < 0 ? '-0x' : '0x') + (v < 0 ? -v : v).toString(16);
    }
    return String(v);
  });
}

/** Records a failure with errno `errno` and its reason (the cold path of every check). */
function record(errno: number, fmt: string, a?: ReasonArg, b?: ReasonArg, c?: ReasonArg): string {
  last.errno = errno;
  last.text = formatReason(fmt, a, b, c);
  return last.text;
}

/** A negative-errno result travelling as an exception; constructing it records its reason. */
export class Errno extends Error {
  /** The formatted reason. */
  readonly reason: string;
  constructor(
    readonly errno: number,
    fmt: string,
    a?: ReasonArg,
    b?: ReasonArg,
    c?: ReasonArg,
  ) {
    const reason = record(errno, fmt, a, b, c);
    super(reason);
    this.reason = reason;
  }
}

/** Records the reason of a failure and returns -errno: `return fail(EINVAL, '.pad %d', pad)`. */
export function fail(errno: number, fmt: string, a?: ReasonArg, b?: ReasonArg, c?: ReasonArg): number {
  record(errno, fmt, a, b, c);
  return -errno;
}

/** Whether a must-be-zero value (a number, bigint, or an array of them: pad[], reserved[]) is set. */
export function nonZero(v: unknown): boolean {
  return Array.isArray(v) ? v.some(nonZero) : v !== 0 && v !== 0n;
}

/**
 * Throws Errno(errno) with the reason when `cond` holds; reads like the driver's
 * XE_IOCTL_DBG checks: `check((flags & ~VALID) !== 0, EINVAL, '.flags: unknown bits %x', flags & ~VALID)`.
 */
export function check(cond: boolean, errno: number, fmt: string, a?: ReasonArg, b?: ReasonArg, c?: ReasonArg): void {
  if (cond) throw new Errno(errno, fmt, a, b, c);
}

/** Forgets the recorded reason (the syscall layer, before each call). */
export function clearReason(): void {
  last.errno = 0;
}

/**
 * Puts `struct` in front of a recorded reason about one of its fields ('.flags' ->
 * 'drm_xe_gem_create.flags'); dispatch calls it on the failure path only.
 */
export function reasonStruct(errno: number, struct: string): void {
  if (last.errno === errno && last.text.startsWith('.')) last.text = struct + last.text;
}

/**
 * The reason of a failed call's errno (positive): the recorded one when it is for that
 * errno, else a note that none was recorded. Clears the record.
 */
export function takeReason(errno: number): string {
  const text = last.errno === errno ? last.text : 'no reason recorded';
  last.errno = 0;
  return text;
}
