/** Exec queues (xe_exec_queue.c). */
import type { IoctlDef } from './dispatch.js';

/** An exec queue. */
export class ExecQueue {
  /** Kills the queue (destroy / file close). */
  kill(): void {}
}

/** Exec queue ioctls. */
export const EXEC_QUEUE_IOCTLS: IoctlDef[] = [];
