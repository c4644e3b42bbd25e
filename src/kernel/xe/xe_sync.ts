/**
 * Sync entries of VM_BIND and EXEC (xe_sync.c): parsing a user's `drm_xe_sync` array into
 * in-fences (dependencies) and out-syncs, signalling the out-syncs with a job's fence, user
 * fences, and the in-fence rule of the "no work" path (shared/spec/sync_exec.md 2, 3.3-3.4,
 * newest xe_sync.c).
 *
 * A parsed entry holds a reference on its syncobj until `xeSyncEntryCleanup`. A VM_BIND user
 * fence is a CPU address of the calling process: once the bind's fence signals (with or
 * without an error) it is marked signalled, its value written there, and WAIT_USER_FENCE
 * sleepers woken. EXEC user fences (GPU addresses written by the ring, SYNC_PARSE_FLAG_EXEC)
 * carry no CPU object: the job writes them (xe_sched.ts).
 */
import { EFAULT, EINVAL, ENOENT, EOPNOTSUPP } from '../../uapi/errno.js';
import { decode } from '../../uapi/codec.js';
import { C, layoutOf } from '../../uapi/uapi.js';
import type { Fence } from '../drm/dma_fence.js';
import type { Syncobj, SyncobjHolder } from '../drm/drm_syncobj.js';
import { check, Errno } from '../os/errno.js';
import type { Mm } from '../os/mm.js';
import { getUserU64, putUserU64, type UserMemory } from '../os/uaccess.js';
import type { VmaUfence } from './xe_vma.js';

const TYPE_SYNCOBJ = C('DRM_XE_SYNC_TYPE_SYNCOBJ');
const TYPE_TIMELINE_SYNCOBJ = C('DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ');
const TYPE_USER_FENCE = C('DRM_XE_SYNC_TYPE_USER_FENCE');
const FLAG_SIGNAL = C('DRM_XE_SYNC_FLAG_SIGNAL');
const SYNC_SIZE = layoutOf('drm_xe_sync').size;

/** DRM_XE_MAX_SYNCS: most entries of one VM_BIND. */
export const DRM_XE_MAX_SYNCS = 1024;

/** Parse flags (SYNC_PARSE_FLAG_*): an EXEC (user fences are GPU addresses of the queue's VM). */
export const SYNC_PARSE_FLAG_EXEC = 1 << 0;
/** Parse flags: the VM is long-running. */
export const SYNC_PARSE_FLAG_LR_MODE = 1 << 1;
/** Parse flags: user fences are refused (VM_BIND with num_binds == 0). */
export const SYNC_PARSE_FLAG_DISALLOW_USER_FENCE = 1 << 2;

/** What parsing needs: the file's syncobjs, the caller's memory, and a wake-up for user fences. */
export interface SyncCtx {
  readonly file: SyncobjHolder;
  readonly um: UserMemory;
  /**
   * The caller's memory as a user fence's completion writes it (Task.rawUm): the write is a
   * GPU effect, not a copy of whatever call is being served, so a trace does not record it.
   */
  readonly fenceUm: UserMemory;
  /** Wakes WAIT_USER_FENCE sleepers (the device's wake). */
  readonly wake: () => void;
  /**
   * The caller's address space: a user fence's page is shared with the GPU (Mm.sharePageOf), so
   * under a trace the CPU's loads and stores of it are recorded like those of a BO mapping.
   */
  readonly mm: Pick<Mm, 'sharePageOf'>;
}

/** A VM_BIND user fence (struct xe_user_fence): `value` goes to CPU address `addr` when its fence signals. */
export class XeUserFence implements VmaUfence {
  /** Set just before the value is written (newest xe_sync.c). */
  signalled = false;
  private attached = false;

  constructor(
    readonly addr: bigint,
    readonly value: bigint,
    private readonly um: UserMemory,
    private readonly wake: () => void,
  ) {}

  /** Writes the value once `f` signals; a failed write (the memory is gone) is ignored, waiters are woken anyway. */
  attach(f: Fence): void {
    if (this.attached) return;
    this.attached = true;
    f.onSignal(() => {
      this.signalled = true;
      try {
        putUserU64(this.um, this.addr, this.value);
      } catch (e) {
        if (!(e instanceof Errno)) throw e;
      }
      this.wake();
    });
  }
}

/** One parsed sync (struct xe_sync_entry). */
export interface XeSyncEntry {
  readonly type: number;
  readonly flags: number;
  readonly timelineValue: bigint;
  /** The handle / address union: an EXEC user fence's GPU address. */
  readonly addr: bigint;
  /** The syncobj of a SYNCOBJ / TIMELINE entry (a reference held). */
  syncobj: Syncobj | null;
  /** An in-sync's dependency; null when none (out-syncs, completed timeline points). */
  fence: Fence | null;
  /** A VM_BIND user fence. */
  ufence: XeUserFence | null;
}

/** An out-sync (SIGNAL set). */
export function xeSyncIsSignal(e: XeSyncEntry): boolean {
  return (e.flags & FLAG_SIGNAL) !== 0;
}

/** xe_sync_entry_parse of entry `i` of the array at `syncs`, in the checks' order of sync_exec.md 2.1. */
export function xeSyncEntryParse(c: SyncCtx, syncs: bigint, i: number, parseFlags: number): XeSyncEntry {
  const s = decode('drm_xe_sync', c.um.copyFromUser(syncs + BigInt(i * SYNC_SIZE), SYNC_SIZE));
  const flags = s.flags as number;
  const type = s.type as number;
  const addr = s.addr as bigint;
  const signal = (flags & FLAG_SIGNAL) !== 0;
  const lr = (parseFlags & SYNC_PARSE_FLAG_LR_MODE) !== 0;
  check((flags & ~FLAG_SIGNAL) !== 0, EINVAL, 'drm_xe_sync[%d].flags %x: unknown bits', i, flags);
  check((s.reserved as bigint[]).some((r) => r !== 0n), EINVAL, 'drm_xe_sync[%d].reserved: must be 0', i);
  const e: XeSyncEntry = { type, flags, timelineValue: s.timeline_value as bigint, addr, syncobj: null, fence: null, ufence: null };
  switch (type) {
    case TYPE_SYNCOBJ:
    case TYPE_TIMELINE_SYNCOBJ: {
      const timeline = type === TYPE_TIMELINE_SYNCOBJ;
      check(lr && signal, EOPNOTSUPP, 'drm_xe_sync[%d]: a syncobj out-sync on a long-running VM', i);
      check(addr >> 32n !== 0n, EINVAL, 'drm_xe_sync[%d].handle %x: upper 32 bits set', i, addr);
      check(timeline && e.timelineValue === 0n, EINVAL, 'drm_xe_sync[%d].timeline_value: 0 for a timeline syncobj', i);
      const so = c.file.syncobjs.get(Number(addr));
      check(!so, ENOENT, 'drm_xe_sync[%d].handle %d: no such syncobj', i, addr);
      if (!signal) e.fence = inFence(so!, timeline ? e.timelineValue : 0n, i);
      e.syncobj = so!.get();
      return e;
    }
    case TYPE_USER_FENCE:
      check((parseFlags & SYNC_PARSE_FLAG_DISALLOW_USER_FENCE) !== 0, EOPNOTSUPP, 'drm_xe_sync[%d]: no user fence without binds', i);
      check(!signal, EOPNOTSUPP, 'drm_xe_sync[%d]: a user fence must have SIGNAL', i);
      check((addr & 7n) !== 0n, EINVAL, 'drm_xe_sync[%d].addr %x: not 8-byte aligned', i, addr);
      // An EXEC user fence is a GPU address the ring writes: nothing more to check or create.
      if (parseFlags & SYNC_PARSE_FLAG_EXEC) return e;
      // user_fence_create reads the location once.
      try {
        getUserU64(c.um, addr);
      } catch (err) {
        if (err instanceof Errno && err.errno === EFAULT) throw new Errno(EFAULT, 'drm_xe_sync[%d].addr %x: not readable', i, addr);
        throw err;
      }
      c.mm.sharePageOf(addr);
      e.ufence = new XeUserFence(addr, e.timelineValue, c.fenceUm, c.wake);
      return e;
    default:
      throw new Errno(EINVAL, 'drm_xe_sync[%d].type %d: unknown', i, type);
  }
}

/** The dependency of an in-sync on (syncobj, point): -EINVAL without a fence or a submitted point. */
function inFence(so: Syncobj, point: bigint, i: number): Fence | null {
  check(!so.fence, EINVAL, 'drm_xe_sync[%d]: the syncobj has no fence', i);
  const f = so.find(point);
  check(f === undefined, EINVAL, 'drm_xe_sync[%d].timeline_value %d: not a submitted point', i, point);
  return f!;
}

/**
 * Parses `count` entries at `syncs` in order. On a failure the entries already parsed are
 * released with no side effect and the error is thrown.
 */
export function xeSyncParseAll(c: SyncCtx, syncs: bigint, count: number, parseFlags: number): XeSyncEntry[] {
  const out: XeSyncEntry[] = [];
  try {
    for (let i = 0; i < count; i++) out.push(xeSyncEntryParse(c, syncs, i, parseFlags));
  } catch (e) {
    out.forEach(xeSyncEntryCleanup);
    throw e;
  }
  return out;
}

/** xe_sync_entry_signal: an out-sync gets `f` (a syncobj's content, a timeline point, a user fence's write). */
export function xeSyncEntrySignal(e: XeSyncEntry, f: Fence): void {
  if (!xeSyncIsSignal(e)) return;
  if (e.type === TYPE_SYNCOBJ) e.syncobj!.replace(f);
  else if (e.type === TYPE_TIMELINE_SYNCOBJ) e.syncobj!.addPoint(f, e.timelineValue);
  else if (e.ufence) e.ufence.attach(f);
}

/** xe_sync_entry_cleanup: drops the syncobj reference. */
export function xeSyncEntryCleanup(e: XeSyncEntry): void {
  e.syncobj?.put();
  e.syncobj = null;
}

/** The user fence among `entries`, if any. */
export function xeSyncUfence(entries: readonly XeSyncEntry[]): XeUserFence | null {
  return entries.find((e) => e.ufence)?.ufence ?? null;
}

/**
 * xe_sync_in_fence_get (newest): the fence of a call with no work is `passthrough`; an entry
 * holding a dependency makes it -EOPNOTSUPP.
 */
export function xeSyncInFenceGet(entries: readonly XeSyncEntry[], passthrough: () => Fence): Fence {
  const i = entries.findIndex((e) => e.fence);
  check(i >= 0, EOPNOTSUPP, 'drm_xe_sync[%d]: an in-fence on a call with no work', i);
  return passthrough();
}
