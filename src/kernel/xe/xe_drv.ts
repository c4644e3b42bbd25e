/**
 * The xe driver as DRM core sees it (xe_device.c: xe_ioctls[] and the drm_driver struct),
 * and its registration: binds the driver to a device, makes the DRM node open xe files, and
 * registers the driver's emulator controls.
 */
import { drmDevRegister } from '../drm/drm_drv.js';
import type { DrmDriver } from '../drm/drm_device.js';
import type { IoctlDef } from '../drm/drm_ioctl.js';
import type { Kernel } from '../os/kernel.js';
import { BO_IOCTLS } from './xe_bo.js';
import { registerXeDebugOps } from './xe_debug.js';
import type { XeDevice } from './xe_device.js';
import { xeGemPrimeExport, xeGemPrimeImport } from './xe_dma_buf.js';
import { EXEC_IOCTLS } from './xe_exec.js';
import { EXEC_QUEUE_IOCTLS } from './xe_exec_queue.js';
import { XeFile } from './xe_file.js';
import { QUERY_IOCTLS } from './xe_query.js';
import { xeSched } from './xe_sched.js';
import { VM_IOCTLS } from './xe_vm.js';
import { MADVISE_IOCTLS } from './xe_vm_madvise.js';
import { VM_BIND_IOCTLS } from './xe_vm_bind.js';
import { UFENCE_IOCTLS } from './xe_wait_user_fence.js';

/** xe_ioctls[]: every driver ioctl served (all DRM_RENDER_ALLOW). */
const XE_IOCTLS: readonly IoctlDef[] = [...QUERY_IOCTLS, ...BO_IOCTLS, ...VM_IOCTLS, ...VM_BIND_IOCTLS, ...MADVISE_IOCTLS, ...EXEC_QUEUE_IOCTLS, ...EXEC_IOCTLS, ...UFENCE_IOCTLS];

/** The driver (struct drm_driver of xe_device.c); identity from xe_drv.h, newer kernels report the date as "0". */
export const XE_DRIVER: DrmDriver = {
  name: 'xe',
  desc: 'Intel Xe2 Graphics',
  date: '0',
  major: 1,
  minor: 1,
  patchlevel: 0,
  ioctls: XE_IOCTLS,
  gemPrimeExport: xeGemPrimeExport,
  gemPrimeImport: xeGemPrimeImport,
};

/** Registers device `dev` with `kernel`: DRM node, ioctls, engines, emulator controls. */
export function xeRegister(kernel: Kernel, dev: XeDevice): void {
  drmDevRegister(kernel, dev, XE_DRIVER, (node) => new XeFile(dev, node));
  kernel.addBackground(xeSched(dev));
  registerXeDebugOps(kernel.debugOps, dev);
}
