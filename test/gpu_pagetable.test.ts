// The GPU page-table entry format and geometry (src/hw/pagetable.ts) against the spec's bit
// table and worked values (shared/spec/vm_bind.md 5.1, 5.2, 5.6, cases 63-66), and the
// per-profile page-table facts (xe_pci.c dma_mask_size, has_atomic_enable_pte_bit).
import t from 'tap';
import fc from 'fast-check';
import { PROFILES, type Profile } from '../src/hw/profile.js';
import {
  compactIndex, decodeEntry, encodeLeaf, encodePde, entryFromBigInt, entryToBigInt, levelShift, levelSize, ptGeometry,
  ptIndex, type LeafOpts,
} from '../src/hw/pagetable.js';

const ALL = Object.values(PROFILES) as Profile[];
const bit = (n: number): bigint => 1n << BigInt(n);
const leaf = (level: number, addr: number, pat: number, opts?: LeafOpts): bigint => entryToBigInt(encodeLeaf(level, addr, pat, opts));
const pde = (addr: number, pat: number, compact?: boolean): bigint => entryToBigInt(encodePde(addr, pat, compact));

t.test('page-table facts per profile (vm_bind.md 0.3, xe_pci.c)', async (t) => {
  const row = (p: Profile): unknown => {
    const g = ptGeometry(p);
    return [g.levels, g.rootLevel, g.vaBits, g.dmaMaskSize, g.ptePatBits, g.hasAtomicEnablePteBit, g.compact64k, g.vram64k, g.tablesInVram];
  };
  t.same(row(PROFILES.lnl), [5, 4, 48, 46, 5, true, true, false, false]);
  t.same(row(PROFILES.bmg), [5, 4, 48, 46, 5, true, true, false, true]);
  t.same(row(PROFILES.dg2), [4, 3, 48, 46, 3, false, true, true, true]);
  t.same(row(PROFILES.tgl), [4, 3, 48, 39, 3, false, false, false, false]);
  for (const p of ALL) t.ok(p.pat.length <= 2 ** p.pt.ptePatBits, `${p.name}: every PAT index fits the leaf's PAT bits`);
});

t.test('each bit of the spec table (5.2) at its position', async (t) => {
  t.equal(leaf(0, 0, 0, { readOnly: true }), bit(0), 'PRESENT is bit 0');
  t.equal(leaf(0, 0, 0), bit(0) | bit(1), 'RW is bit 1');
  t.equal(leaf(0, 0, 1) ^ leaf(0, 0, 0), bit(3), 'PAT0 is bit 3');
  t.equal(leaf(0, 0, 2) ^ leaf(0, 0, 0), bit(4), 'PAT1 is bit 4');
  t.equal(leaf(0, 0, 4) ^ leaf(0, 0, 0), bit(7), 'PAT2 of a level-0 leaf is bit 7');
  t.equal(leaf(1, 0, 4) ^ leaf(1, 0, 0), bit(12), 'PAT2 of a 2M leaf is bit 12');
  t.equal(leaf(2, 0, 4) ^ leaf(2, 0, 0), bit(12), 'PAT2 of a 1G leaf is bit 12');
  t.equal(leaf(0, 0, 8) ^ leaf(0, 0, 0), bit(62), 'PAT3 is bit 62');
  t.equal(leaf(0, 0, 16) ^ leaf(0, 0, 0), bit(61), 'PAT4 is bit 61');
  t.equal(leaf(2, 0, 16) ^ leaf(2, 0, 0), bit(61), 'PAT4 of a huge leaf is bit 61 too');
  t.equal(leaf(1, 0, 0), bit(0) | bit(1) | bit(7), 'PS of a 2M leaf is bit 7');
  t.equal(leaf(2, 0, 0), bit(0) | bit(1) | bit(7), 'PS of a 1G leaf is bit 7');
  t.equal(leaf(0, 0, 0, { ps64: true }) ^ leaf(0, 0, 0), bit(8), 'PS64 is bit 8');
  t.equal(leaf(0, 0, 0, { nul: true }) ^ leaf(0, 0, 0), bit(9), 'NULL is bit 9');
  t.equal(leaf(0, 0, 0, { ae: true }) ^ leaf(0, 0, 0), bit(10), 'AE is bit 10');
  t.equal(leaf(0, 0, 0, { dm: true }) ^ leaf(0, 0, 0), bit(11), 'DM is bit 11');
  t.equal(pde(0, 0, true) ^ pde(0, 0), bit(6), 'the 64K (compact child) PDE bit is 6');
  t.equal(pde(0, 0), bit(0) | bit(1), 'a PDE is PRESENT | RW');
  t.equal(pde(0, 3), bit(0) | bit(1) | bit(3) | bit(4), 'a PDE carries PAT0 and PAT1');
  t.equal(leaf(0, 0x3fff_ffff_f000, 0), 0x3fff_ffff_f003n, 'the address is the plain OR of bits 12..45');
  t.equal(leaf(0, 0, 31), bit(62) | bit(61) | 0x9bn, 'PAT index 31 at level 0: bits 3, 4, 7, 62, 61');
  t.equal(leaf(1, 0, 31), bit(62) | bit(61) | 0x109bn, 'PAT index 31 at level 1: bits 3, 4, 12, 62, 61 plus PS');
});

t.test('the spec\'s worked values (5.2, 5.6, cases 63-66)', async (t) => {
  t.equal(leaf(0, 0x12345000, 2), 0x12345013n, '4K BO leaf, pat_index 2');
  t.equal(leaf(0, 0x12345000, 2, { ps64: true }), 0x12345113n, 'inside a 64K run');
  t.equal(leaf(0, 0x12345000, 2, { ps64: true, ae: true }), 0x12345513n, 'with AE');
  t.equal(leaf(2, 0, 2, { nul: true }), 0x293n, '1 GiB NULL leaf (case 63: L2[1] = 0x293)');
  t.equal(leaf(2, 0, 2, { nul: true, readOnly: true }), 0x291n, 'READONLY 1 GiB NULL leaf');
  t.equal(leaf(0, 0, 5) & 0xff8n, 0x88n, 'pat_index 5 on a level-0 leaf: bits 3 and 7');
  t.equal(leaf(1, 0, 5) & 0x1ff8n, 0x1088n, 'pat_index 5 on a 2M leaf: bits 3 and 12, plus PS');
  for (let i = 0; i < 16; i++) {
    t.equal(leaf(0, 0x80000000 + i * 0x1000, 2, { ps64: true }), 0x80000000n + BigInt(i) * 0x1000n | 0x113n, `case 64: L0 entry ${256 + i}`);
  }
  t.equal(leaf(0, 0x80000000, 2, { ps64: true, readOnly: true }), 0x80000111n, 'case 65: READONLY');
  t.equal(leaf(0, 0, 2, { nul: true }), 0x213n, 'case 66: 4K scratch NULL leaf on the iGPU, WB index 2');
});

t.test('geometry (5.1): level shifts, sizes, indices', async (t) => {
  t.same([0, 1, 2, 3, 4].map(levelShift), [12, 21, 30, 39, 48]);
  t.same([0, 1, 2, 3, 4].map(levelSize), [0x1000, 0x200000, 0x40000000, 2 ** 39, 2 ** 48]);
  const va = 0x7fff_ffff_f000;
  t.same([0, 1, 2, 3, 4].map((l) => ptIndex(va, l)), [511, 511, 511, 255, 0], 'top of a 48-bit VA');
  t.same([0, 1, 2, 3].map((l) => ptIndex(0x40001234, l)), [1, 0, 1, 0], 'case 63 VA');
  t.same([0, 1, 2, 3].map((l) => ptIndex(0x8040201000, l)), [1, 1, 1, 1], 'one index per level');
  t.equal(compactIndex(0x1f0000), 31);
  t.equal(compactIndex(0x210000), 1, 'compact index restarts in each 2 MiB');
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }), fc.integer({ min: 0, max: 4 }), (v, l) =>
    ptIndex(Number(v), l) === Number((v >> BigInt(12 + 9 * l)) & 511n)));
});

t.test('decode(encode) round trips for every entry kind on every profile (property)', async (t) => {
  for (const p of ALL) {
    const g = ptGeometry(p);
    const addrAt = (align: number): fc.Arbitrary<number> =>
      fc.integer({ min: 0, max: 2 ** (g.dmaMaskSize - Math.log2(align)) - 1 }).map((k) => k * align);
    const flags = fc.record({ readOnly: fc.boolean(), dm: fc.boolean(), ae: fc.constant(g.hasAtomicEnablePteBit).chain((has) => has ? fc.boolean() : fc.constant(false)) });
    const pat = fc.integer({ min: 0, max: 2 ** g.ptePatBits - 1 });
    // Leaves: 4K (with or without PS64), 64K of a compact table, 2M, 1G; NULL leaves at each level.
    const leafCase = fc.oneof(
      fc.record({ level: fc.constant(0), compact: fc.constant(false), ps64: fc.boolean(), addr: addrAt(0x1000) }),
      fc.record({ level: fc.constant(0), compact: fc.constant(g.compact64k), ps64: fc.constant(false), addr: addrAt(0x10000) }),
      fc.record({ level: fc.constant(1), compact: fc.constant(false), ps64: fc.constant(false), addr: addrAt(0x200000) }),
      fc.record({ level: fc.constant(2), compact: fc.constant(false), ps64: fc.constant(false), addr: addrAt(0x40000000) }),
    );
    fc.assert(fc.property(leafCase, pat, flags, fc.boolean(), (c, patIndex, f, nul) => {
      const addr = nul ? 0 : c.addr;
      const e = encodeLeaf(c.level, addr, patIndex, { ...f, ps64: c.ps64, nul });
      const d = decodeEntry(g, e.lo, e.hi, c.level, c.compact);
      const kind = c.compact ? 'pte64k' : ['pte4k', 'pte2m', 'pte1g'][c.level];
      return d.kind === kind && d.addr === addr && d.patIndex === patIndex && d.writable === !f.readOnly &&
        d.dm === f.dm && d.ae === f.ae && d.ps64 === c.ps64 && d.nul === nul &&
        d.size === (c.compact ? 0x10000 : levelSize(c.level)) && entryToBigInt(entryFromBigInt(entryToBigInt(e))) === entryToBigInt(e);
    }), { seed: 7 });
    fc.assert(fc.property(addrAt(0x1000), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: g.rootLevel }), fc.boolean(), (addr, patIndex, level, c) => {
      const compact = c && level === 1 && g.compact64k;
      const e = encodePde(addr, patIndex, compact);
      const d = decodeEntry(g, e.lo, e.hi, level);
      return d.kind === (compact ? 'pde64k' : 'pde') && d.addr === addr && d.patIndex === patIndex && d.writable && d.size === levelSize(level);
    }), { seed: 7 });
    t.pass(`${p.name}: leaves and PDEs round trip`);
  }
});

t.test('decoding ignores what the platform does not have', async (t) => {
  const [tgl, lnl, dg2] = [ptGeometry(PROFILES.tgl), ptGeometry(PROFILES.lnl), ptGeometry(PROFILES.dg2)];
  const e = entryFromBigInt(bit(62) | bit(61) | bit(10) | 0x9bn | 0x80_0000_0000n);
  t.equal(decodeEntry(lnl, e.lo, e.hi, 0).patIndex, 31, 'Xe2 reads five PAT bits');
  t.equal(decodeEntry(tgl, e.lo, e.hi, 0).patIndex, 7, 'Xe_LP reads three');
  t.equal(decodeEntry(lnl, e.lo, e.hi, 0).ae, true);
  t.equal(decodeEntry(dg2, e.lo, e.hi, 0).ae, false, 'no AE bit before Xe2');
  t.equal(decodeEntry(lnl, e.lo, e.hi, 0).addr, 0x80_0000_0000, 'bit 39 is address on a 46-bit device');
  t.equal(decodeEntry(tgl, e.lo, e.hi, 0).addr, 0, 'and beyond dma_mask_size 39 on Xe_LP');
  const c = entryFromBigInt(0x1043n);
  t.equal(decodeEntry(dg2, c.lo, c.hi, 1).kind, 'pde64k', 'bit 6 makes a compact child on DG2');
  t.equal(decodeEntry(tgl, c.lo, c.hi, 1).kind, 'pde', 'and is ignored on TGL (before 12.50)');
  t.equal(decodeEntry(lnl, c.lo, c.hi, 2).kind, 'pde', 'and above level 1');
  const huge = entryFromBigInt(0x12_7456_7083n);
  t.equal(decodeEntry(lnl, huge.lo, huge.hi, 2).kind, 'pte1g');
  t.equal(decodeEntry(lnl, huge.lo, huge.hi, 2).addr, 0x12_4000_0000, 'a 1G leaf\'s address drops bits below 1G');
  t.equal(decodeEntry(lnl, huge.lo, huge.hi, 3).kind, 'pde', 'PS means nothing at level 3');
  t.equal(decodeEntry(lnl, 0x1000, 0, 1).kind, 'none', 'PRESENT clear: nothing');
});

t.test('encoders refuse entries the format cannot hold', async (t) => {
  t.throws(() => encodeLeaf(0, 0x1800, 0), RangeError, 'unaligned 4K address');
  t.throws(() => encodeLeaf(1, 0x1000, 0), RangeError, '2M leaf not 2M aligned');
  t.throws(() => encodeLeaf(3, 0, 0), RangeError, 'no leaf at level 3');
  t.throws(() => encodeLeaf(0, 0, 32), RangeError, 'PAT index beyond 5 bits');
  t.throws(() => encodeLeaf(0, 0x1000, 0, { nul: true }), RangeError, 'NULL leaf with an address');
  t.throws(() => encodeLeaf(1, 0, 0, { ps64: true }), RangeError, 'PS64 above level 0');
  t.throws(() => encodePde(0x1000, 4), RangeError, 'PAT index 4 in a PDE');
  t.throws(() => encodePde(2 ** 52, 0), RangeError, 'address beyond 52 bits');
});
