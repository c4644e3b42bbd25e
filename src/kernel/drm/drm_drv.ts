/**
 * Registering a DRM device (drm_drv.c: drm_dev_register): binds the driver, builds the
 * ioctl table from the core's drm_ioctls[] and the driver's ioctls, makes the DRM node
 * openable through the OS's character devices, and registers DRM core's emulator controls.
 */
import { DEBUG } from '../../uapi/channel.js';
import { EBADF } from '../../uapi/errno.js';
import { fileAs } from '../os/file.js';
import { DRM_MAJOR, DRM_MINOR_RENDER, type Kernel } from '../os/kernel.js';
import { DRM_CORE_IOCTLS } from './drm_core_ioctls.js';
import type { DrmDevice, DrmDriver } from './drm_device.js';
import { DrmFile } from './drm_file.js';
import { DRM_GEM_IOCTLS } from './drm_gem.js';
import { IoctlTable, type DrmNode, type IoctlDef } from './drm_ioctl.js';
import { DRM_PRIME_IOCTLS } from './drm_prime.js';
import { debugFenceAttach, debugFenceSignal, DRM_SYNCOBJ_IOCTLS } from './drm_syncobj.js';

/** The core's ioctls (drm_ioctls[] as served here). */
const DRM_IOCTLS: readonly IoctlDef[] = [...DRM_CORE_IOCTLS, ...DRM_GEM_IOCTLS, ...DRM_PRIME_IOCTLS, ...DRM_SYNCOBJ_IOCTLS];

/** Opens a new file of the driver on a node (drm_open + the driver's per-file state). */
export type DrmFileOpen = (node: DrmNode) => DrmFile;

/**
 * drm_dev_register: binds `driver` to `dev`, builds their ioctl table, registers the DRM
 * node with `kernel` (open of a primary minor or a render minor calls `open`), and the
 * FENCE_ATTACH / FENCE_SIGNAL controls on the device's fences.
 */
export function drmDevRegister(kernel: Kernel, dev: DrmDevice, driver: DrmDriver, open: DrmFileOpen): void {
  dev.driver = driver;
  dev.ioctls = new IoctlTable([...DRM_IOCTLS, ...driver.ioctls]);
  kernel.chrdevs.register(DRM_MAJOR, (minor) => open(minor >= DRM_MINOR_RENDER ? 'render' : 'primary'));
  kernel.debugOps.register(DEBUG.FENCE_ATTACH, (p, [fd, handle, point]) =>
    debugFenceAttach(dev.fences, fileAs(p.file(Number(fd)), DrmFile, 'FENCE_ATTACH fd', EBADF).syncobjs, Number(handle), point),
  );
  kernel.debugOps.register(DEBUG.FENCE_SIGNAL, (_p, [id, errno]) => debugFenceSignal(dev.fences, id, errno));
  kernel.debugOps.register(DEBUG.CLIENT_NAME, (p, [fd, addr, len]) => {
    const name = new TextEncoder().encode(fileAs(p.file(Number(fd)), DrmFile, 'CLIENT_NAME fd', EBADF).clientName ?? '');
    const n = Math.min(name.length, Number(len));
    if (n) p.um.copyToUser(addr, name, n);
    return [BigInt(name.length)];
  });
}
