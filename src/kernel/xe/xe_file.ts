/**
 * An open DRM device file (drm_file + xe_file): the per-file handle spaces for GEM objects,
 * syncobjs, VMs and exec queues. Closing the last fd releases everything it owns, in the
 * driver's order (xe_file_close): exec queues, then VMs, then GEM handles and syncobjs.
 */
import type { Bo } from './xe_bo.js';
import type { XeDevice } from './xe_device.js';
import type { ExecQueue } from './xe_exec_queue.js';
import { KFile } from '../os/file.js';
import { IdTable } from '../os/idr.js';
import type { Syncobj } from '../drm/drm_syncobj.js';
import type { Vm } from './xe_vm.js';

/** DRM minor types a file can be opened on. */
export type DrmNode = 'render' | 'primary';

/** A DRM file. */
export class XeFile extends KFile {
  readonly kind = 'drm';
  /** GEM handles (drm_file.object_idr). */
  readonly bos = new IdTable<Bo>();
  /** Syncobj handles (drm_file.syncobj_idr). */
  readonly syncobjs = new IdTable<Syncobj>();
  /** VM ids (xe_file.vm.xa). */
  readonly vms = new IdTable<Vm>();
  /** Exec queue ids (xe_file.exec_queue.xa). */
  readonly execQueues = new IdTable<ExecQueue>();

  constructor(
    readonly dev: XeDevice,
    readonly node: DrmNode,
  ) {
    super();
  }

  protected release(): void {
    for (const [id, q] of this.execQueues.entries()) {
      this.execQueues.remove(id);
      q.kill();
    }
    for (const [id, vm] of this.vms.entries()) {
      this.vms.remove(id);
      vm.close();
    }
    for (const [id, bo] of this.bos.entries()) {
      this.bos.remove(id);
      bo.put();
    }
    for (const [id, s] of this.syncobjs.entries()) {
      this.syncobjs.remove(id);
      s.put();
    }
  }
}
