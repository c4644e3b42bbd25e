/**
 * The GPU scheduler of a device: the DRM scheduler, the GuC submission backend and the engines
 * in one (drm_sched, xe_sched_job.c, xe_guc_submit.c), over the command streamer of
 * src/hw/cs.ts.
 *
 * Jobs. An exec job belongs to one exec queue and runs one batch per slot of the queue (width
 * > 1: a parallel queue, the slots on logically adjacent engines). Jobs of a queue run in
 * submission order: a job starts when it is the oldest unfinished job of its queue and its
 * dependencies (in-syncs, the queue's last fence, the VM's pending page-table job) have
 * signalled. Its fence signals once every slot has reached its batch's end, after the
 * EXEC user fence (if any) has been written at its GPU address.
 *
 * Engines. Every engine of every GT of the profile is a CsEngine. A starting job picks, among
 * the base instances of its queue's logical mask, the one whose slot engines run the fewest
 * contexts (ties: the lowest instance). An engine time-slices the contexts it runs. The
 * kernel loop calls slice() between system calls: each engine, in device order, runs each of
 * its contexts, in start order, for at most SLICE_BUDGET commands. Nothing depends on wall
 * time except job timeouts, so the same program gives the same completion order and memory
 * contents run after run.
 *
 * A context parked on an MI_SEMAPHORE_WAIT re-reads memory at every slice; while nothing
 * else runs the slice reports 'poll', and the kernel loop sleeps briefly between polls (user
 * space writes shared memory without telling the kernel).
 *
 * Faults on a fault-mode VM go to the fault service (xe_pagefault.ts); once it has bound the
 * address the context runs the faulting command again.
 *
 * Failures (sync_exec.md 4.3). An unserviced GPU page fault or a hang (unknown or malformed command)
 * resets the context: the guilty job's fence signals -EIO, every other unfinished job of the
 * queue -ECANCELED, and the queue is banned. A job of a non-LR VM still running after the
 * queue's job timeout ends the same way with -ETIME. Faults are logged on the VM
 * (Vm.saveFault). A queue found killed, banned or on a wedged device has its unfinished jobs
 * cancelled (-ECANCELED) at the next slice: closing a file or ending a process with work in
 * flight cancels that work, and other files' jobs go on.
 */
import { CsContext, CsEngine, type CsStatus } from '../../hw/cs.js';
import type { GpuFault } from '../../hw/mmu.js';
import { graphicsVerx100, type EngineDesc, type GtDesc } from '../../hw/profile.js';
import { ECANCELED, EIO, ETIME } from '../../uapi/errno.js';
import type { Fence } from '../drm/dma_fence.js';
import type { Background, BackgroundState } from '../os/kernel.js';
import { monotonicNs } from '../os/wait.js';
import type { XeDevice } from './xe_device.js';
import { handlePagefault } from './xe_pagefault.js';
import type { ExecQueue } from './xe_exec_queue.js';
import type { Vm, XeVmFault } from './xe_vm.js';

/** Commands one context runs per slice. */
export const SLICE_BUDGET = 2048;

/** xe_lrc_ring_size(): the ring of every exec queue's LRC, in bytes. */
const LRC_RING_SIZE = 16 * 1024;
/** MAX_JOB_SIZE_BYTES (xe_ring_ops_types.h, MAX_JOB_SIZE_DW 74 in the newest tree): the ring space one job may take. */
const MAX_JOB_SIZE_BYTES = 74 * 4;

/** An EXEC user fence: `value` is written at GPU VA `addr` of the job's VM when the job completes. */
export interface ExecUfence {
  addr: bigint;
  value: bigint;
}

/** What a new exec job is made of. */
export interface ExecJobInit {
  q: ExecQueue;
  /** The queue's VM (q.vm, as the VM it is). */
  vm: Vm;
  /** One batch GPU address per slot. */
  batches: readonly bigint[];
  /** Fences the job waits for. */
  deps: readonly Fence[];
  ufence: ExecUfence | null;
}

/** One engine of the device. */
export class SchedEngine {
  readonly cs: CsEngine;
  /** Contexts running on the engine, in start order. */
  readonly active: JobSlot[] = [];

  constructor(
    readonly gt: GtDesc,
    readonly desc: EngineDesc,
    verx100: number,
  ) {
    this.cs = new CsEngine(desc.engineClass, desc.name, verx100);
  }
}

/** One slot of a job: its hardware context on its engine. */
interface JobSlot {
  job: XeSchedJob;
  ctx: CsContext;
  engine: SchedEngine;
  /** The address of the fault serviced last, until the context runs on (-1: none). */
  serviced: number;
}

/** An exec job (struct xe_sched_job). */
export class XeSchedJob {
  readonly fence: Fence;
  /** Its dependencies have signalled. */
  ready = false;
  /** Slots still running (empty before the start and after the end). */
  slots: JobSlot[] = [];
  started = false;
  /** When the job times out (non-LR VMs), once started. */
  deadline: bigint | null = null;

  constructor(
    readonly init: ExecJobInit,
    fence: Fence,
    /** Under a trace, the seq of the call that submitted it (what its faults record on behalf of). */
    readonly traceSeq: number | null = null,
  ) {
    this.fence = fence;
  }

  get q(): ExecQueue {
    return this.init.q;
  }
}

/** The unfinished jobs of one queue, oldest first, and its fence timeline. */
interface QueueJobs {
  q: ExecQueue;
  jobs: XeSchedJob[];
  context: bigint;
  seqno: bigint;
}

/** GpuFault access -> the fault record's access type (vm_attrs.md 6.3). */
const ACCESS_TYPE = { read: 0, write: 1, atomic: 2 } as const;

/** The fault record of `f` on an engine of `vm`. */
function faultRecord(vm: Vm, f: GpuFault, engine: SchedEngine): XeVmFault {
  const bits = BigInt(vm.dev.profile.vaBits);
  const page = BigInt(f.va - (f.va % 4096));
  // Canonical form: the top VA bit repeated up to bit 63.
  const address = (page >> (bits - 1n)) & 1n ? BigInt.asUintN(64, page - (1n << bits)) : page;
  const violation = f.fault === 'read-only' ? (f.access === 'atomic' ? 2 : 1) : 0;
  return {
    address,
    accessType: ACCESS_TYPE[f.access],
    faultType: violation,
    faultLevel: f.level,
    engineClass: engine.desc.engineClass,
    engineInstance: engine.desc.instance,
  };
}

/** The scheduler and engines of one device. */
export class XeSched implements Background {
  /** Every engine, GTs in profile order, engines in hardware id order. */
  readonly engines: SchedEngine[];
  private readonly queues = new Map<ExecQueue, QueueJobs>();
  private nextCtx = 1;

  constructor(readonly dev: XeDevice) {
    const ver = graphicsVerx100(dev.profile);
    this.engines = dev.profile.gts.flatMap((gt) => gt.engines.map((d) => new SchedEngine(gt, d, ver)));
  }

  /** Submits a job (drm_sched_entity_push_job): it starts once its dependencies have signalled. */
  submit(init: ExecJobInit): XeSchedJob {
    let qj = this.queues.get(init.q);
    if (!qj) {
      qj = { q: init.q.get(), jobs: [], context: this.dev.fences.allocContext(), seqno: 0n };
      this.queues.set(init.q, qj);
    }
    const fence = this.dev.fences.create({ context: qj.context, seqno: ++qj.seqno, name: 'exec' });
    const job = new XeSchedJob(init, fence, this.dev.traceSeq());
    qj.jobs.push(job);
    this.dev.fences.array(init.deps).onSignal(() => {
      job.ready = true;
    });
    return job;
  }

  /**
   * xe_exec_queue_ring_full: as many jobs as the ring holds are written to it and not
   * completed (an LR job is written to the ring at EXEC time, so jobs still waiting for their
   * dependencies count).
   */
  ringFull(q: ExecQueue): boolean {
    return this.jobsOf(q).length >= Math.floor(LRC_RING_SIZE / MAX_JOB_SIZE_BYTES);
  }

  /** The unfinished jobs of `q`, oldest first (inspection). */
  jobsOf(q: ExecQueue): readonly XeSchedJob[] {
    return this.queues.get(q)?.jobs ?? [];
  }

  /** One slice: start what can start, run every context for a budget, enforce timeouts. */
  slice(): BackgroundState {
    const now = monotonicNs();
    this.startReady(now);
    let busy = false;
    let poll = false;
    for (const e of this.engines) {
      for (const slot of [...e.active]) {
        if (!slot.job.slots.includes(slot)) continue; // ended by a reset earlier in this slice
        const st = e.cs.run(slot.ctx, SLICE_BUDGET);
        if (st.state !== 'fault') slot.serviced = -1;
        if (st.state === 'budget') busy = true;
        else if (st.state === 'waiting') poll = true;
        else this.slotStopped(slot, st);
        if (slot.ctx.status.state === 'ready') busy = true;
      }
    }
    this.timeouts(monotonicNs());
    if (this.hasStartable()) busy = true;
    return busy ? 'busy' : poll ? 'poll' : 'idle';
  }

  /** The earliest job timeout among running jobs. */
  deadline(): bigint | null {
    let d: bigint | null = null;
    for (const qj of this.queues.values()) {
      const head = qj.jobs[0];
      if (head?.deadline != null && (d === null || head.deadline < d)) d = head.deadline;
    }
    return d;
  }

  /** Cancels the jobs of dead queues and starts every queue's oldest job once it is ready. */
  private startReady(now: bigint): void {
    for (const qj of [...this.queues.values()]) {
      if (qj.q.resetStatus()) this.failQueue(qj, ECANCELED);
      else if (qj.jobs[0]?.ready && !qj.jobs[0].started) this.start(qj.jobs[0], now);
    }
  }

  private hasStartable(): boolean {
    for (const qj of this.queues.values()) {
      const head = qj.jobs[0];
      if (head && head.ready && !head.started && !qj.q.resetStatus()) return true;
    }
    return false;
  }

  /** Places the job's slots on engines and starts their contexts. */
  private start(job: XeSchedJob, now: bigint): void {
    const { q, vm, batches } = job.init;
    const engines = this.placement(q);
    job.started = true;
    job.slots = batches.map((addr, i) => {
      const ctx = new CsContext(vm.pt!.mmu, this.nextCtx++);
      ctx.start(Number(addr));
      const slot = { job, ctx, engine: engines[i], serviced: -1 };
      engines[i].active.push(slot);
      return slot;
    });
    // LR jobs have no timeout (the GuC only ends them on a kill or an error).
    if (!vm.lrMode) job.deadline = now + BigInt(q.jobTimeoutMs) * 1_000_000n;
  }

  /** The engine of uAPI class `engineClass`, logical instance `instance`, on GT `gtId`. */
  engineOf(gtId: number, engineClass: number, instance: number): SchedEngine | undefined {
    return this.engines.find((e) => e.gt.id === gtId && e.desc.engineClass === engineClass && e.desc.instance === instance);
  }

  /** The engines of the queue's slots: the base instance whose engines are least loaded. */
  private placement(q: ExecQueue): SchedEngine[] {
    const find = (inst: number): SchedEngine | undefined => this.engineOf(q.hwe.gt.id, q.engineClass, inst);
    let best: SchedEngine[] | null = null;
    let bestLoad = Infinity;
    for (let base = 0; base < 31; base++) {
      if (!(q.logicalMask & (1 << base))) continue;
      const set = Array.from({ length: q.width }, (_, i) => find(base + i));
      if (set.some((e) => !e)) continue;
      const load = set.reduce((n, e) => n + e!.active.length, 0);
      if (load < bestLoad) {
        best = set as SchedEngine[];
        bestLoad = load;
      }
    }
    if (!best) throw new Error(`exec queue on class ${q.engineClass}: no engines for its logical mask ${q.logicalMask}`);
    return best;
  }

  /** A slot stopped: its batch ended, or it faulted or hung. */
  private slotStopped(slot: JobSlot, st: CsStatus): void {
    const job = slot.job;
    if (st.state === 'fault') {
      if (this.service(slot, st.fault)) return slot.ctx.retry();
      job.init.vm.saveFault(faultRecord(job.init.vm, st.fault, slot.engine));
      return this.reset(job);
    }
    if (st.state === 'hang') return this.reset(job);
    this.dropSlot(slot);
    if (job.slots.length === 0) this.complete(job, slot.engine);
  }

  /**
   * The fault service of a fault-mode VM (xe_pagefault.ts): whether the access may be
   * retried. The same address faulting again right after a successful service is not
   * serviced twice (the access cannot succeed), so a context never loops on one fault.
   */
  private service(slot: JobSlot, f: GpuFault): boolean {
    const vm = slot.job.init.vm;
    if (!vm.faultMode || f.va === slot.serviced) return false;
    slot.serviced = f.va;
    return this.dev.onBehalf(slot.job.traceSeq, () => handlePagefault(vm, BigInt(f.va), f.access)).errno === 0;
  }

  private dropSlot(slot: JobSlot): void {
    const a = slot.engine.active;
    a.splice(a.indexOf(slot), 1);
    const s = slot.job.slots;
    s.splice(s.indexOf(slot), 1);
  }

  /** Every slot has ended: the ring writes the user fence, then the job fence signals. */
  private complete(job: XeSchedJob, engine: SchedEngine): void {
    const uf = job.init.ufence;
    if (uf) {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, uf.value, true);
      const f = job.init.vm.pt!.mmu.gpuWrite(Number(uf.addr), bytes);
      if (f) {
        job.init.vm.saveFault(faultRecord(job.init.vm, f, engine));
        return this.reset(job);
      }
    }
    this.end(this.queues.get(job.q)!, job, 0);
  }

  /** An engine reset for the job's context (a fault or a hang): -EIO, the queue banned. */
  private reset(job: XeSchedJob): void {
    job.q.engineReset = true;
    this.failQueue(this.queues.get(job.q)!, EIO);
  }

  /** Job timeouts (guc_exec_queue_timedout_job): the running job -ETIME, the queue banned. */
  private timeouts(now: bigint): void {
    for (const qj of [...this.queues.values()]) {
      const head = qj.jobs[0];
      if (head?.deadline != null && now >= head.deadline) this.failQueue(qj, ETIME);
    }
  }

  /**
   * Bans the queue and ends its unfinished jobs: a started oldest job with `errno`, every
   * other with -ECANCELED (sync_exec.md 4.3); user-fence waiters are woken.
   */
  private failQueue(qj: QueueJobs, errno: number): void {
    qj.q.ban();
    for (const job of [...qj.jobs]) this.end(qj, job, job.started && job === qj.jobs[0] ? errno : ECANCELED);
    this.dev.wake();
  }

  /** Ends a job: its contexts leave their engines and its fence signals (`errno` positive, or 0). */
  private end(qj: QueueJobs, job: XeSchedJob, errno: number): void {
    for (const slot of [...job.slots]) this.dropSlot(slot);
    job.deadline = null;
    qj.jobs.splice(qj.jobs.indexOf(job), 1);
    if (qj.jobs.length === 0) {
      this.queues.delete(qj.q);
      qj.q.put();
    }
    job.fence.signal(errno ? -errno : 0);
  }
}

const scheds = new WeakMap<XeDevice, XeSched>();

/** The scheduler of `dev` (made on first use). */
export function xeSched(dev: XeDevice): XeSched {
  let s = scheds.get(dev);
  if (!s) scheds.set(dev, (s = new XeSched(dev)));
  return s;
}
