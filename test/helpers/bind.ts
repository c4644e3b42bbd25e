// An in-process xe device, file and process for VM_BIND tests: ioctl handlers called
// directly (no worker), with the kernel objects (VMA tree, page tables, fences) at hand.
import { CpuPageTable } from '../../src/hw/cpu_mmu.js';
import { entryToBigInt, ptIndex } from '../../src/hw/pagetable.js';
import { createRegions } from '../../src/hw/memory.js';
import { getProfile, type ProfileName } from '../../src/hw/profile.js';
import { decode, pack, packArray, type Fields, type FieldsIn } from '../../src/uapi/codec.js';
import { C, layoutOf } from '../../src/uapi/uapi.js';
import { DRM_GEM_IOCTLS } from '../../src/kernel/drm/drm_gem.js';
import { debugFenceAttach, debugFenceSignal, DRM_SYNCOBJ_IOCTLS } from '../../src/kernel/drm/drm_syncobj.js';
import type { IoctlDef } from '../../src/kernel/drm/drm_ioctl.js';
import { clearReason, Errno, takeReason } from '../../src/kernel/os/errno.js';
import { standaloneHost } from '../../src/kernel/os/kernel.js';
import { Process } from '../../src/kernel/os/process.js';
import { getUserU64, putUserU64 } from '../../src/kernel/os/uaccess.js';
import { XeDevice } from '../../src/kernel/xe/xe_device.js';
import { XE_DRIVER } from '../../src/kernel/xe/xe_drv.js';
import { XeFile } from '../../src/kernel/xe/xe_file.js';
import { bindFailInject } from '../../src/kernel/xe/xe_vm_bind.js';
import type { Vm } from '../../src/kernel/xe/xe_vm.js';
import { checkVms } from './vm_check.js';

export const OP = {
  MAP: C('DRM_XE_VM_BIND_OP_MAP'),
  UNMAP: C('DRM_XE_VM_BIND_OP_UNMAP'),
  MAP_USERPTR: C('DRM_XE_VM_BIND_OP_MAP_USERPTR'),
  UNMAP_ALL: C('DRM_XE_VM_BIND_OP_UNMAP_ALL'),
  PREFETCH: C('DRM_XE_VM_BIND_OP_PREFETCH'),
};
export const FLAG = {
  READONLY: C('DRM_XE_VM_BIND_FLAG_READONLY'),
  IMMEDIATE: C('DRM_XE_VM_BIND_FLAG_IMMEDIATE'),
  NULL: C('DRM_XE_VM_BIND_FLAG_NULL'),
  DUMPABLE: C('DRM_XE_VM_BIND_FLAG_DUMPABLE'),
  CHECK_PXP: C('DRM_XE_VM_BIND_FLAG_CHECK_PXP'),
  MIRROR: C('DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR'),
  AUTORESET: C('DRM_XE_VM_BIND_FLAG_MADVISE_AUTORESET'),
  DECOMPRESS: C('DRM_XE_VM_BIND_FLAG_DECOMPRESS'),
};
export const SYNC = {
  SYNCOBJ: C('DRM_XE_SYNC_TYPE_SYNCOBJ'),
  TIMELINE: C('DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ'),
  UFENCE: C('DRM_XE_SYNC_TYPE_USER_FENCE'),
  SIGNAL: C('DRM_XE_SYNC_FLAG_SIGNAL'),
};
export const VM_FLAG = {
  SCRATCH: C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE'),
  LR: C('DRM_XE_VM_CREATE_FLAG_LR_MODE'),
  FAULT: C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE'),
};
const WB = C('DRM_XE_GEM_CPU_CACHING_WB');

const HANDLERS = new Map<string, IoctlDef['handler']>(
  [...XE_DRIVER.ioctls, ...DRM_GEM_IOCTLS, ...DRM_SYNCOBJ_IOCTLS].map((d) => [d.name, d.handler as IoctlDef['handler']]),
);

/** One VMA as a test compares it: [start, end, BO handle (0: none), offset, flags, pat_index]. */
export type VmaRow = [bigint, bigint, number, bigint, number, number];

/** A device, an xe file and a process, in-process. */
export class BindEnv {
  readonly dev: XeDevice;
  readonly file: XeFile;
  readonly proc: Process;
  /** The reason of the last failed call. */
  reason = '';

  constructor(profile: ProfileName = 'lnl') {
    const p = getProfile(profile);
    const regions = createRegions(64 << 20, p.vram.map(() => 32 << 20));
    const host = standaloneHost(regions);
    this.dev = new XeDevice(p, regions, host);
    this.proc = new Process(1, CpuPageTable.allocate(64n << 20n), host.phys, host.sysmem, new Set());
    this.file = new XeFile(this.dev, 'render');
  }

  /** Calls ioctl `name` with `fields`; 0 or -errno, and the struct as written back. */
  call(name: string, fields: FieldsIn, struct = ioctlStruct(name)): { rc: number; out: Fields } {
    const args = decode(struct, pack(struct, fields));
    const h = HANDLERS.get(name)!;
    clearReason();
    this.reason = '';
    let rc: number;
    try {
      rc = h({ dev: this.dev, proc: this.proc, file: this.file, um: this.proc.um, args }) as number;
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      rc = -e.errno;
    }
    if (rc < 0) this.reason = takeReason(-rc);
    if (name === 'DRM_IOCTL_XE_VM_BIND') checkVms(this.file.vms.entries().map(([, vm]) => vm));
    return { rc, out: args };
  }

  vmCreate(flags = 0): number {
    const r = this.call('DRM_IOCTL_XE_VM_CREATE', { flags });
    if (r.rc) throw new Error(`vm create: ${r.rc} ${this.reason}`);
    return Number(r.out.vm_id);
  }

  vm(id: number): Vm {
    return this.file.vms.get(id)!;
  }

  /** GEM_CREATE of `size` bytes; WB system memory unless told otherwise. */
  bo(size: number, placement = 1, caching = WB, flags = 0): number {
    const r = this.call('DRM_IOCTL_XE_GEM_CREATE', { size: BigInt(size), placement, cpu_caching: caching, flags });
    if (r.rc) throw new Error(`gem create: ${r.rc} ${this.reason}`);
    return Number(r.out.handle);
  }

  gemClose(handle: number): number {
    return this.call('DRM_IOCTL_GEM_CLOSE', { handle }).rc;
  }

  syncobj(): number {
    return Number(this.call('DRM_IOCTL_SYNCOBJ_CREATE', {}).out.handle);
  }

  /** A pending fence the test signals (DEBUG FENCE_ATTACH) on syncobj `handle`: its id. */
  attachFence(handle: number, point = 0n): bigint {
    return debugFenceAttach(this.dev.fences, this.file.syncobjs, handle, point)[0];
  }

  /** Signals a test fence; bind jobs waiting on it run, and their VMs are checked. */
  signalFence(id: bigint): void {
    debugFenceSignal(this.dev.fences, id, 0n);
    checkVms(this.file.vms.entries().map(([, vm]) => vm));
  }

  /** Bytes of user memory (heap), zeroed. */
  alloc(size: number): bigint {
    const a = this.proc.mm.malloc(size, 8);
    this.proc.um.copyToUser(a, new Uint8Array(size));
    return a;
  }

  /** Anonymous pages mapped in the process. */
  mmap(size: number): bigint {
    return this.proc.mm.mmap({ addr: 0n, length: BigInt(size), flags: 0 }, null);
  }

  read64(addr: bigint): bigint {
    return getUserU64(this.proc.um, addr);
  }

  write64(addr: bigint, v: bigint): void {
    putUserU64(this.proc.um, addr, v);
  }

  /** A drm_xe_sync array in user memory. */
  syncs(list: FieldsIn[]): bigint {
    const a = this.alloc(layoutOf('drm_xe_sync').size * list.length);
    this.proc.um.copyToUser(a, packArray('drm_xe_sync', list));
    return a;
  }

  /** VM_BIND of `ops` (inline for one, else an array in user memory) with `extra` top-level fields. */
  bind(vm: number, ops: FieldsIn[], extra: FieldsIn = {}): number {
    const full = ops.map((o) => ({ pat_index: 2, ...o }));
    const fields: FieldsIn = { vm_id: vm, num_binds: full.length, ...extra };
    if (full.length === 1) fields.bind = full[0];
    else if (full.length > 1) {
      const a = this.alloc(layoutOf('drm_xe_vm_bind_op').size * full.length);
      this.proc.um.copyToUser(a, packArray('drm_xe_vm_bind_op', full));
      fields.vector_of_binds = a;
    }
    return this.call('DRM_IOCTL_XE_VM_BIND', fields).rc;
  }

  /** BIND_FAIL: arms the n-th injection point; returns what was left of the previous setting. */
  injectFail(n: number): number {
    return bindFailInject(this.dev, n);
  }

  /** The VMAs of VM `id` as rows (BO handles from this file's table). */
  vmas(id: number): VmaRow[] {
    const handles = new Map([...this.file.objects.entries()].map(([h, o]) => [o, h]));
    return this.vm(id).gpuvm.all().map((v) => [v.start, v.end, v.obj ? handles.get(v.obj)! : 0, v.offset, v.flags, v.attrs.patIndex]);
  }

  /**
   * Everything a failed bind must leave as it was: the VMAs (objects and state), the page
   * tables' shadow and bytes, and the pages in use.
   */
  snapshot(id: number): string {
    const vm = this.vm(id);
    const pt = vm.pt!;
    const vmas = vm.gpuvm.all().map((v) => ({
      v: [v.start, v.end, v.offset, v.flags, v.attrs.patIndex],
      obj: v.obj,
      priv: [v.priv?.pteFlags, v.priv?.tilePresent, v.priv?.ufence ? 'ufence' : '', v.priv?.userptrPages?.join(' ')],
    }));
    const scratch = new Set(pt.scratch.filter((s) => s).map((s) => s!.pa));
    const bytes: string[] = [];
    pt.ptm.forEachEntry(pt.root.pa, (e) => {
      bytes.push(`${e.level}:${e.va.toString(16)}:${e.entry.kind}:${e.entry.addr.toString(16)}`);
      return !(e.entry.kind === 'pde' && scratch.has(pt.ptm.tablePa(e.entry.addr)));
    });
    const shadow: string[] = [];
    const walk = (n: typeof pt.root): void => {
      shadow.push(`${n.pa}:${n.level}:${n.live}:${Array.from(n.slots).join('')}`);
      for (const c of n.children) if (c) walk(c);
    };
    walk(pt.root);
    const objs = new Map<unknown, number>();
    const rows = vmas.map((r) => [...r.v.map(String), objs.get(r.obj) ?? objs.set(r.obj, objs.size).size, JSON.stringify(r.priv)].join(','));
    return JSON.stringify({ rows, bytes, shadow, used: this.dev.sysmem.usedPages, rawEntries: rawEntries(pt) });
  }
}

/** Entry of `vm`'s tree at `level` for `va`, through the shadow's tables (0n when the walk stops). */
export function entry(vm: Vm, va: number, level: number): bigint {
  const pt = vm.pt!;
  let node = pt.root;
  while (node.level > level) {
    const child = node.children[ptIndex(va, node.level)];
    if (!child) return 0n;
    node = child;
  }
  return entryToBigInt(pt.ptm.readEntry(node.pa, ptIndex(va, level)));
}

/** GPU read of 8 bytes as a u64; null on a fault. */
export function gpuRead64(vm: Vm, va: number): bigint | null {
  const r = vm.pt!.mmu.gpuRead(va, 8);
  return r instanceof Uint8Array ? new DataView(r.buffer, r.byteOffset, 8).getBigUint64(0, true) : null;
}

/** GPU write of a u64; false on a fault. */
export function gpuWrite64(vm: Vm, va: number, v: bigint): boolean {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return vm.pt!.mmu.gpuWrite(va, b) === null;
}

/** Raw 64-bit values of every entry of every non-scratch table (catches bits forEachEntry decodes away). */
function rawEntries(pt: NonNullable<Vm['pt']>): string {
  const out: string[] = [];
  const walk = (n: typeof pt.root): void => {
    for (let i = 0; i < n.slots.length; i++) {
      const e = pt.ptm.readEntry(n.pa, i);
      if (e.lo || e.hi) out.push(`${n.pa}.${i}=${e.hi}:${e.lo}`);
    }
    for (const c of n.children) if (c) walk(c);
  };
  walk(pt.root);
  return out.join(' ');
}

/** The struct of ioctl `name` (drm_ + the lowercased tail). */
function ioctlStruct(name: string): string {
  return name.replace('DRM_IOCTL_', 'drm_').toLowerCase();
}
