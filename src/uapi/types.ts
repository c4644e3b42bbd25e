/**
 * The vocabulary of the uAPI table: how a C struct, a member, a constant group and an ioctl
 * are described, and the C (x86-64 System V) layout rules that turn a description into
 * offsets. Nothing here knows a particular struct; src/uapi/table.ts holds the data.
 */

/** C scalar types that occur in the uAPI headers. */
export type Prim = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64' | 'char';

/** Size and alignment of each scalar on x86-64. */
export const PRIM_SIZE: Record<Prim, number> = {
  u8: 1, s8: 1, char: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8,
};

/** How the decoder prints a member's value. */
export interface Display {
  /** Name of a constant group whose values are this member's enum values. */
  enum?: string;
  /** Name of a constant group whose values are this member's flag bits. */
  flags?: string;
  /** Print in hex (addresses, pointers, masks). */
  hex?: boolean;
  /** The member is a user pointer to this struct (or to an array of it). */
  ptr?: string;
}

/** A member of a struct or union as written in the table. */
export type MemberSpec =
  | { kind: 'field'; name: string; type: Prim | StructRef; count?: number | 'flex'; display?: Display }
  | { kind: 'union' | 'struct'; name?: string; members: MemberSpec[] };

/** A reference to another struct of the table by name. */
export interface StructRef {
  ref: string;
}

/** A struct as written in the table. */
export interface StructSpec {
  name: string;
  members: MemberSpec[];
}

/** Kinds of constant groups: values of an enum, bits of a flags word, or plain values. */
export type GroupKind = 'enum' | 'flags' | 'value';

/** A named group of #define constants that share a prefix and a meaning. */
export interface ConstGroup {
  /** Group id, used by Display.enum / Display.flags. */
  id: string;
  kind: GroupKind;
  /** name (full C macro name) -> value */
  values: Map<string, bigint>;
  /** Prefix stripped when printing a value's short name. */
  prefix: string;
}

/** ioctl transfer direction as encoded in the request number. */
export type IoctlDir = 'none' | 'W' | 'R' | 'RW';

/** An ioctl request of the table. */
export interface IoctlSpec {
  /** The request macro name, e.g. DRM_IOCTL_XE_VM_BIND. */
  name: string;
  /** The command number (the ioctl nr byte). */
  nr: number;
  dir: IoctlDir;
  /** Argument struct name. */
  struct: string;
}

// ---------------------------------------------------------------------------------------
// Table-writing helpers: short constructors so that the table reads like the header.

type FieldOpts = Display & { count?: number | 'flex' };

function field(type: Prim | StructRef) {
  return (name: string, opts: FieldOpts = {}): MemberSpec => {
    const { count, ...display } = opts;
    const spec: MemberSpec = { kind: 'field', name, type };
    if (count !== undefined) spec.count = count;
    if (Object.keys(display).length) spec.display = display;
    return spec;
  };
}

/** Member constructors, one per C scalar type. */
export const u8 = field('u8');
export const u16 = field('u16');
export const u32 = field('u32');
export const u64 = field('u64');
export const s32 = field('s32');
export const s64 = field('s64');
export const char = field('char');

/** A member whose type is another struct of the table. */
export function st(structName: string, name: string, opts: FieldOpts = {}): MemberSpec {
  return field({ ref: structName })(name, opts);
}

/** An anonymous (name omitted) or named union. */
export function union(members: MemberSpec[], name?: string): MemberSpec {
  return name === undefined ? { kind: 'union', members } : { kind: 'union', name, members };
}

/** An anonymous (name omitted) or named inline struct, e.g. inside a union. */
export function inner(members: MemberSpec[], name?: string): MemberSpec {
  return name === undefined ? { kind: 'struct', members } : { kind: 'struct', name, members };
}

/** A struct declaration. */
export function struct(name: string, members: MemberSpec[]): StructSpec {
  return { name, members };
}

/** A constant group as written in the table: full macro names and their values. */
export interface ConstGroupSpec {
  id: string;
  kind: GroupKind;
  prefix: string;
  values: Record<string, number | bigint>;
}

/** A group of #define constants; `prefix` is stripped when a value is printed by name. */
export function consts(
  id: string,
  kind: GroupKind,
  prefix: string,
  values: Record<string, number | bigint>,
): ConstGroupSpec {
  return { id, kind, prefix, values };
}

/** An ioctl as written in the table: nr is a number or the name of a table constant. */
export interface IoctlEntry {
  name: string;
  /** Command number, or the name of a DRM_XE_* constant offset by DRM_COMMAND_BASE. */
  nr: number | string;
  dir: IoctlDir;
  struct: string;
}

/** A core DRM ioctl with a literal nr from drm.h. */
export function coreIoctl(name: string, nr: number, dir: IoctlDir, structName: string): IoctlEntry {
  return { name, nr, dir, struct: structName };
}

/** A driver ioctl whose nr is DRM_COMMAND_BASE + the named DRM_XE_* constant. */
export function xeIoctl(name: string, nrConst: string, dir: IoctlDir, structName: string): IoctlEntry {
  return { name, nr: nrConst, dir, struct: structName };
}
