/**
 * What the sample-trace programs share: each records one device's run to a trace file and
 * checks its own results as it goes, so a committed trace is known to show a correct run.
 */
import { createDevice, igt, type Device, type Process } from '../../src/index.js';
import { Batch, miBatchBufferEnd } from '../../src/uapi/gpu_commands.js';

/** A sample program: its body runs on a device that records to the given trace file. */
export type SampleBody = (dev: Device) => void | Promise<void>;

/** Boots an LNL device recording to `path`, runs `body` on it and closes it (which finishes the file). */
export async function recordRun(path: string, body: SampleBody): Promise<void> {
  const dev = await createDevice({ profile: 'lnl', record: path });
  try {
    await body(dev);
  } finally {
    await dev.close();
  }
}

/** Throws unless `actual` is `expected` (numbers and bigints compared as given). */
export function expect<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** Writes a batch of `cmds` followed by MI_BATCH_BUFFER_END at CPU address `cpu`. */
export function writeBatch(p: Process, cpu: bigint, ...cmds: number[][]): void {
  const b = new Batch();
  for (const c of cmds) b.emit(c);
  b.emit(miBatchBufferEnd());
  p.mem.write(cpu, b.bytes());
}

/** An open render node, a VM, and a system-memory BO mapped on the CPU and bound in the VM. */
export interface VmWithBo {
  fd: number;
  vm: number;
  bo: number;
  /** The BO's CPU mapping. */
  cpu: bigint;
  /** Its GPU VA. */
  va: bigint;
  size: number;
}

/** Opens the render node, creates a VM and a BO of `size`, maps the BO and binds it at `va`. */
export function openVmWithBo(p: Process, va: bigint, size = 0x10000): VmWithBo {
  const fd = p.open();
  const vm = igt.xe_vm_create(p, fd);
  const bo = igt.xe_bo_create(p, fd, vm, size, igt.system_memory(p, fd));
  const cpu = igt.xe_bo_map(p, fd, bo, size);
  igt.xe_vm_bind_sync(p, fd, vm, bo, 0n, va, BigInt(size));
  return { fd, vm, bo, cpu, va, size };
}

/** Undoes openVmWithBo: unmaps and closes the BO, destroys the VM (its bindings go with it), closes the fd. */
export function closeVmWithBo(p: Process, s: VmWithBo): void {
  p.munmap(s.cpu, s.size);
  igt.gem_close(p, s.fd, s.bo);
  igt.xe_vm_destroy(p, s.fd, s.vm);
  p.close(s.fd);
}

/** A SYNCOBJ_WAIT timeout that never expires (INT64_MAX nanoseconds, absolute). */
export const INF = (1n << 63n) - 1n;
