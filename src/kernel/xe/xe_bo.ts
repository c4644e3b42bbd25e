/**
 * xe buffer objects (xe_bo.c): creation and placement (xe_gem_create_ioctl,
 * xe_bo_init_locked) and the fake mmap offset (xe_gem_mmap_offset_ioctl). A Bo is a GEM
 * object (drm_gem.ts: reference counting, handles, GEM_CLOSE, mmap); PRIME is drm_prime.ts
 * with the driver's hooks in xe_dma_buf.ts.
 *
 * The last put of a Bo returns the physical pages to their region (after DRM core removed
 * the fake offset), so DEBUG.MEM_USAGE shows exactly what is alive.
 *
 * Upstream facts used here were checked against the newest driver source found (a 2026
 * tree with xe_bo_decompress and the purgeable-BO madvise; GitHub NadiaYvette/linux
 * c37327a1 xe_bo.c), xe_dma_buf.c, xe_pxp.c (xe_pxp_key_assign: -ENODEV without PXP, see xe_pxp.ts),
 * xe_bo.h (XE_PCI_BARRIER_MMAP_OFFSET) and recent drm_prime.c: see the comment at each check.
 *
 * Migration (xe_bo_migrate): `Bo.migrate` moves the pages to another region of the BO's
 * placement, copying the contents, re-pointing every CPU mapping at the new pages and telling
 * the BO's move notifiers (the VMs that map it), which re-bind or invalidate their VMAs.
 *
 * Deliberate simplifications (observable only through memory accounting):
 * - Pages are allocated and zeroed at creation, DEFER_BACKING included (the driver defers
 *   a DEFER_BACKING BO's backing to first use).
 * - A VM-private BO keeps a pointer to its Vm without taking a VM reference.
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import { EINVAL, ENODEV, ENOENT, ENOMEM, ENOSPC, EOPNOTSUPP } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import { GemObject } from '../drm/drm_gem.js';
import type { IoctlDef } from '../drm/drm_ioctl.js';
import { check, Errno, fail, nonZero } from '../os/errno.js';
import type { XeDevice } from './xe_device.js';
import { copySetProperty, walkUserExtensions, type ExtensionHandler } from './xe_ext.js';
import type { IoctlCtx, XeFile } from './xe_file.js';
import { PXP_KEY_INSTANCE, pxpEnabled } from './xe_pxp.js';
import { PURGEABLE_DONTNEED, PURGEABLE_WILLNEED } from './xe_vma.js';
import type { Vm } from './xe_vm.js';

const FLAG_DEFER_BACKING = C('DRM_XE_GEM_CREATE_FLAG_DEFER_BACKING');
const FLAG_SCANOUT = C('DRM_XE_GEM_CREATE_FLAG_SCANOUT');
const FLAG_NEEDS_VISIBLE_VRAM = C('DRM_XE_GEM_CREATE_FLAG_NEEDS_VISIBLE_VRAM');
const FLAG_NO_COMPRESSION = C('DRM_XE_GEM_CREATE_FLAG_NO_COMPRESSION');
/** Every GEM_CREATE flag the newest driver accepts (NO_COMPRESSION included, Xe2+ only). */
const GEM_CREATE_FLAGS = FLAG_DEFER_BACKING | FLAG_SCANOUT | FLAG_NEEDS_VISIBLE_VRAM | FLAG_NO_COMPRESSION;
const CACHING_WB = C('DRM_XE_GEM_CPU_CACHING_WB');
const CACHING_WC = C('DRM_XE_GEM_CPU_CACHING_WC');
const MMAP_FLAG_PCI_BARRIER = C('DRM_XE_MMAP_OFFSET_FLAG_PCI_BARRIER');
const EXT_SET_PROPERTY = C('DRM_XE_GEM_CREATE_EXTENSION_SET_PROPERTY');
const PROP_PXP_TYPE = C('DRM_XE_GEM_CREATE_SET_PROPERTY_PXP_TYPE');
const PXP_TYPE_NONE = C('DRM_XE_PXP_TYPE_NONE');
const PXP_TYPE_HWDRM = C('DRM_XE_PXP_TYPE_HWDRM');

/** Fixed fake offset of the PCI barrier page (xe_bo.h: XE_PCI_BARRIER_MMAP_OFFSET = 0x50 << XE_PTE_SHIFT). */
export const PCI_BARRIER_MMAP_OFFSET = 0x50n << 12n;
/** Bytes of a 64K GPU page; VRAM BOs on NEED64K parts must be a multiple of it. */
const SZ_64K = 0x10000;
/** 4K pages per 64K chunk. */
const PAGES_PER_64K = SZ_64K / PAGE_SIZE;
/** Placement bit of system memory (region instance 0). */
const SYSMEM_BIT = 1;

/** What a BO is created with (the checked GEM_CREATE arguments). */
export interface BoCreateArgs {
  size: bigint;
  /** Memory-region instance mask (bit 0 system, bit 1+N VRAM of tile N). */
  placement: number;
  /** DRM_XE_GEM_CREATE_FLAG_* */
  flags: number;
  /** DRM_XE_GEM_CPU_CACHING_* */
  cpuCaching: number;
  /** The VM a VM-private BO belongs to, or null for an external BO. */
  vm: Vm | null;
}

/** Told that a BO's pages moved to another region (a VM that maps it re-binds its VMAs). */
export type BoMoveNotifier = (bo: Bo) => void;

/** A buffer object (xe_bo); its size is a multiple of 4K (of 64K when `chunkPages` is 16). */
export class Bo extends GemObject {
  readonly dev: XeDevice;
  readonly placement: number;
  /** DRM_XE_GEM_CREATE_FLAG_* as given at creation. */
  readonly flags: number;
  readonly cpuCaching: number;
  /**
   * The VM of a VM-private BO (it may only be bound there and cannot be exported). The
   * kernel takes a VM reference here (xe_vm_get); the emulator keeps the pointer only.
   */
  readonly vm: Vm | null;
  /** bo->pxp_key_instance: the PXP key the contents are protected with, 0 for none. */
  pxpKeyInstance = 0;
  /**
   * Who to tell after the pages moved (the role xe_bo_move_notify / xe_bo_trigger_rebind play
   * for the BO's VMAs): a VM mapping the BO adds one and re-binds or invalidates its VMAs of
   * the BO (vm.gpuvm.linked(bo)) when called; the new pages are in place by then.
   */
  readonly moveNotifiers = new Set<BoMoveNotifier>();
  /** bo->attr.atomic_access: the BO-wide DRM_XE_ATOMIC_* policy MADVISE sets (0 UNDEFINED). */
  atomicAccess = 0;
  /** bo->madv_purgeable: PURGEABLE_WILLNEED / _DONTNEED / _PURGED (xe_vma.ts numbers). */
  purgeable = 0;
  /**
   * bo->willneed_count: VMAs in the WILLNEED state that map the BO. Whoever creates or
   * destroys a BO VMA, or changes its purgeable state, calls willneedGet / willneedPut.
   */
  willneedCount = 0;
  /** Where the pages are: region instance (0 system memory, 1+ VRAM) and 4K pages per chunk. */
  private backing = { region: 0, chunkPages: 1 };
  /** Physical address of each 4K page; emptied when the object is freed. */
  private pages: number[] = [];
  /** 4K pages per VRAM chunk, fixed at creation (XE_BO_FLAG_NEEDS_64K: 16, else 1). */
  private readonly vramChunkPages: number;

  /** The object and its fake offset, no pages yet (ttm_bo_init_reserved up to drm_vma_offset_add). */
  private constructor(dev: XeDevice, a: BoCreateArgs) {
    super(dev.vma, a.size);
    this.dev = dev;
    this.placement = a.placement;
    this.flags = a.flags;
    this.cpuCaching = a.cpuCaching;
    this.vm = a.vm;
    this.vramChunkPages = needs64K(dev, a) ? PAGES_PER_64K : 1;
  }

  /**
   * Creates a BO with one reference (the caller's), in the order of ttm_bo_init_reserved:
   * first the fake offset (no room in the offset space -> -ENOSPC, whatever the placement,
   * DEFER_BACKING included), then zero-filled pages from the first region of its placement
   * that can hold it, in the driver's placement order (VRAM0, VRAM1, then system memory:
   * __xe_bo_placement_for_flags). No region with room -> -ENOMEM (TTM turns -ENOSPC into
   * -ENOMEM in ttm_bo_validate "for backward compatibility with userspace"), and the object
   * is put again. The size checks of the ioctl are the caller's.
   */
  static create(dev: XeDevice, a: BoCreateArgs): Bo {
    const bo = new Bo(dev, a);
    if (!bo.place(a)) {
      bo.put();
      throw new Errno(ENOMEM, 'no memory region of placement %x has room for %d bytes', a.placement, a.size);
    }
    return bo;
  }

  /** ttm_bo_validate: allocates the pages in the first region with room; false when none has. */
  private place(a: BoCreateArgs): boolean {
    const dev = this.dev;
    const order = [...dev.vram.keys()].map((i) => i + 1).filter((inst) => a.placement & (1 << inst));
    if (a.placement & SYSMEM_BIT) order.push(0);
    for (const inst of order) {
      const pages = this.allocIn(inst);
      if (!pages) continue;
      for (const pa of pages) dev.phys.fill0(pa, PAGE_SIZE);
      this.pages = pages;
      this.backing = { region: inst, chunkPages: this.chunkIn(inst) };
      return true;
    }
    return false;
  }

  /** 4K pages per physical chunk in region `inst` (VRAM of a NEEDS_64K BO: 16). */
  private chunkIn(inst: number): number {
    return inst > 0 ? this.vramChunkPages : 1;
  }

  /** Pages for the whole object in region `inst` (contents undefined), or null when it has no room. */
  private allocIn(inst: number): number[] | null {
    return this.dev.allocator(inst).alloc(this.size / PAGE_SIZE, this.chunkIn(inst));
  }

  /**
   * xe_bo_migrate: moves the pages to memory region `region` (0 system memory, 1+ VRAM of a
   * tile). Already there: nothing happens. A region the placement does not include is
   * -EINVAL (xe_bo_can_migrate); no room there is -ENOMEM, and nothing changes. Otherwise
   * the contents are copied page by page into pages of the new region (64K chunks in VRAM
   * for a NEEDS_64K BO), every CPU mapping of the BO is pointed at them, the old pages are
   * freed, and the move notifiers run. No eviction makes room (TTM would evict other BOs
   * first), and nothing is pinned in the emulator, so -EBUSY never comes.
   */
  migrate(region: number): void {
    if (this.freed) throw new Error('migrate of a freed BO');
    if (region === this.region) return;
    const bit = region >= 0 && region < 31 ? 1 << region : 0;
    check((this.placement & bit) === 0, EINVAL, 'migrate to region %d: not in the placement %x', region, this.placement);
    const pages = this.allocIn(region);
    if (!pages) throw new Errno(ENOMEM, 'migrate to region %d: no room for %d pages', region, this.pageCount);
    const phys = this.dev.phys;
    pages.forEach((pa, i) => phys.view(pa, PAGE_SIZE).set(phys.view(this.pages[i], PAGE_SIZE)));
    const old = { region: this.region, pages: this.pages };
    this.pages = pages;
    this.backing = { region, chunkPages: this.chunkIn(region) };
    this.cpuMappings.refresh();
    this.dev.allocator(old.region).free(old.pages);
    for (const fn of [...this.moveNotifiers]) fn(this);
  }

  /** Memory-region instance that holds the pages (0 system memory, 1+ VRAM). */
  get region(): number {
    return this.backing.region;
  }

  /** Physical allocation granule in 4K pages: 16 for VRAM needing 64K pages, else 1. */
  get chunkPages(): number {
    return this.backing.chunkPages;
  }

  /** Number of 4K pages. */
  get pageCount(): number {
    return this.pages.length;
  }

  /** Whether the pages are in VRAM. */
  get isVram(): boolean {
    return this.region > 0;
  }

  /** Whether the object was created with NO_COMPRESSION (compressed PAT indices are refused at bind). */
  get noCompression(): boolean {
    return (this.flags & FLAG_NO_COMPRESSION) !== 0;
  }

  /** xe_bo_willneed_get_locked: one more WILLNEED holder; the first makes a DONTNEED BO WILLNEED. */
  willneedGet(): void {
    if (++this.willneedCount === 1 && this.purgeable === PURGEABLE_DONTNEED) this.purgeable = PURGEABLE_WILLNEED;
  }

  /**
   * xe_bo_willneed_put_locked: one holder less; when the last goes while the BO is still
   * mapped (`mapped`), the BO becomes DONTNEED. PURGED never changes.
   */
  willneedPut(mapped: boolean): void {
    if (--this.willneedCount === 0 && mapped && this.purgeable === PURGEABLE_WILLNEED) this.purgeable = PURGEABLE_DONTNEED;
  }

  /** Physical address of 4K page `i`. */
  page(i: number): number {
    const pa = this.pages[i];
    if (pa === undefined) throw new RangeError(`BO page ${i} out of range (${this.pages.length} pages${this.freed ? ', freed' : ''})`);
    return pa;
  }

  /** Physical address of byte `offset` of the object. */
  physAddr(offset: number): number {
    return this.page(Math.floor(offset / PAGE_SIZE)) + (offset % PAGE_SIZE);
  }

  /** Returns the pages to their region (the last reference is gone). */
  protected free(): void {
    this.dev.allocator(this.region).free(this.pages);
    this.pages = [];
  }
}

/**
 * The region a PREFETCH with region -1 (DRM_XE_CONSULT_MEM_ADVISE_PREF_LOC) moves a BO to,
 * as vm_bind.md 4.1 S7 reads the newest tree: its first VRAM placement, else system memory.
 */
export function preferredRegion(bo: Bo): number {
  const vram = bo.placement & ~SYSMEM_BIT;
  return vram === 0 ? 0 : 31 - Math.clz32(vram & -vram);
}

/** gem_to_xe_bo: the Bo behind a GEM object of this driver. */
export function gemToBo(obj: GemObject): Bo {
  if (!(obj instanceof Bo)) throw new Error('not an xe BO');
  return obj;
}

/** VRAM of this BO must use 64K pages (xe_bo_init_locked: NEED64K parts, or a 64K-aligned VRAM scanout). */
function needs64K(dev: XeDevice, a: BoCreateArgs): boolean {
  if (!(a.placement & ~SYSMEM_BIT)) return false;
  return dev.profile.vram64k || ((a.flags & FLAG_SCANOUT) !== 0 && a.size % BigInt(SZ_64K) === 0n);
}

/** DRM_IOCTL_XE_GEM_CREATE (xe_gem_create_ioctl). Checks in the driver's order. */
function gemCreate(c: IoctlCtx): number {
  const a = c.args;
  const dev = c.dev;
  check(nonZero(a.pad) || nonZero(a.reserved), EINVAL, '.pad/.reserved: must be 0');
  const placement = a.placement as number;
  check((placement & ~dev.memRegionMask) !== 0 || placement === 0, EINVAL, '.placement %x: not a non-empty subset of the regions %x', placement, dev.memRegionMask);
  const flags = a.flags as number;
  check((flags & ~GEM_CREATE_FLAGS) !== 0, EINVAL, '.flags %x: unknown flag bits %x', flags, flags & ~GEM_CREATE_FLAGS);
  check(a.handle !== 0, EINVAL, '.handle %d: must be 0 on input', a.handle as number);
  const size = a.size as bigint;
  check(size === 0n, EINVAL, '.size: 0');
  // size > SIZE_MAX cannot happen with a 64-bit size_t.
  check(size % BigInt(PAGE_SIZE) !== 0n, EINVAL, '.size %x: not a multiple of the page size', size);
  // Newest tree: NO_COMPRESSION needs Xe2+ (GRAPHICS_VER >= 20), else -EOPNOTSUPP.
  if (flags & FLAG_NO_COMPRESSION) check(dev.profile.graphicsVer[0] < 20, EOPNOTSUPP, '.flags: NO_COMPRESSION needs graphics version 20+');
  const vramWanted = (placement & ~SYSMEM_BIT) !== 0;
  if (flags & FLAG_NEEDS_VISIBLE_VRAM) check(!vramWanted, EINVAL, '.flags: NEEDS_VISIBLE_VRAM without a VRAM placement (%x)', placement);
  const cpuCaching = a.cpu_caching as number;
  check(cpuCaching === 0 || cpuCaching > CACHING_WC, EINVAL, '.cpu_caching %d: not WB (1) or WC (2)', cpuCaching);
  check(vramWanted && cpuCaching !== CACHING_WC, EINVAL, '.cpu_caching %d: a VRAM placement needs WC', cpuCaching);
  // SCANOUT sets XE_BO_FLAG_FORCE_WC; FORCE_WC with WB is refused.
  check((flags & FLAG_SCANOUT) !== 0 && cpuCaching === CACHING_WB, EINVAL, '.cpu_caching: SCANOUT BOs cannot be WB');
  let vm: Vm | null = null;
  if (a.vm_id !== 0) {
    vm = c.file.vms.get(a.vm_id as number) ?? null;
    check(!vm, ENOENT, '.vm_id %d: no such VM', a.vm_id as number);
  }
  const args: BoCreateArgs = { size, placement, flags, cpuCaching, vm };
  // xe_bo_init_locked: a user BO whose size is not a multiple of its 64K alignment.
  check(needs64K(dev, args) && size % BigInt(SZ_64K) !== 0n, EINVAL, '.size %x: VRAM of this BO needs 64K pages', size);
  const bo = Bo.create(dev, args);
  try {
    if (a.extensions !== 0n) gemCreateExtensions(c, bo, a.extensions as bigint);
  } catch (e) {
    bo.put();
    throw e;
  }
  const handle = c.file.objects.alloc(bo);
  if (handle < 0) {
    bo.put();
    return fail(ENOSPC, 'GEM handle table full');
  }
  a.handle = handle;
  return 0;
}

/**
 * gem_create_user_extensions: the chain runs after the BO exists (the caller frees it on
 * failure). The driver's table has one entry, SET_PROPERTY (0): any other name -> -EINVAL.
 */
function gemCreateExtensions(c: IoctlCtx, bo: Bo, first: bigint): void {
  const handlers: ExtensionHandler[] = [];
  handlers[EXT_SET_PROPERTY] = (addr) => gemCreateSetProperty(c, bo, addr);
  walkUserExtensions(c.um, first, handlers);
}

/** gem_create_user_ext_set_property: copies the whole struct, then property / pad checks (reserved is not checked). */
function gemCreateSetProperty(c: IoctlCtx, bo: Bo, addr: bigint): void {
  const ext = copySetProperty(c.um, addr);
  // Upstream compares property against the table size (1) and against
  // DRM_XE_GEM_CREATE_EXTENSION_SET_PROPERTY (also 0): only PXP_TYPE passes.
  check(ext.property !== PROP_PXP_TYPE || ext.pad !== 0, EINVAL, 'drm_xe_ext_set_property.property %d / pad %d: only PXP_TYPE, pad 0', ext.property as number, ext.pad as number);
  setPxpType(bo, ext.value as bigint);
}

/**
 * gem_create_set_pxp_type: NONE is a no-op; HWDRM takes the current key (xe_pxp_key_assign:
 * -ENODEV without PXP; no readiness check).
 */
function setPxpType(bo: Bo, value: bigint): void {
  if (value === BigInt(PXP_TYPE_NONE)) return;
  check(value !== BigInt(PXP_TYPE_HWDRM), EINVAL, 'drm_xe_ext_set_property.value %d: not a PXP type', value);
  check(!pxpEnabled(bo.dev), ENODEV, 'PXP_TYPE_HWDRM: PXP is not enabled on this device');
  bo.pxpKeyInstance = PXP_KEY_INSTANCE;
}

/** DRM_IOCTL_XE_GEM_MMAP_OFFSET (xe_gem_mmap_offset_ioctl). */
function gemMmapOffset(c: IoctlCtx): number {
  const a = c.args;
  check(a.extensions !== 0n || nonZero(a.reserved), EINVAL, '.extensions/.reserved: must be 0');
  const flags = a.flags as number;
  check((flags & ~MMAP_FLAG_PCI_BARRIER) !== 0, EINVAL, '.flags %x: unknown bits', flags);
  if (flags & MMAP_FLAG_PCI_BARRIER) {
    check(!c.dev.profile.isDgfx, EINVAL, '.flags: PCI_BARRIER on an integrated device');
    check(a.handle !== 0, EINVAL, '.handle %d: must be 0 with PCI_BARRIER', a.handle as number);
    // PAGE_SIZE > SZ_4K -> -EINVAL: never on x86-64.
    a.offset = PCI_BARRIER_MMAP_OFFSET;
    return 0;
  }
  const obj = c.file.objects.get(a.handle as number);
  check(!obj, ENOENT, '.handle %d: no such object', a.handle as number);
  a.offset = obj!.mmapOffset;
  return 0;
}

/** BO ioctls of the driver. */
export const BO_IOCTLS: IoctlDef<XeFile>[] = [
  { name: 'DRM_IOCTL_XE_GEM_CREATE', handler: gemCreate },
  { name: 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', handler: gemMmapOffset },
];
