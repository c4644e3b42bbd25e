/**
 * The fake mmap offset space of a DRM device (drm_vma_manager.c): each GEM object gets a
 * range of page offsets, and mmap on a DRM fd finds the object by the exact start offset.
 */
import { PAGE_SIZE } from '../../hw/memory.js';

/** Start of the fake mmap offset space (DRM_FILE_PAGE_OFFSET_START on 64-bit: 4 GiB). */
export const MMAP_OFFSET_BASE = 0x1_0000_0000n;

/** The offset space (drm_vma_offset_manager): live objects by start offset. Offsets are never reused. */
export class VmaOffsetManager<T> {
  private readonly nodes = new Map<bigint, T>();
  private nextPage = MMAP_OFFSET_BASE / BigInt(PAGE_SIZE);

  /** drm_vma_offset_add: reserves `size` bytes (whole pages) for `obj`; returns its start offset. */
  add(obj: T, size: number): bigint {
    const off = this.nextPage * BigInt(PAGE_SIZE);
    this.nextPage += BigInt(Math.ceil(size / PAGE_SIZE));
    this.nodes.set(off, obj);
    return off;
  }

  /** drm_vma_offset_remove. */
  remove(offset: bigint): void {
    this.nodes.delete(offset);
  }

  /** drm_vma_offset_exact_lookup: the object starting exactly at `offset`. */
  lookup(offset: bigint): T | undefined {
    return this.nodes.get(offset);
  }
}
