/**
 * PRIME buffer sharing (drm_prime.c): dma-buf files exported from GEM objects,
 * DRM_IOCTL_PRIME_HANDLE_TO_FD / FD_TO_HANDLE, and mmap of a dma-buf fd. The driver's
 * hooks (gem_prime_export / gem_prime_import) decide what may be exported and how a
 * dma-buf becomes an object of the importing device.
 *
 * The per-file PRIME cache (dma-buf -> handle) is modelled as "the file's lowest handle of
 * that object", which gives the same answers for every sequence reachable through this uAPI
 * (no flink / GEM_OPEN).
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import { EBADF, EINVAL, ENOENT, ENOSPC } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import { check, Errno, fail } from '../os/errno.js';
import { KFile } from '../os/file.js';
import type { Mm } from '../os/mm.js';
import { gemHandleOf, gemMapPages, type GemFile, type GemObject } from './drm_gem.js';
import type { IoctlCtx, IoctlDef } from './drm_ioctl.js';

const DRM_CLOEXEC = C('DRM_CLOEXEC');
const DRM_RDWR = C('DRM_RDWR');

/**
 * An exported GEM object (a dma-buf file). Holds a reference to the object while any fd, or
 * the object's own link (GemObject.dmabuf, export_and_register_object), refers to it.
 */
export class DmaBuf extends KFile {
  readonly kind = 'dmabuf';

  constructor(
    readonly obj: GemObject,
    /** DRM_CLOEXEC / DRM_RDWR as first exported: the file's access mode for good. */
    readonly flags: number,
  ) {
    super();
    obj.get();
    obj.dmabuf = this.get();
  }

  /** Opened O_RDWR only when exported with DRM_RDWR (dma_buf_getfile). */
  override get writable(): boolean {
    return (this.flags & DRM_RDWR) !== 0;
  }

  /**
   * mmap of a dma-buf fd (dma_buf_mmap_internal -> drm_gem_dmabuf_mmap): `offset` is relative
   * to the object; a range past its end -> -EINVAL. No handle is needed.
   */
  override mmap(mm: Mm, offset: bigint, length: number, writable: boolean): bigint {
    if (offset % BigInt(PAGE_SIZE) !== 0n || length <= 0) throw new Errno(EINVAL, 'dma-buf mmap(offset %x, length %d): bad range', offset, length);
    const pgoff = offset / BigInt(PAGE_SIZE);
    if (pgoff + BigInt(Math.ceil(length / PAGE_SIZE)) > BigInt(this.obj.pageCount)) {
      throw new Errno(EINVAL, 'dma-buf mmap(offset %x, length %d): past the object (%d pages)', offset, length, this.obj.pageCount);
    }
    return gemMapPages(this.obj, mm, Number(pgoff), length, writable);
  }

  protected release(): void {
    this.obj.put();
  }
}

/** The driver's PRIME hooks (drm_driver.gem_prime_import, drm_gem_object_funcs.export). */
export interface PrimeOps {
  /** Exports `obj` as a new dma-buf (throws Errno to refuse); default drmGemPrimeExport. */
  gemPrimeExport?: (obj: GemObject, flags: number) => DmaBuf;
  /** The importing device's object for `buf`, with a new reference; default drmGemPrimeImport. */
  gemPrimeImport?: (buf: DmaBuf) => GemObject;
}

/** The part of a DRM device PRIME works on: its driver's hooks. */
export interface PrimeDevice {
  readonly driver: PrimeOps | null;
}

/** drm_gem_prime_export: a dma-buf for `obj`. */
export function drmGemPrimeExport(obj: GemObject, flags: number): DmaBuf {
  return new DmaBuf(obj, flags);
}

/** drm_gem_prime_import: a dma-buf of this device resolves to its own object (the only kind here). */
export function drmGemPrimeImport(buf: DmaBuf): GemObject {
  return buf.obj.get();
}

type PrimeFile = GemFile & { readonly dev: PrimeDevice };

/**
 * DRM_IOCTL_PRIME_HANDLE_TO_FD (drm_prime_handle_to_fd_ioctl -> drm_gem_prime_handle_to_fd).
 * Flags other than DRM_CLOEXEC | DRM_RDWR -> -EINVAL; then the new fd is reserved (no free
 * fd -> -EMFILE) before the handle is looked up (-ENOENT); an object already exported
 * returns its dma-buf (the access mode of its first export); else the driver's export hook
 * (which may refuse). The fd goes into the calling process.
 */
function primeHandleToFd(c: IoctlCtx<PrimeFile>): number {
  const a = c.args;
  const flags = a.flags as number;
  check((flags & ~(DRM_CLOEXEC | DRM_RDWR)) !== 0, EINVAL, '.flags %x: only DRM_CLOEXEC | DRM_RDWR allowed', flags);
  const exp = c.dev.driver?.gemPrimeExport ?? drmGemPrimeExport;
  a.fd = c.proc.installNewFd(() => {
    const obj = c.file.objects.get(a.handle as number);
    check(!obj, ENOENT, '.handle %d: no such object', a.handle as number);
    return obj!.dmabuf ? obj!.dmabuf.get() : exp(obj!, flags);
  });
  return 0;
}

/**
 * DRM_IOCTL_PRIME_FD_TO_HANDLE (drm_gem_prime_fd_to_handle). dma_buf_get: no such fd ->
 * -EBADF, not a dma-buf -> -EINVAL. The file's existing handle for the object, else the
 * driver's import hook gives the object and it gets a new lowest-free handle. `flags` is
 * ignored on import.
 */
function primeFdToHandle(c: IoctlCtx<PrimeFile>): number {
  const a = c.args;
  const f = c.proc.fds.get(a.fd as number);
  check(!f, EBADF, '.fd %d: not open', a.fd as number);
  check(!(f instanceof DmaBuf), EINVAL, '.fd %d: not a dma-buf (%s file)', a.fd as number, f?.kind ?? '');
  const buf = f as DmaBuf;
  const have = gemHandleOf(c.file, buf.obj);
  if (have !== undefined) {
    a.handle = have;
    return 0;
  }
  const obj = (c.dev.driver?.gemPrimeImport ?? drmGemPrimeImport)(buf);
  const handle = c.file.objects.alloc(obj);
  if (handle < 0) {
    obj.put();
    return fail(ENOSPC, 'GEM handle table full');
  }
  // Importing its own dma-buf links an object that lost its link with its last handle.
  if (obj === buf.obj && !obj.dmabuf) obj.dmabuf = buf.get();
  a.handle = handle;
  return 0;
}

/** PRIME ioctls. */
export const DRM_PRIME_IOCTLS: IoctlDef<PrimeFile>[] = [
  { name: 'DRM_IOCTL_PRIME_HANDLE_TO_FD', handler: primeHandleToFd },
  { name: 'DRM_IOCTL_PRIME_FD_TO_HANDLE', handler: primeFdToHandle },
];
