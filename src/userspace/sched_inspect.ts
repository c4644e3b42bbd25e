/**
 * The user side of the queue and engine inspection controls (uapi/sched_inspect.ts): the
 * typed results of `p.queueInfo` and `p.engineTrace`, decoded from the kernel's JSON (hex
 * strings become bigints; each traced command also gets its one-line text).
 */
import { formatCommand, type DecodedCommand } from '../uapi/gpu_decode.js';
import type { EngineTraceWire, JobWire, QueueInfoWire } from '../uapi/sched_inspect.js';

export type { FenceWire as FenceInfo } from '../uapi/sched_inspect.js';

/** An unfinished job of a queue (`p.queueInfo`). */
export type JobInfo = Omit<JobWire, 'batches'> & { batches: bigint[] };

/** An exec queue's state (`p.queueInfo`). */
export type QueueInfo = Omit<QueueInfoWire, 'jobs'> & { jobs: JobInfo[] };

/** One command an engine executed (`p.engineTrace`). */
export interface TraceEntry {
  addr: bigint;
  /** The context that ran it (JobInfo slots' ctx). */
  ctx: number;
  dwords: number[];
  decoded: DecodedCommand;
  /** The command on one line, e.g. `MI_STORE_DATA_IMM addr=0x1000 qword=false data=0x5`. */
  text: string;
}

/** An engine and the commands it executed, oldest first (`p.engineTrace`). */
export type EngineTrace = Omit<EngineTraceWire, 'trace'> & { trace: TraceEntry[] };

/** QUEUE_INFO's JSON as a QueueInfo. */
export function decodeQueueInfo(json: string): QueueInfo {
  const w = JSON.parse(json) as QueueInfoWire;
  return { ...w, jobs: w.jobs.map((j) => ({ ...j, batches: j.batches.map((b) => BigInt(b)) })) };
}

/** ENGINE_TRACE's JSON as an EngineTrace. */
export function decodeEngineTrace(json: string): EngineTrace {
  const w = JSON.parse(json) as EngineTraceWire;
  return { ...w, trace: w.trace.map((r) => ({ ...r, addr: BigInt(r.addr), text: formatCommand(r.decoded) })) };
}
