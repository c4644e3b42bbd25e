/**
 * A full walk of a GPU page-table tree from its root, reading only the entry bytes in
 * emulated physical memory (never kernel bookkeeping), as the hardware walker would read them
 * for every address at once. The result is the list of mapped runs: adjacent leaves with the
 * same size and flags whose pages follow each other (or NULL leaves) merge into one run, so a
 * 1 GiB mapping of contiguous memory is one run whatever its leaf size.
 *
 * Tables reached more than once (the shared scratch tables of a SCRATCH_PAGE VM: every root
 * entry points to the same level-3 table) are walked once and their runs reused, so a whole
 * 57-bit scratch VM costs three tables' entries.
 */
import { COMPACT_ENTRIES, PT_ENTRIES, decodeEntry, type DecodedEntry, type PtMemory } from './pagetable.js';

/** A run of leaves mapping [start, end). */
export interface PtRun {
  start: number;
  end: number;
  /** Bytes each leaf maps: 4K, 64K (compact table), 2M or 1G. */
  leafSize: number;
  /** Level of the leaves (0 for 4K and compact 64K leaves). */
  level: number;
  /** The leaves sit in a compact level-0 table. */
  compact: boolean;
  /** Device address in the first leaf (0 for NULL leaves). */
  addr: number;
  /** Emulated physical address of the run's first byte; -1 for NULL leaves and addresses outside memory. */
  pa: number;
  nul: boolean;
  writable: boolean;
  patIndex: number;
  dm: boolean;
  ae: boolean;
  ps64: boolean;
}

/** Whether a leaf (as a one-leaf run `b`) continues run `a`: same kind and flags, next address. */
export function runContinues(a: PtRun, b: PtRun): boolean {
  return a.end === b.start && a.leafSize === b.leafSize && a.compact === b.compact && a.nul === b.nul &&
    a.writable === b.writable && a.patIndex === b.patIndex && a.dm === b.dm && a.ae === b.ae && a.ps64 === b.ps64 &&
    (a.nul || (b.addr === a.addr + (a.end - a.start) && (a.pa < 0) === (b.pa < 0)));
}

/** Appends `r` to `out`, merging it into the last run when it continues it. */
export function appendRun(out: PtRun[], r: PtRun): void {
  const last = out[out.length - 1];
  if (last && runContinues(last, r)) last.end = r.end;
  else out.push(r);
}

/** The one-leaf run of a decoded leaf at `va`. */
export function leafRun(ptm: PtMemory, e: DecodedEntry, va: number, level: number, compact: boolean): PtRun {
  return {
    start: va, end: va + e.size, leafSize: e.size, level, compact, addr: e.addr,
    pa: e.nul ? -1 : ptm.leafPa(e.addr, e.dm, e.size), nul: e.nul, writable: e.writable, patIndex: e.patIndex,
    dm: e.dm, ae: e.ae, ps64: e.ps64,
  };
}

/** A present entry of a table, decoded. */
export interface PtSlot {
  index: number;
  /** First VA the entry covers. */
  va: number;
  entry: DecodedEntry;
}

/** The present entries of the table at device address `addr` at `level` whose base VA is `vaBase`. */
export function tableSlots(ptm: PtMemory, addr: number, level: number, compact: boolean, vaBase: number): PtSlot[] {
  const pa = ptm.tablePa(addr);
  const out: PtSlot[] = [];
  for (let index = 0; index < (compact ? COMPACT_ENTRIES : PT_ENTRIES); index++) {
    const { lo, hi } = ptm.readEntry(pa, index);
    if (!(lo & 1)) continue;
    const entry = decodeEntry(ptm.geo, lo, hi, level, compact);
    out.push({ index, va: vaBase + index * entry.size, entry });
  }
  return out;
}

/**
 * The mapped runs of the tree under the root table at device address `rootAddr`, in VA
 * order, below 2^va_bits. PDEs to addresses outside table memory are skipped (the hardware would fault there,
 * which GpuMmu reports per access).
 */
export function walkRuns(ptm: PtMemory, rootAddr: number): PtRun[] {
  const memo = new Map<string, PtRun[]>();
  const walk = (addr: number, level: number, compact: boolean): PtRun[] => {
    const key = `${addr}:${level}:${compact}`;
    const known = memo.get(key);
    if (known) return known;
    const out: PtRun[] = [];
    for (const { va, entry } of tableSlots(ptm, addr, level, compact, 0)) {
      if (entry.kind === 'pde' || entry.kind === 'pde64k') {
        if (!ptm.tableOk(entry.addr)) continue;
        for (const r of walk(entry.addr, level - 1, entry.kind === 'pde64k')) appendRun(out, { ...r, start: r.start + va, end: r.end + va });
      } else {
        appendRun(out, leafRun(ptm, entry, va, level, compact));
      }
    }
    memo.set(key, out);
    return out;
  };
  // A 5-level tree spans 2^57, but the MMU translates only below 2^va_bits.
  const limit = 2 ** ptm.geo.vaBits;
  return walk(rootAddr, ptm.geo.rootLevel, false).filter((r) => r.start < limit).map((r) => ({ ...r, end: Math.min(r.end, limit) }));
}
