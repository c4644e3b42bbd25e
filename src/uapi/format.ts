/**
 * strace-like decoder: prints any table struct or ioctl argument as `{a=1, b=0x10, ...}`,
 * derived only from the layouts, the members' Display hints and the constant groups.
 *
 * Values
 * - Members print in C order as `name=value`; members of anonymous unions and structs are
 *   flattened into the parent, a named inline union/struct prints as `name={...}`, a nested
 *   table struct as `name={...}`, an array as `[a, b]`, a char array as a quoted string.
 * - Display.enum: the constant's short name (the group prefix stripped, `op=MAP`); a value
 *   with no name prints as a plain number.
 * - Display.flags: known bits by short name joined with `|`, leftover bits in hex
 *   (`READONLY|0x100`); 0 prints `0`.
 * - Display.hex: `0x…` (0 prints `0`); everything else in decimal (signed types signed).
 * - Flexible array members whose count member the table names print like arrays (records
 *   as structs); one whose count reaches past the bytes given prints as `name=<why>`.
 *
 * Which members are printed (one rule set, applied to every struct):
 * 1. Filler: a member named `extensions`, `pad*`, `reserved*` or `rsvd*` is omitted while it
 *    is all zero. Non-zero filler is always printed, so bad input stays visible.
 * 2. Conditional members: MEMBER_CONDITIONS below (a small declarative map keyed by
 *    `struct.member`) says a member only means something when another member of the same
 *    struct has a given constant value (an enum equal to it, or a flags word with those
 *    bits set). Outside a union such a member is omitted while its condition is false and
 *    its value is zero; inside a union a member whose condition holds is the one printed.
 * 3. Unions, in order of precedence:
 *    a. Inline-or-pointer unions: a union holding a struct member `X` of type T and a
 *       pointer member with Display.ptr = T (drm_xe_vm_bind's bind/vector_of_binds) prints
 *       the inline struct when the sibling count `num_Xs` is <= 1 and the pointer when it
 *       is > 1 (the kernel's own rule). Without such a count member, rule c applies.
 *    b. The first member whose MEMBER_CONDITIONS entry holds is printed alone.
 *    c. Otherwise every member is printed except aliases: a member occupying exactly the
 *       bytes (same offset and size) of an already printed member is just another name
 *       for that value and is skipped, so the first one stands for them all
 *       (`obj_offset=…`, not userptr/cpu_addr_mirror_offset) while members of different
 *       widths all show (`handle=5, addr=0x5`). Filler names are the last choice as the
 *       representative of an alias set.
 *
 * formatIoctl prints `DRM_IOCTL_NAME {...}` for a request of the table, and for any other
 * request `ioctl(0x…) {xx xx …}` with the request's _IOC(dir, type, nr, size) fields in a C
 * comment after the number and the argument's raw bytes in hex.
 */
import { iocDecode, IOC } from './ioctl.js';
import { isGroup, memberSize, type GroupMember, type Layout, type Member, type PrimMember, type StructMember } from './layout.js';
import { BufferError, decodeLayout, type Fields, type Value } from './codec.js';
import { CONSTANT_VALUES, GROUPS, IOCTL_BY_NR, IOCTL_LIST, layoutOf } from './uapi.js';
import { PRIM_SIZE, type ConstGroup } from './types.js';

/** A member is meaningful only when member `when` has constant `is` (enum value or flag bits). */
interface Condition {
  when: string;
  is: string;
}

/**
 * Conditional members, keyed by `struct.member`. Keep this small: only members whose meaning
 * depends on another member's value and that would otherwise clutter every line.
 */
const MEMBER_CONDITIONS: Readonly<Record<string, Condition>> = {
  'drm_xe_vm_bind_op.prefetch_mem_region_instance': { when: 'op', is: 'DRM_XE_VM_BIND_OP_PREFETCH' },
  'drm_xe_vm_bind_op.userptr': { when: 'op', is: 'DRM_XE_VM_BIND_OP_MAP_USERPTR' },
  'drm_xe_vm_bind_op.cpu_addr_mirror_offset': { when: 'flags', is: 'DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR' },
  'drm_xe_madvise.preferred_mem_loc': { when: 'type', is: 'DRM_XE_MEM_RANGE_ATTR_PREFERRED_LOC' },
  'drm_xe_madvise.atomic': { when: 'type', is: 'DRM_XE_MEM_RANGE_ATTR_ATOMIC' },
  'drm_xe_madvise.pat_index': { when: 'type', is: 'DRM_XE_MEM_RANGE_ATTR_PAT' },
  'drm_xe_madvise.purge_state_val': { when: 'type', is: 'DRM_XE_VMA_ATTR_PURGEABLE_STATE' },
};

const FILLER = /^(extensions|_*pad\d*|_*reserved\d*|_*rsvd\d*)$/;

/** Constant macro name -> the group that defines it. */
const GROUP_OF = new Map<string, ConstGroup>();
for (const g of GROUPS.values()) for (const k of g.values.keys()) GROUP_OF.set(k, g);

function isFiller(name: string | undefined): boolean {
  return name !== undefined && FILLER.test(name);
}

function isZero(v: Value | undefined): boolean {
  if (v === undefined) return true;
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'bigint') return v === 0n;
  if (Array.isArray(v)) return v.every(isZero);
  return Object.values(v).every(isZero);
}

function conditionOf(struct: string, member: string | undefined): Condition | undefined {
  return member === undefined ? undefined : MEMBER_CONDITIONS[`${struct}.${member}`];
}

function holds(c: Condition, scope: Fields): boolean {
  const v = scope[c.when];
  const k = CONSTANT_VALUES.get(c.is);
  if ((typeof v !== 'number' && typeof v !== 'bigint') || k === undefined) return false;
  const x = BigInt(v);
  return GROUP_OF.get(c.is)?.kind === 'flags' ? k !== 0n && (x & k) === k : x === k;
}

function hex(x: bigint): string {
  if (x === 0n) return '0';
  return x < 0n ? `-0x${(-x).toString(16)}` : `0x${x.toString(16)}`;
}

function shortName(g: ConstGroup, name: string): string {
  return name.startsWith(g.prefix) && name.length > g.prefix.length ? name.slice(g.prefix.length) : name;
}

function formatFlags(u: bigint, g: ConstGroup, bits: number): string {
  if (u === 0n) return '0';
  const parts: string[] = [];
  let rest = u;
  for (const [name, value] of g.values) {
    const bit = BigInt.asUintN(bits, value);
    if (bit !== 0n && (rest & bit) === bit) {
      parts.push(shortName(g, name));
      rest &= ~bit;
    }
  }
  if (rest !== 0n) parts.push(hex(rest));
  return parts.join('|');
}

function formatScalar(m: PrimMember, x: number | bigint): string {
  const bits = PRIM_SIZE[m.prim] * 8;
  const v = BigInt(x);
  const u = BigInt.asUintN(bits, v);
  const d = m.display;
  if (d.enum !== undefined) {
    const g = GROUPS.get(d.enum);
    if (g) {
      for (const [name, value] of g.values) if (BigInt.asUintN(bits, value) === u) return shortName(g, name);
    }
  } else if (d.flags !== undefined) {
    const g = GROUPS.get(d.flags);
    if (g) return formatFlags(u, g, bits);
  }
  if (d.hex) return hex(m.prim.startsWith('s') ? v : u);
  return v.toString();
}

function formatChars(codes: number[]): string {
  let end = codes.length;
  while (end > 0 && codes[end - 1] === 0) end--;
  return JSON.stringify(String.fromCharCode(...codes.slice(0, end)));
}

function formatValue(m: PrimMember | StructMember, v: Value): string {
  if (m.kind === 'prim' && m.records) {
    const rec = m.records;
    return `[${(v as Value[]).map((f) => formatFields(rec.name, rec.members, f as Fields)).join(', ')}]`;
  }
  if (m.kind === 'struct') {
    const one = (f: Value): string => formatFields(m.layout.name, m.layout.members, f as Fields);
    return m.isArray ? `[${(v as Value[]).map(one).join(', ')}]` : one(v);
  }
  if (m.isArray) {
    const items = v as Array<number | bigint>;
    if (m.prim === 'char') return formatChars(items.map(Number));
    return `[${items.map((x) => formatScalar(m, x)).join(', ')}]`;
  }
  return formatScalar(m, v as number | bigint);
}

/** The members of union `u` that are printed (rules 3a-3c of the module comment). */
function unionChoice(struct: string, u: GroupMember, scope: Fields): Member[] {
  // 3a. inline struct or pointer to an array of it, chosen by the sibling count.
  const inline = u.members.find((m): m is StructMember => m.kind === 'struct' && !m.isArray);
  if (inline) {
    const ptr = u.members.find((m) => m.kind === 'prim' && m.display.ptr === inline.layout.name);
    const count = scope[`num_${inline.name}s`];
    if (ptr && (typeof count === 'number' || typeof count === 'bigint')) return [BigInt(count) > 1n ? ptr : inline];
  }
  // 3b. a member selected by its condition.
  for (const m of u.members) {
    const c = conditionOf(struct, m.name);
    if (c && holds(c, scope)) return [m];
  }
  // 3c. everything but aliases; filler names last when picking an alias set's representative.
  const order = [...u.members.filter((m) => !isFiller(m.name)), ...u.members.filter((m) => isFiller(m.name))];
  const kept: Member[] = [];
  for (const m of order) {
    if (!kept.some((k) => k.offset === m.offset && memberSize(k) === memberSize(m))) kept.push(m);
  }
  return u.members.filter((m) => kept.includes(m));
}

/** `cut`: why the struct's flexible array could not be decoded, if it could not. */
function formatMembers(struct: string, members: Member[], fields: Fields, scope: Fields, out: string[], cut?: BufferError): void {
  for (const m of members) {
    if (isGroup(m)) {
      const inner = m.name === undefined ? fields : (fields[m.name] as Fields);
      if (m.name !== undefined && isFiller(m.name) && isZero(inner)) continue;
      const chosen = m.kind === 'union' ? unionChoice(struct, m, scope) : m.members;
      if (m.name === undefined) {
        formatMembers(struct, chosen, inner, scope, out);
      } else {
        const sub: string[] = [];
        formatMembers(struct, chosen, inner, scope, sub);
        out.push(`${m.name}={${sub.join(', ')}}`);
      }
      continue;
    }
    const v = fields[m.name];
    if (v === undefined) {
      if (m.flex && m.countBy !== undefined && cut) out.push(`${m.name}=<${cut.message}>`);
      continue;
    }
    if (isFiller(m.name) && isZero(v)) continue;
    const c = conditionOf(struct, m.name);
    if (c && !holds(c, scope) && isZero(v)) continue;
    out.push(`${m.name}=${formatValue(m, v)}`);
  }
}

function formatFields(struct: string, members: Member[], fields: Fields, cut?: BufferError): string {
  const out: string[] = [];
  formatMembers(struct, members, fields, fields, out, cut);
  return `{${out.join(', ')}}`;
}

/** Formats a laid-out struct read from `bytes` at `offset`. */
export function formatLayout(layout: Layout, bytes: Uint8Array, offset = 0): string {
  const fixed = decodeLayout(layout, bytes, offset, false);
  try {
    return formatFields(layout.name, layout.members, decodeLayout(layout, bytes, offset));
  } catch (e) {
    if (!(e instanceof BufferError)) throw e;
    return formatFields(layout.name, layout.members, fixed, e);
  }
}

/** Formats table struct `name` read from `bytes` at `offset`, e.g. `{vm_id=1, num_binds=1, ...}`. */
export function formatStruct(name: string, bytes: Uint8Array, offset = 0): string {
  return formatLayout(layoutOf(name), bytes, offset);
}

const IOCTL_BY_REQUEST = new Map(IOCTL_LIST.map((io) => [io.request, io]));

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

const DIR_NAMES = ['_IOC_NONE', '_IOC_WRITE', '_IOC_READ', '_IOC_READ|_IOC_WRITE'];

/** `_IOC(dir, type, nr, size)` of a request number, as strace spells it. */
export function formatRequest(request: number): string {
  const f = iocDecode(request);
  return `_IOC(${DIR_NAMES[f.dir & IOC.DIRMASK]}, 0x${f.type.toString(16)}, 0x${f.nr.toString(16)}, 0x${f.size.toString(16)})`;
}

/**
 * Formats an ioctl and its argument bytes: `DRM_IOCTL_XE_VM_BIND {vm_id=1, ...}` for a request
 * of the table; otherwise the request, its _IOC fields and the raw bytes in hex.
 */
export function formatIoctl(request: number, bytes: Uint8Array): string {
  const r = request >>> 0;
  const io = IOCTL_BY_REQUEST.get(r);
  if (io) {
    if (bytes.length < io.layout.size) return `${io.name} {<${bytes.length} of ${io.layout.size} bytes: ${hexBytes(bytes)}>}`;
    return `${io.name} ${formatLayout(io.layout, bytes)}`;
  }
  const f = iocDecode(r);
  const sameNr = f.type === 0x64 ? IOCTL_BY_NR.get(f.nr) : undefined;
  const hint = sameNr ? `; ${sameNr.name} is 0x${sameNr.request.toString(16)}` : '';
  return `ioctl(0x${r.toString(16)} /* ${formatRequest(r)}${hint} */) {${hexBytes(bytes)}}`;
}
