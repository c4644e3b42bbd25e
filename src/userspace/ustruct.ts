/**
 * Struct and array arguments in user memory: the plumbing shared by the IGT-style and the
 * libdrm-style helpers. Each packs with the uAPI table into fresh user memory and frees it
 * after the call.
 */
import { decode, pack, type Fields, type FieldsIn } from '../uapi/codec.js';
import { IOCTL_LIST, layoutOf } from '../uapi/uapi.js';
import type { Process } from './process.js';

/** Result of a struct ioctl: rc (0 / -1), errno, and the struct as the kernel left it. */
export interface IoctlOutcome {
  rc: number;
  errno: number;
  out: Fields;
}

const IOCTL_STRUCT = new Map(IOCTL_LIST.map((i) => [i.name, i.layout.name]));

/** The argument struct of a table ioctl. */
export function ioctlStruct(name: string): string {
  const s = IOCTL_STRUCT.get(name);
  if (!s) throw new Error(`unknown ioctl ${name}`);
  return s;
}

/**
 * Packs `fields` as struct `sname` into fresh user memory, calls `issue` with its address
 * (an ioctl returning 0 / -1 with p.errno), and decodes the struct back.
 */
export function structCall(
  p: Process, sname: string, fields: FieldsIn, issue: (argp: bigint) => number,
): IoctlOutcome {
  const size = layoutOf(sname).size;
  const a = p.mem.alloc(size, 8);
  try {
    p.mem.write(a, pack(sname, fields));
    const rc = issue(a);
    return { rc, errno: rc < 0 ? p.errno : 0, out: decode(sname, p.mem.read(a, size)) };
  } finally {
    p.mem.free(a);
  }
}

/** Writes `values` as a u32 or u64 array into fresh user memory; the caller frees it. */
function userArray(p: Process, values: ReadonlyArray<number | bigint>, bytes: 4 | 8): bigint {
  const a = p.mem.alloc(Math.max(1, values.length) * bytes, 8);
  values.forEach((v, i) =>
    bytes === 4 ? p.mem.writeU32(a + BigInt(i * 4), Number(v)) : p.mem.writeU64(a + BigInt(i * 8), BigInt(v)),
  );
  return a;
}

/** Reads `n` u64 values from user memory. */
export function readU64s(p: Process, addr: bigint, n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => p.mem.readU64(addr + BigInt(i * 8)));
}

/** Runs `fn` with user copies of `arrays` ([values, element bytes]), freeing them afterwards. */
export function withUserArrays<T>(
  p: Process, arrays: ReadonlyArray<[ReadonlyArray<number | bigint>, 4 | 8]>, fn: (...addrs: bigint[]) => T,
): T {
  const addrs: bigint[] = [];
  try {
    for (const [values, bytes] of arrays) addrs.push(userArray(p, values, bytes));
    return fn(...addrs);
  } finally {
    for (const a of addrs) p.mem.free(a);
  }
}
