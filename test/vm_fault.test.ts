// The GPU fault service of fault-mode VMs (vm_bind.md 6.3; xe_pagefault.ts), PREFETCH with BO
// migration (case 31) and SVM ranges, CPU_ADDR_MIRROR rules (MAP widening, SVM faults
// reading and writing the process's memory, munmap), deferred and invalidate-on-bind MAPs
// served by the fault path (cases 61, 62), BO move notifiers, the userptr notifier and the
// BO WILLNEED counts VM_BIND keeps.
import t, { type Test } from 'tap';
import { PAGE_SIZE, REGION_SPAN } from '../src/hw/memory.js';
import { isFault, type GpuAccess } from '../src/hw/mmu.js';
import { handlePagefault } from '../src/kernel/xe/xe_pagefault.js';
import { svmOf } from '../src/kernel/xe/xe_svm.js';
import type { Vm } from '../src/kernel/xe/xe_vm.js';
import { PURGEABLE_DONTNEED } from '../src/kernel/xe/xe_vma.js';
import { EACCES, EBUSY, EFAULT, EINVAL, ENOENT, EPERM } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { BindEnv, FLAG, OP, VM_FLAG } from './helpers/bind.js';
import { Rig } from './helpers/rig.js';
import { decodeGpuAccess, vmArgWord } from '../src/userspace/vm_inspect.js';
import { DEBUG, SYS } from '../src/uapi/channel.js';

const K64 = 0x10000n;
const WC = C('DRM_XE_GEM_CPU_CACHING_WC');
const FAULT = VM_FLAG.LR | VM_FLAG.FAULT;
const regionOf = (pa: number): number => Math.floor(pa / REGION_SPAN);

/**
 * A GPU access of `buf` at `va` as the GPU does it: through the MMU, and on a fault through
 * the fault service, then again. Returns the errno of a fault the service could not resolve.
 */
function gpu(vm: Vm, va: number, buf: Uint8Array, write: boolean, access: GpuAccess = write ? 'write' : 'read'): number {
  for (let tries = 0; tries < 4; tries++) {
    const mmu = vm.pt!.mmu;
    const r = write ? mmu.gpuWrite(va, buf) : mmu.gpuRead(va, buf.length);
    if (r === null || r instanceof Uint8Array) {
      if (r) buf.set(r);
      return 0;
    }
    const f = handlePagefault(vm, BigInt(r.va), access);
    if (f.errno) return f.errno;
  }
  throw new Error('the fault service resolved the fault but the access faults again');
}

function read64(vm: Vm, va: number): bigint | number {
  const b = new Uint8Array(8);
  const e = gpu(vm, va, b, false);
  return e ? -e : new DataView(b.buffer).getBigUint64(0, true);
}

function write64(vm: Vm, va: number, v: bigint): number {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return gpu(vm, va, b, true);
}

/** The MMU's view of `va` with no fault service: the translation, or the fault. */
function walk(vm: Vm, va: number) {
  vm.pt!.mmu.invalidateAll();
  return vm.pt!.mmu.translate(va);
}

function ok(t: Test, e: BindEnv, rc: number, msg: string): void {
  t.equal(rc, 0, `${msg} (${e.reason})`);
}

for (const profile of ['bmg', 'dg2'] as const) {
  t.test(`case 31 (${profile}): PREFETCH region 1 migrates the BO to VRAM and re-binds it`, async (t) => {
    const r = new Rig(profile);
    t.teardown(() => r.dispose());
    const vm = r.vm(0);
    const { handle, bo } = r.bo(K64, 0b11, WC);
    const cpu = r.mmapBo(handle, K64);
    const id = [...r.file().vms.entries()].find(([, v]) => v === vm)![0];
    const bind = (op: number, region = 0): void => {
      r.ioctl('DRM_IOCTL_XE_VM_BIND', {
        vm_id: id, num_binds: 1,
        bind: { op, obj: op === OP.MAP ? handle : 0, addr: 0x100000n, range: K64, pat_index: 0, prefetch_mem_region_instance: region },
      });
    };
    bind(OP.MAP);
    bind(OP.PREFETCH, 0);
    t.equal(bo.region, 0, 'PREFETCH region 0: the BO is in system memory');
    const sys = walk(vm, 0x100000);
    t.ok(!isFault(sys) && sys.pa === bo.page(0) && !sys.entry.dm, 'the PTE points at the system page, no DM');
    const data = Uint8Array.from({ length: 0x3000 }, (_, i) => (i * 13 + 5) & 0xff);
    r.proc.as.write(cpu, data);
    t.equal(gpu(vm, 0x100000 + 0x1000, new Uint8Array(8), true), 0, 'a GPU write');

    bind(OP.PREFETCH, 1);
    t.equal(bo.region, 1, 'PREFETCH region 1: the BO is in VRAM');
    for (let i = 0; i < 16; i++) {
      const tr = walk(vm, 0x100000 + i * PAGE_SIZE);
      t.ok(!isFault(tr) && tr.pa === bo.page(i) && tr.entry.dm && regionOf(tr.pa) === 1, `page ${i}: the PTE points at the new VRAM page with DM`);
    }
    const expect = data.slice();
    expect.fill(0, 0x1000, 0x1008);
    const back = new Uint8Array(0x3000);
    t.equal(gpu(vm, 0x100000, back, false), 0);
    t.same(back, expect, 'the GPU reads the contents (and its own write) from VRAM');
    t.same(r.proc.as.read(cpu, 0x3000), expect, 'the CPU mmap reads them too');

    bind(OP.PREFETCH, 0xffffffff);
    t.equal(bo.region, 1, 'region -1: the first VRAM placement');
  });
}

t.test('PREFETCH failures: a region outside the placement, a DONTNEED BO; nothing changes', async (t) => {
  const e = new BindEnv('bmg');
  const vm = e.vmCreate();
  const sysBo = e.bo(0x10000, 1);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: sysBo, addr: 0x100000n, range: K64 }]), 'MAP');
  const before = e.snapshot(vm);
  t.equal(e.bind(vm, [{ op: OP.PREFETCH, addr: 0x100000n, range: K64, prefetch_mem_region_instance: 1 }]), -EINVAL, `VRAM for a system-only BO (${e.reason})`);
  t.equal(e.snapshot(vm), before, 'unchanged');
  const bo = e.vm(vm).gpuvm.all()[0].obj as unknown as { purgeable: number };
  bo.purgeable = PURGEABLE_DONTNEED;
  t.equal(e.bind(vm, [{ op: OP.PREFETCH, addr: 0x100000n, range: K64 }]), -EBUSY, `a DONTNEED BO (${e.reason})`);
  t.equal(e.snapshot(vm), before, 'unchanged');
});

t.test('case 61: a deferred MAP writes nothing; the first GPU access faults and is served', async (t) => {
  const e = new BindEnv();
  const a = e.bo(0x10000);
  const vm = e.vmCreate(FAULT);
  const v = e.vm(vm);
  const before = JSON.parse(e.snapshot(vm)).rawEntries;
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP without IMMEDIATE');
  t.equal(JSON.parse(e.snapshot(vm)).rawEntries, before, 'no PTE written');
  t.ok(isFault(walk(v, 0x100008)), 'the MMU faults');
  t.equal(write64(v, 0x100008, 0x1122334455667788n), 0, 'a GPU write through the fault path');
  const tr = walk(v, 0x100008);
  t.ok(!isFault(tr), 'the PTEs are written now');
  const bo = v.gpuvm.all()[0].obj!;
  t.equal(e.dev.phys.view(bo.page(0) + 8, 8)[0], 0x88, 'the write landed in the BO');
  t.equal(handlePagefault(v, 0x100000n, 'read').errno, 0, 'a fault on a valid VMA is nothing to do');
});

t.test('case 62: invalidate-on-bind with scratch: a read faults and is served instead of reading 0', async (t) => {
  const e = new BindEnv();
  const a = e.bo(0x10000);
  const vm = e.vmCreate(FAULT | VM_FLAG.SCRATCH);
  const v = e.vm(vm);
  const bo = e.file.objects.get(a)!;
  e.dev.phys.view(bo.page(1), 8).set([1, 2, 3, 4, 5, 6, 7, 8]);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64 }]), 'MAP without IMMEDIATE');
  t.ok(isFault(walk(v, 0x101000)), 'the slot is 0: a fault, not scratch');
  t.equal(read64(v, 0x101000), 0x0807060504030201n, 'served: the BO contents, not 0');
});

t.test('fault path failures with their errnos; each leaves the VM unchanged', async (t) => {
  const e = new BindEnv('bmg');
  const a = e.bo(0x10000, 1);
  const vm = e.vmCreate(FAULT);
  const v = e.vm(vm);
  const cpu = e.mmap(0x10000);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x200000n, range: K64, flags: FLAG.READONLY }]), 'READONLY MAP');
  ok(t, e, e.bind(vm, [{ op: OP.MAP_USERPTR, obj_offset: cpu, addr: 0x300000n, range: K64 }]), 'userptr MAP');
  const before = e.snapshot(vm);
  const cases: Array<[bigint, GpuAccess, number, string]> = [
    [0x100000n, 'read', EINVAL, 'no VMA'],
    [0x200000n, 'write', EPERM, 'a write to a READ_ONLY VMA'],
    [0x200000n, 'atomic', EPERM, 'an atomic to a READ_ONLY VMA'],
    [0x300000n, 'atomic', EACCES, 'an atomic to a userptr on a dGPU'],
  ];
  for (const [addr, access, errno, what] of cases) {
    const r = handlePagefault(v, addr, access);
    t.equal(r.errno, errno, `${what}: ${r.reason}`);
    t.equal(e.snapshot(vm), before, `${what}: unchanged`);
  }
  const plain = e.vm(e.vmCreate());
  t.equal(handlePagefault(plain, 0x100000n, 'read').errno, EINVAL, 'a VM not in fault mode');
  t.equal(handlePagefault(v, 0x200000n, 'read').errno, 0, 'a read of the READ_ONLY VMA is served');
  t.equal(handlePagefault(v, 0x300000n, 'read').errno, 0, 'a read of the userptr is served');

  const dnId = e.vmCreate(FAULT);
  const dn = e.vm(dnId);
  const b = e.bo(0x10000, 1);
  ok(t, e, e.bind(dnId, [{ op: OP.MAP, obj: b, addr: 0x100000n, range: K64 }]), 'MAP');
  (e.file.objects.get(b) as unknown as { purgeable: number }).purgeable = PURGEABLE_DONTNEED;
  t.equal(handlePagefault(dn, 0x100000n, 'read').errno, EACCES, 'a DONTNEED BO without scratch');
  t.ok(isFault(walk(dn, 0x100000)), 'still unbound');
});

t.test('an atomic fault on a dGPU migrates the BO to VRAM first', async (t) => {
  const e = new BindEnv('bmg');
  const a = e.bo(0x10000, 0b11, WC);
  const vm = e.vmCreate(FAULT);
  const v = e.vm(vm);
  const bo = e.file.objects.get(a) as unknown as { region: number; migrate(r: number): void; page(i: number): number };
  bo.migrate(0);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64, pat_index: 0 }]), 'MAP');
  t.equal(gpu(v, 0x100000, new Uint8Array(8), false), 0, 'a read binds it in system memory');
  t.equal(bo.region, 0);
  // The MMU does not model atomics faulting on system memory: the fault is raised by hand.
  t.equal(handlePagefault(v, 0x100000n, 'atomic').errno, 0, 'an atomic fault on the valid VMA');
  t.equal(bo.region, 1, 'the BO moved to VRAM');
  const tr = walk(v, 0x100000);
  t.ok(!isFault(tr) && tr.pa === bo.page(0) && tr.entry.dm, 'rebound at the VRAM page');
});

t.test('CPU_ADDR_MIRROR: GPU reads and writes reach the process memory; munmap invalidates', async (t) => {
  const e = new BindEnv();
  const vm = e.vmCreate(FAULT);
  const v = e.vm(vm);
  t.ok(svmOf(v), 'a fault-mode VM mirrors its process (svmInit at VM_CREATE)');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.MIRROR, addr: 0n, range: 1n << 48n }]), 'mirror [0, 2^48)');
  const heap = e.alloc(64);
  e.write64(heap, 0xfeedn);
  t.equal(read64(v, Number(heap)), 0xfeedn, 'the GPU reads what the CPU wrote (malloc)');
  t.equal(write64(v, Number(heap) + 8, 0xbeefn), 0, 'a GPU write');
  t.equal(e.read64(heap + 8n), 0xbeefn, 'the CPU reads what the GPU wrote');

  const m = e.mmap(0x10000);
  e.write64(m, 7n);
  t.equal(read64(v, Number(m)), 7n, 'an mmap region through an SVM range');
  t.equal(e.bind(vm, [{ op: OP.UNMAP, addr: m, range: 0x1000n }]), -EBUSY, 'UNMAP over a live SVM range');
  e.proc.mm.munmap(m, 0x10000n);
  t.ok(isFault(walk(v, Number(m))), 'munmap zapped the range');
  t.equal(handlePagefault(v, m, 'read').errno, ENOENT, 'a fault there: no CPU mapping');
  ok(t, e, e.bind(vm, [{ op: OP.UNMAP, addr: m, range: 0x1000n }]), 'the UNMAP goes through once the range is gone');

  e.call('DRM_IOCTL_XE_VM_DESTROY', { vm_id: vm });
  t.notOk(svmOf(v), 'VM close ends the mirror (svmClose)');
});

t.test('CPU_ADDR_MIRROR MAP widens over default mirror neighbours', async (t) => {
  const e = new BindEnv();
  const vm = e.vmCreate(FAULT);
  const rows = () => e.vmas(vm).map((r) => [r[0], r[1]]);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.MIRROR, addr: 0x100000n, range: 0x100000n }]), 'mirror A');
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.MIRROR, addr: 0x200000n, range: 0x100000n }]), 'mirror B next to it');
  t.same(rows(), [[0x100000n, 0x300000n]], 'one VMA');
  e.vm(vm).gpuvm.all()[0].attrs.atomicAccess = 1;
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.MIRROR, addr: 0x300000n, range: 0x100000n }]), 'mirror C next to a non-default one');
  t.same(rows(), [[0x100000n, 0x300000n], [0x300000n, 0x400000n]], 'not merged');
});

t.test('mirror PREFETCH binds SVM ranges from the CPU pages; unmapped CPU memory is skipped', async (t) => {
  const e = new BindEnv();
  const vm = e.vmCreate(FAULT);
  const v = e.vm(vm);
  ok(t, e, e.bind(vm, [{ op: OP.MAP, flags: FLAG.MIRROR, addr: 0n, range: 1n << 48n }]), 'mirror');
  const m = e.mmap(0x20000);
  e.write64(m + 0x11000n, 42n);
  ok(t, e, e.bind(vm, [{ op: OP.PREFETCH, addr: m - 0x10000n, range: 0x40000n }]), 'PREFETCH');
  const tr = walk(v, Number(m) + 0x11000);
  t.ok(!isFault(tr) && tr.pa === e.proc.mm.pt.translate(m + 0x11000n, false), 'bound without a fault, at the CPU page');
  t.ok(svmOf(v)!.all().every((r) => r.start >= m && r.end <= m + 0x20000n && r.bound), 'ranges only where the CPU maps');
});

t.test('BO moves: a non-fault VM rebinds, a fault VM invalidates; VM_BIND counts WILLNEED holders', async (t) => {
  const e = new BindEnv('bmg');
  const a = e.bo(0x10000, 0b11, WC);
  const bo = e.file.objects.get(a) as unknown as { region: number; migrate(r: number): void; page(i: number): number; willneedCount: number };
  const plain = e.vmCreate();
  const fault = e.vmCreate(FAULT);
  ok(t, e, e.bind(plain, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64, pat_index: 0 }]), 'MAP in a VM');
  ok(t, e, e.bind(fault, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: K64, pat_index: 0, flags: FLAG.IMMEDIATE }]), 'MAP in a fault VM');
  t.equal(bo.willneedCount, 2, 'two WILLNEED holders');
  bo.migrate(0);
  const tr = walk(e.vm(plain), 0x100000);
  t.ok(!isFault(tr) && tr.pa === bo.page(0), 'the non-fault VM points at the new page');
  t.ok(isFault(walk(e.vm(fault), 0x100000)), 'the fault VM was invalidated');
  t.equal(handlePagefault(e.vm(fault), 0x100000n, 'read').errno, 0, 'and the fault path rebinds it');
  const tf = walk(e.vm(fault), 0x100000);
  t.ok(!isFault(tf) && tf.pa === bo.page(0));
  ok(t, e, e.bind(plain, [{ op: OP.UNMAP, addr: 0x104000n, range: 0x4000n }]), 'a REMAP');
  t.equal(bo.willneedCount, 3, 'prev and next hold, old let go');
  ok(t, e, e.bind(plain, [{ op: OP.UNMAP, addr: 0x100000n, range: K64 }]), 'UNMAP');
  t.equal(bo.willneedCount, 1);
  const moveHooks = bo as unknown as { moveNotifiers: Set<unknown> };
  t.equal(moveHooks.moveNotifiers.size, 1, 'only the fault VM still hears of moves');
  t.equal(e.call('DRM_IOCTL_XE_VM_DESTROY', { vm_id: fault }).rc, 0);
  t.same([bo.willneedCount, moveHooks.moveNotifiers.size], [0, 0], 'destroying the VM releases its VMAs\' holds and its move notifier');
});

t.test('userptr: the CPU munmap zaps the GPU PTEs; the fault path pins again or fails -EFAULT', async (t) => {
  const e = new BindEnv();
  const m = e.mmap(0x10000);
  e.write64(m, 9n);
  const plain = e.vm(e.vmCreate());
  const pid = [...e.file.vms.entries()].find(([, x]) => x === plain)![0];
  ok(t, e, e.bind(pid, [{ op: OP.MAP_USERPTR, obj_offset: m, addr: 0x100000n, range: K64 }]), 'userptr MAP');
  const fid = e.vmCreate(FAULT);
  const fv = e.vm(fid);
  ok(t, e, e.bind(fid, [{ op: OP.MAP_USERPTR, obj_offset: m, addr: 0x100000n, range: K64, flags: FLAG.IMMEDIATE }]), 'userptr MAP (fault VM)');
  t.equal(read64(fv, 0x100000), 9n, 'the GPU reads the CPU page');
  e.proc.mm.munmap(m, 0x10000n);
  t.ok(isFault(walk(plain, 0x100000)), 'non-fault VM: the PTEs were zapped before the pages went');
  t.ok(isFault(walk(fv, 0x100000)), 'fault VM: zapped');
  t.equal(handlePagefault(fv, 0x100000n, 'read').errno, EFAULT, 'the fault path cannot pin unmapped memory');
  const again = e.mmap(0x10000);
  t.equal(again, m, 'the same CPU range mapped again');
  e.write64(m, 10n);
  t.equal(read64(fv, 0x100000), 10n, 'the fault path pins the new pages');
});

t.test('DEBUG GPU_READ / GPU_WRITE go through the fault service on a fault-mode VM only', async (t) => {
  const r = new Rig('lnl');
  t.teardown(() => r.dispose());
  const { handle, bo } = r.bo(K64, 1, C('DRM_XE_GEM_CPU_CACHING_WB'));
  const ids: number[] = [];
  for (const flags of [FAULT, 0]) {
    const id = Number(r.ioctl('DRM_IOCTL_XE_VM_CREATE', { flags }).vm_id);
    ids.push(id);
    r.ioctl('DRM_IOCTL_XE_VM_BIND', { vm_id: id, num_binds: 1, bind: { op: OP.MAP, obj: handle, addr: 0x100000n, range: K64, pat_index: 2 } });
  }
  const buf = r.mmap(0x1000n);
  r.proc.as.write(buf, Uint8Array.from([9, 8, 7, 6]));
  const fault = r.file().vms.get(ids[0])!;
  t.ok(isFault(walk(fault, 0x102000)), 'the deferred MAP wrote nothing');
  const wr = decodeGpuAccess(r.sys(SYS.DEBUG, [BigInt(DEBUG.GPU_WRITE), vmArgWord(r.fd, ids[0]), 0x102000n, buf, 4n]));
  t.same(wr, { done: 4, fault: null }, 'GPU_WRITE: the fault was served');
  t.same(r.m.kernel.phys.view(bo.page(2), 4), Uint8Array.from([9, 8, 7, 6]), 'the bytes are in the BO');
  const rd = decodeGpuAccess(r.sys(SYS.DEBUG, [BigInt(DEBUG.GPU_READ), vmArgWord(r.fd, ids[1]), 0x300000n, buf, 4n]));
  t.equal(rd.fault?.kind, 'not-present', 'a non-fault VM reports the fault');
  const none = decodeGpuAccess(r.sys(SYS.DEBUG, [BigInt(DEBUG.GPU_READ), vmArgWord(r.fd, ids[0]), 0x300000n, buf, 4n]));
  t.equal(none.fault?.kind, 'not-present', 'a fault the service refuses (no VMA) is reported');
});
