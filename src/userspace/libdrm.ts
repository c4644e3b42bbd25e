/**
 * libdrm's xf86drm.c wrappers over the emulated device, with libdrm's names, arguments and
 * return conventions, so that C code ports line by line. Mapping from C:
 * - The first argument is the Process; `fd` follows as in C.
 * - C out-pointers become fields of a returned object next to `ret`; like C, they are set
 *   only on success (`{ ret: 0, handle: 5 }`, `{ ret: -1 }`).
 * - Handle and point arrays are JS arrays (copied into user memory for the call); counts
 *   are their lengths.
 * - Return values are libdrm's: drmIoctl and most wrappers return 0, or -1 with `p.errno`
 *   set (libdrm sets errno); drmSyncobjWait and drmSyncobjTimelineWait return -errno.
 *   drmGetVersion returns null on failure (errno set).
 */
import type { FieldsIn } from '../uapi/codec.js';
import { EAGAIN, EINTR } from '../uapi/errno.js';
import { C, IOCTL } from '../uapi/uapi.js';
import type { Process } from './process.js';
import { ioctlStruct, readU64s, structCall, withUserArrays } from './ustruct.js';

/** The part of a Process drmIoctl uses. */
export type IoctlTarget = Pick<Process, 'ioctl' | 'errno'>;

/** ioctl(fd, request, arg), restarted while it fails with EINTR or EAGAIN; 0, or -1 with errno. */
export function drmIoctl(p: IoctlTarget, fd: number, request: number, arg: bigint): number {
  let ret: number;
  do ret = p.ioctl(fd, request, arg);
  while (ret === -1 && (p.errno === EINTR || p.errno === EAGAIN));
  return ret;
}

/** drmIoctl on table struct `fields` of ioctl `name`: its return and the struct read back. */
function call(p: Process, fd: number, name: string, fields: FieldsIn) {
  const r = structCall(p, ioctlStruct(name), fields, (a) => drmIoctl(p, fd, IOCTL(name), a));
  return { ret: r.rc, out: r.out };
}

/** `{ ret }` plus `key: value` when the call succeeded (C writes out-pointers only then). */
function withOut<K extends string, V>(ret: number, key: K, value: () => V): { ret: number } & Partial<Record<K, V>> {
  return (ret === 0 ? { ret, [key]: value() } : { ret }) as { ret: number } & Partial<Record<K, V>>;
}

/** drmVersion: the driver's version numbers and strings. */
export interface DrmVersion {
  version_major: number;
  version_minor: number;
  version_patchlevel: number;
  name_len: number;
  name: string;
  date_len: number;
  date: string;
  desc_len: number;
  desc: string;
}

/** DRM_IOCTL_VERSION twice: for the string lengths, then into buffers of those sizes. Null on failure. */
export function drmGetVersion(p: Process, fd: number): DrmVersion | null {
  const first = call(p, fd, 'DRM_IOCTL_VERSION', {});
  if (first.ret) return null;
  const lens = { name: Number(first.out.name_len), date: Number(first.out.date_len), desc: Number(first.out.desc_len) };
  const bufs = { name: 0n, date: 0n, desc: 0n };
  try {
    for (const k of ['name', 'date', 'desc'] as const) if (lens[k]) bufs[k] = p.mem.alloc(lens[k] + 1);
    const r = call(p, fd, 'DRM_IOCTL_VERSION', {
      name_len: lens.name, name: bufs.name, date_len: lens.date, date: bufs.date, desc_len: lens.desc, desc: bufs.desc,
    });
    if (r.ret) return null;
    const str = (k: 'name' | 'date' | 'desc'): string => (lens[k] ? new TextDecoder().decode(p.mem.read(bufs[k], lens[k])) : '');
    return {
      version_major: r.out.version_major as number,
      version_minor: r.out.version_minor as number,
      version_patchlevel: r.out.version_patchlevel as number,
      name_len: lens.name, name: str('name'),
      date_len: lens.date, date: str('date'),
      desc_len: lens.desc, desc: str('desc'),
    };
  } finally {
    for (const b of Object.values(bufs)) if (b) p.mem.free(b);
  }
}

/** DRM_IOCTL_GET_CAP; `value` on success. */
export function drmGetCap(p: Process, fd: number, capability: number | bigint): { ret: number; value?: bigint } {
  const r = call(p, fd, 'DRM_IOCTL_GET_CAP', { capability: BigInt(capability) });
  return withOut(r.ret, 'value', () => r.out.value as bigint);
}

/** DRM_IOCTL_PRIME_HANDLE_TO_FD; `prime_fd` on success. */
export function drmPrimeHandleToFD(p: Process, fd: number, handle: number, flags: number): { ret: number; prime_fd?: number } {
  const r = call(p, fd, 'DRM_IOCTL_PRIME_HANDLE_TO_FD', { fd: -1, handle, flags });
  return withOut(r.ret, 'prime_fd', () => r.out.fd as number);
}

/** DRM_IOCTL_PRIME_FD_TO_HANDLE; `handle` on success. */
export function drmPrimeFDToHandle(p: Process, fd: number, primeFd: number): { ret: number; handle?: number } {
  const r = call(p, fd, 'DRM_IOCTL_PRIME_FD_TO_HANDLE', { fd: primeFd });
  return withOut(r.ret, 'handle', () => r.out.handle as number);
}

/** DRM_IOCTL_SYNCOBJ_CREATE; `handle` on success. */
export function drmSyncobjCreate(p: Process, fd: number, flags: number): { ret: number; handle?: number } {
  const r = call(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', { flags });
  return withOut(r.ret, 'handle', () => r.out.handle as number);
}

/** DRM_IOCTL_SYNCOBJ_DESTROY. */
export function drmSyncobjDestroy(p: Process, fd: number, handle: number): number {
  return call(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle }).ret;
}

/** DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD (a syncobj fd); `obj_fd` on success. */
export function drmSyncobjHandleToFD(p: Process, fd: number, handle: number): { ret: number; obj_fd?: number } {
  const r = call(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { fd: -1, handle });
  return withOut(r.ret, 'obj_fd', () => r.out.fd as number);
}

/** DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE (a syncobj fd); `handle` on success. */
export function drmSyncobjFDToHandle(p: Process, fd: number, objFd: number): { ret: number; handle?: number } {
  const r = call(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: objFd });
  return withOut(r.ret, 'handle', () => r.out.handle as number);
}

/** DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE with IMPORT_SYNC_FILE: `handle` takes the sync_file's fence. */
export function drmSyncobjImportSyncFile(p: Process, fd: number, handle: number, syncFileFd: number): number {
  const flags = C('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE');
  return call(p, fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', { fd: syncFileFd, handle, flags }).ret;
}

/** DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD with EXPORT_SYNC_FILE; `sync_file_fd` on success. */
export function drmSyncobjExportSyncFile(p: Process, fd: number, handle: number): { ret: number; sync_file_fd?: number } {
  const flags = C('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE');
  const r = call(p, fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', { fd: -1, handle, flags });
  return withOut(r.ret, 'sync_file_fd', () => r.out.fd as number);
}

/** A wait: -errno on failure (not -1), else the ioctl's return and `first_signaled`. */
function waitResult(p: Process, r: { ret: number; out: Record<string, unknown> }): { ret: number; first_signaled?: number } {
  if (r.ret < 0) return { ret: -p.errno };
  return { ret: r.ret, first_signaled: r.out.first_signaled as number };
}

/** DRM_IOCTL_SYNCOBJ_WAIT (absolute timeout); 0 and `first_signaled`, or -errno. */
export function drmSyncobjWait(
  p: Process, fd: number, handles: number[], timeoutNsec: bigint, flags: number,
): { ret: number; first_signaled?: number } {
  return withUserArrays(p, [[handles, 4]], (h) =>
    waitResult(p, call(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', {
      handles: h, timeout_nsec: timeoutNsec, count_handles: handles.length, flags,
    })),
  );
}

/** DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT (absolute timeout); 0 and `first_signaled`, or -errno. */
export function drmSyncobjTimelineWait(
  p: Process, fd: number, handles: number[], points: bigint[], timeoutNsec: bigint, flags: number,
): { ret: number; first_signaled?: number } {
  return withUserArrays(p, [[handles, 4], [points, 8]], (h, pts) =>
    waitResult(p, call(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', {
      handles: h, points: pts, timeout_nsec: timeoutNsec, count_handles: handles.length, flags,
    })),
  );
}

function arrayCall(p: Process, fd: number, name: string, handles: number[]): number {
  return withUserArrays(p, [[handles, 4]], (h) => call(p, fd, name, { handles: h, count_handles: handles.length }).ret);
}

/** DRM_IOCTL_SYNCOBJ_RESET. */
export function drmSyncobjReset(p: Process, fd: number, handles: number[]): number {
  return arrayCall(p, fd, 'DRM_IOCTL_SYNCOBJ_RESET', handles);
}

/** DRM_IOCTL_SYNCOBJ_SIGNAL. */
export function drmSyncobjSignal(p: Process, fd: number, handles: number[]): number {
  return arrayCall(p, fd, 'DRM_IOCTL_SYNCOBJ_SIGNAL', handles);
}

/** DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL of `points[i]` on `handles[i]`. */
export function drmSyncobjTimelineSignal(p: Process, fd: number, handles: number[], points: bigint[]): number {
  return withUserArrays(p, [[handles, 4], [points, 8]], (h, pts) =>
    call(p, fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', { handles: h, points: pts, count_handles: handles.length }).ret,
  );
}

/** DRM_IOCTL_SYNCOBJ_QUERY with `flags`; `points` on success. */
export function drmSyncobjQuery2(p: Process, fd: number, handles: number[], flags: number): { ret: number; points?: bigint[] } {
  return withUserArrays(p, [[handles, 4], [handles.map(() => 0n), 8]], (h, pts) => {
    const r = call(p, fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles: h, points: pts, count_handles: handles.length, flags });
    return withOut(r.ret, 'points', () => readU64s(p, pts, handles.length));
  });
}

/** DRM_IOCTL_SYNCOBJ_QUERY; `points` on success. */
export function drmSyncobjQuery(p: Process, fd: number, handles: number[]): { ret: number; points?: bigint[] } {
  return drmSyncobjQuery2(p, fd, handles, 0);
}

/** DRM_IOCTL_SYNCOBJ_TRANSFER of src's fence at `srcPoint` to dst at `dstPoint`. */
export function drmSyncobjTransfer(
  p: Process, fd: number, dstHandle: number, dstPoint: bigint, srcHandle: number, srcPoint: bigint, flags: number,
): number {
  return call(p, fd, 'DRM_IOCTL_SYNCOBJ_TRANSFER', {
    src_handle: srcHandle, dst_handle: dstHandle, src_point: srcPoint, dst_point: dstPoint, flags,
  }).ret;
}

/** DRM_IOCTL_SYNCOBJ_EVENTFD: eventfd `evFd` is signalled when `point` of `handle` is. */
export function drmSyncobjEventfd(p: Process, fd: number, handle: number, point: bigint, evFd: number, flags: number): number {
  return call(p, fd, 'DRM_IOCTL_SYNCOBJ_EVENTFD', { handle, point, fd: evFd, flags }).ret;
}
