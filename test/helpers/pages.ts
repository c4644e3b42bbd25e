/** Test helpers for user pages: whether an access faults, and per-page markers. */
import { Segfault, type Process } from '../../src/index.js';

const P = 4096n;

/** Whether `fn` hits an unmapped address (a Segfault, the analogue of SIGSEGV). */
export function faults(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (e instanceof Segfault) return true;
    throw e;
  }
}

/** Writes marker `v` at both ends of the page at `page`. */
export function setMarker(p: Process, page: bigint, v: number): void {
  p.mem.writeU32(page, v);
  p.mem.writeU32(page + P - 4n, v);
}

/** The marker of the page at `page`: 'fault' when unmapped, -1 when its two ends differ. */
export function marker(p: Process, page: bigint): number | 'fault' {
  if (faults(() => p.mem.readU32(page))) return 'fault';
  const a = p.mem.readU32(page);
  return a === p.mem.readU32(page + P - 4n) ? a : -1;
}
