/**
 * The emulated xe device (xe_device): its profile, physical memory and page allocators,
 * the wedged state, the fake-offset space for BO mmaps, and the wake-up flag that makes
 * parked (blocking) calls re-check their condition.
 */
import { PageAllocator, PhysicalMemory, PAGE_SIZE, type RegionDesc } from '../../hw/memory.js';
import type { Profile } from '../../hw/profile.js';
import { FenceDomain } from '../drm/dma_fence.js';
import type { Bo } from './xe_bo.js';

/** Start of the fake mmap offset space (DRM_FILE_PAGE_OFFSET_START on 64-bit: 4 GiB). */
export const MMAP_OFFSET_BASE = 0x1_0000_0000n;

/** The device. */
export class XeDevice {
  readonly phys: PhysicalMemory;
  readonly sysmem: PageAllocator;
  /** VRAM allocators, index = region instance - 1 (one per tile). */
  readonly vram: PageAllocator[];
  /** Set by DEBUG WEDGE: every ioctl fails with -ECANCELED. */
  wedged = false;
  /** Set by DEBUG KERNEL_PANIC: the kernel thread dies after answering the call. */
  panicked = false;
  /** Fence ids/contexts, callback ordering and test-completed fences; every signal calls wake(). */
  readonly fences: FenceDomain = new FenceDomain(this);
  /** Live BOs by fake mmap offset (the drm_vma_offset_manager): what mmap on a DRM fd looks up. */
  readonly mmapBos = new Map<bigint, Bo>();
  private woken = false;
  private nextMmapPage = MMAP_OFFSET_BASE / BigInt(PAGE_SIZE);

  constructor(
    readonly profile: Profile,
    regions: RegionDesc[],
  ) {
    this.phys = new PhysicalMemory(regions);
    this.sysmem = new PageAllocator(regions[0]);
    this.vram = regions.slice(1).map((r) => new PageAllocator(r));
  }

  /** Mask of memory-region instances (bit 0 system memory, bit 1+N VRAM of tile N). */
  get memRegionMask(): number {
    return (1 << (1 + this.vram.length)) - 1;
  }

  /** Allocator of region instance `inst`. */
  allocator(inst: number): PageAllocator {
    return inst === 0 ? this.sysmem : this.vram[inst - 1];
  }

  /** Reserves a fake mmap offset range of `size` bytes (drm_vma_offset_add); never reused. */
  allocMmapOffset(size: number): bigint {
    const off = this.nextMmapPage * BigInt(PAGE_SIZE);
    this.nextMmapPage += BigInt(Math.ceil(size / PAGE_SIZE));
    return off;
  }

  /** CLOCK_MONOTONIC in nanoseconds. */
  now(): bigint {
    return process.hrtime.bigint();
  }

  /** Notes that something waiters may be waiting for happened (a fence signalled, a user fence was written). */
  wake(): void {
    this.woken = true;
  }

  /** Whether a wake-up is pending. */
  peekWake(): boolean {
    return this.woken;
  }

  /** Returns and clears the wake-up flag. */
  takeWake(): boolean {
    const w = this.woken;
    this.woken = false;
    return w;
  }
}
