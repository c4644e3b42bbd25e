/**
 * VMAs made the way the VM_BIND ioctl will make them, until it lands: split ops from the VM's
 * gpuvm, committed, the page tables of the removed VMAs unbound and those of the new ones
 * (REMAP pieces included) bound through XePt, then finished. A REMAP is done without the skip
 * rule (pieces are unbound and bound again), which leaves the same translations.
 */
import type { GemObject } from '../../src/kernel/drm/drm_gem.js';
import type { GpuvaOp } from '../../src/kernel/drm/drm_gpuvm.js';
import { gemToBo } from '../../src/kernel/xe/xe_bo.js';
import type { Vm } from '../../src/kernel/xe/xe_vm.js';
import { XE_VMA_READ_ONLY, defaultMemAttr, type XeVma, type XeVmaMemAttr, type XeVmaPriv } from '../../src/kernel/xe/xe_vma.js';

const PAGE = 4096;

/** A MAP: a BO at `offset`, a userptr (`userptr` pages, `offset` its CPU address), or neither (flags XE_VMA_NULL). */
export interface MapArgs {
  start: number;
  range: number;
  obj?: GemObject | null;
  offset?: number;
  flags?: number;
  patIndex?: number;
  /** Physical pages of a userptr VMA, one per page of the range. */
  userptr?: readonly number[];
  /** Attributes to share between VMAs (benchmarks); default: defaultMemAttr(patIndex). */
  attrs?: XeVmaMemAttr;
}

type Op = GpuvaOp<GemObject, XeVmaMemAttr, XeVmaPriv>;

/** The physical pages the helper bound for each userptr VMA (what the VMA's userptr state will hold). */
export const userptrPages = new WeakMap<XeVma, readonly number[]>();

/** The backing pages of `va` (null for NULL VMAs). */
function vmaPages(va: XeVma): readonly number[] | null {
  const n = Number(va.range) / PAGE;
  if (va.obj) {
    const bo = gemToBo(va.obj);
    const first = Number(va.offset) / PAGE;
    return Array.from({ length: n }, (_, i) => bo.page(first + i));
  }
  return userptrPages.get(va) ?? null;
}

/** Writes the PTEs of `va` and records what the bind used. */
function bindVma(vm: Vm, va: XeVma): void {
  const readOnly = (va.flags & XE_VMA_READ_ONLY) !== 0;
  const [pteFlags] = vm.pt!.bind([{ start: Number(va.start), end: Number(va.end), pages: vmaPages(va), patIndex: va.attrs.patIndex, readOnly }]);
  va.priv = { pteFlags, tilePresent: 1 };
}

/** Commits `ops`, unbinds what they remove, binds what they create, finishes them. */
function apply(vm: Vm, ops: Op[], userptr?: readonly number[]): void {
  for (const op of ops) vm.gpuvm.commit(op);
  for (const op of ops) {
    if ((op.op === 'unmap' || op.op === 'remap') && op.va.priv?.tilePresent) vm.pt!.unbind(Number(op.va.start), Number(op.va.end));
  }
  for (const op of ops) {
    if (op.op === 'remap') {
      for (const piece of [op.prevVa, op.nextVa]) {
        const pages = piece && userptrPages.get(op.va);
        if (piece && pages) userptrPages.set(piece, pages.slice(Number(piece.start - op.va.start) / PAGE, Number(piece.end - op.va.start) / PAGE));
        if (piece && op.va.priv?.tilePresent) bindVma(vm, piece);
      }
    } else if (op.op === 'map') {
      if (userptr) userptrPages.set(op.va!, userptr);
      bindVma(vm, op.va!);
    }
  }
  vm.gpuvm.finish(ops);
}

/** MAP (or MAP_USERPTR, or a NULL MAP) of [start, start + range); returns the new VMA. */
export function vmBindMap(vm: Vm, a: MapArgs): XeVma {
  const ops = vm.gpuvm.smMapOpsCreate({
    start: BigInt(a.start), range: BigInt(a.range), obj: a.obj ?? null, offset: BigInt(a.offset ?? 0),
    flags: a.flags ?? 0, attrs: a.attrs ?? defaultMemAttr(a.patIndex ?? 0),
  });
  apply(vm, ops, a.userptr);
  return (ops[ops.length - 1] as Extract<Op, { op: 'map' }>).va!;
}

/** UNMAP of [start, start + range). */
export function vmBindUnmap(vm: Vm, start: number, range: number): void {
  apply(vm, vm.gpuvm.smUnmapOpsCreate(BigInt(start), BigInt(range)));
}
