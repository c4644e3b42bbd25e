/**
 * Emulator control operations (SYS.DEBUG), the analogue of debugfs and fault injection:
 * wedge the device, attach and signal fences the test controls, write user fences as the
 * GPU would, ban queues. Each returns the 64-bit result words of the call.
 */
import { DEBUG } from '../../uapi/channel.js';
import type { XeDevice } from './xe_device.js';
import { banQueue } from './xe_exec_queue.js';
import type { Process } from '../os/process.js';
import { debugFenceAttach, debugFenceSignal } from '../drm/drm_syncobj.js';
import { putUserU64 } from '../os/uaccess.js';

/** A control operation: (device, calling process, ARG1..ARG4) -> return words. */
export type DebugOp = (dev: XeDevice, proc: Process, args: bigint[]) => bigint[] | void;

/** Control operations by DEBUG_* number. */
export const DEBUG_OPS: Record<number, DebugOp> = {
  [DEBUG.WEDGE]: (dev, _p, [on]) => {
    dev.wedged = on !== 0n;
  },
  [DEBUG.KERNEL_BUG]: () => {
    throw new Error('deliberate kernel bug (DEBUG.KERNEL_BUG)');
  },
  [DEBUG.FENCE_ATTACH]: (dev, p, [fd, handle, point]) => debugFenceAttach(dev, p, Number(fd), Number(handle), point),
  [DEBUG.FENCE_SIGNAL]: (dev, _p, [id, errno]) => debugFenceSignal(dev, id, errno),
  [DEBUG.UFENCE_WRITE]: (dev, p, [addr, value]) => {
    putUserU64(p.um, addr, value);
    dev.wake();
  },
  [DEBUG.QUEUE_BAN]: (dev, p, [fd, id]) => banQueue(dev, p, Number(fd), Number(id)),
  [DEBUG.KERNEL_PANIC]: (dev) => {
    dev.panicked = true;
  },
  [DEBUG.MEM_USAGE]: (dev) => [BigInt(dev.sysmem.usedPages), BigInt(dev.vram.reduce((n, a) => n + a.usedPages, 0))],
};
