// VM inspection (src/kernel/xe/xe_vm_inspect.ts, src/hw/pt_walk.ts): VMA listing, statistics,
// the walk of the page-table bytes into runs, the dump, the invariant checker against planted
// corruptions, GPU reads and writes with fault reports, and the DEBUG controls' bad inputs.
// The kernel runs in-process (src/fuzz/machine.ts) so that VMAs can be made with the gpuvm
// and XePt the way VM_BIND will (test/helpers/vm_bind.ts).
import t, { type Test } from 'tap';
import type { ProfileName } from '../src/hw/profile.js';
import { encodeLeaf, entryToBigInt, entryFromBigInt } from '../src/hw/pagetable.js';
import type { Vm } from '../src/kernel/xe/xe_vm.js';
import {
  checkVmInvariants, setGpuFaultService, vmDump, vmGpuAccess, vmRuns, vmVmas,
} from '../src/kernel/xe/xe_vm_inspect.js';
import { XE_VMA_NULL, XE_VMA_READ_ONLY, defaultMemAttr } from '../src/kernel/xe/xe_vma.js';
import { DEBUG, SYS } from '../src/uapi/channel.js';
import { E2BIG, EBADF, EFAULT, ENOENT, ENOSPC } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { GPU_ACCESS_MAX } from '../src/uapi/vm_inspect.js';
import { decodeGpuAccess, decodeViolations, decodeVmInfo, vmArgWord } from '../src/userspace/vm_inspect.js';
import { Rig } from './helpers/rig.js';
import { userptrPages, vmBindMap, vmBindUnmap } from './helpers/vm_bind.js';

const PAGE = 4096;
const MiB = 1 << 20;
const GiB = 2 ** 30;
const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
const SCRATCH = C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE');

/** The rig (an in-process kernel, process 1, an xe fd) plus the VM controls' helpers; disposed with `tt`. */
function boot(tt: Test, profile: ProfileName = 'lnl') {
  const rig = new Rig(profile);
  tt.teardown(() => rig.dispose());
  const file = rig.file();
  const malloc = (n: number): bigint => BigInt.asUintN(64, rig.sys(SYS.MALLOC, [BigInt(n), 4096n])[0]);
  const vmCreate = (flags = 0): { id: number; vm: Vm } => {
    const vm = rig.vm(flags);
    return { id: file.vms.entries().find(([, v]) => v === vm)![0], vm };
  };
  const boCreate = (size: number) => rig.bo(BigInt(size), 1, C('DRM_XE_GEM_CPU_CACHING_WB'));
  /** DEBUG op `op` on the VM control ABI: rc, errno and return words. */
  const debug = (op: number, args: bigint[]) => {
    const o = rig.m.syscall(0, SYS.DEBUG, [BigInt(op), ...args]);
    if (o.state !== 'done') throw new Error(`debug ${op}: ${o.state}`);
    return o;
  };
  /** A text answer of a VM control, fetched with the length-then-buffer protocol. */
  const text = (op: number, id: number): string => {
    const len = Number(debug(op, [vmArgWord(rig.fd, id), 0n, 0n]).rets[0]);
    const buf = malloc(len);
    const o = debug(op, [vmArgWord(rig.fd, id), buf, BigInt(len)]);
    if (o.rc !== 0) throw new Error(`debug ${op}: ${JSON.stringify(o)}`);
    return new TextDecoder().decode(rig.proc.um.copyFromUser(buf, len));
  };
  return { m: rig.m, proc: rig.proc, fd: rig.fd, file, dev: file.dev, malloc, vmCreate, boCreate, debug, text };
}

t.test('listing, statistics and runs of known mappings (LNL, 5 levels)', async (t) => {
  const s = boot(t);
  const { id, vm } = s.vmCreate();
  const a = s.boCreate(64 * 1024);
  const b = s.boCreate(2 * PAGE);
  vmBindMap(vm, { start: 0x10_0000, range: 64 * 1024, obj: a.bo, patIndex: 2, flags: XE_VMA_READ_ONLY });
  vmBindMap(vm, { start: 0x20_0000, range: 2 * MiB, flags: XE_VMA_NULL, patIndex: 2 });
  vmBindMap(vm, { start: 0x40_0000, range: PAGE, obj: b.bo, offset: PAGE, patIndex: 3 });

  t.same(vmVmas(vm, s.file), [
    { start: 0x10_0000n, end: 0x11_0000n, kind: 'bo', bo: { handle: a.handle, size: 0x10000, region: 0 }, offset: 0n, flags: ['READ_ONLY'], patIndex: 2, pteSizes: [a.bo.page(0) % 0x10000 === 0 ? '64K' : '4K'] },
    { start: 0x20_0000n, end: 0x40_0000n, kind: 'null', bo: null, offset: 0n, flags: ['NULL'], patIndex: 2, pteSizes: ['2M'] },
    { start: 0x40_0000n, end: 0x40_1000n, kind: 'bo', bo: { handle: b.handle, size: 0x2000, region: 0 }, offset: 0x1000n, flags: [], patIndex: 3, pteSizes: ['4K'] },
  ]);
  t.same(vmVmas(vm), vmVmas(vm, s.file).map((v) => ({ ...v, bo: v.bo && { ...v.bo, handle: null } })), 'no file: no handles');
  // The root, one table each at L3-L1, and an L0 table for each of the 2M slots 0 and 2.
  const st = vm.pt!.stats();
  t.same(st.tables, [2, 1, 1, 1, 1], 'two L0 tables (2M slots 0 and 2), one L1, L2, L3 and the root');
  t.equal(st.leaves['4K'], 17);
  t.equal(st.leaves['2M'], 1);
  t.equal(st.bytes, 6 * 4096);

  const runs = vmRuns(vm);
  // The BO pages are contiguous (a fresh allocator), so the 16 leaves of A are one run.
  t.ok(Array.from({ length: 16 }, (_, i) => a.bo.page(i)).every((pa, i) => pa === a.bo.page(0) + i * PAGE), 'A is contiguous');
  t.same(runs.map((r) => [hex(r.start), hex(r.end), r.leafSize, r.nul ? 'null' : hex(r.pa), r.writable, r.patIndex]), [
    ['0x100000', '0x110000', PAGE, hex(a.bo.page(0)), false, 2],
    ['0x200000', '0x400000', 2 * MiB, 'null', true, 2],
    ['0x400000', '0x401000', PAGE, hex(b.bo.page(1)), true, 3],
  ]);
  const info = decodeVmInfo(s.text(DEBUG.VM_INFO, id));
  t.same(info.vm, { id, flags: [], vaBits: 48, asid: vm.asid, levels: 5, root: BigInt(vm.pt!.root.pa) });
  t.same(info.vmas, vmVmas(vm, s.file), 'the control answers the same list, bigints back');
  t.same(info.stats, st);
});

t.test('a 1 GiB mapping is one run; a scratch VM is one scratch run around its VMAs', async (t) => {
  const s = boot(t);
  const { vm } = s.vmCreate();
  vmBindMap(vm, { start: GiB, range: GiB, flags: XE_VMA_NULL, patIndex: 2 });
  t.same(vmRuns(vm).map((r) => [r.start, r.end, r.leafSize, r.level]), [[GiB, 2 * GiB, GiB, 2]]);
  vmBindMap(vm, { start: 3 * GiB, range: GiB, flags: XE_VMA_NULL, patIndex: 2 });
  t.same(vmRuns(vm).map((r) => [r.start, r.end]), [[GiB, 2 * GiB], [3 * GiB, 4 * GiB]], 'a hole between two runs');
  vmBindMap(vm, { start: 2 * GiB, range: GiB, flags: XE_VMA_NULL, patIndex: 2 });
  t.same(vmRuns(vm).map((r) => [r.start, r.end]), [[GiB, 4 * GiB]], 'three VMAs, one run of NULL 1G leaves');
  const sc = s.vmCreate(SCRATCH).vm;
  const all = vmRuns(sc);
  t.same(all.map((r) => [r.start, r.end, r.nul, r.leafSize]), [[0, 2 ** 48, true, GiB]], 'every 1G slot is a scratch NULL leaf');
  const bo = s.boCreate(2 * PAGE);
  vmBindMap(sc, { start: 2 * MiB, range: 2 * PAGE, obj: bo.bo, patIndex: 2 });
  const r = vmRuns(sc);
  t.same(r.map((x) => [hex(x.start), hex(x.end), x.nul, x.leafSize]), [
    ['0x0', '0x200000', true, 2 * MiB],
    ['0x200000', '0x202000', false, PAGE],
    ['0x202000', '0x400000', true, PAGE],
    ['0x400000', '0x40000000', true, 2 * MiB],
    ['0x40000000', hex(2 ** 48), true, GiB],
  ], 'scratch 2M and 4K leaves of the new partial tables around the BO pages');
});


t.test('dump: byte-exact for a small VM, without and with scratch', async (t) => {
  const s = boot(t);
  const { id, vm } = s.vmCreate();
  const a = s.boCreate(64 * 1024);
  vmBindMap(vm, { start: 0x10_0000, range: 64 * 1024, obj: a.bo, patIndex: 2, flags: XE_VMA_READ_ONLY });
  vmBindMap(vm, { start: 0x20_0000, range: 2 * MiB, flags: XE_VMA_NULL, patIndex: 2 });
  t.not(a.bo.page(0) % 0x10000, 0, 'the BO is not 64K-aligned: 4K leaves without PS64');
  // Table addresses from the shadow, page addresses from the BO: the dump reads neither.
  const root = vm.pt!.root;
  const l3 = root.children[0]!;
  const l2 = l3.children[0]!;
  const l1 = l2.children[0]!;
  const l0 = l1.children[0]!;
  const expected = [
    `vm ${id}: flags 0, va_bits 48, asid ${vm.asid}, 5 levels, root ${hex(root.pa)}`,
    'vmas 2:',
    `  [0x100000, 0x110000) bo handle ${a.handle} size 0x10000 sysmem offset 0x0 pat 2 flags READ_ONLY pte 4K`,
    '  [0x200000, 0x400000) null offset 0x0 pat 2 flags NULL pte 2M',
    'page tables: 5 tables, 20480 bytes (L4 1, L3 1, L2 1, L1 1, L0 1); leaves 4K 16 (ps64 0), 64K 0, 2M 1, 1G 0',
    `L4 @${hex(root.pa)} live 1`,
    `  [0] L3 @${hex(l3.pa)} live 1`,
    `    [0] L2 @${hex(l2.pa)} live 1`,
    `      [0] L1 @${hex(l1.pa)} live 2`,
    `        [0] L0 @${hex(l0.pa)} live 16`,
    `          [256-271] [0x100000, 0x110000) 4K x16 -> pa ${hex(a.bo.page(0))} ro pat 2`,
    '        [1] [0x200000, 0x400000) 2M x1 -> null rw pat 2',
    '',
  ].join('\n');
  t.equal(vmDump(vm, id, s.file), expected);
  t.equal(s.text(DEBUG.VM_DUMP, id), expected, 'DEBUG.VM_DUMP gives the same text');

  const sc = s.vmCreate(SCRATCH);
  vmBindMap(sc.vm, { start: 0x20_1000, range: 2 * PAGE, obj: a.bo, offset: PAGE, patIndex: 3 });
  const r = sc.vm.pt!.root;
  const [s3, s2] = [sc.vm.pt!.scratch[3]!, sc.vm.pt!.scratch[2]!];
  const t3 = r.children[0]!;
  const t2 = t3.children[0]!;
  const t1 = t2.children[0]!;
  t.equal(vmDump(sc.vm, sc.id, s.file), [
    `vm ${sc.id}: flags SCRATCH_PAGE, va_bits 48, asid ${sc.vm.asid}, 5 levels, root ${hex(r.pa)}`,
    `scratch tables: L3 @${hex(s3.pa)}, L2 @${hex(s2.pa)}`,
    'vmas 1:',
    `  [0x201000, 0x203000) bo handle ${a.handle} size 0x10000 sysmem offset 0x1000 pat 3 pte 4K`,
    'page tables: 7 tables, 28672 bytes (L4 1, L3 2, L2 2, L1 1, L0 1); leaves 4K 2 (ps64 0), 64K 0, 2M 0, 1G 0',
    `L4 @${hex(r.pa)} live 1`,
    `  [0] L3 @${hex(t3.pa)} live 1`,
    `    [0] L2 @${hex(t2.pa)} live 1`,
    `      [0] L1 @${hex(t1.pa)} live 1`,
    `        [1] L0 @${hex(t1.children[1]!.pa)} live 2`,
    `          [1-2] [0x201000, 0x203000) 4K x2 -> pa ${hex(a.bo.page(1))} rw pat 3`,
    '',
  ].join('\n'), 'scratch entries are empty entries: not listed');
});

/** A VM with a read-only BO mapping at 1M, a NULL 2M at 2M and a writable BO page at 4M; the BO and the tables. */
function corruptible(tt: Test) {
  const s = boot(tt);
  const { id, vm } = s.vmCreate();
  const a = s.boCreate(64 * 1024);
  vmBindMap(vm, { start: 0x10_0000, range: 64 * 1024, obj: a.bo, patIndex: 2, flags: XE_VMA_READ_ONLY });
  vmBindMap(vm, { start: 0x20_0000, range: 2 * MiB, flags: XE_VMA_NULL, patIndex: 2 });
  vmBindMap(vm, { start: 0x40_0000, range: PAGE, obj: a.bo, offset: PAGE, patIndex: 2 });
  const ptm = vm.pt!.ptm;
  const l1 = vm.pt!.root.children[0]!.children[0]!.children[0]!;
  const l0 = l1.children[0]!;
  /** Rewrites entry `i` of table `pa` with `f(old)` (u64). */
  const poke = (pa: number, i: number, f: (v: bigint) => bigint): void => ptm.writeEntry(pa, i, entryFromBigInt(f(entryToBigInt(ptm.readEntry(pa, i)))));
  return { s, id, vm, a, l0, l1, poke };
}

t.test('the checker: a clean VM, then planted corruptions', async (t) => {
  const c = corruptible(t);
  t.same(checkVmInvariants(c.vm), [], 'clean');
  t.same(decodeViolations(c.s.text(DEBUG.VM_CHECK, c.id)), [], 'DEBUG.VM_CHECK: clean');

  c.poke(c.l0.pa, 257, (v) => v | 2n);
  t.same(checkVmInvariants(c.vm), [
    { va: 0x101000n, check: 'translation', expected: `pa ${hex(c.a.bo.page(1))} ro pat 2`, found: `pa ${hex(c.a.bo.page(1))} rw pat 2` },
  ], 'RW bit set in a READ_ONLY VMA');
  c.poke(c.l0.pa, 257, (v) => v & ~2n);

  c.poke(c.l0.pa, 258, (v) => v ^ 0x1000n);
  t.same(checkVmInvariants(c.vm), [
    { va: 0x102000n, check: 'translation', expected: `pa ${hex(c.a.bo.page(2))} ro pat 2`, found: `pa ${hex(c.a.bo.page(2) ^ 0x1000)} ro pat 2` },
  ], 'an address bit flipped');
  c.poke(c.l0.pa, 258, (v) => v ^ 0x1000n);

  c.poke(c.l1.pa, 1, () => entryToBigInt(encodeLeaf(1, 0, 3, { nul: true })));
  t.same(checkVmInvariants(c.vm), [
    { va: 0x200000n, check: 'translation', expected: 'null rw pat 2', found: 'null rw pat 3' },
  ], 'a wrong PAT index on the NULL 2M leaf');
  c.poke(c.l1.pa, 1, () => entryToBigInt(encodeLeaf(1, 0, 2, { nul: true })));
  t.same(checkVmInvariants(c.vm), [], 'repaired');

  const l0b = c.l1.children[2]!;
  c.poke(l0b.pa, 0, () => 0n);
  t.same(checkVmInvariants(c.vm), [
    { va: 0x400000n, check: 'translation', expected: `pa ${hex(c.a.bo.page(1))} rw pat 2`, found: 'not present' },
    { va: 0x400000n, check: 'shadow', expected: `L0 @${hex(l0b.pa)} [0] pte4k`, found: 'empty' },
    { va: 0x400000n, check: 'shadow', expected: `L0 @${hex(l0b.pa)} live 1`, found: '0 non-empty entries' },
  ], 'a leaf cleared behind the shadow');
  c.poke(l0b.pa, 0, () => entryToBigInt(encodeLeaf(0, c.a.bo.page(1), 2)));
  t.same(checkVmInvariants(c.vm), [], 'repaired');

  // Drop the NULL VMA from the tree only: its leaf is now outside every VMA.
  const ops = c.vm.gpuvm.smUnmapOpsCreate(0x20_0000n, 2n * BigInt(MiB));
  for (const op of ops) c.vm.gpuvm.commit(op);
  c.vm.gpuvm.finish(ops);
  t.same(checkVmInvariants(c.vm), [
    { va: 0x200000n, check: 'outside-vma', expected: 'not present', found: 'null rw pat 2' },
  ], 'a VMA dropped from the tree with its PTEs left');
  t.equal(checkVmInvariants(c.vm, { max: 0 }).length, 0, 'max 0: nothing reported');
});

t.test('the checker on a scratch VM, unbound VMAs and userptr VMAs', async (t) => {
  const s = boot(t);
  const { vm } = s.vmCreate(SCRATCH);
  const a = s.boCreate(64 * 1024);
  vmBindMap(vm, { start: 0x20_1000, range: 2 * PAGE, obj: a.bo, patIndex: 3 });
  t.same(checkVmInvariants(vm), [], 'scratch around the VMA is fine');
  const l0 = vm.pt!.root.children[0]!.children[0]!.children[0]!.children[1]!;
  vm.pt!.ptm.writeEntry(l0.pa, 0, encodeLeaf(0, 0, 3, { nul: true }));
  t.same(checkVmInvariants(vm), [
    { va: 0x200000n, check: 'outside-vma', expected: 'not present or scratch', found: 'null rw pat 3' },
    { va: 0x200000n, check: 'shadow', expected: `L0 @${hex(l0.pa)} [0] empty`, found: 'pte4k' },
    { va: 0x200000n, check: 'shadow', expected: `L0 @${hex(l0.pa)} live 2`, found: '3 non-empty entries' },
  ], 'a NULL leaf that is not the scratch one');
  vm.pt!.ptm.writeEntry(l0.pa, 0, encodeLeaf(0, 0, vm.dev.profile.patWb, { nul: true }));
  t.same(checkVmInvariants(vm), [], 'the scratch leaf back');

  // A VMA in the tree with no PTEs written (as a fault-mode bind without IMMEDIATE leaves it).
  const ops = vm.gpuvm.smMapOpsCreate({ start: 0x80_0000n, range: 0x1000n, obj: a.bo, offset: 0n, flags: 0, attrs: defaultMemAttr(2) });
  for (const op of ops) vm.gpuvm.commit(op);
  vm.gpuvm.finish(ops);
  t.same(checkVmInvariants(vm), [], 'an unbound VMA over scratch');
  vm.pt!.bind([{ start: 0x80_0000, end: 0x80_1000, pages: [a.bo.page(0)], patIndex: 2 }]);
  t.same(checkVmInvariants(vm).slice(0, 1), [
    { va: 0x800000n, check: 'unbound', expected: 'not present or scratch', found: `pa ${hex(a.bo.page(0))} rw pat 2` },
  ], 'PTEs of a VMA that says it has none');
  vm.pt!.unbind(0x80_0000, 0x80_1000);

  const pages = [a.bo.page(9), a.bo.page(4)];
  const u = vmBindMap(vm, { start: 0x100_0000, range: 2 * PAGE, offset: 0x7000_0000, userptr: pages, patIndex: 2 });
  t.same(vmVmas(vm).at(-1), { start: 0x100_0000n, end: 0x100_2000n, kind: 'userptr', bo: null, offset: 0x7000_0000n, flags: [], patIndex: 2, pteSizes: ['4K'] });
  const userptrPage = (va: typeof u, i: number) => userptrPages.get(va)?.[i];
  t.same(checkVmInvariants(vm, { userptrPage }), [], 'userptr pages as the VMA records them');
  userptrPages.set(u, [pages[0], a.bo.page(5)]);
  t.same(checkVmInvariants(vm, { userptrPage }), [
    { va: 0x1001000n, check: 'translation', expected: `pa ${hex(a.bo.page(5))} rw pat 2`, found: `pa ${hex(pages[1])} rw pat 2` },
  ], 'a userptr page that is not the recorded one');
  t.same(checkVmInvariants(vm), [], 'without the callback userptr VMAs are skipped');
  vmBindUnmap(vm, 0x100_0000, 2 * PAGE);
  t.same(checkVmInvariants(vm), []);
});

t.test('the checker knows MADVISE zaps (0 entries, the shadow kept)', async (t) => {
  const s = boot(t);
  const { vm } = s.vmCreate(SCRATCH);
  const a = s.boCreate(64 * 1024);
  const leafVma = vmBindMap(vm, { start: 0x10_1000, range: 4 * PAGE, obj: a.bo, patIndex: 2 });
  // 512 scattered pages: a whole L0 table of 4K leaves, which a zap clears at its PDE.
  const scattered = Array.from({ length: 512 }, (_, i) => a.bo.page((i * 7) % 16));
  const tableVma = vmBindMap(vm, { start: 0x40_0000, range: 2 * MiB, offset: 0x7000_0000, userptr: scattered, patIndex: 2 });
  const nullVma = vmBindMap(vm, { start: 0x60_0000, range: 2 * MiB, flags: XE_VMA_NULL, patIndex: 2 });
  t.same(checkVmInvariants(vm), []);
  for (const v of [leafVma, tableVma, nullVma]) t.ok(vm.pt!.zap(Number(v.start), Number(v.end)), 'zapped');
  t.ok(checkVmInvariants(vm).length > 0, 'zapped PTEs of VMAs still marked bound are violations');
  for (const v of [leafVma, tableVma, nullVma]) v.priv!.tileInvalidated = 1;
  t.same(checkVmInvariants(vm), [], 'zapped VMAs: 0 entries accepted, live counts kept');
  const l0 = vm.pt!.root.children[0]!.children[0]!.children[0]!.children[0]!;
  vm.pt!.ptm.writeEntry(l0.pa, 0x180, encodeLeaf(0, a.bo.page(0), 2));
  t.same(checkVmInvariants(vm), [
    { va: 0x180000n, check: 'outside-vma', expected: 'not present or scratch', found: `pa ${hex(a.bo.page(0))} rw pat 2` },
    { va: 0x180000n, check: 'shadow', expected: `L0 @${hex(l0.pa)} [384] empty`, found: 'pte4k' },
    { va: 0x0n, check: 'shadow', expected: `L0 @${hex(l0.pa)} live 4`, found: '5 non-empty entries' },
  ], 'a leaf planted next to the zapped ones is still caught');
});

t.test('GPU reads and writes through the MMU, with fault reports', async (t) => {
  const s = boot(t);
  const { id, vm } = s.vmCreate();
  const a = s.boCreate(64 * 1024);
  vmBindMap(vm, { start: 0x10_0000, range: 2 * PAGE, obj: a.bo, patIndex: 2 });
  vmBindMap(vm, { start: 0x20_0000, range: PAGE, obj: a.bo, offset: 2 * PAGE, patIndex: 2, flags: XE_VMA_READ_ONLY });
  vmBindMap(vm, { start: 0x30_0000, range: PAGE, flags: XE_VMA_NULL, patIndex: 2 });
  const data = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
  t.same(vmGpuAccess(vm, 0x10_0ff0, data, true), { done: 100, fault: null }, 'a write across two pages');
  t.same(s.dev.phys.view(a.bo.page(0) + 0xff0, 16), data.subarray(0, 16), 'the BO holds the bytes');
  t.same(s.dev.phys.view(a.bo.page(1), 84), data.subarray(16), 'second page');
  const back = new Uint8Array(100);
  t.same(vmGpuAccess(vm, 0x10_0ff0, back, false), { done: 100, fault: null });
  t.same(back, data);

  const two = new Uint8Array(PAGE + 8).fill(7);
  t.same(vmGpuAccess(vm, 0x10_1000, two, true), { done: PAGE, fault: { fault: 'not-present', va: 0x10_2000, level: 0, access: 'write' } }, 'runs off the VMA');
  t.same(vmGpuAccess(vm, 0x20_0000, new Uint8Array(4), true), { done: 0, fault: { fault: 'read-only', va: 0x20_0000, level: 0, access: 'write' } });
  const z = new Uint8Array(8).fill(1);
  t.same(vmGpuAccess(vm, 0x30_0000, z, false), { done: 8, fault: null });
  t.same(z, new Uint8Array(8), 'NULL reads 0');
  t.same(vmGpuAccess(vm, 2 ** 48, new Uint8Array(1), false).fault, { fault: 'out-of-range', va: 2 ** 48, level: 4, access: 'read' });
  t.same(vmGpuAccess(vm, 0x4000_0000, new Uint8Array(1), false).fault, { fault: 'not-present', va: 0x4000_0000, level: 2, access: 'read' }, 'no L1 table there');

  // Through the controls: GPU_WRITE, then GPU_READ that stops at the unmapped page.
  const buf = s.malloc(2 * PAGE);
  s.proc.um.copyToUser(buf, Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
  t.same(decodeGpuAccess(s.debug(DEBUG.GPU_WRITE, [vmArgWord(s.fd, id), 0x10_1ffen, buf, 4n]).rets),
    { done: 2, fault: { kind: 'not-present', va: 0x10_2000n, level: 0, access: 'write' } }, 'the last two bytes fall off the VMA');
  t.same(s.dev.phys.view(a.bo.page(1) + 0xffe, 2), Uint8Array.from([0xde, 0xad]), 'the bytes before the fault are written');
  const rd = s.debug(DEBUG.GPU_READ, [vmArgWord(s.fd, id), 0x10_1ffen, buf + 0x1000n, 8n]);
  t.same(decodeGpuAccess(rd.rets), { done: 2, fault: { kind: 'not-present', va: 0x10_2000n, level: 0, access: 'read' } });
  t.same(s.proc.um.copyFromUser(buf + 0x1000n, 3), Uint8Array.from([0xde, 0xad, 0]), 'the bytes before the fault, nothing after');
  t.same(rd.rets.slice(1).map(Number), [1, 0x10_2000, 0], 'fault words: kind 1 (not-present), VA, level 0 | read << 8');
  const wr = s.debug(DEBUG.GPU_WRITE, [vmArgWord(s.fd, id), 0x20_0000n, buf, 4n]);
  t.same(wr.rets.map(Number), [0, 2, 0x20_0000, 0 | (1 << 8)], 'read-only: kind 2, level 0, access write');
});

t.test('fault-mode VMs go through the fault service hook', async (t) => {
  const s = boot(t);
  const { vm } = s.vmCreate(C('DRM_XE_VM_CREATE_FLAG_LR_MODE') | C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE'));
  const a = s.boCreate(64 * 1024);
  const seen: number[] = [];
  t.teardown(() => setGpuFaultService(null));
  setGpuFaultService((v, f) => {
    seen.push(f.va);
    if (f.va >= 0x10_2000) return false;
    vmBindMap(v, { start: f.va - (f.va % PAGE), range: PAGE, obj: a.bo, offset: f.va % 0x10000 - (f.va % PAGE), patIndex: 2 });
    return true;
  });
  a.bo.dev.phys.view(a.bo.page(1), 4).set([1, 2, 3, 4]);
  const b = new Uint8Array(PAGE + 4);
  t.same(vmGpuAccess(vm, 0x10_0000, b, false), { done: PAGE + 4, fault: null }, 'two faults serviced, then the read completes');
  t.same(b.subarray(PAGE), Uint8Array.from([1, 2, 3, 4]));
  t.same(seen, [0x10_0000, 0x10_1000]);
  t.same(vmGpuAccess(vm, 0x10_2000, new Uint8Array(4), false).fault?.fault, 'not-present', 'a refused fault is reported');
  t.same(seen.slice(2), [0x10_2000], 'asked once');
  const plain = s.vmCreate().vm;
  t.same(vmGpuAccess(plain, 0x10_0000, new Uint8Array(4), false).fault?.fault, 'not-present', 'not a fault-mode VM: no service');
  t.equal(seen.length, 3);
});

t.test('the controls refuse bad input with an errno and change nothing', async (t) => {
  const s = boot(t);
  const { id, vm } = s.vmCreate();
  const a = s.boCreate(64 * 1024);
  vmBindMap(vm, { start: 0x10_0000, range: 2 * PAGE, obj: a.bo, patIndex: 2 });
  const before = vmDump(vm, id, s.file);
  const err = (o: { rc: number; errno: number }) => [o.rc, o.errno];
  const buf = s.malloc(PAGE);
  for (const op of [DEBUG.VM_INFO, DEBUG.VM_DUMP, DEBUG.VM_CHECK]) {
    t.same(err(s.debug(op, [vmArgWord(99, id), buf, 4096n])), [-1, EBADF], `op ${op}: no such fd`);
    t.same(err(s.debug(op, [vmArgWord(s.fd, 42), buf, 4096n])), [-1, ENOENT], `op ${op}: no such VM`);
    const len = s.debug(op, [vmArgWord(s.fd, id), 0n, 0n]);
    t.equal(len.rc, 0, 'size 0 asks for the length; the buffer is not touched');
    s.proc.um.copyToUser(buf, new Uint8Array(8).fill(0xaa));
    t.same(err(s.debug(op, [vmArgWord(s.fd, id), buf, len.rets[0] - 1n])), [-1, ENOSPC], 'one byte short');
    t.same(s.proc.um.copyFromUser(buf, 8), new Uint8Array(8).fill(0xaa), 'nothing written');
    t.same(err(s.debug(op, [vmArgWord(s.fd, id), 0x10n, len.rets[0]])), [-1, EFAULT], 'unmapped buffer');
  }
  const evfd = s.m.syscall(0, SYS.EVENTFD, [0n, 0n]);
  t.same(err(s.debug(DEBUG.VM_INFO, [vmArgWord(evfd.state === 'done' ? evfd.rc : -1, id), buf, 4096n])), [-1, EBADF], 'not an xe file');
  t.same(err(s.debug(DEBUG.GPU_READ, [vmArgWord(s.fd, id), 0x10_0000n, buf, BigInt(GPU_ACCESS_MAX + 1)])), [-1, E2BIG]);
  t.same(err(s.debug(DEBUG.GPU_READ, [vmArgWord(s.fd, id), 0x10_0000n, 0x10n, 8n])), [-1, EFAULT], 'read into an unmapped buffer');
  t.same(err(s.debug(DEBUG.GPU_WRITE, [vmArgWord(s.fd, id), 0x10_0000n, 0x10n, 8n])), [-1, EFAULT], 'write from an unmapped buffer');
  t.same(err(s.debug(DEBUG.GPU_WRITE, [vmArgWord(s.fd, 42), 0x10_0000n, buf, 8n])), [-1, ENOENT]);
  t.equal(vmDump(vm, id, s.file), before, 'the VM is as it was');
  t.same(s.dev.phys.view(a.bo.page(0), 8), new Uint8Array(8), 'no GPU write happened');
  t.same(checkVmInvariants(vm), []);

  // The helper's VMAs hold no BO reference (VM_BIND's will): a BO freed under its VMA is a
  // violation, not a kernel error.
  s.file.objects.remove(a.handle)!.put();
  t.same(decodeViolations(s.text(DEBUG.VM_CHECK, id)), [
    { va: 0x10_0000n, check: 'translation', expected: 'BO pages up to 2', found: 'a BO of 0 pages' },
  ]);
});
