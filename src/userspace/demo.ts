/**
 * The example UMD-style program of `xe-emu demo`: query the device, create a VM and a BO,
 * map and bind it, run a store-dword batch on a render queue, wait for it and read back what
 * the GPU wrote — the whole path of a real driver's first frame, recorded to a trace.
 */
import { C } from '../uapi/uapi.js';
import { Batch, miBatchBufferEnd, miStoreDwordImm } from '../uapi/gpu_commands.js';
import { createDevice, type DeviceOptions } from './device.js';
import {
  gem_close, xe_bo_create, xe_bo_map, xe_exec_queue_create, xe_exec_queue_destroy, xe_exec_wait, xe_query_config, xe_query_engines,
  xe_vm_bind_sync, xe_vm_create, xe_vm_destroy, xe_vm_unbind_sync, vram_if_possible,
} from './igt.js';

/** GPU VA of the BO in the demo's VM. */
export const DEMO_VA = 0x1a0000n;
/** BO size. */
const SIZE = 0x10000;
/** Where in the BO the batch stores its value. */
const DATA = 0x100;
/** The value the batch stores. */
export const DEMO_VALUE = 0xc0ffee;

/** What the demo saw. */
export interface DemoResult {
  /** The dword the GPU wrote, read back through the CPU mapping. */
  value: number;
  /** Its GPU address. */
  gpuAddr: bigint;
}

/** Runs the demo program on a new device (`opts.record` records it) and closes the device. */
export async function runDemo(opts: DeviceOptions = {}): Promise<DemoResult> {
  const dev = await createDevice(opts);
  try {
    const p = dev.process;
    const fd = p.open();
    xe_query_config(p, fd);
    const render = xe_query_engines(p, fd).find((e) => e.engine_class === C('DRM_XE_ENGINE_CLASS_RENDER'));
    if (!render) throw new Error('demo: the device has no render engine');
    const vm = xe_vm_create(p, fd);
    const bo = xe_bo_create(p, fd, vm, SIZE, vram_if_possible(p, fd, 0));
    const cpu = xe_bo_map(p, fd, bo, SIZE);
    xe_vm_bind_sync(p, fd, vm, bo, 0n, DEMO_VA, BigInt(SIZE));
    const q = xe_exec_queue_create(p, fd, vm, render);
    const gpuAddr = DEMO_VA + BigInt(DATA);
    const batch = new Batch();
    batch.emit(miStoreDwordImm(Number(gpuAddr), DEMO_VALUE));
    batch.emit(miBatchBufferEnd());
    p.mem.write(cpu, batch.bytes());
    xe_exec_wait(p, fd, q, DEMO_VA);
    const value = p.mem.readU32(cpu + BigInt(DATA));
    xe_exec_queue_destroy(p, fd, q);
    xe_vm_unbind_sync(p, fd, vm, 0n, DEMO_VA, BigInt(SIZE));
    p.munmap(cpu, SIZE);
    gem_close(p, fd, bo);
    xe_vm_destroy(p, fd, vm);
    p.close(fd);
    return { value, gpuAddr };
  } finally {
    await dev.close();
  }
}
