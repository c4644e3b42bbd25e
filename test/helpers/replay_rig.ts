/**
 * Recorded programs and trace rewriting for test/replay.test.ts and test/replay_cli.test.ts:
 * each program records itself with createDevice({ record }) into a temporary directory.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { C, createDevice, type Device, type Process } from '../../src/index.js';
import { decodeTrace, encodeHeader, encodeRecord, type IoctlRecord, type TraceRecord } from '../../src/uapi/trace.js';
import { requestName } from '../../src/uapi/uapi.js';
import {
  gem_close, syncobj_create, syncobj_destroy, xe_bo_create, xe_bo_map, xe_exec_queue_create, xe_exec_wait, xe_vm_bind_sync,
  xe_vm_create, xe_vm_destroy,
} from '../../src/userspace/igt.js';

export const dir = mkdtempSync(join(tmpdir(), 'xe-replay-'));
const RENDER = { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 };
const SYSMEM = 1 << 0;
const VA = 0x1a0000n;
const SIZE = 0x10000;

/** Records `body` on a fresh LNL device into `<dir>/<name>`; returns the file's bytes. */
export async function record(name: string, body: (dev: Device, p: Process) => Promise<void> | void): Promise<Uint8Array> {
  const path = join(dir, name);
  const dev = await createDevice({ profile: 'lnl', record: path });
  await body(dev, dev.process);
  await dev.close();
  return readFileSync(path);
}

/**
 * The UMD-style flow: VM, BO, mmap, bind, queue, exec of the (empty) BO with a syncobj
 * wait, teardown. With `extra`, a VM, a syncobj and a BO are made before the flow's own
 * (the VM and BO are freed again before any query, so the memory in use is the same), so
 * every id the flow gets is one higher; dropExtra removes their calls from the trace.
 */
export function flow(p: Process, extra = false): void {
  const fd = p.open();
  const vm0 = extra ? xe_vm_create(p, fd) : 0;
  if (extra) syncobj_create(p, fd);
  const vm = xe_vm_create(p, fd);
  if (extra) xe_vm_destroy(p, fd, vm0);
  const bo0 = extra ? xe_bo_create(p, fd, 0, SIZE, SYSMEM) : 0;
  const bo = xe_bo_create(p, fd, vm, SIZE, SYSMEM);
  if (extra) gem_close(p, fd, bo0);
  const cpu = xe_bo_map(p, fd, bo, SIZE);
  xe_vm_bind_sync(p, fd, vm, bo, 0n, VA, BigInt(SIZE));
  const q = xe_exec_queue_create(p, fd, vm, RENDER);
  xe_exec_wait(p, fd, q, VA);
  const so = syncobj_create(p, fd);
  syncobj_destroy(p, fd, so);
  p.munmap(cpu, SIZE);
  gem_close(p, fd, bo);
  xe_vm_destroy(p, fd, vm);
}

/** The calls of flow(p, true)'s extra objects: the first of each of these ioctls. */
const EXTRA = ['DRM_IOCTL_XE_VM_CREATE', 'DRM_IOCTL_SYNCOBJ_CREATE', 'DRM_IOCTL_XE_VM_DESTROY', 'DRM_IOCTL_XE_GEM_CREATE', 'DRM_IOCTL_GEM_CLOSE'];

/** The records of flow(p, true) without its extra objects' ioctls and the malloc / free around each. */
export function dropExtra(rs: TraceRecord[]): TraceRecord[] {
  const drop = new Set<number>();
  for (const name of EXTRA) {
    const i = ioctlIndex(rs, name);
    drop.add(i);
    if (rs[i - 1].type === 'syscall') drop.add(i - 1);
    if (rs[i + 1].type === 'syscall') drop.add(i + 1);
  }
  return rs.filter((_, i) => !drop.has(i));
}

/** The trace's bytes with its records replaced by `f(records)`. */
export function rewrite(bytes: Uint8Array, f: (rs: TraceRecord[]) => TraceRecord[]): Buffer {
  const tr = decodeTrace(bytes);
  return Buffer.concat([encodeHeader(tr.header), ...f(tr.records).map((r) => encodeRecord(r))]);
}

/** Index of the first ioctl record named `name` (after index `from`). */
export function ioctlIndex(rs: TraceRecord[], name: string, from = 0): number {
  return rs.findIndex((r, i) => i >= from && r.type === 'ioctl' && requestName(r.request) === name);
}

/** The ioctl record at `i`. */
export function ioctlAt(rs: TraceRecord[], i: number): IoctlRecord {
  const r = rs[i];
  if (r.type !== 'ioctl') throw new Error(`record ${i} is ${r.type}`);
  return r;
}
