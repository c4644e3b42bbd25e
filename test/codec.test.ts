import t from 'tap';
import { decode, decodeArray, encode, encodeLayout, pack, packArray, type FieldsIn } from '../src/uapi/codec.js';
import { flatMembers, isGroup, type Member, type PrimMember } from '../src/uapi/layout.js';
import { STRUCT_LAYOUTS, layoutOf } from '../src/uapi/uapi.js';
import { PRIM_SIZE } from '../src/uapi/types.js';

/** Deterministic xorshift32 bytes seeded from a string. */
function pattern(seedText: string, n: number): Uint8Array {
  let s = 0x811c9dc5;
  for (const ch of seedText) s = Math.imul(s ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  if (s === 0) s = 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

/** Marks the bytes covered by members (not padding holes) in `set`. */
function cover(members: Member[], base: number, set: boolean[]): void {
  for (const m of members) {
    if (isGroup(m)) {
      cover(m.members, base, set);
    } else if (m.kind === 'prim') {
      for (let i = 0; i < PRIM_SIZE[m.prim] * m.count; i++) set[base + m.offset + i] = true;
    } else {
      for (let e = 0; e < m.count; e++) cover(m.layout.members, base + m.offset + e * m.layout.size, set);
    }
  }
}

t.test('every struct round-trips decode -> encode over its member bytes', async (t) => {
  t.ok(STRUCT_LAYOUTS.size > 0);
  for (const [name, layout] of STRUCT_LAYOUTS) {
    const src = pattern(name, layout.size);
    // Counted flexible arrays are empty here (their elements would follow the struct).
    const counted = flatMembers(layout).filter((m) => !isGroup(m) && m.countBy !== undefined);
    for (const m of counted) encodeLayout(layout, { [(m as PrimMember).countBy!]: 0 }, src);
    const fields = decode(name, src);
    for (const m of counted) t.same(fields[m.name as string], [], `${name}.${m.name} decodes empty`);
    const fixed: FieldsIn = { ...fields };
    for (const m of counted) delete fixed[m.name as string];
    const dst = new Uint8Array(layout.size);
    encode(name, fixed, dst);
    const covered: boolean[] = new Array(layout.size).fill(false);
    cover(layout.members, 0, covered);
    const diffs: number[] = [];
    for (let i = 0; i < layout.size; i++) if (covered[i] && src[i] !== dst[i]) diffs.push(i);
    const holes = covered.filter((c) => !c).length;
    t.same(diffs, [], `${name} (${layout.size} bytes, ${holes} padding) differs at ${diffs.join(',')}`);
    // Decoding at an offset inside a larger buffer gives the same values.
    const big = new Uint8Array(layout.size + 24);
    big.set(src, 24);
    t.same(decode(name, big, 24), fields, `${name} decodes at an offset`);
  }
});

t.test('drm_xe_sync: union members, u64 as bigint, little-endian offsets', async (t) => {
  const l = layoutOf('drm_xe_sync');
  t.equal(l.size, 48);
  const buf = pack('drm_xe_sync', { type: 2, flags: 1, addr: 0x1122334455667788n, timeline_value: 7 });
  t.equal(buf.length, 48);
  t.same(Array.from(buf.subarray(8, 12)), [2, 0, 0, 0], 'type at 8');
  t.same(Array.from(buf.subarray(12, 16)), [1, 0, 0, 0], 'flags at 12');
  t.same(Array.from(buf.subarray(16, 24)), [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11], 'addr at 16, LE');
  t.same(Array.from(buf.subarray(24, 32)), [7, 0, 0, 0, 0, 0, 0, 0], 'timeline_value at 24');
  const d = decode('drm_xe_sync', buf);
  t.equal(d.handle, 0x55667788, 'handle is the low 32 bits of the union');
  t.equal(d.addr, 0x1122334455667788n);
  t.equal(typeof d.extensions, 'bigint');
  t.equal(typeof d.type, 'number');
  t.equal(d.timeline_value, 7n);
  t.same(d.reserved, [0n, 0n]);

  // Writing only the u32 member leaves the upper union bytes as they were.
  encode('drm_xe_sync', { handle: 5 }, buf);
  t.equal(decode('drm_xe_sync', buf).addr, 0x1122334400000005n);
  const h = decode('drm_xe_sync', pack('drm_xe_sync', { handle: 5 }));
  t.equal(h.handle, 5);
  t.equal(h.addr, 5n);
});

t.test('u64 extremes: all ones is written as a bigint; -1 does not fit an unsigned member', async (t) => {
  const buf = pack('drm_xe_sync', { timeline_value: 0xffffffffffffffffn, extensions: 0xffffffffffffffffn });
  t.equal(decode('drm_xe_sync', buf).timeline_value, 0xffffffffffffffffn);
  t.equal(decode('drm_xe_sync', buf).extensions, 0xffffffffffffffffn);
  t.same(Array.from(buf.subarray(0, 8)), [255, 255, 255, 255, 255, 255, 255, 255]);
  t.throws(() => pack('drm_xe_sync', { extensions: -1 }), {
    name: 'PackError',
    message: 'drm_xe_sync.extensions = -1: out of range for u64 (0..18446744073709551615)',
  });
});

t.test('nested struct drm_xe_vm_bind.bind and arrays', async (t) => {
  const op = layoutOf('drm_xe_vm_bind_op');
  const vb = layoutOf('drm_xe_vm_bind');
  t.equal(op.size, 80);
  t.equal(vb.size, 136);
  const buf = pack('drm_xe_vm_bind', {
    vm_id: 1, num_binds: 1, num_syncs: 2, syncs: 0x7f0000001000n, reserved: [3, 4],
    bind: { obj: 3, pat_index: 2, range: 0x10000, addr: 0x1a0000, op: 0, flags: 0x101 },
  });
  // bind starts at 24; its members at their own offsets from there.
  const dv = new DataView(buf.buffer);
  t.equal(dv.getUint32(8, true), 1, 'vm_id at 8');
  t.equal(dv.getUint32(20, true), 1, 'num_binds at 20');
  t.equal(dv.getUint32(24 + 8, true), 3, 'bind.obj at 32');
  t.equal(dv.getUint16(24 + 12, true), 2, 'bind.pat_index at 36');
  t.equal(dv.getBigUint64(24 + 24, true), 0x10000n, 'bind.range at 48');
  t.equal(dv.getBigUint64(24 + 32, true), 0x1a0000n, 'bind.addr at 56');
  t.equal(dv.getUint32(24 + 44, true), 0x101, 'bind.flags at 68');
  t.equal(dv.getUint32(108, true), 2, 'num_syncs at 108');
  t.equal(dv.getBigUint64(112, true), 0x7f0000001000n, 'syncs at 112');
  t.equal(dv.getBigUint64(120, true), 3n, 'reserved[0] at 120');
  t.equal(dv.getBigUint64(128, true), 4n, 'reserved[1] at 128');

  const d = decode('drm_xe_vm_bind', buf);
  const bind = d.bind as Record<string, unknown>;
  t.equal(bind.obj, 3);
  t.equal(bind.pat_index, 2);
  t.equal(bind.range, 0x10000n);
  t.equal(bind.flags, 0x101);
  t.same(bind.reserved, [0n, 0n, 0n]);
  t.same(d.reserved, [3n, 4n]);
  t.equal(d.vector_of_binds, dv.getBigUint64(24, true), 'vector_of_binds aliases bind.extensions');

  // Arrays: extra elements do not fit, missing ones keep the buffer's bytes.
  t.throws(() => pack('drm_xe_vm_bind', { reserved: [1, 2, 99] }), {
    name: 'PackError',
    message: 'drm_xe_vm_bind.reserved = [1, 2, 99]: 3 elements for an array of 2',
  });
  const r = pack('drm_xe_vm_bind', { reserved: [1, 2] });
  t.same(decode('drm_xe_vm_bind', r).reserved, [1n, 2n]);
  encode('drm_xe_vm_bind', { reserved: [7] }, r);
  t.same(decode('drm_xe_vm_bind', r).reserved, [7n, 2n]);
});

t.test('decodeArray / packArray', async (t) => {
  const items: FieldsIn[] = [
    { type: 0, flags: 1, handle: 10 },
    { type: 1, handle: 11, timeline_value: 5 },
    { type: 2, addr: 0x1000n, timeline_value: 0xdeadn },
  ];
  const buf = packArray('drm_xe_sync', items);
  t.equal(buf.length, 3 * 48);
  t.equal(new DataView(buf.buffer).getUint32(48 + 16, true), 11, 'element 1 handle at 64');
  const out = decodeArray('drm_xe_sync', buf, 3);
  t.equal(out.length, 3);
  t.same(out.map((s) => s.type), [0, 1, 2]);
  t.same(out.map((s) => s.handle), [10, 11, 0x1000]);
  t.same(out.map((s) => s.timeline_value), [0n, 5n, 0xdeadn]);
  t.equal(out[0]!.flags, 1);
  t.same(decodeArray('drm_xe_sync', buf, 2, 48).map((s) => s.type), [1, 2], 'with an offset');
  t.same(decodeArray('drm_xe_sync', buf, 0), []);
  t.equal(packArray('drm_xe_sync', []).length, 0);
});

t.test('unknown struct names throw', async (t) => {
  const name: string = 'no_such_struct';
  t.throws(() => pack(name), /unknown struct no_such_struct/);
  t.throws(() => decode(name, new Uint8Array(8)), /unknown struct no_such_struct/);
});

t.test('structView: live accessors over the buffer, as a handler sees its argument', async (t) => {
  const { structView, rebindView } = await import('../src/uapi/codec.js');
  const { layoutOf } = await import('../src/uapi/uapi.js');
  const buf = new Uint8Array(48);
  const v = structView(layoutOf('drm_xe_sync'), new DataView(buf.buffer));
  v.addr = 0x1_0000_0005n;
  t.equal(v.handle, 5, 'union members alias as in C');
  t.equal(buf[16], 5);
  t.equal(buf[20], 1, 'upper half of addr');
  v.handle = 7;
  t.equal(v.addr, 0x1_0000_0007n, 'writing the u32 member changes only its bytes');
  v.reserved = [1n, 2n];
  t.same(v.reserved, [1n, 2n], 'arrays are assigned whole');
  t.equal(buf[32], 1);
  const other = new Uint8Array(48);
  other[24] = 9;
  rebindView(v, new DataView(other.buffer));
  t.equal(v.timeline_value, 9n, 'rebound to another buffer');
  const bind = structView(layoutOf('drm_xe_vm_bind'), new DataView(new Uint8Array(136).buffer));
  bind.bind = { extensions: 0x55n, obj: 3, range: 0x1000n };
  t.match(bind.bind, { obj: 3, range: 0x1000n }, 'nested struct read as a copy, written whole');
  t.equal(bind.vector_of_binds, 0x55n, 'vector_of_binds aliases bind.extensions');
});
