/**
 * Exec queues (xe_exec_queue.c): the queue object, DRM_IOCTL_XE_EXEC_QUEUE_CREATE /
 * DESTROY / GET_PROPERTY / SET_PROPERTY and the creation extension chain
 * (shared/spec/sync_exec.md 5, checked against the newest upstream xe_exec_queue.c).
 *
 * Hardware engines are the profile's GT engines; `instance` there is the logical instance
 * the uAPI uses. Reserved engines (the USM paging copy engine, compute engines beyond the
 * ccs_mode) cannot be placed by user space; bind queues on USM platforms run on the
 * reserved copy engine.
 */
import { graphicsVerx100, type EngineDesc, type GtDesc, type Profile } from '../../hw/profile.js';
import { CAP } from '../../uapi/channel.js';
import { decodeArray, type Fields } from '../../uapi/codec.js';
import { EBUSY, EINVAL, ENODEV, ENOENT, EOPNOTSUPP, EPERM } from '../../uapi/errno.js';
import { C, CB, layoutOf } from '../../uapi/uapi.js';
import { LastFence } from '../drm/dma_fence.js';
import type { IoctlCtx as DrmIoctlCtx, IoctlDef, IoctlFile } from '../drm/drm_ioctl.js';
import { check, Errno, fail, nonZero } from '../os/errno.js';
import type { Task } from '../os/file.js';
import type { IdTable } from '../os/idr.js';
import type { UserMemory } from '../os/uaccess.js';
import { xeDeviceGetGt, type XeDevice } from './xe_device.js';
import { copySetProperty, walkUserExtensions } from './xe_ext.js';
import { pxpEnabled } from './xe_pxp.js';

// uAPI engine classes (DRM_XE_ENGINE_CLASS_*).
const CLASS_RENDER = C('DRM_XE_ENGINE_CLASS_RENDER');
const CLASS_COPY = C('DRM_XE_ENGINE_CLASS_COPY');
const CLASS_VIDEO_DECODE = C('DRM_XE_ENGINE_CLASS_VIDEO_DECODE');
const CLASS_VIDEO_ENHANCE = C('DRM_XE_ENGINE_CLASS_VIDEO_ENHANCE');
const CLASS_COMPUTE = C('DRM_XE_ENGINE_CLASS_COMPUTE');
const CLASS_VM_BIND = C('DRM_XE_ENGINE_CLASS_VM_BIND');
/** user_to_xe_engine_class[] covers the hardware classes only; VM_BIND is not an engine. */
const HW_CLASSES = [CLASS_RENDER, CLASS_COPY, CLASS_VIDEO_DECODE, CLASS_VIDEO_ENHANCE, CLASS_COMPUTE];

const LOW_LATENCY_HINT = C('DRM_XE_EXEC_QUEUE_LOW_LATENCY_HINT');
const EXT_SET_PROPERTY = C('DRM_XE_EXEC_QUEUE_EXTENSION_SET_PROPERTY');
const PROP_PRIORITY = C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_PRIORITY');
const PROP_TIMESLICE = C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_TIMESLICE');
const PROP_PXP_TYPE = C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_PXP_TYPE');
const PROP_HANG_REPLAY_STATE = C('DRM_XE_EXEC_QUEUE_SET_HANG_REPLAY_STATE');
const PROP_MULTI_GROUP = C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_MULTI_GROUP');
const PROP_MULTI_QUEUE_PRIORITY = C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_MULTI_QUEUE_PRIORITY');
const PROP_DISABLE_STATE_CACHE_PERF_FIX = C('DRM_XE_EXEC_QUEUE_SET_DISABLE_STATE_CACHE_PERF_FIX');
const MULTI_GROUP_CREATE = CB('DRM_XE_MULTI_GROUP_CREATE');
const GET_PROPERTY_BAN = C('DRM_XE_EXEC_QUEUE_GET_PROPERTY_BAN');
const PXP_TYPE_NONE = CB('DRM_XE_PXP_TYPE_NONE');
const PXP_TYPE_HWDRM = CB('DRM_XE_PXP_TYPE_HWDRM');

/** XE_HW_ENGINE_MAX_INSTANCE (xe_hw_engine_types.h): most placements of one create. */
export const XE_HW_ENGINE_MAX_INSTANCE = 9;

/** enum xe_exec_queue_priority (kernel-internal levels; the uAPI takes the numbers). */
export const PRIORITY = { LOW: 0, NORMAL: 1, HIGH: 2, KERNEL: 3 } as const;
/** enum xe_multi_queue_priority. */
export const MULTI_QUEUE_PRIORITY = { LOW: 0, NORMAL: 1, HIGH: 2 } as const;

/**
 * Engine-class scheduling defaults and limits (xe_hw_engine.c, Kconfig.profile defaults):
 * timeslice 1 ms in [1 us, 10 s], preempt timeout 640 ms, job timeout 5 s.
 */
export const SCHED_DEFAULTS = {
  timesliceUs: 1000,
  timesliceMin: 1,
  timesliceMax: 10_000_000,
  preemptTimeoutUs: 640_000,
  jobTimeoutMs: 5000,
} as const;

/**
 * CONFIG_DRM_XE_ENABLE_SCHEDTIMEOUT_LIMIT (Kconfig.profile, default y). When set, the
 * timeslice range is enforced for every caller: the class's sysfs range without
 * CAP_SYS_NICE, the build-time hard range (CONFIG_DRM_XE_TIMESLICE_MIN/MAX) with it; both are
 * 1 .. 10,000,000 us with default settings. When clear, only callers without CAP_SYS_NICE
 * are limited. xe-emu models the default.
 */
const ENFORCE_SCHEDTIMEOUT_LIMIT_ALWAYS = true;

/** Most queues of a multi-queue group (XE_MAX_GROUP_SIZE): positions 1..63 for secondaries. */
const XE_MAX_GROUP_SIZE = 64;

/**
 * Profile facts read here that the Profile type may not declare (yet); defaults in brackets.
 * - `multiLrcMask`: engine classes that allow width > 1 (xe->info.multi_lrc_mask)
 *   [VIDEO_DECODE | VIDEO_ENHANCE, as every upstream platform since early 2026].
 * - `multiQueueClassMask`: classes with multi-queue groups (gt->info.multi_queue_engine_class_mask) [none].
 */
interface QueueProfileExtras {
  multiLrcMask?: number;
  multiQueueClassMask?: number;
}

function extras(p: Profile): QueueProfileExtras {
  return p as Profile & QueueProfileExtras;
}

function bit(n: number): number {
  return n >= 0 && n < 31 ? 1 << n : 0;
}

/** xe_hw_engine_is_reserved. */
function isReserved(e: EngineDesc): boolean {
  return e.reserved;
}

/** A queue's engine: the GT and the engine description. */
export interface HwEngine {
  gt: GtDesc;
  desc: EngineDesc;
}

/** xe_hw_engine_lookup by uAPI (class, logical instance, gt). */
function hwEngineLookup(profile: Profile, eci: Fields): HwEngine | undefined {
  const cls = eci.engine_class as number;
  if (!HW_CLASSES.includes(cls)) return undefined;
  const gt = xeDeviceGetGt(profile, eci.gt_id as number);
  const desc = gt?.engines.find((e) => e.engineClass === cls && e.instance === eci.engine_instance);
  return gt && desc ? { gt, desc } : undefined;
}

/**
 * What a queue uses of its VM (struct xe_vm). The VM module sits above this one (a VM
 * creates its default bind queue), so queues see it through this interface; Vm implements it.
 */
export interface QueueVm {
  /** The file that created the VM (vm->xef); null for kernel VMs. */
  readonly file: QueueFile | null;
  /** Exec queues created on the VM. */
  readonly execQueues: Set<ExecQueue>;
  /** Compute queues of a preempt-fence mode VM. */
  readonly preemptQueues: Set<ExecQueue>;
  readonly closedOrBanned: boolean;
  readonly preemptFenceMode: boolean;
  get(): this;
  put(): void;
  addComputeQueue(q: ExecQueue): void;
  removeComputeQueue(q: ExecQueue): void;
}

/** What exec queues use of an xe file (XeFile implements it): its VM and queue id tables. */
export interface QueueFile extends IoctlFile {
  readonly dev: XeDevice;
  readonly vms: IdTable<QueueVm>;
  readonly execQueues: IdTable<ExecQueue>;
}

type IoctlCtx = DrmIoctlCtx<QueueFile>;

/** A multi-queue group (struct xe_exec_queue_group). */
export class MultiQueueGroup {
  /** Secondary queues by position (1..63); they stay until the group goes. */
  readonly members = new Map<number, ExecQueue>();

  constructor(readonly primary: ExecQueue) {}

  /** xe_exec_queue_group_add: the lowest free position; a full group is -EINVAL. */
  add(q: ExecQueue): number {
    for (let pos = 1; pos < XE_MAX_GROUP_SIZE; pos++) {
      if (!this.members.has(pos)) {
        this.members.set(pos, q);
        return pos;
      }
    }
    throw new Errno(EINVAL, 'multi-queue group full (%d queues)', XE_MAX_GROUP_SIZE);
  }
}

/** Options of a new queue. */
interface QueueInit {
  dev: XeDevice;
  hwe: HwEngine;
  logicalMask: number;
  width: number;
  vm: QueueVm | null;
  bind: boolean;
  bindChild?: boolean;
  lowLatency?: boolean;
}

/** An exec queue (struct xe_exec_queue). */
export class ExecQueue {
  readonly dev: XeDevice;
  /** The engine (for a bind queue: the copy engine it runs on). */
  readonly hwe: HwEngine;
  /** uAPI class of the engine (q->class); COPY for bind queues. */
  readonly engineClass: number;
  /** Number of batch buffers per EXEC (parallel when > 1). */
  readonly width: number;
  /** Logical instances the queue may be placed on (q->logical_mask). */
  readonly logicalMask: number;
  /** EXEC_QUEUE_FLAG_VM: a VM_BIND queue. */
  readonly bind: boolean;
  /** EXEC_QUEUE_FLAG_BIND_ENGINE_CHILD: the per-tile part of a bind queue after tile 0. */
  readonly bindChild: boolean;
  readonly lowLatency: boolean;
  /** The VM: q->vm for engine queues, q->user_vm for bind queues. Holds a reference. */
  readonly vm: QueueVm | null;
  /** The owning file (q->xef), set when creation succeeded; null for kernel-made queues. */
  file: QueueFile | null = null;

  priority: number = PRIORITY.NORMAL;
  timesliceUs: number = SCHED_DEFAULTS.timesliceUs;
  preemptTimeoutUs: number = SCHED_DEFAULTS.preemptTimeoutUs;
  jobTimeoutMs: number = SCHED_DEFAULTS.jobTimeoutMs;
  pxpType: bigint = PXP_TYPE_NONE;
  /** HANG_REPLAY_STATE: the context image copied from the user. */
  replayState: Uint8Array | null = null;
  disableStateCachePerfFix = false;
  readonly multiQueue = {
    valid: false,
    isPrimary: false,
    pos: 0,
    priority: MULTI_QUEUE_PRIORITY.NORMAL as number,
    group: null as MultiQueueGroup | null,
  };

  /** Banned after a hang (GuC timeout / engine reset handling, or DEBUG QUEUE_BAN). */
  banned = false;
  /** Permanently stopped (destroy, file close, VM close for bind queues). */
  killed = false;
  /** An engine reset was reported for the queue. */
  engineReset = false;
  /** q->last_fence: the fence of the last job or bind on the queue (sync_exec.md 3.1). */
  readonly lastFence: LastFence;
  /** Bind queue parts of tiles after the first (q->multi_gt_list). */
  readonly children: ExecQueue[] = [];

  private refs = 1;
  private userRefDropped = false;

  constructor(init: QueueInit) {
    this.dev = init.dev;
    this.hwe = init.hwe;
    this.engineClass = init.hwe.desc.engineClass;
    this.width = init.width;
    this.logicalMask = init.logicalMask;
    this.bind = init.bind;
    this.bindChild = init.bindChild ?? false;
    this.lowLatency = init.lowLatency ?? false;
    this.vm = init.vm ? init.vm.get() : null;
    this.lastFence = new LastFence(init.dev.fences);
  }

  /** xe_exec_queue_is_parallel. */
  get parallel(): boolean {
    return this.width > 1;
  }

  get isMultiQueue(): boolean {
    return this.multiQueue.valid;
  }

  get isMultiQueuePrimary(): boolean {
    return this.multiQueue.valid && this.multiQueue.isPrimary;
  }

  get isMultiQueueSecondary(): boolean {
    return this.multiQueue.valid && !this.multiQueue.isPrimary;
  }

  /** Whether the queue was registered with its VM as a preempt-fence compute queue. */
  get isCompute(): boolean {
    return this.vm?.preemptQueues.has(this) ?? false;
  }

  /** reset_status (guc_exec_queue_reset_status): reset, killed, banned or device wedged. */
  resetStatus(): boolean {
    return this.engineReset || this.killed || this.banned || this.dev.wedged;
  }

  /** xe_exec_queue_get. */
  get(): this {
    this.refs++;
    return this;
  }

  /** xe_exec_queue_put: the last reference frees the queue and drops what it holds. */
  put(): void {
    if (--this.refs > 0) return;
    this.lastFence.clear();
    if (!this.bindChild) for (const ch of this.children) ch.put();
    if (this.isMultiQueueSecondary) this.multiQueue.group?.primary.put();
    this.multiQueue.group = null;
    if (this.vm) {
      this.vm.removeComputeQueue(this);
      this.vm.execQueues.delete(this);
      this.vm.put();
    }
  }

  /**
   * xe_exec_queue_kill: permanently stops the queue and its per-tile children and takes it
   * off its VM's compute list. Safe to repeat.
   */
  stop(): void {
    for (const ch of this.children) {
      ch.killed = true;
      this.vm?.removeComputeQueue(ch);
    }
    this.killed = true;
    this.vm?.removeComputeQueue(this);
  }

  /**
   * The queue leaves its owner (EXEC_QUEUE_DESTROY, file close, or VM close for a default
   * bind queue): stop() and drop the owner's reference. Safe to repeat.
   */
  kill(): void {
    this.stop();
    if (this.userRefDropped) return;
    this.userRefDropped = true;
    this.put();
  }

  /** Marks the queue banned, as the GuC backend does after a job timeout. */
  ban(): void {
    this.banned = true;
  }
}

// ------------------------------------------------------------------------------------------
// Properties (exec_queue_set_property_funcs[])

type PropertyFn = (c: PropCtx, q: ExecQueue, value: bigint) => void;

/** What a property setter needs besides the queue. */
export interface PropCtx {
  dev: XeDevice;
  proc: Task;
  um: UserMemory;
}

/** xe_exec_queue_device_get_max_priority: HIGH with CAP_SYS_NICE, else NORMAL. */
function maxPriority(proc: Task): number {
  return proc.capable(CAP.SYS_NICE) ? PRIORITY.HIGH : PRIORITY.NORMAL;
}

function setPriority(c: PropCtx, q: ExecQueue, value: bigint): void {
  check(value > BigInt(PRIORITY.HIGH), EINVAL, 'property PRIORITY %d: above HIGH (%d)', value, PRIORITY.HIGH);
  check(value > BigInt(maxPriority(c.proc)), EPERM, 'property PRIORITY %d: above %d without CAP_SYS_NICE', value, maxPriority(c.proc));
  q.priority = Number(value);
}

function setTimeslice(c: PropCtx, q: ExecQueue, value: bigint): void {
  const enforce = ENFORCE_SCHEDTIMEOUT_LIMIT_ALWAYS || !c.proc.capable(CAP.SYS_NICE);
  const inRange = value >= BigInt(SCHED_DEFAULTS.timesliceMin) && value <= BigInt(SCHED_DEFAULTS.timesliceMax);
  check(enforce && !inRange, EINVAL, 'property TIMESLICE %d: outside [%d, %d] us', value, SCHED_DEFAULTS.timesliceMin, SCHED_DEFAULTS.timesliceMax);
  q.timesliceUs = Number(BigInt.asUintN(32, value));
}

function setPxpType(c: PropCtx, q: ExecQueue, value: bigint): void {
  if (value === PXP_TYPE_NONE) return;
  check(value !== PXP_TYPE_HWDRM, EINVAL, 'property PXP_TYPE %d: not a PXP type', value);
  // xe_pxp_is_enabled; xe_pxp_exec_queue_add then finds the session ready and active.
  check(!pxpEnabled(c.dev), ENODEV, 'property PXP_TYPE: PXP is not enabled on this device');
  q.pxpType = PXP_TYPE_HWDRM;
}

/** xe_gt_lrc_hang_replay_size: the engine context image size of the class. */
export function hangReplaySize(profile: Profile, engineClass: number): number {
  const ver = graphicsVerx100(profile);
  const pages =
    engineClass === CLASS_RENDER ? (ver >= 3510 ? 7 : ver >= 2000 ? 3 : 13)
    : engineClass === CLASS_COMPUTE ? (ver >= 3510 ? 5 : ver >= 2000 ? 2 : 13)
    : 1;
  return pages * 4096;
}

function setHangReplayState(c: PropCtx, q: ExecQueue, value: bigint): void {
  check(q.replayState !== null, EINVAL, 'property HANG_REPLAY_STATE: set twice');
  q.replayState = c.um.copyFromUser(value, hangReplaySize(c.dev.profile, q.engineClass));
}

/** xe_gt_supports_multi_queue. */
function supportsMultiQueue(profile: Profile, engineClass: number): boolean {
  return ((extras(profile).multiQueueClassMask ?? 0) & bit(engineClass)) !== 0;
}

function setMultiGroup(c: PropCtx, q: ExecQueue, value: bigint): void {
  check(!supportsMultiQueue(c.dev.profile, q.engineClass), ENODEV, 'property MULTI_GROUP: engine class %d has no multi-queue', q.engineClass);
  // xe_device_uc_enabled: every profile runs GuC submission, so -EOPNOTSUPP never applies.
  // q->vm->xef: a bind queue's q->vm is the kernel's migration VM, which has no file.
  check(q.bind || !q.vm?.file, EINVAL, 'property MULTI_GROUP: not on a bind queue or a kernel VM');
  check(q.parallel, EINVAL, 'property MULTI_GROUP: not on a parallel queue');
  check(q.isMultiQueue, EINVAL, 'property MULTI_GROUP: set twice');
  if (value & MULTI_GROUP_CREATE) {
    check((value & ~MULTI_GROUP_CREATE) !== 0n, EINVAL, 'property MULTI_GROUP %x: CREATE with other bits', value);
    q.multiQueue.valid = true;
    q.multiQueue.isPrimary = true;
    q.multiQueue.pos = 0;
    return;
  }
  check(value >> 32n !== 0n, EINVAL, 'property MULTI_GROUP %x: primary id above 32 bits', value);
  // xe_exec_queue_group_validate: the primary is looked up in the VM's file.
  const primary = q.vm!.file!.execQueues.get(Number(value));
  check(!primary, ENOENT, 'property MULTI_GROUP: primary queue %d: no such queue', value);
  check(
    !primary!.isMultiQueuePrimary || primary!.vm !== q.vm || primary!.logicalMask !== q.logicalMask,
    EINVAL,
    'property MULTI_GROUP: queue %d is not a group primary on the same VM and engines',
    value,
  );
  q.multiQueue.valid = true;
  q.multiQueue.group = primary!.multiQueue.group;
  primary!.get();
}

function setMultiQueuePriority(_c: PropCtx, q: ExecQueue, value: bigint): void {
  check(value > BigInt(MULTI_QUEUE_PRIORITY.HIGH), EINVAL, 'property MULTI_QUEUE_PRIORITY %d: above HIGH (%d)', value, MULTI_QUEUE_PRIORITY.HIGH);
  // At creation (no file yet) the value is only stored.
  if (!q.file) {
    q.multiQueue.priority = Number(value);
    return;
  }
  check(!q.isMultiQueue, EINVAL, 'property MULTI_QUEUE_PRIORITY: not a multi-queue queue');
  q.multiQueue.priority = Number(value);
}

function setDisableStateCachePerfFix(_c: PropCtx, q: ExecQueue, value: bigint): void {
  check(q.engineClass !== CLASS_RENDER, EOPNOTSUPP, 'property DISABLE_STATE_CACHE_PERF_FIX: engine class %d is not render', q.engineClass);
  if (value !== 0n) q.disableStateCachePerfFix = true;
}

/** exec_queue_set_property_funcs[], indexed by property id. */
const PROPERTY_FUNCS: Array<PropertyFn | undefined> = [];
PROPERTY_FUNCS[PROP_PRIORITY] = setPriority;
PROPERTY_FUNCS[PROP_TIMESLICE] = setTimeslice;
PROPERTY_FUNCS[PROP_PXP_TYPE] = setPxpType;
PROPERTY_FUNCS[PROP_HANG_REPLAY_STATE] = setHangReplayState;
PROPERTY_FUNCS[PROP_MULTI_GROUP] = setMultiGroup;
PROPERTY_FUNCS[PROP_MULTI_QUEUE_PRIORITY] = setMultiQueuePriority;
PROPERTY_FUNCS[PROP_DISABLE_STATE_CACHE_PERF_FIX] = setDisableStateCachePerfFix;

/** Properties a creation extension may set (all of the table, in the newest tree). */
const EXT_ALLOWED = new Set([
  PROP_PRIORITY, PROP_TIMESLICE, PROP_PXP_TYPE, PROP_HANG_REPLAY_STATE, PROP_MULTI_GROUP,
  PROP_MULTI_QUEUE_PRIORITY, PROP_DISABLE_STATE_CACHE_PERF_FIX,
]);

function propBit(p: number): bigint {
  return 1n << BigInt(p);
}

/** exec_queue_user_ext_check: rules on the set of properties seen so far. */
function extCheck(q: ExecQueue, props: bigint): void {
  const secondaryValid = propBit(PROP_MULTI_GROUP) | propBit(PROP_MULTI_QUEUE_PRIORITY);
  check(q.isMultiQueueSecondary && (props & ~secondaryValid) !== 0n, EINVAL, 'properties %x: a group secondary takes only MULTI_GROUP and MULTI_QUEUE_PRIORITY', props);
  check((props & propBit(PROP_MULTI_GROUP)) !== 0n && (props & propBit(PROP_PXP_TYPE)) !== 0n, EINVAL, 'properties: MULTI_GROUP with PXP_TYPE');
}

/**
 * exec_queue_user_extensions: walks the chain (ext.ts) with the SET_PROPERTY extension,
 * then the final checks; a multi-queue primary gets its group.
 */
function applyExtensions(c: PropCtx, q: ExecQueue, first: bigint): void {
  let props = 0n;
  const setProperty = (addr: bigint): void => {
    const ext = copySetProperty(c.um, addr);
    const prop = ext.property as number;
    check(prop >= PROPERTY_FUNCS.length || ext.pad !== 0 || !EXT_ALLOWED.has(prop), EINVAL, 'drm_xe_ext_set_property.property %d: unknown (or pad %d set)', prop, ext.pad as number);
    const fn = PROPERTY_FUNCS[prop];
    check(!fn, EINVAL, 'drm_xe_ext_set_property.property %d: unknown', prop);
    props |= propBit(prop);
    extCheck(q, props);
    fn!(c, q, ext.value as bigint);
  };
  const handlers = [];
  handlers[EXT_SET_PROPERTY] = setProperty;
  walkUserExtensions(c.um, first, handlers);
  // exec_queue_user_ext_check_final
  check((props & propBit(PROP_MULTI_QUEUE_PRIORITY)) !== 0n && (props & propBit(PROP_MULTI_GROUP)) === 0n, EINVAL, 'properties: MULTI_QUEUE_PRIORITY without MULTI_GROUP');
  if (q.isMultiQueuePrimary) q.multiQueue.group = new MultiQueueGroup(q);
}

/** __xe_exec_queue_alloc + xe_exec_queue_create: the queue, its extensions applied. */
function createQueue(c: PropCtx | null, init: QueueInit, extensions: bigint): ExecQueue {
  const q = new ExecQueue(init);
  if (extensions !== 0n && c) {
    try {
      applyExtensions(c, q, extensions);
    } catch (e) {
      q.put();
      throw e;
    }
  }
  return q;
}

/** The tile's primary (main) GT. */
function primaryGt(profile: Profile, tile: number): GtDesc | undefined {
  return profile.gts.find((g) => g.tile === tile && g.type === 0) ?? profile.gts.find((g) => g.tile === tile);
}

/**
 * xe_exec_queue_create_bind: a bind queue of `tile` for `userVm`. With USM it runs on the
 * reserved paging copy engine (gt->usm.paging_hwe0; none: -EINVAL); otherwise on the copy
 * class of the tile's primary GT, placed on any non-reserved copy engine (none: -ENODEV).
 * `c` is null for the VM's own default queue (no extensions).
 */
export function createBindQueue(dev: XeDevice, tile: number, userVm: QueueVm, extensions: bigint, c: PropCtx | null, child = false): ExecQueue {
  const gt = primaryGt(dev.profile, tile);
  const copies = gt?.engines.filter((e) => e.engineClass === CLASS_COPY) ?? [];
  let desc: EngineDesc | undefined;
  let mask: number;
  if (dev.profile.hasUsm) {
    desc = copies.filter(isReserved).pop();
    if (!desc) throw new Errno(EINVAL, 'bind queue: tile %d has no reserved paging copy engine', tile);
    mask = bit(desc.instance);
  } else {
    const usable = copies.filter((e) => !isReserved(e));
    desc = usable[0];
    if (!desc) throw new Errno(ENODEV, 'bind queue: tile %d has no usable copy engine', tile);
    mask = usable.reduce((m, e) => m | bit(e.instance), 0);
  }
  return createQueue(c, { dev, hwe: { gt: gt!, desc }, logicalMask: mask, width: 1, vm: userVm, bind: true, bindChild: child }, extensions);
}

/**
 * calc_validate_logical_mask: the placement matrix (`eci[j * width + i]`) must name
 * existing, non-reserved engines of one GT and class; parallel slots must be logically
 * contiguous. Returns the mask of slot 0's instances, or 0 when invalid.
 */
function calcValidateLogicalMask(profile: Profile, eci: Fields[], width: number, numPlacements: number): number {
  // xe_device_uc_enabled is always true here (GuC submission), so len > 1 is allowed.
  let returnMask = 0;
  let prevMask = 0;
  let cls = 0;
  let gtId = 0;
  for (let i = 0; i < width; i++) {
    let currentMask = 0;
    for (let j = 0; j < numPlacements; j++) {
      const n = j * width + i;
      const hwe = hwEngineLookup(profile, eci[n]);
      if (!hwe || isReserved(hwe.desc)) return 0;
      if (n && (eci[n].gt_id !== gtId || eci[n].engine_class !== cls)) return 0;
      cls = eci[n].engine_class as number;
      gtId = eci[n].gt_id as number;
      const b = bit(eci[n].engine_instance as number);
      if (width === 1 || !i) returnMask |= b;
      currentMask |= b;
    }
    if (i && currentMask !== (prevMask << 1) >>> 0) return 0;
    prevMask = currentMask;
  }
  return returnMask;
}

/** Undoes a queue whose creation failed after it existed (put_exec_queue). */
function discard(q: ExecQueue): void {
  q.stop();
  q.put();
}

/** DRM_IOCTL_XE_EXEC_QUEUE_CREATE (xe_exec_queue_create_ioctl, newest order). */
function execQueueCreateIoctl(c: IoctlCtx): number {
  const a = c.args;
  const profile = c.dev.profile;
  const width = a.width as number;
  const numPlacements = a.num_placements as number;
  const extensions = a.extensions as bigint;
  check(((a.flags as number) & ~LOW_LATENCY_HINT) !== 0 || nonZero(a.reserved), EINVAL, '.flags %x / .reserved: unknown flag bits or reserved set', a.flags as number);
  const len = width * numPlacements;
  check(len === 0 || len > XE_HW_ENGINE_MAX_INSTANCE, EINVAL, '.width %d * .num_placements %d: 0 or above %d', width, numPlacements, XE_HW_ENGINE_MAX_INSTANCE);
  const eciSize = layoutOf('drm_xe_engine_class_instance').size;
  const eci = decodeArray('drm_xe_engine_class_instance', c.um.copyFromUser(a.instances as bigint, eciSize * len), len);
  check(!xeDeviceGetGt(profile, eci[0].gt_id as number), EINVAL, '.instances[0].gt_id %d: no such GT', eci[0].gt_id as number);
  const lowLatency = ((a.flags as number) & LOW_LATENCY_HINT) !== 0;
  const pc: PropCtx = { dev: c.dev, proc: c.proc, um: c.um };

  let q: ExecQueue;
  let vm: QueueVm;
  if (eci[0].engine_class === CLASS_VM_BIND) {
    check(width !== 1 || numPlacements !== 1 || eci[0].engine_instance !== 0, EINVAL, '.instances: a VM_BIND queue takes width 1, one placement, instance 0');
    const found = c.file.vms.get(a.vm_id as number);
    check(!found, ENOENT, '.vm_id %d: no such VM', a.vm_id as number);
    vm = found!;
    check(vm.closedOrBanned, ENOENT, '.vm_id %d: VM closed or banned', a.vm_id as number);
    const tiles = [...new Set(profile.gts.map((g) => g.tile))].sort((x, y) => x - y);
    let first: ExecQueue | null = null;
    for (const tile of tiles) {
      let part: ExecQueue;
      try {
        part = createBindQueue(c.dev, tile, vm, extensions, pc, first !== null);
      } catch (e) {
        if (first) first.put();
        throw e;
      }
      if (!first) first = part;
      else first.children.push(part);
    }
    q = first!;
  } else {
    const logicalMask = calcValidateLogicalMask(profile, eci, width, numPlacements);
    check(!logicalMask, EINVAL, '.instances: not existing engines of one GT and class, contiguous per slot');
    const hwe = hwEngineLookup(profile, eci[0]);
    check(!hwe, EINVAL, '.instances[0]: no such engine');
    const multiLrc = extras(profile).multiLrcMask ?? bit(CLASS_VIDEO_DECODE) | bit(CLASS_VIDEO_ENHANCE);
    check(width > 1 && (multiLrc & bit(hwe!.desc.engineClass)) === 0, EOPNOTSUPP, '.width %d: engine class %d has no parallel submission', width, hwe!.desc.engineClass);
    const found = c.file.vms.get(a.vm_id as number);
    check(!found, ENOENT, '.vm_id %d: no such VM', a.vm_id as number);
    vm = found!;
    check(vm.closedOrBanned, ENOENT, '.vm_id %d: VM closed or banned', a.vm_id as number);
    // SR-IOV scheduler groups (width > 1 -> -EINVAL) do not exist here.
    q = createQueue(pc, { dev: c.dev, hwe: hwe!, logicalMask, width, vm, bind: false, lowLatency }, extensions);
    if (q.isMultiQueueSecondary) {
      try {
        q.multiQueue.pos = q.multiQueue.group!.add(q);
      } catch (e) {
        q.put();
        throw e;
      }
    }
    if (vm.preemptFenceMode) vm.addComputeQueue(q);
  }

  q.file = c.file;
  if (!q.bind) vm.execQueues.add(q);
  // User id allocation is the last step (xa_alloc, XA_FLAGS_ALLOC1, 32-bit limit).
  const id = c.file.execQueues.alloc(q);
  if (id < 0) {
    if (q.isMultiQueueSecondary) q.multiQueue.group?.members.delete(q.multiQueue.pos);
    discard(q);
    return fail(EBUSY, 'exec queue id table full');
  }
  a.exec_queue_id = id;
  return 0;
}

/** DRM_IOCTL_XE_EXEC_QUEUE_DESTROY (xe_exec_queue_destroy_ioctl). */
function execQueueDestroyIoctl(c: IoctlCtx): number {
  const a = c.args;
  check(a.pad !== 0 || nonZero(a.reserved), EINVAL, '.pad/.reserved: must be 0');
  const q = c.file.execQueues.remove(a.exec_queue_id as number);
  check(!q, ENOENT, '.exec_queue_id %d: no such exec queue', a.exec_queue_id as number);
  q!.kill();
  return 0;
}

/** DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY (xe_exec_queue_get_property_ioctl). */
function execQueueGetPropertyIoctl(c: IoctlCtx): number {
  const a = c.args;
  check(nonZero(a.reserved), EINVAL, '.reserved: must be 0');
  const q = c.file.execQueues.get(a.exec_queue_id as number);
  check(!q, ENOENT, '.exec_queue_id %d: no such exec queue', a.exec_queue_id as number);
  if (a.property !== GET_PROPERTY_BAN) return fail(EINVAL, '.property %d: only BAN (0) can be read', a.property as number);
  a.value = q!.resetStatus() ? 1n : 0n;
  return 0;
}

/** DRM_IOCTL_XE_EXEC_QUEUE_SET_PROPERTY (xe_exec_queue_set_property_ioctl). */
function execQueueSetPropertyIoctl(c: IoctlCtx): number {
  const a = c.args;
  check(nonZero(a.reserved), EINVAL, '.reserved: must be 0');
  check(a.property !== PROP_MULTI_QUEUE_PRIORITY, EINVAL, '.property %d: only MULTI_QUEUE_PRIORITY can be set', a.property as number);
  const q = c.file.execQueues.get(a.exec_queue_id as number);
  check(!q, ENOENT, '.exec_queue_id %d: no such exec queue', a.exec_queue_id as number);
  PROPERTY_FUNCS[PROP_MULTI_QUEUE_PRIORITY]!({ dev: c.dev, proc: c.proc, um: c.um }, q!, a.value as bigint);
  return 0;
}

/** Exec queue ioctls. */
export const EXEC_QUEUE_IOCTLS: IoctlDef<QueueFile>[] = [
  { name: 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', handler: execQueueCreateIoctl },
  { name: 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', handler: execQueueDestroyIoctl },
  { name: 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', handler: execQueueGetPropertyIoctl },
  { name: 'DRM_IOCTL_XE_EXEC_QUEUE_SET_PROPERTY', handler: execQueueSetPropertyIoctl },
];
