// VM_BIND ops: splitting, unwind and state (vm_bind.md 7 cases 47-59), page-table contents
// entry by entry (cases 63-67), the NULL-binding sequence of design-notes.md and a userptr
// round trip through the GPU walker, BO lifetime under VMAs, and fault injection at every
// injection point of a multi-op bind.
import t, { type Test } from 'tap';
import { C } from '../src/uapi/uapi.js';
import { EBUSY, EFAULT, ENOENT, ENOMEM } from '../src/uapi/errno.js';
import { svmClose, svmInit } from '../src/kernel/xe/xe_svm.js';
import { PTE_2M, PTE_64K } from '../src/kernel/xe/xe_pt.js';
import { XE_VMA_DUMPABLE } from '../src/kernel/xe/xe_vma.js';
import type { Vm } from '../src/kernel/xe/xe_vm.js';
import { BindEnv, FLAG, OP, VM_FLAG, entry, gpuRead64, gpuWrite64 } from './helpers/bind.js';

const K64 = 0x10000n;
const WC = C('DRM_XE_GEM_CPU_CACHING_WC');
const shared = new BindEnv();

/** The 16 level-0 entries of [va, va + 64K). */
function entries64K(vm: Vm, va: number): bigint[] {
  return Array.from({ length: 16 }, (_, i) => entry(vm, va + i * 0x1000, 0));
}


function ok(t: Test, e: BindEnv, rc: number, msg: string): void {
  t.equal(rc, 0, `${msg} (${e.reason})`);
}

t.test('cases 47-48: identical re-map makes a new VMA; adjacent maps never merge', async (t) => {
  const e = shared;
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP');
  const first = e.vm(vm).gpuvm.all()[0];
  const before = entries64K(e.vm(vm), 0x100000);
  t.ok(before.every((x) => x !== 0n), 'PTEs written');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'the same MAP again');
  t.same(e.vmas(vm), [[0x100000n, 0x110000n, a, 0n, 0, 2]]);
  t.not(e.vm(vm).gpuvm.all()[0], first, 'a new VMA object');
  t.same(entries64K(e.vm(vm), 0x100000), before, 'identical PTEs');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0n, range: 0x1000n }]), 'A@0 at 0');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, obj_offset: 0x1000n, addr: 0x1000n, range: 0x1000n }]), 'A@0x1000 at 0x1000');
  t.equal(e.vmas(vm).filter((r) => r[1] <= 0x2000n).length, 2, 'case 48: two VMAs');
});

t.test('cases 49-52: splits', async (t) => {
  const e = shared;
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  const w = e.bo(0x10000, 1, WC);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'A');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x104000n, range: 0x4000n }]), 'case 49');
  t.same(e.vmas(vm), [[0x100000n, 0x104000n, a, 0n, 0, 2], [0x108000n, 0x110000n, a, 0x8000n, 0, 2]]);
  t.equal(gpuRead64(e.vm(vm), 0x104000), null, 'the hole faults');
  t.not(gpuRead64(e.vm(vm), 0x108000), null, 'the next piece translates');

  const vm2 = e.vmCreate();
  ok(t, e, e.bind(vm2, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }, { op: OP.MAP, obj: w, addr: 0x110000n, range: K64 }]), 'A and W');
  ok(t, e, e.bind(vm2, [{ op: OP.UNMAP, addr: 0x108000n, range: K64 }]), 'case 50');
  t.same(e.vmas(vm2), [[0x100000n, 0x108000n, a, 0n, 0, 2], [0x118000n, 0x120000n, w, 0x8000n, 0, 2]]);

  const vm3 = e.vmCreate();
  ok(t, e, e.bind(vm3, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'A');
  ok(t, e, e.bind(vm3, [{ op: OP.MAP, obj: w, addr: 0x104000n, range: 0x4000n, flags: FLAG.DUMPABLE }]), 'case 51');
  t.same(e.vmas(vm3), [
    [0x100000n, 0x104000n, a, 0n, 0, 2],
    [0x104000n, 0x108000n, w, 0n, XE_VMA_DUMPABLE, 2],
    [0x108000n, 0x110000n, a, 0x8000n, 0, 2],
  ]);
  const pieces = e.vm(vm3).gpuvm.all();
  t.not(pieces[0].attrs, pieces[2].attrs, 'REMAP pieces do not share one attribute object');

  // Case 52 (E4): V1 [0,0x2000) A@0, V2 [0x3000,0x5000) B@0, V3 [0x6000,0x8000) C@0x10000.
  const vm4 = e.vmCreate();
  const b = e.bo(0x10000);
  const c = e.bo(0x20000);
  const d = e.bo(0x10000);
  ok(t, e, e.bind(vm4, [
    { op: OP.MAP, obj: a, addr: 0n, range: 0x2000n },
    { op: OP.MAP, obj: b, addr: 0x3000n, range: 0x2000n },
    { op: OP.MAP, obj: c, obj_offset: 0x10000n, addr: 0x6000n, range: 0x2000n },
  ]), 'E4');
  ok(t, e, e.bind(vm4, [{ op: OP.MAP, obj: d, addr: 0x1000n, range: 0x6000n }]), 'case 52');
  t.same(e.vmas(vm4), [[0n, 0x1000n, a, 0n, 0, 2], [0x1000n, 0x7000n, d, 0n, 0, 2], [0x7000n, 0x8000n, c, 0x11000n, 0, 2]]);
});

t.test('cases 53-55, 57-59: empty ops, UNMAP_ALL, unwind', async (t) => {
  const e = shared;
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  const w = e.bo(0x10000, 1, WC);
  ok(t, e, e.bind(vm, [
    { op: OP.MAP, obj: a, addr: 0x100000n, range: K64 },
    { op: OP.MAP, obj: w, addr: 0x200000n, range: K64 },
    { op: OP.MAP, obj: a, addr: 0x300000n, range: K64 },
  ]), 'A twice, W once');
  let before = e.snapshot(vm);
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x500000n, range: 0x1000n }]), 'case 53: UNMAP of nothing');
  ok(t, e, e.bind(vm, [{ op: OP.PREFETCH, addr: 0x500000n, range: 0x1000n }]), 'case 54: PREFETCH of nothing');
  t.equal(e.snapshot(vm), before, 'unchanged');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP_ALL, obj: a }]), 'case 55: UNMAP_ALL(A)');
  t.same(e.vmas(vm), [[0x200000n, 0x210000n, w, 0n, 0, 2]]);
  before = e.snapshot(vm);
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP_ALL, obj: a }]), 'case 55: UNMAP_ALL of an unmapped BO');
  t.equal(e.snapshot(vm), before, 'unchanged');

  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x400000n, range: K64 }, { op: OP.MAP, obj: 99, addr: 0x500000n, range: K64 }]), -ENOENT, 'case 57');
  t.equal(e.snapshot(vm), before, 'case 57: unchanged');
  t.equal(e.bind(vm, [
    { op: OP.MAP, obj: a, addr: 0x400000n, range: K64 },
    { op: OP.UNMAP, addr: 0x200000n, range: 0x1000n },
    { op: OP.MAP_USERPTR, obj_offset: 0x7f0000000000n + (60n << 20n), addr: 0x600000n, range: 0x2000n },
  ]), -EFAULT, 'case 58: an unmapped userptr');
  t.equal(e.snapshot(vm), before, 'case 58: the MAP and the REMAP before it are unwound');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x300000n, range: K64 }, { op: OP.UNMAP, addr: 0x300000n, range: K64 }]), 'case 59');
  t.same(e.vmas(vm), [[0x200000n, 0x210000n, w, 0n, 0, 2]], 'case 59: op 2 unmapped op 1\'s VMA');
  t.equal(gpuRead64(e.vm(vm), 0x300000), null, 'case 59: no PTE left');
});

t.test('cases 63-65: page-table values', async (t) => {
  const e = new BindEnv();
  const vm = e.vmCreate();
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.NULL, addr: 0x40000000n, range: 0x40000000n }]), 'case 63: MAP NULL 1G');
  const v = e.vm(vm);
  t.equal(entry(v, 0x40000000, 2), 0x293n, 'case 63: L2[1] = 0x293');
  t.equal(entry(v, 0x40000000, 2), entry(v, 0x40000000 + 0x1000, 2));
  t.equal(gpuRead64(v, 0x40001234), 0n, 'reads 0');
  t.ok(gpuWrite64(v, 0x40001234, 5n), 'a write does not fault');
  t.equal(gpuRead64(v, 0x40001234), 0n, 'and is dropped');

  // A window of 64K of a physically contiguous BO, starting on a 64K-aligned page.
  const a = e.bo(0x20000);
  const obj = e.file.objects.get(a)!;
  t.ok(Array.from({ length: 32 }, (_, i) => obj.page(i)).every((pa, i, all) => pa === all[0] + i * 0x1000), 'precondition: one physical run');
  const first = ((0x10000 - (v.pt!.ptm.pageAddr(obj.page(0)).addr % 0x10000)) % 0x10000) / 0x1000;
  const pageAt = (i: number): bigint => BigInt(v.pt!.ptm.pageAddr(obj.page(first + i)).addr);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, obj_offset: BigInt(first * 0x1000), addr: 0x100000n, range: K64 }]), 'case 64');
  for (let i = 0; i < 16; i++) t.equal(entry(v, 0x100000 + i * 0x1000, 0), pageAt(i) | 0x113n | 0x400n, `case 64: L0[${256 + i}] (PS64, AE on an iGPU)`);
  t.ok((v.gpuvm.all().find((x) => x.start === 0x100000n)!.priv!.pteFlags & PTE_64K) !== 0, 'case 64: the VMA records 64K');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, obj_offset: BigInt(first * 0x1000), addr: 0x100000n, range: K64, flags: FLAG.READONLY }]), 'case 65: READONLY');
  for (let i = 0; i < 16; i++) {
    const want = pageAt(i) | 0x111n | 0x400n;
    t.equal(entry(v, 0x100000 + i * 0x1000, 0), want, `case 65: L0[${256 + i}] without RW`);
  }
  t.equal(v.pt!.mmu.gpuWrite(0x100000, new Uint8Array(8))?.fault, 'read-only', 'case 65: a GPU write faults');
});

t.test('case 66: scratch', async (t) => {
  const e = shared;
  const vm = e.vmCreate(VM_FLAG.SCRATCH);
  const v = e.vm(vm);
  t.equal(gpuRead64(v, 0x123456000), 0n, 'unmapped reads 0');
  const a = e.bo(0x10000);
  // A second VMA shares the level-0 table, so that it outlives the unbind (divergences.md).
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }, { op: OP.MAP, obj: a, addr: 0x120000n, range: K64 }]), 'MAP');
  t.ok(gpuWrite64(v, 0x100008, 0xabcn));
  t.equal(gpuRead64(v, 0x100008), 0xabcn, 'the BO is there');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 'UNMAP');
  t.same(entries64K(v, 0x100000), new Array(16).fill(0x213n), 'scratch 4K NULL leaves');
  t.equal(gpuRead64(v, 0x100008), 0n, 'reads 0 again');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x120000n, range: K64 }]), 'UNMAP the other');
  v.pt!.mmu.invalidateAll(); // a fresh walk: the TLB may still hold the equivalent 4K NULL leaf
  const tr = v.pt!.mmu.translate(0x100000);
  t.ok('entry' in tr && tr.entry.nul && tr.level > 0, 'the emptied tables are freed: a scratch NULL leaf above level 0');
  t.equal(gpuRead64(v, 0x120000), 0n);
});

t.test('case 67: splitting a 2M-leaf VMA keeps the first leaf and rebinds the rest', async (t) => {
  const e = new BindEnv();
  const vm = e.vmCreate();
  const v = e.vm(vm);
  const big = e.bo(6 << 20);
  const obj = e.file.objects.get(big)!;
  const contiguous = Array.from({ length: obj.pageCount }, (_, i) => obj.page(i)).every((pa, i, all) => pa === all[0] + i * 0x1000);
  t.ok(contiguous, 'precondition: the BO is one physical run');
  const dev0 = v.pt!.ptm.pageAddr(obj.page(0)).addr;
  const off = BigInt((0x200000 - (dev0 % 0x200000)) % 0x200000);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: big, obj_offset: off, addr: 0n, range: 0x400000n }]), 'MAP 4M at 0');
  const first = entry(v, 0, 1);
  const second = entry(v, 0x200000, 1);
  t.equal(first & 0x80n, 0x80n, 'two 2M leaves');
  t.equal(second & 0x80n, 0x80n);
  t.ok((v.gpuvm.all()[0].priv!.pteFlags & PTE_2M) !== 0, 'the VMA records 2M');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x200000n, range: 0x1000n }]), 'UNMAP [0x200000, +0x1000)');
  t.equal(entry(v, 0, 1), first, 'the first 2M leaf is untouched');
  t.equal(entry(v, 0x200000, 1) & 0x80n, 0n, 'the second is now a table');
  t.equal(entry(v, 0x200000, 0), 0n, 'the unmapped page is empty');
  t.equal(BigInt(v.pt!.ptm.pageAddr(obj.page(Number(off / 0x1000n) + 0x201)).addr), entry(v, 0x201000, 0) & ~0xfffn & ((1n << 46n) - 1n), 'rebound 4K/64K leaves');
  t.same(e.vmas(vm), [[0n, 0x200000n, big, off, 0, 2], [0x201000n, 0x400000n, big, off + 0x201000n, 0, 2]]);
});

t.test('design-notes NULL-binding sequence through the GPU walker', async (t) => {
  const e = shared;
  const vm = e.vmCreate();
  const v = e.vm(vm);
  const bo = e.bo(0x1000);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.NULL, addr: 0n, range: 0x8000n }]), 'MAP 0x0-0x8000 NULL');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: bo, addr: 0x4000n, range: 0x1000n }]), 'MAP 0x4000-0x5000 BO');
  t.same(e.vmas(vm).map((r) => [r[0], r[1], r[2]]), [[0n, 0x4000n, 0], [0x4000n, 0x5000n, bo], [0x5000n, 0x8000n, 0]], 'NULL, BO, NULL');
  t.ok(gpuWrite64(v, 0x4008, 77n));
  t.equal(gpuRead64(v, 0x4008), 77n, 'the BO page holds data');
  t.ok(gpuWrite64(v, 0x3008, 77n), 'a write to NULL is dropped');
  t.equal(gpuRead64(v, 0x3008), 0n, 'NULL reads 0');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x3000n, range: 0x3000n }]), 'UNMAP 0x3000-0x6000');
  t.same(e.vmas(vm).map((r) => [r[0], r[1], r[2]]), [[0n, 0x3000n, 0], [0x6000n, 0x8000n, 0]], 'NULL 0x0-0x3000 and 0x6000-0x8000');
  t.equal(gpuRead64(v, 0x4008), null, 'the BO is gone: a fault');
  t.equal(gpuRead64(v, 0x2000), 0n);
  t.equal(gpuRead64(v, 0x7000), 0n);
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0n, range: 0x8000n }]), 'UNMAP 0x0-0x8000');
  t.same(e.vmas(vm), []);
  for (const va of [0, 0x2000, 0x6000, 0x7000]) t.equal(gpuRead64(v, va), null, `0x${va.toString(16)} faults`);
});

t.test('userptr round trip', async (t) => {
  const e = shared;
  const vm = e.vmCreate();
  const v = e.vm(vm);
  const cpu = e.mmap(0x4000);
  e.write64(cpu + 0x1008n, 0x1122334455667788n);
  ok(t, e, e.bind(vm, [{ op: OP.MAP_USERPTR, obj_offset: cpu, addr: 0x300000n, range: 0x4000n }]), 'MAP_USERPTR');
  t.equal(gpuRead64(v, 0x301008), 0x1122334455667788n, 'a CPU write is seen by a GPU read');
  t.ok(gpuWrite64(v, 0x302010, 0xfeedn));
  t.equal(e.read64(cpu + 0x2010n), 0xfeedn, 'a GPU write is seen by a CPU read');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x301000n, range: 0x1000n }]), 'split the userptr VMA');
  t.same(e.vmas(vm).map((r) => [r[0], r[1], r[3]]), [[0x300000n, 0x301000n, cpu], [0x302000n, 0x304000n, cpu + 0x2000n]]);
  t.equal(gpuRead64(v, 0x302010), 0xfeedn, 'the re-pinned next piece still maps the same page');
});

t.test('a VMA keeps its BO alive; closing the file frees everything', async (t) => {
  const e = new BindEnv();
  e.alloc(8);
  const baseline = e.dev.sysmem.usedPages;
  const vm = e.vmCreate(VM_FLAG.SCRATCH);
  const a = e.bo(0x10000);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP');
  const v = e.vm(vm);
  t.ok(gpuWrite64(v, 0x100000, 42n));
  const used = e.dev.sysmem.usedPages;
  const obj = e.file.objects.get(a)!;
  t.equal(e.gemClose(a), 0, 'GEM_CLOSE');
  t.equal(e.dev.sysmem.usedPages, used, 'the BO stays while mapped');
  t.notOk(obj.freed);
  t.equal(gpuRead64(v, 0x100000), 42n, 'and is still readable');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 'UNMAP');
  t.ok(obj.freed, 'the unmap freed the BO');
  const b = e.bo(0x10000);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: b, addr: 0x200000n, range: K64 }]), 'MAP B');
  e.gemClose(b);
  e.file.put();
  t.equal(e.dev.sysmem.usedPages, baseline, 'file close: VMAs, BOs and page tables are gone');
});

t.test('fault injection at every point of a bind with MAP, REMAP and UNMAP', async (t) => {
  const e = shared;
  const vm = e.vmCreate(VM_FLAG.SCRATCH);
  const a = e.bo(0x10000);
  const w = e.bo(0x10000, 1, WC);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }, { op: OP.MAP, obj: w, addr: 0x40000000n, range: K64 }]), 'setup');
  const ops = [
    { op: OP.MAP, obj: w, addr: 0x104000n, range: 0x4000n },
    { op: OP.UNMAP, addr: 0x40000000n, range: K64 },
    { op: OP.MAP, obj: a, addr: 0x80000000n, range: K64 },
  ];
  const before = e.snapshot(vm);
  let n = 1;
  for (; n < 100; n++) {
    e.injectFail(n);
    const rc = e.bind(vm, ops);
    const left = e.injectFail(0);
    if (rc === 0) {
      t.ok(left > 0, `with ${n} the injection did not fire`);
      break;
    }
    t.equal(rc, -ENOMEM, `point ${n}: -ENOMEM (${e.reason})`);
    t.equal(left, 0, `point ${n} fired`);
    t.equal(e.snapshot(vm), before, `point ${n}: tree and page tables unchanged`);
  }
  t.ok(n >= 7, `${n - 1} injection points (VMA creations, PT steps, table allocations, the job)`);
  t.same(e.vmas(vm).map((r) => [r[0], r[1], r[2]]), [
    [0x100000n, 0x104000n, a], [0x104000n, 0x108000n, w], [0x108000n, 0x110000n, a], [0x80000000n, 0x80010000n, a],
  ], 'then the bind succeeds');
});

t.test('fault mode: deferred MAP writes nothing; with scratch the slots become 0', async (t) => {
  const e = new BindEnv();
  const a = e.bo(0x10000);
  const vm = e.vmCreate(VM_FLAG.LR | VM_FLAG.FAULT);
  const v = e.vm(vm);
  const before = JSON.parse(e.snapshot(vm)).rawEntries;
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP without IMMEDIATE');
  t.equal(JSON.parse(e.snapshot(vm)).rawEntries, before, 'case 61: no PTE written');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x200000n, range: K64, flags: FLAG.IMMEDIATE }]), 'MAP IMMEDIATE');
  t.not(gpuRead64(v, 0x200000), null, 'case 61: IMMEDIATE writes the PTEs');

  const sv = e.vmCreate(VM_FLAG.LR | VM_FLAG.FAULT | VM_FLAG.SCRATCH);
  const s = e.vm(sv);
  t.equal(gpuRead64(s, 0x100000), 0n, 'scratch reads 0');
  ok(t, e, e.bind(sv, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP without IMMEDIATE');
  t.equal(entry(s, 0x100000, 0), 0n, 'case 62: the slot is 0, not scratch');
  t.equal(gpuRead64(s, 0x100000), null, 'case 62: a read faults');
  ok(t, e, e.bind(sv, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 'UNMAP');
  t.equal(gpuRead64(s, 0x100000), 0n, 'scratch again after the unmap');
});

t.test('case 60: a mirror VMA splits without PT writes; SVM ranges make it -EBUSY', async (t) => {
  const e = new BindEnv();
  const a = e.bo(0x10000);
  const vm = e.vmCreate(VM_FLAG.LR | VM_FLAG.FAULT | VM_FLAG.SCRATCH);
  const v = e.vm(vm);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.MIRROR, addr: 0n, range: 1n << 48n }]), 'mirror [0, 2^48)');
  const bytes = JSON.parse(e.snapshot(vm)).rawEntries;
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64, flags: FLAG.IMMEDIATE }]), 'MAP A over it');
  t.same(e.vmas(vm).map((r) => [r[0], r[1], r[2]]), [[0n, 0x100000n, 0], [0x100000n, 0x110000n, a], [0x110000n, 1n << 48n, 0]], 'mirror, A, mirror');
  t.ok(mapped(v, 0x100000), 'A is bound');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 'UNMAP A');
  t.equal(JSON.parse(e.snapshot(vm)).rawEntries, bytes, 'the mirror pieces wrote no PTE');
  const cpu = e.mmap(0x10000);
  const svm = svmInit(v, e.proc.mm);
  const mirror = v.gpuvm.all().find((x) => x.start <= cpu && cpu < x.end)!;
  svm.findOrInsert(mirror, cpu);
  const before = e.snapshot(vm);
  t.equal(e.bind(vm, [{ op: OP.MAP, obj: a, addr: cpu, range: K64 }]), -EBUSY, `MAP over an SVM range (${e.reason})`);
  t.equal(e.bind(vm, [{ op: OP.UNMAP, addr: cpu, range: 0x1000n }]), -EBUSY, 'UNMAP of it');
  t.equal(e.snapshot(vm), before, 'unchanged');
  svmClose(v);
});

function mapped(vm: Vm, va: number): boolean {
  vm.pt!.mmu.invalidateAll();
  return !('fault' in vm.pt!.mmu.translate(va));
}
