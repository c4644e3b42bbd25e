/**
 * The GPU page-fault service of fault-mode VMs (xe_pagefault.c xe_pagefault_service /
 * xe_pagefault_handle_vma / xe_pagefault_begin, xe_svm.c xe_svm_handle_pagefault;
 * shared/spec/vm_bind.md 6.3, vm_attrs.md 4.4). `handlePagefault` resolves one faulting
 * access: it binds what the VMA at the address maps (a deferred MAP, an invalidate-on-bind
 * MAP, a VMA zapped by MADVISE, a BO move or a userptr notifier, an SVM range of a mirror
 * VMA), migrating a BO to VRAM first where an atomic access on a dGPU needs it, or fails with
 * the driver's errno. The PTEs are written at once (the handler waits for its bind job).
 *
 * The GPU inspection API (DEBUG GPU_READ / GPU_WRITE) calls it for a fault on a fault-mode VM
 * through `xePagefaultService`, which the driver registers; the command streamer of the next
 * issue will call it the same way.
 */
import type { GpuAccess, GpuFault } from '../../hw/mmu.js';
import { PAGE_SIZE } from '../../hw/memory.js';
import { EACCES, EINVAL, ENOENT, EPERM } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import { check, Errno } from '../os/errno.js';
import { gemToBo, type Bo } from './xe_bo.js';
import { svmOf } from './xe_svm.js';
import { userptrRepin } from './xe_userptr.js';
import type { Vm } from './xe_vm.js';
import type { GpuFaultService } from './xe_vm_inspect.js';
import { deviceAtomicsOnSmem } from './xe_vm_madvise.js';
import { xeVmaIsMirror, xeVmaIsUserptr, xeVmaRebind, xeVmaValid } from './xe_vm_ops.js';
import { PURGEABLE_WILLNEED, XE_VMA_READ_ONLY, type XeVma } from './xe_vma.js';

const ATOMIC_DEVICE = C('DRM_XE_ATOMIC_DEVICE');
const ATOMIC_CPU = C('DRM_XE_ATOMIC_CPU');
/** The VRAM of tile 0 (memory region instance 1): where a fault on tile 0 migrates to. */
const TILE0_VRAM = 1;

/** The outcome of a fault: errno 0 when the access may be retried, else the positive errno and why. */
export interface PagefaultResult {
  errno: number;
  reason: string;
}

/**
 * xe_pagefault_service for an access of kind `access` at GPU address `addr` of `vm` (tile 0).
 * Errors: a VM not in fault mode -EINVAL, a closed VM -ENOENT, no VMA -EINVAL, a non-read
 * access to a READ_ONLY VMA -EPERM, then those of the SVM or VMA path. A failure changes
 * nothing but what a partly done migration moved.
 */
export function handlePagefault(vm: Vm, addr: bigint, access: GpuAccess): PagefaultResult {
  try {
    service(vm, addr, access);
    return { errno: 0, reason: '' };
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    return { errno: e.errno, reason: e.reason };
  }
}

/** The inspection API's fault service (setGpuFaultService): whether the access may be retried. */
export const xePagefaultService: GpuFaultService = (vm: Vm, f: GpuFault): boolean =>
  handlePagefault(vm, BigInt(f.va), f.access).errno === 0;

function service(vm: Vm, addr: bigint, access: GpuAccess): void {
  check(!vm.faultMode, EINVAL, 'GPU fault at %x: the VM is not in fault mode', addr);
  check(vm.closed, ENOENT, 'GPU fault at %x: the VM is closed', addr);
  const page = addr & ~BigInt(PAGE_SIZE - 1);
  const va = vm.gpuvm.findFirst(page, BigInt(PAGE_SIZE));
  check(!va, EINVAL, 'GPU fault at %x: no VMA there', addr);
  check((va!.flags & XE_VMA_READ_ONLY) !== 0 && access !== 'read', EPERM, 'GPU %s fault at %x: the VMA is read-only', access, addr);
  if (xeVmaIsMirror(va!)) return svmFault(vm, va!, addr);
  handleVma(vm, va!, access === 'atomic');
}

/** xe_svm_handle_pagefault without VRAM: the SVM range at `addr` made, its pages collected, bound. */
function svmFault(vm: Vm, va: XeVma, addr: bigint): void {
  const svm = svmOf(vm);
  if (!svm) throw new Errno(EINVAL, 'GPU fault at %x: the VM mirrors no process', addr);
  svm.fault(va, addr);
}

/**
 * xe_vma_need_vram_for_atomic (vm_attrs.md 4.4): 1 when an atomic access on a dGPU needs the
 * memory in VRAM, 0 when not, -EACCES for the CPU atomic policy. The policy is the BO's for a
 * BO VMA, the VMA's otherwise.
 */
function needVramForAtomic(vm: Vm, va: XeVma, atomic: boolean): boolean {
  if (!atomic || !vm.dev.profile.isDgfx) return false;
  const policy = va.obj ? gemToBo(va.obj).atomicAccess : va.attrs.atomicAccess;
  check(policy === ATOMIC_CPU, EACCES, 'GPU atomic fault at %x: the atomic policy is CPU', va.start);
  return policy === ATOMIC_DEVICE ? !deviceAtomicsOnSmem(vm.dev.profile) : true;
}

/** xe_pagefault_handle_vma: the VMA's backing made ready, then its PTEs (re)written on tile 0. */
function handleVma(vm: Vm, va: XeVma, atomic: boolean): void {
  const needsVram = needVramForAtomic(vm, va, atomic);
  check(needsVram && xeVmaIsUserptr(va), EACCES, 'GPU atomic fault at %x: a userptr VMA cannot move to VRAM', va.start);
  if (xeVmaValid(va) && !atomic) return;
  if (xeVmaIsUserptr(va)) userptrRepin(va);
  if (va.obj) begin(vm, va, gemToBo(va.obj), needsVram);
  xeVmaRebind(vm, va);
}

/**
 * xe_pagefault_begin for a BO VMA: a DONTNEED or purged BO is -EACCES without scratch; with
 * scratch it is left alone (the rebind maps what it has). Otherwise the BO moves to the
 * tile's VRAM when needed, else it is validated (its pages always exist here).
 */
function begin(vm: Vm, va: XeVma, bo: Bo, needsVram: boolean): void {
  if (bo.purgeable !== PURGEABLE_WILLNEED) {
    check(!vm.scratchPage, EACCES, 'GPU fault at %x: the BO is DONTNEED or purged', va.start);
    return;
  }
  if (needsVram) bo.migrate(TILE0_VRAM);
}
