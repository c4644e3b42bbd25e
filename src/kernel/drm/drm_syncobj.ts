/**
 * DRM sync objects (drm_syncobj.c): a container for nothing, a binary fence or a timeline
 * of chain nodes, per-file handles, sync_file / syncobj fds, and every SYNCOBJ ioctl with
 * the checks in the order and with the errnos of shared/spec/sync_exec.md section 8 (newest
 * upstream behaviour).
 */
import { EBADF, EINVAL, ENOENT, ENOMEM, ENOSPC, ETIME } from '../../uapi/errno.js';
import { C } from '../../uapi/uapi.js';
import { Errno, fail } from '../os/errno.js';
import { EventFd } from '../os/eventfd.js';
import { KFile } from '../os/file.js';
import type { IdTable } from '../os/idr.js';
import { getUserU32Array, getUserU64Array, putUserU64 } from '../os/uaccess.js';
import type { Wait } from '../os/wait.js';
import { ChainNode, chainFindSeqno, chainIter, unwrapMerge, type Fence, type FenceDomain } from './dma_fence.js';
import type { IoctlCtx, IoctlDef, IoctlFile } from './drm_ioctl.js';

const CREATE_SIGNALED = C('DRM_SYNCOBJ_CREATE_SIGNALED');
const EXPORT_SYNC_FILE = C('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE');
const EXPORT_TIMELINE = C('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE');
const IMPORT_SYNC_FILE = C('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE');
const IMPORT_TIMELINE = C('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE');
const WAIT_ALL = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL');
const WAIT_FOR_SUBMIT = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT');
const WAIT_AVAILABLE = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE');
const WAIT_DEADLINE = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE');
const QUERY_LAST_SUBMITTED = C('DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED');

/** How long TRANSFER with WAIT_FOR_SUBMIT waits for the source point (DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT). */
export const WAIT_FOR_SUBMIT_TIMEOUT_NS = 5_000_000_000n;
/** One scheduler tick; the emulated kernel runs at HZ = 1000. */
export const JIFFY_NS = 1_000_000n;
/** Largest kmalloc (order-10 pages): bigger handle / point arrays fail with -ENOMEM. */
const KMALLOC_MAX = 4 << 20;

/**
 * A wait for a (syncobj, point) to get a fence (WAIT_FOR_SUBMIT / WAIT_AVAILABLE, the
 * kernel's syncobj_wait_entry on cb_list). `fence` is set once the point resolves.
 */
export interface SubmitWaiter {
  point: bigint;
  fence: Fence | null;
}

interface EventfdEntry {
  ev: EventFd;
  point: bigint;
  flags: number;
}

/** A clock: CLOCK_MONOTONIC in ns. */
interface Clock {
  now(): bigint;
}

/** The part of a DRM device syncobjs work on: its fence domain and clock. */
export interface SyncobjDevice extends Clock {
  readonly fences: FenceDomain;
}

/** The part of a DRM file syncobjs work on: its handle table (drm_file.syncobj_idr). */
export interface SyncobjHolder extends IoctlFile {
  readonly dev: SyncobjDevice;
  readonly syncobjs: IdTable<Syncobj>;
}

type Ctx = IoctlCtx<SyncobjHolder>;

/** A sync object. Reference counted: handles, syncobj fds and in-flight users each hold one. */
export class Syncobj {
  private refs = 1;
  private content: Fence | null = null;
  private readonly waiters = new Set<SubmitWaiter>();
  private eventfds: EventfdEntry[] = [];

  constructor(readonly domain: FenceDomain) {}

  /** The current content: null (empty), a binary fence, or the timeline's head chain node. */
  get fence(): Fence | null {
    return this.content;
  }

  /** Takes a reference. */
  get(): this {
    this.refs++;
    return this;
  }

  /** Drops a reference; the last one empties the object and drops its eventfd registrations. */
  put(): void {
    if (--this.refs !== 0) return;
    this.replace(null);
    for (const e of this.eventfds) e.ev.put();
    this.eventfds = [];
  }

  /**
   * Resolves `point` (sync_exec.md 8.1, dma_fence_chain_find_seqno): point 0 is the content
   * as is; undefined = missing (no content, not a timeline, or not yet submitted); null =
   * everything up to the point has completed (callers use a signalled stub).
   */
  find(point: bigint): Fence | null | undefined {
    return this.content ? chainFindSeqno(this.content, point) : undefined;
  }

  /** Like find, with a signalled stub for an already-complete point (drm_syncobj_find_fence). */
  findFence(point: bigint): Fence | undefined {
    const r = this.find(point);
    return r === undefined ? undefined : (r ?? this.domain.stub());
  }

  /** drm_syncobj_replace_fence: the whole content becomes `f` (or nothing). */
  replace(f: Fence | null): void {
    const old = this.content;
    this.content = f;
    if (f !== old) this.changed();
  }

  /** drm_syncobj_add_point: appends timeline point `point` carrying `f` (unordered points allowed). */
  addPoint(f: Fence, point: bigint): void {
    const prev = this.content;
    this.content = this.domain.chain(prev, f, point);
    this.changed();
    // One walk over the old timeline unlinks what has completed, as the kernel does.
    if (prev) for (const it of chainIter(prev)) void it;
  }

  /** Content is a signalled stub (SIGNAL, CREATE_SIGNALED). */
  signalStub(): void {
    this.replace(this.domain.stub());
  }

  /** Registers a wait for `point` to resolve; `fence` is set at once if it already does. */
  addSubmitWaiter(w: SubmitWaiter): void {
    if (w.fence) return;
    const f = this.findFence(w.point);
    if (f) w.fence = f;
    else this.waiters.add(w);
  }

  /** Removes a registration of addSubmitWaiter. */
  removeSubmitWaiter(w: SubmitWaiter): void {
    this.waiters.delete(w);
  }

  /** Registers an eventfd (taking over the caller's reference) for `point` (SYNCOBJ_EVENTFD). */
  addEventfd(ev: EventFd, point: bigint, flags: number): void {
    const e = { ev, point, flags };
    this.eventfds.push(e);
    this.evalEventfd(e);
  }

  /**
   * The QUERY value: 0 unless the content is a timeline; the head point with
   * LAST_SUBMITTED; else the highest point up to which everything has signalled, walking
   * back only within the head's context.
   */
  queryPoint(lastSubmitted: boolean): bigint {
    const head = this.content;
    if (!(head instanceof ChainNode)) return 0n;
    if (lastSubmitted) return head.seqno;
    let last: ChainNode = head;
    for (const it of chainIter(head)) {
      if (it.context !== head.context || !(it instanceof ChainNode)) break;
      last = it;
    }
    return last.signaled ? last.seqno : last.prevSeqno;
  }

  /** Content changed: re-evaluate submit waiters and eventfds, wake parked calls. */
  private changed(): void {
    for (const w of [...this.waiters]) {
      const f = this.findFence(w.point);
      if (!f) continue;
      w.fence = f;
      this.waiters.delete(w);
    }
    for (const e of [...this.eventfds]) this.evalEventfd(e);
    this.domain.wake();
  }

  /** syncobj_eventfd_entry_func: once the point exists, signal now (AVAILABLE) or when its fence does. */
  private evalEventfd(e: EventfdEntry): void {
    const f = this.findFence(e.point);
    if (!f) return;
    this.eventfds = this.eventfds.filter((x) => x !== e);
    const fire = (): void => {
      e.ev.signal(1n);
      e.ev.put();
    };
    if (e.flags & WAIT_AVAILABLE) fire();
    else f.onSignal(fire);
  }
}

/** An fd exported by HANDLE_TO_FD: shares the syncobj (holds a reference). */
export class SyncobjFile extends KFile {
  readonly kind = 'syncobj';

  constructor(readonly syncobj: Syncobj) {
    super();
  }

  protected release(): void {
    this.syncobj.put();
  }
}

/** A sync_file: an fd holding one fence (EXPORT_SYNC_FILE / IMPORT_SYNC_FILE). */
export class SyncFile extends KFile {
  readonly kind = 'sync_file';

  constructor(readonly fence: Fence) {
    super();
  }

  protected release(): void {}
}

// ---- helpers

function num(v: unknown): number {
  return Number(v as number | bigint);
}

function big(v: unknown): bigint {
  return BigInt(v as number | bigint);
}

/**
 * drm_timeout_abs_to_jiffies as a deadline: null = poll (0, or a time not after now);
 * otherwise the absolute CLOCK_MONOTONIC ns, rounded up by one tick.
 */
export function absTimeoutDeadline(dev: Clock, timeoutNs: bigint): bigint | null {
  if (timeoutNs === 0n) return null;
  const now = dev.now();
  if (timeoutNs <= now) return null;
  return now + ((timeoutNs - now) / JIFFY_NS + 1n) * JIFFY_NS;
}

function lookup(c: Ctx, handle: unknown): Syncobj | undefined {
  return c.file.syncobjs.get(num(handle));
}

/** kmalloc_array(count, size) fails (-ENOMEM) past the largest kmalloc. */
function kmallocArray(count: number, size: number): void {
  if (count * size > KMALLOC_MAX) throw new Errno(ENOMEM, 'count_handles %d: array of %d-byte entries over the kmalloc limit', count, size);
}

/**
 * drm_syncobj_array_find: the u32 handle array (too big -> -ENOMEM, then its copy -> -EFAULT),
 * then the array of syncobj pointers (count > 524288 -> -ENOMEM), then each lookup (-ENOENT
 * at the first miss).
 */
function lookupArray(c: Ctx, ptr: bigint, count: number): Syncobj[] {
  kmallocArray(count, 4);
  const handles = getUserU32Array(c.um, ptr, count);
  kmallocArray(count, 8);
  return handles.map((h, i) => {
    const s = c.file.syncobjs.get(h);
    if (!s) throw new Errno(ENOENT, 'handles[%d] %d: no such syncobj', i, h);
    return s;
  });
}

/** A user array of `count` points (too big -> -ENOMEM); a NULL pointer means all zeros. */
function copyPoints(c: Ctx, ptr: bigint, count: number): bigint[] {
  kmallocArray(count, 8);
  return ptr === 0n ? new Array<bigint>(count).fill(0n) : getUserU64Array(c.um, ptr, count);
}

/** Bytes of one struct syncobj_wait_entry (list_head, task, fence, dma_fence_cb, point) on 64-bit. */
const WAIT_ENTRY_SIZE = 64;

/**
 * drm_syncobj_array_wait_timeout's allocations: the points (copied from `ptr`, or zeros for
 * WAIT), then one wait entry per handle (count > 65536 -> -ENOMEM).
 */
function waitPoints(c: Ctx, ptr: bigint, count: number): bigint[] {
  const points = copyPoints(c, ptr, count);
  kmallocArray(count, WAIT_ENTRY_SIZE);
  return points;
}

// ---- ioctls

function create(c: Ctx): number {
  const flags = num(c.args.flags);
  if (flags & ~CREATE_SIGNALED) return fail(EINVAL, '.flags %x: unknown bits %x', flags, flags & ~CREATE_SIGNALED);
  const s = new Syncobj(c.dev.fences);
  if (flags & CREATE_SIGNALED) s.signalStub();
  const h = c.file.syncobjs.alloc(s);
  if (h < 0) {
    s.put();
    return fail(ENOSPC, 'syncobj handle table full');
  }
  c.args.handle = h;
  return 0;
}

function destroy(c: Ctx): number {
  if (num(c.args.pad)) return fail(EINVAL, '.pad %x: must be 0', num(c.args.pad));
  const s = c.file.syncobjs.remove(num(c.args.handle));
  if (!s) return fail(EINVAL, '.handle %d: no such syncobj', num(c.args.handle));
  s.put();
  return 0;
}

function handleToFd(c: Ctx): number {
  const a = c.args;
  const flags = num(a.flags);
  if (num(a.pad)) return fail(EINVAL, '.pad %x: must be 0', num(a.pad));
  if (flags & ~(EXPORT_SYNC_FILE | EXPORT_TIMELINE)) return fail(EINVAL, '.flags %x: unknown bits', flags);
  const point = flags & EXPORT_TIMELINE ? big(a.point) : 0n;
  if (flags & EXPORT_SYNC_FILE) {
    // drm_syncobj_export_sync_file reserves the fd first: a full table is -EMFILE before the lookup.
    a.fd = c.proc.installNewFd(() => {
      const s = lookup(c, a.handle);
      if (!s) throw new Errno(ENOENT, '.handle %d: no such syncobj', num(a.handle));
      const f = s.findFence(point);
      if (!f) throw new Errno(EINVAL, '.handle %d point %d: no fence to export', num(a.handle), point);
      return new SyncFile(f);
    });
    return 0;
  }
  // Without EXPORT_SYNC_FILE a point is invalid whatever the TIMELINE flag (the March 2026
  // relaxation to "only with TIMELINE" was reverted upstream).
  if (big(a.point) !== 0n) return fail(EINVAL, '.point %d: set without EXPORT_SYNC_FILE', big(a.point));
  const s = lookup(c, a.handle);
  if (!s) return fail(EINVAL, '.handle %d: no such syncobj', num(a.handle));
  a.fd = c.proc.installFd(new SyncobjFile(s.get()));
  return 0;
}

function fdToHandle(c: Ctx): number {
  const a = c.args;
  const flags = num(a.flags);
  if (num(a.pad)) return fail(EINVAL, '.pad %x: must be 0', num(a.pad));
  if (flags & ~(IMPORT_SYNC_FILE | IMPORT_TIMELINE)) return fail(EINVAL, '.flags %x: unknown bits', flags);
  const point = flags & IMPORT_TIMELINE ? big(a.point) : 0n;
  const file = c.proc.fds.get(num(a.fd));
  if (flags & IMPORT_SYNC_FILE) {
    if (!(file instanceof SyncFile)) return fail(EINVAL, '.fd %d: not a sync_file', num(a.fd));
    const s = lookup(c, a.handle);
    if (!s) return fail(ENOENT, '.handle %d: no such syncobj', num(a.handle));
    if (point) s.addPoint(file.fence, point);
    else s.replace(file.fence);
    return 0;
  }
  if (big(a.point) !== 0n) return fail(EINVAL, '.point %d: set without IMPORT_SYNC_FILE', big(a.point));
  if (!(file instanceof SyncobjFile)) return fail(EINVAL, '.fd %d: not a syncobj file', num(a.fd));
  const h = c.file.syncobjs.alloc(file.syncobj.get());
  if (h < 0) {
    file.syncobj.put();
    return fail(ENOSPC, 'syncobj handle table full');
  }
  a.handle = h;
  return 0;
}

/**
 * drm_syncobj_array_wait_timeout: an initial scan (missing fence -> -EINVAL unless
 * WAIT_FOR_SUBMIT / WAIT_AVAILABLE), then wait until all (WAIT_ALL) or one entry is done.
 * `done(first)` writes first_signaled on success only.
 */
function arrayWait(
  objs: Syncobj[],
  points: bigint[],
  flags: number,
  deadline: bigint | null,
  done: (first: number) => void,
): number | Wait {
  const count = objs.length;
  const all = (flags & WAIT_ALL) !== 0;
  const available = (flags & WAIT_AVAILABLE) !== 0;
  const forSubmit = (flags & (WAIT_FOR_SUBMIT | WAIT_AVAILABLE)) !== 0;
  const entries: SubmitWaiter[] = points.map((point) => ({ point, fence: null }));
  let first = 0xffffffff;
  let signaled = 0;
  for (let i = 0; i < count; i++) {
    const f = objs[i].findFence(points[i]);
    if (!f) {
      if (forSubmit) continue;
      return fail(EINVAL, 'handles[%d] point %d: no fence (no WAIT_FOR_SUBMIT)', i, points[i]);
    }
    entries[i].fence = f;
    if (available || f.signaled) {
      if (signaled === 0) first = i;
      signaled++;
    }
  }
  if (signaled === count || (signaled > 0 && !all)) {
    done(first);
    return 0;
  }
  if (forSubmit) entries.forEach((e, i) => objs[i].addSubmitWaiter(e));
  const check = (): boolean => {
    let n = 0;
    for (let i = 0; i < count; i++) {
      const f = entries[i].fence;
      if (!f || !(available || f.signaled)) continue;
      if (!all) {
        first = i;
        return true;
      }
      n++;
    }
    return n === count;
  };
  const release = (): void => entries.forEach((e, i) => objs[i].removeSubmitWaiter(e));
  const end = (ok: boolean): number => {
    release();
    if (!ok) return fail(ETIME, 'timed out before the fences signalled');
    done(first);
    return 0;
  };
  if (check()) return end(true);
  if (deadline === null) return end(false);
  return {
    deadline,
    poll: () => (check() ? end(true) : null),
    expire: () => end(check()),
    cancel: release,
  };
}

function wait(c: Ctx): number | Wait {
  const a = c.args;
  const flags = num(a.flags);
  if (flags & ~(WAIT_ALL | WAIT_FOR_SUBMIT | WAIT_DEADLINE)) return fail(EINVAL, '.flags %x: unknown bits', flags);
  const count = num(a.count_handles);
  if (count === 0) return 0;
  const objs = lookupArray(c, big(a.handles), count);
  // WAIT_DEADLINE only sets a deadline hint on the fences: no effect here.
  const deadline = absTimeoutDeadline(c.dev, big(a.timeout_nsec));
  const points = waitPoints(c, 0n, count);
  return arrayWait(objs, points, flags, deadline, (first) => (a.first_signaled = first));
}

function timelineWait(c: Ctx): number | Wait {
  const a = c.args;
  const flags = num(a.flags);
  if (flags & ~(WAIT_ALL | WAIT_FOR_SUBMIT | WAIT_AVAILABLE | WAIT_DEADLINE)) return fail(EINVAL, '.flags %x: unknown bits', flags);
  const count = num(a.count_handles);
  if (count === 0) return 0;
  const objs = lookupArray(c, big(a.handles), count);
  const deadline = absTimeoutDeadline(c.dev, big(a.timeout_nsec));
  const points = waitPoints(c, big(a.points), count);
  return arrayWait(objs, points, flags, deadline, (first) => (a.first_signaled = first));
}

function resetOrSignal(c: Ctx, op: (s: Syncobj) => void): number {
  const a = c.args;
  if (num(a.pad)) return fail(EINVAL, '.pad %x: must be 0', num(a.pad));
  const count = num(a.count_handles);
  if (count === 0) return fail(EINVAL, '.count_handles: 0');
  const objs = lookupArray(c, big(a.handles), count);
  objs.forEach(op);
  return 0;
}

function timelineSignal(c: Ctx): number {
  const a = c.args;
  if (num(a.flags)) return fail(EINVAL, '.flags %x: must be 0', num(a.flags));
  const count = num(a.count_handles);
  if (count === 0) return fail(EINVAL, '.count_handles: 0');
  const objs = lookupArray(c, big(a.handles), count);
  const points = copyPoints(c, big(a.points), count);
  objs.forEach((s, i) => s.addPoint(c.dev.fences.stub(), points[i]));
  return 0;
}

function query(c: Ctx): number {
  const a = c.args;
  const flags = num(a.flags);
  if (flags & ~QUERY_LAST_SUBMITTED) return fail(EINVAL, '.flags %x: unknown bits', flags);
  const count = num(a.count_handles);
  if (count === 0) return fail(EINVAL, '.count_handles: 0');
  const objs = lookupArray(c, big(a.handles), count);
  const ptr = big(a.points);
  // One write per entry: a fault stops here with -EFAULT, earlier points stay written.
  objs.forEach((s, i) => putUserU64(c.um, ptr + 8n * BigInt(i), s.queryPoint((flags & QUERY_LAST_SUBMITTED) !== 0)));
  return 0;
}

function transfer(c: Ctx): number | Wait {
  const a = c.args;
  if (num(a.pad)) return fail(EINVAL, '.pad %x: must be 0', num(a.pad));
  const dst = lookup(c, a.dst_handle);
  if (!dst) return fail(ENOENT, '.dst_handle %d: no such syncobj', num(a.dst_handle));
  // drm_syncobj_find_fence looks the source up before it checks the flags (newest order,
  // sync_exec.md 11): an unknown source with bad flags is -ENOENT.
  const src = lookup(c, a.src_handle);
  if (!src) return fail(ENOENT, '.src_handle %d: no such syncobj', num(a.src_handle));
  const flags = num(a.flags);
  if (flags & ~WAIT_FOR_SUBMIT) return fail(EINVAL, '.flags %x: unknown bits', flags);
  const srcPoint = big(a.src_point);
  const dstPoint = big(a.dst_point);
  const apply = (f: Fence): number => {
    if (dstPoint) dst.addPoint(unwrapMerge(f), dstPoint);
    else dst.replace(f);
    return 0;
  };
  const f = src.findFence(srcPoint);
  if (f) return apply(f);
  if (!(flags & WAIT_FOR_SUBMIT)) return fail(EINVAL, '.src_point %d: no fence (no WAIT_FOR_SUBMIT)', srcPoint);
  // Wait up to 5 s for the source point to be submitted; both objects stay referenced.
  const w: SubmitWaiter = { point: srcPoint, fence: null };
  src.get();
  dst.get();
  src.addSubmitWaiter(w);
  const drop = (): void => {
    src.put();
    dst.put();
  };
  const release = (): void => {
    src.removeSubmitWaiter(w);
    drop();
  };
  const end = (): number => {
    src.removeSubmitWaiter(w);
    const rc = w.fence ? apply(w.fence) : fail(ETIME, '.src_point %d: not submitted within 5 s', srcPoint);
    drop();
    return rc;
  };
  return {
    deadline: c.dev.now() + WAIT_FOR_SUBMIT_TIMEOUT_NS,
    poll: () => (w.fence ? end() : null),
    expire: end,
    cancel: release,
  };
}

function eventfd(c: Ctx): number {
  const a = c.args;
  const flags = num(a.flags);
  if (flags & ~WAIT_AVAILABLE) return fail(EINVAL, '.flags %x: unknown bits', flags);
  if (num(a.pad)) return fail(EINVAL, '.pad %x: must be 0', num(a.pad));
  const s = lookup(c, a.handle);
  if (!s) return fail(ENOENT, '.handle %d: no such syncobj', num(a.handle));
  // eventfd_ctx_fdget: no such fd -> -EBADF; not an eventfd -> -EINVAL.
  const f = c.proc.fds.get(num(a.fd));
  if (!f) return fail(EBADF, '.fd %d: not open', num(a.fd));
  if (!(f instanceof EventFd)) return fail(EINVAL, '.fd %d: not an eventfd (%s file)', num(a.fd), f.kind);
  s.addEventfd(f.get(), big(a.point), flags);
  return 0;
}

/** Syncobj ioctls (all DRM_RENDER_ALLOW). */
export const DRM_SYNCOBJ_IOCTLS: IoctlDef<SyncobjHolder>[] = [
  { name: 'DRM_IOCTL_SYNCOBJ_CREATE', handler: create },
  { name: 'DRM_IOCTL_SYNCOBJ_DESTROY', handler: destroy },
  { name: 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', handler: handleToFd },
  { name: 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', handler: fdToHandle },
  { name: 'DRM_IOCTL_SYNCOBJ_WAIT', handler: wait },
  { name: 'DRM_IOCTL_SYNCOBJ_RESET', handler: (c) => resetOrSignal(c, (s) => s.replace(null)) },
  { name: 'DRM_IOCTL_SYNCOBJ_SIGNAL', handler: (c) => resetOrSignal(c, (s) => s.signalStub()) },
  { name: 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', handler: timelineWait },
  { name: 'DRM_IOCTL_SYNCOBJ_QUERY', handler: query },
  { name: 'DRM_IOCTL_SYNCOBJ_TRANSFER', handler: transfer },
  { name: 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', handler: timelineSignal },
  { name: 'DRM_IOCTL_SYNCOBJ_EVENTFD', handler: eventfd },
];

// ---- emulator control (DEBUG FENCE_ATTACH / FENCE_SIGNAL)

/**
 * DEBUG FENCE_ATTACH: a new pending fence of `fences` that the caller completes with
 * FENCE_SIGNAL, attached to syncobj `handle` of `syncobjs`: point 0 replaces the content
 * (like a binary out-sync), any other point is added as a timeline point. Returns [fence id].
 */
export function debugFenceAttach(fences: FenceDomain, syncobjs: IdTable<Syncobj>, handle: number, point: bigint): bigint[] {
  const s = syncobjs.get(handle);
  if (!s) throw new Errno(ENOENT, 'FENCE_ATTACH: syncobj %d: no such handle', handle);
  const f = fences.create({ name: 'test' });
  fences.register(f);
  if (point) s.addPoint(f, point);
  else s.replace(f);
  return [BigInt(f.id)];
}

/** DEBUG FENCE_SIGNAL: signals a registered fence, with error -errno when errno != 0; -EINVAL for an unknown (or already signalled) id. */
export function debugFenceSignal(fences: FenceDomain, id: bigint, errno: bigint): void {
  const f = fences.external.get(Number(id));
  if (!f) throw new Errno(EINVAL, 'FENCE_SIGNAL: fence %d: unknown or already signalled', id);
  fences.external.delete(f.id);
  const e = Math.abs(Number(BigInt.asIntN(64, errno)));
  f.signal(e ? -e : 0);
}
