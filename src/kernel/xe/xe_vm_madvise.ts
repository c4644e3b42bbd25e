/**
 * DRM_IOCTL_XE_MADVISE (xe_vm_madvise.c; shared/spec/vm_attrs.md 4, read against the newest
 * upstream file, which has the purgeable state): memory attributes for a VA range. The range's
 * ends become VMA boundaries of the VMAs without a BO (the gpuvm madvise split), every VMA
 * overlapping the range gets the attribute (a BO VMA whole), and the PTEs of the VMAs whose
 * attribute changed are zapped, followed by one ranged TLB invalidation. Nothing is rebound
 * here: the next GPU access faults, and the fault path (and migration / prefetch) reads the
 * attributes from the VMA (`attrs`) and the BO (`Bo.atomicAccess`, `Bo.purgeable`).
 *
 * The checks run in the driver's order. The split happens before the checks on the VMAs it
 * collects (PAT coherency, BO atomics); upstream keeps the split when they fail, xe-emu undoes
 * it, so a failed call changes nothing (docs/divergences.md).
 */
import { EFAULT, EINVAL, ENOENT, ENOLINK } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import type { IoctlDef } from '../drm/drm_ioctl.js';
import { check, Errno } from '../os/errno.js';
import { Bo, gemToBo } from './xe_bo.js';
import { XeFile, type IoctlCtx } from './xe_file.js';
import { svmOf } from './xe_svm.js';
import type { Vm } from './xe_vm.js';
import {
  PURGEABLE_DONTNEED, PURGEABLE_PURGED, PURGEABLE_WILLNEED, XE_VMA_NULL, XE_VMA_SYSTEM_ALLOCATOR, type XeVma,
} from './xe_vma.js';
import { PAT_COH_NONE, PAT_RESERVED, type Profile } from '../../hw/profile.js';

const ATTR_PREFERRED_LOC = C('DRM_XE_MEM_RANGE_ATTR_PREFERRED_LOC');
const ATTR_ATOMIC = C('DRM_XE_MEM_RANGE_ATTR_ATOMIC');
const ATTR_PAT = C('DRM_XE_MEM_RANGE_ATTR_PAT');
const ATTR_PURGEABLE = C('DRM_XE_VMA_ATTR_PURGEABLE_STATE');
const ATOMIC_DEVICE = C('DRM_XE_ATOMIC_DEVICE');
const ATOMIC_GLOBAL = C('DRM_XE_ATOMIC_GLOBAL');
const ATOMIC_CPU = C('DRM_XE_ATOMIC_CPU');
const MIGRATE_ONLY_SYSTEM_PAGES = C('DRM_XE_MIGRATE_ONLY_SYSTEM_PAGES');
const CACHING_WB = C('DRM_XE_GEM_CPU_CACHING_WB');
const SZ_4K = 0x1000n;
/** Placement bits of XE_BO_FLAG_SYSTEM, _VRAM0 and _VRAM1 (region instances 0, 1, 2). */
const PLACE_SYSTEM = 1;
const PLACE_VRAM = 2 | 4;

/**
 * has_device_atomics_on_smem (xe_pci.c): every platform but PVC, so every xe-emu profile.
 * `Profile` is the parameter so that a PVC profile would have one place to change.
 */
export function deviceAtomicsOnSmem(_p: Profile): boolean {
  return true;
}

/** A CPU_ADDR_MIRROR VMA (xe_vma_is_cpu_addr_mirror). */
function isMirror(v: XeVma): boolean {
  return (v.flags & XE_VMA_SYSTEM_ALLOCATOR) !== 0;
}

/** A NULL (sparse) VMA (xe_vma_is_null). */
function isNull(v: XeVma): boolean {
  return (v.flags & XE_VMA_NULL) !== 0;
}

/** A userptr VMA (xe_vma_is_userptr): no BO, neither NULL nor mirror. */
function isUserptr(v: XeVma): boolean {
  return !v.obj && !isNull(v) && !isMirror(v);
}

/** madvise_args_are_sane, first failing check decides (4.1 step 2). */
function checkArgs(p: Profile, a: Record<string, unknown>): void {
  const start = a.start as bigint;
  const range = a.range as bigint;
  check(start % SZ_4K !== 0n, EINVAL, '.start %x: not 4K aligned', start);
  check(range % SZ_4K !== 0n || range < SZ_4K, EINVAL, '.range %x: not a non-zero multiple of 4K', range);
  const type = a.type as number;
  if (type === ATTR_PREFERRED_LOC) checkPreferredLoc(a.preferred_mem_loc as Record<string, number | bigint>);
  else if (type === ATTR_ATOMIC) checkAtomic(a.atomic as Record<string, number | bigint>);
  else if (type === ATTR_PAT) checkPat(p, a.pat_index as Record<string, number | bigint>);
  else if (type === ATTR_PURGEABLE) checkPurgeable(a.purge_state_val as Record<string, number | bigint>);
  else throw new Errno(EINVAL, '.type %d: not a memory range attribute', type);
  const reserved = a.reserved as bigint[];
  check(reserved[0] !== 0n || reserved[1] !== 0n, EINVAL, '.reserved: must be 0');
}

function checkPreferredLoc(l: Record<string, number | bigint>): void {
  const fd = (l.devmem_fd as number) | 0;
  check(fd < -1, EINVAL, '.preferred_mem_loc.devmem_fd %d: below DEFAULT_SYSTEM (-1)', fd);
  check(fd <= 0 && l.region_instance !== 0, EINVAL, '.preferred_mem_loc.region_instance %d: must be 0 with devmem_fd %d', l.region_instance as number, fd);
  check((l.migration_policy as number) > MIGRATE_ONLY_SYSTEM_PAGES, EINVAL, '.preferred_mem_loc.migration_policy %d: unknown', l.migration_policy as number);
  check(l.reserved !== 0n, EINVAL, '.preferred_mem_loc.reserved: must be 0');
}

function checkAtomic(at: Record<string, number | bigint>): void {
  check((at.val as number) > ATOMIC_CPU, EINVAL, '.atomic.val %d: above DRM_XE_ATOMIC_CPU', at.val as number);
  check(at.pad !== 0 || at.reserved !== 0n, EINVAL, '.atomic.pad/.reserved: must be 0');
}

function checkPat(p: Profile, pat: Record<string, number | bigint>): void {
  const val = pat.val as number;
  check(val >= p.pat.length, EINVAL, '.pat_index.val %d: the platform has %d PAT entries', val, p.pat.length);
  check(p.pat[val] === PAT_RESERVED, EINVAL, '.pat_index.val %d: a reserved PAT entry', val);
  check(pat.pad !== 0 || pat.reserved !== 0n, EINVAL, '.pat_index.pad/.reserved: must be 0');
}

function checkPurgeable(ps: Record<string, number | bigint>): void {
  const val = ps.val as number;
  check(val !== PURGEABLE_WILLNEED && val !== PURGEABLE_DONTNEED, EINVAL, '.purge_state_val.val %d: not WILLNEED or DONTNEED', val);
  check(ps.pad !== 0, EINVAL, '.purge_state_val.pad: must be 0');
}

/** Reads the u32 at retained_ptr, which must hold 0 (4.1 step 3). */
function checkRetained(c: IoctlCtx, ptr: bigint): void {
  const b = c.um.copyFromUser(ptr, 4);
  const v = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  check(v !== 0, EINVAL, '.purge_state_val.retained_ptr %x: holds %d, must be 0', ptr, v);
}

/**
 * xe_madvise_details_init for PREFERRED_LOC with devmem_fd > 0 (xe_drm_pagemap_from_fd): the
 * fd must be an xe DRM file and region_instance a VRAM region of its device (xe_devmem_open);
 * another device's memory has no fast interconnect here. Returns the region instance.
 */
function devmemPagemap(c: IoctlCtx, fd: number, region: number): number {
  const f = c.proc.fds.get(fd);
  check(!(f instanceof XeFile), ENOENT, '.preferred_mem_loc.devmem_fd %d: not an open xe device file', fd);
  const dev = (f as XeFile).dev;
  // Every profile has one tile: only region instance 1 (tile 0's VRAM) can name device memory.
  const tile = (region - 1) >>> 0;
  check(tile >= 1 || (dev.memRegionMask & (2 << tile)) === 0, ENOENT, '.preferred_mem_loc.region_instance %d: not a VRAM region of that device', region);
  check(dev !== c.dev, ENOLINK, '.preferred_mem_loc.devmem_fd %d: another device, no fast interconnect', fd);
  return region;
}

/**
 * xe_vm_alloc_madvise_vma: cuts the VMAs without a BO at the range ends. The pieces keep the
 * split VMA's page-table state (madvise binds nothing). Returns the ops, to unwind on a later
 * failure or finish on success.
 */
function splitRange(vm: Vm, start: bigint, range: bigint): ReturnType<Vm['gpuvm']['madviseOpsCreate']> {
  const ops = vm.gpuvm.madviseOpsCreate(start, range);
  let old: XeVma | null = null;
  for (const op of ops) {
    vm.gpuvm.commit(op);
    if (op.op === 'remap') {
      old = op.va;
      for (const v of [op.prevVa, op.nextVa]) if (v) v.priv = old.priv && { ...old.priv };
    } else if (op.op === 'map' && old) {
      op.va!.priv = old.priv && { ...old.priv };
    }
  }
  return ops;
}

/** check_pat_args_are_sane (4.1 step 10): on an iGPU, no coherency-NONE index over CPU-cached memory. */
function checkPatCoherency(c: IoctlCtx, vmas: readonly XeVma[], val: number): void {
  if (c.dev.profile.pat[val] !== PAT_COH_NONE || c.dev.profile.isDgfx) return;
  for (const v of vmas) {
    if (v.obj) {
      const caching = gemToBo(v.obj).cpuCaching;
      check(caching === CACHING_WB || caching === 0, EINVAL, '.pat_index.val %d: no coherency, over a BO with cpu_caching %d (CPU cached)', val, caching);
    } else {
      check(isMirror(v) || isUserptr(v), EINVAL, '.pat_index.val %d: no coherency, over system memory of a userptr / mirror VMA at %x', val, v.start);
    }
  }
}

/** check_bo_args_are_sane (4.1 step 11): the atomic policy must suit each BO's placements. */
function checkBoAtomic(p: Profile, vmas: readonly XeVma[], val: number): void {
  for (const v of vmas) {
    if (!v.obj) continue;
    const place = gemToBo(v.obj).placement;
    const sys = (place & PLACE_SYSTEM) !== 0;
    const vram = (place & PLACE_VRAM) !== 0;
    check(val === ATOMIC_CPU && !sys, EINVAL, '.atomic.val CPU: BO at %x cannot be placed in system memory', v.start);
    check(val === ATOMIC_DEVICE && !vram && !(sys && deviceAtomicsOnSmem(p)), EINVAL, '.atomic.val DEVICE: BO at %x has no placement with device atomics', v.start);
    check(val === ATOMIC_GLOBAL && !(sys && vram), EINVAL, '.atomic.val GLOBAL: BO at %x is not placeable in both system memory and VRAM', v.start);
  }
}

/** What applying an attribute found: the VMAs whose attribute changed, a purged BO seen. */
interface Applied {
  changed: XeVma[];
  purgedSeen: boolean;
}

/** madvise_preferred_mem_loc: mirror VMAs only; the others are skipped. */
function applyPreferredLoc(vmas: readonly XeVma[], fd: number, policy: number, dpagemap: number | null): Applied {
  const changed = vmas.filter((v) => isMirror(v) && (v.attrs.preferredLoc.devmemFd !== fd || v.attrs.preferredLoc.migrationPolicy !== policy));
  for (const v of changed) v.attrs.preferredLoc = { devmemFd: fd, migrationPolicy: policy, dpagemap };
  return { changed, purgedSeen: false };
}

/**
 * madvise_atomic: userptr VMAs take only DEVICE with device atomics on system memory. A BO
 * VMA also sets the BO-wide policy, which counts as a change even when the VMA's was equal.
 */
function applyAtomic(p: Profile, vmas: readonly XeVma[], val: number): Applied {
  const changed: XeVma[] = [];
  for (const v of vmas) {
    if (isUserptr(v) && !(val === ATOMIC_DEVICE && deviceAtomicsOnSmem(p))) continue;
    let change = v.attrs.atomicAccess !== val;
    v.attrs.atomicAccess = val;
    const bo = v.obj && gemToBo(v.obj);
    if (bo && bo.atomicAccess !== val) {
      bo.atomicAccess = val;
      change = true;
    }
    if (change) changed.push(v);
  }
  return { changed, purgedSeen: false };
}

/** madvise_pat_index: every VMA kind; default_pat_index stays. */
function applyPat(vmas: readonly XeVma[], val: number): Applied {
  const changed = vmas.filter((v) => v.attrs.patIndex !== val);
  for (const v of changed) v.attrs.patIndex = val;
  return { changed, purgedSeen: false };
}

/**
 * madvise_purgeable: BO VMAs only, never an invalidation. A purged BO is only noted; else a
 * real WILLNEED <-> DONTNEED transition of the VMA moves the BO's WILLNEED holder count.
 */
function applyPurgeable(vmas: readonly XeVma[], val: number): Applied {
  let purgedSeen = false;
  for (const v of vmas) {
    const bo: Bo | null = v.obj && gemToBo(v.obj);
    if (!bo) continue;
    if (bo.purgeable === PURGEABLE_PURGED) {
      purgedSeen = true;
    } else if (v.attrs.purgeableState !== val) {
      v.attrs.purgeableState = val;
      if (val === PURGEABLE_WILLNEED) bo.willneedGet();
      else bo.willneedPut(true);
    }
  }
  return { changed: [], purgedSeen };
}

/** xe_pt_zap_ptes of a VMA that is not a mirror: its PTEs where present and not yet zapped, whole. */
function zapVma(vm: Vm, v: XeVma): boolean {
  const priv = v.priv;
  if (!priv || !(priv.tilePresent & ~(priv.tileInvalidated ?? 0) & 1)) return false;
  if (!vm.pt!.zap(Number(v.start), Number(v.end))) return false;
  priv.tileInvalidated = (priv.tileInvalidated ?? 0) | 1;
  return true;
}

/**
 * xe_vm_invalidate_madvise_range: the PTEs of each changed VMA but NULL ones go (a mirror
 * VMA's SVM ranges, another VMA's own PTEs, marked invalidated), then one TLB invalidation
 * of [start, end) (upstream's range, the madvise range, even when a BO VMA sticks out).
 */
function invalidateRange(vm: Vm, changed: readonly XeVma[], start: bigint, end: bigint): void {
  let zapped = false;
  for (const v of changed) {
    if (isNull(v)) continue;
    const z = isMirror(v) ? (svmOf(vm)?.zap(v.start, v.end) ?? false) : zapVma(vm, v);
    zapped = z || zapped;
  }
  if (zapped) vm.pt!.invalidate({ start: Number(start), end: Number(end), reason: 'madvise' });
}

/** Runs the attribute's function over the collected VMAs (madvise_funcs[type]). */
function applyAttr(c: IoctlCtx, a: Record<string, unknown>, vmas: readonly XeVma[], dpagemap: number | null): Applied {
  const type = a.type as number;
  const field = (name: string): Record<string, number> => a[name] as Record<string, number>;
  if (type === ATTR_PREFERRED_LOC) {
    const l = field('preferred_mem_loc');
    return applyPreferredLoc(vmas, l.devmem_fd, l.migration_policy, dpagemap);
  }
  if (type === ATTR_ATOMIC) return applyAtomic(c.dev.profile, vmas, field('atomic').val);
  if (type === ATTR_PAT) return applyPat(vmas, field('pat_index').val);
  return applyPurgeable(vmas, field('purge_state_val').val);
}

/** DRM_IOCTL_XE_MADVISE (xe_vm_madvise_ioctl), checks in the order of 4.1. */
function vmMadviseIoctl(c: IoctlCtx): number {
  const a = c.args;
  const vm = c.file.vms.get(a.vm_id as number);
  check(!vm, EINVAL, '.vm_id %d: no such VM', a.vm_id as number);
  const p = c.dev.profile;
  checkArgs(p, a);
  const type = a.type as number;
  const retainedPtr = type === ATTR_PURGEABLE ? ((a.purge_state_val as Record<string, bigint>).retained_ptr) : 0n;
  if (retainedPtr) checkRetained(c, retainedPtr);
  check(vm!.closedOrBanned, ENOENT, '.vm_id %d: VM closed or banned', a.vm_id as number);
  const loc = a.preferred_mem_loc as Record<string, number>;
  const fd = loc.devmem_fd | 0;
  const dpagemap = type === ATTR_PREFERRED_LOC && fd > 0 ? devmemPagemap(c, fd, loc.region_instance) : null;
  // Userspace may pass a canonical (sign-extended) start: the VM works on the low va_bits.
  const start = (a.start as bigint) & ((1n << BigInt(p.vaBits)) - 1n);
  const range = a.range as bigint;
  const ops = splitRange(vm!, start, range);
  let applied: Applied;
  try {
    const vmas = vm!.gpuvm.overlapping(start, range);
    if (type === ATTR_PAT) checkPatCoherency(c, vmas, (a.pat_index as Record<string, number>).val);
    if (type === ATTR_ATOMIC) checkBoAtomic(p, vmas, (a.atomic as Record<string, number>).val);
    applied = applyAttr(c, a, vmas, dpagemap);
  } catch (e) {
    vm!.gpuvm.unwind(ops);
    throw e;
  }
  vm!.gpuvm.finish(ops);
  invalidateRange(vm!, applied.changed, start, start + range);
  if (retainedPtr) putRetained(c, retainedPtr, applied.purgedSeen ? 0 : 1);
  return 0;
}

/** xe_madvise_purgeable_retained_to_user: after the changes; a fault is -EFAULT all the same. */
function putRetained(c: IoctlCtx, ptr: bigint, v: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  try {
    c.um.copyToUser(ptr, b);
  } catch (e) {
    throw e instanceof Errno ? new Errno(EFAULT, '.purge_state_val.retained_ptr %x: cannot write the result', ptr) : e;
  }
}

/** MADVISE (VM_QUERY_MEM_RANGE_ATTRS is with the VM ioctls in xe_vm.ts). */
export const MADVISE_IOCTLS: IoctlDef<XeFile>[] = [{ name: 'DRM_IOCTL_XE_MADVISE', handler: vmMadviseIoctl }];
