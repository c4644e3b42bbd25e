/**
 * The ABI as xe-emu sees it, and a check of it against a real kernel header.
 *
 * abiJson() dumps every struct's size, alignment and member offsets/sizes and every constant
 * of the table (`xe-emu abi --json`). abiCheck() generates a C program from the table that
 * prints what the C compiler makes of the same structs, members and constants when the given
 * xe_drm.h is included, compiles and runs it, and compares (`xe-emu abi --check`).
 *
 * Older headers lack the newest structs, members and constants: constants are probed with
 * #ifdef (and, for enumerators, by compiling the name), structs and members by compiling —
 * each probe sits on its own line, so the compiler's errors name the probes that fail; those
 * are dropped and the program is recompiled until it builds. What was dropped is "not in
 * header". Constants are printed as (long long)((NAME) | 0), so that a macro that is not an
 * integer (a string, a pointer) fails to compile instead of printing an address. Upstream also carves new members out of reserved space (drm_xe_oa_unit: part of
 * `reserved` became `gt_id` and `reserved1`); such differences are "reserved space reused".
 * Neither category is a failure unless strict; every other difference is a mismatch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { flatMembers, isGroup, memberSize, type Layout } from './layout.js';
import { PRIM_SIZE } from './types.js';
import { CONSTANT_VALUES, IOCTL_BY_NAME, STRUCT_LAYOUTS } from './uapi.js';

// ---------------------------------------------------------------------------------------
// abi --json

/** One struct of `abi --json`: member name -> [offset, size]. */
export interface AbiStruct {
  size: number;
  align: number;
  fields: Record<string, [number, number]>;
}

/** The document printed by `xe-emu abi --json`. */
export interface AbiJson {
  structs: Record<string, AbiStruct>;
  /** Macro name -> value as a signed 64-bit decimal string. */
  constants: Record<string, string>;
}

/** Members reachable as s.<member>, with offset and size (0 for a flexible array member). */
function fieldsOf(layout: Layout): Array<{ name: string; offset: number; size: number; flex: boolean; elem: number }> {
  return flatMembers(layout).map((m) => {
    const flex = !isGroup(m) && m.flex;
    let elem = memberSize(m);
    if (m.kind === 'prim') elem = PRIM_SIZE[m.prim];
    else if (m.kind === 'struct') elem = m.layout.size;
    return { name: m.name as string, offset: m.offset, size: memberSize(m), flex, elem };
  });
}

/** Every struct and constant of the table in the `abi --json` shape. */
export function abiJson(): AbiJson {
  const structs: Record<string, AbiStruct> = {};
  for (const [name, layout] of STRUCT_LAYOUTS) {
    const fields: Record<string, [number, number]> = {};
    for (const f of fieldsOf(layout)) fields[f.name] = [f.offset, f.size];
    structs[name] = { size: layout.size, align: layout.align, fields };
  }
  const constants: Record<string, string> = {};
  for (const [name, v] of CONSTANT_VALUES) constants[name] = BigInt.asIntN(64, v).toString();
  return { structs, constants };
}

// ---------------------------------------------------------------------------------------
// abi --check

/** How a finding is classified. */
export type FindingKind = 'mismatch' | 'not-in-header' | 'reserved-reused';

/** One difference between the table and the header. */
export interface Finding {
  kind: FindingKind;
  /** What the finding is about. */
  what: 'struct' | 'member' | 'constant';
  /** Struct name (struct and member findings). */
  struct?: string;
  /** Member name (member findings). */
  member?: string;
  /** Constant name (constant findings). */
  constant?: string;
  /** The property that differs; absent for not-in-header. */
  property?: 'size' | 'align' | 'offset' | 'member size' | 'value' | 'compile';
  /** The table's value (numbers, or [offset, size] for members). */
  table?: string;
  /** The header's value. */
  header?: string;
  /** One line for humans. */
  message: string;
}

/** Result of abiCheck. */
export interface AbiReport {
  header: string;
  strict: boolean;
  compiler: string;
  /** Compile attempts it took (1 when the header has everything). */
  compileRuns: number;
  mismatches: Finding[];
  notInHeader: Finding[];
  reservedReused: Finding[];
  /** What was compared, and how much of it matched exactly. */
  counts: {
    structs: number;
    members: number;
    constants: number;
    matched: number;
    mismatches: number;
    notInHeader: number;
    reservedReused: number;
  };
  /** False when there is a mismatch (or, strict, any not-in-header / reused finding). */
  ok: boolean;
}

/** Options of abiCheck. */
export interface AbiCheckOptions {
  /** Treat not-in-header and reserved-reused findings as failures. */
  strict?: boolean;
  /** C compiler command (may carry flags, split at whitespace); default $CC, else `cc`. */
  cc?: string;
}

/** Names probed silently in every struct so that reused reserved space can be recognised. */
const RESERVED_PROBES = ['reserved', 'reserved0', 'reserved1', 'reserved2', 'reserved3', 'pad', 'pad0', 'pad1', 'pad2', 'pad3'];

const isReservedName = (n: string): boolean => /^(reserved|pad)/.test(n);

type Probe =
  | { kind: 'struct'; struct: string }
  | { kind: 'member'; struct: string; member: string; flex: boolean; extra: boolean }
  /** sizeof of a table flexible array member: expected not to compile. */
  | { kind: 'flexsize'; struct: string; member: string }
  /** A constant under #ifdef: a macro of the header. */
  | { kind: 'macro'; name: string }
  /** A constant under #else: an enumerator, or absent. */
  | { kind: 'enumerator'; name: string };

interface ProbeState {
  probe: Probe;
  /** Compiler error that made the probe be dropped. */
  error?: string;
}

function cString(s: string): string {
  return JSON.stringify(s);
}

/** Generates the C program; returns its text and the probe on each line (1-based). */
function generate(header: string, states: ProbeState[]): { text: string; lineProbe: Map<number, number> } {
  const lines: string[] = [
    '/* generated by xe-emu abi --check */',
    '#include <stddef.h>',
    '#include <stdio.h>',
    // DRM_CLOEXEC / DRM_RDWR are defined as O_CLOEXEC / O_RDWR.
    '#include <fcntl.h>',
    `#include ${cString(header)}`,
    '#define P printf',
    'int main(void) {',
  ];
  const lineProbe = new Map<number, number>();
  const emit = (idx: number, code: string): void => {
    lines.push(states[idx].error === undefined ? code : '  /* dropped */');
    lineProbe.set(lines.length, idx);
  };
  states.forEach((st, idx) => {
    const p = st.probe;
    switch (p.kind) {
      case 'struct':
        emit(idx, `  P("S\\t%s\\t%zu\\t%zu\\n", ${cString(p.struct)}, sizeof(struct ${p.struct}), _Alignof(struct ${p.struct}));`);
        break;
      case 'member': {
        const sz = p.flex ? `sizeof(((struct ${p.struct} *)0)->${p.member}[0])` : `sizeof(((struct ${p.struct} *)0)->${p.member})`;
        emit(idx, `  P("M\\t%s\\t%s\\t%zu\\t%zu\\n", ${cString(p.struct)}, ${cString(p.member)}, offsetof(struct ${p.struct}, ${p.member}), ${sz});`);
        break;
      }
      case 'flexsize':
        emit(idx, `  P("F\\t%s\\t%s\\t%zu\\n", ${cString(p.struct)}, ${cString(p.member)}, sizeof(((struct ${p.struct} *)0)->${p.member}));`);
        break;
      case 'macro':
        lines.push(`#ifdef ${p.name}`);
        emit(idx, `  P("C\\t%s\\t%lld\\n", ${cString(p.name)}, (long long)((${p.name}) | 0));`);
        lines.push('#else');
        break;
      case 'enumerator':
        emit(idx, `  P("C\\t%s\\t%lld\\n", ${cString(p.name)}, (long long)((${p.name}) | 0));`);
        lines.push('#endif');
        break;
    }
  });
  lines.push('  return 0;', '}', '');
  return { text: lines.join('\n'), lineProbe };
}

/** The C compiler command as argv. */
export function compilerCommand(cc?: string): string[] {
  const cmd = (cc ?? process.env.CC ?? 'cc').trim().split(/\s+/).filter(Boolean);
  return cmd.length ? cmd : ['cc'];
}

/** The compiler's --version text, or undefined when it does not run. */
function compilerVersion(cc?: string): string | undefined {
  const [bin, ...args] = compilerCommand(cc);
  const r = spawnSync(bin, [...args, '--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0 ? r.stdout : undefined;
}

/** True when the C compiler runs. */
export function hasCompiler(cc?: string): boolean {
  return compilerVersion(cc) !== undefined;
}

/** -I directories: the header's folder, its parent, and the parent's multiarch folder (asm/). */
function includeDirs(header: string, cc: string[]): string[] {
  const dir = dirname(header);
  const parent = dirname(dir);
  const dirs = [dir, parent];
  const r = spawnSync(cc[0], [...cc.slice(1), '-print-multiarch'], { encoding: 'utf8' });
  const triplet = r.status === 0 ? r.stdout.trim() : '';
  if (triplet && existsSync(join(parent, triplet))) dirs.push(join(parent, triplet));
  return dirs;
}

/** Parses compiler diagnostics: line of the generated file -> first error message. */
function failingLines(stderr: string, file: string): Map<number, string> {
  const out = new Map<number, string>();
  let lastError = '';
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ours = new RegExp(`^(?:.*/)?${esc}:(\\d+):(?:\\d+:)? (error|note|fatal error): (.*)$`);
  for (const line of stderr.split('\n')) {
    const m = ours.exec(line);
    if (m) {
      const n = Number(m[1]);
      const msg = m[2] === 'note' ? lastError : m[3];
      if (!out.has(n)) out.set(n, msg);
      if (m[2] !== 'note') lastError = m[3];
      continue;
    }
    const e = /^[^:]+:\d+:(?:\d+:)? (?:fatal )?error: (.*)$/.exec(line);
    if (e) lastError = e[1];
  }
  return out;
}

interface HeaderValues {
  structs: Map<string, { size: number; align: number }>;
  members: Map<string, Map<string, { offset: number; size: number }>>;
  flexSizes: Map<string, number>;
  constants: Map<string, bigint>;
}

function parseOutput(stdout: string): HeaderValues {
  const hv: HeaderValues = { structs: new Map(), members: new Map(), flexSizes: new Map(), constants: new Map() };
  for (const line of stdout.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'S') hv.structs.set(f[1], { size: Number(f[2]), align: Number(f[3]) });
    else if (f[0] === 'M') {
      let m = hv.members.get(f[1]);
      if (!m) hv.members.set(f[1], (m = new Map()));
      m.set(f[2], { offset: Number(f[3]), size: Number(f[4]) });
    } else if (f[0] === 'F') hv.flexSizes.set(`${f[1]}.${f[2]}`, Number(f[3]));
    else if (f[0] === 'C') hv.constants.set(f[1], BigInt(f[2]));
  }
  return hv;
}

const span = (o: number, s: number): string => `[${o}, ${s}]`;
const within = (inner: { offset: number; size: number }, outer: { offset: number; size: number }): boolean =>
  inner.offset >= outer.offset && inner.offset + inner.size <= outer.offset + outer.size;

/**
 * Compiles the table against a real xe_drm.h and classifies every difference.
 * Throws when no C compiler runs or the header does not compile at all.
 */
export function abiCheck(headerPath: string, opts: AbiCheckOptions = {}): AbiReport {
  const strict = opts.strict ?? false;
  const header = resolvePath(headerPath);
  if (!existsSync(header) || !statSync(header).isFile()) throw new Error(`header not found: ${headerPath}`);
  const cc = compilerCommand(opts.cc);
  const version = compilerVersion(opts.cc);
  if (version === undefined) throw new Error(`C compiler not found or not working: ${cc.join(' ')} (set CC)`);
  // Report every error in one run (clang stops after 20 by default).
  const noErrorLimit = /clang/i.test(version) ? '-ferror-limit=0' : '-fmax-errors=0';

  // Probes, in table order.
  const states: ProbeState[] = [];
  const tableFields = new Map<string, ReturnType<typeof fieldsOf>>();
  for (const [name, layout] of STRUCT_LAYOUTS) {
    const fields = fieldsOf(layout);
    tableFields.set(name, fields);
    states.push({ probe: { kind: 'struct', struct: name } });
    for (const f of fields) {
      states.push({ probe: { kind: 'member', struct: name, member: f.name, flex: f.flex, extra: false } });
      if (f.flex) states.push({ probe: { kind: 'flexsize', struct: name, member: f.name } });
    }
    const names = new Set(fields.map((f) => f.name));
    for (const r of RESERVED_PROBES) {
      if (!names.has(r)) states.push({ probe: { kind: 'member', struct: name, member: r, flex: false, extra: true } });
    }
  }
  for (const name of CONSTANT_VALUES.keys()) {
    states.push({ probe: { kind: 'macro', name } });
    states.push({ probe: { kind: 'enumerator', name } });
  }

  // Compile, drop failing probes, retry.
  const work = mkdtempSync(join(tmpdir(), 'xe-emu-abi-'));
  const src = 'abi_check.c';
  const exe = join(work, 'abi_check');
  const incs = includeDirs(header, cc).flatMap((d) => ['-I', d]);
  let runs = 0;
  let stdout = '';
  try {
    for (;;) {
      runs++;
      const { text, lineProbe } = generate(header, states);
      writeFileSync(join(work, src), text);
      const r = spawnSync(cc[0], [...cc.slice(1), '-std=gnu11', '-w', '-D__user=', noErrorLimit, ...incs, '-o', exe, src], {
        cwd: work,
        // English diagnostics with ASCII quotes: the messages are classified by their text.
        env: { ...process.env, LC_ALL: 'C', LANG: 'C', LANGUAGE: '' },
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      if (r.error) throw new Error(`cannot run ${cc.join(' ')}: ${r.error.message}`);
      if (r.status === 0) break;
      const failing = failingLines(r.stderr, src);
      let dropped = 0;
      for (const [line, msg] of failing) {
        const idx = lineProbe.get(line);
        if (idx === undefined || states[idx].error !== undefined) continue;
        states[idx].error = msg || 'does not compile';
        dropped++;
      }
      if (dropped === 0) {
        throw new Error(`${header} does not compile with ${cc.join(' ')}:\n${r.stderr.split('\n').slice(0, 40).join('\n')}`);
      }
    }
    const run = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (run.error || run.status !== 0) throw new Error(`the generated check program failed: ${run.error?.message ?? run.stderr}`);
    stdout = run.stdout;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const hv = parseOutput(stdout);
  const mismatches: Finding[] = [];
  const notInHeader: Finding[] = [];
  const reservedReused: Finding[] = [];
  const add = (f: Finding): void => {
    (f.kind === 'mismatch' ? mismatches : f.kind === 'not-in-header' ? notInHeader : reservedReused).push(f);
  };
  const errorOf = new Map<string, string>();
  for (const st of states) {
    if (st.error === undefined) continue;
    const p = st.probe;
    const key =
      p.kind === 'struct' ? `S:${p.struct}` : p.kind === 'member' ? `M:${p.struct}.${p.member}` : p.kind === 'flexsize' ? `F:${p.struct}.${p.member}` : `${p.kind}:${p.name}`;
    errorOf.set(key, st.error);
  }
  let matched = 0;
  let memberCount = 0;
  const reusedStructs = new Set<string>();
  /** Structs that grew since the header: their ioctl numbers differ in the size field only. */
  const grownStructs = new Set<string>();

  for (const [name, layout] of STRUCT_LAYOUTS) {
    const fields = tableFields.get(name)!;
    memberCount += fields.length;
    const hs = hv.structs.get(name);
    if (!hs) {
      const err = errorOf.get(`S:${name}`) ?? 'no output';
      if (/incomplete|undefined|storage size|not declared|undeclared/i.test(err)) {
        add({ kind: 'not-in-header', what: 'struct', struct: name, message: `struct ${name}` });
      } else {
        add({ kind: 'mismatch', what: 'struct', struct: name, property: 'compile', message: `struct ${name}: ${err}` });
      }
      continue;
    }
    const hm = hv.members.get(name) ?? new Map<string, { offset: number; size: number }>();
    const reservedRanges = [...hm].filter(([n]) => isReservedName(n)).map(([n, r]) => ({ name: n, ...r }));
    let reused = 0;
    let broken = 0;
    let appended = 0;
    for (const f of fields) {
      const label = `${name}.${f.name}`;
      const h = hm.get(f.name);
      const tableRange = { offset: f.offset, size: f.flex ? 0 : f.size };
      if (!h) {
        const err = errorOf.get(`M:${label}`) ?? 'no output';
        const host = reservedRanges.find((r) => within(tableRange, r));
        if (!/no member named|has no member|no field/i.test(err)) {
          broken++;
          add({ kind: 'mismatch', what: 'member', struct: name, member: f.name, property: 'compile', message: `${label}: ${err}` });
        } else if (host && !f.flex) {
          reused++;
          add({
            kind: 'reserved-reused', what: 'member', struct: name, member: f.name,
            table: span(f.offset, f.size), header: `${host.name} ${span(host.offset, host.size)}`,
            message: `${label} ${span(f.offset, f.size)} lies in the header's ${host.name} ${span(host.offset, host.size)}`,
          });
        } else {
          // A member appended after the header's end only makes the struct grow.
          if (f.offset >= hs.size) appended++;
          else broken++;
          add({ kind: 'not-in-header', what: 'member', struct: name, member: f.name, message: label });
        }
        continue;
      }
      if (f.flex) {
        // h.size is the element size for a flexible array member.
        const fixed = hv.flexSizes.get(label);
        const problems: Finding[] = [];
        if (h.offset !== f.offset) problems.push({ kind: 'mismatch', what: 'member', struct: name, member: f.name, property: 'offset', table: String(f.offset), header: String(h.offset), message: `${label}: offset ${f.offset} in the table, ${h.offset} in the header` });
        if (h.size !== f.elem) problems.push({ kind: 'mismatch', what: 'member', struct: name, member: f.name, property: 'member size', table: `element ${f.elem}`, header: `element ${h.size}`, message: `${label}: element size ${f.elem} in the table, ${h.size} in the header` });
        if (fixed !== undefined) problems.push({ kind: 'mismatch', what: 'member', struct: name, member: f.name, property: 'member size', table: '0 (flexible array)', header: String(fixed), message: `${label}: a flexible array member in the table, ${fixed} bytes (not flexible) in the header` });
        problems.forEach(add);
        if (problems.length) broken++;
        else matched++;
        continue;
      }
      if (h.offset === f.offset && h.size === f.size) {
        matched++;
        continue;
      }
      if (isReservedName(f.name) && within(tableRange, h)) {
        reused++;
        add({
          kind: 'reserved-reused', what: 'member', struct: name, member: f.name,
          table: span(f.offset, f.size), header: span(h.offset, h.size),
          message: `${label}: ${span(f.offset, f.size)} in the table lies in the header's ${span(h.offset, h.size)}`,
        });
        continue;
      }
      broken++;
      if (h.offset !== f.offset) {
        add({ kind: 'mismatch', what: 'member', struct: name, member: f.name, property: 'offset', table: String(f.offset), header: String(h.offset), message: `${label}: offset ${f.offset} in the table, ${h.offset} in the header` });
      }
      if (h.size !== f.size) {
        add({ kind: 'mismatch', what: 'member', struct: name, member: f.name, property: 'member size', table: String(f.size), header: String(h.size), message: `${label}: size ${f.size} in the table, ${h.size} in the header` });
      }
    }
    // Struct size and alignment; a difference that only comes with reused reserved space
    // (and nothing else wrong in the struct) is classified with it.
    // A struct that only grew by members the header lacks (an older header) is not-in-header.
    const grown = appended > 0 && broken === 0 && layout.size > hs.size;
    const sizeKind: FindingKind = broken > 0 ? 'mismatch' : grown ? 'not-in-header' : reused > 0 ? 'reserved-reused' : 'mismatch';
    let structOk = true;
    for (const prop of ['size', 'align'] as const) {
      const t = prop === 'size' ? layout.size : layout.align;
      const h = hs[prop];
      if (t === h) continue;
      structOk = false;
      add({ kind: sizeKind, what: 'struct', struct: name, property: prop, table: String(t), header: String(h), message: `struct ${name}: ${prop} ${t} in the table, ${h} in the header` });
      if (sizeKind === 'reserved-reused') reusedStructs.add(name);
      if (sizeKind === 'not-in-header') grownStructs.add(name);
    }
    if (structOk) matched++;
  }

  for (const [name, value] of CONSTANT_VALUES) {
    const t = BigInt.asIntN(64, value);
    const h = hv.constants.get(name);
    if (h === undefined) {
      const macroErr = errorOf.get(`macro:${name}`);
      const enumErr = errorOf.get(`enumerator:${name}`) ?? '';
      if (macroErr !== undefined) {
        const io = IOCTL_BY_NAME.get(name);
        // An ioctl macro of a struct the header lacks cannot expand.
        if (io && notInHeader.some((f) => f.what === 'struct' && f.struct === io.layout.name)) {
          add({ kind: 'not-in-header', what: 'constant', constant: name, message: `${name} (its struct ${io.layout.name} is not in the header)` });
        } else {
          add({ kind: 'mismatch', what: 'constant', constant: name, property: 'compile', message: `${name}: defined but does not evaluate: ${macroErr}` });
        }
      } else if (/undeclared|not declared|undefined/i.test(enumErr)) {
        add({ kind: 'not-in-header', what: 'constant', constant: name, message: name });
      } else {
        add({ kind: 'mismatch', what: 'constant', constant: name, property: 'compile', message: `${name}: ${enumErr || 'no output'}` });
      }
      continue;
    }
    if (h === t) {
      matched++;
      continue;
    }
    const io = IOCTL_BY_NAME.get(name);
    const kind: FindingKind =
      io && reusedStructs.has(io.layout.name) ? 'reserved-reused' : io && grownStructs.has(io.layout.name) ? 'not-in-header' : 'mismatch';
    add({ kind, what: 'constant', constant: name, property: 'value', table: t.toString(), header: h.toString(), message: `${name}: ${t} (0x${BigInt.asUintN(64, t).toString(16)}) in the table, ${h} (0x${BigInt.asUintN(64, h).toString(16)}) in the header` });
  }

  const counts = {
    structs: STRUCT_LAYOUTS.size,
    members: memberCount,
    constants: CONSTANT_VALUES.size,
    matched,
    mismatches: mismatches.length,
    notInHeader: notInHeader.length,
    reservedReused: reservedReused.length,
  };
  const ok = mismatches.length === 0 && (!strict || (notInHeader.length === 0 && reservedReused.length === 0));
  return { header, strict, compiler: cc.join(' '), compileRuns: runs, mismatches, notInHeader, reservedReused, counts, ok };
}

/** The report of `xe-emu abi --check` for humans. */
export function formatAbiReport(r: AbiReport): string {
  const out: string[] = [`ABI check of the uAPI table against ${r.header}`, `compiler: ${r.compiler} (${r.compileRuns} compile run${r.compileRuns === 1 ? '' : 's'})`, ''];
  const section = (title: string, items: Finding[], failing: boolean): void => {
    out.push(`${title} (${items.length})${items.length && !failing ? ' — not a failure' : ''}:`);
    if (!items.length) out.push('  (none)');
    for (const f of items) out.push(`  ${f.message}`);
    out.push('');
  };
  section('MISMATCHES', r.mismatches, true);
  section('Not in header', r.notInHeader, r.strict);
  section('Reserved space reused', r.reservedReused, r.strict);
  const c = r.counts;
  out.push(
    `summary: ${c.structs} structs, ${c.members} members, ${c.constants} constants checked; ` +
      `${c.matched} matched, ${c.mismatches} mismatches, ${c.notInHeader} not in header, ${c.reservedReused} reserved space reused` +
      (r.strict ? ' (strict)' : ''),
    `result: ${r.ok ? 'OK' : 'FAIL'}`,
  );
  return out.join('\n');
}
