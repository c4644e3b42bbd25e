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

/**
 * Element count of an array member: n for a fixed array; for a flexible array member
 * (`type name[]`) 'flex', or the name of the sibling member that holds its element count
 * (`num_engines`), which lets decode read the whole array.
 */
export type Count = number | string;

/** A scalar or struct-typed member (or an array of them) as written in the table. */
export interface FieldSpec<
  N extends string = string,
  T extends Prim | StructRef = Prim | StructRef,
  K extends Count | undefined = Count | undefined,
  R extends string | undefined = string | undefined,
> {
  kind: 'field';
  name: N;
  type: T;
  count?: K;
  /**
   * For a flexible array declared as raw words (`__u64 oa_units[]`) whose elements are
   * really variable-size records of this struct, each sized by its own flexible member.
   */
  records?: R;
  display?: Display;
}

/** An inline union or struct; anonymous when name is undefined. */
export interface GroupSpec<
  N extends string | undefined = string | undefined,
  M extends readonly MemberSpec[] = readonly MemberSpec[],
> {
  kind: 'union' | 'struct';
  name?: N;
  members: M;
}

/** A member of a struct or union as written in the table. */
export type MemberSpec = FieldSpec | GroupSpec;

/** A reference to another struct of the table by name. */
export interface StructRef<N extends string = string> {
  ref: N;
}

/** A struct as written in the table. */
export interface StructSpec<N extends string = string, M extends readonly MemberSpec[] = readonly MemberSpec[]> {
  name: N;
  members: M;
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

/** Options of a field constructor: its array count, records struct and display hints. */
export type FieldOpts = Display & { count?: Count; records?: string };

type CountOf<O> = O extends { count: infer K extends Count } ? K : undefined;
type RecordsOf<O> = O extends { records: infer R extends string } ? R : undefined;

function field<T extends Prim | StructRef>(type: T) {
  return <N extends string, const O extends FieldOpts = {}>(name: N, opts?: O): FieldSpec<N, T, CountOf<O>, RecordsOf<O>> => {
    const { count, records, ...display } = opts ?? {};
    const spec: FieldSpec<N, T, CountOf<O>, RecordsOf<O>> = { kind: 'field', name, type };
    if (count !== undefined) spec.count = count as CountOf<O>;
    if (records !== undefined) spec.records = records as RecordsOf<O>;
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
export function st<R extends string, N extends string, const O extends FieldOpts = {}>(structName: R, name: N, opts?: O) {
  return field({ ref: structName })(name, opts);
}

/** An anonymous (name omitted) or named union. */
export function union<M extends readonly MemberSpec[]>(members: M): GroupSpec<undefined, M>;
export function union<M extends readonly MemberSpec[], N extends string>(members: M, name: N): GroupSpec<N, M>;
export function union(members: readonly MemberSpec[], name?: string): GroupSpec {
  return name === undefined ? { kind: 'union', members } : { kind: 'union', name, members };
}

/** An anonymous (name omitted) or named inline struct, e.g. inside a union. */
export function inner<M extends readonly MemberSpec[]>(members: M): GroupSpec<undefined, M>;
export function inner<M extends readonly MemberSpec[], N extends string>(members: M, name: N): GroupSpec<N, M>;
export function inner(members: readonly MemberSpec[], name?: string): GroupSpec {
  return name === undefined ? { kind: 'struct', members } : { kind: 'struct', name, members };
}

/** A struct declaration. */
export function struct<N extends string, M extends readonly MemberSpec[]>(name: N, members: M): StructSpec<N, M> {
  return { name, members };
}

/** A constant group as written in the table: full macro names and their values. */
export interface ConstGroupSpec<V extends Record<string, number | bigint> = Record<string, number | bigint>> {
  id: string;
  kind: GroupKind;
  prefix: string;
  values: V;
}

/** A group of #define constants; `prefix` is stripped when a value is printed by name. */
export function consts<V extends Record<string, number | bigint>>(
  id: string,
  kind: GroupKind,
  prefix: string,
  values: V,
): ConstGroupSpec<V> {
  return { id, kind, prefix, values };
}

/** An ioctl as written in the table: nr is a number or the name of a table constant. */
export interface IoctlEntry<N extends string = string, S extends string = string> {
  name: N;
  /** Command number, or the name of a DRM_XE_* constant offset by DRM_COMMAND_BASE. */
  nr: number | string;
  dir: IoctlDir;
  struct: S;
}

/** A core DRM ioctl with a literal nr from drm.h. */
export function coreIoctl<N extends string, S extends string>(name: N, nr: number, dir: IoctlDir, structName: S): IoctlEntry<N, S> {
  return { name, nr, dir, struct: structName };
}

/** A driver ioctl whose nr is DRM_COMMAND_BASE + the named DRM_XE_* constant. */
export function xeIoctl<N extends string, S extends string>(name: N, nrConst: string, dir: IoctlDir, structName: S): IoctlEntry<N, S> {
  return { name, nr: nrConst, dir, struct: structName };
}
