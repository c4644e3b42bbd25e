/**
 * EXEC through an in-process machine (test/helpers/rig.ts, fake clock): a VM with a BO bound
 * and mapped for the CPU, batches written through that mapping, sync arrays in user memory,
 * and the calls that tests repeat (EXEC, VM_BIND, syncobjs, WAIT_USER_FENCE) with their errno.
 */
import type { Vm } from '../../src/kernel/xe/xe_vm.js';
import { xeSched, type XeSched } from '../../src/kernel/xe/xe_sched.js';
import { DEBUG, SYS } from '../../src/uapi/channel.js';
import { packArray, type Fields, type FieldsIn } from '../../src/uapi/codec.js';
import { Batch, miBatchBufferEnd, miStoreDwordImm } from '../../src/uapi/gpu_commands.js';
import { C } from '../../src/uapi/uapi.js';
import { CallFailed, errnoOf, Rig } from './rig.js';

export { errnoOf };

/** Where the test BO lives in the GPU VA space, and its size. */
export const BO_VA = 0x1a0000n;
export const BO_SIZE = 0x10000n;
/** Batch, data and user-fence offsets in the BO. */
export const OFF = { BATCH: 0x0, BATCH2: 0x1000, DATA: 0x4000, UFENCE: 0x8000 } as const;

const SYNCOBJ = C('DRM_XE_SYNC_TYPE_SYNCOBJ');
const TIMELINE = C('DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ');
const USER_FENCE = C('DRM_XE_SYNC_TYPE_USER_FENCE');
const SIGNAL = C('DRM_XE_SYNC_FLAG_SIGNAL');

/** A batch storing `value` at GPU VA `addr`. */
export function storeBatch(addr: bigint, value: number): Batch {
  const b = new Batch();
  b.emit(miStoreDwordImm(Number(addr), value));
  b.emit(miBatchBufferEnd());
  return b;
}

/** A syncobj out-sync / in-sync, a timeline one, a user fence. */
export const out = (handle: number): FieldsIn => ({ type: SYNCOBJ, flags: SIGNAL, handle });
export const inSync = (handle: number): FieldsIn => ({ type: SYNCOBJ, flags: 0, handle });
export const tlOut = (handle: number, point: bigint): FieldsIn => ({ type: TIMELINE, flags: SIGNAL, handle, timeline_value: point });
export const tlIn = (handle: number, point: bigint): FieldsIn => ({ type: TIMELINE, flags: 0, handle, timeline_value: point });
export const ufence = (addr: bigint, value: bigint): FieldsIn => ({ type: USER_FENCE, flags: SIGNAL, addr, timeline_value: value });

/** A machine with one VM, a BO bound at BO_VA and mapped at `cpu`, and a render queue. */
export class ExecRig {
  readonly r: Rig;
  /** The DRM fd everything here is made on. */
  readonly fd: number;
  readonly vmId: number;
  readonly vm: Vm;
  readonly bo: number;
  /** CPU address of the BO's mapping. */
  readonly cpu: bigint;
  /** A render queue on the VM. */
  readonly q: number;
  /** User memory for argument arrays. */
  private readonly arena: bigint;

  /** A new machine, or (with `rig`) a second fd on the machine of another ExecRig. */
  constructor(opts: { profile?: 'lnl' | 'bmg'; vmFlags?: number; rig?: Rig } = {}) {
    this.r = opts.rig ?? new Rig(opts.profile ?? 'lnl');
    this.fd = opts.rig ? this.r.sysRc(SYS.OPEN, [0n]) : this.r.fd;
    this.vmId = Number(this.ioctl('DRM_IOCTL_XE_VM_CREATE', { flags: opts.vmFlags ?? 0 }).vm_id);
    this.vm = this.r.file(this.fd).vms.get(this.vmId)!;
    this.bo = this.newBo();
    this.cpu = this.mapBo(this.bo);
    this.arena = this.r.mmap(0x10000n);
    this.bind(this.bo, BO_VA, BO_SIZE);
    this.q = this.queue(C('DRM_XE_ENGINE_CLASS_RENDER'));
  }

  /** ioctl on this rig's fd. */
  ioctl(name: string, fields: FieldsIn): Fields {
    return this.r.ioctl(name, fields, this.fd);
  }

  /** A BO_SIZE system-memory BO; its handle. */
  newBo(): number {
    return Number(this.ioctl('DRM_IOCTL_XE_GEM_CREATE', { size: BO_SIZE, placement: 1, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WB') }).handle);
  }

  /** A CPU mapping of BO `bo`. */
  mapBo(bo: number): bigint {
    return this.r.mmap(BO_SIZE, this.fd, this.ioctl('DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle: bo }).offset as bigint);
  }

  get sched(): XeSched {
    return xeSched(this.vm.dev);
  }

  /** A width-`width` exec queue of `cls` on GT `gt` over instances from 0. */
  queue(cls: number, width = 1, gt = 0, vmId = this.vmId): number {
    const eci = Array.from({ length: width }, (_, i) => ({ engine_class: cls, engine_instance: i, gt_id: gt }));
    const at = this.arena + 0x8000n;
    this.r.proc.as.write(at, packArray('drm_xe_engine_class_instance', eci));
    return Number(this.ioctl('DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width, num_placements: 1, vm_id: vmId, instances: at }).exec_queue_id);
  }

  /** VM_BIND MAP of `bo` (or a userptr when `userptr` is given) on the default queue. */
  bind(bo: number, addr: bigint, range: bigint, syncs: FieldsIn[] = [], userptr?: bigint): void {
    const op = userptr === undefined ? C('DRM_XE_VM_BIND_OP_MAP') : C('DRM_XE_VM_BIND_OP_MAP_USERPTR');
    this.vmBind({ obj: bo, obj_offset: userptr ?? 0n, addr, range, op, pat_index: this.vm.dev.profile.patWb }, syncs);
  }

  /** VM_BIND UNMAP of [addr, addr + range). */
  unbind(addr: bigint, range: bigint, syncs: FieldsIn[] = []): void {
    this.vmBind({ addr, range, op: C('DRM_XE_VM_BIND_OP_UNMAP'), pat_index: this.vm.dev.profile.patWb }, syncs);
  }

  private vmBind(bind: FieldsIn, syncs: FieldsIn[]): void {
    this.ioctl('DRM_IOCTL_XE_VM_BIND', { vm_id: this.vmId, num_binds: 1, bind, num_syncs: syncs.length, syncs: this.syncArray(syncs) });
  }

  /** Writes `syncs` into user memory; their address (0 for none). */
  syncArray(syncs: readonly FieldsIn[]): bigint {
    if (!syncs.length) return 0n;
    this.r.proc.as.write(this.arena, packArray('drm_xe_sync', syncs));
    return this.arena;
  }

  /** Writes u64 values into user memory (the batch addresses of a parallel EXEC); their address. */
  u64Array(values: readonly bigint[]): bigint {
    const at = this.arena + 0x4000n;
    const b = new Uint8Array(values.length * 8);
    values.forEach((v, i) => new DataView(b.buffer).setBigUint64(i * 8, v, true));
    this.r.proc.as.write(at, b);
    return at;
  }

  /** Copies a batch into the BO at `off`; its GPU address. */
  batch(b: Batch, off: number = OFF.BATCH): bigint {
    this.r.proc.as.write(this.cpu + BigInt(off), b.bytes());
    return BO_VA + BigInt(off);
  }

  /** EXEC; the errno (0 on success). */
  exec(fields: FieldsIn & { syncs?: readonly FieldsIn[] | bigint }): number {
    const syncs = fields.syncs;
    const list = Array.isArray(syncs) ? syncs : [];
    const args: FieldsIn = {
      exec_queue_id: this.q, num_batch_buffer: 1, ...fields,
      num_syncs: fields.num_syncs ?? list.length,
      syncs: typeof syncs === 'bigint' ? syncs : this.syncArray(list),
    };
    return errnoOf(() => this.ioctl('DRM_IOCTL_XE_EXEC', args));
  }

  /** A dword of the BO (through the CPU mapping). */
  u32(off: number): number {
    return new DataView(this.r.proc.as.read(this.cpu + BigInt(off), 4).slice().buffer).getUint32(0, true);
  }

  u64(off: number): bigint {
    return new DataView(this.r.proc.as.read(this.cpu + BigInt(off), 8).slice().buffer).getBigUint64(0, true);
  }

  /** Writes a dword of the BO through the CPU mapping. */
  setU32(off: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.r.proc.as.write(this.cpu + BigInt(off), b);
  }

  /**
   * A syncobj holding a pending fence the test signals (DEBUG FENCE_ATTACH / FENCE_SIGNAL):
   * its handle and release(errno).
   */
  hold(): { handle: number; release: (errno?: number) => void } {
    const handle = this.syncobj();
    const [id] = this.r.sys(SYS.DEBUG, [BigInt(DEBUG.FENCE_ATTACH), BigInt(this.fd), BigInt(handle), 0n]);
    return { handle, release: (errno = 0) => void this.r.sys(SYS.DEBUG, [BigInt(DEBUG.FENCE_SIGNAL), id, BigInt(errno)]) };
  }

  syncobj(flags = 0): number {
    return Number(this.ioctl('DRM_IOCTL_SYNCOBJ_CREATE', { flags }).handle);
  }

  /** SYNCOBJ_WAIT with timeout 0 (poll): the errno (0 signalled, ETIME pending). */
  pollSyncobj(handle: number): number {
    const at = this.arena + 0x6000n;
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint32(0, handle, true);
    this.r.proc.as.write(at, h);
    return errnoOf(() => this.ioctl('DRM_IOCTL_SYNCOBJ_WAIT', { handles: at, count_handles: 1, timeout_nsec: 0n }));
  }

  /** The fence error of syncobj `handle` (kernel side; syncobj waits do not report errors). */
  fenceError(handle: number): number {
    return this.r.file(this.fd).syncobjs.get(handle)!.fence!.error;
  }

  /** EXEC_QUEUE_GET_PROPERTY BAN of queue `q`. */
  ban(q = this.q): bigint {
    return this.ioctl('DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', { exec_queue_id: q, property: 0 }).value as bigint;
  }

  /** WAIT_USER_FENCE {addr, EQ value} with a relative timeout; the errno. */
  waitUfence(addr: bigint, value: bigint, q = 0, timeout = 0n): number {
    const mask = (1n << 64n) - 1n;
    return errnoOf(() =>
      this.ioctl('DRM_IOCTL_XE_WAIT_USER_FENCE', { addr, op: C('DRM_XE_UFENCE_WAIT_OP_EQ'), value, mask, timeout, exec_queue_id: q }),
    );
  }

  /** Runs the GPU until no work can run now. */
  settle(): string {
    return this.r.m.gpu(200);
  }

  /** The kernel's fence of syncobj `handle` now. */
  fenceOf(handle: number) {
    return this.r.file(this.fd).syncobjs.get(handle)!.fence;
  }

  dispose(): void {
    this.r.dispose();
  }
}

export { CallFailed };
