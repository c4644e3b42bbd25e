/**
 * Property test of the GPU VA manager (src/kernel/drm/drm_gpuvm.ts) against a brute-force
 * model: an array of pages over a small VA space, each empty or mapping one thing (a page of
 * one of three objects, a NULL page, or a userptr CPU page) and tagged with the MAP request
 * that created it. Random "ioctls" of one to three binds (MAP of an object, NULL or userptr;
 * UNMAP; UNMAP_ALL) run against the VA manager; each bind's ops are generated from the tree as
 * committed so far. After each ioctl:
 * - every bind's op list equals the one derived from the tree before it, by definition (one op
 *   per overlapped VMA, UNMAP if inside, REMAP with the exact outside pieces and their offsets
 *   otherwise, MAP last; UNMAP_ALL: the object's VMAs in creation order), on the same VMAs;
 * - the tree equals the model page by page, with VMA boundaries where the model's tags change;
 * - each object's link list holds its VMAs in creation order.
 * Some ioctls fail part-way (a random number of the ops of a random bind committed) and are
 * unwound: the tree, the very VMA objects and every link list must then be exactly as before.
 */
import fc from 'fast-check';
import t from 'tap';
import { DRM_GPUVA_SPARSE, DRM_GPUVA_USERBITS, type DrmGpuva, type GpuvaMap } from '../src/kernel/drm/drm_gpuvm.js';
import { type Attrs, type Bo, newVm, type Op, opStr, type Vm, vmaStr } from './helpers/gpuvm.js';

const P = 0x1000n;
/** Pages of the VA space (which starts at BASE). */
const R = 16;
const BASE = 0x100000n;
/** Pages of each object. */
const BO_PAGES = 8;
const BOS: Bo[] = [{ name: 'A' }, { name: 'B' }, { name: 'C' }];
const CPU = 0x7f0000000000n;
const READ_ONLY = DRM_GPUVA_USERBITS;

type Va = DrmGpuva<Bo, Attrs, number>;
type What = { kind: 'bo'; bo: number; pgoff: number } | { kind: 'null' } | { kind: 'userptr'; cpuPage: number };
type Bind = { kind: 'map'; start: number; len: number; what: What; ro: boolean } | { kind: 'unmap'; start: number; len: number } | { kind: 'unmapAll'; bo: number };
/** An ioctl: its binds, and where it fails (null: it succeeds). */
type Ioctl = { binds: Bind[]; fail: { bind: number; ops: number } | null };

const range = fc.integer({ min: 0, max: R - 1 }).chain((start) => fc.record({ start: fc.constant(start), len: fc.integer({ min: 1, max: R - start }) }));
const what: fc.Arbitrary<What> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bo' as const), bo: fc.integer({ min: 0, max: BOS.length - 1 }), pgoff: fc.integer({ min: 0, max: BO_PAGES - 1 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'null' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('userptr' as const), cpuPage: fc.integer({ min: 0, max: 64 }) }) },
);
const bind: fc.Arbitrary<Bind> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ r: range, what, ro: fc.boolean() }).map(({ r, what, ro }) => ({ kind: 'map' as const, ...r, what, ro })) },
  { weight: 2, arbitrary: range.map((r) => ({ kind: 'unmap' as const, ...r })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: BOS.length - 1 }).map((bo) => ({ kind: 'unmapAll' as const, bo })) },
);
const ioctl: fc.Arbitrary<Ioctl> = fc.record({
  binds: fc.array(bind, { minLength: 1, maxLength: 3 }),
  fail: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.record({ bind: fc.nat(), ops: fc.nat() }) }),
});

/** What a model page maps, and the tag of the MAP that created it. */
interface Cell {
  readonly tag: number;
  readonly obj: Bo | null;
  /** Object offset, or CPU address, or 0 for NULL, of this page. */
  readonly offset: bigint;
  readonly flags: number;
}

const addr = (page: number): bigint => BASE + BigInt(page) * P;

/** The request of a MAP bind (a BO that is too short is clipped as the ioctl would refuse it). */
function mapReq(b: Extract<Bind, { kind: 'map' }>): { obj: Bo | null; offset: bigint; flags: number; len: number } {
  const ro = b.ro ? READ_ONLY : 0;
  switch (b.what.kind) {
    case 'bo':
      return { obj: BOS[b.what.bo], offset: BigInt(b.what.pgoff) * P, flags: ro, len: Math.min(b.len, BO_PAGES - b.what.pgoff) };
    case 'null':
      return { obj: null, offset: 0n, flags: ro | DRM_GPUVA_SPARSE, len: b.len };
    case 'userptr':
      return { obj: null, offset: CPU + BigInt(b.what.cpuPage) * P, flags: ro, len: b.len };
  }
}

/** The ops a bind must produce, from the tree before it and the model's creation order. */
function expectedOps(before: Va[], b: Bind): string[] {
  const split = (start: bigint, end: bigint, keep: (v: Va) => boolean): string[] =>
    before
      .filter((v) => v.start < end && v.end > start)
      .map((v) => {
        const prev: GpuvaMap<Bo> | null = v.start < start ? { start: v.start, range: start - v.start, obj: v.obj, offset: v.offset } : null;
        const next: GpuvaMap<Bo> | null = v.end > end ? { start: end, range: v.end - end, obj: v.obj, offset: v.offset + (end - v.start) } : null;
        return prev || next
          ? `REMAP(${vmaStr(v)},keep=${keep(v)},prev=${vmaStr(prev)},next=${vmaStr(next)})`
          : `UNMAP(${vmaStr(v)},keep=${keep(v)})`;
      });
  switch (b.kind) {
    case 'unmap':
      return split(addr(b.start), addr(b.start + b.len), () => false);
    case 'unmapAll':
      return before
        .filter((v) => v.obj === BOS[b.bo])
        .sort((x, y) => x.priv! - y.priv!)
        .map((v) => `UNMAP(${vmaStr(v)},keep=false)`);
    case 'map': {
      const r = mapReq(b);
      const start = addr(b.start);
      const end = addr(b.start + r.len);
      // Contiguous: every page of v shows the same object page as the request would there.
      const keep = (v: Va): boolean => v.obj !== null && v.obj === r.obj && v.offset - v.start === r.offset - start;
      return [...split(start, end, keep), `MAP${vmaStr({ start, range: end - start, obj: r.obj, offset: r.offset })}`];
    }
  }
}

/** Generates a bind's ops from the current tree. */
function opsOf(vm: Vm, b: Bind): Op[] {
  switch (b.kind) {
    case 'unmap':
      return vm.smUnmapOpsCreate(addr(b.start), BigInt(b.len) * P);
    case 'unmapAll':
      return vm.boUnmapOpsCreate(BOS[b.bo]);
    case 'map': {
      const r = mapReq(b);
      return vm.smMapOpsCreate({ start: addr(b.start), range: BigInt(r.len) * P, obj: r.obj, offset: r.offset, flags: r.flags, attrs: { pat_index: b.start } });
    }
  }
}

class Model {
  readonly pages: Array<Cell | null> = Array(R).fill(null);
  private tags = 0;

  apply(b: Bind): void {
    if (b.kind === 'unmap') this.pages.fill(null, b.start, b.start + b.len);
    else if (b.kind === 'unmapAll') this.pages.forEach((c, i) => c?.obj === BOS[b.bo] && (this.pages[i] = null));
    else {
      const r = mapReq(b);
      const tag = ++this.tags;
      for (let i = 0; i < r.len; i++) this.pages[b.start + i] = { tag, obj: r.obj, offset: r.obj || r.offset ? r.offset + BigInt(i) * P : 0n, flags: r.flags };
    }
  }

  /** [start page, end page) of each run of one tag: the VMAs there must be. */
  runs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.pages.forEach((c, i) => {
      if (!c) return;
      const last = out[out.length - 1];
      if (last && last[1] === i && this.pages[i - 1]?.tag === c.tag) last[1] = i + 1;
      else out.push([i, i + 1]);
    });
    return out;
  }
}

/** Where the tree disagrees with the model, or null. */
function compare(vm: Vm, m: Model): string | null {
  const vmas = vm.all();
  const extents = vmas.map((v) => [Number((v.start - BASE) / P), Number((v.end - BASE) / P)]);
  if (JSON.stringify(extents) !== JSON.stringify(m.runs())) return `VMAs ${JSON.stringify(extents)}, model ${JSON.stringify(m.runs())}`;
  for (const v of vmas) {
    for (let a = v.start; a < v.end; a += P) {
      const c = m.pages[Number((a - BASE) / P)]!;
      const off = v.flags & DRM_GPUVA_SPARSE ? 0n : v.offset + (a - v.start);
      if (c.obj !== v.obj || c.offset !== off || c.flags !== v.flags) return `page ${(a - BASE) / P}: ${vmaStr(v)} flags ${v.flags}, model ${c.obj?.name}@${c.offset} flags ${c.flags}`;
    }
  }
  for (const bo of BOS) {
    const want = vmas.filter((v) => v.obj === bo).sort((x, y) => x.priv! - y.priv!);
    const got = vm.linked(bo);
    if (got.length !== want.length || got.some((v, i) => v !== want[i])) return `${bo.name} links ${got.map(vmaStr)}, want ${want.map(vmaStr)}`;
  }
  return null;
}

/** Everything unwind must restore: VMA identities and fields, and each object's links. */
function snapshot(vm: Vm): { vmas: Va[]; text: string; links: Va[][] } {
  const vmas = vm.all();
  const text = JSON.stringify(vmas.map((v) => [vmaStr(v), v.flags, v.attrs, v.priv, v.inTree]));
  return { vmas, text, links: BOS.map((bo) => vm.linked(bo)) };
}

function sameSnapshot(a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>): string | null {
  if (a.text !== b.text) return `tree ${b.text}, was ${a.text}`;
  if (a.vmas.some((v, i) => v !== b.vmas[i])) return 'a VMA was replaced by another object';
  if (a.links.some((l, k) => l.length !== b.links[k].length || l.some((v, i) => v !== b.links[k][i]))) return 'link lists differ';
  return null;
}

/** Runs an ioctl; a description of any disagreement, or null. */
function run(vm: Vm, m: Model, io: Ioctl, created: { n: number }): string | null {
  const before = snapshot(vm);
  const pages = [...m.pages];
  const failBind = io.fail ? io.fail.bind % io.binds.length : -1;
  const all: Op[] = [];
  for (const [k, b] of io.binds.entries()) {
    const vmasBefore = vm.all();
    const ops = opsOf(vm, b);
    const want = expectedOps(vmasBefore, b);
    const got = ops.map(opStr);
    if (JSON.stringify(got) !== JSON.stringify(want)) return `bind ${k}: ops ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
    if (ops.some((op) => op.op !== 'map' && !vmasBefore.includes(op.va))) return `bind ${k}: an op names a VMA not in the tree`;
    const n = k === failBind ? io.fail!.ops % (ops.length + 1) : ops.length;
    for (const op of ops.slice(0, n)) {
      vm.commit(op);
      for (const v of op.op === 'map' ? [op.va] : op.op === 'remap' ? [op.prevVa, op.nextVa] : []) if (v) v.priv = ++created.n;
    }
    all.push(...ops);
    if (k === failBind) {
      vm.unwind(all);
      m.pages.splice(0, R, ...pages);
      return sameSnapshot(before, snapshot(vm));
    }
    m.apply(b);
  }
  vm.finish(all);
  return compare(vm, m);
}

t.test('random bind sequences match a page-array model; failed ones unwind exactly', async (t) => {
  let runs = 0;
  let failures = 0;
  const property = fc.property(fc.array(ioctl, { maxLength: 25, size: 'max' }), (ioctls) => {
    runs++;
    const vm = newVm({ start: BASE, range: BigInt(R) * P });
    const m = new Model();
    const created = { n: 0 };
    for (const [n, io] of ioctls.entries()) {
      if (io.fail) failures++;
      const bad = run(vm, m, io, created);
      if (bad) throw new Error(`ioctl ${n} ${JSON.stringify(io)}: ${bad}`);
    }
  });
  // A fixed seed keeps the test deterministic; fast-check shrinks any failure to a short sequence.
  const result = fc.check(property, { seed: 0x67707576, numRuns: 400 });
  t.notOk(result.failed, fc.defaultReportMessage(result) ?? 'the model agrees');
  t.equal(result.numRuns, 400, 'every run executed');
  t.ok(failures > 500, `${failures} failed ioctls unwound over ${runs} runs`);
});
