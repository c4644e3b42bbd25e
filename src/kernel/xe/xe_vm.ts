/**
 * GPU address spaces (xe_vm.c): the VM object, DRM_IOCTL_XE_VM_CREATE and
 * DRM_IOCTL_XE_VM_DESTROY (shared/spec/vm_bind.md section 1, checked against the newest
 * upstream xe_vm.c, which also knows DRM_XE_VM_CREATE_FLAG_NO_VM_OVERCOMMIT).
 *
 * A VM owns its GPU VA manager (`gpuvm`, the VMA tree) and its page-table tree (`pt`, tile 0:
 * every profile has one tile), made in VM_CREATE and freed with the last reference.
 *
 * DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS (vm_attrs.md 5) reports the VMAs' memory attributes;
 * MADVISE, which sets them, is xe_vm_madvise.ts. DRM_IOCTL_XE_VM_GET_PROPERTY (vm_attrs.md 6)
 * reports the VM's fault log.
 */
import { packArray } from '../../uapi/codec.js';
import { EBUSY, EINVAL, ENOENT, ENOSPC } from '../../uapi/errno.js';
import { C, layoutOf } from '../../uapi/uapi.js';
import type { GemObject } from '../drm/drm_gem.js';
import { DrmGpuvm } from '../drm/drm_gpuvm.js';
import type { IoctlCtx, IoctlDef } from '../drm/drm_ioctl.js';
import { check, Errno, fail, nonZero } from '../os/errno.js';
import type { IdTable } from '../os/idr.js';
import type { Mm } from '../os/mm.js';
import type { XeDevice } from './xe_device.js';
import { createBindQueue, type ExecQueue, type QueueFile, type QueueVm } from './xe_exec_queue.js';
import { XePt } from './xe_pt.js';
import { svmClose, svmInit } from './xe_svm.js';
import { userptrUntrack } from './xe_userptr.js';
import { copyMemAttr, type XeVma, type XeVmaMemAttr, type XeVmaPriv } from './xe_vma.js';

const FLAG_SCRATCH_PAGE = C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE');
const FLAG_LR_MODE = C('DRM_XE_VM_CREATE_FLAG_LR_MODE');
const FLAG_FAULT_MODE = C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE');
const FLAG_NO_VM_OVERCOMMIT = C('DRM_XE_VM_CREATE_FLAG_NO_VM_OVERCOMMIT');
/** ALL_DRM_XE_VM_CREATE_FLAGS of the newest xe_vm.c. */
const ALL_FLAGS = FLAG_SCRATCH_PAGE | FLAG_LR_MODE | FLAG_FAULT_MODE | FLAG_NO_VM_OVERCOMMIT;

/** XE_MAX_ASID (xe_device_types.h): ASIDs are allocated cyclically in [1, XE_MAX_ASID - 1]. */
const XE_MAX_ASID = 1 << 20;

/** Per-device cyclic ASID allocator (xe->usm.asid_to_vm, xa_alloc_cyclic). */
class AsidSpace {
  private readonly used = new Set<number>();
  private next = 1;

  alloc(): number {
    for (let n = 0; n < XE_MAX_ASID - 1; n++) {
      const a = this.next;
      this.next = a + 1 >= XE_MAX_ASID ? 1 : a + 1;
      if (!this.used.has(a)) {
        this.used.add(a);
        return a;
      }
    }
    throw new Errno(EBUSY, 'all %d ASIDs in use', XE_MAX_ASID - 1);
  }

  free(a: number): void {
    this.used.delete(a);
  }
}

const asidSpaces = new WeakMap<XeDevice, AsidSpace>();

function asidSpace(dev: XeDevice): AsidSpace {
  let s = asidSpaces.get(dev);
  if (!s) asidSpaces.set(dev, (s = new AsidSpace()));
  return s;
}

/** MAX_FAULTS_SAVED_PER_VM: the fault log keeps the first 50 faults (vm_attrs.md 6.2). */
export const MAX_FAULTS_SAVED_PER_VM = 50;

/** One GPU fault that was not serviced, as VM_GET_PROPERTY FAULTS reports it (vm_attrs.md 6.3). */
export interface XeVmFault {
  /** The faulting page, canonical (sign-extended from the VA width). */
  address: bigint;
  /** 0 read, 1 write, 2 atomic. */
  accessType: number;
  /** 0 not present, 1 write-access violation, 2 atomic-access violation. */
  faultType: number;
  /** Level of the entry: 0 PTE, 1 PDE, ... */
  faultLevel: number;
  /** The engine the fault came from (uAPI class, logical instance). */
  engineClass: number;
  engineInstance: number;
}

/** What VMs use of an xe file (XeFile implements it): its VM and queue id tables. */
export interface VmFile extends QueueFile {
  readonly vms: IdTable<Vm>;
}

/** A VM (struct xe_vm). */
export class Vm implements QueueVm {
  /** DRM_XE_VM_CREATE_FLAG_* as accepted (after the scratch workaround). */
  readonly flags: number;
  /** 1 << va_bits; 0 once closed (xe_vm_close). */
  size: bigint;
  /** XE_VM_FLAG_BANNED: set by xe_vm_kill (rebind worker failure); nothing sets it yet. */
  banned = false;
  /** Address space id (0 on platforms without ASIDs). */
  asid = 0;
  /** The page-table tree of tile 0 (vm->pt_root[0] and the scratch tables); null once freed. */
  pt: XePt | null = null;
  /** The GPU VA manager (vm->gpuvm): the VMA tree over [0, 1 << va_bits). */
  readonly gpuvm: DrmGpuvm<GemObject, XeVmaMemAttr, XeVmaPriv>;
  /**
   * The default bind queue (vm->q), used by VM_BIND with exec_queue_id 0. The newest
   * xe_vm_create makes one, on the first tile with a page-table root (older trees: one per
   * tile); it is not in the file's queue id table.
   */
  defaultBindQueue: ExecQueue | null = null;
  /** Exec queues created on this VM (xe_vm_add_exec_queue; removed when they are freed). */
  readonly execQueues = new Set<ExecQueue>();
  /** The file that created the VM (vm->xef); null for kernel VMs. */
  file: VmFile | null = null;
  /** Compute queues of a preempt-fence mode VM (vm->preempt.exec_queues). */
  readonly preemptQueues = new Set<ExecQueue>();
  /** Bind jobs submitted and not yet run (xe_vm_bind.ts); closing the VM cancels them. */
  readonly pendingBinds = new Set<{ cancel(): void }>();
  /** GPU faults not serviced, oldest first, at most MAX_FAULTS_SAVED_PER_VM (xe_pagefault_save_to_vm). */
  readonly faults: XeVmFault[] = [];
  private refs = 1;

  constructor(
    readonly dev: XeDevice,
    flags: number,
  ) {
    this.flags = flags;
    this.size = 1n << BigInt(dev.profile.vaBits);
    this.gpuvm = new DrmGpuvm({ start: 0n, range: this.size, copyAttrs: copyMemAttr });
  }

  get scratchPage(): boolean {
    return (this.flags & FLAG_SCRATCH_PAGE) !== 0;
  }

  /** xe_vm_in_lr_mode. */
  get lrMode(): boolean {
    return (this.flags & FLAG_LR_MODE) !== 0;
  }

  /** xe_vm_in_fault_mode. */
  get faultMode(): boolean {
    return (this.flags & FLAG_FAULT_MODE) !== 0;
  }

  get noVmOvercommit(): boolean {
    return (this.flags & FLAG_NO_VM_OVERCOMMIT) !== 0;
  }

  /** xe_vm_in_preempt_fence_mode: LR without fault mode. */
  get preemptFenceMode(): boolean {
    return this.lrMode && !this.faultMode;
  }

  /** vm->preempt.num_exec_queues. */
  get numPreemptQueues(): number {
    return this.preemptQueues.size;
  }

  /** xe_vm_is_closed. */
  get closed(): boolean {
    return this.size === 0n;
  }

  /** xe_vm_is_closed_or_banned. */
  get closedOrBanned(): boolean {
    return this.closed || this.banned;
  }

  /** xe_vm_get. */
  get(): this {
    this.refs++;
    return this;
  }

  /** xe_vm_put: the last reference frees the VM and its page tables. */
  put(): void {
    if (--this.refs > 0) return;
    this.pt?.destroy();
    this.pt = null;
  }

  /** Logs an unserviced GPU fault; when the log is full the new one is dropped. */
  saveFault(f: XeVmFault): void {
    if (this.faults.length < MAX_FAULTS_SAVED_PER_VM) this.faults.push(f);
  }

  /** xe_vm_add_compute_exec_queue. */
  addComputeQueue(q: ExecQueue): void {
    this.preemptQueues.add(q);
  }

  /** xe_vm_remove_compute_exec_queue: a no-op outside preempt-fence mode; safe to repeat. */
  removeComputeQueue(q: ExecQueue): void {
    if (this.preemptFenceMode) this.preemptQueues.delete(q);
  }

  /**
   * xe_vm_close_and_put: the id is already gone. The VM becomes closed (size 0), its pending
   * bind jobs are cancelled, every VMA is destroyed (dropping its BO reference), its default
   * bind queue is killed, its ASID released, and the file's reference dropped. Exec queues
   * created on it keep it alive (closed) until they are freed; the page tables go with the
   * last reference.
   */
  close(): void {
    if (this.closed) return;
    this.size = 0n;
    for (const job of [...this.pendingBinds]) job.cancel();
    svmClose(this);
    this.faults.length = 0;
    this.destroyVmas();
    const q = this.defaultBindQueue;
    this.defaultBindQueue = null;
    q?.kill();
    if (this.asid) asidSpace(this.dev).free(this.asid);
    this.asid = 0;
    this.put();
  }

  /**
   * Removes every VMA from the tree (xe_vma_destroy of each): the BO side lets go (its WILLNEED
   * hold and this VM's move notifier, through the hook VM_BIND registers), then the VMA drops
   * its BO reference.
   */
  private destroyVmas(): void {
    const g = this.gpuvm;
    const ops = g.smUnmapOpsCreate(g.mmStart, g.mmRange);
    for (const op of ops) g.commit(op);
    g.finish(ops);
    for (const op of ops) {
      if (op.op === 'map') continue;
      userptrUntrack(op.va);
      vmaBoRelease?.(this, op.va);
      op.va.obj?.put();
    }
  }
}

/** What a destroyed BO VMA releases on its BO (set by xe_vm_ops.ts, which may import xe_bo.ts). */
let vmaBoRelease: ((vm: Vm, va: XeVma) => void) | null = null;

/** Registers what a VM's closing does for each BO VMA it destroys, besides the BO reference. */
export function setVmaBoRelease(fn: (vm: Vm, va: XeVma) => void): void {
  vmaBoRelease = fn;
}

/** xe_vm_create for a user VM: page tables (root and scratch), default bind queue, then the ASID. */
function vmCreate(dev: XeDevice, flags: number, file: VmFile, mm: Mm): Vm {
  const vm = new Vm(dev, flags);
  vm.file = file;
  try {
    vm.pt = XePt.forDevice(dev, vm.scratchPage);
    if (vm.faultMode) svmInit(vm, mm);
    vm.defaultBindQueue = createBindQueue(dev, 0, vm, 0n, null);
    if (dev.profile.hasAsid) vm.asid = asidSpace(dev).alloc();
  } catch (e) {
    vm.close();
    throw e;
  }
  return vm;
}

/** DRM_IOCTL_XE_VM_CREATE, checks in the order of the newest xe_vm_create_ioctl. */
function vmCreateIoctl(c: IoctlCtx<VmFile>): number {
  const a = c.args;
  const profile = c.dev.profile;
  check(a.extensions !== 0n, EINVAL, '.extensions %x: VM_CREATE has no extensions', a.extensions as bigint);
  // Wa_22014953428 (DG2-G10/G12) edits args->flags itself, before any flag check: the
  // change is copied back to the user on success and on every later failure alike.
  if (profile.wa22014953428) a.flags = (a.flags as number) | FLAG_SCRATCH_PAGE;
  const flags = a.flags as number;
  check((flags & FLAG_FAULT_MODE) !== 0 && !profile.hasUsm, EINVAL, '.flags %x: FAULT_MODE on a device without USM', flags);
  check(nonZero(a.reserved), EINVAL, '.reserved: must be 0');
  check((flags & ~ALL_FLAGS) !== 0, EINVAL, '.flags %x: unknown flag bits %x', flags, flags & ~ALL_FLAGS);
  check((flags & FLAG_SCRATCH_PAGE) !== 0 && (flags & FLAG_FAULT_MODE) !== 0 && !profile.needsScratch, EINVAL, '.flags %x: SCRATCH_PAGE with FAULT_MODE', flags);
  check((flags & FLAG_LR_MODE) === 0 && (flags & FLAG_FAULT_MODE) !== 0, EINVAL, '.flags %x: FAULT_MODE without LR_MODE', flags);
  check((flags & FLAG_FAULT_MODE) === 0 && (flags & FLAG_NO_VM_OVERCOMMIT) !== 0, EINVAL, '.flags %x: NO_VM_OVERCOMMIT without FAULT_MODE', flags);

  const vm = vmCreate(c.dev, flags, c.file, c.proc.mm);
  // User id allocation is the last step (xa_alloc, XA_FLAGS_ALLOC1, 32-bit limit).
  const id = c.file.vms.alloc(vm);
  if (id < 0) {
    vm.close();
    return fail(EBUSY, 'VM id table full');
  }
  a.vm_id = id;
  return 0;
}

/** DRM_IOCTL_XE_VM_DESTROY (xe_vm_destroy_ioctl). */
function vmDestroyIoctl(c: IoctlCtx<VmFile>): number {
  const a = c.args;
  check(a.pad !== 0 || nonZero(a.reserved), EINVAL, '.pad/.reserved: must be 0');
  const id = a.vm_id as number;
  const vm = c.file.vms.get(id);
  check(!vm, ENOENT, '.vm_id %d: no such VM', id);
  check(vm!.numPreemptQueues > 0, EBUSY, '.vm_id %d: %d preempt-fence exec queues still use it', id, vm!.numPreemptQueues);
  c.file.vms.remove(id);
  vm!.close();
  return 0;
}

/** Bytes of one drm_xe_mem_range_attr record. */
const MEM_RANGE_ATTR_SIZE = layoutOf('drm_xe_mem_range_attr').size;
const U64_LIMIT = 1n << 64n;

/**
 * The VMAs drm_gpuvm_for_each_va_range visits for [start, start + range) with u64
 * arithmetic: none when the sum wraps or reaches 2^64 (its end is then below the start).
 */
function vmasInRange(vm: Vm, start: bigint, range: bigint): XeVma[] {
  return range === 0n || start + range >= U64_LIMIT ? [] : vm.gpuvm.overlapping(start, range);
}

/** One drm_xe_mem_range_attr per VMA (xe_vm_query_vmas_attrs: full bounds, attributes as stored). */
function memRangeAttrs(vmas: readonly XeVma[]): Uint8Array {
  return packArray('drm_xe_mem_range_attr', vmas.map((v) => ({
    start: v.start,
    end: v.end,
    preferred_mem_loc: { devmem_fd: v.attrs.preferredLoc.devmemFd, migration_policy: v.attrs.preferredLoc.migrationPolicy },
    atomic: { val: v.attrs.atomicAccess },
    pat_index: { val: v.attrs.patIndex },
  })));
}

/**
 * DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS (xe_vm_query_vmas_attrs_ioctl), two calls: with
 * num_mem_ranges 0 it reports how many VMAs overlap the range and the record size; then it
 * fills up to num_mem_ranges records in address order. `start` is used as given (not
 * un-canonicalized); extensions, reserved, alignment and a closed VM are not checked.
 */
function vmQueryMemRangeAttrsIoctl(c: IoctlCtx<VmFile>): number {
  const a = c.args;
  const num = a.num_mem_ranges as number;
  const vector = a.vector_of_mem_attr as bigint;
  const recSize = a.sizeof_mem_range_attr as bigint;
  check(num === 0 && (vector !== 0n || recSize !== 0n), EINVAL, '.num_mem_ranges 0 with vector_of_mem_attr %x / sizeof_mem_range_attr %d', vector, recSize);
  check(num > 0 && (vector === 0n || recSize !== BigInt(MEM_RANGE_ATTR_SIZE)), EINVAL, '.num_mem_ranges %d: needs a vector_of_mem_attr (%x) and sizeof_mem_range_attr 64 (%d)', num, vector, recSize);
  const vm = c.file.vms.get(a.vm_id as number);
  check(!vm, EINVAL, '.vm_id %d: no such VM', a.vm_id as number);
  const vmas = vmasInRange(vm!, a.start as bigint, a.range as bigint);
  if (num === 0) {
    a.num_mem_ranges = vmas.length;
    a.sizeof_mem_range_attr = BigInt(MEM_RANGE_ATTR_SIZE);
    return 0;
  }
  check(vmas.length > num, ENOSPC, '.num_mem_ranges %d: %d VMAs overlap the range', num, vmas.length);
  a.num_mem_ranges = vmas.length;
  c.um.copyToUser(vector, memRangeAttrs(vmas));
  return 0;
}

/** Bytes of one xe_vm_fault record. */
const VM_FAULT_SIZE = layoutOf('xe_vm_fault').size;
const PROPERTY_FAULTS = C('DRM_XE_VM_GET_PROPERTY_FAULTS');
/** xe_vm_fault.address_precision: the newest fill_faults reports every address to the 4K page. */
const FAULT_ADDRESS_PRECISION = 4096;

/** The xe_vm_fault records of `faults` (fill_faults: pad and reserved 0). */
function faultRecords(faults: readonly XeVmFault[]): Uint8Array {
  return packArray('xe_vm_fault', faults.map((f) => ({
    address: f.address,
    address_precision: FAULT_ADDRESS_PRECISION,
    access_type: f.accessType,
    fault_type: f.faultType,
    fault_level: f.faultLevel,
  })));
}

/**
 * DRM_IOCTL_XE_VM_GET_PROPERTY (xe_vm_get_property_ioctl, vm_attrs.md 6.1), two calls: size 0
 * asks for the bytes the fault log fills; then the oldest size / 48 records are copied to
 * `data`. Reading leaves the log as it is; a banned or closed-but-listed VM answers too.
 */
function vmGetPropertyIoctl(c: IoctlCtx<VmFile>): number {
  const a = c.args;
  check(a.extensions !== 0n || a.pad !== 0 || nonZero(a.reserved), EINVAL, '.extensions/.pad/.reserved: must be 0');
  const id = a.vm_id as number;
  const vm = c.file.vms.get(id);
  check(!vm, ENOENT, '.vm_id %d: no such VM', id);
  const property = a.property as number;
  check(property !== PROPERTY_FAULTS, EINVAL, '.property %d: only FAULTS (%d)', property, PROPERTY_FAULTS);
  const have = vm!.faults.length * VM_FAULT_SIZE;
  const size = a.size as number;
  if (size === 0) {
    a.size = have;
    return 0;
  }
  check(size > have || size % VM_FAULT_SIZE !== 0, EINVAL, '.size %d: not a multiple of %d or above the %d bytes of the fault log', size, VM_FAULT_SIZE, have);
  c.um.copyToUser(a.data as bigint, faultRecords(vm!.faults.slice(0, size / VM_FAULT_SIZE)));
  return 0;
}

/** VM ioctls. */
export const VM_IOCTLS: IoctlDef<VmFile>[] = [
  { name: 'DRM_IOCTL_XE_VM_CREATE', handler: vmCreateIoctl },
  { name: 'DRM_IOCTL_XE_VM_DESTROY', handler: vmDestroyIoctl },
  { name: 'DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS', handler: vmQueryMemRangeAttrsIoctl },
  { name: 'DRM_IOCTL_XE_VM_GET_PROPERTY', handler: vmGetPropertyIoctl },
];
