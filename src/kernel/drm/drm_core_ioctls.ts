/**
 * DRM core ioctls that are not about a particular object: VERSION, GET_CAP and
 * SET_CLIENT_CAP (drm_ioctl.c), as the xe driver without display answers them (every
 * profile is headless, see Profile.display). VERSION
 * reports the identity of the device's driver (drm_driver name / desc / date).
 */
import { EINVAL, EOPNOTSUPP } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import { fail } from '../os/errno.js';
import type { DrmDevice } from './drm_device.js';
import type { IoctlCtx as DrmIoctlCtx, IoctlDef, IoctlFile } from './drm_ioctl.js';

/** What the core ioctls see of a file: its device and client name. */
interface CoreFile extends IoctlFile {
  readonly dev: DrmDevice;
  clientName: string | null;
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
  if (v === undefined) return fail(EOPNOTSUPP, '.capability %d: not a cap this driver has', c.args.capability as bigint);
  c.args.value = v;
  return 0;
}

/**
 * drm_setclientcap: a device without DRIVER_MODESET answers every cap with -EOPNOTSUPP before
 * looking at it. The caps of a device with display are KMS state xe-emu does not emulate.
 */
function setClientCap(c: IoctlCtx): number {
  const cap = c.args.capability as bigint;
  return c.dev.modeset
    ? fail(EINVAL, '.capability %d: client caps of a display are not emulated', cap)
    : fail(EOPNOTSUPP, '.capability %d: no modesetting on this device, every client cap is refused', cap);
}

/** isascii && isgraph: '!' to '~' (drm_validate_value_string). */
function isGraph(b: number): boolean {
  return b > 0x20 && b < 0x7f;
}

/**
 * drm_set_client_name: name_len > DRM_CLIENT_NAME_MAX_LEN -> -EINVAL; 0 clears the name (the
 * pointer is not read); else the bytes are copied (-EFAULT), and a NUL, a space or a
 * non-printable byte among them is -EINVAL. The name is the file's (fdinfo drm-client-name).
 */
function setClientName(c: IoctlCtx): number {
  const len = c.args.name_len as bigint;
  if (len > BigInt(C('DRM_CLIENT_NAME_MAX_LEN'))) return fail(EINVAL, '.name_len %d: over %d', len, C('DRM_CLIENT_NAME_MAX_LEN'));
  if (len === 0n) {
    c.file.clientName = null;
    return 0;
  }
  const bytes = c.um.copyFromUser(c.args.name as bigint, Number(len));
  if (!bytes.every(isGraph)) return fail(EINVAL, '.name: byte %d is not a printable non-space ASCII character', bytes.findIndex((b) => !isGraph(b)));
  c.file.clientName = new TextDecoder().decode(bytes);
  return 0;
}

/** DRM core ioctls served here. */
export const DRM_CORE_IOCTLS: IoctlDef<CoreFile>[] = [
  { name: 'DRM_IOCTL_VERSION', handler: version },
  { name: 'DRM_IOCTL_GET_CAP', handler: getCap },
  { name: 'DRM_IOCTL_SET_CLIENT_CAP', handler: setClientCap, renderAllow: false },
  { name: 'DRM_IOCTL_SET_CLIENT_NAME', handler: setClientName },
];
