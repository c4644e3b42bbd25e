/** GPU address spaces (xe_vm.c). */
import type { IoctlDef } from './dispatch.js';

/** A VM. */
export class Vm {
  /** xe_vm_close_and_put. */
  close(): void {}
}

/** VM ioctls. */
export const VM_IOCTLS: IoctlDef[] = [];
