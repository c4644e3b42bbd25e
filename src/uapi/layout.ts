/**
 * C layout engine: turns the table's struct descriptions into byte offsets, sizes and
 * alignments by the x86-64 System V rules (natural alignment, tail padding, flexible array
 * members of size 0). Offsets of members inside anonymous or inline unions/structs are
 * absolute within the outermost struct, so codecs never add offsets twice.
 */
import { PRIM_SIZE, type Display, type MemberSpec, type Prim, type StructSpec } from './types.js';

/** A scalar member, or an array of scalars. */
export interface PrimMember {
  kind: 'prim';
  name: string;
  offset: number;
  prim: Prim;
  /** Element count: 1 for a scalar, n for an array, 0 for a flexible array member. */
  count: number;
  isArray: boolean;
  flex: boolean;
  /** Flexible array only: the sibling member holding its element count, when the table names one. */
  countBy?: string;
  /** Flexible array only: the struct of its variable-size records (see FieldSpec.records). */
  records?: Layout;
  display: Display;
}

/** A member whose type is a table struct, or an array of it. */
export interface StructMember {
  kind: 'struct';
  name: string;
  offset: number;
  layout: Layout;
  count: number;
  isArray: boolean;
  flex: boolean;
  /** Flexible array only: the sibling member holding its element count, when the table names one. */
  countBy?: string;
  display: Display;
}

/** An inline union or struct; anonymous when name is undefined. */
export interface GroupMember {
  kind: 'union' | 'group';
  name: string | undefined;
  offset: number;
  size: number;
  align: number;
  members: Member[];
}

/** Any laid-out member. */
export type Member = PrimMember | StructMember | GroupMember;

/** True for an inline union or struct member. */
export function isGroup(m: Member): m is GroupMember {
  return m.kind === 'union' || m.kind === 'group';
}

/** A fully laid-out struct. */
export interface Layout {
  name: string;
  size: number;
  align: number;
  members: Member[];
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Looks up a struct layout by name; used to resolve struct-typed members. */
export type Resolver = (name: string) => Layout;

interface Placed {
  member: Member;
  size: number;
  align: number;
}

function placeField(spec: Extract<MemberSpec, { kind: 'field' }>, offset: number, resolve: Resolver): Placed {
  const flex = typeof spec.count === 'string';
  const isArray = spec.count !== undefined;
  const count = flex ? 0 : (spec.count as number | undefined) ?? 1;
  const display = spec.display ?? {};
  const counted = flex && spec.count !== 'flex' ? { countBy: spec.count as string } : {};
  if (typeof spec.type === 'string') {
    const elem = PRIM_SIZE[spec.type];
    const at = alignUp(offset, elem);
    const records = spec.records === undefined ? {} : { records: resolve(spec.records) };
    return {
      member: { kind: 'prim', name: spec.name, offset: at, prim: spec.type, count, isArray, flex, ...counted, ...records, display },
      size: elem * count,
      align: elem,
    };
  }
  const layout = resolve(spec.type.ref);
  const at = alignUp(offset, layout.align);
  return {
    member: { kind: 'struct', name: spec.name, offset: at, layout, count, isArray, flex, ...counted, display },
    size: layout.size * count,
    align: layout.align,
  };
}

function placeGroup(spec: Extract<MemberSpec, { kind: 'union' | 'struct' }>, offset: number, resolve: Resolver): Placed {
  const isUnion = spec.kind === 'union';
  // The group's own alignment decides where it starts, so lay it out at 0 first.
  const probe = placeMembers(spec.members, 0, isUnion, resolve);
  const at = alignUp(offset, probe.align);
  const { members, size, align } = placeMembers(spec.members, at, isUnion, resolve);
  return {
    member: { kind: isUnion ? 'union' : 'group', name: spec.name, offset: at, size: size - at, align, members },
    size: size - at,
    align,
  };
}

/** Lays out a member list starting at `start`; returns the end offset (tail-padded). */
function placeMembers(specs: readonly MemberSpec[], start: number, isUnion: boolean, resolve: Resolver) {
  let cursor = start;
  let end = start;
  let align = 1;
  const members: Member[] = [];
  for (const spec of specs) {
    const placed = spec.kind === 'field' ? placeField(spec, cursor, resolve) : placeGroup(spec, cursor, resolve);
    members.push(placed.member);
    align = Math.max(align, placed.align);
    const memberEnd = placed.member.offset + placed.size;
    end = Math.max(end, memberEnd);
    if (!isUnion) cursor = memberEnd;
  }
  return { members, size: start + alignUp(end - start, align), align };
}

/** Lays out one struct description. */
export function layoutStruct(spec: StructSpec, resolve: Resolver): Layout {
  const { members, size, align } = placeMembers(spec.members, 0, false, resolve);
  const layout = { name: spec.name, size, align, members };
  checkCounts(layout);
  return layout;
}

/** A flexible array's count member must be a scalar integer member of the same struct. */
function checkCounts(layout: Layout): void {
  const flat = flatMembers(layout);
  for (const m of flat) {
    if (isGroup(m) || m.countBy === undefined) continue;
    const c = flat.find((x) => x.name === m.countBy);
    if (!c || c.kind !== 'prim' || c.isArray || c.prim === 'char') {
      throw new Error(`uAPI table: ${layout.name}.${m.name} counted by ${m.countBy}, not a scalar member`);
    }
  }
}

/** Byte size of a member (a flexible array member has size 0). */
export function memberSize(m: Member): number {
  if (m.kind === 'prim') return PRIM_SIZE[m.prim] * m.count;
  if (m.kind === 'struct') return m.layout.size * m.count;
  return m.size;
}

/**
 * The members reachable as `s.<member>` in C: top-level members plus the members of anonymous
 * unions and structs, flattened; a named member (even an inline union) is one entry.
 */
export function flatMembers(layout: { members: Member[] }): Array<PrimMember | StructMember | GroupMember> {
  const out: Array<PrimMember | StructMember | GroupMember> = [];
  for (const m of layout.members) {
    if (isGroup(m) && m.name === undefined) out.push(...flatMembers(m));
    else out.push(m);
  }
  return out;
}
