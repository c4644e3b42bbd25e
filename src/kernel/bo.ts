/** GEM buffer objects (xe_bo.c). */
import { ENODEV } from '../uapi/errno.js';
import type { IoctlDef } from './dispatch.js';
import { Errno } from './errno.js';
import type { Mm } from './mm.js';
import type { XeFile } from './xe_file.js';

/** A buffer object. */
export class Bo {
  /** Drops a reference (a handle, a mapping or a VMA). */
  put(): void {}
}

/** GEM ioctls. */
export const BO_IOCTLS: IoctlDef[] = [];

/** mmap of a BO through its fake offset on a DRM file (drm_gem_mmap). */
export function mmapBo(file: XeFile, mm: Mm, offset: bigint, length: number): bigint {
  void file; void mm; void offset; void length;
  throw new Errno(ENODEV);
}
