/**
 * DRM core ioctls that are not about a particular object: VERSION, GET_CAP and
 * SET_CLIENT_CAP (drm_ioctl.c), as the xe driver without display answers them. VERSION
 * reports the identity of the device's driver (drm_driver name / desc / date).
 */
import { EINVAL, EOPNOTSUPP } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import type { DrmDevice } from './drm_device.js';
import type { IoctlCtx as DrmIoctlCtx, IoctlDef, IoctlFile } from './drm_ioctl.js';

/** What the core ioctls see of a file: its device. */
interface CoreFile extends IoctlFile {
  readonly dev: DrmDevice;
}

type IoctlCtx = DrmIoctlCtx<CoreFile>;

/** drm_copy_field: copy min(len, user len) bytes without NUL, then report the full length. */
function copyField(c: IoctlCtx, field: 'name' | 'date' | 'desc', value: string): void {
  const bytes = new TextEncoder().encode(value);
  const lenKey = `${field}_len`;
  const n = Math.min(bytes.length, Number(c.args[lenKey] as bigint));
  c.args[lenKey] = BigInt(bytes.length);
  const ptr = c.args[field] as bigint;
  if (n && ptr) c.um.copyToUser(ptr, bytes.subarray(0, n));
}

/** drm_version: the driver's version numbers and strings. */
function version(c: IoctlCtx): number {
  const drv = c.dev.driver!;
  c.args.version_major = drv.major;
  c.args.version_minor = drv.minor;
  c.args.version_patchlevel = drv.patchlevel;
  copyField(c, 'name', drv.name);
  copyField(c, 'date', drv.date);
  copyField(c, 'desc', drv.desc);
  return 0;
}

/** Caps a render-only (no modesetting) driver answers; everything else is -EOPNOTSUPP. */
const CAPS = new Map<bigint, bigint>([
  [BigInt(C('DRM_CAP_TIMESTAMP_MONOTONIC')), 1n],
  [BigInt(C('DRM_CAP_PRIME')), BigInt(C('DRM_PRIME_CAP_IMPORT') | C('DRM_PRIME_CAP_EXPORT'))],
  [BigInt(C('DRM_CAP_SYNCOBJ')), 1n],
  [BigInt(C('DRM_CAP_SYNCOBJ_TIMELINE')), 1n],
]);

function getCap(c: IoctlCtx): number {
  c.args.value = 0n;
  const v = CAPS.get(c.args.capability as bigint);
  if (v === undefined) return -EOPNOTSUPP;
  c.args.value = v;
  return 0;
}

/** Client caps that need modesetting are refused; the two plain ones take 0 or 1. */
function setClientCap(c: IoctlCtx): number {
  const cap = c.args.capability as bigint;
  const value = c.args.value as bigint;
  if (cap === BigInt(C('DRM_CLIENT_CAP_STEREO_3D')) || cap === BigInt(C('DRM_CLIENT_CAP_UNIVERSAL_PLANES'))) {
    return value > 1n ? -EINVAL : 0;
  }
  return cap === BigInt(C('DRM_CLIENT_CAP_ATOMIC')) || cap === BigInt(C('DRM_CLIENT_CAP_WRITEBACK_CONNECTORS'))
    ? -EOPNOTSUPP
    : -EINVAL;
}

/** DRM core ioctls served here. */
export const DRM_CORE_IOCTLS: IoctlDef<CoreFile>[] = [
  { name: 'DRM_IOCTL_VERSION', handler: version },
  { name: 'DRM_IOCTL_GET_CAP', handler: getCap },
  { name: 'DRM_IOCTL_SET_CLIENT_CAP', handler: setClientCap, renderAllow: false },
];
