/**
 * The fake mmap offset space of a DRM device (drm_vma_manager.c over drm_mm.c): each GEM
 * object gets a range of page offsets, and mmap on a DRM fd finds the object by the exact
 * start offset.
 *
 * drm_vma_offset_add inserts with drm_mm_insert_node, i.e. DRM_MM_INSERT_BEST without
 * alignment: the smallest free hole that fits, the object at its low end. drm_mm keeps holes
 * in a size-ordered tree where an equal size goes after the ones already there, and the
 * best-fit walk takes the last fitting one: among equal holes, the most recently made. A
 * removal merges the neighbouring holes into one new hole.
 */
import { ENOSPC } from '../../uapi/errno.js';
import { Errno } from '../os/errno.js';

/** Bytes per page of the offset space (PAGE_SHIFT 12). */
const PAGE_BYTES = 4096n;

/** DRM_FILE_PAGE_OFFSET_START on 64-bit: (0xFFFFFFFF >> PAGE_SHIFT) + 1 pages, i.e. 4 GiB. */
export const DRM_FILE_PAGE_OFFSET_START = (0xffff_ffffn >> 12n) + 1n;
/** DRM_FILE_PAGE_OFFSET_SIZE on 64-bit: (0xFFFFFFFF >> PAGE_SHIFT) * 256 pages (1 TiB - 1 MiB). */
export const DRM_FILE_PAGE_OFFSET_SIZE = (0xffff_ffffn >> 12n) * 256n;
/** Start of the fake mmap offset space in bytes. */
export const MMAP_OFFSET_BASE = DRM_FILE_PAGE_OFFSET_START * PAGE_BYTES;

/** A free range of pages; `seq` orders holes of equal size by creation. */
interface Hole {
  start: bigint;
  pages: bigint;
  seq: number;
}

/** One object's range (drm_vma_offset_node). */
interface Node<T> {
  pages: bigint;
  obj: T;
}

/** The offset space (drm_vma_offset_manager): a page-range allocator with exact-start lookup. */
export class VmaOffsetManager<T> {
  /** Live ranges by start page. */
  private readonly nodes = new Map<bigint, Node<T>>();
  /** Free ranges by start page. */
  private readonly holes = new Map<bigint, Hole>();
  private seq = 0;

  constructor(
    startPage = DRM_FILE_PAGE_OFFSET_START,
    sizePages = DRM_FILE_PAGE_OFFSET_SIZE,
  ) {
    this.addHole(startPage, sizePages);
  }

  /**
   * drm_vma_offset_add: reserves PFN_UP(size) pages for `obj`; returns the start offset in
   * bytes. No hole big enough (or size 0) -> -ENOSPC.
   */
  add(obj: T, size: bigint): bigint {
    const pages = (size + PAGE_BYTES - 1n) / PAGE_BYTES;
    const hole = pages === 0n ? undefined : this.bestHole(pages);
    if (!hole) throw new Errno(ENOSPC, 'fake mmap offset space: no hole of %d pages', pages);
    this.holes.delete(hole.start);
    if (hole.pages > pages) this.addHole(hole.start + pages, hole.pages - pages);
    this.nodes.set(hole.start, { pages, obj });
    return hole.start * PAGE_BYTES;
  }

  /** drm_vma_offset_remove: frees the range starting at `offset`, merged with its free neighbours. */
  remove(offset: bigint): void {
    const start = offset / PAGE_BYTES;
    const node = this.nodes.get(start);
    if (!node) return;
    this.nodes.delete(start);
    let from = start;
    let end = start + node.pages;
    const after = this.holes.get(end);
    if (after) {
      this.holes.delete(end);
      end += after.pages;
    }
    const before = [...this.holes.values()].find((h) => h.start + h.pages === start);
    if (before) {
      this.holes.delete(before.start);
      from = before.start;
    }
    this.addHole(from, end - from);
  }

  /** drm_vma_offset_exact_lookup: the object starting exactly at `offset`. */
  lookup(offset: bigint): T | undefined {
    if (offset % PAGE_BYTES !== 0n) return undefined;
    return this.nodes.get(offset / PAGE_BYTES)?.obj;
  }

  /** Pages not reserved by any object. */
  get freePages(): bigint {
    let n = 0n;
    for (const h of this.holes.values()) n += h.pages;
    return n;
  }

  private addHole(start: bigint, pages: bigint): void {
    this.holes.set(start, { start, pages, seq: this.seq++ });
  }

  /** best_hole: the smallest hole of at least `pages`; the newest among equal sizes. */
  private bestHole(pages: bigint): Hole | undefined {
    let best: Hole | undefined;
    for (const h of this.holes.values()) {
      if (h.pages < pages) continue;
      if (!best || h.pages < best.pages || (h.pages === best.pages && h.seq > best.seq)) best = h;
    }
    return best;
  }
}
