/**
 * Inspection of a VM, for users and tests (issue 7 item 8): the VMA list, page-table
 * statistics, a textual dump like a debugfs file, an invariant checker that holds the VMA
 * tree against a full walk of the page-table bytes, and GPU-side reads and writes through
 * the VM's GPU MMU. The DEBUG controls VM_INFO, VM_DUMP, VM_CHECK, GPU_READ and GPU_WRITE
 * (uapi/channel.ts, uapi/vm_inspect.ts) serve them to user space.
 *
 * It sits above xe_vm.ts and xe_bo.ts (xe_vm.ts must not import xe_bo.ts). The page-table
 * facts come from the bytes (hw/pt_walk.ts); the VMA facts from vm.gpuvm; the tree shadow of
 * XePt is read only to check it against the bytes.
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import type { GpuFault } from '../../hw/mmu.js';
import {
  PT_EMPTY, XE_PAGE_PRESENT, decodeEntry, encodeLeaf, encodePde, levelSize, type DecodedEntry, type PtEntry,
} from '../../hw/pagetable.js';
import { leafRun, runContinues, tableSlots, walkRuns, type PtRun } from '../../hw/pt_walk.js';
import { DEBUG } from '../../uapi/channel.js';
import { C } from '../../uapi/uapi.js';
import { E2BIG, EBADF, ENOENT, ENOSPC } from '../../uapi/errno.js';
import {
  GPU_ACCESS_KINDS, GPU_ACCESS_MAX, GPU_FAULT_KINDS, type VmaInfo, type VmaKind, type VmInfoWire,
} from '../../uapi/vm_inspect.js';
import { gemHandleOf, type GemFile, type GemObject } from '../drm/drm_gem.js';
import type { DebugRegistry } from '../os/debug.js';
import { check, Errno } from '../os/errno.js';
import { fileAs } from '../os/file.js';
import type { Process } from '../os/process.js';
import { gemToBo } from './xe_bo.js';
import { XeFile } from './xe_file.js';
import { PTE_1G, PTE_2M, PTE_4K, PTE_64K, PTE_COMPACT, Slot, pdePatIndex, type PtNode, type XePt } from './xe_pt.js';
import type { Vm } from './xe_vm.js';
import {
  XE_VMA_DUMPABLE, XE_VMA_MADV_AUTORESET, XE_VMA_NULL, XE_VMA_READ_ONLY, XE_VMA_SYSTEM_ALLOCATOR, type XeVma,
} from './xe_vma.js';

const VM_FLAG_NAMES: Array<[number, string]> = [
  [C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE'), 'SCRATCH_PAGE'],
  [C('DRM_XE_VM_CREATE_FLAG_LR_MODE'), 'LR_MODE'],
  [C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE'), 'FAULT_MODE'],
  [C('DRM_XE_VM_CREATE_FLAG_NO_VM_OVERCOMMIT'), 'NO_VM_OVERCOMMIT'],
];
const VMA_FLAG_NAMES: Array<[number, string]> = [
  [XE_VMA_READ_ONLY, 'READ_ONLY'],
  [XE_VMA_NULL, 'NULL'],
  [XE_VMA_DUMPABLE, 'DUMPABLE'],
  [XE_VMA_SYSTEM_ALLOCATOR, 'CPU_ADDR_MIRROR'],
  [XE_VMA_MADV_AUTORESET, 'MADV_AUTORESET'],
];
const PTE_SIZE_NAMES: Array<[number, string]> = [[PTE_4K, '4K'], [PTE_64K, '64K'], [PTE_2M, '2M'], [PTE_1G, '1G'], [PTE_COMPACT, 'compact']];

/** The names of the bits of `flags` in `names`. */
function flagNames(flags: number, names: Array<[number, string]>): string[] {
  return names.filter(([bit]) => flags & bit).map(([, n]) => n);
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** What `va` maps. */
export function vmaKind(va: XeVma): VmaKind {
  if (va.flags & XE_VMA_NULL) return 'null';
  if (va.flags & XE_VMA_SYSTEM_ALLOCATOR) return 'mirror';
  return va.obj ? 'bo' : 'userptr';
}

/** Whether the VMA's PTEs are written on tile 0 (tile_present) and not zapped since (tile_invalidated). */
function bound(va: XeVma): boolean {
  return ((va.priv?.tilePresent ?? 0) & ~(va.priv?.tileInvalidated ?? 0) & 1) !== 0;
}

/** Whether [start, end) lies in one VMA whose PTEs were zapped (0 written, the shadow kept). */
function inZappedVma(vm: Vm, start: number, end: number): boolean {
  const va = vm.gpuvm.findFirst(BigInt(start), BigInt(end - start));
  return !!va && va.start <= BigInt(start) && va.end >= BigInt(end) && ((va.priv?.tileInvalidated ?? 0) & 1) !== 0;
}

/** The VMAs of `vm` in address order; BO handles are those of `file` (the VM's own file). */
export function vmVmas(vm: Vm, file?: GemFile): VmaInfo[] {
  const handles = new Map<GemObject, number | null>();
  const handleOf = (obj: GemObject): number | null => {
    if (!handles.has(obj)) handles.set(obj, (file && gemHandleOf(file, obj)) ?? null);
    return handles.get(obj)!;
  };
  return vm.gpuvm.all().map((va) => {
    const bo = va.obj && gemToBo(va.obj);
    return {
      start: va.start, end: va.end, kind: vmaKind(va),
      bo: bo ? { handle: handleOf(bo), size: bo.size, region: bo.region } : null,
      offset: va.offset, flags: flagNames(va.flags, VMA_FLAG_NAMES), patIndex: va.attrs.patIndex,
      pteSizes: flagNames(va.priv?.pteFlags ?? 0, PTE_SIZE_NAMES),
    };
  });
}

function ptOf(vm: Vm): XePt {
  if (!vm.pt) throw new Errno(ENOENT, 'VM has no page tables (freed)');
  return vm.pt;
}

/** The VM, its VMAs and its page-table statistics (the answer of DEBUG.VM_INFO, bigints as hex). */
export function vmInfo(vm: Vm, id: number, file?: GemFile): VmInfoWire {
  const pt = ptOf(vm);
  return {
    vm: {
      id, flags: flagNames(vm.flags, VM_FLAG_NAMES), vaBits: vm.dev.profile.vaBits, asid: vm.asid,
      levels: pt.ptm.geo.levels, root: hex(pt.root.pa),
    },
    vmas: vmVmas(vm, file).map((v) => ({ ...v, start: hex(v.start), end: hex(v.end), offset: hex(v.offset) })),
    stats: pt.stats(),
  };
}

/** The mapped runs of the VM's page tables, read from the bytes (hw/pt_walk.ts). */
export function vmRuns(vm: Vm): PtRun[] {
  const pt = ptOf(vm);
  return walkRuns(pt.ptm, pt.root.addr);
}

/**
 * The entry an unused slot of a table at `level` holds (5.6), derived here from the VM's
 * flags and the device, not taken from XePt: 0, or without a child the scratch NULL leaf of
 * the level, or a PDE to the scratch table below.
 */
function emptyEntry(vm: Vm, pt: XePt, level: number): PtEntry {
  if (!pt.scratchPage) return PT_EMPTY;
  const p = vm.dev.profile;
  if (level > 2) return encodePde(pt.scratch[level - 1]!.addr, pdePatIndex(p));
  return encodeLeaf(level, 0, p.patWb, { nul: true, dm: pt.ptm.geo.tablesInVram });
}

/** Whether `r` is a run of scratch leaves (NULL, RW, the WB index, DM on a discrete device). */
function isScratch(vm: Vm, pt: XePt, r: PtRun): boolean {
  return pt.scratchPage && r.nul && r.writable && r.patIndex === vm.dev.profile.patWb && r.dm === pt.ptm.geo.tablesInVram && !r.ae && !r.ps64;
}

/** A leaf run's target and flags at `va`, for dumps and violation reports. */
function describeRun(r: PtRun | undefined, va: number): string {
  if (!r) return 'not present';
  const target = r.nul ? 'null' : r.pa < 0 ? `bad ${hex(r.addr + (va - r.start))}` : `pa ${hex(r.pa + (va - r.start))}`;
  return `${target} ${r.writable ? 'rw' : 'ro'} pat ${r.patIndex}${r.dm ? ' dm' : ''}${r.ae ? ' ae' : ''}${r.ps64 ? ' ps64' : ''}`;
}

/** What a page of a VMA must translate to: a physical address, NULL, or unknown (skip). */
function expectedPage(va: XeVma, page: number, userptrPage?: UserptrPage): number | 'null' | null {
  switch (vmaKind(va)) {
    case 'null':
      return 'null';
    case 'bo':
      return gemToBo(va.obj!).page(Number(va.offset) / PAGE_SIZE + page);
    case 'userptr':
      return userptrPage?.(va, page) ?? null;
    case 'mirror':
      // Mirror pages come from the CPU page table at fault time; the checker has no CPU view.
      return null;
  }
}

/**
 * The physical page of page `page` of a userptr VMA, or undefined when unknown (that page is
 * then not checked). By default the checker takes the pages VM_BIND pinned, from the VMA's
 * private state (XeVmaPriv.userptrPages).
 */
export type UserptrPage = (va: XeVma, page: number) => number | undefined;

/** Options of checkVmInvariants. */
export interface CheckOptions {
  /** The pages of userptr VMAs (default: those of their last pin). */
  userptrPage?: UserptrPage;
  /** Violations reported at most (default 100). */
  max?: number;
}

/** One broken invariant. */
export interface VmViolation {
  va: bigint;
  check: 'translation' | 'outside-vma' | 'unbound' | 'shadow';
  expected: string;
  found: string;
}

/** Runs sorted by VA, with a cursor that finds the run holding an address (addresses must not go back). */
class RunCursor {
  private i = 0;
  constructor(private readonly runs: PtRun[]) {}

  /** The run holding `va`, if any. */
  at(va: number): PtRun | undefined {
    while (this.i < this.runs.length && this.runs[this.i].end <= va) this.i++;
    const r = this.runs[this.i];
    return r && r.start <= va ? r : undefined;
  }

  /** The first address a run maps after an at() that found none, or `end`. */
  nextMapped(end: number): number {
    return Math.min(this.runs[this.i]?.start ?? end, end);
  }
}

/**
 * Compares the VMA tree of `vm` with a full walk of its page-table bytes:
 * - each page of a bound BO VMA (and of a userptr VMA, at the pages of its last pin) translates
 *   to exactly its page, RW iff not READ_ONLY, with the VMA's pat_index; a bound NULL VMA
 *   translates to NULL leaves with the same RW and PAT; mirror VMAs (PTEs of SVM ranges) are
 *   not checked;
 * - a VMA without PTEs (not bound, or zapped by MADVISE) has only empty or scratch entries;
 * - outside the VMAs every entry is empty, or scratch on a SCRATCH_PAGE VM;
 * - XePt's shadow (entry kinds, child tables, live counts) matches the bytes, where a zapped
 *   VMA's entries are 0 and still counted live.
 * Returns the violations found (at most `max`), none when all hold; a run of leaves that breaks
 * an invariant is reported once, at its first bad page.
 */
export function checkVmInvariants(vm: Vm, opts: CheckOptions = {}): VmViolation[] {
  const pt = ptOf(vm);
  const max = opts.max ?? 100;
  const out: VmViolation[] = [];
  const report = (va: number, chk: VmViolation['check'], expected: string, found: string): boolean => {
    if (out.length < max) out.push({ va: BigInt(va), check: chk, expected, found });
    return out.length < max;
  };
  const runs = new RunCursor(vmRuns(vm));
  let gap = 0;
  const checkGap = (end: number): boolean => checkEmpty(vm, pt, runs, gap, end, 'outside-vma', report);
  for (const va of vm.gpuvm.all()) {
    const start = Number(va.start);
    if (!checkGap(start)) return out;
    gap = Number(va.end);
    // A mirror VMA's PTEs belong to its SVM ranges, bound at fault time: not checked here.
    if (vmaKind(va) === 'mirror') continue;
    const ok = bound(va) ? checkVmaPages(va, runs, opts.userptrPage ?? pinnedPage, report) : checkEmpty(vm, pt, runs, start, gap, 'unbound', report);
    if (!ok) return out;
  }
  if (checkGap(2 ** pt.ptm.geo.vaBits)) checkShadow(vm, pt, report);
  return out;
}

/** A userptr page as VM_BIND last pinned it. */
const pinnedPage: UserptrPage = (va, page) => va.priv?.userptrPages?.[page];

type Report = (va: number, chk: VmViolation['check'], expected: string, found: string) => boolean;

/** [start, end) holds no leaf but scratch ones; false once the report is full. */
function checkEmpty(vm: Vm, pt: XePt, runs: RunCursor, start: number, end: number, chk: VmViolation['check'], report: Report): boolean {
  const expected = pt.scratchPage ? 'not present or scratch' : 'not present';
  for (let a = start; a < end;) {
    const r = runs.at(a);
    if (!r) {
      a = runs.nextMapped(end);
      continue;
    }
    if (!isScratch(vm, pt, r) && !report(a, chk, expected, describeRun(r, a))) return false;
    a = Math.min(r.end, end);
  }
  return true;
}

/**
 * Each page of a bound VMA translates as it maps; false once the report is full. Consecutive
 * bad pages in one run of leaves (or one hole) are reported once, at the first of them.
 */
function checkVmaPages(va: XeVma, runs: RunCursor, userptrPage: UserptrPage | undefined, report: Report): boolean {
  const start = Number(va.start);
  const rw = !(va.flags & XE_VMA_READ_ONLY);
  const pat = va.attrs.patIndex;
  const bo = va.obj && gemToBo(va.obj);
  const last = Number(va.offset + va.range) / PAGE_SIZE;
  // A BO freed or shrunk under its VMA (VM_BIND holds a reference; a broken kernel might not).
  if (bo && bo.pageCount < last) return report(start, 'translation', `BO pages up to ${last}`, `a BO of ${bo.pageCount} pages`);
  let lastBad: PtRun | null | undefined;
  for (let a = start, page = 0; a < Number(va.end); a += PAGE_SIZE, page++) {
    const want = expectedPage(va, page, userptrPage);
    const r = runs.at(a);
    const found = r && (want === 'null' ? r.nul : !r.nul && r.pa >= 0 && r.pa + (a - r.start) === want);
    if (want === null || (found && r.writable === rw && r.patIndex === pat)) {
      lastBad = undefined;
      continue;
    }
    if (lastBad === (r ?? null)) continue;
    lastBad = r ?? null;
    const expected = `${want === 'null' ? 'null' : `pa ${hex(want)}`} ${rw ? 'rw' : 'ro'} pat ${pat}`;
    if (!report(a, 'translation', expected, describeRun(r, a))) return false;
  }
  return true;
}

/** The entry kind each shadow slot stands for. */
const SLOT_KIND: Record<number, string> = {
  [Slot.Leaf4K]: 'pte4k', [Slot.LeafPs64]: 'pte4k+ps64', [Slot.Leaf64K]: 'pte64k', [Slot.Leaf2M]: 'pte2m', [Slot.Leaf1G]: 'pte1g',
};

/** The shadow name of a decoded entry, to compare with SLOT_KIND. */
function entryKindName(e: DecodedEntry): string {
  return e.kind === 'pte4k' && e.ps64 ? 'pte4k+ps64' : e.kind;
}

/** XePt's shadow (slots, child tables, live counts) against the bytes of each table. */
function checkShadow(vm: Vm, pt: XePt, report: Report): boolean {
  const visit = (node: PtNode, vaBase: number): boolean => {
    const empty = emptyEntry(vm, pt, node.level);
    const esize = node.compact ? 2 ** 16 : levelSize(node.level);
    let live = 0;
    for (let i = 0; i < node.slots.length; i++) {
      const e = pt.ptm.readEntry(node.pa, i);
      const va = vaBase + i * esize;
      const bytesEmpty = e.lo === empty.lo && e.hi === empty.hi;
      const child = node.children[i];
      const expected = node.slots[i] === Slot.Empty ? 'empty' : child ? `pde ${hex(child.addr)}${child.compact ? ' compact' : ''}` : SLOT_KIND[node.slots[i]];
      const decoded = describeEntry(pt, e, node);
      // A live slot may hold bytes equal to the empty entry: a NULL VMA's leaf with the scratch
      // leaf's bits; or 0 in a zapped VMA, which the shadow (as upstream's num_live) still counts.
      const zapped = e.lo === 0 && e.hi === 0 && node.slots[i] !== Slot.Empty && inZappedVma(vm, va, va + esize);
      const ok = node.slots[i] === Slot.Empty ? bytesEmpty : zapped || decoded === expected;
      if ((ok && node.slots[i] !== Slot.Empty) || (!ok && !bytesEmpty)) live++;
      if (!ok && !report(va, 'shadow', `L${node.level} @${hex(node.pa)} [${i}] ${expected}`, bytesEmpty ? 'empty' : decoded)) return false;
      if (child && !visit(child, va)) return false;
    }
    if (live !== node.live) return report(vaBase, 'shadow', `L${node.level} @${hex(node.pa)} live ${node.live}`, `${live} non-empty entries`);
    return true;
  };
  return visit(pt.root, 0);
}

/** A non-empty entry in the shadow's terms: 'pde <addr>[ compact]' or its leaf kind. */
function describeEntry(pt: XePt, e: PtEntry, node: PtNode): string {
  if (!(e.lo & XE_PAGE_PRESENT)) return `not present (${hex(e.lo)})`;
  const d = decodeEntry(pt.ptm.geo, e.lo, e.hi, node.level, node.compact);
  return d.kind === 'pde' || d.kind === 'pde64k' ? `pde ${hex(d.addr)}${d.kind === 'pde64k' ? ' compact' : ''}` : entryKindName(d);
}

const SIZE_NAMES = new Map([[PAGE_SIZE, '4K'], [2 ** 16, '64K'], [levelSize(1), '2M'], [levelSize(2), '1G']]);
const REGION_NAMES = (region: number): string => (region === 0 ? 'sysmem' : `vram${region - 1}`);

/** One VMA line of the dump. */
function vmaLine(v: VmaInfo): string {
  const bo = v.bo ? ` handle ${v.bo.handle ?? '-'} size ${hex(v.bo.size)} ${REGION_NAMES(v.bo.region)}` : '';
  const flags = v.flags.length ? ` flags ${v.flags.join('|')}` : '';
  const pte = v.pteSizes.length ? ` pte ${v.pteSizes.join('|')}` : ' unbound';
  return `  [${hex(v.start)}, ${hex(v.end)}) ${v.kind}${bo} offset ${hex(v.offset)} pat ${v.patIndex}${flags}${pte}`;
}

/**
 * A textual dump of `vm` (vm id `id` of `file`), like a debugfs file: a header (id, flags,
 * VA bits, ASID, levels, root), the VMAs, the statistics and the page-table tree read from
 * the bytes. Each table shows its level, physical address and live entries (those that are
 * not the empty entry of 5.6), its child tables indented below their PDE's index, and its
 * leaves merged into runs: `[first-last] [start, end) SIZE xN -> target flags`. The tree
 * comes from the bytes alone, so a NULL VMA's leaf whose bits equal the scratch leaf (RW, the
 * WB index, on an integrated device) is not told apart from scratch and not listed.
 */
export function vmDump(vm: Vm, id: number, file?: GemFile): string {
  const pt = ptOf(vm);
  const info = vmInfo(vm, id, file);
  const flags = info.vm.flags.length ? info.vm.flags.join('|') : '0';
  const lines = [`vm ${id}: flags ${flags}, va_bits ${info.vm.vaBits}, asid ${info.vm.asid}, ${info.vm.levels} levels, root ${info.vm.root}`];
  const scratch = pt.scratch.map((s, l) => (s ? `L${l} @${hex(s.pa)}` : '')).filter((s) => s).reverse();
  if (scratch.length) lines.push(`scratch tables: ${scratch.join(', ')}`);
  const vmas = vmVmas(vm, file);
  lines.push(`vmas ${vmas.length}:`, ...vmas.map(vmaLine));
  const st = info.stats;
  const perLevel = st.tables.map((n, l) => `L${l} ${n}`).reverse().join(', ');
  const lv = st.leaves;
  lines.push(`page tables: ${st.tables.reduce((a, b) => a + b, 0)} tables, ${st.bytes} bytes (${perLevel}); ` +
    `leaves 4K ${lv['4K']} (ps64 ${lv.ps64}), 64K ${lv['64K']}, 2M ${lv['2M']}, 1G ${lv['1G']}`);
  dumpTable(vm, pt, pt.root.addr, pt.root.level, false, 0, '', lines);
  return lines.join('\n') + '\n';
}

/** The dump lines of one table and, indented, its children; `head` prefixes the table's line. */
function dumpTable(vm: Vm, pt: XePt, addr: number, level: number, compact: boolean, vaBase: number, indent: string, lines: string[], head = ''): void {
  const empty = emptyEntry(vm, pt, level);
  const slots = tableSlots(pt.ptm, addr, level, compact, vaBase).filter((s) => {
    const e = pt.ptm.readEntry(pt.ptm.tablePa(addr), s.index);
    return e.lo !== empty.lo || e.hi !== empty.hi;
  });
  lines.push(`${indent}${head}L${level}${compact ? ' compact' : ''} @${hex(pt.ptm.tablePa(addr))} live ${slots.length}`);
  const sub = indent + '  ';
  let run: { r: PtRun; first: number; last: number } | null = null;
  const flush = (): void => {
    if (!run) return;
    const { r, first, last } = run;
    const idx = first === last ? `[${first}]` : `[${first}-${last}]`;
    lines.push(`${sub}${idx} [${hex(r.start)}, ${hex(r.end)}) ${SIZE_NAMES.get(r.leafSize)} x${(r.end - r.start) / r.leafSize} -> ${describeRun(r, r.start)}`);
    run = null;
  };
  for (const s of slots) {
    if (s.entry.kind === 'pde' || s.entry.kind === 'pde64k') {
      flush();
      if (pt.ptm.tableOk(s.entry.addr)) dumpTable(vm, pt, s.entry.addr, level - 1, s.entry.kind === 'pde64k', s.va, sub, lines, `[${s.index}] `);
      else lines.push(`${sub}[${s.index}] pde to ${hex(s.entry.addr)}: outside table memory`);
      continue;
    }
    const leaf = leafRun(pt.ptm, s.entry, s.va, level, compact);
    if (run && run.last + 1 === s.index && runContinues(run.r, leaf)) {
      run.r.end = leaf.end;
      run.last = s.index;
    } else {
      flush();
      run = { r: leaf, first: s.index, last: s.index };
    }
  }
  flush();
}

/**
 * Resolves a GPU fault on a fault-mode VM (the fault service of vm_bind.md 6.3): true when the
 * access may be retried. The driver registers xe_pagefault.ts's (xe_debug.ts), and vmGpuAccess
 * goes through it as the GPU will.
 */
export type GpuFaultService = (vm: Vm, fault: GpuFault) => boolean;

let faultService: GpuFaultService | null = null;

/** Registers the fault service of fault-mode VMs (null: none; faults are then reported). */
export function setGpuFaultService(fn: GpuFaultService | null): void {
  faultService = fn;
}

/** The outcome of a GPU access: bytes done, and the fault that stopped it (null: all done). */
export interface GpuAccessResult {
  done: number;
  fault: GpuFault | null;
}

/**
 * A GPU read into `buf` (or write of `buf`, `write` true) at `va` through the VM's GPU MMU.
 * A fault stops it after the pages before the faulting one (their bytes are in `buf`, or
 * written); on a fault-mode VM the fault service is asked first and the access goes on when
 * it resolved the fault.
 */
export function vmGpuAccess(vm: Vm, va: number, buf: Uint8Array, write: boolean): GpuAccessResult {
  const mmu = ptOf(vm).mmu;
  let done = 0;
  let serviced = -1;
  while (done < buf.length) {
    const part = buf.subarray(done);
    const r = write ? mmu.gpuWrite(va + done, part) : mmu.gpuRead(va + done, part.length);
    if (r === null || r instanceof Uint8Array) {
      if (r) part.set(r);
      return { done: buf.length, fault: null };
    }
    const before = r.va - (va + done);
    const head = write || before === 0 ? null : mmu.gpuRead(va + done, before);
    if (head instanceof Uint8Array) part.set(head);
    done += before;
    // One service per faulting address: a service that did not fix it must not loop.
    if (!(vm.faultMode && faultService && serviced !== r.va && faultService(vm, r))) return { done, fault: r };
    serviced = r.va;
  }
  return { done, fault: null };
}

/** The xe file and object id named by a control's ARG1 (fd in bits 0-31, the id in bits 32-63); -EBADF: not an xe fd. */
export function lookupXeArg(p: Process, arg: bigint, what: string): { file: XeFile; id: number } {
  const fd = Number(BigInt.asIntN(32, arg));
  const id = Number(BigInt.asUintN(32, arg >> 32n));
  return { file: fileAs(p.file(fd), XeFile, `${what} fd`, EBADF), id };
}

/** The xe file and VM named by a control's ARG1 (fd in bits 0-31, vm_id in bits 32-63). */
function lookupVm(p: Process, arg: bigint, what: string): { file: XeFile; vm: Vm; id: number } {
  const { file, id } = lookupXeArg(p, arg, what);
  const vm = file.vms.get(id);
  check(!vm, ENOENT, '%s: vm_id %d: no such VM', what, id);
  return { file, vm: vm!, id };
}

/** Writes text answer `text` to user buffer `buf` of `size` bytes (channel.ts VM_INFO protocol). */
export function putAnswer(p: Process, buf: bigint, size: bigint, text: string, what: string): bigint[] {
  const bytes = new TextEncoder().encode(text);
  const len = BigInt(bytes.length);
  const room = BigInt.asUintN(64, size);
  if (room !== 0n) {
    check(room < len, ENOSPC, '%s: buffer of %d bytes, the answer has %d', what, room, len);
    p.um.copyToUser(buf, bytes);
  }
  return [len];
}

/** JSON with bigints as hex strings. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? hex(x) : x));
}

/** DEBUG.GPU_READ / GPU_WRITE: the access, answered as channel.ts describes. */
function gpuAccessOp(p: Process, [vmArg, va, buf, len]: bigint[], write: boolean): bigint[] {
  const what = write ? 'GPU_WRITE' : 'GPU_READ';
  const { vm } = lookupVm(p, vmArg, what);
  const n = BigInt.asUintN(64, len);
  check(n > BigInt(GPU_ACCESS_MAX), E2BIG, '%s: %d bytes, at most %d per call', what, n, GPU_ACCESS_MAX);
  const data = write ? p.um.copyFromUser(buf, Number(n)) : new Uint8Array(Number(n));
  const addr = BigInt.asUintN(64, va);
  const r = vmGpuAccess(vm, Number(addr), data, write);
  if (!write && r.done) p.um.copyToUser(buf, data, r.done);
  if (!r.fault) return [BigInt(r.done), 0n, 0n, 0n];
  const kind = GPU_FAULT_KINDS.indexOf(r.fault.fault) + 1;
  const where = r.fault.level | (GPU_ACCESS_KINDS.indexOf(r.fault.access) << 8);
  return [BigInt(r.done), BigInt(kind), addr + BigInt(r.done), BigInt(where)];
}

/** Registers the VM inspection controls (DEBUG.VM_INFO ... GPU_WRITE). */
export function registerVmInspectOps(ops: DebugRegistry): void {
  ops.register(DEBUG.VM_INFO, (p, [vmArg, buf, size]) => {
    const { file, vm, id } = lookupVm(p, vmArg, 'VM_INFO');
    return putAnswer(p, buf, size, toJson(vmInfo(vm, id, file)), 'VM_INFO');
  });
  ops.register(DEBUG.VM_DUMP, (p, [vmArg, buf, size]) => {
    const { file, vm, id } = lookupVm(p, vmArg, 'VM_DUMP');
    return putAnswer(p, buf, size, vmDump(vm, id, file), 'VM_DUMP');
  });
  ops.register(DEBUG.VM_CHECK, (p, [vmArg, buf, size]) => {
    const { vm } = lookupVm(p, vmArg, 'VM_CHECK');
    return putAnswer(p, buf, size, toJson(checkVmInvariants(vm)), 'VM_CHECK');
  });
  ops.register(DEBUG.GPU_READ, (p, args) => gpuAccessOp(p, args, false));
  ops.register(DEBUG.GPU_WRITE, (p, args) => gpuAccessOp(p, args, true));
}
