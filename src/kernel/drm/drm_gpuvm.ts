/**
 * The GPU VA manager (drm_gpuvm.c): the mappings (VMAs, struct drm_gpuva) of one GPU virtual
 * address space, the split algorithm that turns a map or unmap request into a list of
 * operations, and the steps that apply such a list and undo it.
 *
 * It is DRM core and driver-neutral: a VMA carries its range, its GEM object (or none) and
 * offset, generic flags (DRM_GPUVA_SPARSE plus the driver's bits from DRM_GPUVA_USERBITS up),
 * the driver's creation attributes `attrs` (type A; xe: pat_index) and a driver-private slot
 * `priv` (type P; xe: page-table state, the creating bind's user fence).
 *
 * ## Data structures
 *
 * The VMAs are disjoint and indexed by start address in an ordered map (@js-sdsl/ordered-map,
 * a red-black tree with lower/upper bounds; the CPU memory map in os/mm.ts uses it too), so a
 * lookup, an insertion or a removal is O(log n) and walking the VMAs that overlap a range is
 * O(log n + k). Addresses are bigint: a VA space may be 57 bits wide and the ioctl passes
 * u64 sums that can wrap past 2^64.
 *
 * Each GEM object mapped in the VM has a link entry (drm_gpuvm_bo) holding its VMAs in link
 * order (the order they were created): UNMAP_ALL walks it.
 *
 * ## The split algorithm (vm_bind.md 3.3 - 3.6)
 *
 * Requests never merge with neighbours. Every existing VMA V that overlaps the request's
 * range [addr, end) gets exactly one op, in address order:
 * - UNMAP(V) when V lies wholly inside the range;
 * - REMAP(V, prev, next) when V sticks out: `prev` is the part of V below `addr`, `next` the
 *   part above `end`, each with V's object and the offset of its own first byte;
 * and a MAP request then adds MAP(request) last, always, even when an identical VMA exists.
 * For MAP, `keep` says V is the same object at a contiguous offset (its PTEs could be kept);
 * it is only a hint (xe ignores it) and is false for unmap requests and for VMAs without an
 * object. The result has any number of UNMAPs, at most two REMAPs (first and last VMA) and,
 * for MAP, one MAP. Ranges below are in pages; `A@n` means object A at page offset n.
 *
 *   Map inside one VMA (MAP B@0 over [4, 8)):
 *
 *        0       4       8              16
 *   old: |A@0-------------------------------|
 *   req:         |B@0----|
 *   ops: REMAP(old, prev=[0,4) A@0, next=[8,16) A@8), MAP([4,8) B@0)
 *   new: |A@0----|B@0----|A@8---------------|
 *
 *   Map across three VMAs and a hole (MAP D@0 over [1, 7)):
 *
 *        0   1   2   3   4   5   6   7   8
 *   old: |A@0----|   |B@0----|   |C@16---|
 *   req:     |D@0--------------------|
 *   ops: REMAP(A, prev=[0,1) A@0), UNMAP(B), REMAP(C, next=[7,8) C@17), MAP([1,7) D@0)
 *   new: |A@0|D@0--------------------|C@17|
 *
 *   Identical re-map (MAP A@0 over [0, 4) where exactly that VMA exists):
 *
 *   old: |A@0------------|
 *   ops: UNMAP(old, keep), MAP([0,4) A@0)
 *   new: |A@0------------|   (a new VMA object with the request's flags and attrs)
 *
 *   Unmap across two VMAs (UNMAP [2, 6)):
 *
 *        0       4       8
 *   old: |A@0----|B@0----|
 *   ops: REMAP(A, prev=[0,2) A@0), REMAP(B, next=[6,8) B@2)
 *   new: |A@0|       |B@2|
 *
 * UNMAP_ALL of an object gives UNMAP of each of its VMAs in link order, never a REMAP.
 * PREFETCH gives PREFETCH(V) for each overlapping VMA, whole, without splitting. An unmap or
 * prefetch request over nothing gives an empty list.
 *
 * ## The madvise split (drm_gpuvm_madvise_ops_create, vm_attrs.md 4.2)
 *
 * A madvise request [addr, end) only cuts VMAs so that the range's ends become VMA
 * boundaries; it never unmaps and never maps anything new. VMAs with an object are left
 * alone, even when they stick out. Each VMA without an object that sticks out gets
 * REMAP(V, prev, next) followed by MAP of its inside piece, which takes V's flags and a copy
 * of its attrs; VMAs inside the range get no op.
 *
 *        0   1   2   3   4   5   6   7   8   9
 *   old: |M----------|   |B@0----|   |N----------|   (M, N without object)
 *   req:     |-----------------------|
 *   ops: REMAP(M, prev=[0,1)), MAP([1,3)), REMAP(N, next=[7,9)), MAP([6,7))
 *   new: |M-|M'------|   |B@0----|   |N'-|N------|
 *
 * The pieces' offsets move with their start as REMAP pieces do (upstream's madvise MAP
 * carries offset 0; the offset of a piece without object is the userptr's CPU address).
 *
 * ## Applying and undoing
 *
 * Generating ops changes nothing. `commit` applies one op (xe_vma_op_commit): MAP creates and
 * inserts the new VMA; REMAP removes the old VMA and inserts its pieces, which take the old
 * VMA's flags and attrs (a copy through `copyAttrs`, as xe's pieces do); UNMAP removes the
 * VMA; PREFETCH changes nothing.
 * The next request's ops are generated from the tree as committed so far. On failure,
 * `unwind` undoes the committed ops from the last to the first (vm_bind_ioctl_ops_unwind);
 * on success, `finish` drops the removed VMAs' links to their objects (xe_vma_destroy).
 *
 * A removed VMA keeps its link until `finish`, as upstream: so unwinding only re-inserts it
 * into the tree, and the new VMAs it unlinks are the newest of their object (the unwind runs
 * backwards), so each object's link order comes back exactly.
 *
 * Unwind is exact here, deliberately (spec README decision 2, divergences.md): the tree
 * afterwards holds the very same VMA objects with the same ranges, offsets and links as
 * before. Upstream xe detaches a REMAP piece that keeps its PTEs ("skipped") at commit and
 * rewrites the old VMA's range to the part really unbound, so its unwind can leave
 * [prev, old', next] with a stale offset in old' (vm_bind.md 4.3). Here the old VMA's range is
 * never rewritten (xe computes the unbind range on its own) and every piece stays owned by
 * its op.
 */
import { OrderedMap } from '@js-sdsl/ordered-map';
import { EEXIST, EINVAL } from '../../uapi/errno.js';
import { Errno } from '../os/errno.js';

/** The VMA is a sparse (NULL) mapping: no backing, reads 0, writes dropped. */
export const DRM_GPUVA_SPARSE = 1 << 1;
/** The lowest flag bit free for the driver's own VMA flags. */
export const DRM_GPUVA_USERBITS = 1 << 2;

const U64_MAX = (1n << 64n) - 1n;

/** What a mapping maps (struct drm_gpuva_op_map): a range and its object and offset. */
export interface GpuvaMap<O> {
  readonly start: bigint;
  readonly range: bigint;
  /** The GEM object, or null (NULL, userptr and mirror mappings). */
  readonly obj: O | null;
  /** Offset into `obj`; the CPU address for userptr; 0 otherwise at MAP. */
  readonly offset: bigint;
}

/** A map request (drm_gpuvm_map_req) with what the new VMA is created with. */
export interface GpuvmMapReq<O, A> extends GpuvaMap<O> {
  readonly flags: number;
  readonly attrs: A;
}

/** One mapping of the VA space (struct drm_gpuva). */
export class DrmGpuva<O extends object, A, P> implements GpuvaMap<O> {
  /** In the VA tree; false once a committed op removed it (until unwound). Kept by DrmGpuvm. */
  inTree = false;
  /** The driver's private state; the gpuvm never reads it. */
  priv: P | null = null;

  constructor(
    readonly start: bigint,
    readonly range: bigint,
    readonly obj: O | null,
    readonly offset: bigint,
    readonly flags: number,
    readonly attrs: A,
  ) {}

  /** The first address past the VMA. */
  get end(): bigint {
    return this.start + this.range;
  }
}

/** MAP: create and insert a VMA for `map`; `va` is that VMA once committed. */
export interface GpuvaOpMap<O extends object, A, P> {
  readonly op: 'map';
  readonly map: GpuvmMapReq<O, A>;
  va: DrmGpuva<O, A, P> | null;
}

/** UNMAP: remove `va` whole. */
export interface GpuvaOpUnmap<O extends object, A, P> {
  readonly op: 'unmap';
  readonly va: DrmGpuva<O, A, P>;
  /** Same object at a contiguous offset as the MAP request (a hint; false for unmaps). */
  readonly keep: boolean;
  committed: boolean;
}

/** REMAP: remove `va` and map the pieces of it that the request does not cover. */
export interface GpuvaOpRemap<O extends object, A, P> {
  readonly op: 'remap';
  readonly va: DrmGpuva<O, A, P>;
  readonly keep: boolean;
  /** The part below the request, if any. */
  readonly prev: GpuvaMap<O> | null;
  /** The part above the request, if any. */
  readonly next: GpuvaMap<O> | null;
  /** The pieces' VMAs once committed. */
  prevVa: DrmGpuva<O, A, P> | null;
  nextVa: DrmGpuva<O, A, P> | null;
  committed: boolean;
}

/** PREFETCH: `va` as a whole; the tree does not change. */
export interface GpuvaOpPrefetch<O extends object, A, P> {
  readonly op: 'prefetch';
  readonly va: DrmGpuva<O, A, P>;
}

/** One step of an op list (struct drm_gpuva_op). */
export type GpuvaOp<O extends object, A, P> =
  | GpuvaOpMap<O, A, P>
  | GpuvaOpUnmap<O, A, P>
  | GpuvaOpRemap<O, A, P>
  | GpuvaOpPrefetch<O, A, P>;

/** The geometry of a VA space (drm_gpuvm_init's offsets and sizes) and the driver's attrs copy. */
export interface GpuvmConfig<A = unknown> {
  readonly start: bigint;
  readonly range: bigint;
  /** The kernel-reserved node; none when its range is 0 (xe). */
  readonly reserveStart?: bigint;
  readonly reserveRange?: bigint;
  /** Orders VA keys; a test or bench may pass a counting one. Default: ascending bigint. */
  readonly compare?: (a: bigint, b: bigint) => number;
  /**
   * Gives a REMAP or madvise piece its own attrs from the split VMA's (xe: copyMemAttr, so
   * that a later change of one piece leaves the others alone). Default: the same object.
   */
  readonly copyAttrs?: (a: A) => A;
}

/** Ascending bigint order. */
export function compareVa(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A GPU virtual address space (struct drm_gpuvm). */
export class DrmGpuvm<O extends object, A = unknown, P = unknown> {
  readonly mmStart: bigint;
  readonly mmRange: bigint;
  private readonly kStart: bigint;
  private readonly kRange: bigint;
  /** VMAs by start address; disjoint. */
  private readonly tree: OrderedMap<bigint, DrmGpuva<O, A, P>>;
  /** Per object, its VMAs in link order (drm_gpuvm_bo's gpuva list); no entry when none. */
  private readonly links = new Map<O, Set<DrmGpuva<O, A, P>>>();
  private readonly copyAttrs: (a: A) => A;

  constructor(cfg: GpuvmConfig<A>) {
    this.mmStart = cfg.start;
    this.mmRange = cfg.range;
    this.kStart = cfg.reserveStart ?? 0n;
    this.kRange = cfg.reserveRange ?? 0n;
    // drm_gpuvm_init warns about these; here a bad geometry is a bug in the caller.
    if (!fitsU64(this.mmStart, this.mmRange) || (this.kRange !== 0n && !fitsU64(this.kStart, this.kRange))) {
      throw new Error('drm_gpuvm: a range past 2^64');
    }
    this.tree = new OrderedMap<bigint, DrmGpuva<O, A, P>>([], cfg.compare ?? compareVa);
    this.copyAttrs = cfg.copyAttrs ?? ((a) => a);
  }

  /** Number of VMAs. */
  get size(): number {
    return this.tree.size();
  }

  /**
   * drm_gpuvm_range_valid: [addr, addr + range) is valid when the u64 sum does not wrap, it
   * lies inside the VA space and it does not intersect the kernel-reserved node.
   */
  rangeValid(addr: bigint, range: bigint): boolean {
    if (!fitsU64(addr, range)) return false;
    const end = addr + range;
    if (addr < this.mmStart || end > this.mmStart + this.mmRange) return false;
    return !(this.kRange !== 0n && addr < this.kStart + this.kRange && this.kStart < end);
  }

  /** drm_gpuva_find: the VMA with exactly this start and range. */
  find(addr: bigint, range: bigint): DrmGpuva<O, A, P> | undefined {
    const va = this.tree.getElementByKey(addr);
    return va && va.range === range ? va : undefined;
  }

  /** drm_gpuva_find_first: the lowest VMA overlapping [addr, addr + range). */
  findFirst(addr: bigint, range: bigint): DrmGpuva<O, A, P> | undefined {
    return this.within(addr, addr + range).next().value ?? undefined;
  }

  /** The VMAs overlapping [addr, addr + range), in address order: O(log n + k). */
  overlapping(addr: bigint, range: bigint): DrmGpuva<O, A, P>[] {
    return [...this.within(addr, addr + range)];
  }

  /** Every VMA in address order. */
  all(): DrmGpuva<O, A, P>[] {
    const out: DrmGpuva<O, A, P>[] = [];
    this.tree.forEach(([, va]) => out.push(va));
    return out;
  }

  /** The VMAs linked to `obj`, in link order (drm_gpuvm_bo_for_each_va). */
  linked(obj: O): DrmGpuva<O, A, P>[] {
    return [...(this.links.get(obj) ?? [])];
  }

  /** Whether any VMA maps `obj` (a drm_gpuvm_bo exists), in O(1). */
  isLinked(obj: O): boolean {
    return this.links.has(obj);
  }

  /**
   * drm_gpuvm_sm_map_ops_create: the ops that map `req`, splitting what it overlaps.
   * -EINVAL for an invalid range (rangeValid) or a zero range (which the ioctl rejects first).
   */
  smMapOpsCreate(req: GpuvmMapReq<O, A>): GpuvaOp<O, A, P>[] {
    const base = req.offset - req.start;
    const ops = this.splitOps(req.start, req.range, (va) => va.obj !== null && va.obj === req.obj && va.offset - va.start === base);
    ops.push({ op: 'map', map: req, va: null });
    return ops;
  }

  /** drm_gpuvm_sm_unmap_ops_create: the ops that unmap [addr, addr + range); -EINVAL as smMapOpsCreate. */
  smUnmapOpsCreate(addr: bigint, range: bigint): GpuvaOp<O, A, P>[] {
    return this.splitOps(addr, range, () => false);
  }

  /**
   * drm_gpuvm_bo_unmap_ops_create: UNMAP of each VMA of `obj`, in link order. A VMA an earlier
   * committed op removed (still linked until finish) is left out.
   */
  boUnmapOpsCreate(obj: O): GpuvaOp<O, A, P>[] {
    return this.linked(obj)
      .filter((va) => va.inTree)
      .map((va) => ({ op: 'unmap', va, keep: false, committed: false }));
  }

  /**
   * drm_gpuvm_madvise_ops_create: the ops that make addr and addr + range VMA boundaries by
   * splitting the VMAs without object that stick out (REMAP, then MAP of the inside piece
   * with the VMA's flags and a copy of its attrs). -EINVAL as smMapOpsCreate.
   */
  madviseOpsCreate(addr: bigint, range: bigint): GpuvaOp<O, A, P>[] {
    const ops: GpuvaOp<O, A, P>[] = [];
    for (const op of this.splitOps(addr, range, () => false)) {
      if (op.op !== 'remap' || op.va.obj) continue;
      const va = op.va;
      const start = op.prev ? addr : va.start;
      const end = op.next ? addr + range : va.end;
      ops.push(op, { op: 'map', map: { ...piece(va, start, end), flags: va.flags, attrs: this.copyAttrs(va.attrs) }, va: null });
    }
    return ops;
  }

  /** drm_gpuvm_prefetch_ops_create: PREFETCH of each VMA overlapping the range, unsplit; no range check. */
  prefetchOpsCreate(addr: bigint, range: bigint): GpuvaOp<O, A, P>[] {
    return this.overlapping(addr, range).map((va) => ({ op: 'prefetch', va }));
  }

  /** Applies one op to the tree (xe_vma_op_commit); ops of one list go in list order. */
  commit(op: GpuvaOp<O, A, P>): void {
    switch (op.op) {
      case 'map':
        op.va = this.create(op.map, op.map.flags, op.map.attrs);
        break;
      case 'unmap':
        this.remove(op.va);
        op.committed = true;
        break;
      case 'remap':
        this.remove(op.va);
        op.prevVa = op.prev && this.create(op.prev, op.va.flags, this.copyAttrs(op.va.attrs));
        op.nextVa = op.next && this.create(op.next, op.va.flags, this.copyAttrs(op.va.attrs));
        op.committed = true;
        break;
      case 'prefetch':
        break;
    }
  }

  /**
   * Undoes the committed ops of `ops` from the last to the first (vm_bind_ioctl_ops_unwind):
   * new VMAs leave the tree and their links, removed ones come back. For several lists, pass
   * them concatenated in the order they were committed.
   */
  unwind(ops: readonly GpuvaOp<O, A, P>[]): void {
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i];
      if (op.op === 'map' && op.va) {
        this.destroy(op.va);
        op.va = null;
      } else if ((op.op === 'unmap' || op.op === 'remap') && op.committed) {
        if (op.op === 'remap') this.unwindPieces(op);
        this.insert(op.va);
        op.committed = false;
      }
    }
  }

  /** After a successful commit of `ops`: the removed VMAs drop their links (xe_vma_destroy). */
  finish(ops: readonly GpuvaOp<O, A, P>[]): void {
    for (const op of ops) if ((op.op === 'unmap' || op.op === 'remap') && op.committed) this.unlink(op.va);
  }

  /** The ops for every VMA overlapping [addr, addr + range): UNMAP if inside, else REMAP with its pieces. */
  private splitOps(addr: bigint, range: bigint, keep: (va: DrmGpuva<O, A, P>) => boolean): GpuvaOp<O, A, P>[] {
    if (range === 0n || !this.rangeValid(addr, range)) throw new Errno(EINVAL, 'VA range %x + %x: empty or outside the VA space', addr, range);
    const end = addr + range;
    const ops: GpuvaOp<O, A, P>[] = [];
    for (const va of this.within(addr, end)) {
      const prev = va.start < addr ? piece(va, va.start, addr) : null;
      const next = va.end > end ? piece(va, end, va.end) : null;
      if (prev || next) ops.push({ op: 'remap', va, keep: keep(va), prev, next, prevVa: null, nextVa: null, committed: false });
      else ops.push({ op: 'unmap', va, keep: keep(va), committed: false });
    }
    return ops;
  }

  /** Removes a REMAP's committed pieces. */
  private unwindPieces(op: GpuvaOpRemap<O, A, P>): void {
    if (op.nextVa) this.destroy(op.nextVa);
    if (op.prevVa) this.destroy(op.prevVa);
    op.prevVa = op.nextVa = null;
  }

  /**
   * The VMAs overlapping [addr, end) in order: the one containing addr, if any, then those
   * starting below end. One tree search; the rest are in-order steps.
   */
  private *within(addr: bigint, end: bigint): Generator<DrmGpuva<O, A, P>> {
    let it = this.tree.reverseLowerBound(addr);
    if (it.equals(this.tree.end())) it = this.tree.begin();
    else if (it.pointer[1].end <= addr) it.next();
    for (; !it.equals(this.tree.end()); it.next()) {
      const va = it.pointer[1];
      if (va.start >= end) return;
      yield va;
    }
  }

  /** A new VMA for `map`, inserted and linked to its object (xe_vma_create + commit). */
  private create(map: GpuvaMap<O>, flags: number, attrs: A): DrmGpuva<O, A, P> {
    const va = new DrmGpuva<O, A, P>(map.start, map.range, map.obj, map.offset, flags, attrs);
    this.insert(va);
    if (va.obj) {
      const set = this.links.get(va.obj) ?? new Set();
      this.links.set(va.obj, set.add(va));
    }
    return va;
  }

  /** drm_gpuva_insert: -EINVAL outside the VA space, -EEXIST over another VMA. */
  private insert(va: DrmGpuva<O, A, P>): void {
    if (!this.rangeValid(va.start, va.range)) throw new Errno(EINVAL, 'VMA %x + %x: outside the VA space', va.start, va.range);
    if (!this.within(va.start, va.end).next().done) throw new Errno(EEXIST, 'VMA %x + %x: overlaps another VMA', va.start, va.range);
    this.tree.setElement(va.start, va);
    va.inTree = true;
  }

  /** drm_gpuva_remove. */
  private remove(va: DrmGpuva<O, A, P>): void {
    this.tree.eraseElementByKey(va.start);
    va.inTree = false;
  }

  /** Removes a VMA and drops its link. */
  private destroy(va: DrmGpuva<O, A, P>): void {
    this.remove(va);
    this.unlink(va);
  }

  /** drm_gpuva_unlink; the object's entry goes with its last VMA (drm_gpuvm_bo_put). */
  private unlink(va: DrmGpuva<O, A, P>): void {
    const set = va.obj && this.links.get(va.obj);
    if (!set) return;
    set.delete(va);
    if (set.size === 0) this.links.delete(va.obj!);
  }
}

/** [start, end) of `va` as a piece: same object, offset moved by the distance from va's start (u64). */
function piece<O>(va: GpuvaMap<O>, start: bigint, end: bigint): GpuvaMap<O> {
  return { start, range: end - start, obj: va.obj, offset: (va.offset + (start - va.start)) & U64_MAX };
}

/** addr, range and their sum are all u64 (check_add_overflow finds no wrap). */
function fitsU64(addr: bigint, range: bigint): boolean {
  return addr >= 0n && range >= 0n && addr + range <= U64_MAX;
}
