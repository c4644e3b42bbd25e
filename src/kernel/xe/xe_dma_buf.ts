/**
 * The driver's PRIME hooks (xe_dma_buf.c): a VM-private BO cannot be exported; a dma-buf
 * of this device imports as its own BO.
 */
import { EPERM } from '../../uapi/errno.js';
import type { GemObject } from '../drm/drm_gem.js';
import { drmGemPrimeExport, drmGemPrimeImport, type DmaBuf } from '../drm/drm_prime.js';
import { check } from '../os/errno.js';
import { gemToBo } from './xe_bo.js';

/** xe_gem_prime_export: -EPERM for a VM-private BO, else drm_gem_prime_export. */
export function xeGemPrimeExport(obj: GemObject, flags: number): DmaBuf {
  check(gemToBo(obj).vm !== null, EPERM, 'BO is private to a VM: cannot be exported');
  return drmGemPrimeExport(obj, flags);
}

/** xe_gem_prime_import: a dma-buf exported by this device is its own BO (a new reference). */
export function xeGemPrimeImport(buf: DmaBuf): GemObject {
  return drmGemPrimeImport(buf);
}
