// Typed structs at run time: PackError for members and values that do not fit, BufferError
// for buffers that do not hold the struct, errnoName, and whole decoding of the query
// replies' flexible arrays (counted by their num_* member, as the table declares).
import t, { type Test } from 'tap';
import {
  BufferError, C, PackError, createDevice, decode, decodeRecords, encode, errno, errnoName, formatStruct, layoutOf, pack,
} from '../src/index.js';
import { xe_query } from '../src/userspace/igt.js';
import { PROFILES, type ProfileName } from '../src/hw/profile.js';
import { oaUnits } from '../src/kernel/xe/xe_query.js';

const MiB = 1024 * 1024;

/** Asserts that `fn` throws a PackError with exactly `message`. */
function packFails(t: Test, fn: () => unknown, message: string): void {
  try {
    fn();
    t.fail(`no PackError: ${message}`);
  } catch (e) {
    t.ok(e instanceof PackError, `${message}: a PackError`);
    t.equal((e as Error).message, message);
  }
}

t.test('pack: unknown members and ill-fitting values name the struct, member path and value', async (t) => {
  // A runtime-built object bypasses the compile-time checks; pack still refuses it.
  const loose = (o: object): Record<string, never> => o as Record<string, never>;
  packFails(t, () => pack('drm_xe_gem_create', loose({ sise: 4096 })), 'drm_xe_gem_create.sise = 4096: no such member');
  packFails(t, () => pack('drm_xe_vm_bind', loose({ bind: { rnage: 1 } })), 'drm_xe_vm_bind.bind.rnage = 1: no such member');
  packFails(t, () => pack('drm_xe_gem_create', { vm_id: 2 ** 33 }), 'drm_xe_gem_create.vm_id = 8589934592: out of range for u32 (0..4294967295)');
  packFails(t, () => pack('drm_xe_gem_create', { vm_id: -1 }), 'drm_xe_gem_create.vm_id = -1: out of range for u32 (0..4294967295)');
  packFails(t, () => pack('drm_xe_gem_create', { cpu_caching: 0x10000 }), 'drm_xe_gem_create.cpu_caching = 65536: out of range for u16 (0..65535)');
  packFails(t, () => pack('drm_xe_vm_bind', { bind: { range: -1 } }), 'drm_xe_vm_bind.bind.range = -1: out of range for u64 (0..18446744073709551615)');
  packFails(t, () => pack('drm_xe_vm_bind', { bind: { range: 1n << 64n } }), 'drm_xe_vm_bind.bind.range = 18446744073709551616n: out of range for u64 (0..18446744073709551615)');
  packFails(t, () => pack('drm_xe_vm_bind', { bind: { range: 2 ** 60 } }), `drm_xe_vm_bind.bind.range = ${2 ** 60}: not a safe integer; write a bigint for u64`);
  packFails(t, () => pack('drm_xe_gem_create', { size: 1.5 }), 'drm_xe_gem_create.size = 1.5: not an integer');
  packFails(t, () => pack('drm_xe_gem_create', { size: NaN }), 'drm_xe_gem_create.size = NaN: not an integer');
  packFails(t, () => pack('drm_xe_gem_create', loose({ size: '4096' })), 'drm_xe_gem_create.size = "4096": u64 takes a number or a bigint, not string');
  packFails(t, () => pack('drm_xe_gem_create', loose({ size: null })), 'drm_xe_gem_create.size = null: u64 takes a number or a bigint, not null');
  packFails(t, () => pack('drm_xe_vm_bind', loose({ bind: 5 })), 'drm_xe_vm_bind.bind = 5: expected an object of members');
  packFails(t, () => pack('drm_xe_gem_create', loose({ reserved: 1n })), 'drm_xe_gem_create.reserved = 1n: expected an array of at most 2 elements');
  packFails(t, () => pack('drm_xe_gem_create', { pad: [0, 0x10000] }), 'drm_xe_gem_create.pad[1] = 65536: out of range for u16 (0..65535)');
  packFails(t, () => pack('drm_xe_madvise', { atomic: { val: -2 } }), 'drm_xe_madvise.atomic.val = -2: out of range for u32 (0..4294967295)');
  packFails(t, () => pack('drm_xe_oa_config', { uuid: 'x'.repeat(37) }), `drm_xe_oa_config.uuid = "${'x'.repeat(37)}": 37 characters for char[36]`);
  packFails(t, () => pack('drm_xe_query_engines', loose({ engines: [] })), 'drm_xe_query_engines.engines = []: a flexible array member is not part of the fixed struct; write its elements after it');
  packFails(t, () => encode('drm_xe_sync', { timeline_value: -5 }, new Uint8Array(48)), 'drm_xe_sync.timeline_value = -5: out of range for u64 (0..18446744073709551615)');
});

t.test('pack: the accepted ranges, exactly', async (t) => {
  const b = pack('drm_xe_wait_user_fence', { timeout: -(1n << 63n), value: (1n << 64n) - 1n, op: 0xffff, exec_queue_id: 0xffff_ffff });
  const d = decode('drm_xe_wait_user_fence', b);
  t.equal(d.timeout, -(1n << 63n), 's64 takes its whole signed range');
  t.equal(d.value, 0xffff_ffff_ffff_ffffn, 'u64 takes 2^64-1 as a bigint');
  t.same([d.op, d.exec_queue_id], [0xffff, 0xffff_ffff], 'u16 and u32 take their maxima');
  t.equal(decode('drm_xe_wait_user_fence', pack('drm_xe_wait_user_fence', { timeout: -1 })).timeout, -1n, 'a negative number in s64');
  packFails(t, () => pack('drm_xe_wait_user_fence', { timeout: 1n << 63n }), 'drm_xe_wait_user_fence.timeout = 9223372036854775808n: out of range for s64 (-9223372036854775808..9223372036854775807)');
  packFails(t, () => pack('drm_prime_handle', { fd: 2 ** 31 }), 'drm_prime_handle.fd = 2147483648: out of range for s32 (-2147483648..2147483647)');
  t.equal(decode('drm_prime_handle', pack('drm_prime_handle', { fd: -1 })).fd, -1, 's32 takes -1');
  t.equal(decode('drm_xe_gem_create', pack('drm_xe_gem_create', { size: Number.MAX_SAFE_INTEGER })).size, 2n ** 53n - 1n);
  // The header defines these as -1 for unsigned members: the member's own enum constant fits.
  const op = decode('drm_xe_vm_bind_op', pack('drm_xe_vm_bind_op', { prefetch_mem_region_instance: C('DRM_XE_CONSULT_MEM_ADVISE_PREF_LOC') }));
  t.equal(op.prefetch_mem_region_instance, 0xffff_ffff, 'DRM_XE_CONSULT_MEM_ADVISE_PREF_LOC stored as C stores -1');
  const m = decode('drm_xe_madvise', pack('drm_xe_madvise', { preferred_mem_loc: { devmem_fd: C('DRM_XE_PREFERRED_LOC_DEFAULT_SYSTEM') } }));
  t.equal(m.preferred_mem_loc.devmem_fd, 0xffff_ffff);
  packFails(t, () => pack('drm_xe_vm_bind_op', { pat_index: -1 }), 'drm_xe_vm_bind_op.pat_index = -1: out of range for u16 (0..65535)');
  const uuid = '01234567-89ab-cdef-0123-456789abcdef';
  const cfg = decode('drm_xe_oa_config', pack('drm_xe_oa_config', { uuid }));
  t.equal(String.fromCharCode(...cfg.uuid), uuid, 'a char array takes a string');
});

t.test('decode / encode: a short buffer or a bad offset names the struct', async (t) => {
  const fails = (fn: () => unknown, message: string): void => {
    t.throws(fn, { name: 'BufferError', message });
    try { fn(); } catch (e) { t.ok(e instanceof BufferError && e instanceof RangeError, `${message}: BufferError, a RangeError`); }
  };
  fails(() => decode('drm_xe_gem_create', new Uint8Array(40)), 'drm_xe_gem_create: needs 56 bytes at offset 0, buffer has 40');
  fails(() => decode('drm_xe_sync', new Uint8Array(64), 20), 'drm_xe_sync: needs 48 bytes at offset 20, buffer has 64');
  fails(() => decode('drm_xe_sync', new Uint8Array(64), -1), 'drm_xe_sync: bad offset -1');
  fails(() => decode('drm_xe_sync', new Uint8Array(64), 0.5), 'drm_xe_sync: bad offset 0.5');
  fails(() => encode('drm_xe_sync', { handle: 1 }, new Uint8Array(47)), 'drm_xe_sync: needs 48 bytes at offset 0, buffer has 47');
  const engines = pack('drm_xe_query_engines', { num_engines: 2 });
  fails(() => decode('drm_xe_query_engines', engines), 'drm_xe_query_engines.engines: num_engines 2 needs 64 bytes at offset 8, buffer has 8');
  t.equal(
    formatStruct('drm_xe_query_engines', engines),
    '{num_engines=2, engines=<drm_xe_query_engines.engines: num_engines 2 needs 64 bytes at offset 8, buffer has 8>}',
    'formatStruct shows why the flexible array is missing',
  );
});

t.test('errnoName and ERRNO', async (t) => {
  t.equal(errnoName(22), 'EINVAL');
  t.equal(errnoName(-errno.ENOENT), 'ENOENT', 'a negative kernel return value');
  t.equal(errnoName(errno.EOPNOTSUPP), 'EOPNOTSUPP');
  t.equal(errnoName(1000), undefined);
  t.equal(errno.ERRNO.ETIME, 62);
  for (const [name, value] of Object.entries(errno.ERRNO)) t.equal(errnoName(value), name, `${name} round-trips`);
});

t.test('query replies decode whole, flexible arrays counted by their num_* member', async (t) => {
  for (const profile of Object.keys(PROFILES) as ProfileName[]) {
    const dev = await createDevice({ profile, sysmem: 64 * MiB, vram: 64 * MiB });
    const p = dev.process;
    const fd = p.open();
    const q = (name: Parameters<typeof C>[0]): Uint8Array => xe_query(p, fd, C(name));
    const prof = dev.profile;

    const engines = decode('drm_xe_query_engines', q('DRM_XE_DEVICE_QUERY_ENGINES'));
    const expectEngines = prof.gts.flatMap((gt) =>
      gt.engines.filter((e) => !e.reserved).map((e) => [e.engineClass, e.instance, gt.id]),
    );
    t.equal(engines.engines.length, engines.num_engines, `${profile}: engines[num_engines]`);
    t.same(engines.engines.map((e) => [e.instance.engine_class, e.instance.engine_instance, e.instance.gt_id]), expectEngines, `${profile}: engines`);

    const regions = decode('drm_xe_query_mem_regions', q('DRM_XE_DEVICE_QUERY_MEM_REGIONS'));
    t.equal(regions.mem_regions.length, regions.num_mem_regions, `${profile}: mem_regions[num_mem_regions]`);
    t.same(regions.mem_regions.map((r) => [r.mem_class, r.instance]), [[0, 0], ...dev.profile.isDgfx ? prof.gts.filter((g) => g.type === 0).map((g) => [1, g.tile + 1]) : []], `${profile}: region classes`);

    const config = decode('drm_xe_query_config', q('DRM_XE_DEVICE_QUERY_CONFIG'));
    t.equal(config.info.length, 5, `${profile}: info[num_params]`);
    t.equal(config.info[C('DRM_XE_QUERY_CONFIG_VA_BITS')], BigInt(prof.vaBits), `${profile}: VA_BITS`);
    t.equal(config.info[C('DRM_XE_QUERY_CONFIG_REV_AND_DEVICE_ID')]! & 0xffffn, BigInt(prof.devid), `${profile}: device id`);

    const gts = decode('drm_xe_query_gt_list', q('DRM_XE_DEVICE_QUERY_GT_LIST'));
    t.same(gts.gt_list.map((g) => [g.gt_id, g.type, g.tile_id]), prof.gts.map((g) => [g.id, g.type, g.tile]), `${profile}: gt_list[num_gt]`);

    const topo = decodeRecords('drm_xe_query_topology_mask', q('DRM_XE_DEVICE_QUERY_GT_TOPOLOGY'));
    t.ok(topo.length >= 3 * prof.gts.length, `${profile}: topology records`);
    for (const r of topo) t.equal(r.mask.length, r.num_bytes, `${profile}: mask[num_bytes] of gt ${r.gt_id} type ${r.type}`);
    const dss = topo.find((r) => r.gt_id === 0 && r.type === C('DRM_XE_TOPO_DSS_GEOMETRY'))!;
    const dssMask = dss.mask.reduceRight((m, b) => (m << 8n) | BigInt(b), 0n);
    t.equal(dssMask, prof.gts[0]!.topology.dssGeometry, `${profile}: DSS geometry mask bytes`);

    const oa = decode('drm_xe_query_oa_units', q('DRM_XE_DEVICE_QUERY_OA_UNITS'));
    const units = oaUnits(prof);
    t.equal(oa.oa_units.length, units.length, `${profile}: oa_units[num_oa_units]`);
    t.same(
      oa.oa_units.map((u) => [u.oa_unit_id, u.oa_unit_type, u.gt_id, u.eci.map((e) => [e.engine_class, e.engine_instance, e.gt_id])]),
      units.map((u) => [u.id, u.type, u.gtId, u.engines.map((e) => [e.engine_class, e.engine_instance, e.gt_id])]),
      `${profile}: each record's eci[num_engines]`,
    );

    if (prof.graphicsVer[0] >= 20) {
      const eu = decode('drm_xe_query_eu_stall', q('DRM_XE_DEVICE_QUERY_EU_STALL'));
      t.equal(BigInt(eu.sampling_rates.length), eu.num_sampling_rates, `${profile}: sampling_rates[num_sampling_rates]`);
      t.same(eu.sampling_rates, [1n, 2n, 3n, 4n, 5n, 6n, 7n].map((k) => 251n * k), `${profile}: sampling rates`);
    }
    await dev.close();
  }
});

t.test('formatStruct prints flexible arrays and records', async (t) => {
  const dev = await createDevice({ profile: 'lnl', sysmem: 64 * MiB });
  const p = dev.process;
  const fd = p.open();
  const config = xe_query(p, fd, C('DRM_XE_DEVICE_QUERY_CONFIG'));
  const info = decode('drm_xe_query_config', config).info;
  t.equal(formatStruct('drm_xe_query_config', config), `{num_params=5, info=[${info.join(', ')}]}`);
  const oa = xe_query(p, fd, C('DRM_XE_DEVICE_QUERY_OA_UNITS'));
  const caps = 'BASE|SYNCS|OA_BUFFER_SIZE|WAIT_NUM_REPORTS|OAM|OA_UNIT_GT_ID';
  t.equal(
    formatStruct('drm_xe_query_oa_units', oa),
    `{num_oa_units=3, oa_units=[{oa_unit_id=0, oa_unit_type=OAG, capabilities=${caps}, oa_timestamp_freq=19200000, gt_id=0, ` +
      'num_engines=2, eci=[{engine_class=RENDER, engine_instance=0, gt_id=0}, {engine_class=COMPUTE, engine_instance=0, gt_id=0}]}, ' +
      `{oa_unit_id=1, oa_unit_type=OAM_SAG, capabilities=${caps}, oa_timestamp_freq=19200000, gt_id=1, num_engines=0, eci=[]}, ` +
      `{oa_unit_id=2, oa_unit_type=OAM, capabilities=${caps}, oa_timestamp_freq=19200000, gt_id=1, num_engines=3, ` +
      'eci=[{engine_class=VIDEO_DECODE, engine_instance=0, gt_id=1}, {engine_class=VIDEO_DECODE, engine_instance=1, gt_id=1}, ' +
      '{engine_class=VIDEO_ENHANCE, engine_instance=0, gt_id=1}]}]}',
    'records, each with its own eci[num_engines]',
  );
  const topo = xe_query(p, fd, C('DRM_XE_DEVICE_QUERY_GT_TOPOLOGY'));
  const dss = dev.profile.gts[0]!.topology.dssGeometry;
  const bytes = Array.from({ length: 16 }, (_, i) => Number((dss >> BigInt(8 * i)) & 0xffn));
  t.equal(
    formatStruct('drm_xe_query_topology_mask', topo),
    `{gt_id=0, type=DSS_GEOMETRY, num_bytes=16, mask=[${bytes.map((x) => (x ? `0x${x.toString(16)}` : '0')).join(', ')}]}`,
    'the first record of a topology reply, mask[num_bytes]',
  );
  t.equal(layoutOf('drm_xe_query_topology_mask').size, 8, 'the mask follows an 8-byte header');
  await dev.close();
});
