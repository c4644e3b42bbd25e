// DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS (xe_vm.ts): shared/spec/vm_attrs.md 5 and cases 26-32
// of section 7 on lnl, records checked byte by byte against drm_xe_mem_range_attr.
import t from 'tap';
import { EFAULT, EINVAL, ENOSPC } from '../src/uapi/errno.js';
import { C } from '../src/uapi/uapi.js';
import { createDevice } from '../src/index.js';
import {
  __xe_vm_madvise, xe_vm_create, xe_vm_get_mem_attr_values_in_range, xe_vm_madvise, xe_vm_number_vmas_in_range, xe_vm_print_mem_attr_values_in_range,
} from '../src/userspace/xe_ioctl.js';
import { AttrMachine, BUF, UNMAPPED } from './helpers/vm_attrs.js';

const Q = 'DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS';
const MiB = 0x100000n;

function setup() {
  const am = new AttrMachine('lnl');
  const { id, vm } = am.faultVm();
  am.bind(vm, { start: MiB, range: MiB, mirror: true, pat: 0 });
  const b = am.boCreate(4n * MiB, 1, C('DRM_XE_GEM_CPU_CACHING_WC'));
  am.bind(vm, { start: 4n * MiB, range: 4n * MiB, bo: b.handle, pat: 0 });
  return { am, id, vm };
}

/** The 64-byte record a VMA gives, written out field by field (little-endian). */
function record(start: bigint, end: bigint, fd: number, policy: number, atomic: number, pat: number): string {
  const b = Buffer.alloc(64);
  b.writeBigUInt64LE(start, 8);
  b.writeBigUInt64LE(end, 16);
  b.writeUInt32LE(fd, 24);
  b.writeUInt32LE(policy, 28);
  b.writeUInt32LE(atomic, 32);
  b.writeUInt32LE(pat, 40);
  return b.toString('hex');
}

t.test('cases 26-28: the first call, argument checks', async (t) => {
  const { am, id } = setup();
  const all = { vm_id: id, start: 0n, range: 16n * MiB };
  const r = am.ioctl(Q, all);
  t.same([r.errno, r.out.num_mem_ranges, r.out.sizeof_mem_range_attr], [0, 2, 64n], '26: 2 VMAs, records of 64 bytes');
  t.equal(am.ioctl(Q, { ...all, sizeof_mem_range_attr: 64n }).errno, EINVAL, '27: num 0 with a size');
  t.equal(am.ioctl(Q, { ...all, vector_of_mem_attr: BUF }).errno, EINVAL, 'num 0 with a vector');
  t.equal(am.ioctl(Q, { ...all, num_mem_ranges: 2, sizeof_mem_range_attr: 64n }).errno, EINVAL, '27: num 2, no vector');
  t.equal(am.ioctl(Q, { ...all, num_mem_ranges: 2, sizeof_mem_range_attr: 48n, vector_of_mem_attr: BUF }).errno, EINVAL, '27: num 2, size 48');
  t.equal(am.ioctl(Q, { ...all, vm_id: 99 }).errno, EINVAL, '28: vm_id 99');
  t.equal(am.ioctl(Q, { ...all, num_mem_ranges: 2, sizeof_mem_range_attr: 48n, vector_of_mem_attr: BUF, vm_id: 99 }).errno, EINVAL, 'sizes before the VM lookup');
  const unchecked = am.ioctl(Q, { ...all, extensions: 1n, reserved: [1n, 1n], start: 0x123n });
  t.same([unchecked.errno, unchecked.out.num_mem_ranges], [0, 2], 'extensions, reserved, alignment not checked');
  t.equal(am.ioctl(Q, { ...all, range: 0n }).out.num_mem_ranges, 0, 'range 0: no VMA');
  t.equal(am.ioctl(Q, { ...all, start: 0xffff_ffff_ffff_f000n, range: 0x2000n }).out.num_mem_ranges, 0, 'a range wrapping past 2^64: no VMA');
  am.dispose();
});

t.test('cases 29-32: the second call', async (t) => {
  const { am, id } = setup();
  const fill = Buffer.alloc(5 * 64, 0xa5);
  am.proc.as.write(BUF, fill);
  const second = (num: number, start = 0n, range = 16n * MiB, vector = BUF) =>
    am.ioctl(Q, { vm_id: id, start, range, num_mem_ranges: num, sizeof_mem_range_attr: 64n, vector_of_mem_attr: vector });
  const r1 = second(1);
  t.same([r1.errno, r1.out.num_mem_ranges], [ENOSPC, 1], '29: ENOSPC, num_mem_ranges still 1');
  t.equal(Buffer.from(am.proc.as.read(BUF, 5 * 64)).toString('hex'), fill.toString('hex'), '29: vector untouched');
  const r5 = second(5);
  t.same([r5.errno, r5.out.num_mem_ranges], [0, 2], '30: 2 records');
  const out = Buffer.from(am.proc.as.read(BUF, 5 * 64));
  t.equal(out.subarray(0, 64).toString('hex'), record(0x100000n, 0x200000n, 0, 0, 0, 0), '31: M, byte-exact');
  t.equal(out.subarray(64, 128).toString('hex'), record(0x400000n, 0x800000n, 0, 0, 0, 0), '30: then B');
  t.equal(out.subarray(128).toString('hex'), fill.subarray(128).toString('hex'), '30: slots 3-5 untouched');
  const r32 = second(1, 0x150000n, 0x1000n);
  t.same([r32.errno, r32.out.num_mem_ranges], [0, 1]);
  t.equal(Buffer.from(am.proc.as.read(BUF, 64)).toString('hex'), record(0x100000n, 0x200000n, 0, 0, 0, 0), '32: full bounds, not clipped');
  const hole = second(3, 9n * MiB, MiB);
  t.same([hole.errno, hole.out.num_mem_ranges], [0, 0], 'a hole: 0 records');
  const ef = second(2, 0n, 16n * MiB, UNMAPPED);
  t.same([ef.errno, ef.out.num_mem_ranges], [EFAULT, 2], 'an unwritable vector: EFAULT, num copied back');
  t.equal(am.madvise({ vm_id: id, start: 0x180000n, range: 0x10000n, type: C('DRM_XE_MEM_RANGE_ATTR_ATOMIC'), atomic: { val: 3 } }), 0);
  t.equal(am.madvise({ vm_id: id, start: 0x180000n, range: 0x10000n, type: C('DRM_XE_MEM_RANGE_ATTR_PREFERRED_LOC'), preferred_mem_loc: { devmem_fd: 0xffffffff, migration_policy: 1 } }), 0);
  t.equal(second(5, MiB, MiB).out.num_mem_ranges, 3);
  t.equal(Buffer.from(am.proc.as.read(BUF + 64n, 64)).toString('hex'), record(0x180000n, 0x190000n, 0xffffffff, 1, 3, 0), 'a MADVISE piece, every field');
  am.dispose();
});

t.test('IGT helpers over a real device: xe_vm_madvise, xe_vm_number_vmas_in_range, xe_vm_get_mem_attr_values_in_range', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  const vm = xe_vm_create(p, fd, C('DRM_XE_VM_CREATE_FLAG_LR_MODE') | C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE'));
  const ATOMIC = C('DRM_XE_MEM_RANGE_ATTR_ATOMIC');
  t.equal(__xe_vm_madvise(p, fd, vm, 0x100000n, 0x1000n, 0n, ATOMIC, 1), 0, 'over nothing: 0');
  t.equal(__xe_vm_madvise(p, fd, vm + 1, 0x100000n, 0x1000n, 0n, ATOMIC, 1), -EINVAL, 'no such VM: -EINVAL');
  t.equal(__xe_vm_madvise(p, fd, vm, 0x100000n, 0x1000n, 0n, C('DRM_XE_MEM_RANGE_ATTR_PREFERRED_LOC'), -2), -EINVAL, 'devmem_fd -2');
  t.throws(() => xe_vm_madvise(p, fd, vm, 0x100800n, 0x1000n, 0n, ATOMIC, 1), /EINVAL/);
  t.equal(xe_vm_number_vmas_in_range(p, fd, vm, 0n, 1n << 40n), 0);
  t.same(xe_vm_get_mem_attr_values_in_range(p, fd, vm, 0n, 1n << 40n), []);
  t.same(xe_vm_print_mem_attr_values_in_range(p, fd, vm, 0n, 1n << 40n), []);
  await dev.close();
});
