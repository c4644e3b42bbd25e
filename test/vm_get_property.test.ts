/**
 * DRM_IOCTL_XE_VM_GET_PROPERTY (vm_attrs.md 6, cases 33-41): the checks in order with their
 * errno, the two-call size protocol, and the fault log filled by real GPU faults of EXEC jobs
 * (test/helpers/exec_rig.ts): record bytes at the offsets of vm_attrs.md 2.4, canonical
 * addresses, the first 50 kept, serviced faults not logged, reads not destructive.
 */
import t, { type Test as Tap } from 'tap';
import { Batch, miBatchBufferEnd, miCopyMemMem, miStoreDwordImm } from '../src/uapi/gpu_commands.js';
import { EFAULT, EINVAL, ENOENT } from '../src/uapi/errno.js';
import type { FieldsIn } from '../src/uapi/codec.js';
import { C } from '../src/uapi/uapi.js';
import { BO_VA, ExecRig, OFF, ufence } from './helpers/exec_rig.js';
import { errnoOf } from './helpers/rig.js';

const DATA = Number(BO_VA) + OFF.DATA;
const RENDER = C('DRM_XE_ENGINE_CLASS_RENDER');
const REC = 48;

function batch(...cmds: number[][]): Batch {
  const b = new Batch();
  for (const c of cmds) b.emit(c);
  return b;
}

/** One failed GPU access at `va` by a job on a fresh queue (each fault bans its queue). */
function fault(t: Tap, x: ExecRig, va: number, write: boolean): void {
  const q = x.queue(RENDER);
  const cmd = write ? miStoreDwordImm(va, 1) : miCopyMemMem(DATA, va);
  t.equal(x.exec({ exec_queue_id: q, address: x.batch(batch(cmd, miBatchBufferEnd())) }), 0, `EXEC of an access at 0x${va.toString(16)}`);
  x.settle();
}

/** VM_GET_PROPERTY on x's VM: errno and the struct written back (on success). */
function getProp(x: ExecRig, f: FieldsIn): { errno: number; size?: number } {
  let size: number | undefined;
  const errno = errnoOf(() => {
    size = Number(x.ioctl('DRM_IOCTL_XE_VM_GET_PROPERTY', { vm_id: x.vmId, property: 0, ...f }).size);
  });
  return { errno, size };
}

/** The record the spec's layout gives (vm_attrs.md 2.4), built by hand. */
function record(address: bigint, access: number, type: number, level: number): Uint8Array {
  const b = new Uint8Array(REC);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, address, true);
  v.setUint32(8, 4096, true);
  b[12] = access;
  b[13] = type;
  b[14] = level;
  return b;
}

t.test('cases 33-35: bad input in the order of 6.1, and an empty log', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  t.equal(getProp(x, { pad: 1 }).errno, EINVAL, 'pad 1');
  t.equal(getProp(x, { reserved: [0n, 0n, 1n] }).errno, EINVAL, 'reserved[2] 1');
  t.equal(getProp(x, { extensions: 1n }).errno, EINVAL, 'extensions 1');
  t.equal(getProp(x, { vm_id: 99, pad: 1 }).errno, EINVAL, 'vm_id 99 with pad 1: EINVAL before the lookup');
  t.equal(getProp(x, { vm_id: 99 }).errno, ENOENT, 'vm_id 99: ENOENT');
  t.equal(getProp(x, { vm_id: 0 }).errno, ENOENT, 'vm_id 0: ENOENT');
  t.equal(getProp(x, { vm_id: 99, property: 1 }).errno, ENOENT, 'the lookup precedes the property check');
  t.equal(getProp(x, { property: 1 }).errno, EINVAL, 'property 1');
  t.same(getProp(x, { size: 0 }), { errno: 0, size: 0 }, 'a new VM: size 0 -> 0, size stays 0');
  t.equal(getProp(x, { size: REC, data: x.r.mmap(0x1000n) }).errno, EINVAL, 'size 48 on an empty log: EINVAL');
  t.end();
});

t.test('cases 36-38, 41: records of real faults, the size protocol, non-destructive reads', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  fault(t, x, 0x300_0000, false);
  fault(t, x, 0x310_0000, true);
  const ro = x.newBo();
  x.ioctl('DRM_IOCTL_XE_VM_BIND', {
    vm_id: x.vmId, num_binds: 1,
    bind: { obj: ro, addr: 0x90_0000n, range: 0x10000n, op: C('DRM_XE_VM_BIND_OP_MAP'), flags: C('DRM_XE_VM_BIND_FLAG_READONLY'), pat_index: x.vm.dev.profile.patWb },
  });
  x.settle();
  fault(t, x, 0x90_0010, true);
  t.same(getProp(x, { size: 0 }), { errno: 0, size: 3 * REC }, 'size 0 reports 3 records');

  const buf = x.r.mmap(0x1000n);
  const sentinel = new Uint8Array(4 * REC).fill(0xa5);
  x.r.proc.as.write(buf, sentinel);
  t.same(getProp(x, { size: REC, data: buf }), { errno: 0, size: REC }, 'size 48 of 3: the oldest record only (case 37)');
  const [l0, l1] = x.vm.faults.map((f) => f.faultLevel);
  t.same([...x.r.proc.as.read(buf, REC)], [...record(0x300_0000n, 0, 0, l0)], 'case 36: address, precision 4096, read, not present, its level');
  t.same([...x.r.proc.as.read(buf + BigInt(REC), REC)], [...sentinel.subarray(0, REC)], 'nothing past size is written');
  t.ok(l0 > 0, 'nothing bound near 0x3000000: the fault is at a directory level');

  t.equal(getProp(x, { size: 40, data: buf }).errno, EINVAL, 'size 40: not a multiple of 48 (case 37)');
  t.equal(getProp(x, { size: 4 * REC, data: buf }).errno, EINVAL, 'size above the log');
  t.equal(getProp(x, { size: 3 * REC, data: 0n }).errno, EFAULT, 'data 0: EFAULT');

  t.same(getProp(x, { size: 3 * REC, data: buf }), { errno: 0, size: 3 * REC });
  const all = x.r.proc.as.read(buf, 3 * REC).slice();
  t.same([...all.subarray(REC, 2 * REC)], [...record(0x310_0000n, 1, 0, l1)], 'a write to nothing: access 1, not present');
  t.same([...all.subarray(2 * REC)], [...record(0x90_0000n, 1, 1, 0)], 'case 38: a write through READ_ONLY: access 1, write-access violation, PTE');
  t.same(getProp(x, { size: 3 * REC, data: buf + 0x100n }), { errno: 0, size: 3 * REC }, 'read again (case 41)');
  t.same([...x.r.proc.as.read(buf + 0x100n, 3 * REC)], [...all], 'the same records: reading removes nothing');
  t.end();
});

t.test('canonical addresses: a fault in the upper half of the 48-bit VA space', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  fault(t, x, 0x8000_1234_5678, true);
  const buf = x.r.mmap(0x1000n);
  t.equal(getProp(x, { size: REC, data: buf }).errno, 0);
  t.same([...x.r.proc.as.read(buf, REC)], [...record(0xffff_8000_1234_5000n, 1, 0, x.vm.faults[0].faultLevel)], 'sign-extended page address');
  t.end();
});

t.test('case 39: 60 failing faults keep the first 50; VM_DESTROY empties the log', (t) => {
  const x = new ExecRig();
  t.teardown(() => x.dispose());
  for (let i = 0; i < 60; i++) fault(t, x, 0x400_0000 + i * 0x1000, true);
  t.same(getProp(x, { size: 0 }), { errno: 0, size: 50 * REC }, '2400 bytes');
  const buf = x.r.mmap(0x1000n);
  t.equal(getProp(x, { size: 50 * REC, data: buf }).errno, 0);
  const bytes = x.r.proc.as.read(buf, 50 * REC);
  const addrs = Array.from({ length: 50 }, (_, i) => new DataView(bytes.buffer, bytes.byteOffset + i * REC, 8).getBigUint64(0, true));
  t.same(addrs, Array.from({ length: 50 }, (_, i) => BigInt(0x400_0000 + i * 0x1000)), 'the first 50, oldest first');
  x.ioctl('DRM_IOCTL_XE_VM_DESTROY', { vm_id: x.vmId });
  t.equal(getProp(x, { size: 0 }).errno, ENOENT, 'a destroyed VM is not found');
  t.equal(x.vm.faults.length, 0, 'its log was emptied at close');
  t.end();
});

t.test('case 40: a fault the fault-mode service resolves is not logged; one it cannot is', (t) => {
  const x = new ExecRig({ vmFlags: C('DRM_XE_VM_CREATE_FLAG_LR_MODE') | C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE') });
  t.teardown(() => x.dispose());
  const uf = BO_VA + BigInt(OFF.UFENCE);
  t.equal(x.exec({ address: x.batch(batch(miStoreDwordImm(DATA, 7), miBatchBufferEnd())), syncs: [ufence(uf, 1n)] }), 0);
  x.settle();
  t.equal(x.u32(OFF.DATA), 7, 'the deferred bind was serviced');
  t.same(getProp(x, { size: 0 }), { errno: 0, size: 0 }, 'nothing logged');
  fault(t, x, 0x500_0000, false);
  t.same(getProp(x, { size: 0 }), { errno: 0, size: REC }, 'the unserviceable read is logged');
  const buf = x.r.mmap(0x1000n);
  t.equal(getProp(x, { size: REC, data: buf }).errno, 0);
  t.same([...x.r.proc.as.read(buf, REC)], [...record(0x500_0000n, 0, 0, x.vm.faults[0].faultLevel)]);
  t.end();
});
