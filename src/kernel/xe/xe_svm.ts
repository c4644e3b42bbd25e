/**
 * Shared virtual memory (xe_svm.c over drm_gpusvm.c): the SVM ranges of a VM, the pieces of
 * its CPU_ADDR_MIRROR VMAs that the GPU has faulted (or prefetched) in. GPU VA x mirrors CPU
 * VA x of the process that owns the VM (vm_bind.md 6.4), so a range's pages are the CPU's
 * physical pages at the same addresses, collected from the process's page table.
 *
 * A range is created at a fault address inside a mirror VMA, with the size of the largest
 * chunk (2M, 64K, 4K: xe's fault_chunk_sizes) whose aligned block around the address lies
 * inside the mirror VMA and inside one CPU mapping, and overlaps no other range
 * (drm_gpusvm_range_chunk_size). Ranges are disjoint and never grow.
 *
 * The CPU side is followed through an MMU notifier on the process's Mm: when part of a range
 * is unmapped (munmap, MAP_FIXED over it, exit) the range's PTEs are zapped and the range is
 * dropped, before the pages go; when the PTEs under a range change (an mmap'd BO moved), its
 * PTEs are zapped and its pages forgotten, and the next fault collects them again. Upstream
 * the notifier only zaps and queues UNMAPped ranges on a garbage collector that a worker runs
 * (and that VM_BIND and the fault handler flush first); here the collector runs at once.
 *
 * Not modelled (see docs/divergences.md): migration of ranges to VRAM (devmem; ranges always
 * use the CPU's system pages), the check_pages threshold (every page of a CPU mapping is
 * present here), and the MADVISE_AUTORESET reset the collector does.
 */
import { OrderedMap } from '@js-sdsl/ordered-map';
import { PAGE_SIZE } from '../../hw/memory.js';
import { EFAULT, EINVAL, ENOENT, EPERM } from '../../uapi/errno.js';
import { compareVa } from '../drm/drm_gpuvm.js';
import { check, Errno } from '../os/errno.js';
import type { Mm, MmuEvent, Vma } from '../os/mm.js';
import type { XePt } from './xe_pt.js';
import { XE_VMA_READ_ONLY, XE_VMA_SYSTEM_ALLOCATOR, type XeVma } from './xe_vma.js';

const SZ_4K = 0x1000n;
const SZ_64K = 0x10000n;
const SZ_2M = 0x200000n;
/** xe's fault_chunk_sizes, largest first: the sizes an SVM range may have. */
export const SVM_CHUNK_SIZES: readonly bigint[] = [SZ_2M, SZ_64K, SZ_4K];
const PAGE = BigInt(PAGE_SIZE);

/** What SVM uses of a VM (Vm implements it). */
export interface SvmVm {
  /** 1 << va_bits; 0 once closed. */
  readonly size: bigint;
  readonly closed: boolean;
  readonly pt: XePt | null;
}

/** One SVM range (struct xe_svm_range / drm_gpusvm_range). */
export class SvmRange {
  /** The CPU pages, one per 4K page, once collected (has_dma_mapping); null when not valid. */
  pages: number[] | null = null;
  /** Its PTEs are written (tile_present of tile 0). */
  bound = false;

  constructor(
    readonly start: bigint,
    readonly end: bigint,
  ) {}

  /** Bytes covered. */
  get size(): bigint {
    return this.end - this.start;
  }
}

/** The SVM state of one VM (vm->svm: its drm_gpusvm and the ranges in it). */
export class XeSvm {
  /** Ranges by start address; disjoint. */
  private readonly ranges = new OrderedMap<bigint, SvmRange>([], compareVa);
  private unsubscribe: (() => void) | null;

  /** xe_svm_init: mirrors `mm` (current->mm at VM creation) for `vm`. */
  constructor(
    readonly vm: SvmVm,
    readonly mm: Mm,
  ) {
    this.unsubscribe = mm.subscribe((start, end, event) => this.invalidate(start, end, event));
  }

  /** Every range, in address order. */
  all(): SvmRange[] {
    const out: SvmRange[] = [];
    this.ranges.forEach(([, r]) => out.push(r));
    return out;
  }

  /** drm_gpusvm_has_mapping: whether any range lies (partly) in [start, end). */
  hasMapping(start: bigint, end: bigint): boolean {
    return this.within(start, end).length > 0;
  }

  /**
   * xe_svm_range_find_or_insert: the range holding `addr` (raised to the VMA's start), made
   * when there is none. -EINVAL when `vma` is not a mirror VMA or the address lies past the
   * VM, -ENOENT when no CPU mapping holds the address, -EPERM when the VMA is writable and
   * the CPU mapping is not, -EINVAL when no chunk size fits (drm_gpusvm_range_find_or_insert).
   */
  findOrInsert(vma: XeVma, addr: bigint): SvmRange {
    check((vma.flags & XE_VMA_SYSTEM_ALLOCATOR) === 0, EINVAL, 'SVM range at %x: VMA %x is not a CPU-address mirror', addr, vma.start);
    const a = addr > vma.start ? addr : vma.start;
    check(a > this.vm.size, EINVAL, 'SVM range at %x: past the VM', a);
    const cpu = this.mm.find(a);
    check(!cpu, ENOENT, 'SVM range at %x: no CPU mapping there', a);
    check(!readOnly(vma) && !cpu!.writable, EPERM, 'SVM range at %x: the CPU mapping is not writable', a);
    const found = this.within(a, a + 1n)[0];
    if (found) return found;
    const size = this.chunkSize(vma, cpu!, a);
    check(size === 0n, EINVAL, 'SVM range at %x: no chunk size fits', a);
    const r = new SvmRange(a & -size, (a & -size) + size);
    this.ranges.setElement(r.start, r);
    return r;
  }

  /**
   * drm_gpusvm_range_get_pages: the CPU's physical pages of the range, as the process's page
   * table maps them now; from then on the GPU shares them (Mm.share: marked under a trace).
   * A page not mapped is -EFAULT; one mapped read-only where the VMA is writable is -EPERM
   * (hmm_range_fault with HMM_PFN_REQ_WRITE).
   */
  getPages(vma: XeVma, r: SvmRange): number[] {
    const write = !readOnly(vma);
    const pages: number[] = [];
    for (let va = r.start; va < r.end; va += PAGE) {
      const pa = this.mm.pt.translate(va, write);
      if (pa < 0) {
        check(this.mm.pt.translate(va, false) >= 0, EPERM, 'SVM range %x: CPU page %x is read-only', r.start, va);
        throw new Errno(EFAULT, 'SVM range %x: CPU page %x is not mapped', r.start, va);
      }
      pages.push(pa);
    }
    r.pages = pages;
    this.mm.share(r.start, pages.length);
    return pages;
  }

  /**
   * xe_vm_range_rebind: writes the range's PTEs from its collected pages, with the VMA's
   * pat_index and read-only bit. Errors of the page-table bind (-ENOMEM) leave it unbound.
   */
  bind(vma: XeVma, r: SvmRange): void {
    const pt = this.livePt();
    if (!r.pages) throw new Error('SVM range bound before its pages were collected');
    pt.bind([{ start: Number(r.start), end: Number(r.end), pages: r.pages, patIndex: vma.attrs.patIndex, readOnly: readOnly(vma) }]);
    r.bound = true;
  }

  /**
   * The SVM part of a GPU fault in a mirror VMA (__xe_svm_handle_pagefault, without VRAM
   * migration): finds or makes the range, collects its pages and binds it unless it is
   * already valid. Errors as findOrInsert, getPages and bind.
   */
  fault(vma: XeVma, addr: bigint): SvmRange {
    const r = this.findOrInsert(vma, addr);
    if (r.bound && r.pages) return r;
    this.getPages(vma, r);
    this.bind(vma, r);
    return r;
  }

  /**
   * xe_svm_ranges_zap_ptes_in_range (MADVISE): the bound ranges in [start, end) lose their
   * PTEs (an unbind, as the notifier's zap here) and the next fault rebinds them with the
   * VMA's current attributes. Whether any range had PTEs.
   */
  zap(start: bigint, end: bigint): boolean {
    const bound = this.within(start, end).filter((r) => r.bound);
    for (const r of bound) {
      this.livePt().unbind(Number(r.start), Number(r.end));
      r.bound = false;
    }
    return bound.length > 0;
  }

  /** The garbage collector's work on one range (__xe_svm_garbage_collector): unbind, then drop it. */
  remove(r: SvmRange): void {
    if (r.bound && this.vm.pt && !this.vm.closed) this.vm.pt.unbind(Number(r.start), Number(r.end));
    r.bound = false;
    r.pages = null;
    this.ranges.eraseElementByKey(r.start);
  }

  /** xe_svm_close / xe_svm_fini: stops following the CPU and forgets the ranges (the page tables go with the VM). */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.ranges.clear();
  }

  /**
   * xe_svm_invalidate: [start, end) of the CPU is about to change. Each range in it loses its
   * PTEs (all of them, even when the interval covers only part of the range) and its pages;
   * on an unmap it is also dropped (the garbage collector, run at once here).
   */
  private invalidate(start: bigint, end: bigint, event: MmuEvent): void {
    if (this.vm.closed) return;
    for (const r of this.within(start, end)) {
      if (event === 'unmap') {
        this.remove(r);
        continue;
      }
      if (r.bound) this.livePt().unbind(Number(r.start), Number(r.end));
      r.bound = false;
      r.pages = null;
    }
  }

  /**
   * drm_gpusvm_range_chunk_size: the largest chunk whose aligned block around `a` lies in
   * the mirror VMA and the CPU mapping and, unless 4K, overlaps no range; 0 when none fits.
   * (The 512M notifier bounds drm_gpusvm adds cannot cut a 2M-aligned block.)
   */
  private chunkSize(vma: XeVma, cpu: Vma, a: bigint): bigint {
    const cpuStart = this.mm.pt.pageAddr(cpu.first);
    const cpuEnd = this.mm.pt.pageAddr(cpu.first + cpu.count);
    for (const size of SVM_CHUNK_SIZES) {
      const start = a & -size;
      const end = start + size;
      if (start < vma.start || end > vma.end || start < cpuStart || end > cpuEnd) continue;
      if (size !== SZ_4K && this.within(start, end).length) continue;
      return size;
    }
    return 0n;
  }

  /** Ranges overlapping [start, end), in order. */
  private within(start: bigint, end: bigint): SvmRange[] {
    const out: SvmRange[] = [];
    let it = this.ranges.reverseLowerBound(start);
    if (it.equals(this.ranges.end())) it = this.ranges.begin();
    for (; !it.equals(this.ranges.end()); it.next()) {
      const r = it.pointer[1];
      if (r.start >= end) break;
      if (r.end > start) out.push(r);
    }
    return out;
  }

  private livePt(): XePt {
    const pt = this.vm.pt;
    if (!pt) throw new Error('SVM: the VM has no page tables');
    return pt;
  }
}

function readOnly(vma: XeVma): boolean {
  return (vma.flags & XE_VMA_READ_ONLY) !== 0;
}

/** The SVM state of each VM that has one. */
const svms = new WeakMap<SvmVm, XeSvm>();

/** xe_svm_init for `vm`, mirroring `mm`: its SVM state (the one it has, if any). */
export function svmInit(vm: SvmVm, mm: Mm): XeSvm {
  let s = svms.get(vm);
  if (!s) svms.set(vm, (s = new XeSvm(vm, mm)));
  return s;
}

/** The SVM state of `vm`, if svmInit made one. */
export function svmOf(vm: SvmVm): XeSvm | undefined {
  return svms.get(vm);
}

/** xe_svm_close + fini: `vm` stops mirroring its process. */
export function svmClose(vm: SvmVm): void {
  svms.get(vm)?.close();
  svms.delete(vm);
}

/**
 * xe_svm_has_mapping: whether [start, end) of `vm` holds an SVM range. VM_BIND answers
 * -EBUSY for an UNMAP or REMAP of a mirror VMA that removes such an interval (6.4).
 */
export function hasMapping(vm: SvmVm, start: bigint, end: bigint): boolean {
  return svms.get(vm)?.hasMapping(start, end) ?? false;
}
