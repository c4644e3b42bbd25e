/**
 * Argument checks at the user-space API boundary: plain JavaScript callers (or a stray
 * `as any`) get a TypeError naming the parameter instead of a confusing failure deeper down.
 */

/** Throws a TypeError unless `value` is a bigint, as every user address and 64-bit offset is. */
export function assertBigint(param: string, value: unknown): asserts value is bigint {
  if (typeof value !== 'bigint') {
    throw new TypeError(`${param} must be a bigint (a user address or 64-bit value), got ${typeof value} ${String(value)}`);
  }
}
