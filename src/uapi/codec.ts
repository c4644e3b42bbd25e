/**
 * Struct codecs derived from the layouts: read and write any table struct at an offset of a
 * byte buffer, little-endian, u64/s64 as bigint. Anonymous unions and structs appear as
 * members of the enclosing object, as in C; every union member is decoded.
 *
 * restructure was evaluated for this and not used: it has no 64-bit integers, no C
 * alignment and no unions, so a layer over it would have been all of this file anyway.
 */
import { isGroup, type Layout, type Member } from './layout.js';
import { layoutOf } from './uapi.js';

/** A decoded value: scalars, arrays and nested structs. */
export type Value = number | bigint | Value[] | Fields;
/** A decoded struct (or the input of an encode): member name -> value. */
export interface Fields {
  [member: string]: Value;
}
/** Input accepted by encode: any subset of members; numbers and bigints are interchangeable. */
export interface FieldsIn {
  [member: string]: ValueIn | undefined;
}
/** An encodable value. */
export type ValueIn = number | bigint | FieldsIn | ValueIn[];

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function readPrim(dv: DataView, prim: string, off: number): number | bigint {
  switch (prim) {
    case 'u8': case 'char': return dv.getUint8(off);
    case 's8': return dv.getInt8(off);
    case 'u16': return dv.getUint16(off, true);
    case 's16': return dv.getInt16(off, true);
    case 'u32': return dv.getUint32(off, true);
    case 's32': return dv.getInt32(off, true);
    case 'u64': return dv.getBigUint64(off, true);
    default: return dv.getBigInt64(off, true);
  }
}

function writePrim(dv: DataView, prim: string, off: number, v: number | bigint): void {
  switch (prim) {
    case 'u8': case 's8': case 'char': dv.setUint8(off, Number(BigInt.asUintN(8, BigInt(v)))); return;
    case 'u16': case 's16': dv.setUint16(off, Number(BigInt.asUintN(16, BigInt(v))), true); return;
    case 'u32': case 's32': dv.setUint32(off, Number(BigInt.asUintN(32, BigInt(v))), true); return;
    default: dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
  }
}

const PRIM_BYTES: Record<string, number> = { u8: 1, s8: 1, char: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };

function decodeMembers(members: Member[], dv: DataView, base: number, out: Fields): Fields {
  for (const m of members) {
    if (isGroup(m)) {
      if (m.name === undefined) decodeMembers(m.members, dv, base, out);
      else out[m.name] = decodeMembers(m.members, dv, base, {});
      continue;
    }
    if (m.flex) continue;
    const at = base + m.offset;
    const one = (i: number): Value =>
      m.kind === 'prim'
        ? readPrim(dv, m.prim, at + i * PRIM_BYTES[m.prim])
        : decodeMembers(m.layout.members, dv, at + i * m.layout.size, {});
    out[m.name] = m.isArray ? Array.from({ length: m.count }, (_, i) => one(i)) : one(0);
  }
  return out;
}

function encodeMembers(members: Member[], obj: FieldsIn, dv: DataView, base: number): void {
  for (const m of members) {
    if (isGroup(m)) {
      const src = m.name === undefined ? obj : (obj[m.name] as FieldsIn | undefined);
      if (src !== undefined) encodeMembers(m.members, src, dv, base);
      continue;
    }
    const v = obj[m.name];
    if (v === undefined || m.flex) continue;
    const at = base + m.offset;
    const put = (x: ValueIn, i: number): void => {
      if (m.kind === 'prim') writePrim(dv, m.prim, at + i * PRIM_BYTES[m.prim], x as number | bigint);
      else encodeMembers(m.layout.members, x as FieldsIn, dv, at + i * m.layout.size);
    };
    if (Array.isArray(v)) v.slice(0, m.count).forEach(put);
    else put(v, 0);
  }
}

/** Decodes a struct from `buf` at `offset`. Flexible array members are not included. */
export function decodeLayout(layout: Layout, buf: Uint8Array, offset = 0): Fields {
  return decodeMembers(layout.members, view(buf), offset, {});
}

/**
 * Writes the given members of a struct into `buf` at `offset`. Members left out keep the
 * bytes already there; for a union, members are written in declaration order, so give one.
 */
export function encodeLayout(layout: Layout, obj: FieldsIn, buf: Uint8Array, offset = 0): void {
  encodeMembers(layout.members, obj, view(buf), offset);
}

/** Decodes table struct `name` from `buf` at `offset`. */
export function decode(name: string, buf: Uint8Array, offset = 0): Fields {
  return decodeLayout(layoutOf(name), buf, offset);
}

/** Writes the given members of table struct `name` into `buf` at `offset`. */
export function encode(name: string, obj: FieldsIn, buf: Uint8Array, offset = 0): void {
  encodeLayout(layoutOf(name), obj, buf, offset);
}

/** A fresh zeroed buffer of the struct's size holding the given members (missing ones are 0). */
export function pack(name: string, obj: FieldsIn = {}): Uint8Array {
  const layout = layoutOf(name);
  const buf = new Uint8Array(layout.size);
  encodeLayout(layout, obj, buf, 0);
  return buf;
}

/** Decodes `count` consecutive elements of struct `name` starting at `offset`. */
export function decodeArray(name: string, buf: Uint8Array, count: number, offset = 0): Fields[] {
  const layout = layoutOf(name);
  return Array.from({ length: count }, (_, i) => decodeLayout(layout, buf, offset + i * layout.size));
}

/** Packs consecutive elements of struct `name`. */
export function packArray(name: string, items: FieldsIn[]): Uint8Array {
  const layout = layoutOf(name);
  const buf = new Uint8Array(layout.size * items.length);
  items.forEach((it, i) => encodeLayout(layout, it, buf, i * layout.size));
  return buf;
}
