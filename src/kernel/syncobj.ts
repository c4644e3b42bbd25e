/** DRM sync objects (drm_syncobj.c). */
import type { IoctlDef } from './dispatch.js';

/** A syncobj. */
export class Syncobj {
  /** Drops a reference. */
  put(): void {}
}

/** Syncobj ioctls. */
export const SYNCOBJ_IOCTLS: IoctlDef[] = [];
