/**
 * The DRM device and driver as DRM core sees them (drm_device, drm_driver). A driver's
 * device object implements DrmDevice; drmDevRegister (drm_drv.ts) binds the driver to it.
 */
import type { FenceDomain } from './dma_fence.js';
import type { GemObject } from './drm_gem.js';
import type { IoctlDef, IoctlTable } from './drm_ioctl.js';
import type { PrimeOps } from './drm_prime.js';
import type { VmaOffsetManager } from './drm_vma_manager.js';

/** A driver (struct drm_driver): identity for DRM_IOCTL_VERSION, its ioctls and hooks. */
export interface DrmDriver extends PrimeOps {
  readonly name: string;
  readonly desc: string;
  /** Newer kernels report "0". */
  readonly date: string;
  readonly major: number;
  readonly minor: number;
  readonly patchlevel: number;
  /** The driver's ioctls (drm_driver.ioctls), added to the core's. */
  readonly ioctls: readonly IoctlDef[];
}

/** A device as DRM core uses it (struct drm_device). */
export interface DrmDevice {
  /** The bound driver; null until drmDevRegister. */
  driver: DrmDriver | null;
  /** Core and driver ioctls, built by drmDevRegister; null until then. */
  ioctls: IoctlTable | null;
  /** The device's fences (ids, contexts, callbacks) and test-completed fences. */
  readonly fences: FenceDomain;
  /** The fake mmap offset space (drm_device.vma_offset_manager). */
  readonly vma: VmaOffsetManager<GemObject>;
  /**
   * drm_core_check_feature(dev, DRIVER_MODESET): the device has a display. KMS itself is not
   * emulated, so with it the KMS ioctls stay unserved (-EINVAL).
   */
  readonly modeset: boolean;
  /** CLOCK_MONOTONIC in ns. */
  now(): bigint;
}
