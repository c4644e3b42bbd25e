/**
 * The user side of the VM inspection controls (uapi/vm_inspect.ts): the typed results of
 * `p.vmInfo`, `p.vmCheck`, `p.gpuRead` and `p.gpuWrite`, decoded from the kernel's JSON and
 * return words (hex strings become bigints).
 */
import {
  GPU_ACCESS_KINDS, GPU_FAULT_KINDS, type PtStatsWire, type VmaInfo, type VmInfoWire, type VmViolationWire,
} from '../uapi/vm_inspect.js';

export type { VmaInfo } from '../uapi/vm_inspect.js';

/** A VM, its VMAs and its page-table statistics (`p.vmInfo`). */
export interface VmInfo {
  vm: { id: number; flags: string[]; vaBits: number; asid: number; levels: number; root: bigint };
  vmas: VmaInfo[];
  stats: PtStatsWire;
}

/** A broken invariant (`p.vmCheck`). */
export interface VmViolation {
  va: bigint;
  check: string;
  expected: string;
  found: string;
}

/** A GPU fault: what, where (the faulting VA and the level of the entry), on which access. */
export interface GpuFaultReport {
  kind: (typeof GPU_FAULT_KINDS)[number];
  va: bigint;
  level: number;
  access: (typeof GPU_ACCESS_KINDS)[number];
}

/** The outcome of a GPU access: bytes done (all, or those before the faulting page) and the fault. */
export interface GpuAccessReport {
  done: number;
  fault: GpuFaultReport | null;
}

/** VM_INFO's JSON as a VmInfo. */
export function decodeVmInfo(json: string): VmInfo {
  const w = JSON.parse(json) as VmInfoWire;
  return {
    vm: { ...w.vm, root: BigInt(w.vm.root) },
    vmas: w.vmas.map((v) => ({ ...v, start: BigInt(v.start), end: BigInt(v.end), offset: BigInt(v.offset) })),
    stats: w.stats,
  };
}

/** VM_CHECK's JSON as violations. */
export function decodeViolations(json: string): VmViolation[] {
  return (JSON.parse(json) as VmViolationWire[]).map((v) => ({ ...v, va: BigInt(v.va) }));
}

/** GPU_READ / GPU_WRITE return words as a report. */
export function decodeGpuAccess(rets: ArrayLike<bigint>): GpuAccessReport {
  const kind = Number(rets[1]);
  const where = Number(rets[3]);
  return {
    done: Number(rets[0]),
    fault: kind === 0 ? null : {
      kind: GPU_FAULT_KINDS[kind - 1], va: BigInt.asUintN(64, rets[2]), level: where & 0xff, access: GPU_ACCESS_KINDS[where >> 8],
    },
  };
}

/** ARG1 of the inspection controls: the fd in bits 0-31, the object (vm_id, exec_queue_id, engine) in bits 32-63. */
export function vmArgWord(fd: number, vmId: number): bigint {
  return (BigInt(vmId >>> 0) << 32n) | BigInt(fd >>> 0);
}
