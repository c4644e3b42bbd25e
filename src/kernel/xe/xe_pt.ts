/**
 * The GPU page tables of one VM on one tile (xe_pt.c): the root created with the VM, scratch
 * tables for SCRATCH_PAGE VMs, and the staged bind / unbind walks that write leaves for a VA
 * range and tear them down again. Facts: shared/spec/vm_bind.md 1.4, 3.7 (REMAP skip), 5.3-5.6
 * and 5.8; the unbind walk follows upstream xe_pt_stage_unbind / xe_pt_check_kill.
 *
 * Every change is staged first (as the driver's xe_pt_update_ops_prepare): new tables are
 * allocated and filled while they are still unreachable, and the writes into tables of the
 * live tree wait in the stage. An allocation failure or a refused leaf drops the stage and
 * frees its tables, so the bytes of the live tree never change on failure.
 *
 * A shadow of the tree (one PtNode per table: its children and what each entry holds) keeps
 * the live-entry counts (num_live) that decide when a table is freed.
 *
 * Updates come in two steps, as a bind job does (xe_pt_update_ops_prepare / _run):
 * `begin()` opens a PtUpdate; `stageBind` / `stageUnbind` add ranges to it, each moving the
 * shadow at once (so later stages, and later updates, see the tree as it will be) while the
 * entry writes into live tables, the table frees and the TLB invalidations wait in the
 * update; `abort(u)` puts the shadow back and frees the update's new tables (the bytes never
 * changed); `apply(u)` writes the entries, frees the replaced tables and invalidates, when the
 * job runs. Updates must be applied in the order they were staged (the caller orders the
 * page-table jobs of a VM); `bind` / `unbind` do all three steps at once.
 */
import { PAGE_SIZE, type PageAllocator } from '../../hw/memory.js';
import { GpuMmu } from '../../hw/mmu.js';
import {
  COMPACT_ENTRIES, COMPACT_SHIFT, MAX_HUGEPTE_LEVEL, PT_EMPTY, PT_ENTRIES, PtMemory, encodeLeaf, encodePde,
  levelSize, ptGeometry, ptIndex, compactIndex, type PtEntry,
} from '../../hw/pagetable.js';
import { graphicsVerx100, type Profile } from '../../hw/profile.js';
import { EINVAL, ENOMEM } from '../../uapi/errno.js';
import { Errno } from '../os/errno.js';
import type { XeDevice } from './xe_device.js';

const SZ_64K = 2 ** COMPACT_SHIFT;

/** What an entry of a table holds (shadow state); Zero: a live entry written as 0 by invalidate-on-bind. */
export const enum Slot { Empty = 0, Table, Leaf4K, LeafPs64, Leaf64K, Leaf2M, Leaf1G, Zero }

/** One page table of the tree (struct xe_pt). */
export interface PtNode {
  /** Emulated physical address of the table page. */
  readonly pa: number;
  /** Device address (what a PDE holds). */
  readonly addr: number;
  readonly level: number;
  /** A compact level-0 table of 32 64K leaves. */
  readonly compact: boolean;
  /** Child tables by entry index (null: no child table of this tree). */
  readonly children: Array<PtNode | null>;
  /** What each entry holds. */
  readonly slots: Uint8Array;
  /** Live (non-empty) entries: num_live. */
  live: number;
}

/** PTE sizes a bind used (XE_VMA_PTE_* flags), for the REMAP skip rule. */
export const PTE_4K = 1;
export const PTE_64K = 2;
export const PTE_2M = 4;
export const PTE_1G = 8;
export const PTE_COMPACT = 16;

/** One range to bind. */
export interface BindRange {
  /** VA range [start, end), 4K-aligned. */
  start: number;
  end: number;
  /** Emulated physical addresses of the backing 4K pages, one per page of the range; null: a NULL VMA. */
  pages: readonly number[] | null;
  patIndex: number;
  readOnly?: boolean;
  /** System-memory leaves get AE (device atomics on system memory allowed for this VMA, 5.4). */
  atomicSysmem?: boolean;
  /**
   * Invalidate-on-bind (fault mode with scratch, 6.1): the largest leaves the range allows
   * are written as 0 (not present, not scratch), so an access faults; `pages` must be null.
   */
  invalidate?: boolean;
}

/** A TLB invalidation the kernel must issue (5.8). */
export interface TlbInval {
  start: number;
  end: number;
  /**
   * 'unbind': after an unbind; 'rebind': a bind over present entries; 'scratch': a bind over
   * scratch entries; 'madvise': after MADVISE zapped PTEs (vm_attrs.md 4.5); 'userptr': the
   * CPU range of a userptr VMA changed (xe_userptr.ts).
   */
  reason: 'unbind' | 'rebind' | 'scratch' | 'madvise' | 'userptr';
}

/** Tables, leaves and memory of a tree. */
export interface PtStats {
  /** Tables per level (index = level), scratch tables included. */
  tables: number[];
  /** Live leaves by size; `ps64` counts 4K leaves with the 64K hint (also in `4K`). */
  leaves: { '4K': number; ps64: number; '64K': number; '2M': number; '1G': number };
  /** Bytes of table memory. */
  bytes: number;
}

/** An entry write staged for a table of the live tree. */
interface StagedWrite {
  entry: PtEntry;
  slot: Slot;
  child: PtNode | null;
}

/** Pending changes of one bind or unbind (xe_vm_pgtable_update_op). */
class Stage {
  readonly writes = new Map<PtNode, Map<number, StagedWrite>>();
  /** Table pages allocated by this stage. */
  readonly pages: number[] = [];
  /** New tables replaced again within the stage (freed at commit). */
  readonly orphans: PtNode[] = [];
  readonly invals: TlbInval[] = [];
  pteFlags = 0;

  get(node: PtNode, i: number): StagedWrite | undefined {
    return this.writes.get(node)?.get(i);
  }

  put(node: PtNode, i: number, w: StagedWrite, isNew: (n: PtNode) => boolean): void {
    let m = this.writes.get(node);
    if (!m) this.writes.set(node, (m = new Map()));
    const prev = m.get(i);
    if (prev?.child && isNew(prev.child) && prev.child !== w.child) this.orphans.push(prev.child);
    m.set(i, w);
  }
}

/** An entry write into a table of the live tree, done when the update is applied. */
interface ByteWrite {
  pa: number;
  i: number;
  entry: PtEntry;
}

/**
 * A staged page-table update (one bind job's xe_vm_pgtable_update_ops): the shadow already
 * reflects it; the bytes, frees and invalidations wait for apply().
 */
export class PtUpdate {
  /** @internal Entry writes into live tables, in staging order. */
  readonly writes: ByteWrite[] = [];
  /** @internal Table pages to free once applied (replaced or killed tables). */
  readonly freed: number[] = [];
  /** @internal Table pages allocated for the update (freed again by abort). */
  readonly allocated: number[] = [];
  /** TLB invalidations issued when applied. */
  readonly invals: TlbInval[] = [];
  /** @internal Shadow state before the update, for abort: entries first touched, live counts. */
  readonly undoSlots: Array<{ node: PtNode; i: number; slot: Slot; child: PtNode | null }> = [];
  readonly undoLive = new Map<PtNode, number>();
  /** @internal Set by apply / abort. */
  done = false;
}

/** Per-range state of a bind walk (xe_pt_stage_bind_walk). */
interface BindWalk {
  r: BindRange;
  /** Device address and DM of each backing page (null for NULL). */
  dev: number[];
  dm: boolean[];
  /** Pages physically contiguous from each page on (to the end of the range). */
  run: Uint32Array;
  /** End of the current level-0 table's part of the range (l0_end_addr). */
  l0End: number;
  found64K: boolean;
  addr64K: number;
  /** Whether a live entry was overwritten (a rebind). */
  overPresent: boolean;
}

/** The page-table tree of a VM on one tile (vm->pt_root[tile] and the scratch tables). */
export class XePt {
  readonly ptm: PtMemory;
  readonly root: PtNode;
  /** Scratch table per level (index = level; 2 .. root-1), empty without SCRATCH_PAGE. */
  readonly scratch: Array<PtNode | undefined> = [];
  /** The GPU MMU over this tree; binds and unbinds invalidate its TLB as the kernel would. */
  readonly mmu: GpuMmu;
  /** Every TLB invalidation issued, oldest first. */
  readonly invalidations: TlbInval[] = [];
  private readonly newNodes = new Set<PtNode>();
  /** Allocations left until the injected failure (0: none injected). */
  private failIn = 0;
  /** Consulted before every table allocation: true makes it fail (the device's fault injection). */
  injectFault: (() => boolean) | null = null;
  /** Updates staged and not yet applied or aborted (their frees are owed by destroy). */
  private readonly pending = new Set<PtUpdate>();
  private readonly emptyEntries: PtEntry[];

  /**
   * A tree whose tables come from `alloc` (the table region: VRAM on a discrete device).
   * `patWb` is the WB PAT index (scratch leaves), `pdePat` the PAT index of PDEs.
   * Throws Errno(ENOMEM) when the root or scratch tables do not fit (nothing stays allocated).
   */
  constructor(
    ptm: PtMemory,
    private readonly alloc: PageAllocator,
    readonly scratchPage: boolean,
    patWb: number,
    private readonly pdePat: number,
  ) {
    this.ptm = ptm;
    const rootLevel = ptm.geo.rootLevel;
    const geo = ptm.geo;
    const stage = new Stage();
    this.emptyEntries = [];
    try {
      for (let level = 0; level < rootLevel; level++) {
        if (!scratchPage) this.emptyEntries.push(PT_EMPTY);
        else if (level <= MAX_HUGEPTE_LEVEL) this.emptyEntries.push(encodeLeaf(level, 0, patWb, { nul: true, dm: geo.tablesInVram }));
        else this.emptyEntries.push(encodePde(this.scratch[level - 1]!.addr, pdePat));
        if (scratchPage && level >= MAX_HUGEPTE_LEVEL) this.scratch[level] = this.filledTable(stage, level);
      }
      this.emptyEntries.push(scratchPage ? encodePde(this.scratch[rootLevel - 1]!.addr, pdePat) : PT_EMPTY);
      this.root = this.filledTable(stage, rootLevel);
    } catch (e) {
      this.dropStage(stage);
      throw e;
    }
    this.newNodes.clear();
    this.mmu = new GpuMmu(ptm, this.root.addr);
  }

  /** A new table at `level` whose entries are all empty (5.6). */
  private filledTable(stage: Stage, level: number): PtNode {
    const t = this.newTable(stage, level, false);
    this.fill(t, 0, PT_ENTRIES, this.emptyEntries[level]);
    return t;
  }

  /** The tree of a new VM of `dev` (tile 0): tables in VRAM on a discrete device, else system memory. */
  static forDevice(dev: XeDevice, scratchPage: boolean): XePt {
    const p = dev.profile;
    const geo = ptGeometry(p);
    const alloc = geo.tablesInVram ? dev.vram[0] : dev.sysmem;
    return new XePt(new PtMemory(dev.phys, geo), alloc, scratchPage, p.patWb, pdePatIndex(p));
  }

  /** Makes the `n`-th table allocation from now fail (1: the next one); 0 cancels. */
  failAllocation(n: number): void {
    this.failIn = n;
  }

  /**
   * Binds `ranges` (non-overlapping) all or nothing: writes their leaves, choosing leaf sizes
   * from the backing's real contiguity and alignment (5.3). Returns each range's PTE-size
   * flags (PTE_*). Throws Errno(ENOMEM) when a table cannot be allocated and Errno(EINVAL)
   * for a VRAM 4K leaf on a device that needs 64K; the tree is then unchanged.
   */
  bind(ranges: readonly BindRange[]): number[] {
    return this.now((u) => this.stageBind(u, ranges));
  }

  /**
   * Unbinds [start, end) (xe_pt_stage_unbind): clears the entries the range covers back to
   * empty (0 or scratch, 5.6) and frees every table whose live entries all lie in the range,
   * up to (not including) the root. Issues the TLB invalidation of the range.
   */
  unbind(start: number, end: number): void {
    this.now((u) => this.stageUnbind(u, start, end));
  }

  /** Opens an update (xe_pt_update_ops_init); stage into it, then apply or abort it. */
  begin(): PtUpdate {
    const u = new PtUpdate();
    this.pending.add(u);
    return u;
  }

  /**
   * Stages the bind of `ranges` into `u` (as bind). On a throw, what this call staged is
   * dropped and `u` is as before (the caller usually aborts it).
   */
  stageBind(u: PtUpdate, ranges: readonly BindRange[]): number[] {
    const stage = new Stage();
    const flags: number[] = [];
    try {
      for (const r of ranges) {
        stage.pteFlags = 0;
        const w = this.bindWalk(r);
        this.stageBindLevel(stage, w, this.root, r.start, r.end);
        flags.push(stage.pteFlags);
        if (w.overPresent || this.scratchPage) stage.invals.push({ start: r.start, end: r.end, reason: w.overPresent ? 'rebind' : 'scratch' });
      }
    } catch (e) {
      this.dropStage(stage);
      throw e;
    }
    this.commitShadow(stage, u);
    return flags;
  }

  /** Stages the unbind of [start, end) into `u` (as unbind). */
  stageUnbind(u: PtUpdate, start: number, end: number): void {
    this.checkRange(start, end);
    const stage = new Stage();
    const walk = { modStart: start, modEnd: end };
    this.stageUnbindChildren(stage, walk, this.root, start, end);
    const size = levelSize(this.root.level);
    const a = start % size ? walk.modStart : start;
    const n = end % size ? walk.modEnd : end;
    this.stageClear(stage, this.root, a, n);
    stage.invals.push({ start, end, reason: 'unbind' });
    this.commitShadow(stage, u);
  }

  /** Writes the update's entries, frees the tables it replaced, issues its TLB invalidations. */
  apply(u: PtUpdate): void {
    this.settle(u);
    for (const w of u.writes) this.ptm.writeEntry(w.pa, w.i, w.entry);
    this.alloc.free(u.freed);
    for (const inv of u.invals) this.invalidate(inv);
  }

  /** Drops the update: the shadow comes back as before it, its new tables are freed. */
  abort(u: PtUpdate): void {
    this.settle(u);
    for (let k = u.undoSlots.length - 1; k >= 0; k--) {
      const { node, i, slot, child } = u.undoSlots[k];
      node.slots[i] = slot;
      node.children[i] = child;
    }
    for (const [node, live] of u.undoLive) node.live = live;
    this.alloc.free(u.allocated);
  }

  private settle(u: PtUpdate): void {
    if (u.done || !this.pending.delete(u)) throw new Error('xe_pt: update applied or aborted twice, or not of this tree');
    u.done = true;
  }

  /** An update applied at once: begin + `stage` + apply; abort when `stage` throws. */
  now<T>(stage: (u: PtUpdate) => T): T {
    const u = this.begin();
    let r: T;
    try {
      r = stage(u);
    } catch (e) {
      this.abort(u);
      throw e;
    }
    this.apply(u);
    return r;
  }

  /**
   * xe_pt_zap_ptes over [start, end) (a VMA's range): writes 0 (not scratch) over the entries
   * the range owns, at the highest level where it owns them whole: leaves, or PDEs of tables
   * it owns, which stay allocated and in the shadow (as upstream, whose xe_pt children and
   * num_live do not change), so a later bind or unbind of the range walks them as before.
   * Issues no TLB invalidation (the caller's, `invalidate`). Returns whether anything was
   * written.
   */
  zap(start: number, end: number): boolean {
    this.checkRange(start, end);
    return this.zapIn(this.root, start, end);
  }

  /** A ranged TLB invalidation of [start, end) outside a bind or unbind (MADVISE). */
  invalidate(inv: TlbInval): void {
    this.mmu.invalidateRange(inv.start, inv.end);
    this.invalidations.push(inv);
  }

  /** Tables per level, live leaves by size, bytes of table memory. */
  stats(): PtStats {
    const tables = new Array<number>(this.root.level + 1).fill(0);
    const leaves = { '4K': 0, ps64: 0, '64K': 0, '2M': 0, '1G': 0 };
    const visit = (node: PtNode): void => {
      tables[node.level]++;
      for (let i = 0; i < node.slots.length; i++) {
        const s = node.slots[i];
        if (s === Slot.Table) visit(node.children[i]!);
        else if (s === Slot.Leaf4K || s === Slot.LeafPs64) leaves['4K']++;
        if (s === Slot.LeafPs64) leaves.ps64++;
        else if (s === Slot.Leaf64K) leaves['64K']++;
        else if (s === Slot.Leaf2M) leaves['2M']++;
        else if (s === Slot.Leaf1G) leaves['1G']++;
      }
    };
    visit(this.root);
    for (const s of this.scratch) if (s) tables[s.level]++;
    return { tables, leaves, bytes: tables.reduce((x, y) => x + y, 0) * PAGE_SIZE };
  }

  /** Frees every table (VM destruction), scratch included; updates never applied are dropped. */
  destroy(): void {
    for (const u of this.pending) this.alloc.free(u.freed);
    this.pending.clear();
    this.freeSubtree(this.root);
    this.freeScratch();
  }

  private freeScratch(): void {
    const pages = this.scratch.filter((s): s is PtNode => !!s).map((s) => s.pa);
    this.alloc.free(pages);
    this.scratch.length = 0;
  }

  private checkRange(start: number, end: number): void {
    if (!(start % PAGE_SIZE === 0 && end % PAGE_SIZE === 0 && start >= 0 && start < end && end <= 2 ** this.ptm.geo.vaBits)) {
      throw new RangeError(`bad VA range [0x${start.toString(16)}, 0x${end.toString(16)})`);
    }
  }

  private bindWalk(r: BindRange): BindWalk {
    this.checkRange(r.start, r.end);
    const count = (r.end - r.start) / PAGE_SIZE;
    if (r.pages && r.pages.length !== count) throw new RangeError(`${r.pages.length} pages for ${count} pages of VA`);
    const dev: number[] = [];
    const dm: boolean[] = [];
    const run = new Uint32Array(r.pages ? count : 0);
    if (r.pages) {
      for (const pa of r.pages) {
        const d = this.ptm.pageAddr(pa);
        dev.push(d.addr);
        dm.push(d.dm);
      }
      for (let k = count - 1; k >= 0; k--) {
        run[k] = k + 1 < count && r.pages[k + 1] === r.pages[k] + PAGE_SIZE ? run[k + 1] + 1 : 1;
      }
    }
    return { r, dev, dm, run, l0End: 0, found64K: false, addr64K: 0, overPresent: false };
  }

  /** xe_pt_stage_bind_entry over the entries of `node` that [start, end) touches. */
  private stageBindLevel(stage: Stage, w: BindWalk, node: PtNode, start: number, end: number): void {
    const esize = entrySize(node);
    for (let a = start; a < end;) {
      const slotStart = Math.floor(a / esize) * esize;
      const n = Math.min(slotStart + esize, end);
      const i = entryIndex(node, a);
      const covers = a === slotStart && n === slotStart + esize;
      const old = stage.get(node, i) ?? { slot: node.slots[i] as Slot, child: node.children[i], entry: PT_EMPTY };
      if (node.level === 0 || (node.level <= MAX_HUGEPTE_LEVEL && covers && this.hugeOk(w, a, esize))) {
        if (old.slot !== Slot.Empty) w.overPresent = true;
        const leaf = this.leaf(w, node, a);
        stage.pteFlags |= pteFlag(leaf.slot);
        this.put(stage, node, i, w.r.invalidate ? { entry: PT_EMPTY, slot: Slot.Zero, child: null } : leaf);
      } else {
        let child = old.child;
        if (node.level === 1) w.l0End = n;
        if (covers || !child) {
          if (child) w.overPresent = true;
          const compact = node.level === 1 && covers && this.ptm.geo.compact64k && scan64K(w, a, n);
          child = this.newTable(stage, node.level - 1, compact);
          if (!covers) this.fill(child, 0, PT_ENTRIES, this.emptyEntries[child.level]);
          if (compact) stage.pteFlags |= PTE_COMPACT;
          this.put(stage, node, i, { entry: encodePde(child.addr, this.pdePat, compact), slot: Slot.Table, child });
        }
        this.stageBindLevel(stage, w, child, a, n);
      }
      a = n;
    }
  }

  /** Whether a huge leaf of `size` at `a` fits the backing (xe_pt_hugepte_possible). */
  private hugeOk(w: BindWalk, a: number, size: number): boolean {
    if (!w.r.pages) return true;
    const k = (a - w.r.start) / PAGE_SIZE;
    return w.run[k] * PAGE_SIZE >= size && w.dev[k] % size === 0;
  }

  /** The leaf for the slot at `a` of `node` (xe_pt_stage_bind_entry's leaf branch). */
  private leaf(w: BindWalk, node: PtNode, a: number): StagedWrite {
    const r = w.r;
    const k = (a - r.start) / PAGE_SIZE;
    const nul = !r.pages;
    const dm = !nul && w.dm[k];
    const addr = nul ? 0 : w.dev[k];
    let slot: Slot;
    let ps64 = false;
    if (node.compact) slot = Slot.Leaf64K;
    else if (node.level > 0) slot = node.level === 1 ? Slot.Leaf2M : Slot.Leaf1G;
    else {
      ps64 = isPs64K(w, a);
      if (!ps64 && dm && this.ptm.geo.vram64k) throw new Errno(EINVAL, 'VRAM page at VA %x needs a 64K leaf on this device', a);
      slot = ps64 ? Slot.LeafPs64 : Slot.Leaf4K;
    }
    const ae = this.ptm.geo.hasAtomicEnablePteBit && !nul && (dm || !!r.atomicSysmem);
    const entry = encodeLeaf(node.level, addr, r.patIndex, { readOnly: r.readOnly, nul, dm, ae, ps64 });
    return { entry, slot, child: null };
  }

  /** Stages entry `i` of `node`: into the stage for a table of the live tree, at once for a new one. */
  private put(stage: Stage, node: PtNode, i: number, w: StagedWrite): void {
    stage.pteFlags |= pteFlag(w.slot);
    if (this.newNodes.has(node)) this.setEntry(node, i, w, []);
    else stage.put(node, i, w, (c) => this.newNodes.has(c));
  }

  /**
   * xe_pt_stage_unbind's walk below `node`: for each child table the range partly covers,
   * kill it when the range holds all its live entries (xe_pt_check_kill), else descend and
   * clear the child's entries the range covers. Fully covered entries are left to the
   * caller's clear of `node`.
   */
  private stageUnbindChildren(stage: Stage, walk: { modStart: number; modEnd: number }, node: PtNode, start: number, end: number): void {
    const esize = entrySize(node);
    for (let a = start; a < end;) {
      const slotStart = Math.floor(a / esize) * esize;
      const n = Math.min(slotStart + esize, end);
      const child = node.children[entryIndex(node, a)];
      const covers = a === slotStart && n === slotStart + esize;
      if (child && !covers && !this.checkKill(walk, a, n, child)) {
        this.stageUnbindChildren(stage, walk, child, a, n);
        const csize = entrySize(child);
        const a2 = a % csize ? walk.modStart : a;
        const n2 = n % csize ? walk.modEnd : n;
        if (!this.checkKill(walk, a2, n2, child)) this.stageClear(stage, child, a2, n2);
      }
      a = n;
    }
  }

  /** xe_pt_check_kill: the range holds exactly the child's live entries; widens the walk range. */
  private checkKill(walk: { modStart: number; modEnd: number }, a: number, n: number, child: PtNode): boolean {
    const csize = entrySize(child);
    if (a % csize || n % csize || (n - a) / csize !== child.live) return false;
    const psize = levelSize(child.level + 1);
    if (walk.modStart >= a) walk.modStart = Math.floor(a / psize) * psize;
    if (walk.modEnd <= n) walk.modEnd = Math.ceil(n / psize) * psize;
    return true;
  }

  /** Stages empty entries over the entries of `node` [a, n) covers whole (xe_pt_nonshared_offsets). */
  private stageClear(stage: Stage, node: PtNode, a: number, n: number): void {
    const esize = entrySize(node);
    const span = esize * node.slots.length;
    const base = Math.floor(a / span) * span;
    let first = Math.floor((a - base) / esize);
    let last = Math.ceil((n - base) / esize);
    if (node.level > 0 && a % esize) first++;
    if (node.level > 0 && n % esize) last--;
    const empty = this.emptyEntries[node.level];
    for (let i = first; i < last; i++) {
      if (node.slots[i] !== Slot.Empty) stage.put(node, i, { entry: empty, slot: Slot.Empty, child: null }, () => false);
    }
  }

  /**
   * xe_pt_zap_ptes_entry on `node` for [a, n) (inside its span): zeroes the entries the range
   * covers whole (xe_pt_nonshared_offsets), then descends into the child tables of the
   * entries an unaligned end covers in part (xe_pt_walk_shared).
   */
  private zapIn(node: PtNode, a: number, n: number): boolean {
    const esize = entrySize(node);
    const first = entryIndex(node, a);
    const last = entryIndex(node, n - 1) + 1;
    const from = node.level > 0 && a % esize ? first + 1 : first;
    const to = node.level > 0 && n % esize ? last - 1 : last;
    for (let i = from; i < to; i++) this.ptm.writeEntry(node.pa, i, PT_EMPTY);
    let wrote = to > from;
    if (node.level === 0) return wrote;
    const partial = new Set<number>();
    if (a % esize) partial.add(first);
    if (n % esize) partial.add(last - 1);
    for (const i of partial) {
      const child = node.children[i];
      const base = a - (a % (esize * node.slots.length)) + i * esize;
      if (child) wrote = this.zapIn(child, Math.max(a, base), Math.min(n, base + esize)) || wrote;
    }
    return wrote;
  }

  private newTable(stage: Stage, level: number, compact: boolean): PtNode {
    const injected = (this.failIn > 0 && --this.failIn === 0) || !!this.injectFault?.();
    const pa = injected ? null : this.ptm.allocTable(this.alloc);
    if (pa === null) throw new Errno(ENOMEM, 'no memory for a level-%d page table', level);
    stage.pages.push(pa);
    const n = compact ? COMPACT_ENTRIES : PT_ENTRIES;
    const node: PtNode = {
      pa, addr: this.ptm.tableAddr(pa), level, compact,
      children: new Array<PtNode | null>(n).fill(null), slots: new Uint8Array(n), live: 0,
    };
    this.newNodes.add(node);
    return node;
  }

  /** Writes `e` into entries [from, to) of a new table (not live entries). */
  private fill(node: PtNode, from: number, to: number, e: PtEntry): void {
    if (e.lo === 0 && e.hi === 0) return;
    for (let i = from; i < to; i++) this.ptm.writeEntry(node.pa, i, e);
  }

  /** Writes one entry of a new (unreachable) table and its shadow; a replaced child table goes to `freed`. */
  private setEntry(node: PtNode, i: number, w: StagedWrite, freed: PtNode[]): void {
    this.ptm.writeEntry(node.pa, i, w.entry);
    this.setShadow(node, i, w, freed);
  }

  /** Moves the shadow of entry `i` of `node` to `w`; a replaced child table goes to `freed`. */
  private setShadow(node: PtNode, i: number, w: StagedWrite, freed: PtNode[]): void {
    const old = node.children[i];
    if (old && old !== w.child) freed.push(old);
    if ((node.slots[i] === Slot.Empty) !== (w.slot === Slot.Empty)) node.live += w.slot === Slot.Empty ? -1 : 1;
    node.slots[i] = w.slot;
    node.children[i] = w.child;
  }

  /**
   * Moves the shadow of the live tree to the stage's writes, recording the old state in `u`
   * for abort, and hands the bytes, the freed tables and the invalidations to `u`.
   */
  private commitShadow(stage: Stage, u: PtUpdate): void {
    const freed: PtNode[] = [...stage.orphans];
    for (const [node, m] of stage.writes) {
      if (!u.undoLive.has(node)) u.undoLive.set(node, node.live);
      for (const [i, w] of m) {
        u.undoSlots.push({ node, i, slot: node.slots[i] as Slot, child: node.children[i] });
        this.setShadow(node, i, w, freed);
        u.writes.push({ pa: node.pa, i, entry: w.entry });
      }
    }
    for (const f of freed) u.freed.push(...subtreePages(f));
    u.allocated.push(...stage.pages);
    u.invals.push(...stage.invals);
    this.newNodes.clear();
  }

  /** Frees the tables a failed stage allocated. */
  private dropStage(stage: Stage): void {
    this.alloc.free(stage.pages);
    this.newNodes.clear();
  }

  private freeSubtree(node: PtNode): void {
    this.alloc.free(subtreePages(node));
  }
}

/** The pages of `node` and every table below it. */
function subtreePages(node: PtNode): number[] {
  const pages: number[] = [];
  const visit = (t: PtNode): void => {
    pages.push(t.pa);
    for (const c of t.children) if (c) visit(c);
  };
  visit(node);
  return pages;
}

/** Bytes one entry of `node` covers. */
function entrySize(node: PtNode): number {
  return node.compact ? SZ_64K : levelSize(node.level);
}

/** Index of `va`'s entry in `node`. */
function entryIndex(node: PtNode, va: number): number {
  return node.compact ? compactIndex(va) : ptIndex(va, node.level);
}

/** The PTE_* flag of a leaf kind. */
function pteFlag(s: Slot): number {
  return s === Slot.Leaf4K ? PTE_4K : s === Slot.LeafPs64 ? PTE_64K : s === Slot.Leaf2M ? PTE_2M : s === Slot.Leaf1G ? PTE_1G : 0;
}

/** xe_pt_scan_64K: [a, n) splits into 64K chunks each 64K-aligned and contiguous in device memory. */
function scan64K(w: BindWalk, a: number, n: number): boolean {
  if (a % SZ_64K || n > w.l0End) return false;
  if (!w.r.pages) return true;
  for (let c = a; c < n; c += SZ_64K) {
    const k = (c - w.r.start) / PAGE_SIZE;
    if (w.dev[k] % SZ_64K || w.run[k] < SZ_64K / PAGE_SIZE) return false;
  }
  return true;
}

/** xe_pt_is_pte_ps64K: the 4K leaf at `a` lies in a 64K run of this level-0 table's part. */
function isPs64K(w: BindWalk, a: number): boolean {
  if (w.found64K && a - w.addr64K < SZ_64K) return true;
  w.found64K = a % SZ_64K === 0 && a + SZ_64K <= w.l0End && scan64K(w, a, a + SZ_64K);
  w.addr64K = a;
  return w.found64K;
}

/**
 * PAT index of PDEs (newest xe_pt.c pde_pat_index): WB when the table page is cached system
 * memory, else UC. Tables are VRAM on a discrete device and write-combined system memory
 * from graphics 12.70 on (xe_bo.c: page-table BOs are WC there), cached before.
 */
export function pdePatIndex(p: Profile): number {
  return p.isDgfx || graphicsVerx100(p) >= 1270 ? p.patUc : p.patWb;
}

/** maxpte(old) of the REMAP skip rule (3.7): the largest PTE size a bind recorded, 1G if never bound. */
export function maxPteSize(flags: number): number {
  if (flags & PTE_1G || flags === 0) return levelSize(2);
  if (flags & (PTE_2M | PTE_COMPACT)) return levelSize(1);
  return flags & PTE_64K ? SZ_64K : PAGE_SIZE;
}

/** The VMA pieces of a REMAP (3.7). */
export interface RemapPieces {
  old: { start: number; end: number; userptr: boolean; mirror?: boolean; pteFlags: number };
  prev?: { start: number; end: number };
  next?: { start: number; end: number };
}

/**
 * The REMAP skip rule (3.7): whether prev / next keep old's PTEs, and the range that is
 * really unbound (old's range shrunk by the skipped pieces).
 */
export function remapUnbindRange(p: RemapPieces): { start: number; end: number; skipPrev: boolean; skipNext: boolean } {
  const max = maxPteSize(p.old.pteFlags);
  const keeps = (at: number): boolean => !!p.old.mirror || (!p.old.userptr && at % max === 0);
  const skipPrev = !!p.prev && keeps(p.prev.end);
  const skipNext = !!p.next && keeps(p.next.start);
  return {
    start: skipPrev ? p.prev!.end : p.old.start,
    end: skipNext ? p.next!.start : p.old.end,
    skipPrev, skipNext,
  };
}
