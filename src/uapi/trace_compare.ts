/**
 * Comparison of a replayed call's kernel writes with the recorded ones (trace replay): bytes
 * first, and only on a mismatch the fields that differ, named from the uAPI table
 * (`drm_xe_gem_create.handle: recorded 1, replayed 2`); a write that is no argument struct
 * is named by its address and first differing byte.
 */
import { decodeLayout, type Value } from './codec.js';
import { isGroup, type Layout, type Member } from './layout.js';
import { bytesAt, getUint, inside, ioctlLayout, type FieldAt } from './trace_ids.js';
import type { MemRange } from './trace.js';
import { PRIM_SIZE, type Prim } from './types.js';
import { C, layoutOf } from './uapi.js';

/** A scalar of a struct: its C path, offset in the struct, size and type. */
interface Leaf {
  path: string;
  offset: number;
  size: number;
  prim: Prim;
}

const leafCache = new Map<string, Leaf[]>();

/** Every scalar of `layout` (array elements one by one; of a union only its first member). */
function leaves(layout: Layout): Leaf[] {
  let out = leafCache.get(layout.name);
  if (!out) leafCache.set(layout.name, (out = walk(layout.members, '')));
  return out;
}

function walk(members: readonly Member[], prefix: string): Leaf[] {
  const out: Leaf[] = [];
  for (const m of members) {
    if (isGroup(m)) {
      const inner = m.kind === 'union' ? m.members.slice(0, 1) : m.members;
      out.push(...walk(inner, m.name === undefined ? prefix : `${prefix}${m.name}.`));
      continue;
    }
    const n = m.isArray ? m.count : 1;
    for (let i = 0; i < n; i++) {
      const path = `${prefix}${m.name}${m.isArray ? `[${i}]` : ''}`;
      if (m.kind === 'prim') {
        out.push({ path, offset: m.offset + i * PRIM_SIZE[m.prim], size: PRIM_SIZE[m.prim], prim: m.prim });
      } else {
        const base = m.offset + i * m.layout.size;
        out.push(...leaves(m.layout).map((l) => ({ ...l, path: `${path}.${l.path}`, offset: base + l.offset })));
      }
    }
  }
  return out;
}

/** Byte offsets of `r` covered by `masks`. */
function maskedOffsets(r: MemRange, masks: readonly FieldAt[]): Set<number> {
  const out = new Set<number>();
  for (const f of masks) {
    if (!inside(f, r)) continue;
    const off = Number(f.addr - r.addr);
    for (let i = 0; i < f.size; i++) out.add(off + i);
  }
  return out;
}

/** The first offset where `want` and `got` differ outside `masks` (fields at addresses), or -1. */
export function firstDifference(r: MemRange, got: Uint8Array, masks: readonly FieldAt[]): number {
  const want = r.data;
  let skip: Set<number> | null = null;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === got[i]) continue;
    skip ??= maskedOffsets(r, masks);
    if (!skip.has(i)) return i;
  }
  return -1;
}

function show(v: bigint, prim: Prim, size: number): string {
  const signed = prim.startsWith('s') ? BigInt.asIntN(size * 8, v) : v;
  return signed >= 0n && signed < 10n ? String(signed) : `${signed < 0n ? signed : `0x${signed.toString(16)}`}`;
}

/** The reply struct of each DEVICE_QUERY (a reply of variable-size records is not listed). */
const QUERY_REPLIES: ReadonlyMap<number, string> = new Map([
  [C('DRM_XE_DEVICE_QUERY_ENGINES'), 'drm_xe_query_engines'],
  [C('DRM_XE_DEVICE_QUERY_MEM_REGIONS'), 'drm_xe_query_mem_regions'],
  [C('DRM_XE_DEVICE_QUERY_CONFIG'), 'drm_xe_query_config'],
  [C('DRM_XE_DEVICE_QUERY_GT_LIST'), 'drm_xe_query_gt_list'],
  [C('DRM_XE_DEVICE_QUERY_ENGINE_CYCLES'), 'drm_xe_query_engine_cycles'],
  [C('DRM_XE_DEVICE_QUERY_UC_FW_VERSION'), 'drm_xe_query_uc_fw_version'],
  [C('DRM_XE_DEVICE_QUERY_PXP_STATUS'), 'drm_xe_query_pxp_status'],
  [C('DRM_XE_DEVICE_QUERY_EU_STALL'), 'drm_xe_query_eu_stall'],
]);

/** The struct a DEVICE_QUERY wrote at `addr` (its `data`), if `r` is that reply. */
function queryReply(request: number, argp: bigint, reads: readonly MemRange[], addr: bigint): Layout | undefined {
  const layout = ioctlLayout(request);
  const arg = layout?.name === 'drm_xe_device_query' ? bytesAt(reads, argp, layout.size) : undefined;
  if (!layout || !arg) return undefined;
  const f = decodeLayout(layout, arg, 0, false);
  const name = QUERY_REPLIES.get(Number(f.query));
  return name !== undefined && BigInt(f.data as bigint | number) === addr ? layoutOf(name) : undefined;
}

function showValue(v: Value): string {
  return typeof v === 'bigint' || typeof v === 'number' ? show(BigInt(v), 'u64', 8) : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
}

/** Paths where two decoded values differ (`a.b[2].c`). */
function diffValues(a: Value, b: Value, path: string): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path}: recorded ${a.length} elements, replayed ${b.length}`];
    return a.flatMap((x, i) => diffValues(x, b[i], `${path}[${i}]`));
  }
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    return Object.keys(a).flatMap((k) => diffValues(a[k], b[k], `${path}.${k}`));
  }
  return a === b ? [] : [`${path}: recorded ${showValue(a)}, replayed ${showValue(b)}`];
}

/**
 * The differences between recorded write `r` (ids already mapped) and the replayed bytes
 * `got`: one line per differing field when `r` is the write-back of the argument struct at
 * `argp` or a DEVICE_QUERY reply, else the address and first differing byte.
 */
export function describeDifference(request: number, argp: bigint, reads: readonly MemRange[], r: MemRange, got: Uint8Array, masks: readonly FieldAt[]): string[] {
  const layout = ioctlLayout(request);
  const skip = maskedOffsets(r, masks);
  if (layout && r.addr === argp) {
    const out: string[] = [];
    for (const l of leaves(layout)) {
      if (l.offset + l.size > r.data.length || skip.has(l.offset)) continue;
      const a = getUint(r.data, l.offset, l.size);
      const b = getUint(got, l.offset, l.size);
      if (a !== b) out.push(`${layout.name}.${l.path}: recorded ${show(a, l.prim, l.size)}, replayed ${show(b, l.prim, l.size)}`);
    }
    if (out.length) return out;
  }
  const reply = queryReply(request, argp, reads, r.addr);
  if (reply && !skip.size) {
    try {
      const out = diffValues(decodeLayout(reply, r.data), decodeLayout(reply, got), reply.name);
      if (out.length) return out;
    } catch {
      // A reply too short for its own counts: named by its bytes below.
    }
  }
  const i = firstDifference(r, got, masks);
  const byte = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;
  return [`write at 0x${r.addr.toString(16)} (${r.data.length} bytes), byte ${i}: recorded ${byte(r.data[i])}, replayed ${byte(got[i])}`];
}
