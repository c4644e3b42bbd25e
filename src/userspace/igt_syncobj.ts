/**
 * IGT's lib/igt_syncobj.c helpers. `__name` returns a negative errno on failure (and the
 * result, or 0, on success); `name` throws IgtError. Handle and point arrays are JS arrays,
 * copied into user memory for the call.
 */
import type { FieldsIn } from '../uapi/codec.js';
import { ETIME } from '../uapi/errno.js';
import { C } from '../uapi/uapi.js';
import { __ioctl, unwrap } from './igt_core.js';
import { readU64s, withUserArrays } from './ustruct.js';
import type { Process } from './process.js';

const CREATE = 'DRM_IOCTL_SYNCOBJ_CREATE';
const DESTROY = 'DRM_IOCTL_SYNCOBJ_DESTROY';
const HANDLE_TO_FD = 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD';
const FD_TO_HANDLE = 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE';
const WAIT = 'DRM_IOCTL_SYNCOBJ_WAIT';
const TIMELINE_WAIT = 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT';
const RESET = 'DRM_IOCTL_SYNCOBJ_RESET';
const SIGNAL = 'DRM_IOCTL_SYNCOBJ_SIGNAL';
const TIMELINE_SIGNAL = 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL';
const QUERY = 'DRM_IOCTL_SYNCOBJ_QUERY';
const TRANSFER = 'DRM_IOCTL_SYNCOBJ_TRANSFER';
const EVENTFD = 'DRM_IOCTL_SYNCOBJ_EVENTFD';

/** SYNCOBJ_CREATE; returns the handle or -errno. */
export function __syncobj_create(p: Process, fd: number, flags = 0): number {
  const r = __ioctl(p, fd, CREATE, { flags });
  return r.err || Number(r.out.handle);
}

/** SYNCOBJ_CREATE; returns the handle. */
export function syncobj_create(p: Process, fd: number, flags = 0): number {
  return unwrap(p, 'syncobj_create', CREATE, __syncobj_create(p, fd, flags));
}

/** SYNCOBJ_DESTROY; 0 or -errno. */
export function __syncobj_destroy(p: Process, fd: number, handle: number): number {
  return __ioctl(p, fd, DESTROY, { handle }).err;
}

/** SYNCOBJ_DESTROY. */
export function syncobj_destroy(p: Process, fd: number, handle: number): void {
  unwrap(p, 'syncobj_destroy', DESTROY, __syncobj_destroy(p, fd, handle));
}

/** SYNCOBJ_HANDLE_TO_FD with drm_syncobj_handle `args` (fd defaults to -1); the new fd or -errno. */
export function __syncobj_handle_to_fd(p: Process, fd: number, args: FieldsIn): number {
  const r = __ioctl(p, fd, HANDLE_TO_FD, { fd: -1, ...args });
  return r.err || Number(r.out.fd);
}

/**
 * SYNCOBJ_HANDLE_TO_FD; the syncobj fd, or with DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE
 * a sync_file fd of its fence.
 */
export function syncobj_handle_to_fd(p: Process, fd: number, handle: number, flags = 0): number {
  return unwrap(p, 'syncobj_handle_to_fd', HANDLE_TO_FD, __syncobj_handle_to_fd(p, fd, { handle, flags }));
}

/** SYNCOBJ_FD_TO_HANDLE with drm_syncobj_handle `args`; the handle (0 for a sync_file import) or -errno. */
export function __syncobj_fd_to_handle(p: Process, fd: number, args: FieldsIn): number {
  const r = __ioctl(p, fd, FD_TO_HANDLE, args);
  const imported = Number(args.flags ?? 0) & C('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE');
  return r.err || (imported ? 0 : Number(r.out.handle));
}

/** SYNCOBJ_FD_TO_HANDLE of a syncobj fd; the new handle. */
export function syncobj_fd_to_handle(p: Process, fd: number, syncobjFd: number, flags = 0): number {
  return unwrap(p, 'syncobj_fd_to_handle', FD_TO_HANDLE, __syncobj_fd_to_handle(p, fd, { fd: syncobjFd, flags }));
}

/** Replaces the fence of syncobj `handle` by that of sync_file fd `syncFile`. */
export function syncobj_import_sync_file(p: Process, fd: number, handle: number, syncFile: number): void {
  const flags = C('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE');
  unwrap(p, 'syncobj_import_sync_file', FD_TO_HANDLE, __syncobj_fd_to_handle(p, fd, { handle, fd: syncFile, flags }));
}

/** SYNCOBJ_WAIT with an absolute timeout; returns first_signaled, or -errno. */
export function __syncobj_wait(p: Process, fd: number, handles: number[], absTimeoutNs: bigint, flags = 0): number {
  return withUserArrays(p, [[handles, 4]], (h) => {
    const r = __ioctl(p, fd, WAIT, { handles: h, count_handles: handles.length, timeout_nsec: absTimeoutNs, flags });
    return r.err || Number(r.out.first_signaled);
  });
}

/** SYNCOBJ_WAIT; 0 or -errno. */
export function syncobj_wait_err(p: Process, fd: number, handles: number[], absTimeoutNs: bigint, flags = 0): number {
  return Math.min(0, __syncobj_wait(p, fd, handles, absTimeoutNs, flags));
}

/** SYNCOBJ_WAIT; true when the wait succeeded, false on ETIME; throws on other errors. */
export function syncobj_wait(p: Process, fd: number, handles: number[], absTimeoutNs: bigint, flags = 0): boolean {
  const r = __syncobj_wait(p, fd, handles, absTimeoutNs, flags);
  if (r === -ETIME) return false;
  unwrap(p, 'syncobj_wait', WAIT, r);
  return true;
}

/** SYNCOBJ_TIMELINE_WAIT with an absolute timeout; returns first_signaled, or -errno. */
export function __syncobj_timeline_wait(
  p: Process, fd: number, handles: number[], points: bigint[], absTimeoutNs: bigint, flags = 0,
): number {
  return withUserArrays(p, [[handles, 4], [points, 8]], (h, pts) => {
    const r = __ioctl(p, fd, TIMELINE_WAIT, {
      handles: h, points: pts, count_handles: handles.length, timeout_nsec: absTimeoutNs, flags,
    });
    return r.err || Number(r.out.first_signaled);
  });
}

/** SYNCOBJ_TIMELINE_WAIT; 0 or -errno. */
export function syncobj_timeline_wait_err(
  p: Process, fd: number, handles: number[], points: bigint[], absTimeoutNs: bigint, flags = 0,
): number {
  return Math.min(0, __syncobj_timeline_wait(p, fd, handles, points, absTimeoutNs, flags));
}

/** SYNCOBJ_TIMELINE_WAIT; true when the wait succeeded, false on ETIME; throws on other errors. */
export function syncobj_timeline_wait(
  p: Process, fd: number, handles: number[], points: bigint[], absTimeoutNs: bigint, flags = 0,
): boolean {
  const r = __syncobj_timeline_wait(p, fd, handles, points, absTimeoutNs, flags);
  if (r === -ETIME) return false;
  unwrap(p, 'syncobj_timeline_wait', TIMELINE_WAIT, r);
  return true;
}

function arrayCall(p: Process, fd: number, name: string, handles: number[]): number {
  return withUserArrays(p, [[handles, 4]], (h) => __ioctl(p, fd, name, { handles: h, count_handles: handles.length }).err);
}

/** SYNCOBJ_RESET; 0 or -errno. */
export function __syncobj_reset(p: Process, fd: number, handles: number[]): number {
  return arrayCall(p, fd, RESET, handles);
}

/** SYNCOBJ_RESET. */
export function syncobj_reset(p: Process, fd: number, handles: number[]): void {
  unwrap(p, 'syncobj_reset', RESET, __syncobj_reset(p, fd, handles));
}

/** SYNCOBJ_SIGNAL; 0 or -errno. */
export function __syncobj_signal(p: Process, fd: number, handles: number[]): number {
  return arrayCall(p, fd, SIGNAL, handles);
}

/** SYNCOBJ_SIGNAL. */
export function syncobj_signal(p: Process, fd: number, handles: number[]): void {
  unwrap(p, 'syncobj_signal', SIGNAL, __syncobj_signal(p, fd, handles));
}

function timelineCall(p: Process, fd: number, name: string, handles: number[], points: bigint[], flags: number) {
  return withUserArrays(p, [[handles, 4], [points, 8]], (h, pts) => {
    const r = __ioctl(p, fd, name, { handles: h, points: pts, count_handles: handles.length, flags });
    return { err: r.err, points: readU64s(p, pts, handles.length) };
  });
}

/** SYNCOBJ_TIMELINE_SIGNAL; 0 or -errno. */
export function __syncobj_timeline_signal(p: Process, fd: number, handles: number[], points: bigint[]): number {
  return timelineCall(p, fd, TIMELINE_SIGNAL, handles, points, 0).err;
}

/** SYNCOBJ_TIMELINE_SIGNAL. */
export function syncobj_timeline_signal(p: Process, fd: number, handles: number[], points: bigint[]): void {
  unwrap(p, 'syncobj_timeline_signal', TIMELINE_SIGNAL, __syncobj_timeline_signal(p, fd, handles, points));
}

/** SYNCOBJ_QUERY; 0 or -errno, and the points the kernel wrote. */
export function __syncobj_timeline_query(p: Process, fd: number, handles: number[], flags = 0): { err: number; points: bigint[] } {
  return timelineCall(p, fd, QUERY, handles, handles.map(() => 0n), flags);
}

/** SYNCOBJ_QUERY; the points (flags: DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED). */
export function syncobj_timeline_query(p: Process, fd: number, handles: number[], flags = 0): bigint[] {
  const r = __syncobj_timeline_query(p, fd, handles, flags);
  unwrap(p, 'syncobj_timeline_query', QUERY, r.err);
  return r.points;
}

/** SYNCOBJ_TRANSFER of src's fence at `srcPoint` to dst at `dstPoint`; 0 or -errno. */
export function __syncobj_transfer(
  p: Process, fd: number, dst: number, dstPoint: bigint, src: number, srcPoint: bigint, flags = 0,
): number {
  return __ioctl(p, fd, TRANSFER, {
    src_handle: src, dst_handle: dst, src_point: srcPoint, dst_point: dstPoint, flags,
  }).err;
}

/** Transfers binary syncobj `binary`'s fence to `point` of `timeline`. */
export function syncobj_binary_to_timeline(p: Process, fd: number, timeline: number, point: bigint, binary: number): void {
  unwrap(p, 'syncobj_binary_to_timeline', TRANSFER, __syncobj_transfer(p, fd, timeline, point, binary, 0n));
}

/** Transfers the fence at `point` of `timeline` to binary syncobj `binary`. */
export function syncobj_timeline_to_binary(
  p: Process, fd: number, binary: number, timeline: number, point: bigint, flags = 0,
): void {
  unwrap(p, 'syncobj_timeline_to_binary', TRANSFER, __syncobj_transfer(p, fd, binary, 0n, timeline, point, flags));
}

/** Transfers the fence at `srcPoint` of `src` to `dstPoint` of `dst`. */
export function syncobj_timeline_to_timeline(
  p: Process, fd: number, dst: number, dstPoint: bigint, src: number, srcPoint: bigint,
): void {
  unwrap(p, 'syncobj_timeline_to_timeline', TRANSFER, __syncobj_transfer(p, fd, dst, dstPoint, src, srcPoint));
}

/** SYNCOBJ_EVENTFD: signal eventfd `evFd` when `point` of `handle` signals; 0 or -errno. */
export function __syncobj_eventfd(p: Process, fd: number, handle: number, point: bigint, flags: number, evFd: number): number {
  return __ioctl(p, fd, EVENTFD, { handle, point, flags, fd: evFd }).err;
}

/** SYNCOBJ_EVENTFD. */
export function syncobj_eventfd(p: Process, fd: number, handle: number, point: bigint, flags: number, evFd: number): void {
  unwrap(p, 'syncobj_eventfd', EVENTFD, __syncobj_eventfd(p, fd, handle, point, flags, evFd));
}
