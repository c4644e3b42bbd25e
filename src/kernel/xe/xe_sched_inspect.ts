/**
 * Inspection of exec queues and engines, for users and tests (issue 8 item 6): a queue's
 * unfinished jobs with their fences and engines, its last fence, ban and placement; an
 * engine's trace of executed commands, decoded (uapi/gpu_decode.ts). The DEBUG controls
 * QUEUE_INFO and ENGINE_TRACE (uapi/channel.ts, uapi/sched_inspect.ts) serve them with the
 * answer protocol of VM_INFO (xe_vm_inspect.ts).
 */
import { DEBUG } from '../../uapi/channel.js';
import { ENOENT } from '../../uapi/errno.js';
import type { EngineTraceWire, FenceWire, JobWire, QueueInfoWire } from '../../uapi/sched_inspect.js';
import type { Fence } from '../drm/dma_fence.js';
import type { DebugRegistry } from '../os/debug.js';
import { check } from '../os/errno.js';
import type { XeDevice } from './xe_device.js';
import type { ExecQueue } from './xe_exec_queue.js';
import type { XeFile } from './xe_file.js';
import { xeSched, type XeSched, type XeSchedJob } from './xe_sched.js';
import { lookupXeArg, putAnswer, toJson } from './xe_vm_inspect.js';

function fenceWire(f: Fence): FenceWire {
  return { context: Number(f.context), seqno: Number(f.seqno), signalled: f.signaled, error: f.error };
}

function jobWire(job: XeSchedJob): JobWire {
  return {
    fence: fenceWire(job.fence),
    state: job.started ? 'running' : job.ready ? 'ready' : 'waiting',
    batches: job.init.batches.map((a) => `0x${a.toString(16)}`),
    slots: job.slots.map((s) => ({ engine: s.engine.desc.name, ctx: s.ctx.id })),
  };
}

/** The engines the queue's logical mask allows, by name, lowest instance first. */
function queueEngines(sched: XeSched, q: ExecQueue): string[] {
  const names: string[] = [];
  for (let inst = 0; inst < 32; inst++) {
    const e = q.logicalMask & (1 << inst) ? sched.engineOf(q.hwe.gt.id, q.engineClass, inst) : undefined;
    if (e) names.push(e.desc.name);
  }
  return names;
}

/** Queue `id` of `file` as DEBUG.QUEUE_INFO reports it. */
export function queueInfo(dev: XeDevice, file: XeFile, id: number, q: ExecQueue): QueueInfoWire {
  const sched = xeSched(dev);
  const vmEntry = file.vms.entries().find(([, vm]) => vm === q.vm);
  const last = q.lastFence.peek();
  return {
    id, engineClass: q.engineClass, width: q.width, gt: q.hwe.gt.id, engines: queueEngines(sched, q), bind: q.bind,
    vmId: vmEntry ? vmEntry[0] : null, lr: vmEntry ? vmEntry[1].lrMode : false,
    banned: q.banned, killed: q.killed, engineReset: q.engineReset, jobTimeoutMs: q.jobTimeoutMs,
    lastFence: last ? fenceWire(last) : null,
    jobs: sched.jobsOf(q).map(jobWire),
  };
}

/** The trace of the engine `sel` names (uapi engineSelector) as DEBUG.ENGINE_TRACE reports it. */
export function engineTrace(dev: XeDevice, sel: number): EngineTraceWire {
  const [inst, cls, gt] = [sel & 0xff, (sel >>> 8) & 0xff, (sel >>> 16) & 0xff];
  const e = xeSched(dev).engineOf(gt, cls, inst);
  check(!e, ENOENT, 'ENGINE_TRACE: no engine of class %d, instance %d on GT %d', cls, inst, gt);
  return {
    engine: e!.desc.name, gt, engineClass: cls, instance: inst,
    trace: e!.cs.trace().map((r) => ({ addr: `0x${r.addr.toString(16)}`, ctx: r.ctx, dwords: r.dwords, decoded: r.decoded })),
  };
}

/** Registers DEBUG.QUEUE_INFO and ENGINE_TRACE. */
export function registerSchedInspectOps(ops: DebugRegistry): void {
  ops.register(DEBUG.QUEUE_INFO, (p, [arg, buf, size]) => {
    const { file, id } = lookupXeArg(p, arg, 'QUEUE_INFO');
    const q = file.execQueues.get(id);
    check(!q, ENOENT, 'QUEUE_INFO: exec queue %d: no such queue', id);
    return putAnswer(p, buf, size, toJson(queueInfo(file.dev, file, id, q!)), 'QUEUE_INFO');
  });
  ops.register(DEBUG.ENGINE_TRACE, (p, [arg, buf, size]) => {
    const { file, id } = lookupXeArg(p, arg, 'ENGINE_TRACE');
    return putAnswer(p, buf, size, toJson(engineTrace(file.dev, id)), 'ENGINE_TRACE');
  });
}
