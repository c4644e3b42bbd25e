/**
 * TypeScript types derived from the uAPI table (src/uapi/table.ts) by mapped and
 * conditional types, with no generated code: the table's constructors keep every struct,
 * member, constant and ioctl name as a literal type, and these types read them back.
 *
 * - StructName / IoctlName / ConstName: literal unions of the table's names.
 * - StructOut<'drm_xe_gem_create'>: what decode returns (u64/s64 as bigint, the rest as
 *   number, arrays as arrays, nested structs and named inline unions as objects, members of
 *   anonymous unions and structs flattened into the parent, as in C).
 * - StructIn<...>: what pack and encode accept: every member optional; 64-bit members take
 *   a bigint or a number, smaller ones a number; char arrays also take a string.
 *   Flexible array members are not part of the fixed struct and are not accepted.
 */
import type { CONSTANTS, IOCTLS, STRUCTS } from './table.js';
import type { FieldSpec, GroupSpec, MemberSpec, Prim } from './types.js';

type Structs = (typeof STRUCTS)[number];
type Ioctls = (typeof IOCTLS)[number];

/** The name of a struct of the table, e.g. 'drm_xe_vm_bind'. */
export type StructName = Structs['name'];

/** The name of an ioctl request of the table, e.g. 'DRM_IOCTL_XE_VM_BIND'. */
export type IoctlName = Ioctls['name'];

/** The argument struct of an ioctl: IoctlStruct<'DRM_IOCTL_XE_VM_BIND'> is 'drm_xe_vm_bind'. */
export type IoctlStruct<N extends IoctlName> = Extract<Ioctls, { name: N }>['struct'];

type DefineName<G> = G extends { values: infer V } ? keyof V & string : never;

/** The name of a constant of the table (a #define, or a DRM_IOCTL_* request number). */
export type ConstName = DefineName<(typeof CONSTANTS)[number]> | IoctlName;

/** The members reachable as `s.<member>`: anonymous groups flattened, named ones kept whole. */
type Reachable<M> = M extends GroupSpec<undefined, infer Inner> ? Reachable<Inner[number]> : M;

type MembersOf<S extends StructName> = Extract<Structs, { name: S }>['members'][number];

type Scalar<P extends Prim> = P extends 'u64' | 's64' ? bigint : number;
type ScalarIn<P extends Prim> = P extends 'u64' | 's64' ? bigint | number : number;

/** Decoded value of a field: records, an array (fixed or counted flexible), or one element. */
type FieldOut<F> =
  F extends FieldSpec<string, infer T, infer K, infer R>
    ? R extends StructName ? Array<StructOut<R>> : K extends number | string ? Array<ElemOut<T>> : ElemOut<T>
    : never;
type ElemOut<T> = T extends Prim ? Scalar<T> : T extends { ref: infer R extends StructName } ? StructOut<R> : never;

type FieldIn<F> =
  F extends FieldSpec<string, infer T, infer K>
    ? K extends number ? (T extends 'char' ? string | readonly number[] : ReadonlyArray<ElemIn<T>>) : ElemIn<T>
    : never;
type ElemIn<T> = T extends Prim ? ScalarIn<T> : T extends { ref: infer R extends StructName } ? StructIn<R> : never;

/** Flexible array members decode only when the table names their count member. */
type Decoded<M> = M extends FieldSpec<string, Prim | { ref: string }, infer K> ? (K extends 'flex' ? never : M) : M;
/** Flexible array members are not part of the fixed struct that pack writes. */
type Packable<M> = M extends FieldSpec<string, Prim | { ref: string }, infer K> ? (K extends string ? never : M) : M;

type Out<M extends MemberSpec> = {
  [E in Decoded<Reachable<M>> as E['name'] & string]: E extends GroupSpec<string, infer Inner>
    ? Out<Inner[number]>
    : FieldOut<E>;
};

type In<M extends MemberSpec> = {
  [E in Packable<Reachable<M>> as E['name'] & string]?: E extends GroupSpec<string, infer Inner>
    ? In<Inner[number]>
    : FieldIn<E>;
};

/** A decoded table struct: decode('drm_xe_gem_create', buf) has this type. */
export type StructOut<S extends StructName> = Out<MembersOf<S>>;

/** The members pack / encode accept for a table struct; all optional (missing ones stay 0). */
export type StructIn<S extends StructName> = In<MembersOf<S>>;

/**
 * A name argument known only at run time: the API's functions take a table name as a
 * literal (a misspelt one is a compile error) or any `string` (a name built at run time),
 * which falls back to the untyped Fields / FieldsIn and is checked when the call runs.
 */
export type RuntimeName<S extends string> = string extends S ? S : never;
