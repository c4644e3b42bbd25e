/**
 * IGT-style helpers over the raw interface, named as IGT names them. A plain name throws
 * on failure (igt_assert style); the `__` variant returns the negative errno instead.
 */
import { decode, pack, type Fields, type FieldsIn } from '../uapi/codec.js';
import { IOCTL, IOCTL_LIST, layoutOf } from '../uapi/uapi.js';
import type { Process } from './process.js';

/** Result of a struct ioctl: rc (0 / -1), errno, and the struct as the kernel left it. */
export interface IoctlOutcome {
  rc: number;
  errno: number;
  out: Fields;
}

/**
 * Packs `fields` as table struct of ioctl `name` into fresh user memory, issues the ioctl,
 * and decodes the struct back. The memory is freed afterwards.
 */
export function doIoctl(p: Process, fd: number, name: string, fields: FieldsIn = {}, structName?: string): IoctlOutcome {
  const sname = structName ?? ioctlStruct(name);
  const size = layoutOf(sname).size;
  const a = p.mem.alloc(size, 8);
  try {
    p.mem.write(a, pack(sname, fields));
    const rc = p.ioctl(fd, IOCTL(name), a);
    return { rc, errno: rc < 0 ? p.errno : 0, out: decode(sname, p.mem.read(a, size)) };
  } finally {
    p.mem.free(a);
  }
}

/** Like doIoctl, but returns 0 / -errno and the output struct (the `__` convention). */
export function __ioctl(p: Process, fd: number, name: string, fields: FieldsIn = {}): { err: number; out: Fields } {
  const r = doIoctl(p, fd, name, fields);
  return { err: r.rc < 0 ? -r.errno : 0, out: r.out };
}

/** Like doIoctl, but throws on failure and returns the output struct. */
export function ioctlOk(p: Process, fd: number, name: string, fields: FieldsIn = {}): Fields {
  const r = doIoctl(p, fd, name, fields);
  if (r.rc < 0) throw new IgtError(name, r.errno);
  return r.out;
}

/** An IGT-style helper's call failed. */
export class IgtError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: errno ${errno}`);
  }
}

const IOCTL_STRUCT = new Map(IOCTL_LIST.map((i) => [i.name, i.layout.name]));

function ioctlStruct(name: string): string {
  const s = IOCTL_STRUCT.get(name);
  if (!s) throw new Error(`unknown ioctl ${name}`);
  return s;
}
