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

type Get = (dv: DataView, off: number) => number | bigint;
type Set = (dv: DataView, off: number, v: number | bigint) => void;

const num = (v: number | bigint): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : v);
const big = (v: number | bigint): bigint => BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));

/** Per-scalar accessors; stores wrap like a C assignment to the member's type. */
const PRIM: Record<string, { bytes: number; get: Get; set: Set }> = {
  u8: { bytes: 1, get: (dv, o) => dv.getUint8(o), set: (dv, o, v) => dv.setUint8(o, num(v)) },
  char: { bytes: 1, get: (dv, o) => dv.getUint8(o), set: (dv, o, v) => dv.setUint8(o, num(v)) },
  s8: { bytes: 1, get: (dv, o) => dv.getInt8(o), set: (dv, o, v) => dv.setInt8(o, num(v)) },
  u16: { bytes: 2, get: (dv, o) => dv.getUint16(o, true), set: (dv, o, v) => dv.setUint16(o, num(v), true) },
  s16: { bytes: 2, get: (dv, o) => dv.getInt16(o, true), set: (dv, o, v) => dv.setInt16(o, num(v), true) },
  u32: { bytes: 4, get: (dv, o) => dv.getUint32(o, true), set: (dv, o, v) => dv.setUint32(o, num(v), true) },
  s32: { bytes: 4, get: (dv, o) => dv.getInt32(o, true), set: (dv, o, v) => dv.setInt32(o, num(v), true) },
  u64: { bytes: 8, get: (dv, o) => dv.getBigUint64(o, true), set: (dv, o, v) => dv.setBigUint64(o, big(v), true) },
  s64: { bytes: 8, get: (dv, o) => dv.getBigInt64(o, true), set: (dv, o, v) => dv.setBigUint64(o, big(v), true) },
};

/**
 * A compiled step of a layout's codec: a scalar, an array, a nested struct, or an inline
 * group (anonymous groups read and write the parent object, named ones a nested object).
 */
type Step =
  | { kind: 'scalar'; name: string; off: number; get: Get; set: Set }
  | { kind: 'array'; name: string; off: number; count: number; stride: number; get: Get; set: Set }
  | { kind: 'struct'; name: string; off: number; count: number; isArray: boolean; plan: Step[]; stride: number }
  | { kind: 'group'; name: string | undefined; plan: Step[] };

const plans = new WeakMap<object, Step[]>();

function compile(members: Member[]): Step[] {
  const steps: Step[] = [];
  for (const m of members) {
    if (isGroup(m)) steps.push({ kind: 'group', name: m.name, plan: compile(m.members) });
    else if (m.flex) continue;
    else if (m.kind === 'struct') {
      steps.push({ kind: 'struct', name: m.name, off: m.offset, count: m.count, isArray: m.isArray, plan: planOf(m.layout), stride: m.layout.size });
    } else {
      const acc = PRIM[m.prim];
      if (m.isArray) steps.push({ kind: 'array', name: m.name, off: m.offset, count: m.count, stride: acc.bytes, get: acc.get, set: acc.set });
      else steps.push({ kind: 'scalar', name: m.name, off: m.offset, get: acc.get, set: acc.set });
    }
  }
  return steps;
}

function planOf(layout: Layout): Step[] {
  let plan = plans.get(layout);
  if (!plan) {
    plan = compile(layout.members);
    plans.set(layout, plan);
  }
  return plan;
}

function decodePlan(plan: Step[], dv: DataView, base: number, out: Fields): Fields {
  for (const st of plan) {
    switch (st.kind) {
      case 'scalar':
        out[st.name] = st.get(dv, base + st.off);
        break;
      case 'array': {
        const arr: Value[] = new Array(st.count);
        for (let i = 0; i < st.count; i++) arr[i] = st.get(dv, base + st.off + i * st.stride);
        out[st.name] = arr;
        break;
      }
      case 'struct':
        if (st.isArray) {
          const arr: Value[] = new Array(st.count);
          for (let i = 0; i < st.count; i++) arr[i] = decodePlan(st.plan, dv, base + st.off + i * st.stride, {});
          out[st.name] = arr;
        } else out[st.name] = decodePlan(st.plan, dv, base + st.off, {});
        break;
      default:
        if (st.name === undefined) decodePlan(st.plan, dv, base, out);
        else out[st.name] = decodePlan(st.plan, dv, base, {});
    }
  }
  return out;
}

function encodePlan(plan: Step[], obj: FieldsIn, dv: DataView, base: number): void {
  for (const st of plan) {
    if (st.kind === 'group') {
      const src = st.name === undefined ? obj : (obj[st.name] as FieldsIn | undefined);
      if (src !== undefined) encodePlan(st.plan, src, dv, base);
      continue;
    }
    const v = obj[st.name];
    if (v === undefined) continue;
    if (st.kind === 'scalar') {
      st.set(dv, base + st.off, v as number | bigint);
      continue;
    }
    const items = (Array.isArray(v) ? v : [v]).slice(0, st.count);
    items.forEach((x, i) => {
      if (st.kind === 'array') st.set(dv, base + st.off + i * st.stride, x as number | bigint);
      else encodePlan(st.plan, x as FieldsIn, dv, base + st.off + i * st.stride);
    });
  }
}

/** The backing of a struct view: the buffer and the struct's offset in it. */
interface ViewState {
  $dv: DataView;
  $off: number;
}

type ViewCtor = new (dv: DataView, off: number) => Fields;
const viewCtors = new WeakMap<Step[], ViewCtor>();

/** Defines accessors for a plan's members on `proto` (anonymous groups flatten into it). */
function defineAccessors(proto: object, plan: Step[]): void {
  for (const st of plan) {
    if (st.kind === 'group' && st.name === undefined) {
      defineAccessors(proto, st.plan);
      continue;
    }
    let desc: PropertyDescriptor;
    if (st.kind === 'scalar') {
      desc = {
        get(this: ViewState) { return st.get(this.$dv, this.$off + st.off); },
        set(this: ViewState, v: number | bigint) { st.set(this.$dv, this.$off + st.off, v); },
      };
    } else if (st.kind === 'group') {
      desc = {
        get(this: ViewState) { return new (viewCtor(st.plan))(this.$dv, this.$off); },
        set(this: ViewState, v: FieldsIn) { encodePlan(st.plan, v, this.$dv, this.$off); },
      };
    } else {
      // Arrays and nested structs read as values; assign the whole member to write it.
      const one: Step[] = [st];
      desc = {
        get(this: ViewState) { return decodePlan(one, this.$dv, this.$off, {})[st.name]; },
        set(this: ViewState, v: ValueIn) { encodePlan(one, { [st.name]: v }, this.$dv, this.$off); },
      };
    }
    Object.defineProperty(proto, st.name as string, { ...desc, enumerable: true, configurable: false });
  }
}

function viewCtor(plan: Step[]): ViewCtor {
  let ctor = viewCtors.get(plan);
  if (!ctor) {
    const View = function (this: ViewState, dv: DataView, off: number) {
      this.$dv = dv;
      this.$off = off;
    } as unknown as ViewCtor;
    defineAccessors(View.prototype, plan);
    viewCtors.set(plan, View);
    ctor = View;
  }
  return ctor;
}

/**
 * A live view of a struct in a buffer, as the kernel's handlers see their argument: reading
 * a member reads the bytes, assigning one writes them (unions alias exactly as in C).
 * Array and nested-struct members read as copies; assign the whole member to change it.
 */
export function structView(layout: Layout, dv: DataView, offset = 0): Fields {
  return new (viewCtor(planOf(layout)))(dv, offset);
}

/** Points a view made by structView at another buffer holding the same struct. */
export function rebindView(view: Fields, dv: DataView): void {
  (view as unknown as ViewState).$dv = dv;
}

/** Decodes a struct from `buf` at `offset`. Flexible array members are not included. */
export function decodeLayout(layout: Layout, buf: Uint8Array, offset = 0): Fields {
  return decodePlan(planOf(layout), view(buf), offset, {});
}

/**
 * Writes the given members of a struct into `buf` at `offset`. Members left out keep the
 * bytes already there; for a union, members are written in declaration order, so give one.
 */
export function encodeLayout(layout: Layout, obj: FieldsIn, buf: Uint8Array, offset = 0): void {
  encodePlan(planOf(layout), obj, view(buf), offset);
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
