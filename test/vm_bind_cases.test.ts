// VM_BIND cases the other files leave out (the audit in test/README.md maps every case to its
// test): examples E8-E10 of vm_bind.md 3.8, cases 42 and 68 of section 7, and the bad
// input (arrays that overlap themselves, the top of the VA space and 2^64 wrap-around, huge
// num_binds, unreadable op arrays, a BO closed or a userptr unmapped between two binds), and
// the VM_BIND half of vm_attrs.md case 24 (MAP of a DONTNEED BO); each
// failure leaves the VMA tree, the page tables and the memory in use as they were, and the
// invariant checker (test/helpers/vm_check.ts) runs after every bind.
import t, { type Test } from 'tap';
import { createDevice, igt } from '../src/index.js';
import { pack, type FieldsIn } from '../src/uapi/codec.js';
import { C, layoutOf } from '../src/uapi/uapi.js';
import { EBUSY, EFAULT, EINVAL, ENOBUFS, ENOENT, ENOEXEC } from '../src/uapi/errno.js';
import { entryToBigInt } from '../src/hw/pagetable.js';
import { gemToBo } from '../src/kernel/xe/xe_bo.js';
import { PURGEABLE_DONTNEED } from '../src/kernel/xe/xe_vma.js';
import { BindEnv, FLAG, OP, entry, gpuRead64, gpuWrite64 } from './helpers/bind.js';

const K64 = 0x10000n;
const TOP = 1n << 48n;
const OP_SIZE = layoutOf('drm_xe_vm_bind_op').size;
const WC = C('DRM_XE_GEM_CPU_CACHING_WC');
const e = new BindEnv();

function ok(t: Test, rc: number, msg: string): void {
  t.equal(rc, 0, `${msg} (${e.reason})`);
}

/** The bind fails with `errno` and changes nothing. */
function fails(t: Test, vm: number, errno: number, ops: FieldsIn[], msg: string, extra: FieldsIn = {}): void {
  const before = e.snapshot(vm);
  t.equal(e.bind(vm, ops, extra), -errno, `${msg}: errno ${errno} (${e.reason})`);
  t.equal(e.snapshot(vm), before, `${msg}: unchanged`);
}

/** A raw VM_BIND of `num` ops read from `vector`; the snapshot must not change. */
function rawFails(t: Test, vm: number, errno: number, num: number, vector: bigint, msg: string): void {
  const before = e.snapshot(vm);
  t.equal(e.call('DRM_IOCTL_XE_VM_BIND', { vm_id: vm, num_binds: num, vector_of_binds: vector }).rc, -errno, `${msg}: errno ${errno} (${e.reason})`);
  t.equal(e.snapshot(vm), before, `${msg}: unchanged`);
}

t.test('E8: a userptr split re-pins both pieces at their CPU offsets', async (t) => {
  const vm = e.vmCreate();
  const cpu = e.mmap(0x10000);
  for (let i = 0n; i < 16n; i++) e.write64(cpu + i * 0x1000n, 0x1000n + i);
  ok(t, e.bind(vm, [{ op: OP.MAP_USERPTR, obj_offset: cpu, addr: 0x10000000n, range: K64 }]), 'MAP_USERPTR');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0x10004000n, range: 0x4000n }]), 'UNMAP the middle');
  t.same(e.vmas(vm).map((r) => [r[0], r[1], r[3]]), [[0x10000000n, 0x10004000n, cpu], [0x10008000n, 0x10010000n, cpu + 0x8000n]]);
  const v = e.vm(vm);
  t.same(v.gpuvm.all().map((x) => x.priv!.userptrPages!.length), [4, 8], 'each piece holds its own pages');
  t.equal(gpuRead64(v, 0x10003000), 0x1003n, 'prev reads its CPU page');
  t.equal(gpuRead64(v, 0x10004000), null, 'the hole faults');
  t.equal(gpuRead64(v, 0x10008000), 0x1008n, 'next reads CPU page 8');
});

t.test('E9: UNMAP_ALL removes every VMA of the BO in link order, no other', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x2000);
  const b = e.bo(0x1000);
  ok(t, e.bind(vm, [
    { op: OP.MAP, obj: a, addr: 0n, range: 0x1000n },
    { op: OP.MAP, obj: b, addr: 0x5000n, range: 0x1000n },
    { op: OP.MAP, obj: a, obj_offset: 0x1000n, addr: 0x9000n, range: 0x1000n },
  ]), 'the E9 tree');
  ok(t, e.bind(vm, [{ op: OP.UNMAP_ALL, obj: a }]), 'UNMAP_ALL A');
  t.same(e.vmas(vm), [[0x5000n, 0x6000n, b, 0n, 0, 2]]);
  t.equal(gpuRead64(e.vm(vm), 0), null);
  t.equal(gpuRead64(e.vm(vm), 0x9000), null);
});

t.test('E10: PREFETCH over part of a VMA keeps the tree (region 0 on P)', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  ok(t, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0n, range: K64 }]), 'MAP A');
  const va = e.vm(vm).gpuvm.all()[0];
  const bytes = JSON.parse(e.snapshot(vm)).rawEntries;
  ok(t, e.bind(vm, [{ op: OP.PREFETCH, addr: 0x4000n, range: 0x1000n, prefetch_mem_region_instance: 0 }]), 'PREFETCH [0x4000, 0x5000)');
  t.same(e.vmas(vm), [[0n, K64, a, 0n, 0, 2]], 'the tree is unchanged');
  t.equal(e.vm(vm).gpuvm.all()[0], va, 'the very same VMA');
  t.equal(JSON.parse(e.snapshot(vm)).rawEntries, bytes, 'the re-bind writes the same entries');
});

t.test('case 42: CHECK_PXP over a BO whose PXP key went stale', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  // xe-emu never invalidates the PXP session (divergences.md): the stale key is planted.
  gemToBo(e.file.objects.get(a)!).pxpKeyInstance = 7;
  fails(t, vm, ENOEXEC, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64, flags: FLAG.CHECK_PXP }], 'CHECK_PXP');
  ok(t, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'without CHECK_PXP');
});

t.test('case 68: a 2 MiB VRAM BO, 64K- but not 2M-aligned, on dg2: a compact level-0 table', async (t) => {
  const d = new BindEnv('dg2');
  const vm = d.vmCreate();
  d.bo(0x10000, 2, WC); // pushes the next VRAM BO off 2M alignment
  const big = d.bo(0x200000, 2, WC);
  const obj = d.file.objects.get(big)!;
  const v = d.vm(vm);
  const dev0 = v.pt!.ptm.pageAddr(obj.page(0)).addr;
  t.ok(dev0 % 0x10000 === 0 && dev0 % 0x200000 !== 0, `precondition: VRAM at 0x${dev0.toString(16)} is 64K- but not 2M-aligned`);
  t.ok(Array.from({ length: 512 }, (_, i) => obj.page(i)).every((pa, i, all) => pa === all[0] + i * 0x1000), 'precondition: contiguous');
  t.equal(d.bind(vm, [{ op: OP.MAP, obj: big, addr: 0x200000n, range: 0x200000n, pat_index: 0 }]), 0, d.reason);
  t.equal(entry(v, 0x200000, 1) & 0x40n, 0x40n, 'the level-1 PDE has bit 6 (compact)');
  const l0 = v.pt!.root.children[0]!.children[0]!.children[1]!;
  t.ok(l0.compact && l0.level === 0, 'the level-0 table is compact');
  for (let i = 0; i < 32; i++) {
    const leaf = entryToBigInt(v.pt!.ptm.readEntry(l0.pa, i));
    t.equal(leaf & ~0xfffn & ((1n << 46n) - 1n), BigInt(dev0 + i * 0x10000), `64K leaf ${i}: its VRAM address`);
    t.equal(leaf & 0x800n, 0x800n, `64K leaf ${i}: DM`);
    t.equal(leaf & 0x400n, 0n, `64K leaf ${i}: no PS64`);
  }
});

t.test('bad input: bind arrays that overlap themselves', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  const w = e.bo(0x10000, 1, WC);
  ok(t, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }, { op: OP.MAP, obj: w, addr: 0x108000n, range: K64 }]), 'MAP A, then W over its upper half');
  t.same(e.vmas(vm), [[0x100000n, 0x108000n, a, 0n, 0, 2], [0x108000n, 0x118000n, w, 0n, 0, 2]], 'the second op split the first op\'s VMA');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: 0x2000n }, { op: OP.UNMAP, addr: 0x100000n, range: 0x2000n }]), 'the same UNMAP twice');
  t.same(e.vmas(vm).map((r) => r[0]), [0x102000n, 0x108000n]);
  ok(t, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x300000n, range: K64 }, { op: OP.MAP, obj: a, addr: 0x300000n, range: K64 }]), 'the same MAP twice');
  t.equal(e.vmas(vm).filter((r) => r[0] === 0x300000n).length, 1, 'one VMA');
  const gone = e.mmap(0x1000);
  e.proc.mm.munmap(gone, 0x1000n);
  fails(t, vm, EFAULT, [
    { op: OP.MAP, obj: a, addr: 0x500000n, range: K64 },
    { op: OP.MAP, obj: w, addr: 0x504000n, range: 0x4000n },
    { op: OP.UNMAP, addr: 0x502000n, range: 0x1000n },
    { op: OP.MAP_USERPTR, obj_offset: gone, addr: 0x600000n, range: 0x1000n },
  ], 'MAP, MAP and UNMAP over it, then a userptr over unmapped memory');
});

t.test('bad input: the top of the VA space and 2^64 wrap-around', async (t) => {
  const vm = e.vmCreate();
  const v = e.vm(vm);
  ok(t, e.bind(vm, [{ op: OP.MAP, flags: FLAG.NULL, addr: TOP - 0x1000n, range: 0x1000n }]), 'the last page');
  t.equal(gpuRead64(v, Number(TOP) - 8), 0n, 'reads 0 through the NULL leaf');
  t.ok(gpuWrite64(v, Number(TOP) - 8, 1n));
  const m = { op: OP.MAP, flags: FLAG.NULL };
  fails(t, vm, EINVAL, [{ ...m, addr: TOP - 0x1000n, range: 0x2000n }], 'one page past the top');
  fails(t, vm, EINVAL, [{ ...m, addr: TOP, range: 0x1000n }], 'at the top');
  fails(t, vm, EINVAL, [{ ...m, addr: (1n << 64n) - 0x1000n, range: 0x2000n }], 'addr + range wraps past 2^64');
  fails(t, vm, EINVAL, [{ ...m, addr: 0x1000n, range: (1n << 64n) - 0x1000n }], 'a range that wraps to addr 0');
  fails(t, vm, EINVAL, [{ ...m, addr: 0n, range: TOP + 0x1000n }], 'a range larger than the VM');
  fails(t, vm, EINVAL, [{ op: OP.UNMAP, addr: (1n << 64n) - 0x1000n, range: 0x2000n }], 'an UNMAP that wraps');
  fails(t, vm, EINVAL, [{ op: OP.PREFETCH, addr: TOP - 0x1000n, range: 0x2000n }], 'a PREFETCH past the top');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: TOP - 0x1000n, range: 0x1000n }]), 'UNMAP the last page');
  // (The checker walks a bound VMA page by page: 2 GiB, not all 2^48 bytes.)
  ok(t, e.bind(vm, [{ ...m, addr: TOP - 0x8000_0000n, range: 0x8000_0000n }]), 'NULL over the top 2 GiB (1G leaves)');
  t.same(e.vmas(vm).map((r) => [r[0], r[1]]), [[TOP - 0x8000_0000n, TOP]]);
  t.equal(gpuRead64(v, Number(TOP) - 0x1000), 0n);
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0n, range: TOP }]), 'UNMAP of the whole VA space');
  t.same(e.vmas(vm), []);
});

t.test('bad input: huge num_binds and op arrays that cannot be read', async (t) => {
  const vm = e.vmCreate();
  ok(t, e.bind(vm, [{ op: OP.MAP, flags: FLAG.NULL, addr: 0x100000n, range: K64 }]), 'a VMA to keep');
  const limit = Math.floor((2 ** 31 - 1) / OP_SIZE);
  const one = e.alloc(OP_SIZE * 2);
  e.proc.um.copyToUser(one, pack('drm_xe_vm_bind_op', { op: OP.UNMAP, addr: 0x100000n, range: K64 }));
  rawFails(t, vm, ENOBUFS, limit + 1, one, 'num_binds one past INT_MAX bytes');
  rawFails(t, vm, EFAULT, limit, one, 'num_binds at the limit, the array runs into unmapped memory');
  rawFails(t, vm, ENOBUFS, 0xffffffff, one, 'num_binds 2^32 - 1');
  // Two ops, the second on a page that is not mapped.
  const page = e.mmap(0x2000);
  e.proc.mm.munmap(page + 0x1000n, 0x1000n);
  const at = page + 0x1000n - BigInt(OP_SIZE);
  e.proc.um.copyToUser(at, pack('drm_xe_vm_bind_op', { op: OP.UNMAP, addr: 0x100000n, range: K64 }));
  rawFails(t, vm, EFAULT, 2, at, 'the second op unreadable');
  rawFails(t, vm, EFAULT, 2, page + 0x1000n, 'both ops unreadable');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 'then a good bind runs');
  t.same(e.vmas(vm), []);
});

t.test('bad input: a BO closed between two binds', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  ok(t, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP A');
  t.equal(e.gemClose(a), 0);
  fails(t, vm, ENOENT, [{ op: OP.MAP, obj: a, addr: 0x200000n, range: K64 }], 'MAP of the closed handle');
  fails(t, vm, ENOENT, [{ op: OP.UNMAP_ALL, obj: a }], 'UNMAP_ALL of the closed handle');
  t.equal(gpuRead64(e.vm(vm), 0x100000), 0n, 'the VMA still maps the BO');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0x104000n, range: 0x1000n }]), 'a split of its VMA still works');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 'UNMAP');
  t.same(e.vmas(vm), []);
});

t.test('bad input: a userptr unmapped between two binds', async (t) => {
  const vm = e.vmCreate();
  const cpu = e.mmap(0x4000);
  ok(t, e.bind(vm, [{ op: OP.MAP_USERPTR, obj_offset: cpu, addr: 0x100000n, range: 0x4000n }]), 'MAP_USERPTR');
  e.proc.mm.munmap(cpu, 0x4000n);
  fails(t, vm, EFAULT, [{ op: OP.MAP_USERPTR, obj_offset: cpu, addr: 0x200000n, range: 0x4000n }], 'a new MAP_USERPTR of the range');
  fails(t, vm, EFAULT, [{ op: OP.UNMAP, addr: 0x101000n, range: 0x1000n }], 'a split (the pieces are re-pinned)');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0x100000n, range: 0x4000n }]), 'the whole UNMAP needs no pin');
  t.same(e.vmas(vm), []);
});

t.test('vm_attrs case 24: MAP of a BO marked DONTNEED is -EBUSY until it is WILLNEED again', async (t) => {
  const vm = e.vmCreate();
  const a = e.bo(0x10000);
  ok(t, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP A');
  const purge = (val: number): number =>
    e.call('DRM_IOCTL_XE_MADVISE', { vm_id: vm, start: 0x100000n, range: K64, type: C('DRM_XE_VMA_ATTR_PURGEABLE_STATE'), purge_state_val: { val } }).rc;
  t.equal(purge(PURGEABLE_DONTNEED), 0, 'MADVISE DONTNEED');
  t.equal(gemToBo(e.file.objects.get(a)!).purgeable, PURGEABLE_DONTNEED, 'the BO is DONTNEED');
  fails(t, vm, EBUSY, [{ op: OP.MAP, obj: a, addr: 0x200000n, range: K64 }], 'MAP of it elsewhere');
  fails(t, vm, EBUSY, [{ op: OP.MAP, flags: FLAG.NULL, addr: 0x300000n, range: K64 }, { op: OP.MAP, obj: a, addr: 0x200000n, range: K64 }], 'after another op: unwound');
  ok(t, e.bind(vm, [{ op: OP.UNMAP, addr: 0x104000n, range: 0x1000n }]), 'a split of its VMA is no new mapping');
  t.equal(purge(0), 0, 'MADVISE WILLNEED');
  ok(t, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x200000n, range: K64 }]), 'then the MAP succeeds');
});

t.test('bad input through the worker: errnos, nothing changes, the worker keeps serving', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p = dev.process;
  const fd = p.open();
  const vm = igt.xe_vm_create(p, fd, 0);
  const bo = igt.xe_bo_create(p, fd, 0, 0x10000n, 1, 0);
  igt.xe_vm_bind_sync(p, fd, vm, bo, 0n, 0x100000n, K64);
  const before = [p.vmInfo(fd, vm), p.vmDump(fd, vm)];
  const bad: Array<[string, FieldsIn, number]> = [
    ['an unreadable array', { num_binds: 2, vector_of_binds: 0x10n }, EFAULT],
    ['huge num_binds', { num_binds: 0x7fffffff, vector_of_binds: 0x10n }, ENOBUFS],
    ['2^64 wrap-around', { num_binds: 1, bind: { op: OP.MAP, obj: bo, addr: (1n << 64n) - 0x1000n, range: 0x2000n, pat_index: 2 } }, EINVAL],
  ];
  for (const [what, fields, errno] of bad) {
    t.equal(igt.__ioctl(p, fd, 'DRM_IOCTL_XE_VM_BIND', { vm_id: vm, ...fields }).err, -errno, what);
  }
  t.same([p.vmInfo(fd, vm), p.vmDump(fd, vm)], before, 'unchanged');
  t.same(p.vmCheck(fd, vm), [], 'the checker agrees');
  igt.xe_vm_unbind_sync(p, fd, vm, 0n, 0x100000n, K64);
  t.same(p.vmInfo(fd, vm)!.vmas, [], 'the worker still binds');
});
