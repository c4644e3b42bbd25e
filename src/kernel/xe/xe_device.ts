/**
 * The emulated xe device (struct xe_device): its profile, physical memory and page
 * allocators, the wedged state, and what DRM core keeps per device (driver, ioctl table,
 * fences, fake mmap offset space). Signals wake the OS's parked calls through the host.
 */
import { PageAllocator, type PhysicalMemory, type RegionDesc } from '../../hw/memory.js';
import { gtById, type GtDesc, type Profile } from '../../hw/profile.js';
import { FenceDomain, type FenceHost } from '../drm/dma_fence.js';
import type { DrmDevice, DrmDriver } from '../drm/drm_device.js';
import type { GemObject } from '../drm/drm_gem.js';
import type { IoctlTable } from '../drm/drm_ioctl.js';
import { VmaOffsetManager } from '../drm/drm_vma_manager.js';
import { standaloneHost, type DeviceHost } from '../os/kernel.js';
import { monotonicNs } from '../os/wait.js';

/** The device. */
export class XeDevice implements DrmDevice, FenceHost {
  readonly phys: PhysicalMemory;
  readonly sysmem: PageAllocator;
  /** VRAM allocators, index = region instance - 1 (one per tile). */
  readonly vram: PageAllocator[];
  /** Set by DEBUG WEDGE: every ioctl fails with -ECANCELED. */
  wedged = false;
  driver: DrmDriver | null = null;
  ioctls: IoctlTable | null = null;
  /** Fence ids/contexts, callback ordering and test-completed fences; every signal calls wake(). */
  readonly fences: FenceDomain = new FenceDomain(this);
  /** Live GEM objects by fake mmap offset: what mmap on a DRM fd looks up. */
  readonly vma = new VmaOffsetManager<GemObject>();

  /**
   * A device over `regions` (region 0 system memory, then one VRAM region per tile). In a
   * kernel, `host` is the OS's (shared system memory and wake-ups); alone (unit tests) it
   * gets a host of its own.
   */
  constructor(
    readonly profile: Profile,
    regions: RegionDesc[],
    private readonly host: DeviceHost = standaloneHost(regions),
  ) {
    this.phys = host.phys;
    this.sysmem = host.sysmem;
    this.vram = regions.slice(1).map((r) => new PageAllocator(r));
  }

  /** DRIVER_MODESET: set only for a profile with a display (none has one). */
  get modeset(): boolean {
    return this.profile.display;
  }

  /** Mask of memory-region instances (bit 0 system memory, bit 1+N VRAM of tile N). */
  get memRegionMask(): number {
    return (1 << (1 + this.vram.length)) - 1;
  }

  /** Allocator of region instance `inst`. */
  allocator(inst: number): PageAllocator {
    return inst === 0 ? this.sysmem : this.vram[inst - 1];
  }

  /** CLOCK_MONOTONIC in nanoseconds. */
  now(): bigint {
    return monotonicNs();
  }

  /** Under a trace, the seq of the call being served (DeviceHost.traceSeq), else null. */
  traceSeq(): number | null {
    return this.host.traceSeq?.() ?? null;
  }

  /** Runs GPU work `fn` on behalf of the call with `seq` (DeviceHost.onBehalf). */
  onBehalf<T>(seq: number | null, fn: () => T): T {
    return this.host.onBehalf ? this.host.onBehalf(seq, fn) : fn();
  }

  /** Notes that something waiters may be waiting for happened (a fence signalled, a user fence was written). */
  wake(): void {
    this.host.waitq.wake();
  }
}

/**
 * xe_device_get_gt: its gt_id parameter is a u8, so only the low 8 bits of a uAPI u16 gt_id
 * count (0x100 is GT 0). EXEC_QUEUE_CREATE (its first check and xe_hw_engine_lookup) and
 * DEVICE_QUERY ENGINE_CYCLES all look GTs up through it.
 */
export function xeDeviceGetGt(profile: Profile, gtId: number): GtDesc | undefined {
  return gtById(profile, gtId & 0xff);
}
