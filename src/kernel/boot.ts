/**
 * Boot: the OS kernel of one emulated machine with one xe device, its driver registered.
 * The worker thread (worker.ts) runs what this returns.
 */
import type { MessagePort } from 'node:worker_threads';
import { getProfile } from '../hw/profile.js';
import { Kernel, type BootData } from './os/kernel.js';
import { XeDevice } from './xe/xe_device.js';
import { xeRegister } from './xe/xe_drv.js';

/** Creates the kernel and the device described by `boot`, and registers the driver. */
export function bootKernel(boot: BootData, port: MessagePort | null): Kernel {
  const kernel = new Kernel(boot, port);
  xeRegister(kernel, new XeDevice(getProfile(boot.profile), boot.regions, kernel));
  return kernel;
}
