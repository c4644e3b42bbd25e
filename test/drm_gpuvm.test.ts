/**
 * The GPU VA manager (src/kernel/drm/drm_gpuvm.ts) on its own: the worked examples E1-E10 of
 * vm_bind.md 3.8 at VA-tree level (exact op lists, tree after), range validity with u64
 * wrap-around, lookups, link order and UNMAP_ALL, exact unwind of a half-committed list, and
 * the O(log n) cost of a bind and an unbind among 1e5 VMAs, counted in key comparisons.
 */
import t, { type Test as Tap } from 'tap';
import { compareVa, DRM_GPUVA_SPARSE, DRM_GPUVA_USERBITS, type GpuvmMapReq } from '../src/kernel/drm/drm_gpuvm.js';
import { Errno } from '../src/kernel/os/errno.js';
import { EEXIST, EINVAL } from '../src/uapi/errno.js';
import { apply, type Attrs, type Bo, hex, map, newVm, type Op, opStr, treeStr, vmaStr, type Vm } from './helpers/gpuvm.js';

const A: Bo = { name: 'A' };
const B: Bo = { name: 'B' };
const C: Bo = { name: 'C' };
const D: Bo = { name: 'D' };

/** Builds a tree from [obj, start, end, offset] entries, in the given order. */
function tree(entries: Array<[Bo | null, number, number, number]>): Vm {
  const vm = newVm();
  for (const [obj, s, e, off] of entries) map(vm, obj, BigInt(s), BigInt(e - s), BigInt(off));
  return vm;
}

const errnoOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof Errno) return e.errno;
    throw e;
  }
  return undefined;
};

/** A map request of `obj@offset` over [start, start + range) with pat_index `pat`. */
const req = (obj: Bo | null, start: bigint, range: bigint, offset = 0n, flags = 0, pat = 2): GpuvmMapReq<Bo, Attrs> => ({
  start,
  range,
  obj,
  offset,
  flags,
  attrs: { pat_index: pat },
});

/** Checks an op list in the spec's notation, commits it, and checks the tree after. */
function expectOps(t: Tap, vm: Vm, ops: Op[], want: string[], after: string[]): void {
  t.same(ops.map(opStr), want, 'ops');
  apply(vm, ops);
  t.same(treeStr(vm), after, 'tree after');
}

t.test('E1: map into an empty VM', async (t) => {
  const vm = newVm();
  const ops = vm.smMapOpsCreate(req(A, 0x100000n, 0x10000n));
  t.equal(vm.size, 0, 'generating changes nothing');
  expectOps(t, vm, ops, ['MAP(0x100000,0x110000,A@0x0)'], ['(0x100000,0x110000,A@0x0)']);
  const va = vm.all()[0];
  t.equal(ops[0].op === 'map' && ops[0].va, va, 'the MAP op holds the new VMA');
  t.same([va.flags, va.attrs, va.priv, va.inTree], [0, { pat_index: 2 }, null, true]);
});

t.test('E2: map in the middle of a VMA splits it, with the next piece at the shifted offset', async (t) => {
  const vm = tree([[A, 0x100000, 0x110000, 0]]);
  const v1 = vm.all()[0];
  const ops = vm.smMapOpsCreate(req(B, 0x104000n, 0x4000n, 0n, 0, 3));
  expectOps(t, vm, ops, [
    'REMAP((0x100000,0x110000,A@0x0),keep=false,prev=(0x100000,0x104000,A@0x0),next=(0x108000,0x110000,A@0x8000))',
    'MAP(0x104000,0x108000,B@0x0)',
  ], ['(0x100000,0x104000,A@0x0)', '(0x104000,0x108000,B@0x0)', '(0x108000,0x110000,A@0x8000)']);
  const [prev, mid, next] = vm.all();
  t.equal(v1.inTree, false, 'the old VMA left the tree');
  t.not(prev, v1, 'pieces are new VMAs');
  t.same([prev.attrs, next.attrs, mid.attrs], [{ pat_index: 2 }, { pat_index: 2 }, { pat_index: 3 }], 'pieces keep the old attrs');
  t.same(vm.linked(A), [prev, next], 'A links the pieces only, after finish');
});

t.test('E3: unmap across two VMAs', async (t) => {
  const vm = tree([
    [A, 0x100000, 0x110000, 0],
    [B, 0x110000, 0x120000, 0],
  ]);
  const ops = vm.smUnmapOpsCreate(0x108000n, 0x10000n);
  expectOps(t, vm, ops, [
    'REMAP((0x100000,0x110000,A@0x0),keep=false,prev=(0x100000,0x108000,A@0x0),next=none)',
    'REMAP((0x110000,0x120000,B@0x0),keep=false,prev=none,next=(0x118000,0x120000,B@0x8000))',
  ], ['(0x100000,0x108000,A@0x0)', '(0x118000,0x120000,B@0x8000)']);
});

t.test('E4: map spanning three VMAs and a hole', async (t) => {
  const vm = tree([
    [A, 0x0, 0x2000, 0],
    [B, 0x3000, 0x5000, 0],
    [C, 0x6000, 0x8000, 0x10000],
  ]);
  const ops = vm.smMapOpsCreate(req(D, 0x1000n, 0x6000n));
  expectOps(t, vm, ops, [
    'REMAP((0x0,0x2000,A@0x0),keep=false,prev=(0x0,0x1000,A@0x0),next=none)',
    'UNMAP((0x3000,0x5000,B@0x0),keep=false)',
    'REMAP((0x6000,0x8000,C@0x10000),keep=false,prev=none,next=(0x7000,0x8000,C@0x11000))',
    'MAP(0x1000,0x7000,D@0x0)',
  ], ['(0x0,0x1000,A@0x0)', '(0x1000,0x7000,D@0x0)', '(0x7000,0x8000,C@0x11000)']);
  t.same(vm.linked(B), [], 'B has no VMA left');
});

t.test('E5: an identical re-map is UNMAP(keep) + MAP of a new VMA', async (t) => {
  const vm = tree([[A, 0x200000, 0x210000, 0]]);
  const old = vm.all()[0];
  const ops = vm.smMapOpsCreate(req(A, 0x200000n, 0x10000n, 0n, 4 * DRM_GPUVA_USERBITS, 5));
  expectOps(t, vm, ops, ['UNMAP((0x200000,0x210000,A@0x0),keep=true)', 'MAP(0x200000,0x210000,A@0x0)'], ['(0x200000,0x210000,A@0x0)']);
  const now = vm.all()[0];
  t.not(now, old, 'a new VMA');
  t.same([now.flags, now.attrs], [4 * DRM_GPUVA_USERBITS, { pat_index: 5 }], 'flags and attrs of the request');
  t.same(vm.linked(A), [now]);
});

t.test('E6: no merging of adjacent compatible VMAs', async (t) => {
  const vm = newVm();
  map(vm, A, 0x0n, 0x1000n, 0n);
  const ops = map(vm, A, 0x1000n, 0x1000n, 0x1000n);
  t.same(ops.map(opStr), ['MAP(0x1000,0x2000,A@0x1000)']);
  t.same(treeStr(vm), ['(0x0,0x1000,A@0x0)', '(0x1000,0x2000,A@0x1000)']);
});

t.test('E7: unmapping one page of a 2M-page VMA splits it (drm_gpuvm part)', async (t) => {
  const vm = tree([[A, 0x0, 0x400000, 0]]);
  const ops = vm.smUnmapOpsCreate(0x200000n, 0x1000n);
  expectOps(
    t,
    vm,
    ops,
    ['REMAP((0x0,0x400000,A@0x0),keep=false,prev=(0x0,0x200000,A@0x0),next=(0x201000,0x400000,A@0x201000))'],
    ['(0x0,0x200000,A@0x0)', '(0x201000,0x400000,A@0x201000)'],
  );
});

t.test('E8: a userptr split shifts the CPU address of the next piece', async (t) => {
  const vm = tree([[null, 0x10000000, 0x10010000, 0x7f0000000000]]);
  const ops = vm.smUnmapOpsCreate(0x10004000n, 0x4000n);
  expectOps(t, vm, ops, [
    'REMAP((0x10000000,0x10010000,null@0x7f0000000000),keep=false,prev=(0x10000000,0x10004000,null@0x7f0000000000),next=(0x10008000,0x10010000,null@0x7f0000008000))',
  ], ['(0x10000000,0x10004000,null@0x7f0000000000)', '(0x10008000,0x10010000,null@0x7f0000008000)']);
});

t.test('E9: UNMAP_ALL unmaps the VMAs of one object in link order', async (t) => {
  const vm = tree([
    [A, 0x9000, 0xa000, 0x1000],
    [B, 0x5000, 0x6000, 0],
    [A, 0x0, 0x1000, 0],
  ]);
  const ops = vm.boUnmapOpsCreate(A);
  // Creation order, not address order.
  expectOps(t, vm, ops, ['UNMAP((0x9000,0xa000,A@0x1000),keep=false)', 'UNMAP((0x0,0x1000,A@0x0),keep=false)'], ['(0x5000,0x6000,B@0x0)']);
  t.same(vm.boUnmapOpsCreate(A), [], 'an object without VMAs gives no op');
  t.same(vm.boUnmapOpsCreate(C), [], 'an object never mapped gives no op');
});

t.test('E10: PREFETCH over part of a VMA takes the whole VMA, unsplit', async (t) => {
  const vm = tree([[A, 0x0, 0x10000, 0]]);
  const ops = vm.prefetchOpsCreate(0x4000n, 0x1000n);
  t.same(ops.map(opStr), ['PREFETCH(0x0,0x10000,A@0x0)']);
  const before = vm.all();
  apply(vm, ops);
  t.same(vm.all(), before, 'tree unchanged');
  t.equal(vm.all()[0], before[0]);
  t.same(vm.prefetchOpsCreate(0x20000n, 0x1000n), [], 'an empty range gives no op');
});

t.test('unmap over nothing gives no op; unmap of a whole VMA gives UNMAP(keep=false)', async (t) => {
  const vm = tree([[A, 0x1000, 0x3000, 0]]);
  t.same(vm.smUnmapOpsCreate(0x500000n, 0x1000n), []);
  t.same(vm.smUnmapOpsCreate(0x0n, 0x1000n), [], 'the range is half-open: [0, 0x1000) misses 0x1000');
  t.same(vm.smUnmapOpsCreate(0x0n, 0x10000n).map(opStr), ['UNMAP((0x1000,0x3000,A@0x0),keep=false)']);
});

t.test('keep: same object at a contiguous offset, for every overlap shape; never without an object', async (t) => {
  const vm = tree([
    [A, 0x0, 0x4000, 0x10000],
    [A, 0x4000, 0x6000, 0x14000],
    [A, 0x6000, 0x9000, 0x30000],
    [null, 0x9000, 0xa000, 0],
  ]);
  const ops = vm.smMapOpsCreate(req(A, 0x2000n, 0x8000n, 0x12000n));
  t.same(ops.map(opStr), [
    'REMAP((0x0,0x4000,A@0x10000),keep=true,prev=(0x0,0x2000,A@0x10000),next=none)',
    'UNMAP((0x4000,0x6000,A@0x14000),keep=true)',
    'UNMAP((0x6000,0x9000,A@0x30000),keep=false)',
    'UNMAP((0x9000,0xa000,null@0x0),keep=false)',
    'MAP(0x2000,0xa000,A@0x12000)',
  ]);
  const tail = vm.smMapOpsCreate(req(A, 0x5000n, 0x1000n, 0x15000n));
  t.same(tail.map(opStr)[0], 'REMAP((0x4000,0x6000,A@0x14000),keep=true,prev=(0x4000,0x5000,A@0x14000),next=none)');
  const other = vm.smMapOpsCreate(req(B, 0x0n, 0x4000n, 0x10000n));
  t.same(other.map(opStr)[0], 'UNMAP((0x0,0x4000,A@0x10000),keep=false)', 'another object is never kept');
});

t.test('NULL (sparse) VMAs split like any other and keep their flags in the pieces', async (t) => {
  const vm = newVm();
  map(vm, null, 0x0n, 0x8000n, 0n, DRM_GPUVA_SPARSE);
  map(vm, A, 0x4000n, 0x1000n, 0n);
  t.same(treeStr(vm), ['(0x0,0x4000,null@0x0)', '(0x4000,0x5000,A@0x0)', '(0x5000,0x8000,null@0x5000)']);
  t.same(vm.all().map((v) => v.flags), [DRM_GPUVA_SPARSE, 0, DRM_GPUVA_SPARSE]);
  apply(vm, vm.smUnmapOpsCreate(0x3000n, 0x3000n));
  t.same(treeStr(vm), ['(0x0,0x3000,null@0x0)', '(0x6000,0x8000,null@0x6000)']);
  apply(vm, vm.smUnmapOpsCreate(0x0n, 0x8000n));
  t.same(treeStr(vm), []);
});

t.test('range validity: u64 wrap-around, VA-space bounds, the kernel-reserved node', async (t) => {
  const top = 1n << 57n;
  const vm = newVm({ start: 0x1000n, range: top - 0x1000n, reserveStart: 0x10000n, reserveRange: 0x2000n });
  t.ok(vm.rangeValid(top - 0x1000n, 0x1000n), 'the last page of a 57-bit space');
  t.notOk(vm.rangeValid(top - 0x1000n, 0x2000n), 'one page past the end');
  t.notOk(vm.rangeValid(0x0n, 0x1000n), 'below the start');
  t.notOk(vm.rangeValid((1n << 64n) - 0x1000n, 0x2000n), 'addr + range wraps past 2^64');
  t.notOk(vm.rangeValid(0x2000n, (1n << 64n) - 0x1000n), 'a range that wraps back into the space');
  t.notOk(vm.rangeValid(-0x1000n, 0x2000n), 'not a u64');
  t.notOk(vm.rangeValid(0x11000n, 0x1000n), 'inside the reserved node');
  t.notOk(vm.rangeValid(0xf000n, 0x2000n), 'overlapping the reserved node');
  t.ok(vm.rangeValid(0xf000n, 0x1000n), 'ending where the reserved node starts');
  t.ok(vm.rangeValid(0x12000n, 0x1000n), 'starting where it ends');
  const full = newVm({ start: 0n, range: (1n << 64n) - 1n });
  t.notOk(full.rangeValid((1n << 64n) - 0x1000n, 0x1000n), 'a sum of exactly 2^64 overflows u64');
  t.ok(full.rangeValid((1n << 64n) - 0x1000n, 0xfffn), 'the largest sum that does not');

  const wrap = (1n << 64n) - 0x1000n;
  t.equal(errnoOf(() => vm.smMapOpsCreate(req(A, wrap, 0x2000n))), EINVAL);
  t.equal(errnoOf(() => vm.smUnmapOpsCreate(wrap, 0x2000n)), EINVAL);
  t.equal(errnoOf(() => vm.smUnmapOpsCreate(0x11000n, 0x1000n)), EINVAL, 'the reserved node cannot be unmapped');
  t.equal(errnoOf(() => vm.smUnmapOpsCreate(0x2000n, 0n)), EINVAL, 'a zero range');
  t.equal(vm.size, 0);
});

t.test('lookups: find (exact), findFirst, overlapping (half-open)', async (t) => {
  const vm = tree([
    [A, 0x1000, 0x3000, 0],
    [B, 0x5000, 0x6000, 0],
    [C, 0x6000, 0x9000, 0],
  ]);
  const [a, b, c] = vm.all();
  t.equal(vm.find(0x1000n, 0x2000n), a);
  t.equal(vm.find(0x1000n, 0x1000n), undefined, 'same start, other range');
  t.equal(vm.find(0x2000n, 0x1000n), undefined, 'inside, not at the start');
  t.equal(vm.findFirst(0x2fffn, 0x10n), a, 'the VMA containing the address');
  t.equal(vm.findFirst(0x3000n, 0x2000n), undefined, 'the hole [0x3000, 0x5000)');
  t.equal(vm.findFirst(0x3000n, 0x2001n), b);
  t.same(vm.overlapping(0x2000n, 0x4001n), [a, b, c]);
  t.same(vm.overlapping(0x5800n, 0x800n), [b]);
  t.same(vm.overlapping(0x0n, 0x1000n), []);
  t.same(vm.overlapping(0x9000n, 0x1000n), []);
});

t.test('link order: REMAP pieces go to the end of their object list', async (t) => {
  const vm = tree([
    [A, 0x0, 0x4000, 0],
    [A, 0x10000, 0x11000, 0x8000],
  ]);
  const [first, second] = vm.all();
  map(vm, B, 0x1000n, 0x1000n);
  const [prev, , next] = vm.all();
  t.same(vm.linked(A), [second, prev, next]);
  t.equal(first.inTree, false);
  t.same(vm.boUnmapOpsCreate(A).map(opStr), [
    'UNMAP((0x10000,0x11000,A@0x8000),keep=false)',
    'UNMAP((0x0,0x1000,A@0x0),keep=false)',
    'UNMAP((0x2000,0x4000,A@0x2000),keep=false)',
  ]);
});

t.test('a VMA removed by an earlier committed op (not yet finished) is not unmapped again by UNMAP_ALL', async (t) => {
  const vm = tree([
    [A, 0x0, 0x1000, 0],
    [A, 0x4000, 0x5000, 0x4000],
  ]);
  const first = vm.smUnmapOpsCreate(0x0n, 0x1000n);
  for (const op of first) vm.commit(op);
  t.equal(vm.linked(A).length, 2, 'still linked until finish');
  const second = vm.boUnmapOpsCreate(A);
  t.same(second.map(opStr), ['UNMAP((0x4000,0x5000,A@0x4000),keep=false)']);
  for (const op of second) vm.commit(op);
  vm.finish([...first, ...second]);
  t.same(vm.linked(A), []);
  t.same(treeStr(vm), []);
});

t.test('unwind of a half-committed list (E4) restores the same VMA objects and links', async (t) => {
  const vm = tree([
    [A, 0x0, 0x2000, 0],
    [B, 0x3000, 0x5000, 0],
    [C, 0x6000, 0x8000, 0x10000],
    [A, 0x9000, 0xa000, 0x4000],
  ]);
  const before = vm.all();
  const fields = (): unknown[] => vm.all().map((v) => [v, vmaStr(v), v.flags, v.attrs, v.priv, v.inTree]);
  const snapshot = fields();
  const links = vm.linked(A);
  const bind0 = map(vm, D, 0x8000n, 0x1000n);
  const ops = vm.smMapOpsCreate(req(A, 0x1000n, 0x6000n));
  vm.commit(ops[0]);
  vm.commit(ops[1]);
  t.same(treeStr(vm), ['(0x0,0x1000,A@0x0)', '(0x6000,0x8000,C@0x10000)', '(0x8000,0x9000,D@0x0)', '(0x9000,0xa000,A@0x4000)']);
  vm.unwind([...bind0, ...ops]);
  t.same(fields(), snapshot, 'same objects, ranges, offsets, flags, attrs');
  before.forEach((v, i) => t.equal(vm.all()[i], v, `VMA ${i} is the same object`));
  t.same(vm.linked(A), links, 'A links the same VMAs in the same order');
  t.same(vm.linked(D), [], 'the unwound MAP left no link');
  t.same(ops.map((op) => ('committed' in op ? op.committed : op.op === 'map' ? op.va : null)), [false, false, false, null], 'the ops are uncommitted');
  apply(vm, ops);
  t.same(treeStr(vm), ['(0x0,0x1000,A@0x0)', '(0x1000,0x7000,A@0x0)', '(0x7000,0x8000,C@0x11000)', '(0x9000,0xa000,A@0x4000)'], 'the list can be committed after an unwind');
});

t.test('insert checks: a stale op over another VMA is -EEXIST and changes nothing', async (t) => {
  const vm = newVm();
  const ops = vm.smMapOpsCreate(req(A, 0x0n, 0x2000n));
  map(vm, B, 0x1000n, 0x1000n);
  t.equal(errnoOf(() => vm.commit(ops[0])), EEXIST);
  t.same(treeStr(vm), ['(0x1000,0x2000,B@0x0)']);
  t.same(vm.linked(A), []);
});

/** Key comparisons of a 4K bind then unbind in the middle of `n` 4K VMAs (with 4K holes). */
function bindUnbindComparisons(t: Tap, n: number): number {
  let count = 0;
  const vm = newVm({
    compare: (a, b) => {
      count++;
      return compareVa(a, b);
    },
  });
  for (let i = 0; i < n; i++) map(vm, A, BigInt(i) * 0x2000n, 0x1000n, BigInt(i) * 0x1000n);
  const mid = BigInt(n >> 1) * 0x2000n;
  const v = (s: bigint, e: bigint, obj: string, off: bigint): string => `(${hex(s)},${hex(e)},${obj}@${hex(off)})`;
  count = 0;
  const bound = map(vm, B, mid, 0x2000n);
  const unbound = apply(vm, vm.smUnmapOpsCreate(mid + 0x1000n, 0x1000n));
  const used = count;
  t.same([...bound, ...unbound].map(opStr), [
    `UNMAP(${v(mid, mid + 0x1000n, 'A', mid / 2n)},keep=false)`,
    `MAP${v(mid, mid + 0x2000n, 'B', 0n)}`,
    `REMAP(${v(mid, mid + 0x2000n, 'B', 0n)},keep=false,prev=${v(mid, mid + 0x1000n, 'B', 0n)},next=none)`,
  ]);
  t.equal(vm.size, n);
  return used;
}

t.test('a bind and an unbind among 1e5 VMAs cost O(log n) key comparisons', async (t) => {
  const small = bindUnbindComparisons(t, 1e3);
  const large = bindUnbindComparisons(t, 1e5);
  const bound = 12 * Math.ceil(Math.log2(1e5 + 1));
  t.ok(large <= bound, `${large} comparisons for n = 1e5 (bound ${bound})`);
  t.ok(large <= 2 * small, `growing like log n: ${small} at 1e3, ${large} at 1e5`);
});

t.test('madvise split (drm_gpuvm_madvise_ops_create): cuts objectless VMAs at the ends, never touches BO VMAs', async (t) => {
  const vm = newVm({ copyAttrs: (a) => ({ ...a }) });
  const A: Bo = { name: 'A' };
  map(vm, null, 0x0n, 0x3000n, 0x7000n);
  map(vm, A, 0x4000n, 0x2000n);
  map(vm, null, 0x6000n, 0x3000n);
  const ops = vm.madviseOpsCreate(0x1000n, 0x6000n);
  t.same(ops.map(opStr), [
    'REMAP((0x0,0x3000,null@0x7000),keep=false,prev=(0x0,0x1000,null@0x7000),next=none)',
    'MAP(0x1000,0x3000,null@0x8000)',
    'REMAP((0x6000,0x9000,null@0x0),keep=false,prev=none,next=(0x7000,0x9000,null@0x1000))',
    'MAP(0x6000,0x7000,null@0x0)',
  ]);
  const old = vm.all();
  apply(vm, ops);
  t.same(treeStr(vm), ['(0x0,0x1000,null@0x7000)', '(0x1000,0x3000,null@0x8000)', '(0x4000,0x6000,A@0x0)', '(0x6000,0x7000,null@0x0)', '(0x7000,0x9000,null@0x1000)']);
  t.equal(new Set(vm.all().map((v) => v.attrs)).size, 5, 'every piece has its own attrs (copyAttrs)');
  t.equal(vm.all()[2], old[1], 'the BO VMA is the same object');
  t.same(vm.madviseOpsCreate(0x1000n, 0x6000n), [], 'ends already boundaries: no op');
  t.same(vm.madviseOpsCreate(0x4800n, 0x800n), [], 'inside a BO VMA: no op');
  t.same(vm.madviseOpsCreate(0xa000n, 0x1000n), [], 'a hole: no op');
  t.throws(() => vm.madviseOpsCreate(0n, 0n), 'range 0: EINVAL');
  t.throws(() => vm.madviseOpsCreate((1n << 48n) - 0x1000n, 0x2000n), 'past the VA space: EINVAL');
});

t.test('madvise split inside one VMA, unwound exactly', async (t) => {
  const vm = newVm();
  map(vm, null, 0x0n, 0x4000n);
  const before = vm.all();
  const ops = vm.madviseOpsCreate(0x1000n, 0x1000n);
  t.same(ops.map(opStr), ['REMAP((0x0,0x4000,null@0x0),keep=false,prev=(0x0,0x1000,null@0x0),next=(0x2000,0x4000,null@0x2000))', 'MAP(0x1000,0x2000,null@0x1000)']);
  for (const op of ops) vm.commit(op);
  t.equal(vm.size, 3);
  t.equal(vm.all()[1].attrs, before[0].attrs, 'without copyAttrs the pieces share the object (default)');
  vm.unwind(ops);
  t.same(vm.all(), before);
  t.equal(vm.all()[0], before[0]);
});
