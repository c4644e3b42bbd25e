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
 * PREFETCH migrates a BO VMA's BO (S7) and re-binds it; a mirror VMA's PREFETCH binds the SVM
 * ranges it found or made (S3) once their pages are collected (S6). VMAs that stay get their
 * BO's WILLNEED hold and the VM's BO move notifier, and a userptr its CPU notifier
 * (xe_userptr.ts); VMAs removed lose them.
 *
 * The per-VMA helpers (`xeVmaPages`, `xeVmaBindRange`, `xeVmaStageBind`, `xeVmaRebind`,
 * `xeVmaValid`, `xeBoMoveToRegion`) serve the fault path (xe_pagefault.ts).
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import { EBUSY, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, EPERM } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import type { GpuvaOp, GpuvaOpRemap } from '../drm/drm_gpuvm.js';
import type { GemObject } from '../drm/drm_gem.js';
import { check, Errno } from '../os/errno.js';
import type { Mm } from '../os/mm.js';
import type { UserMemory } from '../os/uaccess.js';
import { gemToBo, preferredRegion, type Bo, type BoMoveNotifier } from './xe_bo.js';
import { maxPteSize, PTE_1G, PTE_2M, PTE_4K, PTE_64K, remapUnbindRange, type BindRange, type PtUpdate, type XePt } from './xe_pt.js';
import { hasMapping, svmOf, type SvmRange } from './xe_svm.js';
import { userptrTrack, userptrUntrack, xeVmaUserptrPin } from './xe_userptr.js';
import { setVmaBoRelease, type Vm } from './xe_vm.js';
import {
  defaultMemAttr, PURGEABLE_DONTNEED, PURGEABLE_PURGED, PURGEABLE_WILLNEED, XE_VMA_DUMPABLE, XE_VMA_MADV_AUTORESET, XE_VMA_NULL, XE_VMA_READ_ONLY, XE_VMA_SYSTEM_ALLOCATOR,
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

/**
 * The bind range of `va` for its VM's page tables (invalidate-on-bind when `invalidate`). A
 * purged BO's VMA maps NULL leaves, which read 0 (xelp_pte_encode_vma).
 */
export function xeVmaBindRange(vm: Vm, va: XeVma, invalidate = false): BindRange {
  const purged = !!va.obj && gemToBo(va.obj).purgeable === PURGEABLE_PURGED;
  return {
    start: Number(va.start),
    end: Number(va.end),
    pages: invalidate || purged ? null : xeVmaPages(va),
    patIndex: va.attrs.patIndex,
    readOnly: (va.flags & XE_VMA_READ_ONLY) !== 0,
    atomicSysmem: atomicForSystem(vm, va.obj ? gemToBo(va.obj) : null),
    invalidate,
  };
}

/**
 * Stages the PTEs of `va` into `u` (bind_op_prepare) and records its PTE sizes and presence.
 * An invalidate-on-bind leaves the VMA invalidated on the tile (the fault path rebinds it);
 * a real bind makes it valid.
 */
export function xeVmaStageBind(vm: Vm, pt: XePt, u: PtUpdate, va: XeVma, invalidate = false): void {
  const [flags] = pt.stageBind(u, [xeVmaBindRange(vm, va, invalidate)]);
  const p = priv(va);
  p.pteFlags = flags;
  p.tilePresent = 1;
  p.tileInvalidated = invalidate ? 1 : 0;
}

/**
 * The PREFETCH step of op_lock_and_prep for a BO VMA: a BO marked DONTNEED is -EBUSY, a purged
 * one -EINVAL (check_purged); then the BO moves to region `region` (xe_bo_migrate: 0 system
 * memory, N VRAM of tile N-1). Region -1 (DRM_XE_CONSULT_MEM_ADVISE_PREF_LOC) is the BO's
 * first VRAM placement, else system memory (verified: kernel-patches/bpf@23930d501849
 * xe_vm.c). A region outside the BO's placement is -EINVAL, no room -ENOMEM (Bo.migrate).
 */
export function xeBoMoveToRegion(bo: Bo, region: number): void {
  checkPurgeable(bo, 'prefetch');
  bo.migrate(region === REGION_PREF_LOC ? preferredRegion(bo) : region);
}

/** A BO marked DONTNEED is -EBUSY, a purged one -EINVAL (for a new VMA or a PREFETCH; `what` says which). */
function checkPurgeable(bo: Bo, what: string): void {
  check(bo.purgeable === PURGEABLE_DONTNEED, EBUSY, '%s: the BO is marked DONTNEED', what);
  check(bo.purgeable === PURGEABLE_PURGED, EINVAL, '%s: the BO was purged', what);
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
  /** The skip rule of each REMAP, decided when it is committed (vm_bind_ioctl_ops_parse) and kept for staging. */
  private readonly skips = new Map<XeVmaOp, ReturnType<typeof remapUnbindRange>>();
  /** State of existing VMAs changed by PREFETCH, restored by unwind. */
  private readonly saved = new Map<XeVma, XeVmaPriv>();
  /** The SVM ranges each PREFETCH of a mirror VMA binds (found or created in S3, not yet valid). */
  private readonly svmPrefetch = new Map<XeVmaOp, SvmRange[]>();
  /** The staged page-table update, once S8 began. */
  update: PtUpdate | null = null;

  /**
   * `um` and `mm` are the calling process's (userptr pins, and the notifier that follows
   * them); `inject` is the device's fault injection: true makes the step consulting it fail
   * (VMA creation and page-table steps).
   */
  constructor(
    readonly vm: Vm,
    private readonly um: UserMemory,
    private readonly inject: () => boolean,
    private readonly mm: Mm | null = null,
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
        const [start, end] = b.flags & FLAG_CPU_ADDR_MIRROR ? mirrorMapRange(this.vm, b.addr, b.addr + b.range) : [b.addr, b.addr + b.range];
        return g.smMapOpsCreate({
          start, range: end - start, obj: b.bo, offset: nul ? 0n : b.offset,
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
        // xe_vma_create [B]: a new VMA of a purgeable BO (REMAP pieces inherit their state instead).
        if (b.bo) checkPurgeable(gemToBo(b.bo), 'map');
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
        if (xeVmaIsMirror(op.va)) this.svmPrefetch.set(op, this.svmRangesToPrefetch(op.va, b.addr, b.addr + b.range));
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
    this.skips.set(op, skip);
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

  /**
   * The SVM ranges of mirror VMA `va` covering [start, end) that are not valid yet, found or
   * created (vm_bind_ioctl_ops_create for a mirror PREFETCH): addresses with no CPU mapping
   * are skipped; other range errors fail the bind. Created ranges stay on unwind (as upstream).
   */
  private svmRangesToPrefetch(va: XeVma, start: bigint, end: bigint): SvmRange[] {
    const svm = svmOf(this.vm);
    if (!svm) return [];
    const s = start > va.start ? start : va.start;
    const e = end < va.end ? end : va.end;
    const out: SvmRange[] = [];
    for (const cpu of svm.mm.overlapping(s, e - s)) {
      const cpuEnd = svm.mm.pt.pageAddr(cpu.first + cpu.count);
      let a = svm.mm.pt.pageAddr(cpu.first);
      if (a < s) a = s;
      while (a < e && a < cpuEnd) {
        const r = svm.findOrInsert(va, a);
        if (!(r.bound && r.pages)) out.push(r);
        a = r.end;
      }
    }
    return out;
  }

  /**
   * S6 (prefetch_ranges): collects the pages of every SVM range a mirror PREFETCH binds (they
   * stay in system memory: no VRAM migration, divergences.md). -EFAULT / -EPERM /
   * -EOPNOTSUPP from the collection make the whole ioctl a "no data" success: false.
   */
  prefetchSvm(): boolean {
    const svm = svmOf(this.vm);
    for (const [op, ranges] of this.svmPrefetch) {
      for (const r of ranges) {
        try {
          svm!.getPages(op.va!, r);
        } catch (e) {
          if (e instanceof Errno && (e.errno === EFAULT || e.errno === EPERM || e.errno === EOPNOTSUPP)) return false;
          throw e;
        }
      }
    }
    return true;
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
        return !xeVmaIsMirror(op.va) || (this.svmPrefetch.get(op)?.length ?? 0) > 0;
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
        // The decision made at commit: old may be a VMA of this very ioctl, whose PTE sizes
        // staging has only just set (upstream's are unset while the ops are parsed).
        const r = this.skips.get(op)!;
        if (priv(op.va).tilePresent && r.start < r.end) pt.stageUnbind(u, r.start, r.end);
        if (op.prevVa && !r.skipPrev) xeVmaStageBind(this.vm, pt, u, op.prevVa);
        if (op.nextVa && !r.skipNext) xeVmaStageBind(this.vm, pt, u, op.nextVa);
        return;
      }
      case 'prefetch': {
        const ranges = this.svmPrefetch.get(op);
        if (ranges) {
          const ro = (op.va.flags & XE_VMA_READ_ONLY) !== 0;
          pt.stageBind(u, ranges.map((r) => ({ start: Number(r.start), end: Number(r.end), pages: r.pages, patIndex: op.va.attrs.patIndex, readOnly: ro })));
          return;
        }
        if (!this.saved.has(op.va)) this.saved.set(op.va, { ...priv(op.va) });
        xeVmaStageBind(this.vm, pt, u, op.va);
        return;
      }
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
    const created: XeVma[] = [];
    for (const op of this.ops) {
      if (op.op === 'unmap' || op.op === 'remap') removed.push(op.va);
      const made = op.op === 'map' ? [op.va] : op.op === 'remap' ? [op.prevVa, op.nextVa] : [];
      for (const va of made) if (va) created.push(va);
      if (ufence) for (const va of op.op === 'prefetch' ? [op.va] : made) if (va) priv(va).ufence = ufence;
      if (this.update) for (const r of this.svmPrefetch.get(op) ?? []) r.bound = true;
    }
    this.vm.gpuvm.finish(this.ops);
    for (const va of created) this.adoptCreated(va);
    for (const va of removed) this.dropRemoved(va);
    return removed;
  }

  /**
   * A VMA this ioctl created stays: a userptr follows its CPU range, a BO VMA counts as a
   * WILLNEED holder of its BO (xe_vma_create) and the VM hears when the BO moves.
   */
  private adoptCreated(va: XeVma): void {
    if (xeVmaIsUserptr(va) && this.mm) userptrTrack(this.vm, va, this.mm, this.um);
    if (!va.obj) return;
    const bo = gemToBo(va.obj);
    if (va.attrs.purgeableState === PURGEABLE_WILLNEED && bo.dev === this.vm.dev) bo.willneedGet();
    bo.moveNotifiers.add(boMoveNotifier(this.vm));
  }

  /** A VMA this ioctl removed: its notifier goes, its BO loses a WILLNEED holder (xe_vma_destroy). */
  private dropRemoved(va: XeVma): void {
    userptrUntrack(va);
    boRelease(this.vm, va);
  }
}

/**
 * The BO side of destroying BO VMA `va` of `vm` (xe_vma_destroy): one WILLNEED holder less,
 * and the VM stops hearing of moves once no VMA of it maps the BO.
 */
function boRelease(vm: Vm, va: XeVma): void {
  if (!va.obj) return;
  const bo = gemToBo(va.obj);
  const mapped = vm.gpuvm.isLinked(va.obj);
  if (va.attrs.purgeableState === PURGEABLE_WILLNEED && bo.dev === vm.dev) bo.willneedPut(mapped);
  if (!mapped) bo.moveNotifiers.delete(boMoveNotifier(vm));
}

setVmaBoRelease(boRelease);

/** Whether `va` has the default memory attributes (xe_vma_has_default_mem_attrs; purgeable state aside). */
function hasDefaultMemAttrs(va: XeVma): boolean {
  const a = va.attrs;
  return a.atomicAccess === 0 && a.patIndex === a.defaultPatIndex && a.preferredLoc.devmemFd === 0 && a.preferredLoc.migrationPolicy === 0;
}

/**
 * xe_vm_find_cpu_addr_mirror_vma_range: a mirror MAP of [start, end) is widened over the
 * mirror VMA right before it and the one right after it when they have default attributes,
 * so neighbouring default mirror VMAs become one (vm_bind.md 6.4, vm_attrs.md 3).
 */
function mirrorMapRange(vm: Vm, start: bigint, end: bigint): [bigint, bigint] {
  const widens = (va: XeVma | undefined): va is XeVma => !!va && xeVmaIsMirror(va) && hasDefaultMemAttrs(va);
  const prev = start >= BigInt(PAGE_SIZE) ? vm.gpuvm.findFirst(start - 1n, 1n) : undefined;
  const next = end < vm.size ? vm.gpuvm.findFirst(end, 1n) : undefined;
  return [widens(prev) ? prev.start : start, widens(next) ? next.end : end];
}

/** The move notifier of each VM (one per VM, on every BO it maps). */
const moveNotifiers = new WeakMap<Vm, BoMoveNotifier>();

/**
 * The VM's BO move notifier (xe_bo_move_notify -> xe_bo_trigger_rebind): after a BO moved,
 * each VMA of it whose PTEs are live points at the old pages. A fault-mode VM zaps them and
 * marks the VMA invalidated (the next GPU access faults and rebinds); another VM rebinds them
 * at once with the new pages (its rebind worker's job), zapping instead when the rebind
 * fails. A closed VM, or one that no longer maps the BO, unsubscribes.
 */
export function boMoveNotifier(vm: Vm): BoMoveNotifier {
  let fn = moveNotifiers.get(vm);
  if (fn) return fn;
  fn = (bo: Bo): void => {
    const vmas = vm.closed ? [] : vm.gpuvm.linked(bo);
    if (vmas.length === 0) bo.moveNotifiers.delete(fn!);
    for (const va of vmas) if (xeVmaValid(va)) rebindMoved(vm, va);
  };
  moveNotifiers.set(vm, fn);
  return fn;
}

/** Whether `va`'s PTEs are written on tile 0 and not invalidated since (xe_vm_has_valid_gpu_mapping). */
export function xeVmaValid(va: XeVma): boolean {
  const p = va.priv;
  return !!p && (p.tilePresent & ~(p.tileInvalidated ?? 0) & 1) !== 0;
}

/** Marks `va` invalidated on the tile after zapping its PTEs (xe_vm_invalidate_vma). */
function invalidateVma(vm: Vm, va: XeVma): void {
  const pt = vm.pt!;
  pt.zap(Number(va.start), Number(va.end));
  pt.invalidate({ start: Number(va.start), end: Number(va.end), reason: 'rebind' });
  priv(va).tileInvalidated = 1;
}

/** The PTEs of `va` rewritten now, applied at once (xe_vma_rebind); errors as XePt.bind. */
export function xeVmaRebind(vm: Vm, va: XeVma): void {
  const pt = vm.pt!;
  pt.now((u) => xeVmaStageBind(vm, pt, u, va));
}

function rebindMoved(vm: Vm, va: XeVma): void {
  if (!vm.faultMode) {
    try {
      return xeVmaRebind(vm, va);
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
    }
  }
  invalidateVma(vm, va);
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
