/**
 * Shared pieces of the GPU VA manager tests: a named object type, a VA space factory, and
 * printers in vm_bind.md 3.8's notation, `(start,end,A@offset)`.
 */
import { DrmGpuvm, type GpuvaMap, type GpuvaOp, type GpuvmConfig } from '../../src/kernel/drm/drm_gpuvm.js';

/** A GEM object stand-in, known by name. */
export interface Bo {
  readonly name: string;
}

/** The driver attributes the tests give VMAs (xe keeps pat_index there). */
export interface Attrs {
  readonly pat_index: number;
}

/** The VA manager type used in the tests; priv holds a creation number. */
export type Vm = DrmGpuvm<Bo, Attrs, number>;
export type Op = GpuvaOp<Bo, Attrs, number>;

/** A 48-bit VA space (or the given geometry). */
export function newVm(cfg: Partial<GpuvmConfig<Attrs>> = {}): Vm {
  return new DrmGpuvm<Bo, Attrs, number>({ start: 0n, range: 1n << 48n, ...cfg });
}

export const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** `(start,end,A@off)`; `null@off` for a mapping without object. */
export function vmaStr(m: GpuvaMap<Bo> | null): string {
  return m ? `(${hex(m.start)},${hex(m.start + m.range)},${m.obj?.name ?? 'null'}@${hex(m.offset)})` : 'none';
}

/** An op in the spec's notation. */
export function opStr(op: Op): string {
  switch (op.op) {
    case 'map':
      return `MAP${vmaStr(op.map)}`;
    case 'unmap':
      return `UNMAP(${vmaStr(op.va)},keep=${op.keep})`;
    case 'remap':
      return `REMAP(${vmaStr(op.va)},keep=${op.keep},prev=${vmaStr(op.prev)},next=${vmaStr(op.next)})`;
    case 'prefetch':
      return `PREFETCH${vmaStr(op.va)}`;
  }
}

/** The tree in address order. */
export const treeStr = (vm: Vm): string[] => vm.all().map(vmaStr);

/** Generates, commits and finishes a MAP of `obj@offset` over [start, start + range). */
export function map(vm: Vm, obj: Bo | null, start: bigint, range: bigint, offset = 0n, flags = 0): Op[] {
  return apply(vm, vm.smMapOpsCreate({ start, range, obj, offset, flags, attrs: { pat_index: 2 } }));
}

/** Commits every op of `ops`, then finishes them. */
export function apply(vm: Vm, ops: Op[]): Op[] {
  for (const op of ops) vm.commit(op);
  vm.finish(ops);
  return ops;
}
