/**
 * Character devices (register_chrdev / chrdev_open): a driver registers an open function
 * under its major number, and open(2) of a node reaches it without the syscall layer knowing
 * the driver.
 */
import { ENODEV } from '../../uapi/errno.js';
import { Errno } from './errno.js';
import type { KFile } from './file.js';

/** Opens minor `minor` of a registered device: a new file holding one reference. */
export type ChrdevOpen = (minor: number) => KFile;

/** The registered character devices, by major number. */
export class ChrdevRegistry {
  private readonly devs = new Map<number, ChrdevOpen>();

  /** register_chrdev: `open` serves every minor of `major`. A major is registered once. */
  register(major: number, open: ChrdevOpen): void {
    if (this.devs.has(major)) throw new Error(`character device major ${major} registered twice`);
    this.devs.set(major, open);
  }

  /** chrdev_open: the driver's file for (major, minor); no such device is -ENODEV. */
  open(major: number, minor: number): KFile {
    const open = this.devs.get(major);
    if (!open) throw new Errno(ENODEV, 'no character device %d:%d', major, minor);
    return open(minor);
  }
}
