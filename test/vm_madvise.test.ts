// DRM_IOCTL_XE_MADVISE (src/kernel/xe/xe_vm_madvise.ts): shared/spec/vm_attrs.md 4 and the
// MADVISE cases 1-25 of section 7, through the real ioctl on an in-process kernel. A failed call
// must leave the VM as it was: VMAs with attributes, BO state, page-table bytes, TLB log.
import t, { type Test } from 'tap';
import { isFault, type Translation } from '../src/hw/mmu.js';
import { svmInit } from '../src/kernel/xe/xe_svm.js';
import type { Vm } from '../src/kernel/xe/xe_vm.js';
import { PURGEABLE_DONTNEED, PURGEABLE_WILLNEED, XE_VMA_SYSTEM_ALLOCATOR } from '../src/kernel/xe/xe_vma.js';
import { EFAULT, EINVAL, ENOENT } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import * as ch from '../src/uapi/channel.js';
import { AttrMachine, BUF, UNMAPPED } from './helpers/vm_attrs.js';

const PREF = C('DRM_XE_MEM_RANGE_ATTR_PREFERRED_LOC');
const ATOMIC = C('DRM_XE_MEM_RANGE_ATTR_ATOMIC');
const PAT = C('DRM_XE_MEM_RANGE_ATTR_PAT');
const PURGE = C('DRM_XE_VMA_ATTR_PURGEABLE_STATE');
const WB = C('DRM_XE_GEM_CPU_CACHING_WB');
const WC = C('DRM_XE_GEM_CPU_CACHING_WC');
const MiB = 0x100000n;

/** The spec's setup on `profile`: fault-mode VM V, mirror M [1M, 2M) pat 0, BO B (4 MiB, system, WC) at [4M, 8M) pat 0. */
function setup(profile: 'lnl' | 'bmg' = 'lnl') {
  const am = new AttrMachine(profile);
  const { id, vm } = am.faultVm();
  const m = am.bind(vm, { start: MiB, range: MiB, mirror: true, pat: 0 });
  const b = am.boCreate(4n * MiB, 1, WC);
  const bVma = am.bind(vm, { start: 4n * MiB, range: 4n * MiB, bo: b.handle, pat: 0 });
  return { am, id, vm, m, b, bVma };
}

/** Calls MADVISE and asserts its errno and that the VM is exactly as before. */
function refused(t: Test, am: AttrMachine, vm: Vm, fields: Record<string, unknown>, errno: number, what: string): void {
  const before = am.state(vm);
  const vmas = vm.gpuvm.all();
  t.equal(am.madvise(fields as never), errno, `${what}: errno ${errno}`);
  t.equal(am.state(vm), before, `${what}: VMAs, attributes, BO state, page tables unchanged`);
  t.ok(vm.gpuvm.all().every((v, i) => v === vmas[i]), `${what}: the very same VMA objects`);
}

const rec = (r: Record<string, unknown>) => ({
  start: r.start, end: r.end,
  fd: (r.preferred_mem_loc as Record<string, number>).devmem_fd,
  policy: (r.preferred_mem_loc as Record<string, number>).migration_policy,
  atomic: (r.atomic as Record<string, number>).val,
  pat: (r.pat_index as Record<string, number>).val,
});

t.test('bad input, cases 1-14 and 17: errno in the driver order, nothing changes', async (t) => {
  const { am, id, vm } = setup();
  const ok = { vm_id: id, start: MiB, range: 0x1000n, type: ATOMIC, atomic: { val: 1 } };
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ['1: vm_id 99', { ...ok, vm_id: 99 }, EINVAL],
    ['2: start 0x100800', { ...ok, start: 0x100800n }, EINVAL],
    ['3: range 0x800', { ...ok, range: 0x800n }, EINVAL],
    ['3: range 0', { ...ok, range: 0n }, EINVAL],
    ['4: type 4', { ...ok, type: 4, atomic: undefined }, EINVAL],
    ['5: devmem_fd -2', { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { devmem_fd: 0xfffffffe } }, EINVAL],
    ['6: devmem_fd 0 with region_instance 1', { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { devmem_fd: 0, region_instance: 1 } }, EINVAL],
    ['6: devmem_fd -1 with region_instance 1', { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { devmem_fd: 0xffffffff, region_instance: 1 } }, EINVAL],
    ['7: migration_policy 2', { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { migration_policy: 2 } }, EINVAL],
    ['preferred_mem_loc.reserved 1', { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { reserved: 1n } }, EINVAL],
    ['8: ATOMIC val 4', { ...ok, atomic: { val: 4 } }, EINVAL],
    ['8: ATOMIC pad 1', { ...ok, atomic: { val: 1, pad: 1 } }, EINVAL],
    ['ATOMIC reserved 1', { ...ok, atomic: { val: 1, reserved: 1n } }, EINVAL],
    ['9: PAT val 32 (lnl has 32 entries)', { ...ok, type: PAT, atomic: undefined, pat_index: { val: 32 } }, EINVAL],
    ['9: PAT val 16 (reserved entry)', { ...ok, type: PAT, atomic: undefined, pat_index: { val: 16 } }, EINVAL],
    ['PAT pad 1', { ...ok, type: PAT, atomic: undefined, pat_index: { val: 2, pad: 1 } }, EINVAL],
    ['10: reserved[1] 1', { ...ok, reserved: [0n, 1n] }, EINVAL],
    ['11: PURGEABLE val 2', { ...ok, type: PURGE, atomic: undefined, purge_state_val: { val: 2 } }, EINVAL],
    ['PURGEABLE pad 1', { ...ok, type: PURGE, atomic: undefined, purge_state_val: { val: 1, pad: 1 } }, EINVAL],
    ['11: retained_ptr unmapped', { ...ok, type: PURGE, atomic: undefined, purge_state_val: { val: 1, retained_ptr: UNMAPPED } }, EFAULT],
    ['12: devmem_fd 50 not open', { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { devmem_fd: 50 } }, ENOENT],
    ['12: devmem_fd = this DRM fd, region 1 (no VRAM on lnl)', { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { devmem_fd: am.fd, region_instance: 1 } }, ENOENT],
    ['14: start + range past 2^48', { ...ok, start: (1n << 48n) - 0x1000n, range: 0x2000n }, EINVAL],
    ['14: canonical start, end past 2^48', { ...ok, start: 0xffff_ffff_ffff_f000n, range: 0x2000n }, EINVAL],
  ];
  for (const [what, fields, errno] of cases) refused(t, am, vm, fields, errno, what);

  am.putU32(BUF, 7);
  refused(t, am, vm, { ...ok, type: PURGE, atomic: undefined, purge_state_val: { val: 1, retained_ptr: BUF } }, EINVAL, '11: *retained_ptr 7');
  t.equal(am.getU32(BUF), 7, '11: retained untouched');
  const efd = am.sys(ch.SYS.EVENTFD, [0n, 0n]);
  refused(t, am, vm, { ...ok, type: PREF, atomic: undefined, preferred_mem_loc: { devmem_fd: efd } }, ENOENT, '12: devmem_fd an eventfd');

  vm.banned = true;
  refused(t, am, vm, { ...ok, atomic: { val: 4 } }, EINVAL, 'banned VM: argument checks come first');
  refused(t, am, vm, ok, ENOENT, 'step 5: banned VM');
  vm.banned = false;

  const other = am.faultVm();
  t.equal(am.ioctl('DRM_IOCTL_XE_VM_DESTROY', { vm_id: other.id }).errno, 0);
  t.equal(am.madvise({ ...ok, vm_id: other.id }), EINVAL, '13: a destroyed VM id is EINVAL (lookup)');

  const before = am.state(vm);
  t.equal(am.madvise({ ...ok, extensions: 0xdeadbeefn }), 0, '17: extensions are not looked at');
  t.not(am.state(vm), before, '17: the call did its work');
  am.dispose();
});

t.test('case 15 and step 10: coherency-NONE PAT on an iGPU, the split undone', async (t) => {
  const { am, id, vm } = setup();
  const wb = am.boCreate(MiB, 1, WB);
  am.bind(vm, { start: 16n * MiB, range: MiB, bo: wb.handle, pat: 2 });
  t.equal(vm.dev.profile.pat[3], 1, 'lnl PAT 3 has no coherency');
  refused(t, am, vm, { vm_id: id, start: 16n * MiB, range: 0x1000n, type: PAT, pat_index: { val: 3 } }, EINVAL, '15: over a WB BO');
  refused(t, am, vm, { vm_id: id, start: 0x180000n, range: 0x10000n, type: PAT, pat_index: { val: 3 } }, EINVAL, 'inside the mirror VMA (split first, then refused)');
  refused(t, am, vm, { vm_id: id, start: 0x180000n, range: 0x300000n, type: PAT, pat_index: { val: 3 } }, EINVAL, 'mirror tail and the WC BO');
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 0x1000n, type: PAT, pat_index: { val: 3 } }), 0, 'over the WC BO alone: allowed');
  am.dispose();
});

t.test('case 16 (bmg): ATOMIC against the BO placements, the split undone', async (t) => {
  const { am, id, vm } = setup('bmg');
  const vram = am.boCreate(MiB, 2, WC);
  am.bind(vm, { start: 16n * MiB, range: MiB, bo: vram.handle, pat: 2 });
  refused(t, am, vm, { vm_id: id, start: 16n * MiB, range: 0x1000n, type: ATOMIC, atomic: { val: 3 } }, EINVAL, '16: CPU over a VRAM-only BO');
  refused(t, am, vm, { vm_id: id, start: 4n * MiB, range: 0x1000n, type: ATOMIC, atomic: { val: 2 } }, EINVAL, '16: GLOBAL over a system-only BO');
  refused(t, am, vm, { vm_id: id, start: 0x180000n, range: 0x300000n, type: ATOMIC, atomic: { val: 2 } }, EINVAL, 'GLOBAL over the mirror tail and the system BO');
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 0x1000n, type: ATOMIC, atomic: { val: 1 } }), 0, 'DEVICE over a system BO: device atomics on system memory');
  t.equal(am.madvise({ vm_id: id, start: 16n * MiB, range: 0x1000n, type: ATOMIC, atomic: { val: 1 } }), 0, 'DEVICE over a VRAM BO');
  am.dispose();
});

t.test('case 18: ATOMIC inside the mirror VMA splits it in three; pieces keep flags, own their attributes', async (t) => {
  const { am, id, vm, m } = setup();
  const invals = vm.pt!.invalidations.length;
  t.equal(am.madvise({ vm_id: id, start: 0x180000n, range: 0x10000n, type: ATOMIC, atomic: { val: 1 } }), 0);
  t.same(am.query(id, MiB, MiB).map(rec), [
    { start: 0x100000n, end: 0x180000n, fd: 0, policy: 0, atomic: 0, pat: 0 },
    { start: 0x180000n, end: 0x190000n, fd: 0, policy: 0, atomic: 1, pat: 0 },
    { start: 0x190000n, end: 0x200000n, fd: 0, policy: 0, atomic: 0, pat: 0 },
  ]);
  const pieces = vm.gpuvm.overlapping(MiB, MiB);
  t.equal(m.inTree, false, 'the old VMA left the tree');
  t.ok(pieces.every((v) => v.flags === XE_VMA_SYSTEM_ALLOCATOR), 'every piece is a mirror VMA');
  t.equal(new Set(pieces.map((v) => v.attrs)).size, 3, 'three attribute objects');
  t.equal(new Set(pieces.map((v) => v.attrs.preferredLoc)).size, 3, 'three preferred_loc objects');
  t.equal(vm.pt!.invalidations.length, invals, 'a mirror VMA without PTEs: no TLB invalidation');
  t.equal(am.madvise({ vm_id: id, start: 0x100000n, range: 0x80000n, type: PAT, pat_index: { val: 2 } }), 0, 'a VMA exactly covered: no split');
  t.same(am.query(id, MiB, MiB).map((r) => rec(r).pat), [2, 0, 0], 'only the first piece changed');
  t.equal(pieces[0].attrs.defaultPatIndex, 0, 'default_pat_index kept');
  am.dispose();
});

t.test('a range over two mirror VMAs and a BO VMA: REMAP + MAP at each end, the BO VMA whole', async (t) => {
  const { am, id, vm } = setup();
  am.bind(vm, { start: 8n * MiB, range: MiB, mirror: true, pat: 0 });
  t.equal(am.madvise({ vm_id: id, start: 0x1c0000n, range: 0x6c0000n, type: PAT, pat_index: { val: 4 } }), 0);
  t.same(am.query(id, 0n, 16n * MiB).map((r) => [rec(r).start, rec(r).end, rec(r).pat]), [
    [0x100000n, 0x1c0000n, 0], [0x1c0000n, 0x200000n, 4], [0x400000n, 0x800000n, 4], [0x800000n, 0x880000n, 4], [0x880000n, 0x900000n, 0],
  ]);
  am.dispose();
});

/** The leaf translation at `va` (throws on a fault). */
function leaf(vm: Vm, va: number): Translation {
  const r = vm.pt!.mmu.translate(va);
  if (isFault(r)) throw new Error(`fault at 0x${va.toString(16)}`);
  return r;
}

t.test('cases 19-20: PAT inside a BO VMA: one VMA, its PTEs zapped whole, one TLB invalidation of the range', async (t) => {
  const { am, id, vm, b, bVma } = setup();
  t.equal(leaf(vm, 0x500000).entry.patIndex, 0);
  const invals = vm.pt!.invalidations.length;
  t.equal(am.madvise({ vm_id: id, start: 0x500000n, range: 0x1000n, type: PAT, pat_index: { val: 2 } }), 0);
  t.same(am.query(id, 4n * MiB, 4n * MiB).map(rec), [{ start: 0x400000n, end: 0x800000n, fd: 0, policy: 0, atomic: 0, pat: 2 }], '19: not split');
  t.equal(bVma.attrs.defaultPatIndex, 0);
  t.equal(bVma.priv!.tileInvalidated, 1, 'tile 0 invalidated');
  t.same(vm.pt!.invalidations.slice(invals), [{ start: 0x500000, end: 0x501000, reason: 'madvise' }], 'one ranged invalidation (the madvise range)');
  for (const va of [0x400000, 0x500000, 0x7ff000]) {
    const r = vm.pt!.mmu.translate(va);
    t.ok(isFault(r) && r.fault === 'not-present', `0x${va.toString(16)} faults after the zap`);
  }

  const before = am.state(vm);
  t.equal(am.madvise({ vm_id: id, start: 0x500000n, range: 0x1000n, type: PAT, pat_index: { val: 2 } }), 0);
  t.equal(am.state(vm), before, '20: same value: no zap, no invalidation');

  // What the fault path will do: rebind the VMA with its current attributes over the zapped tables.
  const pages = Array.from({ length: 1024 }, (_, i) => b.bo.page(i));
  vm.pt!.bind([{ start: 0x400000, end: 0x800000, pages, patIndex: bVma.attrs.patIndex, atomicSysmem: true }]);
  t.equal(leaf(vm, 0x500000).entry.patIndex, 2, 'a rebind after the zap writes PAT 2');
  t.equal(leaf(vm, 0x7ff000).entry.patIndex, 2);
  am.dispose();
});

t.test('cases 21-22: PREFERRED_LOC changes mirror VMAs only', async (t) => {
  const { am, id, vm } = setup();
  const before = am.state(vm);
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 4n * MiB, type: PREF, preferred_mem_loc: { devmem_fd: 0xffffffff } }), 0);
  t.equal(am.state(vm), before, '21: a BO VMA is skipped');
  t.equal(rec(am.query(id, 4n * MiB, 1n)[0]).fd, 0);
  t.equal(am.madvise({ vm_id: id, start: MiB, range: MiB, type: PREF, preferred_mem_loc: { devmem_fd: 0xffffffff, migration_policy: 1 } }), 0);
  t.same(am.query(id, MiB, MiB).map(rec), [{ start: MiB, end: 2n * MiB, fd: 0xffffffff, policy: 1, atomic: 0, pat: 0 }], '22: DEFAULT_SYSTEM stored');
  t.equal(vm.gpuvm.overlapping(MiB, 1n)[0].attrs.preferredLoc.dpagemap, null, 'no pagemap for fd -1');
  am.dispose();
});

t.test('PREFERRED_LOC with a device-memory fd (bmg): the VRAM region is resolved and stored', async (t) => {
  const { am, id, vm } = setup('bmg');
  t.equal(am.madvise({ vm_id: id, start: MiB, range: MiB, type: PREF, preferred_mem_loc: { devmem_fd: am.fd, region_instance: 1 } }), 0);
  const m = vm.gpuvm.overlapping(MiB, 1n)[0];
  t.same(m.attrs.preferredLoc, { devmemFd: am.fd, migrationPolicy: 0, dpagemap: 1 });
  t.equal(rec(am.query(id, MiB, 1n)[0]).fd, am.fd, 'QUERY reports the fd number');
  refused(t, am, vm, { vm_id: id, start: MiB, range: MiB, type: PREF, preferred_mem_loc: { devmem_fd: am.fd, region_instance: 2 } }, ENOENT, 'region 2: no such VRAM');
  refused(t, am, vm, { vm_id: id, start: MiB, range: MiB, type: PREF, preferred_mem_loc: { devmem_fd: am.fd, region_instance: 0 } }, ENOENT, 'fd > 0 with region 0: past the sanity check, no VRAM region 0');
  am.dispose();
});

t.test('case 23: a hole changes nothing', async (t) => {
  const { am, id, vm } = setup();
  const before = am.state(vm);
  t.equal(am.madvise({ vm_id: id, start: 9n * MiB, range: 0x1000n, type: PAT, pat_index: { val: 2 } }), 0);
  t.equal(am.state(vm), before);
  am.dispose();
});

t.test('case 24: PURGEABLE on a BO VMA: VMA and BO state, *retained, no invalidation', async (t) => {
  const { am, id, vm, b, bVma } = setup();
  const invals = vm.pt!.invalidations.length;
  am.putU32(BUF, 0);
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 4n * MiB, type: PURGE, purge_state_val: { val: 1, retained_ptr: BUF } }), 0);
  t.equal(am.getU32(BUF), 1, '*retained = 1 (nothing purged)');
  t.equal(bVma.attrs.purgeableState, PURGEABLE_DONTNEED);
  t.same([b.bo.purgeable, b.bo.willneedCount], [PURGEABLE_DONTNEED, 0], 'the last WILLNEED holder went: BO DONTNEED');
  t.equal(vm.pt!.invalidations.length, invals, 'PTEs kept');
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 0x1000n, type: PURGE, purge_state_val: { val: 1 } }), 0, 'again, without retained_ptr');
  t.equal(b.bo.willneedCount, 0, 'no second put');
  am.putU32(BUF, 0);
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 0x1000n, type: PURGE, purge_state_val: { val: 0, retained_ptr: BUF } }), 0);
  t.equal(am.getU32(BUF), 1);
  t.same([bVma.attrs.purgeableState, b.bo.purgeable, b.bo.willneedCount], [PURGEABLE_WILLNEED, PURGEABLE_WILLNEED, 1], 'WILLNEED again');
  t.equal(vm.gpuvm.overlapping(MiB, 1n)[0].attrs.purgeableState, PURGEABLE_WILLNEED, 'a mirror VMA is skipped');
  am.dispose();
});

t.test('case 25: a canonical start reaches the VMA at its low va_bits; QUERY takes start as given', async (t) => {
  const { am, id, vm } = setup();
  am.bind(vm, { start: 0x8000_0010_0000n, range: MiB, mirror: true, pat: 0 });
  t.equal(am.madvise({ vm_id: id, start: 0xffff_8000_0010_0000n, range: MiB, type: ATOMIC, atomic: { val: 1 } }), 0);
  t.equal(vm.gpuvm.overlapping(0x8000_0010_0000n, 1n)[0].attrs.atomicAccess, 1);
  t.same(am.query(id, 0xffff_8000_0010_0000n, MiB), [], 'no VMA at the canonical address');
  t.equal(rec(am.query(id, 0x8000_0010_0000n, MiB)[0]).atomic, 1);
  am.dispose();
});

t.test('ATOMIC on a BO VMA sets the BO-wide policy and zaps its PTEs', async (t) => {
  const { am, id, vm, b, bVma } = setup();
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 0x1000n, type: ATOMIC, atomic: { val: 1 } }), 0);
  t.same([bVma.attrs.atomicAccess, b.bo.atomicAccess], [1, 1]);
  t.equal(bVma.priv!.tileInvalidated, 1);
  const invals = vm.pt!.invalidations.length;
  t.equal(am.madvise({ vm_id: id, start: 4n * MiB, range: 0x1000n, type: ATOMIC, atomic: { val: 0 } }), 0);
  t.equal(vm.pt!.invalidations.length, invals, 'already zapped: nothing to zap, no invalidation');
  t.same([bVma.attrs.atomicAccess, b.bo.atomicAccess], [0, 0]);
  am.dispose();
});

t.test('PAT over a mirror VMA with a faulted SVM range: the range loses its PTEs, the next fault rebinds with the new PAT', async (t) => {
  const am = new AttrMachine('lnl');
  const { id, vm } = am.faultVm();
  const svm = svmInit(vm, am.proc.mm);
  const a = am.malloc(2n * MiB, 2n * MiB);
  const m = am.bind(vm, { start: a, range: 2n * MiB, mirror: true, pat: 0 });
  const r = svm.fault(m, a);
  t.equal(leaf(vm, Number(a)).entry.patIndex, 0);
  const invals = vm.pt!.invalidations.length;
  t.equal(am.madvise({ vm_id: id, start: a, range: 2n * MiB, type: PAT, pat_index: { val: 2 } }), 0);
  t.equal(r.bound, false, 'the SVM range is unbound');
  t.ok(isFault(vm.pt!.mmu.translate(Number(a))), 'a GPU access faults');
  t.same(vm.pt!.invalidations.slice(invals).map((i) => i.reason), ['unbind', 'madvise'], 'the range unbind, then the madvise invalidation');
  svm.fault(m, a);
  t.equal(leaf(vm, Number(a)).entry.patIndex, 2, 'the fault rebinds with pat_index 2');
  am.dispose();
});
