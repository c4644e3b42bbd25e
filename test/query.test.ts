// DRM_IOCTL_XE_DEVICE_QUERY (shared/spec/sync_exec.md 7.4, cases 72-73): dispatcher checks,
// the size protocol, and every query's reply on every profile.
import t from 'tap';
import { CAP, DEBUG, createDevice, decode, decodeArray, errno, pack, type Fields } from '../src/index.js';
import type { Process } from '../src/userspace/process.js';
import { doIoctl, xe_query, xe_query_config } from '../src/userspace/igt.js';
import { flatMembers } from '../src/uapi/layout.js';
import { C, layoutOf } from '../src/uapi/uapi.js';
import { createRegions } from '../src/hw/memory.js';
import { getProfile, type Profile, type ProfileName } from '../src/hw/profile.js';
import { XeDevice } from '../src/kernel/xe/xe_device.js';
import type { Process as KProcess } from '../src/kernel/os/process.js';
import { QUERY_IOCTLS } from '../src/kernel/xe/xe_query.js';
import type { UserMemory } from '../src/kernel/os/uaccess.js';
import { XeFile } from '../src/kernel/xe/xe_file.js';

const Q = {
  ENGINES: C('DRM_XE_DEVICE_QUERY_ENGINES'),
  MEM_REGIONS: C('DRM_XE_DEVICE_QUERY_MEM_REGIONS'),
  CONFIG: C('DRM_XE_DEVICE_QUERY_CONFIG'),
  GT_LIST: C('DRM_XE_DEVICE_QUERY_GT_LIST'),
  HWCONFIG: C('DRM_XE_DEVICE_QUERY_HWCONFIG'),
  GT_TOPOLOGY: C('DRM_XE_DEVICE_QUERY_GT_TOPOLOGY'),
  ENGINE_CYCLES: C('DRM_XE_DEVICE_QUERY_ENGINE_CYCLES'),
  UC_FW_VERSION: C('DRM_XE_DEVICE_QUERY_UC_FW_VERSION'),
  OA_UNITS: C('DRM_XE_DEVICE_QUERY_OA_UNITS'),
  PXP_STATUS: C('DRM_XE_DEVICE_QUERY_PXP_STATUS'),
  EU_STALL: C('DRM_XE_DEVICE_QUERY_EU_STALL'),
};
const QUERY = 'DRM_IOCTL_XE_DEVICE_QUERY';
const MiB = 1024 * 1024;
const SMALL = { sysmem: 64 * MiB, vram: 64 * MiB };
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_MONOTONIC_RAW = 4;
const CLOCK_BOOTTIME = 7;
const CLOCK_TAI = 11;

/** One DEVICE_QUERY call: rc, errno, and the query struct as the kernel left it. */
function query(p: Process, fd: number, q: number, size = 0, data = 0n, extra: Fields = {}): { rc: number; errno: number; size: number } {
  const r = doIoctl(p, fd, QUERY, { query: q, size, data, ...extra });
  return { rc: r.rc, errno: r.errno, size: r.out.size as number };
}

/** A user buffer of `n` bytes filled with 0xa5. */
function poisoned(p: Process, n: number): bigint {
  const a = p.mem.alloc(Math.max(n, 8), 8);
  p.mem.write(a, new Uint8Array(Math.max(n, 8)).fill(0xa5));
  return a;
}

function untouched(p: Process, a: bigint, n: number): boolean {
  return p.mem.read(a, n).every((b) => b === 0xa5);
}

/** A variable-length reply's header and elements. */
function parse(buf: Uint8Array, header: string, count: string, elem: string): { head: Fields; items: Fields[] } {
  const head = decode(header, buf);
  return { head, items: decodeArray(elem, buf, head[count] as number, layoutOf(header).size) };
}

/** The CONFIG info[] of a fresh query by `p`. */
function config(p: Process, fd: number): bigint[] {
  return xe_query_config(p, fd);
}

/** ENGINE_CYCLES with the given request; the struct afterwards and the result. */
function engineCycles(p: Process, fd: number, req: Fields): { rc: number; errno: number; out: Fields; tail: Uint8Array } {
  const n = layoutOf('drm_xe_query_engine_cycles').size;
  const a = poisoned(p, n + 8);
  // Only the inputs (eci, clockid): the outputs keep the poison.
  const inputs = flatMembers(layoutOf('drm_xe_query_engine_cycles')).find((m) => m.name === 'width')!.offset;
  p.mem.write(a, pack('drm_xe_query_engine_cycles', req).subarray(0, inputs));
  const r = query(p, fd, Q.ENGINE_CYCLES, n, a);
  const out = decode('drm_xe_query_engine_cycles', p.mem.read(a, n));
  const tail = p.mem.read(a + BigInt(n), 8);
  p.mem.free(a);
  return { rc: r.rc, errno: r.errno, out, tail };
}

// ---- spec cases -------------------------------------------------------------------------

t.test('case 72: CONFIG size probe, wrong size, unknown query, extensions, reply', async (t) => {
  const dev = await createDevice(SMALL);
  const p = dev.process;
  const fd = p.open();
  let r = query(p, fd, Q.CONFIG);
  t.same([r.rc, r.size], [0, 48], 'size 0 -> 0, size = 48');
  r = query(p, fd, Q.CONFIG, 40, poisoned(p, 48));
  t.same([r.rc, r.errno], [-1, errno.EINVAL], 'size 40 -> EINVAL');
  r = query(p, fd, 99);
  t.same([r.rc, r.errno], [-1, errno.EINVAL], 'query 99 -> EINVAL');
  r = query(p, fd, Q.CONFIG, 0, 0n, { extensions: 1n });
  t.same([r.rc, r.errno], [-1, errno.EINVAL], 'extensions 1 -> EINVAL');
  const a = poisoned(p, 48);
  r = query(p, fd, Q.CONFIG, 48, a);
  t.equal(r.rc, 0, 'size 48 with a valid pointer succeeds');
  const b = p.mem.read(a, 48);
  t.equal(decode('drm_xe_query_config', b).num_params, 5, 'num_params = 5');
  const dv = new DataView(b.buffer, b.byteOffset, 48);
  t.equal(dv.getBigUint64(8 + 4 * 8, true), 1n, 'info[4] = 1 for an unprivileged caller');
  await dev.close();
});

t.test('case 73: ENGINE_CYCLES with clockid 99 -> EINVAL', async (t) => {
  const dev = await createDevice(SMALL);
  const p = dev.process;
  const fd = p.open();
  const r = engineCycles(p, fd, { eci: { engine_class: 0, engine_instance: 0, gt_id: 0 }, clockid: 99 });
  t.same([r.rc, r.errno], [-1, errno.EINVAL]);
  t.equal(r.out.cpu_timestamp, 0xa5a5a5a5a5a5a5a5n, 'nothing written');
  await dev.close();
});

// ---- dispatcher -----------------------------------------------------------------------------

t.test('dispatcher: reserved words, every id past the table, size written back only on a probe', async (t) => {
  const dev = await createDevice(SMALL);
  const p = dev.process;
  const fd = p.open();
  for (const reserved of [[1n, 0n], [0n, 1n]]) {
    const r = query(p, fd, Q.ENGINES, 0, 0n, { reserved });
    t.same([r.rc, r.errno, r.size], [-1, errno.EINVAL, 0], `reserved ${reserved} -> EINVAL, size untouched`);
  }
  for (const q of [11, 12, 0xffff, 0xffffffff]) t.same(query(p, fd, q).errno, errno.EINVAL, `query ${q} -> EINVAL`);
  // Extensions are checked before the id.
  t.equal(query(p, fd, 99, 0, 0n, { extensions: 0x1000n }).errno, errno.EINVAL);
  const r = query(p, fd, Q.CONFIG, 12345);
  t.same([r.rc, r.errno, r.size], [-1, errno.EINVAL, 12345], 'a wrong size is left as given');
  await dev.close();
});

// ---- per-profile replies ------------------------------------------------------------------

interface Expect {
  sizes: Record<keyof typeof Q, number | 'ENODEV'>;
  engines: number[][];
  regions: Array<[number, number, number, bigint, bigint]>;
  config: bigint[];
  gts: Array<[number, number, number, number, bigint, bigint, number[]]>;
  topo: Array<[number, number, number]>;
  guc: number[];
  /** HuC version as [branch, major, minor, patch], or the errno when there is none. */
  huc: number[] | 'ENODEV';
  oa: Array<[number, number, number, number[][]]>;
  /** OA timestamp frequency of every unit. */
  oaFreq: bigint;
}

const E: Record<ProfileName, Expect> = {
  lnl: {
    sizes: { ENGINES: 200, MEM_REGIONS: 96, CONFIG: 48, GT_LIST: 200, HWCONFIG: 768, GT_TOPOLOGY: 160, ENGINE_CYCLES: 40, UC_FW_VERSION: 32, OA_UNITS: 272, PXP_STATUS: 8, EU_STALL: 136 },
    engines: [[0, 0, 0], [1, 0, 0], [4, 0, 0], [2, 0, 1], [2, 1, 1], [3, 0, 1]],
    regions: [[0, 0, 0x1000, 512n * 1048576n, 0n]],
    config: [0x464a0n, 0b11110n, 0x1000n, 48n, 1n],
    gts: [[0, 0, 0, 19_200_000, 1n, 0n, [20, 4, 4]], [1, 0, 1, 19_200_000, 1n, 0n, [20, 0, 4]]],
    topo: [[0, 1, 16], [0, 2, 16], [0, 3, 8], [0, 5, 8], [1, 1, 16], [1, 2, 16], [1, 3, 8], [1, 5, 8]],
    guc: [0, 1, 20, 0],
    huc: [0, 9, 4, 13],
    // OAG; the media GT's OAM_SAG (no engines) and SCMI_0 with every video engine.
    oa: [[0, 0, 0, [[0, 0, 0], [4, 0, 0]]], [1, 2, 1, []], [2, 1, 1, [[2, 0, 1], [2, 1, 1], [3, 0, 1]]]],
    oaFreq: 19_200_000n,
  },
  bmg: {
    sizes: { ENGINES: 232, MEM_REGIONS: 184, CONFIG: 48, GT_LIST: 200, HWCONFIG: 864, GT_TOPOLOGY: 160, ENGINE_CYCLES: 40, UC_FW_VERSION: 32, OA_UNITS: 376, PXP_STATUS: 8, EU_STALL: 136 },
    engines: [[0, 0, 0], [1, 0, 0], [4, 0, 0], [2, 0, 1], [2, 1, 1], [3, 0, 1], [3, 1, 1]],
    regions: [[0, 0, 0x1000, 512n * 1048576n, 0n], [1, 1, 0x1000, 256n * 1048576n, 256n * 1048576n]],
    config: [0xe20bn, 0b11111n, 0x1000n, 48n, 1n],
    gts: [[0, 0, 0, 19_200_000, 2n, 1n, [20, 1, 4]], [1, 0, 1, 19_200_000, 2n, 1n, [13, 1, 4]]],
    topo: [[0, 1, 16], [0, 2, 16], [0, 3, 8], [0, 5, 8], [1, 1, 16], [1, 2, 16], [1, 3, 8], [1, 5, 8]],
    guc: [0, 1, 20, 0],
    huc: [0, 8, 2, 10],
    // dGFX media GT: SAG, then SCMI_0 (vcs0, vecs0) and SCMI_1 (vcs2, vecs1) by physical
    // instance; the size counts the reserved ccs1-3 of the OAG unit (24 zero bytes at the end).
    oa: [[0, 0, 0, [[0, 0, 0], [4, 0, 0]]], [1, 2, 1, []], [2, 1, 1, [[2, 0, 1], [3, 0, 1]]], [3, 1, 1, [[2, 1, 1], [3, 1, 1]]]],
    oaFreq: 19_200_000n,
  },
  dg2: {
    sizes: { ENGINES: 232, MEM_REGIONS: 184, CONFIG: 48, GT_LIST: 104, HWCONFIG: 672, GT_TOPOLOGY: 80, ENGINE_CYCLES: 40, UC_FW_VERSION: 32, OA_UNITS: 128, PXP_STATUS: 8, EU_STALL: 'ENODEV' },
    engines: [[0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 1, 0], [3, 0, 0], [3, 1, 0], [4, 0, 0]],
    regions: [[0, 0, 0x1000, 512n * 1048576n, 0n], [1, 1, 0x10000, 256n * 1048576n, 256n * 1048576n]],
    config: [0x856a0n, 0b10011n, 0x10000n, 48n, 1n],
    gts: [[0, 0, 0, 19_200_000, 2n, 1n, [0, 0, 0]]],
    topo: [[0, 1, 16], [0, 2, 16], [0, 3, 8], [0, 4, 8]],
    guc: [0, 1, 20, 0],
    huc: 'ENODEV',
    // Media engines are not attached before graphics 12.70; the size counts ccs1-3.
    oa: [[0, 0, 0, [[0, 0, 0], [4, 0, 0]]]],
    // WA 18013179988 / 14015568240: 19.2 MHz << (3 - CTC shift 2).
    oaFreq: 38_400_000n,
  },
  tgl: {
    sizes: { ENGINES: 168, MEM_REGIONS: 96, CONFIG: 48, GT_LIST: 104, HWCONFIG: 0, GT_TOPOLOGY: 80, ENGINE_CYCLES: 40, UC_FW_VERSION: 32, OA_UNITS: 96, PXP_STATUS: 8, EU_STALL: 'ENODEV' },
    engines: [[0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 1, 0], [3, 0, 0]],
    regions: [[0, 0, 0x1000, 512n * 1048576n, 0n]],
    config: [0x19a49n, 0b10010n, 0x1000n, 48n, 1n],
    gts: [[0, 0, 0, 19_200_000, 1n, 0n, [0, 0, 0]]],
    topo: [[0, 1, 16], [0, 2, 16], [0, 3, 8], [0, 4, 8]],
    guc: [0, 1, 20, 0],
    huc: [0, 7, 9, 3],
    oa: [[0, 0, 0, [[0, 0, 0]]]],
    oaFreq: 19_200_000n,
  },
};

for (const [profile, x] of Object.entries(E) as Array<[ProfileName, Expect]>) {
  t.test(`${profile}: every query`, async (t) => {
    const dev = await createDevice({ profile });
    const p = dev.process;
    const fd = p.open();

    for (const [name, want] of Object.entries(x.sizes)) {
      const r = query(p, fd, Q[name as keyof typeof Q]);
      if (want === 'ENODEV') t.same([r.rc, r.errno, r.size], [-1, errno.ENODEV, 0], `${name}: ENODEV before the size probe`);
      else t.same([r.rc, r.size], [0, want], `${name}: size probe = ${want}`);
    }

    const eng = parse(xe_query(p, fd, Q.ENGINES), 'drm_xe_query_engines', 'num_engines', 'drm_xe_engine');
    t.same(eng.items.map((e) => {
      const i = e.instance as Fields;
      return [i.engine_class, i.engine_instance, i.gt_id];
    }), x.engines, 'ENGINES: class, logical instance, gt');
    t.ok(eng.items.every((e) => (e.instance as Fields).pad === 0 && (e.reserved as bigint[]).every((v) => v === 0n)), 'ENGINES: pad and reserved 0');

    const mem = parse(xe_query(p, fd, Q.MEM_REGIONS), 'drm_xe_query_mem_regions', 'num_mem_regions', 'drm_xe_mem_region');
    t.same(mem.items.map((m) => [m.mem_class, m.instance, m.min_page_size, m.total_size, m.cpu_visible_size]), x.regions, 'MEM_REGIONS');

    t.same(config(p, fd), x.config, 'CONFIG info[]');

    const gts = parse(xe_query(p, fd, Q.GT_LIST), 'drm_xe_query_gt_list', 'num_gt', 'drm_xe_gt');
    t.same(gts.items.map((g) => [g.type, g.tile_id, g.gt_id, g.reference_clock, g.near_mem_regions, g.far_mem_regions,
      [g.ip_ver_major, g.ip_ver_minor, g.ip_ver_rev]]), x.gts, 'GT_LIST');

    if (x.sizes.HWCONFIG) {
      t.same([...xe_query(p, fd, Q.HWCONFIG)], [...dev.profile.hwconfig], 'HWCONFIG: the profile blob');
    } else {
      t.equal(query(p, fd, Q.HWCONFIG, 4, poisoned(p, 4)).errno, errno.EINVAL, 'HWCONFIG: no table, any non-zero size is EINVAL');
    }

    const topo = xe_query(p, fd, Q.GT_TOPOLOGY);
    const items: Array<[number, number, number]> = [];
    const masks: bigint[] = [];
    for (let at = 0; at < topo.length;) {
      const h = decode('drm_xe_query_topology_mask', topo, at);
      items.push([h.gt_id as number, h.type as number, h.num_bytes as number]);
      const hdr = layoutOf('drm_xe_query_topology_mask').size;
      let m = 0n;
      for (let i = (h.num_bytes as number) - 1; i >= 0; i--) m = (m << 8n) | BigInt(topo[at + hdr + i]);
      masks.push(m);
      at += hdr + (h.num_bytes as number);
    }
    t.same(items, x.topo, 'GT_TOPOLOGY: item headers');
    const main = dev.profile.gts[0].topology;
    t.same(masks.slice(0, 2), [main.dssGeometry, main.dssCompute], 'GT_TOPOLOGY: main GT DSS masks');
    t.equal(masks[3], main.euPerDss, 'GT_TOPOLOGY: EU mask');

    const uc = (type: number): { rc: number; errno: number; v: number[] } => {
      const a = poisoned(p, 32);
      p.mem.write(a, pack('drm_xe_query_uc_fw_version', { uc_type: type }));
      const r = query(p, fd, Q.UC_FW_VERSION, 32, a);
      const o = decode('drm_xe_query_uc_fw_version', p.mem.read(a, 32));
      p.mem.free(a);
      return { rc: r.rc, errno: r.errno, v: [o.branch_ver, o.major_ver, o.minor_ver, o.patch_ver] as number[] };
    };
    t.same(uc(C('XE_QUERY_UC_TYPE_GUC_SUBMISSION')).v, x.guc, 'UC_FW_VERSION: GuC submission version');
    if (x.huc === 'ENODEV') {
      const h = uc(C('XE_QUERY_UC_TYPE_HUC'));
      t.same([h.rc, h.errno, h.v], [-1, errno.ENODEV, [0, 0, 0, 0]], 'UC_FW_VERSION: no HuC -> ENODEV, struct as written by the user');
    } else {
      t.same(uc(C('XE_QUERY_UC_TYPE_HUC')).v, x.huc, 'UC_FW_VERSION: HuC version');
    }

    // Into a poisoned buffer: the whole size is written, the slack as zeros.
    const oaSize = x.sizes.OA_UNITS as number;
    const oaBuf = poisoned(p, oaSize);
    t.equal(query(p, fd, Q.OA_UNITS, oaSize, oaBuf).rc, 0, 'OA_UNITS');
    const oa = p.mem.read(oaBuf, oaSize);
    const oaHead = decode('drm_xe_query_oa_units', oa);
    const units: Array<[number, number, number, number[][]]> = [];
    let at = layoutOf('drm_xe_query_oa_units').size;
    for (let i = 0; i < (oaHead.num_oa_units as number); i++) {
      const u = decode('drm_xe_oa_unit', oa, at);
      at += layoutOf('drm_xe_oa_unit').size;
      const n = Number(u.num_engines);
      const eci = decodeArray('drm_xe_engine_class_instance', oa, n, at).map((e) => [e.engine_class, e.engine_instance, e.gt_id] as number[]);
      at += n * layoutOf('drm_xe_engine_class_instance').size;
      units.push([u.oa_unit_id as number, u.oa_unit_type as number, u.gt_id as number, eci]);
      t.equal(u.capabilities, 0x3fn, `OA unit ${i}: capabilities`);
      t.equal(u.oa_timestamp_freq, x.oaFreq, `OA unit ${i}: timestamp frequency`);
      t.ok([...(u.reserved1 as number[]), ...(u.reserved as bigint[])].every((v) => Number(v) === 0), `OA unit ${i}: reserved 0`);
    }
    t.ok(oa.subarray(at).every((b) => b === 0), `OA_UNITS: the ${oa.length - at} bytes after the listed engines are zero`);
    t.same(units, x.oa, 'OA_UNITS: ids, types, GTs, engines');

    const pxBuf = poisoned(p, 8);
    const px = query(p, fd, Q.PXP_STATUS, 8, pxBuf);
    if (profile === 'lnl') {
      t.equal(px.rc, 0, 'PXP_STATUS: PXP enabled on LNL');
      const st = decode('drm_xe_query_pxp_status', p.mem.read(pxBuf, 8));
      t.same([st.status, st.supported_session_types], [1, 2], 'PXP_STATUS: ready, HWDRM sessions');
    } else {
      t.same([px.rc, px.errno], [-1, errno.ENODEV], 'PXP_STATUS: ENODEV (no PXP on this platform)');
      t.ok(untouched(p, pxBuf, 8), 'PXP_STATUS: nothing written');
    }

    if (x.sizes.EU_STALL !== 'ENODEV') {
      const eu = xe_query(p, fd, Q.EU_STALL);
      const h = decode('drm_xe_query_eu_stall', eu);
      t.same([h.capabilities, h.record_size, h.per_xecore_buf_size, h.num_sampling_rates], [1n, 64n, 524288n, 7n], 'EU_STALL: header');
      const dv = new DataView(eu.buffer, eu.byteOffset, eu.byteLength);
      const rates = Array.from({ length: 7 }, (_, i) => dv.getBigUint64(layoutOf('drm_xe_query_eu_stall').size + 8 * i, true));
      t.same(rates, [251n, 502n, 753n, 1004n, 1255n, 1506n, 1757n], 'EU_STALL: sampling rates');
    }
    await dev.close();
  });
}

// ---- size protocol and faults ---------------------------------------------------------------

t.test('every query: a wrong size is EINVAL and writes nothing; size+1 and size-1 too', async (t) => {
  const dev = await createDevice({ profile: 'bmg', ...SMALL });
  const p = dev.process;
  const fd = p.open();
  for (const [name, q] of Object.entries(Q)) {
    const probe = query(p, fd, q);
    t.equal(probe.rc, 0, `${name}: probe`);
    for (const size of [probe.size + 1, probe.size - 1, probe.size * 2]) {
      if (size <= 0) continue;
      const a = poisoned(p, size + 16);
      const r = query(p, fd, q, size, a);
      t.same([r.rc, r.errno], [-1, errno.EINVAL], `${name}: size ${size} -> EINVAL`);
      t.ok(untouched(p, a, size + 16), `${name}: data untouched`);
      p.mem.free(a);
    }
    // A probe never touches data, even a bad pointer.
    t.equal(query(p, fd, q, 0, 0x1000n).rc, 0, `${name}: probe ignores data`);
  }
  await dev.close();
});

t.test('a bad data pointer: EFAULT, but ENOSPC for MEM_REGIONS', async (t) => {
  const dev = await createDevice({ profile: 'lnl', ...SMALL });
  const p = dev.process;
  const fd = p.open();
  const bad = 0x1000n;
  const expect: Record<string, number> = {
    ENGINES: errno.EFAULT, MEM_REGIONS: errno.ENOSPC, CONFIG: errno.EFAULT, GT_LIST: errno.EFAULT,
    HWCONFIG: errno.EFAULT, GT_TOPOLOGY: errno.EFAULT, ENGINE_CYCLES: errno.EFAULT,
    UC_FW_VERSION: errno.EFAULT, OA_UNITS: errno.EFAULT, EU_STALL: errno.EFAULT, PXP_STATUS: errno.EFAULT,
  };
  for (const [name, q] of Object.entries(Q)) {
    const size = query(p, fd, q).size;
    const r = query(p, fd, q, size, bad);
    t.same([r.rc, r.errno, r.size], [-1, expect[name], size], `${name}: ${expect[name]}`);
  }
  // A reply crossing into an unmapped page: the topology copies item by item.
  // (munmap removes whole mappings: map two pages separately and drop the second.)
  const m = p.mmapAnon(4096);
  const hole = p.mmapAnon(4096);
  t.equal(hole, m + 4096n, 'adjacent mappings');
  t.equal(p.munmap(hole, 4096), 0);
  const size = query(p, fd, Q.GT_TOPOLOGY).size;
  const start = m + 4096n - 80n;
  p.mem.write(start, new Uint8Array(80).fill(0xa5));
  const r = query(p, fd, Q.GT_TOPOLOGY, size, start);
  t.same([r.rc, r.errno], [-1, errno.EFAULT], 'GT_TOPOLOGY crossing into a hole -> EFAULT');
  t.equal(decode('drm_xe_query_topology_mask', p.mem.read(start, 80)).type, C('DRM_XE_TOPO_DSS_GEOMETRY'), 'items before the fault are written');
  await dev.close();
});

// ---- privileges ------------------------------------------------------------------------------

t.test('MEM_REGIONS used: reported to every caller (newest driver), tracks allocations', async (t) => {
  const dev = await createDevice({ profile: 'bmg', ...SMALL });
  const plain = dev.process;
  const perf = dev.createProcess({ caps: [CAP.PERFMON] });
  const used = (p: Process): Fields[] => {
    const fd = p.open();
    const r = parse(xe_query(p, fd, Q.MEM_REGIONS), 'drm_xe_query_mem_regions', 'num_mem_regions', 'drm_xe_mem_region').items;
    p.close(fd);
    return r;
  };
  const pages = (): bigint[] => dev.process.debug(DEBUG.MEM_USAGE).slice(0, 2);
  for (const p of [plain, perf]) {
    const r = used(p);
    const [sys, vram] = pages();
    t.equal(r[0].used, sys * 4096n, `pid ${p.pid}: system used = pages in use`);
    t.ok((r[0].used as bigint) > 0n, `pid ${p.pid}: system used is non-zero`);
    t.same([r[1].used, r[1].cpu_visible_used], [vram * 4096n, vram * 4096n], `pid ${p.pid}: VRAM used`);
    t.same([r[0].cpu_visible_size, r[0].cpu_visible_used], [0n, 0n], 'system memory has no CPU-visible accounting');
  }
  const before = used(plain)[0].used as bigint;
  const m = plain.mmapAnon(16 * 4096);
  t.equal(used(plain)[0].used, before + 16n * 4096n, 'used grows with allocations');
  plain.munmap(m, 16 * 4096);
  t.equal(used(plain)[0].used, before, 'and shrinks back');
  await dev.close();
});

t.test('CONFIG max priority: 2 with CAP_SYS_NICE, else 1', async (t) => {
  const dev = await createDevice({ ...SMALL, caps: [CAP.SYS_NICE] });
  const nice = dev.process;
  t.equal(config(nice, nice.open())[4], 2n, 'default process with CAP_SYS_NICE');
  const plain = dev.createProcess();
  t.equal(config(plain, plain.open())[4], 1n, 'process without');
  const admin = dev.createProcess({ caps: [CAP.SYS_ADMIN, CAP.PERFMON] });
  t.equal(config(admin, admin.open())[4], 1n, 'SYS_ADMIN alone is not SYS_NICE');
  await dev.close();
});

// ---- ENGINE_CYCLES ---------------------------------------------------------------------------

t.test('ENGINE_CYCLES: clocks, width, cycle count, only outputs written', async (t) => {
  for (const [profile, width, gtMedia] of [['lnl', 64, 1], ['tgl', 36, -1]] as const) {
    const dev = await createDevice({ profile, ...SMALL });
    const p = dev.process;
    const fd = p.open();
    const mask = (1n << BigInt(width)) - 1n;
    const t0 = p.clockMonotonicNs();
    const r = engineCycles(p, fd, { eci: { engine_class: 0, engine_instance: 0, gt_id: 0 }, clockid: CLOCK_MONOTONIC });
    const t1 = p.clockMonotonicNs();
    t.equal(r.rc, 0, `${profile}: rcs0 MONOTONIC`);
    t.equal(r.out.width, width, `${profile}: width ${width}`);
    const ts = r.out.cpu_timestamp as bigint;
    t.ok(ts >= t0 && ts <= t1, `${profile}: cpu_timestamp is CLOCK_MONOTONIC now`);
    const delta = r.out.cpu_delta as bigint;
    t.ok(delta >= 0n && delta < 1_000_000_000n, `${profile}: cpu_delta small`);
    // Cycles count the 19.2 MHz reference clock from monotonic 0, read after cpu_timestamp.
    const lo = (ts * 19_200_000n) / 1_000_000_000n;
    const hi = ((ts + delta + 1_000_000n) * 19_200_000n) / 1_000_000_000n;
    const cyc = r.out.engine_cycles as bigint;
    t.ok(cyc >= (lo & mask) && cyc <= (hi & mask) || (hi & mask) < (lo & mask), `${profile}: engine_cycles = refclk ticks of monotonic time`);
    t.ok(cyc <= mask, `${profile}: engine_cycles within ${width} bits`);
    t.same([(r.out.eci as Fields).engine_class, (r.out.eci as Fields).gt_id, r.out.clockid], [0, 0, CLOCK_MONOTONIC], 'inputs kept');
    t.ok(r.tail.every((b) => b === 0xa5), 'bytes past the struct untouched');

    const real = engineCycles(p, fd, { eci: { engine_class: 1, engine_instance: 0, gt_id: 0 }, clockid: CLOCK_REALTIME });
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const d = (real.out.cpu_timestamp as bigint) - nowNs;
    t.ok(d > -2_000_000_000n && d < 2_000_000_000n, `${profile}: REALTIME is wall-clock time`);
    const tai = engineCycles(p, fd, { eci: { engine_class: 0, engine_instance: 0, gt_id: 0 }, clockid: CLOCK_TAI });
    const dt = (tai.out.cpu_timestamp as bigint) - nowNs;
    t.ok(dt > 35_000_000_000n && dt < 39_000_000_000n, `${profile}: TAI is 37 s ahead of REALTIME`);
    for (const clk of [CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME]) {
      const x = engineCycles(p, fd, { eci: { engine_class: 0, engine_instance: 0, gt_id: 0 }, clockid: clk });
      t.equal(x.rc, 0, `${profile}: clock ${clk} accepted`);
    }
    for (const clk of [2, 3, 5, 6, 8, 12, -1]) {
      t.equal(engineCycles(p, fd, { eci: { engine_class: 0, engine_instance: 0, gt_id: 0 }, clockid: clk }).errno, errno.EINVAL, `${profile}: clock ${clk} -> EINVAL`);
    }
    const bad = (eci: Fields, why: string): void => {
      const x = engineCycles(p, fd, { eci, clockid: CLOCK_MONOTONIC });
      t.same([x.rc, x.errno], [-1, errno.EINVAL], `${profile}: ${why} -> EINVAL`);
      t.equal(x.out.width, 0xa5a5a5a5, 'nothing written');
    };
    bad({ engine_class: 0, engine_instance: 0, gt_id: 2 }, 'no GT 2');
    bad({ engine_class: 5, engine_instance: 0, gt_id: 0 }, 'class VM_BIND');
    bad({ engine_class: 0, engine_instance: 1, gt_id: 0 }, 'no rcs1');
    bad({ engine_class: 4, engine_instance: 9, gt_id: 0 }, 'no ccs9');
    if (gtMedia > 0) {
      t.equal(engineCycles(p, fd, { eci: { engine_class: 2, engine_instance: 1, gt_id: gtMedia }, clockid: 1 }).rc, 0, `${profile}: vcs on the media GT`);
      bad({ engine_class: 2, engine_instance: 0, gt_id: 0 }, 'video engine on the main GT');
      // Reserved engines are not listed but still found by this query.
      t.equal(engineCycles(p, fd, { eci: { engine_class: 1, engine_instance: 1, gt_id: 0 }, clockid: 1 }).rc, 0, `${profile}: reserved bcs8`);
      // The GT lookup takes the id as a u8: 0x100 is GT 0.
      t.equal(engineCycles(p, fd, { eci: { engine_class: 0, engine_instance: 0, gt_id: 0x100 }, clockid: 1 }).rc, 0, `${profile}: gt_id 0x100 is GT 0`);
    } else {
      bad({ engine_class: 0, engine_instance: 0, gt_id: 1 }, 'no media GT');
    }
    await dev.close();
  }
});

t.test('ENGINE_CYCLES and UC_FW_VERSION read the user struct first; UC_FW_VERSION checks', async (t) => {
  const dev = await createDevice({ profile: 'dg2', ...SMALL });
  const p = dev.process;
  const fd = p.open();
  // Reserved CCS past ccs_mode are found (DG2 has ccs1-3 reserved).
  t.equal(engineCycles(p, fd, { eci: { engine_class: 4, engine_instance: 3, gt_id: 0 }, clockid: 1 }).rc, 0, 'reserved ccs3');
  t.equal(engineCycles(p, fd, { eci: { engine_class: 1, engine_instance: 1, gt_id: 0 }, clockid: 1 }).errno, errno.EINVAL, 'no second copy engine on DG2');
  t.equal(query(p, fd, Q.ENGINE_CYCLES, 40, 0x1000n).errno, errno.EFAULT, 'ENGINE_CYCLES: unreadable struct -> EFAULT');
  const uc = (fields: Fields): { rc: number; errno: number; raw: Uint8Array } => {
    const a = poisoned(p, 40);
    p.mem.write(a, pack('drm_xe_query_uc_fw_version', fields));
    const r = query(p, fd, Q.UC_FW_VERSION, 32, a);
    const raw = p.mem.read(a, 40);
    p.mem.free(a);
    return { rc: r.rc, errno: r.errno, raw };
  };
  for (const [f, why] of [[{ pad: 1 }, 'pad'], [{ pad2: 1 }, 'pad2'], [{ reserved: 1n }, 'reserved'], [{ uc_type: 2 }, 'uc_type 2']] as const) {
    const r = uc({ uc_type: 0, ...f });
    t.same([r.rc, r.errno], [-1, errno.EINVAL], `UC_FW_VERSION ${why} -> EINVAL`);
    t.equal(decode('drm_xe_query_uc_fw_version', r.raw).major_ver, 0, 'nothing written (still the packed zero)');
  }
  const ok = uc({ uc_type: 0, branch_ver: 77 });
  const o = decode('drm_xe_query_uc_fw_version', ok.raw);
  t.same([ok.rc, o.uc_type, o.branch_ver, o.major_ver], [0, 0, 0, 1], 'GuC: branch forced to 0, whole struct written');
  t.ok(ok.raw.subarray(32).every((b) => b === 0xa5), 'bytes past the struct untouched');
  t.equal(query(p, fd, Q.UC_FW_VERSION, 32, 0x1000n).errno, errno.EFAULT, 'UC_FW_VERSION: unreadable struct -> EFAULT');
  await dev.close();
});

t.test('UC_FW_VERSION: a HuC that is not running is ENODEV, nothing written (in-process)', async (t) => {
  // No built-in profile lacks a HuC: drop it from LNL's description.
  const dev = new XeDevice({ ...getProfile('lnl'), huc: null } as Profile, createRegions(1 << 22, []));
  const file = new XeFile(dev, 'render');
  const proc = { capable: () => false } as unknown as KProcess;
  let writes = 0;
  const ask = (ucType: number): number => {
    const req = pack('drm_xe_query_uc_fw_version', { uc_type: ucType });
    const um: UserMemory = {
      copyFromUser: (_addr, len) => req.slice(0, len),
      copyToUser: () => void writes++,
    };
    const args = { extensions: 0n, query: Q.UC_FW_VERSION, size: 32, data: 0x1000n, reserved: [0n, 0n] } as Fields;
    return QUERY_IOCTLS[0].handler({ dev, proc, file, um, args }) as number;
  };
  t.equal(ask(C('XE_QUERY_UC_TYPE_HUC')), -errno.ENODEV, 'HuC: ENODEV');
  t.equal(writes, 0, 'nothing copied to the user');
  t.equal(ask(C('XE_QUERY_UC_TYPE_GUC_SUBMISSION')), 0, 'GuC still answers');
  t.equal(writes, 1);
});

t.test('PXP_STATUS probes fine then answers ENODEV where PXP is not enabled', async (t) => {
  for (const profile of ['bmg', 'dg2', 'tgl'] as const) {
    const dev = await createDevice({ profile, ...SMALL });
    const p = dev.process;
    const fd = p.open();
    t.same(query(p, fd, Q.PXP_STATUS).size, 8, `${profile}: size 8`);
    const a = poisoned(p, 8);
    t.equal(query(p, fd, Q.PXP_STATUS, 8, a).errno, errno.ENODEV, `${profile}: ENODEV`);
    t.ok(untouched(p, a, 8));
    await dev.close();
  }
});

t.test('memory sizes are options: MEM_REGIONS totals follow createDevice', async (t) => {
  const dev = await createDevice({ profile: 'dg2', sysmem: 32 * MiB, vram: 48 * MiB });
  const p = dev.process;
  const fd = p.open();
  const mem = parse(xe_query(p, fd, Q.MEM_REGIONS), 'drm_xe_query_mem_regions', 'num_mem_regions', 'drm_xe_mem_region');
  t.same(mem.items.map((m) => m.total_size), [32n * 1048576n, 48n * 1048576n]);
  t.same(mem.items.map((m) => m.min_page_size), [0x1000, 0x10000], 'DG2 VRAM needs 64K pages');
  await dev.close();
});
