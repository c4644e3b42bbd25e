/**
 * IGT's lib/xe/xe_query.c helpers. As in IGT, the first helper used on an fd runs the
 * DEVICE_QUERY calls once (config, GT list, engines, memory regions) and caches the result
 * per process and fd (xe_device_get); xe_device_put drops it, as IGT's drm_close_driver
 * does, so call it before reusing a closed fd number for another device file.
 * Region masks are numbers: the uAPI placement field they feed is a u32.
 */
import { decode, decodeArray, type Fields } from '../uapi/codec.js';
import { C, layoutOf } from '../uapi/uapi.js';
import { __ioctl, unwrap } from './igt_core.js';
import type { Process } from './process.js';

const QUERY = 'DRM_IOCTL_XE_DEVICE_QUERY';

/** One engine placement (drm_xe_engine_class_instance). */
export interface EngineInstance {
  engine_class: number;
  engine_instance: number;
  gt_id: number;
}

/** IGT's default alignment (XE_DEFAULT_ALIGNMENT, SZ_4K): the floor of xe_get_default_alignment. */
export const XE_DEFAULT_ALIGNMENT = 0x1000;

/** DEVICE_QUERY of `query`: size probe, then the reply bytes. */
export function xe_query(p: Process, fd: number, query: number): Uint8Array {
  const probe = __ioctl(p, fd, QUERY, { query });
  unwrap(p, 'xe_query(size)', QUERY, probe.err);
  const size = Number(probe.out.size);
  const data = p.mem.alloc(Math.max(size, 1), 8);
  try {
    unwrap(p, 'xe_query', QUERY, __ioctl(p, fd, QUERY, { query, size, data }).err);
    return p.mem.read(data, size);
  } finally {
    p.mem.free(data);
  }
}

/** The CONFIG query's info[] values. */
export function xe_query_config(p: Process, fd: number): bigint[] {
  const b = xe_query(p, fd, C('DRM_XE_DEVICE_QUERY_CONFIG'));
  const n = decode('drm_xe_query_config', b).num_params as number;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = layoutOf('drm_xe_query_config').size;
  return Array.from({ length: n }, (_, i) => dv.getBigUint64(at + i * 8, true));
}

/** The items of a query reply made of a count and a flexible array of `item` structs. */
function queryList(p: Process, fd: number, query: string, head: string, count: string, item: string): Fields[] {
  const b = xe_query(p, fd, C(query));
  return decodeArray(item, b, decode(head, b)[count] as number, layoutOf(head).size);
}

/** The ENGINES query's engine list (each engine's class, instance and GT). */
export function xe_query_engines(p: Process, fd: number): EngineInstance[] {
  return queryList(p, fd, 'DRM_XE_DEVICE_QUERY_ENGINES', 'drm_xe_query_engines', 'num_engines', 'drm_xe_engine')
    .map((e) => e.instance as unknown as EngineInstance);
}

/** What IGT's struct xe_device caches about a device fd. */
export interface XeDevice {
  /** CONFIG info[] values. */
  config: bigint[];
  /** GT_LIST entries (drm_xe_gt). */
  gt_list: Fields[];
  /** ENGINES entries (drm_xe_engine: instance, reserved). */
  engines: Fields[];
  /** MEM_REGIONS entries (drm_xe_mem_region). */
  mem_regions: Fields[];
  /** Every region of every GT (near and far), as a mask. */
  memory_regions: number;
  /** Largest min_page_size of all regions, at least XE_DEFAULT_ALIGNMENT. */
  default_alignment: number;
  /** Whether any region is VRAM. */
  has_vram: boolean;
  va_bits: number;
  /** PCI device id. */
  dev_id: number;
}

const cache = new WeakMap<Process, Map<number, XeDevice>>();

/** Queries the device behind `fd` once and caches the result (IGT's xe_device_get). */
export function xe_device_get(p: Process, fd: number): XeDevice {
  let perFd = cache.get(p);
  if (!perFd) cache.set(p, (perFd = new Map()));
  let dev = perFd.get(fd);
  if (!dev) perFd.set(fd, (dev = queryDevice(p, fd)));
  return dev;
}

/** Drops the cached query results of `fd` (IGT's xe_device_put). */
export function xe_device_put(p: Process, fd: number): void {
  cache.get(p)?.delete(fd);
}

function queryDevice(p: Process, fd: number): XeDevice {
  const config = xe_query_config(p, fd);
  const gt_list = queryList(p, fd, 'DRM_XE_DEVICE_QUERY_GT_LIST', 'drm_xe_query_gt_list', 'num_gt', 'drm_xe_gt');
  const engines = queryList(p, fd, 'DRM_XE_DEVICE_QUERY_ENGINES', 'drm_xe_query_engines', 'num_engines', 'drm_xe_engine');
  const mem_regions = queryList(
    p, fd, 'DRM_XE_DEVICE_QUERY_MEM_REGIONS', 'drm_xe_query_mem_regions', 'num_mem_regions', 'drm_xe_mem_region',
  );
  const vram = C('DRM_XE_MEM_REGION_CLASS_VRAM');
  return {
    config,
    gt_list,
    engines,
    mem_regions,
    memory_regions: gt_list.reduce((m, g) => m | Number(g.near_mem_regions) | Number(g.far_mem_regions), 0),
    default_alignment: mem_regions.reduce((a, r) => Math.max(a, r.min_page_size as number), XE_DEFAULT_ALIGNMENT),
    has_vram: mem_regions.some((r) => r.mem_class === vram),
    va_bits: Number(config[C('DRM_XE_QUERY_CONFIG_VA_BITS')]),
    dev_id: Number(config[C('DRM_XE_QUERY_CONFIG_REV_AND_DEVICE_ID')] & 0xffffn),
  };
}

/** A lookup in the cached query results found nothing (IGT asserts). */
function fail(call: string, what: string): never {
  throw new RangeError(`${call}: ${what}`);
}

/** The CONFIG info[] values (cached). */
export function xe_config(p: Process, fd: number): bigint[] {
  return xe_device_get(p, fd).config;
}

/** The GT list entries (cached). */
export function xe_gt_list(p: Process, fd: number): Fields[] {
  return xe_device_get(p, fd).gt_list;
}

/** Number of GTs. */
export function xe_number_gt(p: Process, fd: number): number {
  return xe_gt_list(p, fd).length;
}

/** The ENGINES query entries (cached). */
export function xe_engines(p: Process, fd: number): Fields[] {
  return xe_device_get(p, fd).engines;
}

/** Number of engines user space may use. */
export function xe_number_engines(p: Process, fd: number): number {
  return xe_engines(p, fd).length;
}

/** Engine `idx` of the ENGINES query; throws for an index out of range. */
export function xe_engine(p: Process, fd: number, idx: number): Fields {
  const e = xe_engines(p, fd)[idx];
  return e ?? fail('xe_engine', `no engine ${idx}`);
}

/** Every engine's placement (class, instance, GT) in query order: IGT's xe_for_each_engine. */
export function* xe_for_each_engine(p: Process, fd: number): Generator<EngineInstance> {
  for (let i = 0; i < xe_number_engines(p, fd); i++) yield xe_engine(p, fd, i).instance as unknown as EngineInstance;
}

/** Mask of every memory region of the device. */
export function all_memory_regions(p: Process, fd: number): number {
  return xe_device_get(p, fd).memory_regions;
}

/** Mask of system memory (region 0). */
export function system_memory(p: Process, fd: number): number {
  return all_memory_regions(p, fd) & 1;
}

function gtOf(p: Process, fd: number, call: string, gt: number): Fields {
  return xe_gt_list(p, fd).find((g) => g.gt_id === gt) ?? fail(call, `no GT ${gt}`);
}

/** Mask of GT `gt`'s own VRAM (its near regions), 0 on a device without VRAM. */
export function vram_memory(p: Process, fd: number, gt: number): number {
  const g = gtOf(p, fd, 'vram_memory', gt);
  return xe_has_vram(p, fd) ? Number(g.near_mem_regions) : 0;
}

/** GT `gt`'s VRAM when the device has VRAM, else system memory. */
export function vram_if_possible(p: Process, fd: number, gt: number): number {
  return vram_memory(p, fd, gt) || system_memory(p, fd);
}

/** The memory region entry of the lowest region in mask `region`. */
export function xe_mem_region(p: Process, fd: number, region: number): Fields {
  const idx = 31 - Math.clz32(region & -region);
  return xe_device_get(p, fd).mem_regions[idx] ?? fail('xe_mem_region', `no region in mask ${region}`);
}

/** min_page_size of the lowest region in `region`. */
export function xe_min_page_size(p: Process, fd: number, region: number): number {
  return xe_mem_region(p, fd, region).min_page_size as number;
}

/** Whether the device has VRAM. */
export function xe_has_vram(p: Process, fd: number): boolean {
  return xe_device_get(p, fd).has_vram;
}

/** A size field of GT `gt`'s own region when it is VRAM, else 0. */
function gtVram(p: Process, fd: number, call: string, gt: number, field: 'total_size' | 'cpu_visible_size'): bigint {
  const r = xe_mem_region(p, fd, Number(gtOf(p, fd, call, gt).near_mem_regions));
  return r.mem_class === C('DRM_XE_MEM_REGION_CLASS_VRAM') ? (r[field] as bigint) : 0n;
}

/** VRAM size of GT `gt` in bytes (0 without VRAM). */
export function xe_vram_size(p: Process, fd: number, gt: number): bigint {
  return gtVram(p, fd, 'xe_vram_size', gt, 'total_size');
}

/** CPU-visible VRAM of GT `gt` in bytes; the whole VRAM size when the kernel reports 0. */
export function xe_visible_vram_size(p: Process, fd: number, gt: number): bigint {
  return gtVram(p, fd, 'xe_visible_vram_size', gt, 'cpu_visible_size') || xe_vram_size(p, fd, gt);
}

/** An alignment safe for every region: the largest min_page_size, at least 4 KiB. */
export function xe_get_default_alignment(p: Process, fd: number): number {
  return xe_device_get(p, fd).default_alignment;
}

/** Bits of GPU virtual address. */
export function xe_va_bits(p: Process, fd: number): number {
  return xe_device_get(p, fd).va_bits;
}

/** PCI device id. */
export function xe_dev_id(p: Process, fd: number): number {
  return xe_device_get(p, fd).dev_id;
}
