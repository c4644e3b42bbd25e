/**
 * DRM_IOCTL_XE_DEVICE_QUERY (xe_query.c: xe_query_ioctl and the query_* functions), as in
 * the newest upstream driver (shared/spec/sync_exec.md 7.4, checked against the newest
 * xe_query.c, whose header matches the 2026 uAPI table).
 *
 * Dispatcher: extensions or reserved non-zero -> -EINVAL; an id without a query function
 * -> -EINVAL. Every query then follows the same size protocol: size 0 -> report the
 * required size and return 0 without touching `data`; any other size that differs -> -EINVAL;
 * otherwise the reply is copied to `data` (a fault is -EFAULT, -ENOSPC for MEM_REGIONS).
 * Replies are built with the table's codecs; sizes and offsets come from its layouts.
 *
 * Newest-driver facts that differ from the spec text (upstream commit "drm/xe/uapi: loosen
 * used tracking restriction", 2025, backported to every stable tree since 6.8):
 * - MEM_REGIONS reports `used` / `cpu_visible_used` to every caller, not only to
 *   CAP_PERFMON holders (see USED_NEEDS_PERFMON).
 * - CONFIG flags: HAS_VRAM when the device has VRAM; HAS_CPU_ADDR_MIRROR when has_usm (with
 *   CONFIG_DRM_XE_GPUSVM); HAS_NO_COMPRESSION_HINT on graphics version 20+; HAS_LOW_LATENCY,
 *   HAS_DISABLE_STATE_CACHE_PERF_FIX and HAS_PURGING_SUPPORT unconditionally. xe-emu
 *   advertises only what it implements (DRIVER_FEATURES).
 * - ENGINE_CYCLES no longer checks gt_id against the per-tile GT maximum first; the GT lookup
 *   takes the id as a u8 (xe_device_get_gt), so only the low 8 bits of gt_id count [D].
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import {
  ENGINE_CLASS, GT_TYPE, findEngine, graphicsVerx100, mediaVerx100,
  type EngineDesc, type GtDesc, type Profile,
} from '../../hw/profile.js';
import { decode, encode, pack, packArray, type Fields, type FieldsIn } from '../../uapi/codec.js';
import { CAP } from '../../uapi/channel.js';
import { EFAULT, EINVAL, ENODEV, ENOSPC } from '../../uapi/errno.js';
import { flatMembers, memberSize } from '../../uapi/layout.js';
import { C, CB, layoutOf } from '../../uapi/uapi.js';
import type { IoctlDef } from '../drm/drm_ioctl.js';
import { Errno, fail, nonZero } from '../os/errno.js';
import { xeDeviceGetGt, type XeDevice } from './xe_device.js';
import type { IoctlCtx, XeFile } from './xe_file.js';
import { pxpReadiness } from './xe_pxp.js';

/**
 * Whether MEM_REGIONS hides `used` from callers without CAP_PERFMON / CAP_SYS_ADMIN. The
 * newest driver (and every stable tree since the 2025 fix) reports it to everyone; older
 * trees (and the spec's text) restricted it.
 */
export const USED_NEEDS_PERFMON = false;

/**
 * Optional driver features the CONFIG query advertises. A kernel without the feature does
 * not set the flag, so each stays false until xe-emu implements it.
 */
export const DRIVER_FEATURES = {
  /** DRM_XE_EXEC_QUEUE_LOW_LATENCY_HINT accepted at exec-queue create (spec 5.1). */
  lowLatency: true,
  /** GEM_CREATE NO_COMPRESSION on Xe2+ (src/kernel/xe/xe_bo.ts). */
  noCompressionHint: true,
  /** DRM_XE_EXEC_QUEUE_SET_DISABLE_STATE_CACHE_PERF_FIX accepted on render queues (xe_exec_queue.ts). */
  disableStateCachePerfFix: true,
  /** Purgeable-state madvise: not implemented. */
  purgingSupport: false,
} as const;

/** Byte sizes of the driver's topology bitmaps (xe_gt_types.h: unsigned long arrays of 96, 32 and 64 bits). */
export const TOPO_DSS_MASK_BYTES = 16;
export const TOPO_EU_MASK_BYTES = 8;
export const TOPO_L3_MASK_BYTES = 8;

/** Linux clock ids (uapi/linux/time.h) ENGINE_CYCLES accepts. */
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_MONOTONIC_RAW = 4;
const CLOCK_BOOTTIME = 7;
const CLOCK_TAI = 11;
/** TAI - UTC as a time-synchronised system sets it (the kernel's default is 0). */
const TAI_OFFSET_NS = 37_000_000_000n;
/** CLOCK_REALTIME - CLOCK_MONOTONIC, fixed when the kernel starts. */
const REALTIME_OFFSET_NS =
  BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint();

/** EU stall sampling (xe_eu_stall.c): rates in GPU cycles, Xe2 record size, per-XeCore buffer. */
const EU_STALL_SAMPLING_RATES = [1, 2, 3, 4, 5, 6, 7].map((k) => BigInt(251 * k));
const EU_STALL_RECORD_BYTES = 64;
const EU_STALL_PER_XECORE_BUF = 512 * 1024;

type QueryFn = (c: IoctlCtx) => number;

/** Byte offset of member `field` of table struct `struct` (flexible array members included). */
function offsetOf(struct: string, field: string): number {
  const m = flatMembers(layoutOf(struct)).find((x) => x.name === field);
  if (!m) throw new Error(`uAPI table: ${struct} has no member ${field}`);
  return m.offset;
}

/** sizeof(struct). */
function sizeOf(struct: string): number {
  return layoutOf(struct).size;
}

/** The common size protocol: the result to return now, or null to build the reply. */
function sizeProtocol(c: IoctlCtx, required: number): number | null {
  const size = c.args.size as number;
  if (size === 0) {
    c.args.size = required;
    return 0;
  }
  return size !== required ? fail(EINVAL, '.size %d: this query needs %d (or 0 to ask)', size, required) : null;
}

function dataPtr(c: IoctlCtx): bigint {
  return c.args.data as bigint;
}

/** put_user of one member of a struct at user address `base`. */
function putField(c: IoctlCtx, base: bigint, struct: string, field: string, value: number | bigint): void {
  const m = flatMembers(layoutOf(struct)).find((x) => x.name === field)!;
  const buf = new Uint8Array(sizeOf(struct));
  encode(struct, { [field]: value }, buf);
  c.um.copyToUser(base + BigInt(m.offset), buf.subarray(m.offset, m.offset + memberSize(m)));
}

/** A little-endian mask of exactly `bytes` bytes. */
function maskBytes(mask: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Number((mask >> BigInt(8 * i)) & 0xffn);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- ENGINES -----------------------------------------------------------------------------

function queryEngines(c: IoctlCtx): number {
  const list = c.dev.profile.gts.flatMap((gt) =>
    gt.engines
      .filter((e) => !e.reserved)
      .map((e) => ({ instance: { engine_class: e.engineClass, engine_instance: e.instance, gt_id: gt.id } })),
  );
  const required = sizeOf('drm_xe_query_engines') + list.length * sizeOf('drm_xe_engine');
  const r = sizeProtocol(c, required);
  if (r !== null) return r;
  const reply = new Uint8Array(required);
  encode('drm_xe_query_engines', { num_engines: list.length }, reply);
  reply.set(packArray('drm_xe_engine', list), offsetOf('drm_xe_query_engines', 'engines'));
  c.um.copyToUser(dataPtr(c), reply);
  return 0;
}

// ---- MEM_REGIONS -------------------------------------------------------------------------

function queryMemRegions(c: IoctlCtx): number {
  const dev = c.dev;
  const n = 1 + dev.vram.length;
  const at = offsetOf('drm_xe_query_mem_regions', 'mem_regions');
  const required = at + n * sizeOf('drm_xe_mem_region');
  const r = sizeProtocol(c, required);
  if (r !== null) return r;
  const showUsed = !USED_NEEDS_PERFMON || c.proc.capable(CAP.PERFMON) || c.proc.capable(CAP.SYS_ADMIN);
  const bytes = (pages: number): bigint => BigInt(pages) * BigInt(PAGE_SIZE);
  const regions: FieldsIn[] = [
    {
      mem_class: C('DRM_XE_MEM_REGION_CLASS_SYSMEM'),
      instance: 0,
      min_page_size: PAGE_SIZE,
      total_size: bytes(dev.sysmem.pages),
      used: showUsed ? bytes(dev.sysmem.usedPages) : 0n,
    },
    ...dev.vram.map((v, i) => {
      const used = showUsed ? bytes(v.usedPages) : 0n;
      return {
        mem_class: C('DRM_XE_MEM_REGION_CLASS_VRAM'),
        instance: i + 1,
        min_page_size: dev.profile.vram64k ? 0x10000 : PAGE_SIZE,
        total_size: bytes(v.pages),
        used,
        // Full BAR: all of VRAM is CPU visible.
        cpu_visible_size: bytes(v.pages),
        cpu_visible_used: used,
      };
    }),
  ];
  const reply = new Uint8Array(required);
  encode('drm_xe_query_mem_regions', { num_mem_regions: n }, reply);
  reply.set(packArray('drm_xe_mem_region', regions), at);
  try {
    c.um.copyToUser(dataPtr(c), reply);
  } catch (e) {
    if (e instanceof Errno && e.errno === EFAULT) return fail(ENOSPC, '.data: %s', e.reason);
    throw e;
  }
  return 0;
}

// ---- CONFIG ------------------------------------------------------------------------------

/** The CONFIG flags word for a device. */
export function configFlags(dev: XeDevice): bigint {
  const p = dev.profile;
  let flags = 0n;
  if (dev.vram.length > 0) flags |= CB('DRM_XE_QUERY_CONFIG_FLAG_HAS_VRAM');
  if (p.hasCpuAddrMirror) flags |= CB('DRM_XE_QUERY_CONFIG_FLAG_HAS_CPU_ADDR_MIRROR');
  if (DRIVER_FEATURES.noCompressionHint && p.graphicsVer[0] >= 20) {
    flags |= CB('DRM_XE_QUERY_CONFIG_FLAG_HAS_NO_COMPRESSION_HINT');
  }
  if (DRIVER_FEATURES.lowLatency) flags |= CB('DRM_XE_QUERY_CONFIG_FLAG_HAS_LOW_LATENCY');
  if (DRIVER_FEATURES.disableStateCachePerfFix) {
    flags |= CB('DRM_XE_QUERY_CONFIG_FLAG_HAS_DISABLE_STATE_CACHE_PERF_FIX');
  }
  if (DRIVER_FEATURES.purgingSupport) flags |= CB('DRM_XE_QUERY_CONFIG_FLAG_HAS_PURGING_SUPPORT');
  return flags;
}

function queryConfig(c: IoctlCtx): number {
  const numParams = C('DRM_XE_QUERY_CONFIG_MAX_EXEC_QUEUE_PRIORITY') + 1;
  const required = sizeOf('drm_xe_query_config') + numParams * 8;
  const r = sizeProtocol(c, required);
  if (r !== null) return r;
  const p = c.dev.profile;
  const info: bigint[] = new Array(numParams).fill(0n);
  info[C('DRM_XE_QUERY_CONFIG_REV_AND_DEVICE_ID')] = BigInt(p.devid | (p.revid << 16));
  info[C('DRM_XE_QUERY_CONFIG_FLAGS')] = configFlags(c.dev);
  info[C('DRM_XE_QUERY_CONFIG_MIN_ALIGNMENT')] = BigInt(p.vram64k ? 0x10000 : PAGE_SIZE);
  info[C('DRM_XE_QUERY_CONFIG_VA_BITS')] = BigInt(p.vaBits);
  // xe_exec_queue_device_get_max_priority: HIGH with CAP_SYS_NICE, else NORMAL.
  info[C('DRM_XE_QUERY_CONFIG_MAX_EXEC_QUEUE_PRIORITY')] = c.proc.capable(CAP.SYS_NICE) ? 2n : 1n;
  const reply = new Uint8Array(required);
  encode('drm_xe_query_config', { num_params: numParams }, reply);
  const at = offsetOf('drm_xe_query_config', 'info');
  const dv = new DataView(reply.buffer);
  info.forEach((v, i) => dv.setBigUint64(at + i * 8, v, true));
  c.um.copyToUser(dataPtr(c), reply);
  return 0;
}

// ---- GT_LIST -----------------------------------------------------------------------------

function queryGtList(c: IoctlCtx): number {
  const dev = c.dev;
  const gts = dev.profile.gts;
  const at = offsetOf('drm_xe_query_gt_list', 'gt_list');
  const required = sizeOf('drm_xe_query_gt_list') + gts.length * sizeOf('drm_xe_gt');
  const r = sizeProtocol(c, required);
  if (r !== null) return r;
  const list = gts.map((gt) => {
    // Bit 0 is system memory, bit 1 + N the VRAM of tile N.
    const near = dev.profile.isDgfx ? BigInt(1 << gt.tile) << 1n : 1n;
    return {
      type: gt.type === GT_TYPE.MEDIA ? C('DRM_XE_QUERY_GT_TYPE_MEDIA') : C('DRM_XE_QUERY_GT_TYPE_MAIN'),
      tile_id: gt.tile,
      gt_id: gt.id,
      reference_clock: gt.referenceClock,
      near_mem_regions: near,
      far_mem_regions: BigInt(dev.memRegionMask) ^ near,
      ip_ver_major: gt.ipVer[0],
      ip_ver_minor: gt.ipVer[1],
      ip_ver_rev: gt.ipVer[2],
    };
  });
  const reply = new Uint8Array(required);
  encode('drm_xe_query_gt_list', { num_gt: gts.length }, reply);
  reply.set(packArray('drm_xe_gt', list), at);
  c.um.copyToUser(dataPtr(c), reply);
  return 0;
}

// ---- HWCONFIG ----------------------------------------------------------------------------

function queryHwconfig(c: IoctlCtx): number {
  const blob = c.dev.profile.hwconfig;
  const r = sizeProtocol(c, blob.length);
  if (r !== null) return r;
  c.um.copyToUser(dataPtr(c), blob);
  return 0;
}

// ---- GT_TOPOLOGY -------------------------------------------------------------------------

/** The topology items of one GT in reply order: [type, mask bytes]. */
function topologyItems(gt: GtDesc): Array<[number, Uint8Array]> {
  const t = gt.topology;
  const items: Array<[number, Uint8Array]> = [
    [C('DRM_XE_TOPO_DSS_GEOMETRY'), maskBytes(t.dssGeometry, TOPO_DSS_MASK_BYTES)],
    [C('DRM_XE_TOPO_DSS_COMPUTE'), maskBytes(t.dssCompute, TOPO_DSS_MASK_BYTES)],
  ];
  // The L3 item is left out on GTs whose L3 bank mask the driver cannot read.
  if (t.l3Bank !== null) items.push([C('DRM_XE_TOPO_L3_BANK'), maskBytes(t.l3Bank, TOPO_L3_MASK_BYTES)]);
  items.push([
    t.simd16 ? C('DRM_XE_TOPO_SIMD16_EU_PER_DSS') : C('DRM_XE_TOPO_EU_PER_DSS'),
    maskBytes(t.euPerDss, TOPO_EU_MASK_BYTES),
  ]);
  return items;
}

function queryGtTopology(c: IoctlCtx): number {
  const p = c.dev.profile;
  const hdr = offsetOf('drm_xe_query_topology_mask', 'mask');
  const perGt = p.gts.map((gt) => ({ gt, items: topologyItems(gt) }));
  const required = perGt.reduce((n, g) => n + g.items.reduce((m, [, mask]) => m + hdr + mask.length, 0), 0);
  const r = sizeProtocol(c, required);
  if (r !== null) return r;
  // Header and mask are two copies per item, as the driver does them: a fault leaves the
  // items before it written.
  let ptr = dataPtr(c);
  for (const { gt, items } of perGt) {
    for (const [type, mask] of items) {
      const h = pack('drm_xe_query_topology_mask', { gt_id: gt.id, type, num_bytes: mask.length }).subarray(0, hdr);
      c.um.copyToUser(ptr, h);
      ptr += BigInt(hdr);
      c.um.copyToUser(ptr, mask);
      ptr += BigInt(mask.length);
    }
  }
  return 0;
}

// ---- ENGINE_CYCLES -----------------------------------------------------------------------

/** Width in bits of the engine timestamp counter (RING_TIMESTAMP): 64 on Xe2+, else 36. */
export function timestampWidth(p: Profile): number {
  return p.graphicsVer[0] >= 20 ? 64 : 36;
}

/**
 * The engine timestamp (RING_TIMESTAMP) of GT `gt` at CLOCK_MONOTONIC `monoNs`: the
 * reference clock counted from monotonic time 0, wrapped to the counter width. Every
 * engine of a GT reads the same value.
 */
export function gtTimestamp(p: Profile, gt: GtDesc, monoNs: bigint): bigint {
  const cycles = (monoNs * BigInt(gt.referenceClock)) / 1_000_000_000n;
  return BigInt.asUintN(timestampWidth(p), cycles);
}

/** The CPU clock `clockid` as a function of a CLOCK_MONOTONIC sample, or null for an unsupported id. */
function cpuClock(clockid: number): ((mono: bigint) => bigint) | null {
  switch (clockid) {
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME: // never suspended
      return (m) => m;
    case CLOCK_REALTIME:
      return (m) => m + REALTIME_OFFSET_NS;
    case CLOCK_TAI:
      return (m) => m + REALTIME_OFFSET_NS + TAI_OFFSET_NS;
    default:
      return null;
  }
}

function queryEngineCycles(c: IoctlCtx): number {
  const S = 'drm_xe_query_engine_cycles';
  const r = sizeProtocol(c, sizeOf(S));
  if (r !== null) return r;
  const base = dataPtr(c);
  const req = getUserStruct(c, S, base);
  const clock = cpuClock(req.clockid as number);
  if (!clock) return fail(EINVAL, 'drm_xe_query_engine_cycles.clockid %d: unknown clock', req.clockid as number);
  const eci = req.eci as { engine_class: number; engine_instance: number; gt_id: number };
  const p = c.dev.profile;
  const gt = xeDeviceGetGt(p, eci.gt_id);
  if (!gt) return fail(EINVAL, 'drm_xe_query_engine_cycles.eci.gt_id %d: no such GT', eci.gt_id);
  if (eci.engine_class > ENGINE_CLASS.COMPUTE) return fail(EINVAL, 'drm_xe_query_engine_cycles.eci.engine_class %d: unknown', eci.engine_class);
  if (!findEngine(gt, eci.engine_class, eci.engine_instance)) {
    return fail(EINVAL, 'drm_xe_query_engine_cycles.eci: no engine of class %d instance %d', eci.engine_class, eci.engine_instance);
  }
  // hwe_read_timestamp: local_clock, the CPU clock, the register read, local_clock again.
  const t0 = process.hrtime.bigint();
  const cpuTs = clock(c.dev.now());
  const cycles = gtTimestamp(p, gt, c.dev.now());
  const delta = process.hrtime.bigint() - t0;
  // Only the output members are written, one put_user each.
  putField(c, base, S, 'cpu_timestamp', cpuTs);
  putField(c, base, S, 'cpu_delta', delta);
  putField(c, base, S, 'engine_cycles', cycles);
  putField(c, base, S, 'width', timestampWidth(p));
  return 0;
}

/** copy_from_user of a whole table struct, decoded (-EFAULT on a fault). */
function getUserStruct(c: IoctlCtx, struct: string, addr: bigint): Fields {
  return decode(struct, c.um.copyFromUser(addr, sizeOf(struct)));
}

// ---- UC_FW_VERSION -----------------------------------------------------------------------

function queryUcFwVersion(c: IoctlCtx): number {
  const S = 'drm_xe_query_uc_fw_version';
  const r = sizeProtocol(c, sizeOf(S));
  if (r !== null) return r;
  const base = dataPtr(c);
  const req = getUserStruct(c, S, base);
  if (req.pad !== 0 || req.pad2 !== 0 || req.reserved !== 0n) return fail(EINVAL, 'drm_xe_query_uc_fw_version.pad/pad2/reserved: must be 0');
  const p = c.dev.profile;
  let version: [number, number, number] | null;
  switch (req.uc_type) {
    case C('XE_QUERY_UC_TYPE_GUC_SUBMISSION'):
      version = p.guc.submission;
      break;
    case C('XE_QUERY_UC_TYPE_HUC'):
      // HuC lives on the media GT from media version 13, else on the primary GT; only a
      // running (loaded and authenticated) HuC has a version to report.
      version = mediaVerx100(p) >= 1300 && !p.gts.some((g) => g.type === GT_TYPE.MEDIA) ? null : p.huc;
      break;
    default:
      return fail(EINVAL, 'drm_xe_query_uc_fw_version.uc_type %d: unknown', req.uc_type as number);
  }
  if (!version) return fail(ENODEV, 'drm_xe_query_uc_fw_version.uc_type %d: no running firmware of that type', req.uc_type as number);
  const reply = pack(S, {
    ...(req as FieldsIn),
    branch_ver: 0,
    major_ver: version[0],
    minor_ver: version[1],
    patch_ver: version[2],
  });
  c.um.copyToUser(base, reply);
  return 0;
}

// ---- OA_UNITS ----------------------------------------------------------------------------

/** One OA unit as the driver sets them up (xe_oa.c __xe_oa_init_oa_units). */
export interface OaUnit {
  id: number;
  type: number;
  gtId: number;
  timestampFreq: number;
  /** Engines attached to the unit, reserved ones included (u->num_engines counts them). */
  attached: number;
  /** The engines the query lists: the attached ones that are not reserved. */
  engines: Array<{ engine_class: number; engine_instance: number; gt_id: number }>;
}

/** Unit index of the OAG unit and of the media units (enum xe_oam_unit_type: SAG, SCMI_0, SCMI_1). */
const OA_UNIT_OAG = 0;
const OAM_SAG = 0;
const OAM_SCMI_0 = 1;

/** The physical instance of an engine: the number in its name (vcs2 -> 2). */
function physicalInstance(e: EngineDesc): number {
  return Number(/\d+$/.exec(e.name)![0]);
}

/** num_oa_units_per_gt (no profile has MERT): one, but SAG + SCMI_0 (+ SCMI_1 on dGFX) on an Xe2+ media GT. */
function oaUnitsPerGt(p: Profile, gt: GtDesc): number {
  if (gt.type !== GT_TYPE.MEDIA || p.graphicsVer[0] < 20) return 1;
  return p.isDgfx ? 3 : 2;
}

/**
 * __hwe_oa_unit: the unit index on its GT an engine belongs to, or -1. Render and compute go
 * to the OAG unit, copy to none; video engines (__hwe_oam_unit) to none before graphics
 * 12.70, to the single OAM unit before Xe2, else to SCMI_0 on integrated parts and, on dGFX,
 * to SCMI_0 or SCMI_1 by physical instance (VECS by its low bit before media 35.00, the
 * others by bit 1). (The GSC engine, which would go to none, is not in the profiles.)
 */
function oaUnitIndex(p: Profile, e: EngineDesc): number {
  switch (e.engineClass) {
    case ENGINE_CLASS.RENDER:
    case ENGINE_CLASS.COMPUTE:
      return OA_UNIT_OAG;
    case ENGINE_CLASS.VIDEO_DECODE:
    case ENGINE_CLASS.VIDEO_ENHANCE: {
      if (graphicsVerx100(p) < 1270) return -1;
      if (p.graphicsVer[0] < 20) return 0;
      if (!p.isDgfx) return OAM_SCMI_0;
      const phys = physicalInstance(e);
      const vecsLowBit = e.engineClass === ENGINE_CLASS.VIDEO_ENHANCE && mediaVerx100(p) < 3500;
      return (vecsLowBit ? phys & 1 : (phys >> 1) & 1) + OAM_SCMI_0;
    }
    default:
      return -1;
  }
}

/**
 * Whether OA timestamps need the CTC shift undone: workaround 14015568240 (graphics
 * 12.55-12.60) or 18013179988 (12.55 and 12.70-12.74); DG2 among the profiles.
 */
function oaCtcShiftWa(p: Profile): boolean {
  const v = graphicsVerx100(p);
  return (v >= 1255 && v <= 1260) || (v >= 1270 && v <= 1274);
}

/**
 * xe_oa_timestamp_frequency: the GT reference clock, or under the CTC-shift workarounds
 * reference_clock << (3 - RPM_CONFIG0.CTC_SHIFT_PARAMETER) (the crystal frequency).
 */
export function oaTimestampFrequency(p: Profile, gt: GtDesc): number {
  if (!oaCtcShiftWa(p)) return gt.referenceClock;
  return gt.referenceClock * 2 ** (3 - (gt.ctcShift ?? 3));
}

/**
 * The OA units of a device (xe_oa_init_oa_units): per GT in id order, ids contiguous over
 * the device. A main GT has an OAG unit; an Xe2+ media GT an OAM_SAG unit (no engines) and
 * one or two OAM units (SCMI); an older media GT one OAM unit.
 */
export function oaUnits(p: Profile): OaUnit[] {
  const units: OaUnit[] = [];
  for (const gt of p.gts) {
    const media = gt.type === GT_TYPE.MEDIA;
    for (let i = 0; i < oaUnitsPerGt(p, gt); i++) {
      const mine = gt.engines.filter((e) => oaUnitIndex(p, e) === i);
      const type = !media ? 'OAG' : i === OAM_SAG && p.graphicsVer[0] >= 20 ? 'OAM_SAG' : 'OAM';
      units.push({
        id: units.length,
        type: C(`DRM_XE_OA_UNIT_TYPE_${type}`),
        gtId: gt.id,
        timestampFreq: oaTimestampFrequency(p, gt),
        attached: mine.length,
        engines: mine
          .filter((e) => !e.reserved)
          .map((e) => ({ engine_class: e.engineClass, engine_instance: e.instance, gt_id: gt.id })),
      });
    }
  }
  return units;
}

/**
 * query_oa_units: the size counts every attached engine (reserved ones too), the units are
 * packed by the engines actually listed, and the slack stays zero at the end (kzalloc).
 */
function queryOaUnits(c: IoctlCtx): number {
  const units = oaUnits(c.dev.profile);
  const eciSize = sizeOf('drm_xe_engine_class_instance');
  const required = units.reduce((n, u) => n + sizeOf('drm_xe_oa_unit') + u.attached * eciSize, sizeOf('drm_xe_query_oa_units'));
  const r = sizeProtocol(c, required);
  if (r !== null) return r;
  const caps =
    CB('DRM_XE_OA_CAPS_BASE') | CB('DRM_XE_OA_CAPS_SYNCS') | CB('DRM_XE_OA_CAPS_OA_BUFFER_SIZE') |
    CB('DRM_XE_OA_CAPS_WAIT_NUM_REPORTS') | CB('DRM_XE_OA_CAPS_OAM') | CB('DRM_XE_OA_CAPS_OA_UNIT_GT_ID');
  const parts: Uint8Array[] = [pack('drm_xe_query_oa_units', { num_oa_units: units.length })];
  for (const u of units) {
    parts.push(pack('drm_xe_oa_unit', {
      oa_unit_id: u.id,
      oa_unit_type: u.type,
      capabilities: caps,
      oa_timestamp_freq: u.timestampFreq,
      gt_id: u.gtId,
      num_engines: u.engines.length,
    }));
    parts.push(packArray('drm_xe_engine_class_instance', u.engines));
  }
  const reply = new Uint8Array(required);
  reply.set(concat(parts));
  c.um.copyToUser(dataPtr(c), reply);
  return 0;
}

// ---- PXP_STATUS --------------------------------------------------------------------------

function queryPxpStatus(c: IoctlCtx): number {
  const r = sizeProtocol(c, sizeOf('drm_xe_query_pxp_status'));
  if (r !== null) return r;
  const status = pxpReadiness(c.dev);
  if (status < 0) return status;
  const reply = pack('drm_xe_query_pxp_status', {
    status,
    supported_session_types: 1 << C('DRM_XE_PXP_TYPE_HWDRM'),
  });
  c.um.copyToUser(dataPtr(c), reply);
  return 0;
}

// ---- EU_STALL ----------------------------------------------------------------------------

function queryEuStall(c: IoctlCtx): number {
  // xe_eu_stall_supported_on_platform (checked before the size protocol): PVC and Xe2+.
  if (c.dev.profile.graphicsVer[0] < 20) return fail(ENODEV, 'EU_STALL: needs graphics version 20+');
  const n = EU_STALL_SAMPLING_RATES.length;
  const required = sizeOf('drm_xe_query_eu_stall') + n * 8;
  const r = sizeProtocol(c, required);
  if (r !== null) return r;
  const reply = new Uint8Array(required);
  encode('drm_xe_query_eu_stall', {
    capabilities: CB('DRM_XE_EU_STALL_CAPS_BASE'),
    record_size: EU_STALL_RECORD_BYTES,
    per_xecore_buf_size: EU_STALL_PER_XECORE_BUF,
    num_sampling_rates: n,
  }, reply);
  const at = offsetOf('drm_xe_query_eu_stall', 'sampling_rates');
  const dv = new DataView(reply.buffer);
  EU_STALL_SAMPLING_RATES.forEach((v, i) => dv.setBigUint64(at + i * 8, v, true));
  c.um.copyToUser(dataPtr(c), reply);
  return 0;
}

// ---- dispatcher --------------------------------------------------------------------------

/** Query functions by DRM_XE_DEVICE_QUERY_* id. */
const QUERY_FUNCS: Array<QueryFn | undefined> = [];
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_ENGINES')] = queryEngines;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_MEM_REGIONS')] = queryMemRegions;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_CONFIG')] = queryConfig;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_GT_LIST')] = queryGtList;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_HWCONFIG')] = queryHwconfig;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_GT_TOPOLOGY')] = queryGtTopology;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_ENGINE_CYCLES')] = queryEngineCycles;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_UC_FW_VERSION')] = queryUcFwVersion;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_OA_UNITS')] = queryOaUnits;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_PXP_STATUS')] = queryPxpStatus;
QUERY_FUNCS[C('DRM_XE_DEVICE_QUERY_EU_STALL')] = queryEuStall;

function deviceQuery(c: IoctlCtx): number {
  const a = c.args;
  if (a.extensions !== 0n || nonZero(a.reserved)) return fail(EINVAL, '.extensions/.reserved: must be 0');
  const fn = QUERY_FUNCS[a.query as number];
  if (!fn) return fail(EINVAL, '.query %d: unknown query', a.query as number);
  return fn(c);
}

/** Query ioctls. */
export const QUERY_IOCTLS: IoctlDef<XeFile>[] = [{ name: 'DRM_IOCTL_XE_DEVICE_QUERY', handler: deviceQuery }];
