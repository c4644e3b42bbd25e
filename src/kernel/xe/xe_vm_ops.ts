/**
 * The VMA side of VM_BIND (xe_vm.c vm_bind_ioctl_ops_create / _parse / xe_vma_op_commit /
 * op_lock_and_prep / _unwind / _fini, and the per-VMA page-table steps of xe_pt.c):
 * shared/spec/vm_bind.md 3.3-3.7, 4.1-4.3, 6.1-6.2.
 *
 * A `VmaOps` collects the ops of one ioctl. Each bind op's ops are generated from the tree as
 * committed so far and committed at once (S3); then the checks that need the whole list run
 * (S7: check_ufence, prefetch placement); then the page-table work of every op is staged into
 * one update of the VM's tree (S8). Any failure unwinds all of it: the update is aborted (the
 * page-table bytes never changed) and the ops are undone from the last to the first, so the
 * VMA tree holds the very same VMAs as before.
 *
 * Every VMA with a BO holds a GEM reference from its creation until it is destroyed: by
 * unwind, by the bind job that unbinds it (when the job has run), or by VM close.
 *
 * The per-VMA helpers (`xeVmaPages`, `xeVmaBindRange`, `xeVmaStageBind`, `xeVmaUserptrPin`,
 * `xeBoMoveToRegion`) are exported for the fault and prefetch paths built on this file.
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import { EBUSY, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import type { GpuvaOp, GpuvaOpRemap } from '../drm/drm_gpuvm.js';
import type { GemObject } from '../drm/drm_gem.js';
import { check, Errno } from '../os/errno.js';
import type { UserMemory } from '../os/uaccess.js';
import { gemToBo, type Bo } from './xe_bo.js';
import { maxPteSize, PTE_1G, PTE_2M, PTE_4K, PTE_64K, remapUnbindRange, type BindRange, type PtUpdate, type XePt } from './xe_pt.js';
import { hasMapping } from './xe_svm.js';
import type { Vm } from './xe_vm.js';
import {
  defaultMemAttr, XE_VMA_DUMPABLE, XE_VMA_MADV_AUTORESET, XE_VMA_NULL, XE_VMA_READ_ONLY, XE_VMA_SYSTEM_ALLOCATOR,
  type VmaUfence, type XeVma, type XeVmaMemAttr, type XeVmaPriv,
} from './xe_vma.js';

export const OP_MAP = C('DRM_XE_VM_BIND_OP_MAP');
export const OP_UNMAP = C('DRM_XE_VM_BIND_OP_UNMAP');
export const OP_MAP_USERPTR = C('DRM_XE_VM_BIND_OP_MAP_USERPTR');
export const OP_UNMAP_ALL = C('DRM_XE_VM_BIND_OP_UNMAP_ALL');
export const OP_PREFETCH = C('DRM_XE_VM_BIND_OP_PREFETCH');
export const FLAG_READONLY = C('DRM_XE_VM_BIND_FLAG_READONLY');
export const FLAG_IMMEDIATE = C('DRM_XE_VM_BIND_FLAG_IMMEDIATE');
export const FLAG_NULL = C('DRM_XE_VM_BIND_FLAG_NULL');
export const FLAG_DUMPABLE = C('DRM_XE_VM_BIND_FLAG_DUMPABLE');
export const FLAG_CPU_ADDR_MIRROR = C('DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR');
export const FLAG_MADVISE_AUTORESET = C('DRM_XE_VM_BIND_FLAG_MADVISE_AUTORESET');
/** DRM_XE_CONSULT_MEM_ADVISE_PREF_LOC as the u32 the struct holds. */
export const REGION_PREF_LOC = 0xffffffff;

/** A GPU VA op on an xe VM. */
export type XeVmaOp = GpuvaOp<GemObject, XeVmaMemAttr, XeVmaPriv>;

/** One checked bind op (drm_xe_vm_bind_op after the ioctl's checks and BO lookup). */
export interface BindOpArgs {
  op: number;
  flags: number;
  bo: Bo | null;
  /** obj_offset, or the CPU address of MAP_USERPTR. */
  offset: bigint;
  addr: bigint;
  range: bigint;
  patIndex: number;
  /** prefetch_mem_region_instance. */
  region: number;
}

/** A userptr VMA: no object, neither NULL nor a CPU address mirror. */
export function xeVmaIsUserptr(va: XeVma): boolean {
  return !va.obj && !(va.flags & (XE_VMA_NULL | XE_VMA_SYSTEM_ALLOCATOR));
}

/** A CPU address mirror VMA (XE_VMA_SYSTEM_ALLOCATOR). */
export function xeVmaIsMirror(va: XeVma): boolean {
  return (va.flags & XE_VMA_SYSTEM_ALLOCATOR) !== 0;
}

/** The VMA's private state (created with the VMA by this module). */
function priv(va: XeVma): XeVmaPriv {
  return va.priv ?? (va.priv = { pteFlags: 0, tilePresent: 0, ufence: null, userptrPages: null });
}

/**
 * Pins the CPU pages behind a userptr range (xe_vma_userptr_pin_pages via hmm_range_fault):
 * the physical page of each 4K page of [cpuAddr, cpuAddr + range) of the calling process.
 * A page not mapped (for writing unless `readOnly`) is -EFAULT.
 */
export function xeVmaUserptrPin(um: UserMemory, cpuAddr: bigint, range: bigint, readOnly: boolean): number[] {
  if (!um.getUserPages) throw new Errno(EFAULT, 'userptr %x: user memory has no page access', cpuAddr);
  return um.getUserPages(cpuAddr, Number(range / BigInt(PAGE_SIZE)), !readOnly);
}

/** The physical page behind each 4K page of `va`; null for a NULL (or mirror) VMA. */
export function xeVmaPages(va: XeVma): number[] | null {
  const count = Number(va.range / BigInt(PAGE_SIZE));
  if (va.obj) {
    const first = Number(va.offset / BigInt(PAGE_SIZE));
    return Array.from({ length: count }, (_, k) => va.obj!.page(first + k));
  }
  const pages = va.priv?.userptrPages;
  return pages ? [...pages] : null;
}

/**
 * AE for system-memory leaves (5.4, [A] rule: xe_atomic_for_system): the device has atomics
 * on system memory (taken as every device: has_device_atomics_on_smem) and it is an iGPU,
 * or the VM is not long-running, or the BO has one placement.
 */
function atomicForSystem(vm: Vm, bo: Bo | null): boolean {
  return !vm.dev.profile.isDgfx || !vm.lrMode || (bo !== null && (bo.placement & (bo.placement - 1)) === 0);
}

/** The bind range of `va` for its VM's page tables (invalidate-on-bind when `invalidate`). */
export function xeVmaBindRange(vm: Vm, va: XeVma, invalidate = false): BindRange {
  return {
    start: Number(va.start),
    end: Number(va.end),
    pages: invalidate ? null : xeVmaPages(va),
    patIndex: va.attrs.patIndex,
    readOnly: (va.flags & XE_VMA_READ_ONLY) !== 0,
    atomicSysmem: atomicForSystem(vm, va.obj ? gemToBo(va.obj) : null),
    invalidate,
  };
}

/** Stages the PTEs of `va` into `u` (bind_op_prepare) and records its PTE sizes and presence. */
export function xeVmaStageBind(vm: Vm, pt: XePt, u: PtUpdate, va: XeVma, invalidate = false): void {
  const [flags] = pt.stageBind(u, [xeVmaBindRange(vm, va, invalidate)]);
  const p = priv(va);
  p.pteFlags = flags;
  p.tilePresent = 1;
}

/**
 * The "move the BO to region r" step of PREFETCH (xe_bo_migrate). Region -1 is the BO's first
 * VRAM placement, else system memory. A region outside the BO's placements is -EINVAL.
 * Migration itself is not built yet: a BO that is not already in the region is -EOPNOTSUPP
 * (divergences.md).
 */
export function xeBoMoveToRegion(bo: Bo, region: number): void {
  let r = region;
  if (r === REGION_PREF_LOC) {
    const vram = bo.placement & ~1;
    r = vram ? 31 - Math.clz32(vram & -vram) : 0;
  }
  check(!(bo.placement & (1 << r)), EINVAL, 'prefetch region %d: not a placement of the BO (%x)', r, bo.placement);
  check(bo.region !== r, EOPNOTSUPP, 'prefetch region %d: BO migration (from region %d) is not emulated yet', r, bo.region);
}

/** The PTE_* flag of a PTE size (a skipped REMAP piece records maxpte(old)). */
function pteFlagOfSize(size: number): number {
  return size >= 1 << 30 ? PTE_1G : size >= 1 << 21 ? PTE_2M : size >= 1 << 16 ? PTE_64K : PTE_4K;
}

/** The ops of one ioctl, with what each bind op asked for. */
export class VmaOps {
  readonly ops: XeVmaOp[] = [];
  /** The bind flags and prefetch region behind each op. */
  private readonly meta = new Map<XeVmaOp, { flags: number; region: number }>();
  /** State of existing VMAs changed by PREFETCH, restored by unwind. */
  private readonly saved = new Map<XeVma, XeVmaPriv>();
  /** The staged page-table update, once S8 began. */
  update: PtUpdate | null = null;

  /**
   * `inject` is the device's fault injection: true makes the step consulting it fail
   * (VMA creation and page-table steps).
   */
  constructor(
    readonly vm: Vm,
    private readonly um: UserMemory,
    private readonly inject: () => boolean,
  ) {}

  /** S3 for one bind op: its ops from the current tree, each parsed and committed. */
  createAndCommit(b: BindOpArgs): void {
    for (const op of this.create(b)) {
      this.meta.set(op, { flags: b.flags, region: b.region });
      this.ops.push(op);
      this.commit(op, b);
    }
  }

  /** vm_bind_ioctl_ops_create. */
  private create(b: BindOpArgs): XeVmaOp[] {
    const g = this.vm.gpuvm;
    switch (b.op) {
      case OP_MAP:
      case OP_MAP_USERPTR: {
        const nul = (b.flags & (FLAG_NULL | FLAG_CPU_ADDR_MIRROR)) !== 0;
        return g.smMapOpsCreate({
          start: b.addr, range: b.range, obj: b.bo, offset: nul ? 0n : b.offset,
          flags: vmaFlags(b.flags), attrs: defaultMemAttr(b.patIndex),
        });
      }
      case OP_UNMAP:
        return g.smUnmapOpsCreate(b.addr, b.range);
      case OP_UNMAP_ALL:
        return g.boUnmapOpsCreate(b.bo!);
      default:
        return g.prefetchOpsCreate(b.addr, b.range);
    }
  }

  /** vm_bind_ioctl_ops_parse + xe_vma_op_commit of one op. */
  private commit(op: XeVmaOp, b: BindOpArgs): void {
    const g = this.vm.gpuvm;
    switch (op.op) {
      case 'map': {
        const userptr = b.op === OP_MAP_USERPTR;
        const pages = userptr ? xeVmaUserptrPin(this.um, b.offset, b.range, (b.flags & FLAG_READONLY) !== 0) : null;
        this.allocVma();
        g.commit(op);
        this.adopt(op.va!, { pteFlags: 0, tilePresent: 0, ufence: null, userptrPages: pages });
        return;
      }
      case 'remap':
        return this.commitRemap(op);
      case 'unmap':
        this.checkSvm(op.va, op.va.start, op.va.end);
        g.commit(op);
        return;
      case 'prefetch':
        if (xeVmaIsUserptr(op.va)) {
          const p = priv(op.va);
          if (!this.saved.has(op.va)) this.saved.set(op.va, { ...p });
          p.userptrPages = xeVmaUserptrPin(this.um, op.va.offset, op.va.range, (op.va.flags & XE_VMA_READ_ONLY) !== 0);
        }
        return;
    }
  }

  /** REMAP: pieces take old's state; skipped pieces keep its PTEs (3.7), userptr pieces are pinned again. */
  private commitRemap(op: GpuvaOpRemap<GemObject, XeVmaMemAttr, XeVmaPriv>): void {
    const old = op.va;
    this.checkSvm(old, op.prev ? op.prev.start + op.prev.range : old.start, op.next ? op.next.start : old.end);
    const userptr = xeVmaIsUserptr(old);
    const ro = (old.flags & XE_VMA_READ_ONLY) !== 0;
    const prevPages = userptr && op.prev ? xeVmaUserptrPin(this.um, op.prev.offset, op.prev.range, ro) : null;
    const nextPages = userptr && op.next ? xeVmaUserptrPin(this.um, op.next.offset, op.next.range, ro) : null;
    if (op.prev) this.allocVma();
    if (op.next) this.allocVma();
    this.vm.gpuvm.commit(op);
    const skip = this.remapSkip(op);
    const o = priv(old);
    const piece = (skipped: boolean, pages: number[] | null): XeVmaPriv => ({
      pteFlags: skipped ? pteFlagOfSize(maxPteSize(o.pteFlags)) : 0,
      tilePresent: skipped ? o.tilePresent : 0,
      ufence: null,
      userptrPages: pages,
    });
    if (op.prevVa) this.adopt(op.prevVa, piece(skip.skipPrev, prevPages));
    if (op.nextVa) this.adopt(op.nextVa, piece(skip.skipNext, nextPages));
  }

  /** The skip rule of a committed REMAP. */
  private remapSkip(op: GpuvaOpRemap<GemObject, XeVmaMemAttr, XeVmaPriv>): ReturnType<typeof remapUnbindRange> {
    const old = op.va;
    const span = (m: { start: bigint; range: bigint } | null) => m && { start: Number(m.start), end: Number(m.start + m.range) };
    return remapUnbindRange({
      old: { start: Number(old.start), end: Number(old.end), userptr: xeVmaIsUserptr(old), mirror: xeVmaIsMirror(old), pteFlags: priv(old).pteFlags },
      prev: span(op.prev) ?? undefined,
      next: span(op.next) ?? undefined,
    });
  }

  /** A mirror VMA loses [start, end): -EBUSY while SVM ranges are mapped there (xe_svm_has_mapping). */
  private checkSvm(va: XeVma, start: bigint, end: bigint): void {
    check(xeVmaIsMirror(va) && hasMapping(this.vm, start, end), EBUSY, 'mirror VMA [%x, %x): SVM ranges are mapped there', start, end);
  }

  /** A kernel allocation of a VMA (xe_vma_create): the injection point of S3. */
  private allocVma(): void {
    if (this.inject()) throw new Errno(ENOMEM, 'no memory for a VMA (injected)');
  }

  /** A VMA this ioctl created: its state, and a reference on its BO. */
  private adopt(va: XeVma, p: XeVmaPriv): void {
    va.priv = p;
    va.obj?.get();
  }

  /** S7 (op_lock_and_prep): check_ufence for REMAP / UNMAP, placement for PREFETCH. */
  prepare(): void {
    for (const op of this.ops) {
      if (op.op === 'remap' || op.op === 'unmap') checkUfence(op.va);
      else if (op.op === 'prefetch' && op.va.obj) xeBoMoveToRegion(gemToBo(op.va.obj), this.meta.get(op)!.region);
    }
  }

  /** Whether any op has page-table work (3.7 table); none means the "no data" path. */
  hasPtWork(): boolean {
    return this.ops.some((op) => this.ptWork(op));
  }

  private ptWork(op: XeVmaOp): boolean {
    switch (op.op) {
      case 'map':
        return !xeVmaIsMirror(op.va!) && (this.eager(op) || this.vm.scratchPage);
      case 'prefetch':
        return !xeVmaIsMirror(op.va);
      default:
        return !xeVmaIsMirror(op.va);
    }
  }

  /** A MAP whose PTEs are written now: not a fault-mode VM, or IMMEDIATE. */
  private eager(op: XeVmaOp): boolean {
    return !this.vm.faultMode || (this.meta.get(op)!.flags & FLAG_IMMEDIATE) !== 0;
  }

  /** S8 (xe_pt_update_ops_prepare): stages every op's page-table work into one update. */
  stagePt(): void {
    const pt = this.vm.pt!;
    const u = (this.update = pt.begin());
    const prevHook = pt.injectFault;
    pt.injectFault = this.inject;
    try {
      for (const op of this.ops) if (this.ptWork(op)) this.stageOp(pt, u, op);
    } finally {
      pt.injectFault = prevHook;
    }
  }

  private stageOp(pt: XePt, u: PtUpdate, op: XeVmaOp): void {
    if (this.inject()) throw new Errno(ENOMEM, 'no memory for a page-table update (injected)');
    switch (op.op) {
      case 'map':
        xeVmaStageBind(this.vm, pt, u, op.va!, !this.eager(op));
        return;
      case 'unmap':
        if (priv(op.va).tilePresent) pt.stageUnbind(u, Number(op.va.start), Number(op.va.end));
        return;
      case 'remap': {
        const r = this.remapSkip(op);
        if (priv(op.va).tilePresent && r.start < r.end) pt.stageUnbind(u, r.start, r.end);
        if (op.prevVa && !r.skipPrev) xeVmaStageBind(this.vm, pt, u, op.prevVa);
        if (op.nextVa && !r.skipNext) xeVmaStageBind(this.vm, pt, u, op.nextVa);
        return;
      }
      case 'prefetch':
        if (!this.saved.has(op.va)) this.saved.set(op.va, { ...priv(op.va) });
        xeVmaStageBind(this.vm, pt, u, op.va);
        return;
    }
  }

  /** vm_bind_ioctl_ops_unwind: the update aborted, the ops undone last to first, new VMAs' references dropped. */
  unwind(): void {
    if (this.update) this.vm.pt!.abort(this.update);
    this.update = null;
    for (const op of this.ops) {
      if (op.op === 'map') op.va?.obj?.put();
      else if (op.op === 'remap' && op.committed) [op.prevVa, op.nextVa].forEach((v) => v?.obj?.put());
    }
    this.vm.gpuvm.unwind(this.ops);
    for (const [va, p] of this.saved) va.priv = p;
  }

  /**
   * vm_bind_ioctl_ops_fini at submission: the user fence is remembered by every VMA the ops
   * created or prefetched; returns the VMAs removed from the tree, whose BO references go
   * when the job has run.
   */
  finish(ufence: VmaUfence | null): XeVma[] {
    const removed: XeVma[] = [];
    for (const op of this.ops) {
      if (op.op === 'unmap' || op.op === 'remap') removed.push(op.va);
      const created = op.op === 'map' ? [op.va] : op.op === 'remap' ? [op.prevVa, op.nextVa] : op.op === 'prefetch' ? [op.va] : [];
      if (ufence) for (const va of created) if (va) priv(va).ufence = ufence;
    }
    this.vm.gpuvm.finish(this.ops);
    return removed;
  }
}

/** check_ufence: -EBUSY while the VMA's bind user fence is unwritten; a written one is dropped. */
function checkUfence(va: XeVma): void {
  const p = priv(va);
  check(!!p.ufence && !p.ufence.signalled, EBUSY, 'VMA %x + %x: its bind user fence has not been written yet', va.start, va.range);
  p.ufence = null;
}

/** The VMA flags of a MAP's bind flags (new_vma). */
function vmaFlags(bindFlags: number): number {
  let f = 0;
  if (bindFlags & FLAG_READONLY) f |= XE_VMA_READ_ONLY;
  if (bindFlags & FLAG_NULL) f |= XE_VMA_NULL;
  if (bindFlags & FLAG_DUMPABLE) f |= XE_VMA_DUMPABLE;
  if (bindFlags & FLAG_CPU_ADDR_MIRROR) f |= XE_VMA_SYSTEM_ALLOCATOR;
  if (bindFlags & FLAG_MADVISE_AUTORESET) f |= XE_VMA_MADV_AUTORESET;
  return f;
}
