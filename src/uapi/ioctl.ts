/**
 * Linux ioctl request encoding (asm-generic/ioctl.h): nr in bits 0-7, type in 8-15,
 * size in 16-29, direction in 30-31 (bit 30 = user writes to kernel, bit 31 = kernel writes
 * to user). Request numbers in the table are computed here, never typed in.
 */
import type { IoctlDir } from './types.js';

/** asm-generic _IOC_* shifts and masks. */
export const IOC = {
  NRSHIFT: 0, TYPESHIFT: 8, SIZESHIFT: 16, DIRSHIFT: 30,
  NRMASK: 0xff, TYPEMASK: 0xff, SIZEMASK: 0x3fff, DIRMASK: 0x3,
  NONE: 0, WRITE: 1, READ: 2,
} as const;

/** The DRM ioctl type byte, 'd'. */
export const DRM_IOCTL_TYPE = 0x64;

const DIR_BITS: Record<IoctlDir, number> = { none: IOC.NONE, W: IOC.WRITE, R: IOC.READ, RW: IOC.READ | IOC.WRITE };

/** _IOC(dir, type, nr, size) as an unsigned 32-bit number. */
export function ioc(dir: IoctlDir, type: number, nr: number, size: number): number {
  if (size > IOC.SIZEMASK) throw new RangeError(`ioctl size ${size} does not fit 14 bits`);
  return (
    ((DIR_BITS[dir] << IOC.DIRSHIFT) | (type << IOC.TYPESHIFT) | (nr << IOC.NRSHIFT) | (size << IOC.SIZESHIFT)) >>> 0
  );
}

/** The fields of a request number. */
export interface IocFields {
  dir: number;
  type: number;
  nr: number;
  size: number;
}

/** Splits a request number into its _IOC fields. */
export function iocDecode(request: number): IocFields {
  const r = request >>> 0;
  return {
    dir: (r >>> IOC.DIRSHIFT) & IOC.DIRMASK,
    type: (r >>> IOC.TYPESHIFT) & IOC.TYPEMASK,
    nr: (r >>> IOC.NRSHIFT) & IOC.NRMASK,
    size: (r >>> IOC.SIZESHIFT) & IOC.SIZEMASK,
  };
}
