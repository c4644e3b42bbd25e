/**
 * The answers of the queue and engine inspection controls (DEBUG.QUEUE_INFO and
 * DEBUG.ENGINE_TRACE in channel.ts): the JSON the kernel writes. Addresses are "0x..." hex
 * strings (JSON has no u64); fence contexts and seqnos are small numbers.
 */
import type { DecodedCommand } from './gpu_decode.js';

/** A fence: its timeline point, whether it has signalled, and its error (0 or -errno). */
export interface FenceWire {
  context: number;
  seqno: number;
  signalled: boolean;
  error: number;
}

/** An unfinished job of a queue. */
export interface JobWire {
  /** Its fence (the out-fence EXEC gave to the out-syncs). */
  fence: FenceWire;
  /** 'waiting' for dependencies, 'ready' to start (behind older jobs), 'running' on engines. */
  state: 'waiting' | 'ready' | 'running';
  /** One batch address per slot. */
  batches: string[];
  /** While running: the engine of each slot still running, and its context id (the trace's ctx). */
  slots: Array<{ engine: string; ctx: number }>;
}

/** The answer of DEBUG.QUEUE_INFO. */
export interface QueueInfoWire {
  id: number;
  /** uAPI engine class, width, GT and the engines its logical mask allows (by name). */
  engineClass: number;
  width: number;
  gt: number;
  engines: string[];
  /** A VM_BIND queue. */
  bind: boolean;
  /** The id of its VM in the queue's file (null when the file no longer lists it). */
  vmId: number | null;
  /** The VM is in LR mode: no last fence, no job timeout. */
  lr: boolean;
  banned: boolean;
  killed: boolean;
  engineReset: boolean;
  /** Job timeout in ms (ignored for LR jobs). */
  jobTimeoutMs: number;
  /** The last fence slot (null when empty). */
  lastFence: FenceWire | null;
  /** Unfinished jobs, oldest first. */
  jobs: JobWire[];
}

/** One traced command: its GPU address, the context that ran it, its first dwords, decoded. */
export interface TraceEntryWire {
  addr: string;
  ctx: number;
  dwords: number[];
  decoded: DecodedCommand;
}

/** The answer of DEBUG.ENGINE_TRACE: the engine and the commands it ran, oldest first. */
export interface EngineTraceWire {
  engine: string;
  gt: number;
  engineClass: number;
  instance: number;
  trace: TraceEntryWire[];
}

/** ARG1 bits 32-63 of DEBUG.ENGINE_TRACE: logical instance | class << 8 | gt_id << 16. */
export function engineSelector(engineClass: number, instance: number, gt: number): number {
  return ((instance & 0xff) | ((engineClass & 0xff) << 8) | ((gt & 0xff) << 16)) >>> 0;
}
