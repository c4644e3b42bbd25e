/**
 * The driver's emulator control operations (SYS.DEBUG), the analogue of debugfs and fault
 * injection: wedge the device, write user fences as the GPU would, ban queues, report memory
 * use. DRM core registers the fence controls, the OS the kernel bug / panic ones.
 */
import { DEBUG } from '../../uapi/channel.js';
import { ENOENT } from '../../uapi/errno.js';
import type { DebugRegistry } from '../os/debug.js';
import { check } from '../os/errno.js';
import { fileAs } from '../os/file.js';
import type { Process } from '../os/process.js';
import { putUserU64 } from '../os/uaccess.js';
import type { XeDevice } from './xe_device.js';
import { XeFile } from './xe_file.js';
import { bindFailInject } from './xe_vm_bind.js';
import { xePagefaultService } from './xe_pagefault.js';
import { registerSchedInspectOps } from './xe_sched_inspect.js';
import { registerVmInspectOps, setGpuFaultService } from './xe_vm_inspect.js';

/** DEBUG QUEUE_BAN: bans queue `id` of xe file `fd` of `proc` (not an xe file: -EINVAL), and wakes waiters. */
function banQueue(dev: XeDevice, proc: Process, fd: number, id: number): void {
  const file = fileAs(proc.file(fd), XeFile, 'QUEUE_BAN fd');
  const q = file.execQueues.get(id);
  check(!q, ENOENT, 'QUEUE_BAN: exec queue %d: no such queue', id);
  q!.ban();
  // guc_exec_queue_timedout_job wakes user-fence waiters so that they see the reset.
  dev.wake();
}

/** Registers the controls of device `dev`. */
export function registerXeDebugOps(ops: DebugRegistry, dev: XeDevice): void {
  ops.register(DEBUG.WEDGE, (_p, [on]) => {
    dev.wedged = on !== 0n;
  });
  ops.register(DEBUG.UFENCE_WRITE, (p, [addr, value]) => {
    putUserU64(p.rawUm, addr, value);
    dev.wake();
  });
  ops.register(DEBUG.QUEUE_BAN, (p, [fd, id]) => banQueue(dev, p, Number(fd), Number(id)));
  ops.register(DEBUG.BIND_FAIL, (_p, [n]) => [BigInt(bindFailInject(dev, Number(n)))]);
  ops.register(DEBUG.MEM_USAGE, () => [BigInt(dev.sysmem.usedPages), BigInt(dev.vram.reduce((n, a) => n + a.usedPages, 0))]);
  registerVmInspectOps(ops);
  registerSchedInspectOps(ops);
  // GPU_READ / GPU_WRITE on a fault-mode VM resolve faults as the GPU's fault handler does.
  setGpuFaultService(xePagefaultService);
}
