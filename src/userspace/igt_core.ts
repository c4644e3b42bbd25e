/**
 * The base of the IGT-style helpers: issue a table ioctl on a struct packed into fresh user
 * memory and decode it back, and the `__name` (returns -errno) and `name` (throws IgtError)
 * conventions.
 */
import type { Fields, FieldsIn } from '../uapi/codec.js';
import { errnoName } from '../uapi/errno.js';
import { IOCTL } from '../uapi/uapi.js';
import type { Process } from './process.js';
import { ioctlStruct, structCall, type IoctlOutcome } from './ustruct.js';

export type { IoctlOutcome } from './ustruct.js';

/**
 * Packs `fields` as table struct of ioctl `name` into fresh user memory, issues the ioctl,
 * and decodes the struct back. The memory is freed afterwards.
 */
export function doIoctl(p: Process, fd: number, name: string, fields: FieldsIn = {}, structName?: string): IoctlOutcome {
  return structCall(p, structName ?? ioctlStruct(name), fields, (a) => p.ioctl(fd, IOCTL(name), a));
}

/** Like doIoctl, but returns 0 / -errno and the output struct (the `__` convention). */
export function __ioctl(p: Process, fd: number, name: string, fields: FieldsIn = {}): { err: number; out: Fields } {
  const r = doIoctl(p, fd, name, fields);
  return { err: r.rc < 0 ? -r.errno : 0, out: r.out };
}

/** Like doIoctl, but throws IgtError on failure and returns the output struct. */
export function ioctlOk(p: Process, fd: number, name: string, fields: FieldsIn = {}): Fields {
  const r = doIoctl(p, fd, name, fields);
  if (r.rc < 0) throw new IgtError(name, r.errno, name, reasonOf(p, r.errno));
  return r.out;
}

/**
 * An IGT-style helper's call failed; the message names the helper, the ioctl, the errno and
 * the kernel's reason: "xe_vm_destroy: DRM_IOCTL_XE_VM_DESTROY failed: ENOENT (2):
 * drm_xe_vm_destroy.vm_id 9: no such VM".
 */
export class IgtError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly ioctl: string,
    /** The kernel's reason ('' when unknown). */
    readonly reason = '',
  ) {
    super(`${call}: ${ioctl} failed: ${errnoName(errno) ?? 'errno'} (${errno})${reason ? `: ${reason}` : ''}`);
  }
}

/** The reason of `p`'s last failure when it was for `errno` (a helper's last call), else ''. */
export function reasonOf(p: Process, errno: number): string {
  return p.lastError?.errno === errno ? p.lastError.reason : '';
}

/** The throwing form of a `__` result: returns `r` unless it is a negative errno. */
export function unwrap(p: Process, call: string, ioctl: string, r: number): number {
  if (r < 0) throw new IgtError(call, -r, ioctl, reasonOf(p, -r));
  return r;
}
