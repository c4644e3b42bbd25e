/**
 * GEM objects (drm_gem.c): the reference-counted base of a driver's buffer objects, with
 * its fake mmap offset; per-file handles (drm_file.object_idr); DRM_IOCTL_GEM_CLOSE; and
 * mmap of an object through a DRM fd (drm_gem_mmap) or a dma-buf.
 *
 * Every GEM handle, every CPU mapping, every dma-buf and (later) every VMA holds one
 * reference. The last put removes the fake offset, then the driver frees the backing store.
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import { EACCES, EINVAL } from '../../uapi/errno.js';
import { Errno, fail } from '../os/errno.js';
import type { KFile } from '../os/file.js';
import { IdTable } from '../os/idr.js';
import { ObjectMappings, type MappingBacking, type Mm } from '../os/mm.js';
import type { IoctlCtx, IoctlDef, IoctlFile } from './drm_ioctl.js';
import type { VmaOffsetManager } from './drm_vma_manager.js';

/** A GEM object (drm_gem_object). Drivers extend it with their backing store. */
export abstract class GemObject {
  /** Size in bytes. */
  readonly size: number;
  /** Fake mmap offset (drm_vma_node_offset_addr), stable for the object's life. */
  readonly mmapOffset: bigint;
  /**
   * The exported dma-buf (obj->dma_buf, a DmaBuf), holding a reference on it while the object
   * has a handle in any file: re-exports return it, whatever their flags.
   */
  dmabuf: KFile | null = null;
  /** Every CPU mapping of the object (fake offset or dma-buf), for a driver that moves its pages. */
  readonly cpuMappings = new ObjectMappings();
  /** GEM handles on the object in all files (obj->handle_count). */
  private handleCount = 0;
  private refs = 1;

  /**
   * A new object with one reference (the caller's) and a fake offset in `offsets`
   * (ttm_bo_init_reserved adds it before any placement): no room there -> -ENOSPC. The size
   * is exact as a number once it fits the offset space (under 2^40 bytes).
   */
  protected constructor(
    private readonly offsets: VmaOffsetManager<GemObject>,
    size: bigint,
  ) {
    this.mmapOffset = offsets.add(this, size);
    this.size = Number(size);
  }

  /** Number of 4K pages of the backing store. */
  abstract get pageCount(): number;

  /** Physical address of 4K page `i`. */
  abstract page(i: number): number;

  /** Frees the backing store; called once, after the last reference is gone. */
  protected abstract free(): void;

  /** Whether the last reference is gone. */
  get freed(): boolean {
    return this.refs === 0;
  }

  /** drm_gem_object_get: a handle, a mapping, a dma-buf, a VMA. */
  get(): this {
    if (this.refs <= 0) throw new Error('GemObject.get() on a freed object');
    this.refs++;
    return this;
  }

  /** A handle was created (drm_gem_handle_create_tail). */
  handleCreated(): void {
    this.handleCount++;
  }

  /**
   * A handle went away (drm_gem_object_handle_put_unlocked): the last one drops the
   * object's hold on its dma-buf (drm_gem_object_exported_dma_buf_free).
   */
  handleDeleted(): void {
    if (--this.handleCount > 0 || !this.dmabuf) return;
    const buf = this.dmabuf;
    this.dmabuf = null;
    buf.put();
  }

  /** drm_gem_object_put: the last reference removes the fake offset and frees the object. */
  put(): void {
    if (this.refs <= 0) throw new Error('GemObject.put() on a freed object');
    if (--this.refs > 0) return;
    this.offsets.remove(this.mmapOffset);
    this.free();
  }
}

/**
 * A file's GEM handles (drm_file.object_idr): keeps each object's handle count, so that the
 * last handle releases the object's dma-buf. Removing a handle does not drop the reference it
 * held; the caller puts it.
 */
export class GemHandles extends IdTable<GemObject> {
  override alloc(obj: GemObject): number {
    const id = super.alloc(obj);
    if (id >= 0) obj.handleCreated();
    return id;
  }

  override remove(id: number): GemObject | undefined {
    const obj = super.remove(id);
    obj?.handleDeleted();
    return obj;
  }

  override drain(release: (obj: GemObject) => void): void {
    super.drain((obj) => {
      obj.handleDeleted();
      release(obj);
    });
  }
}

/** The part of a DRM file that GEM works on: its handle table (drm_file.object_idr). */
export interface GemFile extends IoctlFile {
  readonly objects: GemHandles;
}

/** The part of a DRM device that GEM works on: its offset space (drm_device.vma_offset_manager). */
export interface GemDevice {
  readonly vma: VmaOffsetManager<GemObject>;
}

/** The lowest handle `file` holds for `obj`, if any (drm_vma_node_is_allowed / the PRIME lookup). */
export function gemHandleOf(file: GemFile, obj: GemObject): number | undefined {
  for (const [h, o] of file.objects.entries()) if (o === obj) return h;
  return undefined;
}

function pagesOf(length: number): number {
  return Math.ceil(length / PAGE_SIZE);
}

/**
 * mmap of a GEM object through its fake offset on a DRM file (drm_gem_mmap). The offset must
 * be the exact start of a live object and the mapping must fit in it
 * (drm_vma_offset_exact_lookup, else -EINVAL); the file must hold a handle to it
 * (drm_vma_node_is_allowed, else -EACCES). The mapping holds a reference until munmap or exit.
 */
export function gemMmap(
  file: GemFile & { readonly dev: GemDevice },
  mm: Mm,
  offset: bigint,
  length: number,
  writable: boolean,
): bigint {
  const obj = file.dev.vma.lookup(offset);
  if (!obj) throw new Errno(EINVAL, 'mmap offset %x: no GEM object starts there', offset);
  if (length <= 0 || pagesOf(length) > obj.pageCount) {
    throw new Errno(EINVAL, 'mmap length %d: outside the object (%d pages)', length, obj.pageCount);
  }
  if (gemHandleOf(file, obj) === undefined) throw new Errno(EACCES, 'mmap offset %x: this file holds no handle to the object', offset);
  return gemMapPages(obj, mm, 0, length, writable);
}

/** Maps `length` bytes of `obj` from page `pgoff` into `mm`; the mapping holds a reference. */
export function gemMapPages(obj: GemObject, mm: Mm, pgoff: number, length: number, writable: boolean): bigint {
  const backing = mappingOf(obj);
  try {
    return mm.mmapObject(backing, pgoff, length, writable);
  } catch (e) {
    backing.release();
    throw e;
  }
}

/** A mapping's hold on an object: one reference, dropped when the mapping goes away. */
function mappingOf(obj: GemObject): MappingBacking {
  obj.get();
  let live = true;
  return {
    mappings: obj.cpuMappings,
    page: (i) => obj.page(i),
    release: () => {
      if (!live) return;
      live = false;
      obj.put();
    },
  };
}

/** DRM_IOCTL_GEM_CLOSE (drm_gem_close_ioctl): `pad` is not checked; an unknown handle (0 too) is -EINVAL. */
function gemClose(c: IoctlCtx<GemFile>): number {
  const obj = c.file.objects.remove(c.args.handle as number);
  if (!obj) return fail(EINVAL, '.handle %d: no such object', c.args.handle as number);
  obj.put();
  return 0;
}

/** GEM core ioctls. */
export const DRM_GEM_IOCTLS: IoctlDef<GemFile>[] = [
  { name: 'DRM_IOCTL_GEM_CLOSE', handler: gemClose },
  // drm_invalid_op since upstream 1a4f03d22fb6 (2026): the copy-in, the permission check and
  // the copy-back happen, the answer is always -EINVAL.
  { name: 'DRM_IOCTL_GEM_CHANGE_HANDLE', handler: () => fail(EINVAL, 'GEM_CHANGE_HANDLE is drm_invalid_op') },
];
