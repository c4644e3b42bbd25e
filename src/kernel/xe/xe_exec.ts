/**
 * DRM_IOCTL_XE_EXEC (xe_exec.c xe_exec_ioctl; shared/spec/sync_exec.md 3.2-3.3, 4): the
 * checks of 4.1 in order, then a job on the scheduler (xe_sched.ts), or the fence
 * passthrough when num_batch_buffer is 0.
 *
 * On a non-LR VM, userptr VMAs the CPU invalidated since the last EXEC are pinned again
 * (step 10, also before the passthrough) and their PTEs rewritten (step 13) before the job is
 * made; a VMA whose CPU pages are gone stays invalidated, so a batch touching it faults.
 *
 * A job depends on its in-syncs, and on a non-LR VM on the queue's last fence (not on the
 * VM's bind jobs: sync_exec.md 3.2). Its out-syncs get the job fence in array order; the
 * last USER_FENCE entry is the job's user fence, written by the ring at its GPU address of
 * the queue's VM once the batch completes (not when the job fails). On a non-LR VM the job
 * fence becomes the queue's last fence.
 */
import { EAGAIN, EFAULT, ECANCELED, EINVAL, ENOENT } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import type { Fence } from '../drm/dma_fence.js';
import type { IoctlDef } from '../drm/drm_ioctl.js';
import { check, Errno, nonZero } from '../os/errno.js';
import { getUserU64Array } from '../os/uaccess.js';
import type { ExecQueue } from './xe_exec_queue.js';
import type { IoctlCtx, XeFile } from './xe_file.js';
import { xeSched, type ExecUfence } from './xe_sched.js';
import {
  DRM_XE_MAX_SYNCS, SYNC_PARSE_FLAG_EXEC, SYNC_PARSE_FLAG_LR_MODE, xeSyncEntryCleanup, xeSyncEntrySignal, xeSyncInFenceGet,
  xeSyncIsSignal, xeSyncParseAll, type XeSyncEntry,
} from './xe_sync.js';
import { userptrCheckRepin, userptrPinInvalidated, userptrRebind } from './xe_userptr.js';
import type { Vm } from './xe_vm.js';
import { xeVmaRebind } from './xe_vm_ops.js';

const TYPE_USER_FENCE = C('DRM_XE_SYNC_TYPE_USER_FENCE');

/** Steps 2-5: the queue, an exec queue of the right width that can still run. */
function execQueue(c: IoctlCtx, numBb: number): ExecQueue {
  const id = c.args.exec_queue_id as number;
  const q = c.file.execQueues.get(id);
  check(!q, ENOENT, '.exec_queue_id %d: no such exec queue', id);
  check(q!.bind, EINVAL, '.exec_queue_id %d: a VM_BIND queue', id);
  check(numBb !== 0 && numBb !== q!.width, EINVAL, '.num_batch_buffer %d: the queue has width %d', numBb, q!.width);
  check(q!.resetStatus(), ECANCELED, '.exec_queue_id %d: the queue was reset, killed or banned', id);
  return q!;
}

/** Step 8: one batch address per slot (the array at `address` for a parallel queue). */
function batchAddresses(c: IoctlCtx, q: ExecQueue): bigint[] {
  const address = c.args.address as bigint;
  if (q.width === 1) return [address];
  try {
    return getUserU64Array(c.um, address, q.width);
  } catch (e) {
    if (e instanceof Errno && e.errno === EFAULT) throw new Errno(EFAULT, '.address %x: %d batch addresses not readable', address, q.width);
    throw e;
  }
}

/** The job's user fence: the last USER_FENCE entry (each overwrites the job's slot). */
function execUfence(syncs: readonly XeSyncEntry[]): ExecUfence | null {
  let uf: ExecUfence | null = null;
  for (const e of syncs) if (e.type === TYPE_USER_FENCE && xeSyncIsSignal(e)) uf = { addr: e.addr, value: e.timelineValue };
  return uf;
}

/** DRM_IOCTL_XE_EXEC. */
function execIoctl(c: IoctlCtx): number {
  const a = c.args;
  const numBb = a.num_batch_buffer as number;
  const numSyncs = a.num_syncs as number;
  check(
    a.extensions !== 0n || nonZero(a.pad) || nonZero(a.reserved) || numSyncs > DRM_XE_MAX_SYNCS,
    EINVAL,
    '.extensions/.pad/.reserved set, or .num_syncs %d above %d',
    numSyncs,
    DRM_XE_MAX_SYNCS,
  );
  const q = execQueue(c, numBb);
  // Every user VM is a Vm; queues see it through QueueVm.
  const vm = q.vm as Vm;
  const parseFlags = SYNC_PARSE_FLAG_EXEC | (vm.lrMode ? SYNC_PARSE_FLAG_LR_MODE : 0);
  const syncs = xeSyncParseAll({ file: c.file, um: c.um, fenceUm: c.proc.rawUm, wake: () => c.dev.wake(), mm: c.proc.mm }, a.syncs as bigint, numSyncs, parseFlags);
  try {
    const batches = batchAddresses(c, q);
    if (!vm.lrMode && userptrCheckRepin(vm)) userptrPinInvalidated(vm);
    if (numBb === 0) return passthrough(q, vm, syncs);
    if (!vm.lrMode) userptrRebind(vm, (va) => xeVmaRebind(vm, va));
    check(vm.closedOrBanned, ECANCELED, '.exec_queue_id %d: its VM is closed or banned', a.exec_queue_id as number);
    check(vm.lrMode && xeSched(c.dev).ringFull(q), EAGAIN, '.exec_queue_id %d: the LR queue\'s ring is full of unfinished jobs', a.exec_queue_id as number);
    submit(q, vm, batches, syncs);
    return 0;
  } finally {
    syncs.forEach(xeSyncEntryCleanup);
  }
}

/**
 * num_batch_buffer == 0 (3.3): on an LR VM nothing happens; otherwise an in-fence is
 * -EOPNOTSUPP, and the out-syncs get the queue's last fence (or a signalled stub).
 */
function passthrough(q: ExecQueue, vm: Vm, syncs: readonly XeSyncEntry[]): number {
  if (vm.lrMode) return 0;
  const f = xeSyncInFenceGet(syncs, () => q.lastFence.get());
  for (const e of syncs) xeSyncEntrySignal(e, f);
  q.lastFence.set(f);
  return 0;
}

/** Steps 17-19: the job with its dependencies, out-syncs signalled, the last fence set, pushed. */
function submit(q: ExecQueue, vm: Vm, batches: bigint[], syncs: readonly XeSyncEntry[]): void {
  const deps: Fence[] = syncs.flatMap((e) => (e.fence ? [e.fence] : []));
  // No implicit wait for the VM's VM_BIND jobs (sync_exec.md 3.2): a batch that should see
  // a bind must take the bind's out-fence as an in-sync, as on the real driver.
  if (!vm.lrMode) deps.push(q.lastFence.get());
  const job = xeSched(q.dev).submit({ q, vm, batches, deps, ufence: execUfence(syncs) });
  for (const e of syncs) xeSyncEntrySignal(e, job.fence);
  if (!vm.lrMode) q.lastFence.set(job.fence);
}

/** EXEC. */
export const EXEC_IOCTLS: IoctlDef<XeFile>[] = [{ name: 'DRM_IOCTL_XE_EXEC', handler: execIoctl }];
