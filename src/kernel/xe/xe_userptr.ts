/**
 * Userptr VMAs and the CPU range behind them (xe_userptr.c): the pin of the CPU pages
 * (xe_vma_userptr_pin_pages over hmm_range_fault) and the MMU notifier that follows the CPU
 * range afterwards (vma_userptr_invalidate).
 *
 * A userptr VMA is tracked from the VM_BIND that created it until it is destroyed. When the
 * CPU range changes under it (munmap, MAP_FIXED over it, a mapped BO moved), its PTEs are
 * zapped (written 0, the VMA marked invalidated on the tile, a TLB invalidation of its GPU
 * range) and its pinned pages forgotten, before the CPU pages go: the GPU can no longer reach
 * freed memory. The next GPU access faults; in a fault-mode VM the fault path pins the range
 * again (-EFAULT once the CPU memory is gone). A non-fault VM puts the VMA on its invalidated
 * list instead: the next EXEC pins it again (userptrPinInvalidated, xe_vm_userptr_pin) and
 * rebinds it before its job runs (docs/divergences.md: upstream keeps the PTEs and waits for
 * the VM's jobs rather than zapping).
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import { EFAULT } from '../../uapi/errno.js';
import { Errno } from '../os/errno.js';
import type { Mm } from '../os/mm.js';
import type { UserMemory } from '../os/uaccess.js';
import type { XePt } from './xe_pt.js';
import { XE_VMA_READ_ONLY, type XeVma } from './xe_vma.js';

/** What the userptr notifier uses of a VM (Vm implements it). */
export interface UserptrVm {
  readonly closed: boolean;
  readonly faultMode: boolean;
  readonly pt: XePt | null;
}

/**
 * Pins the CPU pages behind a userptr range (xe_vma_userptr_pin_pages via hmm_range_fault):
 * the physical page of each 4K page of [cpuAddr, cpuAddr + range) of the calling process.
 * A page not mapped (for writing unless `readOnly`) is -EFAULT.
 */
export function xeVmaUserptrPin(um: UserMemory, cpuAddr: bigint, range: bigint, readOnly: boolean): number[] {
  if (!um.getUserPages) throw new Errno(EFAULT, 'userptr %x: user memory has no page access', cpuAddr);
  return um.getUserPages(cpuAddr, Number(range / BigInt(PAGE_SIZE)), !readOnly);
}

/** A tracked userptr VMA: its VM, the user memory it is pinned from, and its notifier. */
interface Tracked {
  readonly vm: UserptrVm;
  readonly um: UserMemory;
  readonly unsubscribe: () => void;
}

const tracked = new WeakMap<XeVma, Tracked>();

/**
 * The userptr lists of a non-fault VM: VMAs the notifier invalidated since their last pin
 * (vm->userptr.invalidated), and VMAs pinned again whose PTEs still wait for the rebind
 * (their part of vm->rebind_list).
 */
interface UserptrLists {
  readonly invalidated: Set<XeVma>;
  readonly rebind: Set<XeVma>;
}

const lists = new WeakMap<UserptrVm, UserptrLists>();

function listsOf(vm: UserptrVm): UserptrLists {
  let l = lists.get(vm);
  if (!l) lists.set(vm, (l = { invalidated: new Set(), rebind: new Set() }));
  return l;
}

/**
 * xe_vma_userptr_init's notifier: `va` (a userptr VMA of `vm`, pinned from `um` of the
 * process owning `mm`) follows its CPU range from now on.
 */
export function userptrTrack(vm: UserptrVm, va: XeVma, mm: Mm, um: UserMemory): void {
  if (tracked.has(va)) return;
  const cpuStart = va.offset;
  const cpuEnd = va.offset + va.range;
  const unsubscribe = mm.subscribe((start, end) => {
    if (start < cpuEnd && cpuStart < end) userptrInvalidate(vm, va);
  });
  tracked.set(va, { vm, um, unsubscribe });
}

/** xe_userptr_remove / xe_userptr_destroy: `va` is destroyed; its notifier goes, and it leaves the VM's lists. Safe on any VMA. */
export function userptrUntrack(va: XeVma): void {
  const t = tracked.get(va);
  if (!t) return;
  t.unsubscribe();
  const l = lists.get(t.vm);
  l?.invalidated.delete(va);
  l?.rebind.delete(va);
  tracked.delete(va);
}

/**
 * vma_userptr_invalidate: the CPU range of `va` is about to change. Its pinned pages are
 * forgotten and, when its PTEs are live on the tile, they are zapped and the TLB invalidated.
 */
function userptrInvalidate(vm: UserptrVm, va: XeVma): void {
  const p = va.priv;
  if (!p) return;
  p.userptrPages = null;
  if (!vm.faultMode && !vm.closed) {
    listsOf(vm).invalidated.add(va);
    listsOf(vm).rebind.delete(va);
  }
  const live = (p.tilePresent & ~(p.tileInvalidated ?? 0) & 1) !== 0;
  if (!live || vm.closed || !vm.pt) return;
  const start = Number(va.start);
  const end = Number(va.end);
  vm.pt.zap(start, end);
  vm.pt.invalidate({ start, end, reason: 'userptr' });
  p.tileInvalidated = (p.tileInvalidated ?? 0) | 1;
}

/**
 * xe_vma_userptr_check_repin + pin: pins `va`'s CPU range again when the notifier dropped
 * its pages. Errors as xeVmaUserptrPin; an untracked VMA with no pages is -EFAULT.
 */
export function userptrRepin(va: XeVma): void {
  const p = va.priv;
  if (!p || p.userptrPages) return;
  const t = tracked.get(va);
  if (!t) throw new Errno(EFAULT, 'userptr VMA %x: no CPU range to pin from', va.start);
  p.userptrPages = xeVmaUserptrPin(t.um, va.offset, va.range, (va.flags & XE_VMA_READ_ONLY) !== 0);
}

/** xe_vm_userptr_check_repin: whether a non-fault VM has userptr VMAs to pin again or rebind. */
export function userptrCheckRepin(vm: UserptrVm): boolean {
  const l = lists.get(vm);
  return !!l && (l.invalidated.size > 0 || l.rebind.size > 0);
}

/**
 * xe_vm_userptr_pin: pins each invalidated userptr VMA of non-fault `vm` again, oldest
 * invalidation first, and moves it to the rebind list. A VMA whose CPU pages are gone (-EFAULT)
 * leaves the lists and stays invalidated (its PTEs were zapped), so the GPU faults on it; any
 * other error stops the walk and is thrown, the VMAs not yet pinned staying invalidated.
 */
export function userptrPinInvalidated(vm: UserptrVm): void {
  const l = lists.get(vm);
  if (!l) return;
  for (const va of [...l.invalidated]) {
    try {
      userptrRepin(va);
    } catch (e) {
      if (!(e instanceof Errno) || e.errno !== EFAULT) throw e;
      l.invalidated.delete(va);
      continue;
    }
    l.invalidated.delete(va);
    l.rebind.add(va);
  }
}

/**
 * The rebind step of xe_vm_validate_rebind for userptr VMAs: `rebind` rewrites the PTEs of
 * each VMA on the rebind list that was bound on the tile; a VMA leaves the list once done. An
 * error is thrown, the VMA staying on the list for the next exec.
 */
export function userptrRebind(vm: UserptrVm, rebind: (va: XeVma) => void): void {
  const l = lists.get(vm);
  if (!l) return;
  for (const va of [...l.rebind]) {
    if ((va.priv?.tilePresent ?? 0) & 1) rebind(va);
    l.rebind.delete(va);
  }
}
