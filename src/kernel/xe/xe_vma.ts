/**
 * The Xe side of a GPU mapping (xe_vm_types.h struct xe_vma): the flag bits xe adds to a
 * drm_gpuva, the memory attributes every VMA carries (struct xe_vma_mem_attr,
 * shared/spec/vm_attrs.md section 3) and the driver-private state kept in the VMA's `priv`.
 *
 * A VMA of an xe VM is a DrmGpuva<GemObject, XeVmaMemAttr, XeVmaPriv>: the GEM object is an
 * xe BO (gem_to_xe_bo), `attrs` the memory attributes, `priv` the page-table state.
 */
import type { DrmGpuva } from '../drm/drm_gpuvm.js';
import { DRM_GPUVA_SPARSE, DRM_GPUVA_USERBITS } from '../drm/drm_gpuvm.js';
import type { GemObject } from '../drm/drm_gem.js';

/** XE_VMA_READ_ONLY: PTEs without RW. */
export const XE_VMA_READ_ONLY = DRM_GPUVA_USERBITS;
/** XE_VMA_DESTROYED: removed from the tree by a committed op. */
export const XE_VMA_DESTROYED = DRM_GPUVA_USERBITS << 1;
/** XE_VMA_DUMPABLE: included in a device coredump. */
export const XE_VMA_DUMPABLE = DRM_GPUVA_USERBITS << 2;
/** XE_VMA_SYSTEM_ALLOCATOR: a CPU_ADDR_MIRROR VMA. */
export const XE_VMA_SYSTEM_ALLOCATOR = DRM_GPUVA_USERBITS << 3;
/** XE_VMA_MADV_AUTORESET: a mirror VMA whose attributes reset when the CPU unmaps it. */
export const XE_VMA_MADV_AUTORESET = DRM_GPUVA_USERBITS << 4;
/** A NULL (sparse) VMA: DRM_GPUVA_SPARSE. */
export const XE_VMA_NULL = DRM_GPUVA_SPARSE;

/** Purgeable states (vm_attrs.md 3, xe_madv_purgeable_state; WILLNEED is the default). */
export const PURGEABLE_WILLNEED = 0;
export const PURGEABLE_DONTNEED = 1;
/** The BO's pages were dropped; terminal (BOs only). */
export const PURGEABLE_PURGED = 2;

/** Memory attributes of a VMA (struct xe_vma_mem_attr); REMAP pieces copy the whole set. */
export interface XeVmaMemAttr {
  /**
   * preferred_loc: devmem_fd (u32: 0 DEFAULT_DEVICE, 0xffffffff DEFAULT_SYSTEM, else an fd),
   * migration_policy (0 ALL_PAGES) and the device memory MADVISE resolved an fd to
   * (dpagemap: a VRAM region instance, null for none).
   */
  preferredLoc: { devmemFd: number; migrationPolicy: number; dpagemap: number | null };
  /** DRM_XE_ATOMIC_* (0 UNDEFINED). */
  atomicAccess: number;
  /** The pat_index of the bind that created the VMA; never changes. */
  readonly defaultPatIndex: number;
  /** The pat_index the PTEs use (MADVISE PAT may change it). */
  patIndex: number;
  purgeableState: number;
}

/** The attributes of a VMA created by a VM_BIND MAP with `patIndex` (vm_attrs.md 3). */
export function defaultMemAttr(patIndex: number): XeVmaMemAttr {
  return {
    preferredLoc: { devmemFd: 0, migrationPolicy: 0, dpagemap: null },
    atomicAccess: 0,
    defaultPatIndex: patIndex,
    patIndex,
    purgeableState: PURGEABLE_WILLNEED,
  };
}

/** A copy of `a` (a REMAP piece's own attribute set). */
export function copyMemAttr(a: XeVmaMemAttr): XeVmaMemAttr {
  return { ...a, preferredLoc: { ...a.preferredLoc } };
}

/** A bind's user fence as a VMA remembers it (vma->ufence): written once its bind completed. */
export interface VmaUfence {
  readonly signalled: boolean;
}

/** Driver-private state of a VMA (the rest of struct xe_vma). */
export interface XeVmaPriv {
  /** PTE sizes used when its entries were written (xe_pt.ts PTE_* bits; 0: never bound). */
  pteFlags: number;
  /** Tiles whose PTEs are written (tile_present). */
  tilePresent: number;
  /**
   * Tiles whose PTEs MADVISE zapped since they were written (tile_invalidated; absent: 0):
   * the next GPU access there faults and the fault path rebinds with the current attrs.
   */
  tileInvalidated?: number;
  /** The user fence of the bind that created (or prefetched) it, until seen written (check_ufence). */
  ufence?: VmaUfence | null;
  /** A userptr VMA: the physical page behind each 4K page of its CPU range, from the last pin. */
  userptrPages?: readonly number[] | null;
}

/** A VMA of an xe VM. */
export type XeVma = DrmGpuva<GemObject, XeVmaMemAttr, XeVmaPriv>;
