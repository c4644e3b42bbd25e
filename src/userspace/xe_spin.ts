/**
 * A spinner in the manner of IGT's lib/xe/xe_spin.c: a batch that writes a start marker, then
 * loops until the CPU writes 0 to its end dword. The spinner is one small struct in GPU
 * memory (the batch, then the start and end dwords) that the caller places at GPU VA `addr`
 * and maps for the CPU at `cpu`.
 *
 * The default loop re-checks the end dword with MI_CONDITIONAL_BATCH_BUFFER_END and jumps back
 * with MI_BATCH_BUFFER_START, as IGT's spinner does (the engine stays busy). With `semaphore`
 * the batch parks on an MI_SEMAPHORE_WAIT for end == 0 instead (the engine polls memory).
 */
import {
  Batch, COMPARE, miNoop, miBatchBufferEnd, miBatchBufferStart, miCondBatchBufferEnd, miSemaphoreWait, miStoreDwordImm,
} from '../uapi/gpu_commands.js';
import type { Process } from './process.js';

/** Byte offsets in the spinner struct, and its size. */
export const XE_SPIN = { BATCH: 0, START: 0x100, END: 0x104, SIZE: 0x108 } as const;
/** The value the batch writes to the start dword when it runs (IGT's 0xc0ffee). */
export const XE_SPIN_STARTED = 0xc0ffee;

/** What to build. */
export interface XeSpinOpts {
  /** GPU VA of the spinner struct. */
  addr: bigint;
  /** Park on a semaphore wait instead of looping. */
  semaphore?: boolean;
}

/** xe_spin_init: the struct's bytes (the batch; start 0; end 1 so that it spins). */
export function xe_spin_init(opts: XeSpinOpts): Uint8Array {
  const base = Number(opts.addr);
  const end = base + XE_SPIN.END;
  const b = new Batch();
  b.emit(miStoreDwordImm(base + XE_SPIN.START, XE_SPIN_STARTED));
  if (opts.semaphore) {
    b.emit(miSemaphoreWait(COMPARE.EQ, end, 0));
  } else {
    const loop = base + b.emit(miNoop());
    // Go on while end != 0; a 0 ends the batch.
    b.emit(miCondBatchBufferEnd(COMPARE.NEQ, end, 0));
    b.emit(miBatchBufferStart(loop));
  }
  b.emit(miBatchBufferEnd());
  const out = new Uint8Array(XE_SPIN.SIZE);
  const code = b.bytes();
  if (code.length > XE_SPIN.START) throw new RangeError(`xe_spin: batch of ${code.length} bytes does not fit`);
  out.set(code, XE_SPIN.BATCH);
  new DataView(out.buffer).setUint32(XE_SPIN.END, 1, true);
  return out;
}

/** xe_spin_started: the batch has written its start marker (CPU mapping `cpu`). */
export function xe_spin_started(p: Process, cpu: bigint): boolean {
  return p.mem.readU32(cpu + BigInt(XE_SPIN.START)) === XE_SPIN_STARTED;
}

/** xe_spin_end: releases the spinner (writes 0 to its end dword through CPU mapping `cpu`). */
export function xe_spin_end(p: Process, cpu: bigint): void {
  p.mem.writeU32(cpu + BigInt(XE_SPIN.END), 0);
}
