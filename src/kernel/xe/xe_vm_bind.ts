/**
 * DRM_IOCTL_XE_VM_BIND (xe_vm.c xe_vm_bind_ioctl, vm_bind_ioctl_check_args,
 * xe_vm_bind_ioctl_validate_bo, vm_bind_ioctl_signal_fences): the checks in the newest
 * driver's order (shared/spec/vm_bind.md 2.2-2.5, sync_exec.md 9), then the ops
 * (xe_vm_ops.ts) and the bind job.
 *
 * ## Execution model
 *
 * A bind with page-table work is a job on its bind queue (exec_queue_id 0: the VM's default
 * bind queue). At ioctl time the VMA tree changes and the page-table update is staged: the
 * tables it needs are allocated then, so -ENOMEM unwinds everything and the ioctl fails with
 * the VM as it was. The staged entry writes, table frees and TLB invalidations are applied
 * when the job runs: once its in-syncs, its queue's last fence and the VM's previous
 * page-table job have signalled. The job fence then signals; the out-syncs got it at
 * submission, a user fence is written with its value when it signals (and WAIT_USER_FENCE
 * sleepers woken), and it becomes the queue's last fence. The VMAs the bind removed drop
 * their BO references when the job has run. A job that has not run when its VM is closed is
 * cancelled: its fence signals with -ECANCELED and its update is never applied.
 *
 * Upstream orders page-table jobs of different bind queues only where their ranges overlap
 * (range fences); here every page-table job of a VM waits for the VM's previous one, which
 * keeps the staged shadow and the bytes consistent (divergences.md).
 *
 * Without page-table work (num_binds == 0, an empty op list, or only deferred fault-mode
 * MAPs) the "no data" path runs (4.4): out-syncs get the queue's last fence, and an in-fence
 * is -EOPNOTSUPP.
 *
 * Fault injection (DEBUG BIND_FAIL): the N-th VMA creation, page-table step, page-table
 * allocation or job submission of VM_BIND from now fails with -ENOMEM.
 */
import { PAGE_SIZE } from '../../hw/memory.js';
import { PAT_COH_NONE, PAT_RESERVED } from '../../hw/profile.js';
import { decodeArray, type Fields } from '../../uapi/codec.js';
import { ECANCELED, EINVAL, ENOBUFS, ENOENT, ENOEXEC, ENOMEM, EOPNOTSUPP } from '../../uapi/errno.js';
import { C, layoutOf } from '../../uapi/uapi.js';
import type { Fence } from '../drm/dma_fence.js';
import type { IoctlDef } from '../drm/drm_ioctl.js';
import { check, Errno, nonZero } from '../os/errno.js';
import { gemToBo, type Bo } from './xe_bo.js';
import type { XeDevice } from './xe_device.js';
import type { ExecQueue } from './xe_exec_queue.js';
import type { IoctlCtx, XeFile } from './xe_file.js';
import { PXP_KEY_INSTANCE } from './xe_pxp.js';
import type { PtUpdate } from './xe_pt.js';
import {
  DRM_XE_MAX_SYNCS, SYNC_PARSE_FLAG_DISALLOW_USER_FENCE, SYNC_PARSE_FLAG_LR_MODE, xeSyncEntryCleanup, xeSyncEntrySignal,
  xeSyncInFenceGet, xeSyncParseAll, xeSyncUfence, type XeSyncEntry,
} from './xe_sync.js';
import type { Vm } from './xe_vm.js';
import {
  FLAG_CPU_ADDR_MIRROR, FLAG_MADVISE_AUTORESET, FLAG_NULL, OP_MAP, OP_MAP_USERPTR, OP_PREFETCH, OP_UNMAP, OP_UNMAP_ALL,
  REGION_PREF_LOC, VmaOps, type BindOpArgs,
} from './xe_vm_ops.js';
import type { XeVma } from './xe_vma.js';

const FLAG_CHECK_PXP = C('DRM_XE_VM_BIND_FLAG_CHECK_PXP');
const FLAG_DECOMPRESS = C('DRM_XE_VM_BIND_FLAG_DECOMPRESS');
/** SUPPORTED_FLAGS of the newest xe_vm.c: bits 0-7 (READONLY .. DECOMPRESS). */
const SUPPORTED_FLAGS = 0xff;
const CACHING_WB = C('DRM_XE_GEM_CPU_CACHING_WB');
const OP_SIZE = layoutOf('drm_xe_vm_bind_op').size;
/** kvmalloc refuses more than INT_MAX bytes. */
const INT_MAX = 2 ** 31 - 1;
/** Bind ops copied from user memory per copy_from_user. */
const OPS_PER_COPY = 1024;
const PAGE = BigInt(PAGE_SIZE);
const SZ_64K = 0x10000n;

// ---- fault injection

/** Steps left until the injected failure, per device (0: none armed). */
const injections = new WeakMap<XeDevice, { left: number }>();

/**
 * DEBUG BIND_FAIL: makes the `n`-th injection point of VM_BIND from now fail with -ENOMEM
 * (0 disarms). Returns the steps that were left of the previous setting (0: it fired or none
 * was armed).
 */
export function bindFailInject(dev: XeDevice, n: number): number {
  const s = injections.get(dev) ?? { left: 0 };
  const had = s.left;
  s.left = n;
  injections.set(dev, s);
  return had;
}

/** The injection hook of `dev`: true at the armed step (which disarms it). */
function injector(dev: XeDevice): () => boolean {
  return () => {
    const s = injections.get(dev);
    return !!s && s.left > 0 && --s.left === 0;
  };
}

// ---- bind jobs

/** The fence of each VM's last page-table job: every job waits for its VM's previous one. */
const lastPtJob = new WeakMap<Vm, Fence>();

/** A bind job (the PT update job of xe_pt_update_ops_run) on a bind queue. */
class BindJob {
  readonly fence: Fence;
  private done = false;

  /** Submits the job: it runs once all of `deps` have signalled (now, if they have). */
  constructor(
    private readonly vm: Vm,
    private readonly update: PtUpdate,
    private readonly removed: readonly XeVma[],
    deps: readonly Fence[],
  ) {
    this.fence = vm.dev.fences.create({ name: 'vm_bind' });
    vm.get();
    vm.pendingBinds.add(this);
    lastPtJob.set(vm, this.fence);
    vm.dev.fences.array(deps).onSignal(() => this.run());
  }

  /** The job runs: the page-table bytes change, the TLBs are invalidated, the fence signals. */
  private run(): void {
    if (this.done) return;
    if (this.vm.closed) return this.cancel();
    this.vm.pt!.apply(this.update);
    this.end(0);
  }

  /** The VM was closed before the job ran: the fence signals with -ECANCELED. */
  cancel(): void {
    if (!this.done) this.end(ECANCELED);
  }

  /** Ends the job; `errno` (positive, 0 for success) becomes the fence's error. */
  private end(errno: number): void {
    this.done = true;
    this.vm.pendingBinds.delete(this);
    for (const va of this.removed) va.obj?.put();
    this.vm.put();
    this.fence.signal(errno ? -errno : 0);
  }
}

// ---- checks

/** Step 2.3: the bind ops (the inline one, or the array at vector_of_binds). */
function copyBindOps(c: IoctlCtx): Fields[] {
  const a = c.args;
  const n = a.num_binds as number;
  if (n === 0) return [];
  if (n === 1) return [a.bind as Fields];
  check(n * OP_SIZE > INT_MAX, ENOBUFS, '.num_binds %d: the op array does not fit one allocation', n);
  // Copied a piece at a time: an array that runs past the caller's memory faults (-EFAULT, as
  // upstream's copy_from_user after kvmalloc) without the worker first allocating up to 2 GiB.
  const ops: Fields[] = [];
  for (let i = 0; i < n; i += OPS_PER_COPY) {
    const k = Math.min(OPS_PER_COPY, n - i);
    const bytes = c.um.copyFromUser((a.vector_of_binds as bigint) + BigInt(i * OP_SIZE), k * OP_SIZE);
    for (const op of decodeArray('drm_xe_vm_bind_op', bytes, k)) ops.push(op);
  }
  return ops;
}

/** Whether PAT index `pat` enables compression (xe_pat_index_get_comp_en). */
function patCompressed(dev: XeDevice, pat: number): boolean {
  return dev.profile.patCompressed?.includes(pat) ?? false;
}

/** Step 3: the static checks of op `i` (vm_bind_ioctl_check_args loop), in the driver's order. */
function checkBindOp(dev: XeDevice, vm: Vm, b: Fields, i: number): void {
  const p = dev.profile;
  const op = b.op as number;
  const flags = b.flags as number;
  const obj = b.obj as number;
  const offset = b.obj_offset as bigint;
  const addr = b.addr as bigint;
  const range = b.range as bigint;
  const pat = b.pat_index as number;
  const region = (b.prefetch_mem_region_instance as number) >>> 0;
  const nul = (flags & FLAG_NULL) !== 0;
  const mirror = (flags & FLAG_CPU_ADDR_MIRROR) !== 0;
  const decompress = (flags & FLAG_DECOMPRESS) !== 0;
  const R = 'drm_xe_vm_bind_op[%d]';
  check(mirror && (!vm.faultMode || !p.hasCpuAddrMirror), EINVAL, `${R}: CPU_ADDR_MIRROR outside a fault-mode VM`, i);
  check(pat >= p.pat.length, EINVAL, `${R}.pat_index %d: at or above n_entries %d`, i, pat, p.pat.length);
  const coh = p.pat[pat];
  check(coh === PAT_RESERVED, EINVAL, `${R}.pat_index %d: a reserved PAT entry`, i, pat);
  const comp = patCompressed(dev, pat);
  const bad =
    op > OP_PREFETCH ? 'unknown op'
    : flags & ~SUPPORTED_FLAGS ? 'unknown flag bits'
    : obj && (nul || mirror) ? 'obj with NULL or CPU_ADDR_MIRROR'
    : offset && (nul || mirror) ? 'obj_offset with NULL or CPU_ADDR_MIRROR'
    : op !== OP_MAP && (nul || mirror || decompress) ? 'NULL, CPU_ADDR_MIRROR or DECOMPRESS on an op other than MAP'
    : decompress && comp ? 'DECOMPRESS with a compressed PAT index'
    : !obj && op === OP_MAP && !nul && !mirror ? 'MAP without obj, NULL or CPU_ADDR_MIRROR'
    : !obj && op === OP_UNMAP_ALL ? 'UNMAP_ALL without obj'
    : addr && op === OP_UNMAP_ALL ? 'UNMAP_ALL with addr'
    : range && op === OP_UNMAP_ALL ? 'UNMAP_ALL with range'
    : obj && op === OP_MAP_USERPTR ? 'MAP_USERPTR with obj'
    : coh === PAT_COH_NONE && op === OP_MAP_USERPTR ? 'MAP_USERPTR with a non-coherent PAT index'
    : !p.isDgfx && coh === PAT_COH_NONE && mirror ? 'CPU_ADDR_MIRROR with a non-coherent PAT index on an iGPU'
    : comp && op === OP_MAP_USERPTR ? 'MAP_USERPTR with a compressed PAT index'
    : obj && op === OP_PREFETCH ? 'PREFETCH with obj'
    : region && op !== OP_PREFETCH ? 'prefetch_mem_region_instance on an op other than PREFETCH'
    : region !== REGION_PREF_LOC && (region >= 32 || !(dev.memRegionMask & (1 << region))) ? 'prefetch region not in the device'
    : obj && op === OP_UNMAP ? 'UNMAP with obj'
    : flags & FLAG_MADVISE_AUTORESET && (!mirror || op !== OP_MAP) ? 'MADVISE_AUTORESET without CPU_ADDR_MIRROR on MAP'
    : (offset | addr | range) % PAGE ? 'obj_offset, addr or range not page aligned'
    : !range && op !== OP_UNMAP_ALL ? 'range 0'
    : null;
  check(bad !== null, EINVAL, `${R}: %s (flags %x)`, i, bad ?? "", flags);
  check(
    decompress && (!p.hasFlatCcs || p.graphicsVer[0] < 20 || !p.isDgfx),
    EOPNOTSUPP,
    `${R}.flags: DECOMPRESS needs a discrete Xe2+ device with flat CCS`,
    i,
  );
}

/** Step 4: the bind queue (to_wait_exec_queue): the given VM_BIND queue of this VM, or the VM's default one. */
function bindQueue(c: IoctlCtx, vm: Vm): ExecQueue {
  const id = c.args.exec_queue_id as number;
  if (id === 0) return vm.defaultBindQueue!;
  const q = c.file.execQueues.get(id);
  check(!q, ENOENT, '.exec_queue_id %d: no such exec queue', id);
  check(!q!.bind, EINVAL, '.exec_queue_id %d: not a VM_BIND queue', id);
  check(q!.vm !== vm, EINVAL, '.exec_queue_id %d: a bind queue of another VM', id);
  return q!;
}

/** Step 10: the BO of op `i` (-ENOENT) and xe_vm_bind_ioctl_validate_bo. */
function lookupBo(c: IoctlCtx, b: Fields, i: number): Bo {
  const dev = c.dev;
  const handle = b.obj as number;
  const obj = c.file.objects.get(handle);
  check(!obj, ENOENT, 'drm_xe_vm_bind_op[%d].obj %d: no such object', i, handle);
  const bo = gemToBo(obj!);
  const op = b.op as number;
  const offset = b.obj_offset as bigint;
  const addr = b.addr as bigint;
  const range = b.range as bigint;
  const pat = b.pat_index as number;
  const size = BigInt(bo.size);
  const comp = patCompressed(dev, pat);
  const imported = bo.dev !== dev;
  const caching = imported ? 0 : bo.cpuCaching;
  const R = 'drm_xe_vm_bind_op[%d]';
  check(bo.noCompression && comp, EINVAL, `${R}.pat_index %d: compressed, the BO was created with NO_COMPRESSION`, i, pat);
  check(range > size, EINVAL, `${R}.range %x: larger than the BO (%x)`, i, range, size);
  check(offset > size - range, EINVAL, `${R}.obj_offset %x: range %x does not fit the BO`, i, offset, range);
  const internal64K = (bo.placement & ~1) !== 0 && dev.profile.vram64k;
  check(internal64K && (offset | addr | range) % SZ_64K !== 0n, EINVAL, `${R}: obj_offset, addr or range not 64K aligned for a VRAM BO`, i);
  const coh = dev.profile.pat[pat];
  check(coh === PAT_COH_NONE && (caching === CACHING_WB || caching === 0), EINVAL, `${R}.pat_index %d: not coherent, the BO's CPU caching is %d`, i, pat, caching);
  check(imported && comp, EINVAL, `${R}.pat_index %d: compressed, on an imported dma-buf`, i, pat);
  const pxpStale = bo.pxpKeyInstance !== 0 && bo.pxpKeyInstance !== PXP_KEY_INSTANCE;
  check(
    ((b.flags as number) & FLAG_CHECK_PXP) !== 0 && pxpStale && op !== OP_UNMAP && op !== OP_UNMAP_ALL,
    ENOEXEC,
    `${R}: CHECK_PXP and the BO's PXP key is no longer valid`,
    i,
  );
  return bo;
}

/** The checked arguments of op `b`. */
function bindOpArgs(b: Fields, bo: Bo | null): BindOpArgs {
  return {
    op: b.op as number,
    flags: b.flags as number,
    bo,
    offset: b.obj_offset as bigint,
    addr: b.addr as bigint,
    range: b.range as bigint,
    patIndex: b.pat_index as number,
    region: (b.prefetch_mem_region_instance as number) >>> 0,
  };
}

// ---- the ioctl

/** DRM_IOCTL_XE_VM_BIND. */
function vmBindIoctl(c: IoctlCtx): number {
  const a = c.args;
  const vm = c.file.vms.get(a.vm_id as number);
  check(!vm, EINVAL, '.vm_id %d: no such VM', a.vm_id as number);
  check(a.pad !== 0 || a.pad2 !== 0 || nonZero(a.reserved), EINVAL, '.pad/.pad2/.reserved: must be 0');
  check(a.extensions !== 0n, EINVAL, '.extensions %x: VM_BIND has no extensions', a.extensions as bigint);
  check((a.num_syncs as number) > DRM_XE_MAX_SYNCS, EINVAL, '.num_syncs %d: above %d', a.num_syncs as number, DRM_XE_MAX_SYNCS);
  const binds = copyBindOps(c);
  binds.forEach((b, i) => checkBindOp(c.dev, vm!, b, i));
  const q = bindQueue(c, vm!);
  check(vm!.closedOrBanned, ENOENT, '.vm_id %d: the VM is closed or banned', a.vm_id as number);
  binds.forEach((b, i) => {
    const range = b.range as bigint;
    const addr = b.addr as bigint;
    check(range > vm!.size || addr > vm!.size - range, EINVAL, 'drm_xe_vm_bind_op[%d]: [%x, +%x) outside the VM', i, addr, range);
  });
  const args = binds.map((b, i) => bindOpArgs(b, b.obj ? lookupBo(c, b, i) : null));
  const parseFlags = (vm!.lrMode ? SYNC_PARSE_FLAG_LR_MODE : 0) | (binds.length === 0 ? SYNC_PARSE_FLAG_DISALLOW_USER_FENCE : 0);
  const syncs = xeSyncParseAll({ file: c.file, um: c.um, fenceUm: c.proc.rawUm, wake: () => c.dev.wake(), mm: c.proc.mm }, a.syncs as bigint, a.num_syncs as number, parseFlags);
  try {
    const ufences = syncs.filter((e) => e.ufence).length;
    check(ufences > 1, EINVAL, '.syncs: %d user fences, at most 1', ufences);
    if (binds.length === 0) return noData(syncs, q, null);
    return execute(c, vm!, q, args, syncs);
  } finally {
    syncs.forEach(xeSyncEntryCleanup);
  }
}

/** Steps 13-14 and S9: ops, page-table staging, the job. */
function execute(c: IoctlCtx, vm: Vm, q: ExecQueue, args: readonly BindOpArgs[], syncs: XeSyncEntry[]): number {
  const inject = injector(c.dev);
  const vops = new VmaOps(vm, c.um, inject, c.proc.mm);
  try {
    for (const b of args) vops.createAndCommit(b);
    if (!vops.prefetchSvm()) return noData(syncs, q, vops);
    vops.prepare();
    if (vops.hasPtWork()) {
      vops.stagePt();
      if (inject()) throw new Errno(ENOMEM, 'no memory for the bind job (injected)');
    }
  } catch (e) {
    vops.unwind();
    throw e;
  }
  if (!vops.update) return noData(syncs, q, vops);
  const removed = vops.finish(xeSyncUfence(syncs));
  const deps = syncs.flatMap((e) => (e.fence ? [e.fence] : []));
  deps.push(q.lastFence.get());
  const prev = lastPtJob.get(vm);
  if (prev) deps.push(prev);
  const job = new BindJob(vm, vops.update, removed, deps);
  for (const e of syncs) xeSyncEntrySignal(e, job.fence);
  q.lastFence.set(job.fence);
  return 0;
}

/**
 * The "no data" path (4.4, vm_bind_ioctl_signal_fences): committed ops are finished with no
 * job (removed VMAs destroyed at once); out-syncs get the queue's last fence; an in-fence is
 * -EOPNOTSUPP (the tree changes stay).
 */
function noData(syncs: XeSyncEntry[], q: ExecQueue, vops: VmaOps | null): number {
  if (vops) for (const va of vops.finish(xeSyncUfence(syncs))) va.obj?.put();
  if (syncs.length === 0) return 0;
  const f = xeSyncInFenceGet(syncs, () => q.lastFence.get());
  for (const e of syncs) xeSyncEntrySignal(e, f);
  return 0;
}

/** VM_BIND. */
export const VM_BIND_IOCTLS: IoctlDef<XeFile>[] = [{ name: 'DRM_IOCTL_XE_VM_BIND', handler: vmBindIoctl }];
