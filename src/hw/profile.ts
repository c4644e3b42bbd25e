/**
 * Device profiles: the hardware facts of each emulated platform (PCI ids, GTs and engines,
 * memory regions, VA bits, page-table levels, PAT table, features). Values follow the
 * driver's device descriptors (xe_pci.c), PAT tables (xe_pat.c) and the spec's platform
 * table (shared/spec/vm_bind.md 0.3, 2.4).
 */

/** Engine classes as numbered by the hardware/uAPI (DRM_XE_ENGINE_CLASS_*). */
export const ENGINE_CLASS = { RENDER: 0, COPY: 1, VIDEO_DECODE: 2, VIDEO_ENHANCE: 3, COMPUTE: 4 } as const;

/** One hardware engine of a GT. */
export interface EngineDesc {
  /** uAPI engine class. */
  engineClass: number;
  /** Logical instance within the class on its GT (what the uAPI exposes). */
  instance: number;
  /** Name as the driver prints it, e.g. rcs0, bcs8. */
  name: string;
}

/** One GT. */
export interface GtDesc {
  id: number;
  /** 0 main, 1 media (DRM_XE_QUERY_GT_TYPE_*). */
  type: number;
  tile: number;
  /** Reference clock in Hz. */
  referenceClock: number;
  /** GMD_ID IP version (0.0.0 on pre-GMD_ID parts). */
  ipVer: [number, number, number];
  engines: EngineDesc[];
  /** Topology masks, one entry per DRM_XE_TOPO_* item the GT reports, in order. */
  topology: Array<{ type: number; mask: number[] }>;
}

/** PAT coherency classes (xe_pat.c). */
export const PAT_RESERVED = 0;
export const PAT_COH_NONE = 1;
export const PAT_COH_1WAY = 2;

/** A platform profile. */
export interface Profile {
  name: string;
  platform: string;
  devid: number;
  revid: number;
  /** Graphics IP version, e.g. 20.04 -> [20, 4]. */
  graphicsVer: [number, number];
  isDgfx: boolean;
  vaBits: number;
  /** Root page-table level (3 = 4 levels, 4 = 5 levels). */
  vmMaxLevel: number;
  /** Fault mode (USM) support. */
  hasUsm: boolean;
  /** Scratch pages allowed together with fault mode. */
  needsScratch: boolean;
  /** VRAM needs 64K pages (and compact level-0 tables). */
  vram64k: boolean;
  hasAsid: boolean;
  /** Low-latency hint support (DRM_XE_QUERY_CONFIG_FLAG_HAS_LOW_LATENCY). */
  hasLowLatency: boolean;
  /** CPU address mirror support (DRM_XE_QUERY_CONFIG_FLAG_HAS_CPU_ADDR_MIRROR). */
  hasCpuAddrMirror: boolean;
  /** Coherency class of each PAT index; its length is n_entries. */
  pat: number[];
  patWb: number;
  patUc: number;
  gts: GtDesc[];
  /** Default VRAM size per tile in bytes (empty for integrated parts). */
  vram: number[];
  /** Default system memory pool size in bytes. */
  sysmem: number;
  /** GuC / HuC firmware versions [major, minor, patch]; null when the firmware is absent. */
  guc: [number, number, number];
  huc: [number, number, number] | null;
}

const LNL_PAT = (() => {
  const oneWay = [1, 2, 4, 5, 7, 22, 23, 26, 27, 30, 31];
  const reserved = [16, 17, 18, 19];
  return Array.from({ length: 32 }, (_, i) =>
    reserved.includes(i) ? PAT_RESERVED : oneWay.includes(i) ? PAT_COH_1WAY : PAT_COH_NONE,
  );
})();

const MiB = 1024 * 1024;

/** Lunar Lake: Xe2 iGPU, 5-level page tables, fault mode (the default profile). */
const lnl: Profile = {
  name: 'lnl',
  platform: 'LUNARLAKE',
  devid: 0x64a0,
  revid: 0x04,
  graphicsVer: [20, 4],
  isDgfx: false,
  vaBits: 48,
  vmMaxLevel: 4,
  hasUsm: true,
  needsScratch: true,
  vram64k: false,
  hasAsid: true,
  hasLowLatency: true,
  hasCpuAddrMirror: true,
  pat: LNL_PAT,
  patWb: 2,
  patUc: 3,
  gts: [
    {
      id: 0, type: 0, tile: 0, referenceClock: 19_200_000, ipVer: [20, 4, 4],
      engines: [
        { engineClass: ENGINE_CLASS.RENDER, instance: 0, name: 'rcs0' },
        { engineClass: ENGINE_CLASS.COPY, instance: 0, name: 'bcs0' },
        { engineClass: ENGINE_CLASS.COMPUTE, instance: 0, name: 'ccs0' },
      ],
      topology: [],
    },
    {
      id: 1, type: 1, tile: 0, referenceClock: 19_200_000, ipVer: [20, 0, 4],
      engines: [
        { engineClass: ENGINE_CLASS.VIDEO_DECODE, instance: 0, name: 'vcs0' },
        { engineClass: ENGINE_CLASS.VIDEO_DECODE, instance: 1, name: 'vcs2' },
        { engineClass: ENGINE_CLASS.VIDEO_ENHANCE, instance: 0, name: 'vecs0' },
      ],
      topology: [],
    },
  ],
  vram: [],
  sysmem: 512 * MiB,
  guc: [70, 36, 0],
  huc: [9, 0, 0],
};

/** Every profile by name. */
export const PROFILES: Readonly<Record<string, Profile>> = { lnl };

/** Looks a profile up by name; throws for an unknown one. */
export function getProfile(name: string): Profile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown device profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}
