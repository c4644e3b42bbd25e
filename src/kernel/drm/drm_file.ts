/**
 * An open DRM device file (struct drm_file): the per-file GEM handles and syncobjs, and the
 * file operations a DRM fd has: ioctl (drm_ioctl) and mmap (drm_gem_mmap). A driver extends
 * it with its own per-file state; closing the last fd releases the GEM handles, then the
 * syncobjs (drm_gem_release, drm_syncobj_release), after the driver's own postclose.
 */
import { KFile, type Task } from '../os/file.js';
import { IdTable } from '../os/idr.js';
import type { Mm } from '../os/mm.js';
import type { CallResult } from '../os/wait.js';
import type { DrmDevice } from './drm_device.js';
import { GemHandles, gemMmap } from './drm_gem.js';
import { drmIoctl, type DrmNode } from './drm_ioctl.js';
import type { Syncobj } from './drm_syncobj.js';

/** A DRM file. */
export class DrmFile extends KFile {
  readonly kind = 'drm';
  /** GEM handles (drm_file.object_idr). */
  readonly objects = new GemHandles();
  /** Syncobj handles (drm_file.syncobj_idr). */
  readonly syncobjs = new IdTable<Syncobj>();
  /** Set by SET_CLIENT_NAME (drm_file.client_name); null when unset. */
  clientName: string | null = null;

  constructor(
    readonly dev: DrmDevice,
    readonly node: DrmNode,
  ) {
    super();
  }

  /** drm_ioctl through the device's table (bound by drmDevRegister before any open). */
  override ioctl(task: Task, request: number, argp: bigint): CallResult {
    return drmIoctl(this.dev.ioctls!, this, task, request, argp);
  }

  /** drm_gem_mmap: a GEM object by its fake offset. */
  override mmap(mm: Mm, offset: bigint, length: number, writable: boolean): bigint {
    return gemMmap(this, mm, offset, length, writable);
  }

  protected release(): void {
    this.objects.drain((obj) => obj.put());
    this.syncobjs.drain((s) => s.put());
  }
}
