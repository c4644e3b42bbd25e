/**
 * Device profiles: the hardware facts of each emulated platform (PCI ids, GTs and engines,
 * topology fuses, memory regions, VA bits, page-table levels, PAT table, firmware, features).
 *
 * Sources (upstream drivers/gpu/drm/xe, read for behaviour): xe_pci.c device and IP
 * descriptors (engine masks, va_bits, vm_max_level, vram_flags, has_usm / has_asid /
 * needs_scratch / has_pxp, max_gt_per_tile), xe_hw_engine.c (engine id order, fusing, logical
 * instances, reserved engines), xe_gt_topology.c / xe_gt_types.h (topology masks), xe_pat.c
 * via the spec's PAT table (shared/spec/vm_bind.md 2.4) and platform table (0.3).
 *
 * Where a value is a property of one physical SKU that the driver reads from fuses or
 * firmware (which engines survive fusing, DSS/EU/L3 masks, firmware versions, PCI revision,
 * reference clock), the profile gives a plausible value for the named SKU; such values are
 * marked "plausible" below and are not claimed to match a particular board bit for bit.
 */

/** Engine classes as numbered by the uAPI (DRM_XE_ENGINE_CLASS_*). */
export const ENGINE_CLASS = { RENDER: 0, COPY: 1, VIDEO_DECODE: 2, VIDEO_ENHANCE: 3, COMPUTE: 4 } as const;

/** GT types as numbered by the uAPI (DRM_XE_QUERY_GT_TYPE_*). */
export const GT_TYPE = { MAIN: 0, MEDIA: 1 } as const;

/** One hardware engine of a GT. */
export interface EngineDesc {
  /** uAPI engine class (ENGINE_CLASS). */
  engineClass: number;
  /**
   * Logical instance within the class on its GT: the uAPI `engine_instance`. The driver
   * numbers the present engines of each class 0, 1, ... in hardware engine id order
   * (xe_hw_engine.c hw_engine_setup_logical_mapping); reserved engines take a number too.
   */
  instance: number;
  /** Name as the driver prints it, from the physical instance: rcs0, bcs8, vcs2. */
  name: string;
  /**
   * Kernel-only engine (xe_hw_engine_is_reserved): not listed by the ENGINES query and not
   * usable for exec queues. Two cases on these profiles: the highest copy engine on a USM
   * platform (kept for page-fault migrations), and compute engines at or beyond the default
   * ccs_mode of 1 on a GT with more than one CCS. ENGINE_CYCLES still finds them.
   * (The GSC engine of Xe2 media GTs is reserved as well; it has no uAPI class and is not
   * listed in the profiles.)
   */
  reserved: boolean;
}

/**
 * Fuse topology of a GT as the driver caches it (xe_gt_topology.c). Masks are little-endian
 * bit masks; the driver reports them in fixed-size byte arrays (see src/kernel/xe/xe_query.ts).
 */
export interface TopologyDesc {
  /** DSS (Xe-core) mask available for geometry. */
  dssGeometry: bigint;
  /** DSS (Xe-core) mask available for compute (0 on Xe_LP, which has no compute fuse). */
  dssCompute: bigint;
  /** Enabled L3 banks, or null when the driver cannot read them (omitted from the query). */
  l3Bank: bigint | null;
  /** EUs present in each DSS. */
  euPerDss: bigint;
  /** EU mask semantics: SIMD16 EUs (Xe_HPC and Xe2+, one bit per EU) or SIMD8 (one bit per EU, fuses in pairs). */
  simd16: boolean;
}

/** One GT (graphics tile unit). */
export interface GtDesc {
  /** GT id, unique in the device: tile * maxGtPerTile + (media ? 1 : 0). */
  id: number;
  /** GT_TYPE.MAIN or GT_TYPE.MEDIA. */
  type: number;
  /** Tile the GT lives on. */
  tile: number;
  /** Reference (timestamp) clock in Hz: what RING_TIMESTAMP counts. 19.2 MHz here (plausible). */
  referenceClock: number;
  /** GMD_ID IP version [major, minor, rev]; [0, 0, 0] on pre-GMD_ID parts. */
  ipVer: [number, number, number];
  /**
   * RPM_CONFIG0 CTC_SHIFT_PARAMETER (0..3), set by firmware: the reference clock is the
   * crystal >> (3 - shift) (xe_gt_clock.c). Given only where the driver reads it back (the
   * OA timestamp workarounds of DG2); unset means 3 (reference clock = crystal).
   */
  ctcShift?: number;
  /** Present engines in hardware engine id order: rcs, bcs0..8, vcs0..7, vecs0..3, ccs0..3. */
  engines: EngineDesc[];
  /** Fuse topology. */
  topology: TopologyDesc;
}

/** PAT coherency classes (xe_pat.c): reserved index (-EINVAL at bind), no coherency, at least 1-way. */
export const PAT_RESERVED = 0;
export const PAT_COH_NONE = 1;
export const PAT_COH_1WAY = 2;

/**
 * Page-table facts of a platform beyond `vaBits` / `vmMaxLevel` / `vram64k` (xe_pci.c graphics
 * descriptors; spec vm_bind.md 5.2-5.4). The entry format itself is in src/hw/pagetable.ts.
 */
export interface PageTableFacts {
  /** Width of device DMA addresses (dma_mask_size): an entry's address field is bits 12..this-1. */
  dmaMaskSize: number;
  /**
   * PAT index bits a leaf entry carries: 3 (PAT0-2) before Xe_LPG, 4 with PAT3 (bit 62) from
   * Xe_LPG, 5 with PAT4 (bit 61) from Xe2. A PDE always carries 2 (PAT0-1).
   */
  ptePatBits: number;
  /** Leaves have the AE (atomics enable) bit 10 (has_atomic_enable_pte_bit: PVC, Xe2+). */
  hasAtomicEnablePteBit: boolean;
  /** Compact 64K level-0 tables (PDE bit 6) are used: graphics version 12.50 and later. */
  compact64k: boolean;
}

/** A micro-controller firmware version [major, minor, patch]. */
export type FwVersion = [number, number, number];

/** A platform profile. */
export interface Profile {
  /** Profile name used by createDevice({ profile }). */
  name: string;
  /** Platform as the driver names it (xe_pci.c PLATFORM()). */
  platform: string;
  /** The retail SKU the SKU-specific values are taken from. */
  sku: string;
  /** PCI device id of that SKU. */
  devid: number;
  /** PCI revision id (plausible). */
  revid: number;
  /** Graphics IP version [major, minor], e.g. 20.04 -> [20, 4]; GRAPHICS_VER is [0]. */
  graphicsVer: [number, number];
  /** Media IP version [major, minor]; on pre-GMD_ID parts the media engines sit on the main GT. */
  mediaVer: [number, number];
  /** Discrete GPU with VRAM (IS_DGFX). */
  isDgfx: boolean;
  /** GPU virtual address bits (xe->info.va_bits). */
  vaBits: number;
  /** Root page-table level (3 = 4 levels, 4 = 5 levels). */
  vmMaxLevel: number;
  /** Fault mode (USM) support (has_usm). */
  hasUsm: boolean;
  /** Scratch pages allowed together with fault mode (needs_scratch). */
  needsScratch: boolean;
  /** VRAM needs 64K pages and compact level-0 tables (XE_VRAM_FLAGS_NEED64K). */
  vram64k: boolean;
  /** Page-table facts (entry format details per platform). */
  pt: PageTableFacts;
  /** Address-space ids for page-fault routing (has_asid). */
  hasAsid: boolean;
  /** CPU address mirror (SVM) support: has_usm with CONFIG_DRM_XE_GPUSVM, which xe-emu assumes enabled. */
  hasCpuAddrMirror: boolean;
  /** The device descriptor allows PXP (has_pxp); xe-emu then enables it (src/kernel/xe/xe_pxp.ts). */
  hasPxp: boolean;
  /**
   * Workaround 22014953428 (formerly 14016763929) applies on the root GT: DG2-G10 and G12
   * (xe_wa_oob.rules, SUBPLATFORM). Every user VM then gets SCRATCH_PAGE. Absent means no.
   */
  wa22014953428?: boolean;
  /**
   * The device has a display (DRIVER_MODESET | DRIVER_ATOMIC set). xe-emu emulates no display
   * engine, so every profile is headless, as upstream with xe.probe_display=0: DRM core then
   * answers SET_CLIENT_CAP and the KMS ioctls with EOPNOTSUPP.
   */
  display: boolean;
  /** Coherency class of each PAT index; its length is n_entries. */
  pat: number[];
  /** PAT index for write-back (xe->pat.idx[XE_CACHE_WB]). */
  patWb: number;
  /** PAT index for uncached (xe->pat.idx[XE_CACHE_NONE]). */
  patUc: number;
  /** PAT indices that enable compression (xe_pat_index_get_comp_en); absent: none. */
  patCompressed?: readonly number[];
  /** Flat CCS compression metadata (has_flat_ccs); absent means no. */
  hasFlatCcs?: boolean;
  /** GTs per tile the driver reserves ids for (max_gt_per_tile): 1 before GMD_ID, 2 after. */
  maxGtPerTile: number;
  /** GTs in id order. */
  gts: GtDesc[];
  /** Default emulated VRAM size per tile in bytes (empty for integrated parts); an option of createDevice. */
  vram: number[];
  /** VRAM per tile of the real SKU, in bytes (documentation; the emulated size is `vram`). */
  skuVram: number[];
  /** Default system memory pool size in bytes; an option of createDevice. */
  sysmem: number;
  /** GuC firmware: release version and submission-interface (compatibility) version (plausible). */
  guc: { release: FwVersion; submission: FwVersion };
  /** HuC firmware release version when HuC is loaded and authenticated (plausible); null when absent. */
  huc: FwVersion | null;
  /**
   * The GuC hardware-config table (HWCONFIG query): KLV-shaped u32 words. Its content here
   * is illustrative, not the GuC's real table. Empty where the driver fetches none (before
   * Xe_HPG except ADL-P).
   */
  hwconfig: Uint8Array;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const REFCLK_19_2 = 19_200_000;

/** Xe2 PAT table (LNL, 32 entries), restricted to the first `n` entries (BMG: 28). */
function xe2Pat(n: number): number[] {
  const oneWay = [1, 2, 4, 5, 7, 22, 23, 26, 27, 30, 31];
  const reserved = [16, 17, 18, 19];
  return Array.from({ length: n }, (_, i) =>
    reserved.includes(i) ? PAT_RESERVED : oneWay.includes(i) ? PAT_COH_1WAY : PAT_COH_NONE,
  );
}

/** Xe2 PAT indices with compression enabled (xe2_pat_table comp_en), restricted to the first `n`. */
function xe2PatCompressed(n: number): number[] {
  return [9, 10, 11, 12, 14, 15, 21, 25, 29].filter((i) => i < n);
}

/** Xe_LP and Xe_HPG PAT table: index 0 write-back (at least 1-way), 1..3 no coherency. */
const XELP_PAT = [PAT_COH_1WAY, PAT_COH_NONE, PAT_COH_NONE, PAT_COH_NONE];

/** Engine list helper: [class, logical instance, name, reserved?]. */
function engines(...list: Array<[number, number, string, boolean?]>): EngineDesc[] {
  return list.map(([engineClass, instance, name, reserved]) => ({ engineClass, instance, name, reserved: reserved ?? false }));
}

/** Mask with the low `n` bits set. */
function bits(n: number): bigint {
  return (1n << BigInt(n)) - 1n;
}

/**
 * A deterministic KLV table (u32 key, u32 length in dwords, values) of `count` entries: the
 * given leading entries, then filler keys with small pseudo-random values seeded by `seed`.
 */
function klvBlob(seed: number, lead: Array<[number, number[]]>, count: number): Uint8Array {
  const words: number[] = [];
  let x = seed >>> 0;
  const next = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x >>> 24;
  };
  const keys = new Set(lead.map(([k]) => k));
  const entries = [...lead];
  for (let k = 1; entries.length < count; k++) if (!keys.has(k)) entries.push([k, [next()]]);
  for (const [key, vals] of entries) words.push(key, vals.length, ...vals);
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return out;
}

const MEDIA_TOPOLOGY: TopologyDesc = { dssGeometry: 0n, dssCompute: 0n, l3Bank: 0n, euPerDss: 0n, simd16: true };

/**
 * Lunar Lake (Arc 140V): Xe2_LPG 20.04 iGPU with a Xe2_LPM 20.00 media GT; 5-level page
 * tables, fault mode, scratch with fault mode. The default profile.
 */
const lnl: Profile = {
  name: 'lnl',
  platform: 'LUNARLAKE',
  sku: 'Core Ultra 7 258V, Arc 140V (8 Xe2-cores)',
  devid: 0x64a0,
  revid: 0x04,
  graphicsVer: [20, 4],
  mediaVer: [20, 0],
  isDgfx: false,
  vaBits: 48,
  vmMaxLevel: 4,
  hasUsm: true,
  needsScratch: true,
  vram64k: false,
  pt: { dmaMaskSize: 46, ptePatBits: 5, hasAtomicEnablePteBit: true, compact64k: true },
  hasAsid: true,
  hasCpuAddrMirror: true,
  hasPxp: true,
  display: false,
  pat: xe2Pat(32),
  patWb: 2,
  patUc: 3,
  patCompressed: xe2PatCompressed(32),
  hasFlatCcs: true,
  maxGtPerTile: 2,
  gts: [
    {
      id: 0, type: GT_TYPE.MAIN, tile: 0, referenceClock: REFCLK_19_2, ipVer: [20, 4, 4],
      // Xe2 graphics mask: RCS0, BCS0, BCS8, CCS0-3 (CCS fused by register: one left here).
      // BCS8, the highest copy engine, is reserved for USM.
      engines: engines(
        [ENGINE_CLASS.RENDER, 0, 'rcs0'],
        [ENGINE_CLASS.COPY, 0, 'bcs0'],
        [ENGINE_CLASS.COPY, 1, 'bcs8', true],
        [ENGINE_CLASS.COMPUTE, 0, 'ccs0'],
      ),
      topology: { dssGeometry: bits(8), dssCompute: bits(8), l3Bank: bits(8), euPerDss: bits(8), simd16: true },
    },
    {
      id: 1, type: GT_TYPE.MEDIA, tile: 0, referenceClock: REFCLK_19_2, ipVer: [20, 0, 4],
      // Xe_LPM+ media mask VCS0-7, VECS0-3, GSCCS0 after fusing.
      engines: engines(
        [ENGINE_CLASS.VIDEO_DECODE, 0, 'vcs0'],
        [ENGINE_CLASS.VIDEO_DECODE, 1, 'vcs2'],
        [ENGINE_CLASS.VIDEO_ENHANCE, 0, 'vecs0'],
      ),
      topology: MEDIA_TOPOLOGY,
    },
  ],
  vram: [],
  skuVram: [],
  sysmem: 512 * MiB,
  guc: { release: [70, 44, 1], submission: [1, 20, 0] },
  huc: [9, 4, 13],
  hwconfig: klvBlob(0x64a0, [[1, [1]], [2, [8]], [3, [8]], [4, [2]]], 64),
};

/**
 * Battlemage G21 (Arc B580): Xe2_HPG 20.01 dGPU with a Xe2_HPM 13.01 media GT and VRAM;
 * 5-level page tables, fault mode; PAT limited to 28 entries.
 */
const bmg: Profile = {
  name: 'bmg',
  platform: 'BATTLEMAGE',
  sku: 'Arc B580 (BMG-G21, 20 Xe2-cores, 12 GiB)',
  devid: 0xe20b,
  revid: 0x00,
  graphicsVer: [20, 1],
  mediaVer: [13, 1],
  isDgfx: true,
  vaBits: 48,
  vmMaxLevel: 4,
  hasUsm: true,
  needsScratch: true,
  vram64k: false,
  pt: { dmaMaskSize: 46, ptePatBits: 5, hasAtomicEnablePteBit: true, compact64k: true },
  hasAsid: true,
  hasCpuAddrMirror: true,
  hasPxp: false,
  display: false,
  pat: xe2Pat(28),
  patWb: 2,
  patUc: 3,
  patCompressed: xe2PatCompressed(28),
  hasFlatCcs: true,
  maxGtPerTile: 2,
  gts: [
    {
      id: 0, type: GT_TYPE.MAIN, tile: 0, referenceClock: REFCLK_19_2, ipVer: [20, 1, 4],
      // CCS1-3 present (plausible) but reserved by the default ccs_mode of 1.
      engines: engines(
        [ENGINE_CLASS.RENDER, 0, 'rcs0'],
        [ENGINE_CLASS.COPY, 0, 'bcs0'],
        [ENGINE_CLASS.COPY, 1, 'bcs8', true],
        [ENGINE_CLASS.COMPUTE, 0, 'ccs0'],
        [ENGINE_CLASS.COMPUTE, 1, 'ccs1', true],
        [ENGINE_CLASS.COMPUTE, 2, 'ccs2', true],
        [ENGINE_CLASS.COMPUTE, 3, 'ccs3', true],
      ),
      topology: { dssGeometry: bits(20), dssCompute: bits(20), l3Bank: bits(24), euPerDss: bits(8), simd16: true },
    },
    {
      id: 1, type: GT_TYPE.MEDIA, tile: 0, referenceClock: REFCLK_19_2, ipVer: [13, 1, 4],
      engines: engines(
        [ENGINE_CLASS.VIDEO_DECODE, 0, 'vcs0'],
        [ENGINE_CLASS.VIDEO_DECODE, 1, 'vcs2'],
        [ENGINE_CLASS.VIDEO_ENHANCE, 0, 'vecs0'],
        [ENGINE_CLASS.VIDEO_ENHANCE, 1, 'vecs1'],
      ),
      topology: MEDIA_TOPOLOGY,
    },
  ],
  vram: [256 * MiB],
  skuVram: [12 * GiB],
  sysmem: 512 * MiB,
  guc: { release: [70, 44, 1], submission: [1, 20, 0] },
  huc: [8, 2, 10],
  hwconfig: klvBlob(0xe20b, [[1, [5]], [2, [20]], [3, [8]], [4, [5]]], 72),
};

/**
 * DG2-G10 (Arc A770): Xe_HPG 12.55 dGPU, pre-GMD_ID (one GT with the media engines); VRAM
 * needs 64K pages, 4-level page tables, no fault mode.
 */
const dg2: Profile = {
  name: 'dg2',
  platform: 'DG2',
  sku: 'Arc A770 (DG2-G10, 32 Xe-cores, 16 GiB)',
  devid: 0x56a0,
  revid: 0x08,
  graphicsVer: [12, 55],
  mediaVer: [12, 55],
  isDgfx: true,
  vaBits: 48,
  vmMaxLevel: 3,
  hasUsm: false,
  needsScratch: false,
  vram64k: true,
  pt: { dmaMaskSize: 46, ptePatBits: 3, hasAtomicEnablePteBit: false, compact64k: true },
  hasAsid: false,
  hasCpuAddrMirror: false,
  hasPxp: false,
  display: false,
  // 0x56A0 is in INTEL_DG2_G10_IDS (pciids.h).
  wa22014953428: true,
  pat: XELP_PAT,
  patWb: 0,
  patUc: 3,
  maxGtPerTile: 1,
  gts: [
    {
      id: 0, type: GT_TYPE.MAIN, tile: 0, referenceClock: REFCLK_19_2, ipVer: [0, 0, 0],
      // CTC shift 2 with the 38.4 MHz crystal gives the 19.2 MHz reference clock (plausible).
      ctcShift: 2,
      // Xe_HPG mask RCS0, BCS0, CCS0-3 (a CCS per populated DSS quadrant: all four here;
      // CCS1-3 reserved by ccs_mode 1) plus Xe_HPM VCS/VECS after fusing.
      engines: engines(
        [ENGINE_CLASS.RENDER, 0, 'rcs0'],
        [ENGINE_CLASS.COPY, 0, 'bcs0'],
        [ENGINE_CLASS.VIDEO_DECODE, 0, 'vcs0'],
        [ENGINE_CLASS.VIDEO_DECODE, 1, 'vcs2'],
        [ENGINE_CLASS.VIDEO_ENHANCE, 0, 'vecs0'],
        [ENGINE_CLASS.VIDEO_ENHANCE, 1, 'vecs1'],
        [ENGINE_CLASS.COMPUTE, 0, 'ccs0'],
        [ENGINE_CLASS.COMPUTE, 1, 'ccs1', true],
        [ENGINE_CLASS.COMPUTE, 2, 'ccs2', true],
        [ENGINE_CLASS.COMPUTE, 3, 'ccs3', true],
      ),
      topology: { dssGeometry: bits(32), dssCompute: bits(32), l3Bank: bits(32), euPerDss: bits(16), simd16: false },
    },
  ],
  vram: [256 * MiB],
  skuVram: [16 * GiB],
  sysmem: 512 * MiB,
  guc: { release: [70, 44, 1], submission: [1, 20, 0] },
  // xe_uc_fw.c lists no DG2 HuC firmware, so the HuC is not supported (UC_FW_VERSION: ENODEV).
  huc: null,
  hwconfig: klvBlob(0x56a0, [[1, [8]], [2, [32]], [3, [16]], [4, [8]]], 56),
};

/**
 * Tiger Lake GT2 (Iris Xe, 96 EUs): Xe_LP 12.00 iGPU, pre-GMD_ID (one GT with the media
 * engines); 4-level page tables, no fault mode, no GuC hwconfig table.
 */
const tgl: Profile = {
  name: 'tgl',
  platform: 'TIGERLAKE',
  sku: 'Core i7-1165G7, Iris Xe (TGL GT2, 96 EUs)',
  devid: 0x9a49,
  revid: 0x01,
  graphicsVer: [12, 0],
  mediaVer: [12, 0],
  isDgfx: false,
  vaBits: 48,
  vmMaxLevel: 3,
  hasUsm: false,
  needsScratch: false,
  vram64k: false,
  pt: { dmaMaskSize: 39, ptePatBits: 3, hasAtomicEnablePteBit: false, compact64k: false },
  hasAsid: false,
  hasCpuAddrMirror: false,
  hasPxp: false,
  display: false,
  pat: XELP_PAT,
  patWb: 0,
  patUc: 3,
  maxGtPerTile: 1,
  gts: [
    {
      id: 0, type: GT_TYPE.MAIN, tile: 0, referenceClock: REFCLK_19_2, ipVer: [0, 0, 0],
      // Xe_LP mask RCS0, BCS0 plus Xe_M VCS/VECS after fusing (GT2: vcs0, vcs2, vecs0).
      engines: engines(
        [ENGINE_CLASS.RENDER, 0, 'rcs0'],
        [ENGINE_CLASS.COPY, 0, 'bcs0'],
        [ENGINE_CLASS.VIDEO_DECODE, 0, 'vcs0'],
        [ENGINE_CLASS.VIDEO_DECODE, 1, 'vcs2'],
        [ENGINE_CLASS.VIDEO_ENHANCE, 0, 'vecs0'],
      ),
      // 6 DSS x 16 SIMD8 EUs; Xe_LP has no compute DSS fuse.
      topology: { dssGeometry: bits(6), dssCompute: 0n, l3Bank: bits(8), euPerDss: bits(16), simd16: false },
    },
  ],
  vram: [],
  skuVram: [],
  sysmem: 512 * MiB,
  guc: { release: [70, 44, 1], submission: [1, 20, 0] },
  huc: [7, 9, 3],
  hwconfig: new Uint8Array(0),
};

/** Every profile by name. */
export const PROFILES = { lnl, bmg, dg2, tgl } as const satisfies Readonly<Record<string, Profile>>;

/** The name of a device profile: 'lnl', 'bmg', 'dg2' or 'tgl'. */
export type ProfileName = keyof typeof PROFILES;

/** Looks a profile up by name; throws for an unknown one (own keys only: not 'toString'). */
export function getProfile(name: string): Profile {
  if (!Object.hasOwn(PROFILES, name)) {
    throw new Error(`unknown device profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`);
  }
  return PROFILES[name as ProfileName];
}

/** GRAPHICS_VERx100, e.g. 2004 for 20.04. */
export function graphicsVerx100(p: Profile): number {
  return p.graphicsVer[0] * 100 + p.graphicsVer[1];
}

/** MEDIA_VERx100, e.g. 1301 for 13.01. */
export function mediaVerx100(p: Profile): number {
  return p.mediaVer[0] * 100 + p.mediaVer[1];
}

/** The GT with uAPI id `gtId` (xe_device_get_gt), or undefined. */
export function gtById(p: Profile, gtId: number): GtDesc | undefined {
  return p.gts.find((g) => g.id === gtId);
}

/**
 * The engine of a GT by uAPI class and logical instance, reserved engines included
 * (xe_gt_hw_engine with logical = true), or undefined.
 */
export function findEngine(gt: GtDesc, engineClass: number, instance: number): EngineDesc | undefined {
  return gt.engines.find((e) => e.engineClass === engineClass && e.instance === instance);
}

/** Every engine user space may use, in the ENGINES query's order, with its GT id. */
export function userEngines(p: Profile): Array<EngineDesc & { gtId: number }> {
  return p.gts.flatMap((g) => g.engines.filter((e) => !e.reserved).map((e) => ({ ...e, gtId: g.id })));
}
