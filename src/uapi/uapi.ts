/**
 * The compiled uAPI: layouts, constants and ioctl requests derived from the table. This is
 * what the rest of xe-emu imports; nothing outside src/uapi reads the raw table.
 */
import { ioc, iocDecode, DRM_IOCTL_TYPE } from './ioctl.js';
import { layoutStruct, type Layout } from './layout.js';
import { CONSTANTS, IOCTLS, STRUCTS } from './table.js';
import type { ConstName, IoctlName, RuntimeName } from './typed.js';
import type { ConstGroup, IoctlDir, StructSpec } from './types.js';

/** A compiled ioctl: its request number and argument layout. */
export interface Ioctl {
  name: string;
  nr: number;
  dir: IoctlDir;
  request: number;
  layout: Layout;
}

const specByName = new Map<string, StructSpec>(STRUCTS.map((s) => [s.name, s]));
const layouts = new Map<string, Layout>();

function resolve(name: string): Layout {
  let l = layouts.get(name);
  if (l) return l;
  const spec = specByName.get(name);
  if (!spec) throw new Error(`uAPI table: unknown struct ${name}`);
  l = layoutStruct(spec, resolve);
  layouts.set(name, l);
  return l;
}

/** Every struct layout, in table order. */
export const STRUCT_LAYOUTS: ReadonlyMap<string, Layout> = new Map(STRUCTS.map((s) => [s.name, resolve(s.name)]));

/** Layout of a table struct; throws for an unknown name (a programming error). */
export function layoutOf(name: string): Layout {
  const l = STRUCT_LAYOUTS.get(name);
  if (!l) throw new Error(`uAPI table: unknown struct ${name}`);
  return l;
}

/** Constant groups by id. */
export const GROUPS: ReadonlyMap<string, ConstGroup> = new Map(
  CONSTANTS.map((g) => [
    g.id,
    {
      id: g.id,
      kind: g.kind,
      prefix: g.prefix,
      values: new Map(Object.entries(g.values).map(([k, v]) => [k, BigInt(v)])),
    },
  ]),
);

const constants = new Map<string, bigint>();
for (const g of GROUPS.values()) {
  for (const [k, v] of g.values) {
    if (constants.has(k)) throw new Error(`uAPI table: constant ${k} defined twice`);
    constants.set(k, v);
  }
}

function constant(name: string): bigint {
  const v = constants.get(name);
  if (v === undefined) throw new Error(`uAPI table: unknown constant ${name}`);
  return v;
}

const COMMAND_BASE = Number(constant('DRM_COMMAND_BASE'));

/** Every ioctl, in table order, with its computed request number. */
export const IOCTL_LIST: readonly Ioctl[] = IOCTLS.map((e) => {
  const nr = typeof e.nr === 'number' ? e.nr : COMMAND_BASE + Number(constant(e.nr));
  const layout = layoutOf(e.struct);
  return { name: e.name, nr, dir: e.dir, layout, request: ioc(e.dir, DRM_IOCTL_TYPE, nr, layout.size) };
});

for (const io of IOCTL_LIST) {
  if (constants.has(io.name)) throw new Error(`uAPI table: constant ${io.name} defined twice`);
  constants.set(io.name, BigInt(io.request));
}

/** Every constant by macro name: #defines of the table plus the computed DRM_IOCTL_* values. */
export const CONSTANT_VALUES: ReadonlyMap<string, bigint> = constants;

/** Ioctls by macro name. */
export const IOCTL_BY_NAME: ReadonlyMap<string, Ioctl> = new Map(IOCTL_LIST.map((i) => [i.name, i]));

/** Ioctls by nr (the command number byte); the kernel's dispatch tables index on this. */
export const IOCTL_BY_NR: ReadonlyMap<number, Ioctl> = new Map(IOCTL_LIST.map((i) => [i.nr, i]));

/**
 * The name of ioctl request `request` for messages: the table's DRM_IOCTL_* name of its
 * command number when its type byte is DRM's, else 'ioctl 0x<request>'.
 */
export function requestName(request: number): string {
  const { type, nr } = iocDecode(request);
  const io = type === DRM_IOCTL_TYPE ? IOCTL_BY_NR.get(nr) : undefined;
  return io?.name ?? `ioctl 0x${(request >>> 0).toString(16)}`;
}

/** A constant's value as a JS number (for values that fit 53 bits: flags, ids, enums). */
export function C<N extends ConstName>(name: N): number;
export function C<N extends string>(name: RuntimeName<N>): number;
export function C(name: string): number {
  return Number(constant(name));
}

/** A constant's value as a bigint. */
export function CB<N extends ConstName>(name: N): bigint;
export function CB<N extends string>(name: RuntimeName<N>): bigint;
export function CB(name: string): bigint {
  return constant(name);
}

/** An ioctl request number by macro name. */
export function IOCTL<N extends IoctlName>(name: N): number;
export function IOCTL<N extends string>(name: RuntimeName<N>): number;
export function IOCTL(name: string): number {
  const io = IOCTL_BY_NAME.get(name);
  if (!io) throw new Error(`uAPI table: unknown ioctl ${name}`);
  return io.request;
}
