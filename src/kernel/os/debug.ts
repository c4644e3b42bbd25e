/**
 * Emulator control operations (SYS.DEBUG), the analogue of debugfs and fault injection.
 * The OS keeps the registry; each layer registers its own operations (the OS its kernel
 * bug and panic, DRM core its test fences, the driver its device controls).
 */
import { EINVAL } from '../../uapi/errno.js';
import { Errno } from './errno.js';
import type { Process } from './process.js';

/** A control operation: (calling process, ARG1..ARG4) -> the call's 64-bit return words. */
export type DebugOp = (proc: Process, args: bigint[]) => bigint[] | void;

/** The control operations, by DEBUG_* number. */
export class DebugRegistry {
  private readonly ops = new Map<number, DebugOp>();

  /** Registers operation `nr`; each number has one owner. */
  register(nr: number, op: DebugOp): void {
    if (this.ops.has(nr)) throw new Error(`debug op ${nr} registered twice`);
    this.ops.set(nr, op);
  }

  /** Runs operation `nr`; an unknown one is -EINVAL. */
  call(nr: number, proc: Process, args: bigint[]): bigint[] {
    const op = this.ops.get(nr);
    if (!op) throw new Errno(EINVAL, 'debug op %d: unknown', nr);
    return op(proc, args) ?? [];
  }
}
