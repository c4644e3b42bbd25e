// SVM ranges of CPU_ADDR_MIRROR VMAs (xe_svm.ts; vm_bind.md 6.3, 6.4): range sizes chosen as
// drm_gpusvm_range_chunk_size does, the range's pages being the CPU's physical pages (a GPU
// write is a CPU read and the reverse), the CPU-side errors, the MMU notifier dropping a range
// on munmap / MAP_FIXED and forgetting its pages when a mapped BO moves, hasMapping.
import t from 'tap';
import { PAGE_SIZE } from '../src/hw/memory.js';
import { isFault, type GpuFault } from '../src/hw/mmu.js';
import type { MmuEvent } from '../src/kernel/os/mm.js';
import { hasMapping, svmClose, svmInit, svmOf, type XeSvm } from '../src/kernel/xe/xe_svm.js';
import type { Vm } from '../src/kernel/xe/xe_vm.js';
import { defaultMemAttr, XE_VMA_READ_ONLY, XE_VMA_SYSTEM_ALLOCATOR, type XeVma } from '../src/kernel/xe/xe_vma.js';
import { MAP_FIXED, PROT } from '../src/uapi/channel.js';
import { EINVAL, ENOENT, EPERM } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { errnoOf, Rig } from './helpers/rig.js';

const LR = C('DRM_XE_VM_CREATE_FLAG_LR_MODE');
const FAULT = C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE');
const SCRATCH = C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE');
const K4 = 0x1000n;
const K64 = 0x10000n;
const M2 = 0x200000n;

/** A fault-mode VM mirroring process 1, with SVM state. */
function setup(profile: 'lnl' | 'bmg', flags = 0): { r: Rig; vm: Vm; svm: XeSvm } {
  const r = new Rig(profile);
  const vm = r.vm(LR | FAULT | flags);
  return { r, vm, svm: svmInit(vm, r.proc.mm) };
}

/** Creates a mirror VMA over [start, start + range) as a committed MAP (obj null). */
function mirror(vm: Vm, start: bigint, range: bigint, flags = 0): XeVma {
  const ops = vm.gpuvm.smMapOpsCreate({ start, range, obj: null, offset: 0n, flags: XE_VMA_SYSTEM_ALLOCATOR | flags, attrs: defaultMemAttr(vm.dev.profile.patWb) });
  for (const op of ops) vm.gpuvm.commit(op);
  vm.gpuvm.finish(ops);
  const map = ops[ops.length - 1];
  if (map.op !== 'map' || !map.va) throw new Error('no map op');
  map.va.priv = { pteFlags: 0, tilePresent: 0 };
  return map.va;
}

/** A 2M-aligned block of `size` bytes from the process's malloc heap (arena: 2M-aligned anonymous memory). */
function malloc2M(r: Rig, size: bigint): bigint {
  return r.sys(6 /* SYS.MALLOC */, [size, M2])[0];
}

const gpuFault = (x: Uint8Array | GpuFault): GpuFault | null => (x instanceof Uint8Array ? null : x);

for (const profile of ['lnl', 'bmg'] as const) {
  t.test(`${profile}: range sizes from the mirror VMA and the CPU mapping`, async (t) => {
    const { r, vm, svm } = setup(profile);
    const whole = mirror(vm, 0n, 1n << 47n);

    // A 2M-aligned malloc'd block inside a larger anonymous arena: a 2M range.
    const a = malloc2M(r, M2);
    t.equal(a % M2, 0n);
    const r2 = svm.fault(whole, a + 0x1234n);
    t.same([r2.start, r2.end], [a, a + M2], '2M range around the fault');
    t.equal(svm.findOrInsert(whole, a + M2 - 1n), r2, 'another address in it finds the same range');

    // A 64K-aligned 64K mapping: 2M does not fit the CPU mapping, 64K does.
    const m64 = a + 8n * M2;
    t.equal(r.mmap(K64, -1, 0n, m64, MAP_FIXED), m64);
    const r64 = svm.fault(whole, m64 + 0x8000n);
    t.same([r64.start, r64.size], [m64, K64]);

    // A 16K mapping: 4K ranges, one per faulting page.
    const m16 = a + 9n * M2;
    r.mmap(4n * K4, -1, 0n, m16, MAP_FIXED);
    const r4a = svm.fault(whole, m16 + 0x1010n);
    const r4b = svm.fault(whole, m16 + 0x3000n);
    t.same([r4a.start, r4a.size, r4b.start, r4b.size], [m16 + K4, K4, m16 + 3n * K4, K4]);

    // The mirror VMA bounds the range too: a 64K mirror VMA over 2M of CPU memory.
    const b = malloc2M(r, M2);
    const small = mirror(vm, b + K64, K64);
    const rb = svm.fault(small, b + K64 + 0x10n);
    t.same([rb.start, rb.size], [b + K64, K64], 'inside a 64K mirror VMA: 64K');
    const tiny = mirror(vm, b + 3n * K64 + K4, 2n * K4);
    t.same([svm.fault(tiny, b + 3n * K64 + K4).size], [K4], 'a VMA of two 4K pages, not 64K aligned: 4K');
    t.equal(svm.fault(tiny, 0n).start, b + 3n * K64 + K4, 'an address below the VMA is raised to its start');

    // Existing ranges: a chunk that would overlap one is passed over for a smaller one.
    const back = mirror(vm, b, M2);
    const rc = svm.fault(back, b + 5n * K4);
    t.same([rc.start, rc.size], [b, K64], '2M would overlap the 64K range at b+64K: 64K');
    t.same(svm.all().map((x) => [x.start, x.size]), [
      [a, M2], [b, K64], [b + K64, K64], [b + 3n * K64 + K4, K4], [m64, K64], [m16 + K4, K4], [m16 + 3n * K4, K4],
    ], 'the ranges, disjoint, in address order');
    r.dispose();
  });

  t.test(`${profile}: a range's pages are the CPU's pages; GPU and CPU see each other's writes`, async (t) => {
    const { r, vm, svm } = setup(profile);
    const whole = mirror(vm, 0n, 1n << 47n);
    const a = malloc2M(r, M2);
    const range = svm.fault(whole, a);
    t.equal(range.bound, true);
    const cpuPages = Array.from({ length: Number(M2) / PAGE_SIZE }, (_, i) => r.proc.pt.translate(a + BigInt(i * PAGE_SIZE), true));
    t.same(range.pages, cpuPages, 'one CPU physical page per 4K page, in order');

    const mmu = vm.pt!.mmu;
    t.equal(mmu.gpuWrite(Number(a) + 0x1_2340, new Uint8Array([9, 8, 7, 6])), null, 'GPU write through the new PTEs');
    t.same(r.proc.as.read(a + 0x1_2340n, 4), new Uint8Array([9, 8, 7, 6]), 'the CPU reads it at the same address');
    r.proc.as.write(a + M2 - 8n, new Uint8Array([0xde, 0xad]));
    t.same(mmu.gpuRead(Number(a + M2 - 8n), 2), new Uint8Array([0xde, 0xad]), 'the GPU reads a CPU write');
    const tr = mmu.translate(Number(a) + 0x5000);
    t.ok(!isFault(tr) && tr.entry.writable, 'writable PTEs');
    t.ok(!isFault(tr) && tr.entry.patIndex === vm.dev.profile.patWb, 'pat_index from the VMA attributes');

    // Outside any range the GPU still faults.
    t.equal(gpuFault(mmu.gpuRead(Number(a + M2), 4))?.fault, 'not-present');
    // A second fault on a valid range binds nothing new.
    const invals = vm.pt!.invalidations.length;
    const binds = vm.pt!.stats();
    t.equal(svm.fault(whole, a + 0x10n), range);
    t.same(vm.pt!.stats(), binds);
    t.equal(vm.pt!.invalidations.length, invals);
    r.dispose();
  });

  t.test(`${profile}: CPU-side errors`, async (t) => {
    const { r, vm, svm } = setup(profile);
    const whole = mirror(vm, 0n, 1n << 47n);
    const a = malloc2M(r, M2);
    r.munmap(a + M2, K64);
    t.equal(errnoOf(() => svm.fault(whole, a + M2 + 0x100n)), ENOENT, 'no CPU mapping at the address: -ENOENT');
    // (Anonymous memory is always writable in the emulator: a BO mapped PROT_READ instead.)
    const bo = r.bo(K64, 1, C('DRM_XE_GEM_CPU_CACHING_WB'));
    const ro = r.mmap(K64, r.fd, bo.bo.mmapOffset, a + M2, MAP_FIXED, PROT.READ);
    t.equal(errnoOf(() => svm.fault(whole, ro)), EPERM, 'a writable mirror VMA over a read-only CPU mapping: -EPERM');
    const roVma = mirror(vm, ro, K64, XE_VMA_READ_ONLY);
    const rr = svm.fault(roVma, ro + 0x2000n);
    t.equal(rr.size, K64, 'a read-only mirror VMA may mirror it');
    t.equal(gpuFault(vm.pt!.mmu.gpuRead(Number(ro), 4)), null, 'GPU reads');
    t.equal((vm.pt!.mmu.gpuWrite(Number(ro), new Uint8Array([1])) as GpuFault | null)?.fault, 'read-only', 'GPU writes fault');
    const boVma = vm.gpuvm.smMapOpsCreate({ start: 1n << 40n, range: K64, obj: bo.bo, offset: 0n, flags: 0, attrs: defaultMemAttr(0) });
    for (const op of boVma) vm.gpuvm.commit(op);
    const notMirror = vm.gpuvm.findFirst(1n << 40n, 1n)!;
    t.equal(errnoOf(() => svm.fault(notMirror, 1n << 40n)), EINVAL, 'not a mirror VMA: -EINVAL');
    t.equal(errnoOf(() => svm.fault(whole, vm.size + K4)), EINVAL, 'past the VM: -EINVAL');
    r.dispose();
  });

  t.test(`${profile}: munmap / MAP_FIXED over part of a range zaps its PTEs and drops it`, async (t) => {
    const { r, vm, svm } = setup(profile);
    const whole = mirror(vm, 0n, 1n << 47n);
    const a = malloc2M(r, M2);
    const range = svm.fault(whole, a);
    const before = vm.pt!.stats();
    t.equal(before.leaves['4K'] + before.leaves['64K'] * 16 + before.leaves['2M'] * 512, 512, 'the range is bound: 2M of leaves');
    t.ok(svm.hasMapping(a, a + 1n) && hasMapping(vm, a + M2 - 1n, a + M2));

    r.munmap(a + 0x10000n, K4);
    t.same(svm.all(), [], 'the range is dropped (garbage collector run at once)');
    t.equal(range.bound, false);
    t.equal(gpuFault(vm.pt!.mmu.gpuRead(Number(a), 4))?.fault, 'not-present', 'a still-mapped page of the old range now faults');
    t.same(vm.pt!.invalidations.at(-1), { start: Number(a), end: Number(a + M2), reason: 'unbind' }, 'the whole range is unbound');
    t.notOk(hasMapping(vm, a, a + M2), 'hasMapping: nothing left');

    // Re-faulting: the CPU mapping is now split, so the new range is smaller.
    const again = svm.fault(whole, a);
    t.same([again.start, again.size], [a, K64], 'the piece below the hole is 64K: 64K range');

    // MAP_FIXED over part of it: dropped; a new fault collects the new pages.
    const old = again.pages![3];
    r.mmap(K4, -1, 0n, a + 3n * K4, MAP_FIXED);
    t.same(svm.all(), []);
    const fresh = svm.fault(whole, a + 3n * K4);
    t.same([fresh.start, fresh.size], [a + 3n * K4, K4]);
    t.not(fresh.pages![0], old, 'the new anonymous page');
    t.equal(fresh.pages![0], r.proc.pt.translate(a + 3n * K4, true));

    // A munmap elsewhere leaves ranges alone.
    r.munmap(a + M2 + K64, K4);
    t.equal(svm.all().length, 1);
    r.dispose();
  });

  t.test(`${profile}: with SCRATCH_PAGE, an invalidated range reads scratch`, async (t) => {
    const { r, vm, svm } = setup(profile, SCRATCH);
    const whole = mirror(vm, 0n, 1n << 47n);
    const a = malloc2M(r, M2);
    svm.fault(whole, a);
    r.proc.as.write(a + 0x100n, new Uint8Array([5]));
    t.same(vm.pt!.mmu.gpuRead(Number(a) + 0x100, 1), new Uint8Array([5]));
    r.munmap(a, K4);
    t.same(vm.pt!.mmu.gpuRead(Number(a) + 0x4100, 1), new Uint8Array([0]), 'scratch: reads 0');
    r.dispose();
  });
}

t.test('bmg: a mapped BO that moves invalidates the range over its mapping (pages forgotten, PTEs zapped, range kept)', async (t) => {
  const { r, vm, svm } = setup('bmg');
  const whole = mirror(vm, 0n, 1n << 47n);
  const { bo } = r.bo(K64, 0b11, C('DRM_XE_GEM_CPU_CACHING_WC'));
  bo.migrate(0);
  const addr = r.mmap(K64, r.fd, bo.mmapOffset, 0x7f00_0200_0000n, MAP_FIXED);
  const range = svm.fault(whole, addr);
  t.equal(range.size, K64);
  t.equal(range.pages![2], bo.page(2), 'the range holds the BO pages the CPU maps');
  bo.migrate(1);
  t.same(svm.all(), [range], 'the range stays');
  t.equal(range.pages, null, 'its pages are forgotten');
  t.equal(range.bound, false);
  t.equal(gpuFault(vm.pt!.mmu.gpuRead(Number(addr), 4))?.fault, 'not-present', 'its PTEs are gone');
  t.ok(svm.hasMapping(addr, addr + K64), 'still an SVM range for the -EBUSY rule');
  r.dispose();
});

t.test('hasMapping over intervals; svmClose stops following the CPU', async (t) => {
  const { r, vm, svm } = setup('lnl');
  const whole = mirror(vm, 0n, 1n << 47n);
  const a = malloc2M(r, M2);
  r.mmap(K64, -1, 0n, a + 4n * M2, MAP_FIXED);
  svm.fault(whole, a + 4n * M2 + 0x2000n);
  t.ok(svm.hasMapping(0n, 1n << 47n));
  t.ok(svm.hasMapping(a + 4n * M2 + K64 - 1n, a + 4n * M2 + K64), 'last byte');
  t.notOk(svm.hasMapping(a + 4n * M2 + K64, a + 5n * M2), 'just above');
  t.notOk(svm.hasMapping(0n, a + 4n * M2), 'just below');
  const other = r.vm(LR | FAULT);
  t.notOk(hasMapping(other, 0n, 1n << 47n), 'a VM without SVM state has no mapping');
  t.equal(svmOf(vm), svm);
  t.equal(svmInit(vm, r.proc.mm), svm, 'init twice: the same state');

  const seen: Array<[bigint, bigint, MmuEvent]> = [];
  const off = r.proc.mm.subscribe((s, e, ev) => seen.push([s, e, ev]));
  svmClose(vm);
  t.equal(svmOf(vm), undefined);
  r.munmap(a + 4n * M2, K64);
  t.same(seen, [[a + 4n * M2, a + 4n * M2 + K64, 'unmap']], 'the OS notifier still runs for others');
  const stats = vm.pt!.stats();
  t.equal(stats.leaves['4K'], 16, 'a closed SVM leaves the page tables alone (they go with the VM)');
  off();
  r.munmap(a, K4);
  t.equal(seen.length, 1, 'unsubscribed');
  r.dispose();
});

t.test('os: MMU notifiers hear each mapping an munmap or MAP_FIXED removes, before its pages go', async (t) => {
  const r = new Rig('lnl');
  const mm = r.proc.mm;
  const a = r.mmap(4n * K4, -1, 0n, 0x7f00_0100_0000n, MAP_FIXED);
  const b = r.mmap(4n * K4, -1, 0n, a + 8n * K4, MAP_FIXED);
  const seen: Array<[bigint, bigint, MmuEvent, boolean]> = [];
  const off = mm.subscribe((s, e, ev) => seen.push([s, e, ev, mm.pt.translate(s, false) >= 0]));
  r.munmap(a + 2n * K4, 8n * K4);
  t.same(seen, [
    [a + 2n * K4, a + 4n * K4, 'unmap', true],
    [b, b + 2n * K4, 'unmap', true],
  ], 'one call per mapping piece, the hole skipped, the pages still mapped when called');
  seen.length = 0;
  r.munmap(a + 4n * K4, 4n * K4);
  t.same(seen, [], 'nothing mapped there: no call');
  r.mmap(2n * K4, -1, 0n, a, MAP_FIXED);
  t.same(seen, [[a, a + 2n * K4, 'unmap', true]], 'MAP_FIXED over a mapping');
  off();
  r.dispose();
});
