/**
 * An open xe device file (struct xe_file): a DRM file plus the driver's per-file VMs and
 * exec queues. Its ioctl op is xe_drm_ioctl (a wedged device refuses every ioctl before DRM
 * core looks at it). Closing the last fd releases everything it owns, in the driver's order
 * (xe_file_close): exec queues, then VMs, then DRM core's GEM handles and syncobjs.
 */
import { DrmFile } from '../drm/drm_file.js';
import type { DrmNode, IoctlCtx as DrmIoctlCtx } from '../drm/drm_ioctl.js';
import type { Task } from '../os/file.js';
import { IdTable } from '../os/idr.js';
import { ECANCELED } from '../../uapi/errno.js';
import { fail } from '../os/errno.js';
import type { CallResult } from '../os/wait.js';
import type { XeDevice } from './xe_device.js';
import type { ExecQueue } from './xe_exec_queue.js';
import type { Vm } from './xe_vm.js';

/** An xe file. */
export class XeFile extends DrmFile {
  /** VM ids (xe_file.vm.xa). */
  readonly vms = new IdTable<Vm>();
  /** Exec queue ids (xe_file.exec_queue.xa). */
  readonly execQueues = new IdTable<ExecQueue>();

  constructor(
    override readonly dev: XeDevice,
    node: DrmNode,
  ) {
    super(dev, node);
  }

  /** xe_drm_ioctl: -ECANCELED on a wedged device, else drm_ioctl. */
  override ioctl(task: Task, request: number, argp: bigint): CallResult {
    if (this.dev.wedged) return { done: true, rc: fail(ECANCELED, 'device is wedged') };
    return super.ioctl(task, request, argp);
  }

  protected override release(): void {
    this.execQueues.drain((q) => q.kill());
    this.vms.drain((vm) => vm.close());
    super.release();
  }
}

/** What an xe ioctl handler sees: the DRM context on an xe file. */
export type IoctlCtx = DrmIoctlCtx<XeFile>;
