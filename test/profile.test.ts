// Internal consistency of the device profiles (src/hw/profile.ts) against the driver rules
// they encode (xe_pci.c, xe_hw_engine.c, xe_gt_topology.c) and the spec's platform and PAT
// tables (shared/spec/vm_bind.md 0.3 and 2.4).
import t from 'tap';
import {
  ENGINE_CLASS, GT_TYPE, PAT_COH_1WAY, PAT_COH_NONE, PAT_RESERVED, PROFILES, findEngine, getProfile,
  graphicsVerx100, gtById, mediaVerx100, userEngines, type Profile,
} from '../src/hw/profile.js';
import { TOPO_DSS_MASK_BYTES, TOPO_EU_MASK_BYTES, TOPO_L3_MASK_BYTES } from '../src/kernel/xe/xe_query.js';

const ALL = Object.values(PROFILES);
const MiB = 1024 * 1024;

/** Hardware engine id order of xe_hw_engine_types.h: RCS, BCS0-8, VCS0-7, VECS0-3, CCS0-3. */
function hwId(name: string): number {
  const m = /^(rcs|bcs|vcs|vecs|ccs)(\d+)$/.exec(name);
  if (!m) throw new Error(`bad engine name ${name}`);
  const base = { rcs: 0, bcs: 1, vcs: 10, vecs: 18, ccs: 22 }[m[1] as 'rcs'];
  return base + Number(m[2]);
}

const CLASS_PREFIX: Record<number, string> = {
  [ENGINE_CLASS.RENDER]: 'rcs',
  [ENGINE_CLASS.COPY]: 'bcs',
  [ENGINE_CLASS.VIDEO_DECODE]: 'vcs',
  [ENGINE_CLASS.VIDEO_ENHANCE]: 'vecs',
  [ENGINE_CLASS.COMPUTE]: 'ccs',
};

t.test('the four required profiles exist, lnl is found by name, unknown names throw', async (t) => {
  t.same(Object.keys(PROFILES).sort(), ['bmg', 'dg2', 'lnl', 'tgl']);
  for (const [k, p] of Object.entries(PROFILES)) t.equal(p.name, k, `${k}: name matches its key`);
  t.equal(getProfile('lnl'), PROFILES.lnl);
  t.throws(() => getProfile('pvc'), /unknown device profile 'pvc'/);
});

t.test('PCI ids and IP versions of the chosen SKUs', async (t) => {
  const ids = (p: Profile): unknown => [p.devid, p.revid, p.graphicsVer, p.mediaVer, p.isDgfx];
  t.same(ids(PROFILES.lnl), [0x64a0, 0x04, [20, 4], [20, 0], false]);
  t.same(ids(PROFILES.bmg), [0xe20b, 0x00, [20, 1], [13, 1], true]);
  t.same(ids(PROFILES.dg2), [0x56a0, 0x08, [12, 55], [12, 55], true]);
  t.same(ids(PROFILES.tgl), [0x9a49, 0x01, [12, 0], [12, 0], false]);
  for (const p of ALL) {
    t.ok(p.devid > 0 && p.devid <= 0xffff && p.revid >= 0 && p.revid <= 0xff, `${p.name}: ids fit u16 / u8`);
    t.equal(graphicsVerx100(p), p.graphicsVer[0] * 100 + p.graphicsVer[1]);
    t.equal(mediaVerx100(p), p.mediaVer[0] * 100 + p.mediaVer[1]);
  }
});

t.test('platform table (vm_bind.md 0.3)', async (t) => {
  const row = (p: Profile): unknown => [p.vaBits, p.vmMaxLevel, p.hasUsm, p.needsScratch, p.vram64k, p.hasAsid];
  t.same(row(PROFILES.tgl), [48, 3, false, false, false, false]);
  t.same(row(PROFILES.dg2), [48, 3, false, false, true, false]);
  t.same(row(PROFILES.lnl), [48, 4, true, true, false, true]);
  t.same(row(PROFILES.bmg), [48, 4, true, true, false, true]);
  for (const p of ALL) {
    t.equal(p.hasCpuAddrMirror, p.hasUsm, `${p.name}: CPU address mirror follows has_usm`);
    t.ok(!p.vram64k || p.isDgfx, `${p.name}: 64K VRAM pages only with VRAM`);
  }
  t.same(ALL.filter((p) => p.hasPxp).map((p) => p.name), ['lnl'], 'has_pxp only in the LNL descriptor');
});

t.test('PAT tables (vm_bind.md 2.4)', async (t) => {
  t.equal(PROFILES.lnl.pat.length, 32);
  t.equal(PROFILES.bmg.pat.length, 28);
  t.equal(PROFILES.dg2.pat.length, 4);
  t.equal(PROFILES.tgl.pat.length, 4);
  const idx = (p: Profile, cls: number): number[] => p.pat.flatMap((c, i) => (c === cls ? [i] : []));
  t.same(idx(PROFILES.lnl, PAT_COH_1WAY), [1, 2, 4, 5, 7, 22, 23, 26, 27, 30, 31]);
  t.same(idx(PROFILES.lnl, PAT_RESERVED), [16, 17, 18, 19]);
  t.same(idx(PROFILES.lnl, PAT_COH_NONE), [0, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 24, 25, 28, 29]);
  t.same(PROFILES.bmg.pat, PROFILES.lnl.pat.slice(0, 28), 'BMG is LNL restricted to 28 entries');
  for (const p of [PROFILES.dg2, PROFILES.tgl]) {
    t.same(p.pat, [PAT_COH_1WAY, PAT_COH_NONE, PAT_COH_NONE, PAT_COH_NONE], `${p.name}: 4-entry table`);
    t.same([p.patWb, p.patUc], [0, 3]);
  }
  for (const p of [PROFILES.lnl, PROFILES.bmg]) t.same([p.patWb, p.patUc], [2, 3]);
  for (const p of ALL) {
    t.ok(p.pat.every((c) => [PAT_RESERVED, PAT_COH_NONE, PAT_COH_1WAY].includes(c)), `${p.name}: known classes`);
    t.equal(p.pat[p.patWb], PAT_COH_1WAY, `${p.name}: WB index is coherent`);
    t.equal(p.pat[p.patUc], PAT_COH_NONE, `${p.name}: UC index is non-coherent`);
  }
});

t.test('GTs: ids, types, tiles, IP versions, reference clocks', async (t) => {
  for (const p of ALL) {
    t.ok(p.gts.length >= 1, `${p.name}: has a GT`);
    t.equal(p.gts[0].type, GT_TYPE.MAIN, `${p.name}: GT0 is the main GT`);
    t.same(p.gts.map((g) => g.id), [...p.gts.map((g) => g.id)].sort((a, b) => a - b), `${p.name}: GTs in id order`);
    for (const g of p.gts) {
      t.equal(g.id, g.tile * p.maxGtPerTile + (g.type === GT_TYPE.MEDIA ? 1 : 0), `${p.name} gt${g.id}: id from tile and type`);
      t.equal(gtById(p, g.id), g);
      t.ok(g.referenceClock > 0 && g.referenceClock < 2 ** 32, `${p.name} gt${g.id}: reference clock fits u32`);
      const gmdid = graphicsVerx100(p) >= 1270;
      if (!gmdid) t.same(g.ipVer, [0, 0, 0], `${p.name}: pre-GMD_ID GTs report IP 0.0.0`);
      else if (g.type === GT_TYPE.MAIN) t.same(g.ipVer.slice(0, 2), p.graphicsVer, `${p.name}: main GT IP = graphics version`);
      else t.same(g.ipVer.slice(0, 2), p.mediaVer, `${p.name}: media GT IP = media version`);
    }
    t.equal(gtById(p, 7), undefined);
  }
  t.same(PROFILES.lnl.gts.map((g) => [g.id, g.type]), [[0, 0], [1, 1]]);
  t.same(PROFILES.bmg.gts.map((g) => [g.id, g.type]), [[0, 0], [1, 1]]);
  t.same(PROFILES.dg2.gts.map((g) => [g.id, g.type]), [[0, 0]]);
  t.same(PROFILES.tgl.gts.map((g) => [g.id, g.type]), [[0, 0]]);
  t.same([PROFILES.lnl.maxGtPerTile, PROFILES.bmg.maxGtPerTile, PROFILES.dg2.maxGtPerTile, PROFILES.tgl.maxGtPerTile], [2, 2, 1, 1]);
});

t.test('engines: names, hardware order, logical instances, reserved engines', async (t) => {
  for (const p of ALL) {
    for (const g of p.gts) {
      const tag = `${p.name} gt${g.id}`;
      const names = g.engines.map((e) => e.name);
      t.equal(new Set(names).size, names.length, `${tag}: names unique`);
      const ids = names.map(hwId);
      t.same(ids, [...ids].sort((a, b) => a - b), `${tag}: hardware engine id order`);
      for (const e of g.engines) t.ok(e.name.startsWith(CLASS_PREFIX[e.engineClass]) && /\d$/.test(e.name), `${tag} ${e.name}: class prefix`);
      for (const cls of Object.values(ENGINE_CLASS)) {
        const of = g.engines.filter((e) => e.engineClass === cls);
        t.same(of.map((e) => e.instance), of.map((_, i) => i), `${tag}: logical instances of class ${cls} count 0..n-1`);
        // Reserved: the highest copy engine on USM platforms; CCS past ccs_mode 1.
        of.forEach((e, i) => {
          const reserved =
            (cls === ENGINE_CLASS.COPY && p.hasUsm && i === of.length - 1) ||
            (cls === ENGINE_CLASS.COMPUTE && of.length > 1 && i >= 1);
          t.equal(e.reserved, reserved, `${tag} ${e.name}: reserved = ${reserved}`);
        });
      }
      if (g.type === GT_TYPE.MAIN) {
        t.ok(findEngine(g, ENGINE_CLASS.RENDER, 0) && !findEngine(g, ENGINE_CLASS.RENDER, 0)!.reserved, `${tag}: rcs0 usable`);
        t.ok(findEngine(g, ENGINE_CLASS.COPY, 0) && !findEngine(g, ENGINE_CLASS.COPY, 0)!.reserved, `${tag}: a copy engine usable`);
      } else {
        t.ok(g.engines.every((e) => e.engineClass === ENGINE_CLASS.VIDEO_DECODE || e.engineClass === ENGINE_CLASS.VIDEO_ENHANCE), `${tag}: media GT has only video engines`);
      }
      if (graphicsVerx100(p) >= 1270 && g.type === GT_TYPE.MAIN) {
        t.notOk(g.engines.some((e) => e.engineClass === ENGINE_CLASS.VIDEO_DECODE), `${tag}: media engines live on the media GT`);
      }
    }
  }
  const list = (p: Profile): string[] => p.gts.flatMap((g) => g.engines.map((e) => `${g.id}:${e.name}${e.reserved ? '*' : ''}`));
  t.same(list(PROFILES.lnl), ['0:rcs0', '0:bcs0', '0:bcs8*', '0:ccs0', '1:vcs0', '1:vcs2', '1:vecs0']);
  t.same(list(PROFILES.bmg), ['0:rcs0', '0:bcs0', '0:bcs8*', '0:ccs0', '0:ccs1*', '0:ccs2*', '0:ccs3*', '1:vcs0', '1:vcs2', '1:vecs0', '1:vecs1']);
  t.same(list(PROFILES.dg2), ['0:rcs0', '0:bcs0', '0:vcs0', '0:vcs2', '0:vecs0', '0:vecs1', '0:ccs0', '0:ccs1*', '0:ccs2*', '0:ccs3*']);
  t.same(list(PROFILES.tgl), ['0:rcs0', '0:bcs0', '0:vcs0', '0:vcs2', '0:vecs0']);
  t.same(
    userEngines(PROFILES.lnl).map((e) => [e.gtId, e.engineClass, e.instance]),
    [[0, 0, 0], [0, 1, 0], [0, 4, 0], [1, 2, 0], [1, 2, 1], [1, 3, 0]],
    'userEngines skips reserved engines',
  );
  t.equal(findEngine(PROFILES.lnl.gts[0], ENGINE_CLASS.COPY, 1)?.name, 'bcs8', 'findEngine finds reserved engines');
  t.equal(findEngine(PROFILES.lnl.gts[0], ENGINE_CLASS.COPY, 2), undefined);
});

t.test('topology: mask widths, EU type, CCS per DSS quadrant', async (t) => {
  const fits = (m: bigint, bytes: number): boolean => m >= 0n && m < 1n << BigInt(8 * bytes);
  for (const p of ALL) {
    for (const g of p.gts) {
      const tp = g.topology;
      const tag = `${p.name} gt${g.id}`;
      t.ok(fits(tp.dssGeometry, TOPO_DSS_MASK_BYTES) && fits(tp.dssCompute, TOPO_DSS_MASK_BYTES), `${tag}: DSS masks fit`);
      t.ok(fits(tp.euPerDss, TOPO_EU_MASK_BYTES), `${tag}: EU mask fits`);
      t.ok(tp.l3Bank === null || fits(tp.l3Bank, TOPO_L3_MASK_BYTES), `${tag}: L3 mask fits`);
      t.equal(tp.simd16, p.graphicsVer[0] >= 20, `${tag}: SIMD16 EUs on Xe2`);
      if (g.type === GT_TYPE.MAIN) t.ok(tp.dssGeometry | tp.dssCompute, `${tag}: main GT has DSS`);
    }
  }
  t.equal(PROFILES.tgl.gts[0].topology.dssCompute, 0n, 'Xe_LP has no compute DSS fuse');
  // Xe_HP: a CCS exists per quadrant of the DSS space holding a DSS (8 DSS per quadrant on DG2).
  const dg2 = PROFILES.dg2.gts[0];
  const all = dg2.topology.dssGeometry | dg2.topology.dssCompute;
  for (let q = 0; q < 4; q++) {
    const present = ((all >> BigInt(8 * q)) & 0xffn) !== 0n;
    t.equal(!!findEngine(dg2, ENGINE_CLASS.COMPUTE, q), present, `dg2: ccs${q} follows DSS quadrant ${q}`);
  }
});

t.test('memory, firmware and hwconfig', async (t) => {
  for (const p of ALL) {
    t.equal(p.vram.length > 0, p.isDgfx, `${p.name}: VRAM iff discrete`);
    t.equal(p.skuVram.length, p.vram.length, `${p.name}: one real size per emulated VRAM`);
    t.equal(p.sysmem, 512 * MiB, `${p.name}: default sysmem`);
    for (const v of p.vram) {
      t.equal(v, 256 * MiB, `${p.name}: default emulated VRAM`);
      t.equal(v % (64 * 1024), 0, `${p.name}: VRAM size 64K aligned`);
    }
    // xe_uc_fw.c has no HuC firmware definition for DG2: its HuC is never running.
    t.equal(p.huc === null, p.name === 'dg2', `${p.name}: HuC present except on dg2`);
    t.ok(p.guc.release[0] >= 70 && p.guc.submission[0] === 1, `${p.name}: GuC 70.x, submission interface 1.x`);
    const hw = p.hwconfig;
    t.equal(hw.length === 0, graphicsVerx100(p) < 1255, `${p.name}: GuC hwconfig only from Xe_HPG`);
    t.equal(hw.length % 4, 0, `${p.name}: hwconfig is dwords`);
    const dv = new DataView(hw.buffer, hw.byteOffset, hw.byteLength);
    let at = 0;
    const keys: number[] = [];
    while (at < hw.length) {
      keys.push(dv.getUint32(at, true));
      at += 8 + 4 * dv.getUint32(at + 4, true);
    }
    t.equal(at, hw.length, `${p.name}: hwconfig parses as whole KLV entries`);
    t.equal(new Set(keys).size, keys.length, `${p.name}: hwconfig keys unique`);
  }
  t.same(PROFILES.lnl.skuVram, []);
  t.same(PROFILES.bmg.skuVram, [12 * 1024 * MiB]);
  t.same(PROFILES.dg2.skuVram, [16 * 1024 * MiB]);
});
