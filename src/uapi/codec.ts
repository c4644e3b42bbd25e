/**
 * Struct codecs derived from the layouts: read and write any table struct at an offset of a
 * byte buffer, little-endian, u64/s64 as bigint. Anonymous unions and structs appear as
 * members of the enclosing object, as in C; every union member is decoded.
 *
 * restructure was evaluated for this and not used: it has no 64-bit integers, no C
 * alignment and no unions, so a layer over it would have been all of this file anyway.
 */
import { isGroup, type Layout, type Member, type PrimMember } from './layout.js';
import type { RuntimeName, StructIn, StructName, StructOut } from './typed.js';
import { PRIM_SIZE, type Prim } from './types.js';
import { GROUPS, layoutOf } from './uapi.js';

/** A decoded value: scalars, arrays and nested structs. */
export type Value = number | bigint | Value[] | Fields;
/** A decoded struct (or the input of an encode): member name -> value. */
export interface Fields {
  [member: string]: Value;
}
/** Input accepted by encode when the struct is only known at run time: any subset of members. */
export interface FieldsIn {
  [member: string]: ValueIn | undefined;
}
/** An encodable value. */
export type ValueIn = number | bigint | string | FieldsIn | readonly ValueIn[];

/**
 * A value given to pack / encode does not fit the struct: an unknown member, a value
 * outside its member's range, a non-integer, a wrong type or an array longer than the
 * member. `path` names the member from the struct down (`drm_xe_vm_bind.bind.range`).
 */
export class PackError extends TypeError {
  constructor(
    readonly path: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${path} = ${show(value)}: ${reason}`);
    this.name = 'PackError';
  }
}

/**
 * A struct does not fit the buffer it is read from or written to: a bad offset, a buffer
 * shorter than the struct, or a flexible array whose count reaches past the end.
 * `path` is the struct, or `struct.member` for a flexible array member.
 */
export class BufferError extends RangeError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'BufferError';
  }
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v !== null && typeof v === 'object') return '{...}';
  return String(v);
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

type Get = (dv: DataView, off: number) => number | bigint;
type Set = (dv: DataView, off: number, v: number | bigint) => void;

const num = (v: number | bigint): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : v);
const big = (v: number | bigint): bigint => BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));

/** Per-scalar accessors; stores wrap like a C assignment to the member's type. */
const PRIM: Record<Prim, { get: Get; set: Set }> = {
  u8: { get: (dv, o) => dv.getUint8(o), set: (dv, o, v) => dv.setUint8(o, num(v)) },
  char: { get: (dv, o) => dv.getUint8(o), set: (dv, o, v) => dv.setUint8(o, num(v)) },
  s8: { get: (dv, o) => dv.getInt8(o), set: (dv, o, v) => dv.setInt8(o, num(v)) },
  u16: { get: (dv, o) => dv.getUint16(o, true), set: (dv, o, v) => dv.setUint16(o, num(v), true) },
  s16: { get: (dv, o) => dv.getInt16(o, true), set: (dv, o, v) => dv.setInt16(o, num(v), true) },
  u32: { get: (dv, o) => dv.getUint32(o, true), set: (dv, o, v) => dv.setUint32(o, num(v), true) },
  s32: { get: (dv, o) => dv.getInt32(o, true), set: (dv, o, v) => dv.setInt32(o, num(v), true) },
  u64: { get: (dv, o) => dv.getBigUint64(o, true), set: (dv, o, v) => dv.setBigUint64(o, big(v), true) },
  s64: { get: (dv, o) => dv.getBigInt64(o, true), set: (dv, o, v) => dv.setBigUint64(o, big(v), true) },
};

/**
 * What a scalar member accepts from pack / encode: integers (number or bigint) in the C
 * type's range — 0..2^n-1 unsigned, -2^(n-1)..2^(n-1)-1 signed; a number in a 64-bit member
 * must also be a safe integer (beyond 2^53 write a bigint). Also accepted: the values of
 * the member's enum constants, which the header defines as negative for some unsigned
 * members (DRM_XE_CONSULT_MEM_ADVISE_PREF_LOC, -1); they are stored as C stores them.
 */
interface Accepts {
  prim: Prim;
  min: bigint;
  max: bigint;
  nmin: number;
  nmax: number;
  constants: ReadonlySet<bigint>;
}

function acceptsOf(m: PrimMember): Accepts {
  const bits = PRIM_SIZE[m.prim] * 8;
  const signed = m.prim.startsWith('s');
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = (1n << BigInt(signed ? bits - 1 : bits)) - 1n;
  const group = m.display.enum === undefined ? undefined : GROUPS.get(m.display.enum);
  const constants = new Set([...(group?.values.values() ?? [])].filter((v) => v < min || v > max));
  return { prim: m.prim, min, max, nmin: Number(min), nmax: Number(max), constants };
}

/** Why `v` does not fit the member, or undefined when it does. */
function misfit(a: Accepts, v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'not an integer';
    if (a.max > 0xffffffffn && !Number.isSafeInteger(v)) return `not a safe integer; write a bigint for ${a.prim}`;
    if (v >= a.nmin && v <= a.nmax) return undefined;
  } else if (typeof v === 'bigint') {
    if (v >= a.min && v <= a.max) return undefined;
  } else {
    return `${a.prim} takes a number or a bigint, not ${v === null ? 'null' : typeof v}`;
  }
  if (a.constants.has(BigInt(v))) return undefined;
  return `out of range for ${a.prim} (${a.min}..${a.max})`;
}

/**
 * A compiled step of a layout's codec: a scalar, an array, a nested struct, an inline group
 * (anonymous groups read and write the parent object, named ones a nested object), or a
 * flexible array member (decoded when the table names its count member).
 */
type Step =
  | { kind: 'scalar'; name: string; off: number; get: Get; set: Set; accepts: Accepts }
  | { kind: 'array'; name: string; off: number; count: number; stride: number; get: Get; set: Set; accepts: Accepts; chars: boolean }
  | { kind: 'struct'; name: string; off: number; count: number; isArray: boolean; plan: Plan; stride: number }
  | { kind: 'group'; name: string | undefined; plan: Plan }
  | { kind: 'flex'; name: string; off: number; countBy: string | undefined; elem: Member; records: Layout | undefined };

/** A layout's steps and the member names its objects may have (anonymous groups flattened). */
interface Plan {
  steps: Step[];
  names: ReadonlySet<string>;
}

const plans = new WeakMap<object, Plan>();

function compileStep(m: Member): Step {
  if (isGroup(m)) return { kind: 'group', name: m.name, plan: compile(m.members) };
  if (m.flex) return { kind: 'flex', name: m.name, off: m.offset, countBy: m.countBy, elem: m, records: m.kind === 'prim' ? m.records : undefined };
  if (m.kind === 'struct') {
    return { kind: 'struct', name: m.name, off: m.offset, count: m.count, isArray: m.isArray, plan: planOf(m.layout), stride: m.layout.size };
  }
  const { get, set } = PRIM[m.prim];
  const accepts = acceptsOf(m);
  if (!m.isArray) return { kind: 'scalar', name: m.name, off: m.offset, get, set, accepts };
  return { kind: 'array', name: m.name, off: m.offset, count: m.count, stride: PRIM_SIZE[m.prim], get, set, accepts, chars: m.prim === 'char' };
}

function compile(members: Member[]): Plan {
  const steps = members.map(compileStep);
  const names = new Set<string>();
  for (const st of steps) {
    if (st.kind === 'group' && st.name === undefined) st.plan.names.forEach((n) => names.add(n));
    else names.add(st.name as string);
  }
  return { steps, names };
}

function planOf(layout: Layout): Plan {
  let plan = plans.get(layout);
  if (!plan) {
    plan = compile(layout.members);
    plans.set(layout, plan);
  }
  return plan;
}

/** Element size of a flexible array member (a record's fixed part for records). */
function flexStride(m: Member): number {
  if (m.kind === 'struct') return m.layout.size;
  return m.kind === 'prim' ? PRIM_SIZE[m.prim] : 0;
}

/**
 * Decodes a flexible array member whose count member is already in `out`; returns the end
 * offset of the array. Every element must lie inside the buffer.
 */
function decodeFlex(st: Extract<Step, { kind: 'flex' }>, where: string, dv: DataView, base: number, out: Fields): number {
  const at = base + st.off;
  if (st.countBy === undefined) return at;
  const count = Number(out[st.countBy] as number | bigint);
  const stride = st.records?.size ?? flexStride(st.elem);
  const room = dv.byteLength - at;
  if (count * stride > room) {
    throw new BufferError(`${where}.${st.name}`, `${st.countBy} ${count} needs ${count * stride} bytes at offset ${at}, buffer has ${dv.byteLength}`);
  }
  const items: Value[] = new Array(count);
  let end = at;
  for (let i = 0; i < count; i++) {
    if (st.records) {
      const rec = decodeAt(st.records, dv, end);
      items[i] = rec.fields;
      end = rec.end;
    } else if (st.elem.kind === 'struct') {
      items[i] = decodePlan(planOf(st.elem.layout), where, dv, end, {}).fields;
      end += stride;
    } else {
      items[i] = PRIM[(st.elem as PrimMember).prim].get(dv, end);
      end += stride;
    }
  }
  out[st.name] = items;
  return end;
}

/** Decodes a plan at `base`; `end` is past the last flexible array element decoded, if any. */
function decodePlan(plan: Plan, where: string, dv: DataView, base: number, out: Fields, flex = true): { fields: Fields; end: number } {
  let end = 0;
  for (const st of plan.steps) {
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
          for (let i = 0; i < st.count; i++) arr[i] = decodePlan(st.plan, where, dv, base + st.off + i * st.stride, {}).fields;
          out[st.name] = arr;
        } else out[st.name] = decodePlan(st.plan, where, dv, base + st.off, {}).fields;
        break;
      case 'flex':
        if (flex) end = decodeFlex(st, where, dv, base, out);
        break;
      default:
        if (st.name === undefined) decodePlan(st.plan, where, dv, base, out);
        else out[st.name] = decodePlan(st.plan, where, dv, base, {}).fields;
    }
  }
  return { fields: out, end };
}

/** Checks that `layout` fits `dv` at `offset`. */
function checkBounds(layout: Layout, dv: DataView, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new BufferError(layout.name, `bad offset ${offset}`);
  if (offset + layout.size > dv.byteLength) {
    throw new BufferError(layout.name, `needs ${layout.size} bytes at offset ${offset}, buffer has ${dv.byteLength}`);
  }
}

/** Decodes a struct (and its flexible arrays); `end` is the offset just past all of it. */
function decodeAt(layout: Layout, dv: DataView, offset: number, flex = true): { fields: Fields; end: number } {
  checkBounds(layout, dv, offset);
  const r = decodePlan(planOf(layout), layout.name, dv, offset, {}, flex);
  return { fields: r.fields, end: Math.max(r.end, offset + layout.size) };
}

function isObject(v: unknown): v is FieldsIn {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Writes `obj` by `plan`; every key must be a member and every value must fit it. */
function encodePlan(plan: Plan, obj: unknown, path: string, dv: DataView, base: number): void {
  if (!isObject(obj)) throw new PackError(path, obj, 'expected an object of members');
  for (const key of Object.keys(obj)) {
    if (!plan.names.has(key) && obj[key] !== undefined) throw new PackError(`${path}.${key}`, obj[key], 'no such member');
  }
  encodeSteps(plan, obj, path, dv, base);
}

function encodeSteps(plan: Plan, obj: FieldsIn, path: string, dv: DataView, base: number): void {
  for (const st of plan.steps) {
    if (st.kind === 'group' && st.name === undefined) {
      encodeSteps(st.plan, obj, path, dv, base);
      continue;
    }
    const v = obj[st.name as string];
    if (v === undefined) continue;
    const at = `${path}.${st.name}`;
    switch (st.kind) {
      case 'scalar': {
        const why = misfit(st.accepts, v);
        if (why !== undefined) throw new PackError(at, v, why);
        st.set(dv, base + st.off, v as number | bigint);
        break;
      }
      case 'array':
        encodeArray(st, v, at, dv, base);
        break;
      case 'struct':
        if (!st.isArray) encodePlan(st.plan, v, at, dv, base + st.off);
        else arrayItems(v, st.count, at).forEach((x, i) => encodePlan(st.plan, x, `${at}[${i}]`, dv, base + st.off + i * st.stride));
        break;
      case 'group':
        encodePlan(st.plan, v, at, dv, base);
        break;
      default:
        throw new PackError(at, v, 'a flexible array member is not part of the fixed struct; write its elements after it');
    }
  }
}

/** The items of an array member's value, at most `count` of them. */
function arrayItems(v: unknown, count: number, at: string): readonly unknown[] {
  if (!Array.isArray(v)) throw new PackError(at, v, `expected an array of at most ${count} elements`);
  if (v.length > count) throw new PackError(at, v, `${v.length} elements for an array of ${count}`);
  return v;
}

function encodeArray(st: Extract<Step, { kind: 'array' }>, v: unknown, at: string, dv: DataView, base: number): void {
  const items = st.chars && typeof v === 'string' ? Array.from(v, (ch) => ch.charCodeAt(0)) : arrayItems(v, st.count, at);
  if (items.length > st.count) throw new PackError(at, v, `${items.length} characters for char[${st.count}]`);
  items.forEach((x, i) => {
    const why = misfit(st.accepts, x);
    if (why !== undefined) throw new PackError(`${at}[${i}]`, x, why);
    st.set(dv, base + st.off + i * st.stride, x as number | bigint);
  });
}

/** The backing of a struct view: the buffer and the struct's offset in it. */
interface ViewState {
  $dv: DataView;
  $off: number;
}

type ViewCtor = new (dv: DataView, off: number) => Fields;
const viewCtors = new WeakMap<Plan, ViewCtor>();

/**
 * Defines accessors for a plan's members on `proto` (anonymous groups flatten into it).
 * Scalars store as a C assignment does (the kernel's own writes); flexible arrays have none.
 */
function defineAccessors(proto: object, plan: Plan, where: string): void {
  for (const st of plan.steps) {
    if (st.kind === 'group' && st.name === undefined) {
      defineAccessors(proto, st.plan, where);
      continue;
    }
    let desc: PropertyDescriptor;
    if (st.kind === 'flex') continue;
    if (st.kind === 'scalar') {
      desc = {
        get(this: ViewState) { return st.get(this.$dv, this.$off + st.off); },
        set(this: ViewState, v: number | bigint) { st.set(this.$dv, this.$off + st.off, v); },
      };
    } else if (st.kind === 'group') {
      desc = {
        get(this: ViewState) { return new (viewCtor(st.plan, `${where}.${st.name}`))(this.$dv, this.$off); },
        set(this: ViewState, v: FieldsIn) { encodePlan(st.plan, v, `${where}.${st.name}`, this.$dv, this.$off); },
      };
    } else {
      // Arrays and nested structs read as values; assign the whole member to write it.
      const one: Plan = { steps: [st], names: new Set([st.name]) };
      desc = {
        get(this: ViewState) { return decodePlan(one, where, this.$dv, this.$off, {}).fields[st.name]; },
        set(this: ViewState, v: ValueIn) { encodePlan(one, { [st.name]: v }, where, this.$dv, this.$off); },
      };
    }
    Object.defineProperty(proto, st.name as string, { ...desc, enumerable: true, configurable: false });
  }
}

function viewCtor(plan: Plan, where: string): ViewCtor {
  let ctor = viewCtors.get(plan);
  if (!ctor) {
    const View = function (this: ViewState, dv: DataView, off: number) {
      this.$dv = dv;
      this.$off = off;
    } as unknown as ViewCtor;
    defineAccessors(View.prototype, plan, where);
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
  return new (viewCtor(planOf(layout), layout.name))(dv, offset);
}

/** Points a view made by structView at another buffer holding the same struct. */
export function rebindView(view: Fields, dv: DataView): void {
  (view as unknown as ViewState).$dv = dv;
}

/**
 * Decodes a struct from `buf` at `offset`, with its flexible array members when the table
 * names their count member (`engines` by `num_engines`); those must lie inside `buf` too.
 * With `flex` false only the fixed part is read.
 */
export function decodeLayout(layout: Layout, buf: Uint8Array, offset = 0, flex = true): Fields {
  return decodeAt(layout, view(buf), offset, flex).fields;
}

/**
 * Writes the given members of a struct into `buf` at `offset`. Members left out keep the
 * bytes already there; for a union, members are written in declaration order, so give one.
 * Throws PackError for a member or value that does not fit (see PackError).
 */
export function encodeLayout(layout: Layout, obj: FieldsIn, buf: Uint8Array, offset = 0): void {
  const dv = view(buf);
  checkBounds(layout, dv, offset);
  encodePlan(planOf(layout), obj, layout.name, dv, offset);
}

/** Decodes table struct `name` from `buf` at `offset` (flexible arrays as decodeLayout). */
export function decode<S extends StructName>(name: S, buf: Uint8Array, offset?: number): StructOut<S>;
export function decode<S extends string>(name: RuntimeName<S>, buf: Uint8Array, offset?: number): Fields;
export function decode(name: string, buf: Uint8Array, offset = 0): Fields {
  return decodeLayout(layoutOf(name), buf, offset);
}

/** Writes the given members of table struct `name` into `buf` at `offset`. */
export function encode<S extends StructName>(name: S, obj: StructIn<S>, buf: Uint8Array, offset?: number): void;
export function encode<S extends string>(name: RuntimeName<S>, obj: FieldsIn, buf: Uint8Array, offset?: number): void;
export function encode(name: string, obj: FieldsIn, buf: Uint8Array, offset = 0): void {
  encodeLayout(layoutOf(name), obj, buf, offset);
}

/** A fresh zeroed buffer of the struct's size holding the given members (missing ones are 0). */
export function pack<S extends StructName>(name: S, obj?: StructIn<S>): Uint8Array;
export function pack<S extends string>(name: RuntimeName<S>, obj?: FieldsIn): Uint8Array;
export function pack(name: string, obj: FieldsIn = {}): Uint8Array {
  const layout = layoutOf(name);
  const buf = new Uint8Array(layout.size);
  encodeLayout(layout, obj, buf, 0);
  return buf;
}

/** Decodes `count` consecutive elements of struct `name` starting at `offset`. */
export function decodeArray<S extends StructName>(name: S, buf: Uint8Array, count: number, offset?: number): Array<StructOut<S>>;
export function decodeArray<S extends string>(name: RuntimeName<S>, buf: Uint8Array, count: number, offset?: number): Fields[];
export function decodeArray(name: string, buf: Uint8Array, count: number, offset = 0): Fields[] {
  const layout = layoutOf(name);
  return Array.from({ length: count }, (_, i) => decodeLayout(layout, buf, offset + i * layout.size));
}

/**
 * Decodes a sequence of variable-size records of struct `name` that fills `buf` from
 * `offset` to its end, each followed by its flexible array (the GT_TOPOLOGY reply: one
 * drm_xe_query_topology_mask per item, each with num_bytes of mask).
 */
export function decodeRecords<S extends StructName>(name: S, buf: Uint8Array, offset?: number): Array<StructOut<S>>;
export function decodeRecords<S extends string>(name: RuntimeName<S>, buf: Uint8Array, offset?: number): Fields[];
export function decodeRecords(name: string, buf: Uint8Array, offset = 0): Fields[] {
  const layout = layoutOf(name);
  const dv = view(buf);
  const out: Fields[] = [];
  for (let at = offset; at < buf.length; ) {
    const rec = decodeAt(layout, dv, at);
    out.push(rec.fields);
    at = rec.end;
  }
  return out;
}

/** Packs consecutive elements of struct `name`. */
export function packArray<S extends StructName>(name: S, items: ReadonlyArray<StructIn<S>>): Uint8Array;
export function packArray<S extends string>(name: RuntimeName<S>, items: readonly FieldsIn[]): Uint8Array;
export function packArray(name: string, items: readonly FieldsIn[]): Uint8Array {
  const layout = layoutOf(name);
  const buf = new Uint8Array(layout.size * items.length);
  items.forEach((it, i) => encodePlan(planOf(layout), it, `${name}[${i}]`, view(buf), i * layout.size));
  return buf;
}
