// VM_BIND argument checks (shared/spec/vm_bind.md 2.2-2.5, sync_exec.md 9; cases 12-46 of
// section 7): exact errnos in the newest driver's order, and every failure leaves the VMA
// tree, the page tables (shadow and bytes) and the memory in use exactly as they were.
import t, { type Test } from 'tap';
import { pack, type FieldsIn } from '../src/uapi/codec.js';
import { C } from '../src/uapi/uapi.js';
import { EFAULT, EINVAL, ENOBUFS, ENOENT, EOPNOTSUPP } from '../src/uapi/errno.js';
import { BindEnv, FLAG, OP, SYNC, VM_FLAG } from './helpers/bind.js';

const A_SIZE = 0x10000;

interface Fixture {
  e: BindEnv;
  vm: number;
  /** A: 64K WB system-memory BO, mapped at 0x100000 so that "unchanged" has something to keep. */
  a: number;
  /** W: 64K WC BO. */
  w: number;
}

const envs = new Map<string, BindEnv>();

/** A fresh VM on the file's shared device, with A mapped at 0x100000. */
function fixture(profile: 'lnl' | 'bmg' | 'dg2' = 'lnl', vmFlags = 0): Fixture {
  let e = envs.get(profile);
  if (!e) envs.set(profile, (e = new BindEnv(profile)));
  const vm = e.vmCreate(vmFlags);
  const a = e.bo(A_SIZE);
  const w = e.bo(A_SIZE, 1, C('DRM_XE_GEM_CPU_CACHING_WC'));
  const pat = e.dev.profile.patWb;
  if (e.bind(vm, [{ op: OP.MAP, obj: a, addr: 0x100000n, range: BigInt(A_SIZE), pat_index: pat }])) throw new Error(e.reason);
  return { e, vm, a, w };
}

/** A valid MAP of A at 0x200000. */
function mapA(f: Fixture, extra: FieldsIn = {}): FieldsIn {
  return { op: OP.MAP, obj: f.a, addr: 0x200000n, range: BigInt(A_SIZE), pat_index: f.e.dev.profile.patWb, ...extra };
}

/** The bind fails with `errno` and changes nothing. */
function fails(t: Test, f: Fixture, errno: number, ops: FieldsIn[], extra: FieldsIn = {}, msg = ''): void {
  const before = f.e.snapshot(f.vm);
  t.equal(f.e.bind(f.vm, ops, extra), -errno, `${msg} -> ${errno} (${f.e.reason})`);
  t.equal(f.e.snapshot(f.vm), before, `${msg}: unchanged`);
}

t.test('case 12: after VM_DESTROY the id answers VM_BIND with -EINVAL', async (t) => {
  const f = fixture();
  t.equal(f.e.call('DRM_IOCTL_XE_VM_DESTROY', { vm_id: f.vm }).rc, 0);
  t.equal(f.e.bind(f.vm, [mapA(f)]), -EINVAL);
  t.match(f.e.reason, /vm_id/);
});

t.test('cases 13-14: VM lookup first, then pad / pad2 / reserved / extensions', async (t) => {
  const f = fixture();
  t.equal(f.e.bind(9, [mapA(f)], { pad: 1 }), -EINVAL);
  t.match(f.e.reason, /vm_id 9/, 'the lookup fails first');
  fails(t, f, EINVAL, [mapA(f)], { pad: 1 }, 'pad');
  fails(t, f, EINVAL, [mapA(f)], { pad2: 1 }, 'pad2');
  fails(t, f, EINVAL, [mapA(f)], { reserved: [1n, 0n] }, 'reserved[0]');
  fails(t, f, EINVAL, [mapA(f)], { extensions: 1n }, 'extensions');
  fails(t, f, EINVAL, [mapA(f)], { num_syncs: 1025 }, 'num_syncs > DRM_XE_MAX_SYNCS');
});

t.test('cases 15-16: the op array: unreadable -EFAULT, too large -ENOBUFS', async (t) => {
  const f = fixture();
  const before = f.e.snapshot(f.vm);
  t.equal(f.e.call('DRM_IOCTL_XE_VM_BIND', { vm_id: f.vm, num_binds: 2, vector_of_binds: 0n }).rc, -EFAULT);
  t.equal(f.e.call('DRM_IOCTL_XE_VM_BIND', { vm_id: f.vm, num_binds: 0x7fffffff, vector_of_binds: 0n }).rc, -ENOBUFS);
  t.equal(f.e.snapshot(f.vm), before);
});

t.test('cases 17-19: num_binds == 0', async (t) => {
  const f = fixture();
  const e = f.e;
  // A bind held back by an in-fence makes the default queue's last fence pending.
  const held = e.syncobj();
  const fid = e.attachFence(held);
  t.equal(e.bind(f.vm, [mapA(f)], { num_syncs: 1, syncs: e.syncs([{ type: SYNC.SYNCOBJ, handle: held }]) }), 0);
  const last = f.e.vm(f.vm).defaultBindQueue!.lastFence.peek();
  t.ok(last && !last.signaled, 'the held bind is the last fence');
  const before = e.snapshot(f.vm);
  const s = e.syncobj();
  t.equal(e.bind(f.vm, [], { num_syncs: 1, syncs: e.syncs([{ type: SYNC.SYNCOBJ, flags: SYNC.SIGNAL, handle: s }]) }), 0, 'case 17');
  t.equal(e.file.syncobjs.get(s)!.fence, last, 'case 17: S holds the queue last fence');
  t.equal(e.vm(f.vm).defaultBindQueue!.lastFence.peek(), last, 'the last fence is unchanged');
  t.equal(e.snapshot(f.vm), before, 'the VM is unchanged');
  const ufence = e.alloc(8);
  fails(t, f, EOPNOTSUPP, [], { num_syncs: 1, syncs: e.syncs([{ type: SYNC.UFENCE, flags: SYNC.SIGNAL, addr: ufence }]) }, 'case 18: user fence');
  fails(t, f, EOPNOTSUPP, [], { num_syncs: 1, syncs: e.syncs([{ type: SYNC.SYNCOBJ, handle: held }]) }, 'case 19: in-fence');
  e.signalFence(fid);
  t.ok(last!.signaled, 'the held bind ran once its in-fence signalled');
  t.ok(e.file.syncobjs.get(s)!.fence!.signaled, 'and S with it');
});

t.test('cases 20-22: exec queue lookup', async (t) => {
  const f = fixture();
  const e = f.e;
  fails(t, f, ENOENT, [mapA(f)], { exec_queue_id: 55 }, 'case 20: no such queue');
  const inst = e.alloc(8);
  e.proc.um.copyToUser(inst, pack('drm_xe_engine_class_instance', { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER') }));
  const render = Number(e.call('DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: f.vm, instances: inst }).out.exec_queue_id);
  fails(t, f, EINVAL, [mapA(f)], { exec_queue_id: render }, 'case 21: a render queue');
  fails(t, f, EINVAL, [{ ...mapA(f), op: 9 }], { exec_queue_id: 55 }, 'case 22: per-op checks before the queue');
  const other = e.vmCreate();
  e.proc.um.copyToUser(inst, pack('drm_xe_engine_class_instance', { engine_class: C('DRM_XE_ENGINE_CLASS_VM_BIND') }));
  const q = Number(e.call('DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: other, instances: inst }).out.exec_queue_id);
  fails(t, f, EINVAL, [mapA(f)], { exec_queue_id: q }, 'a bind queue of another VM');
  const mine = Number(e.call('DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: f.vm, instances: inst }).out.exec_queue_id);
  t.equal(e.bind(f.vm, [mapA(f)], { exec_queue_id: mine }), 0, 'a bind queue of this VM');
});

t.test('cases 23-30, 32-33: per-op checks', async (t) => {
  const f = fixture();
  const m = mapA(f);
  fails(t, f, EINVAL, [{ ...m, op: 5 }], {}, 'case 23: op 5');
  fails(t, f, EOPNOTSUPP, [{ ...m, flags: FLAG.DECOMPRESS }], {}, 'case 24: DECOMPRESS on an iGPU');
  fails(t, f, EINVAL, [{ ...m, flags: 0x100 }], {}, 'case 24: flag 0x100');
  fails(t, f, EINVAL, [{ ...m, flags: FLAG.AUTORESET }], {}, 'case 24: MADVISE_AUTORESET alone');
  fails(t, f, EINVAL, [{ ...m, obj: 0 }], {}, 'case 25: MAP without obj');
  fails(t, f, EINVAL, [{ ...m, flags: FLAG.NULL }], {}, 'case 26: NULL with obj');
  fails(t, f, EINVAL, [{ ...m, obj: 0, flags: FLAG.NULL, obj_offset: 0x1000n }], {}, 'case 26: NULL with obj_offset');
  fails(t, f, EINVAL, [{ op: OP.UNMAP, addr: 0x100000n, range: 0x1000n, flags: FLAG.NULL }], {}, 'case 27: UNMAP NULL');
  fails(t, f, EINVAL, [{ op: OP.UNMAP, obj: f.a, addr: 0x100000n, range: 0x1000n }], {}, 'case 27: UNMAP with obj');
  fails(t, f, EINVAL, [{ op: OP.UNMAP_ALL }], {}, 'case 28: UNMAP_ALL without obj');
  fails(t, f, EINVAL, [{ op: OP.UNMAP_ALL, obj: f.a, addr: 0x1000n }], {}, 'case 28: UNMAP_ALL with addr');
  fails(t, f, EINVAL, [{ op: OP.UNMAP_ALL, obj: f.a, range: 0x1000n }], {}, 'case 28: UNMAP_ALL with range');
  fails(t, f, EINVAL, [{ op: OP.MAP_USERPTR, obj: f.a, addr: 0x200000n, range: 0x1000n }], {}, 'case 29: MAP_USERPTR with obj');
  fails(t, f, EINVAL, [{ op: OP.MAP_USERPTR, obj_offset: 0x7f0000000000n, addr: 0x200000n, range: 0x1000n, pat_index: 0 }], {}, 'case 29: MAP_USERPTR pat 0');
  fails(t, f, EINVAL, [{ op: OP.PREFETCH, obj: f.a, addr: 0x100000n, range: 0x1000n }], {}, 'case 30: PREFETCH with obj');
  fails(t, f, EINVAL, [{ ...m, prefetch_mem_region_instance: 1 }], {}, 'case 30: MAP with a region');
  fails(t, f, EINVAL, [{ op: OP.PREFETCH, addr: 0x100000n, range: 0x1000n, prefetch_mem_region_instance: 1 }], {}, 'case 31: region 1 on P');
  fails(t, f, EINVAL, [{ ...m, pat_index: 32 }], {}, 'case 32: pat 32');
  fails(t, f, EINVAL, [{ ...m, pat_index: 17 }], {}, 'case 32: pat 17 (reserved)');
  fails(t, f, EINVAL, [{ ...m, addr: 0x201800n }], {}, 'case 33: addr not page aligned');
  fails(t, f, EINVAL, [{ ...m, range: 0n }], {}, 'case 33: range 0');
  fails(t, f, EINVAL, [{ ...m, obj_offset: 0x10n }], {}, 'case 33: obj_offset 0x10');
  fails(t, f, EINVAL, [{ op: OP.UNMAP, addr: 0x100000n, range: 0x1000n, obj_offset: 0x10n }], {}, 'case 33: UNMAP obj_offset 0x10');
  fails(t, f, EINVAL, [{ ...m, obj: 0, flags: FLAG.MIRROR }], {}, 'case 34: CPU_ADDR_MIRROR outside fault mode');
  fails(t, f, EINVAL, [{ ...m, pat_index: 9, obj: 0, flags: FLAG.NULL | FLAG.DECOMPRESS }], {}, 'DECOMPRESS with a compressed PAT index');
  fails(t, f, EINVAL, [{ op: OP.MAP_USERPTR, obj_offset: 0x7f0000000000n, addr: 0x200000n, range: 0x1000n, pat_index: 1, flags: FLAG.DECOMPRESS }], {}, 'DECOMPRESS on MAP_USERPTR');
  // The first failing op decides: op 0 valid, op 1 bad.
  fails(t, f, EINVAL, [m, { ...m, op: 7 }], {}, 'the second op is checked too');
});

t.test('case 32 on BMG, DECOMPRESS and MADVISE_AUTORESET where allowed', async (t) => {
  const b = fixture('bmg');
  fails(t, b, EINVAL, [{ ...mapA(b), pat_index: 28 }], {}, 'case 32: pat 28 on BMG');
  t.equal(b.e.bind(b.vm, [{ ...mapA(b), flags: FLAG.DECOMPRESS }]), 0, `DECOMPRESS on a discrete Xe2 device (${b.e.reason})`);
  const f = fixture('lnl', VM_FLAG.LR | VM_FLAG.FAULT);
  t.equal(f.e.bind(f.vm, [{ op: OP.MAP, flags: FLAG.MIRROR | FLAG.AUTORESET, addr: 0x40000000n, range: 0x40000000n, pat_index: 2 }]), 0, f.e.reason);
  t.equal(f.e.vmas(f.vm).length, 2, 'the mirror VMA is created');
  fails(t, f, EINVAL, [{ op: OP.MAP, flags: FLAG.MIRROR, addr: 0x80000000n, range: 0x1000n, pat_index: 0 }], {}, 'k2: mirror with a non-coherent PAT on an iGPU');
  fails(t, f, EINVAL, [{ op: OP.MAP, flags: FLAG.MIRROR, obj_offset: 0x1000n, addr: 0x80000000n, range: 0x1000n }], {}, 'mirror offset must be 0');
});

t.test('cases 35-39: VA bounds, BO lookup and per-BO checks', async (t) => {
  const f = fixture();
  const m = mapA(f);
  const top = 1n << 48n;
  fails(t, f, EINVAL, [{ ...m, addr: top - 0x1000n, range: 0x2000n }], {}, 'case 35: past the VM');
  fails(t, f, ENOENT, [{ ...m, obj: 99 }], {}, 'case 36: no such BO');
  fails(t, f, EINVAL, [{ ...m, obj: 99, addr: top }], {}, 'case 37: the range check before the lookup');
  fails(t, f, EINVAL, [{ ...m, range: 0x20000n }], {}, 'case 38: range > BO');
  fails(t, f, EINVAL, [{ ...m, obj_offset: 0x1000n }], {}, 'case 38: offset + range > BO');
  fails(t, f, EINVAL, [{ ...m, pat_index: 0 }], {}, 'case 39: WB BO with a non-coherent PAT');
  t.equal(f.e.bind(f.vm, [{ ...m, obj: f.w, pat_index: 0 }]), 0, 'case 39: a WC BO takes any PAT');
  const nc = f.e.bo(A_SIZE, 1, C('DRM_XE_GEM_CPU_CACHING_WC'), C('DRM_XE_GEM_CREATE_FLAG_NO_COMPRESSION'));
  fails(t, f, EINVAL, [{ ...m, obj: nc, pat_index: 9 }], {}, 'a NO_COMPRESSION BO with a compressed PAT');
});

t.test('case 41: a VRAM BO on a device that needs 64K', async (t) => {
  const f = fixture('dg2');
  const v = f.e.bo(A_SIZE, 2, C('DRM_XE_GEM_CPU_CACHING_WC'));
  fails(t, f, EINVAL, [{ op: OP.MAP, obj: v, addr: 0x1000n, range: BigInt(A_SIZE), pat_index: 0 }], {}, 'addr 0x1000');
  t.equal(f.e.bind(f.vm, [{ op: OP.MAP, obj: v, addr: 0x10000n, range: BigInt(A_SIZE), pat_index: 0 }]), 0, f.e.reason);
});

t.test('cases 43-46: syncs and VM state', async (t) => {
  const f = fixture();
  const e = f.e;
  const u1 = e.alloc(8);
  const u2 = e.alloc(8);
  const uf = (addr: bigint, flags = SYNC.SIGNAL): FieldsIn => ({ type: SYNC.UFENCE, flags, addr });
  const two = e.syncs([uf(u1), uf(u2)]);
  fails(t, f, EINVAL, [mapA(f)], { num_syncs: 2, syncs: two }, 'case 43: two user fences');
  const s = e.syncobj();
  const sync1 = (x: FieldsIn): FieldsIn => ({ num_syncs: 1, syncs: e.syncs([x]) });
  fails(t, f, EINVAL, [mapA(f)], sync1({ type: SYNC.SYNCOBJ, flags: 2, handle: s }), 'case 45: sync flags 0x2');
  fails(t, f, ENOENT, [mapA(f)], sync1({ type: SYNC.SYNCOBJ, flags: SYNC.SIGNAL, handle: 77 }), 'case 45: no such syncobj');
  fails(t, f, EINVAL, [mapA(f)], sync1(uf(u1 + 4n)), 'case 45: user fence not 8-aligned');
  fails(t, f, EOPNOTSUPP, [mapA(f)], sync1(uf(u1, 0)), 'case 45: user fence without SIGNAL');
  fails(t, f, EFAULT, [mapA(f)], sync1(uf(0x1000n)), 'user fence at an unmapped address');
  fails(t, f, EINVAL, [mapA(f)], sync1({ type: SYNC.SYNCOBJ, handle: s }), 'in-sync on a syncobj without a fence');
  fails(t, f, EINVAL, [mapA(f)], sync1({ type: SYNC.TIMELINE, flags: SYNC.SIGNAL, handle: s }), 'timeline value 0');
  fails(t, f, EINVAL, [mapA(f)], sync1({ type: 3, handle: s }), 'unknown sync type');
  fails(t, f, EINVAL, [mapA(f)], sync1({ type: SYNC.SYNCOBJ, flags: SYNC.SIGNAL, addr: (1n << 32n) | BigInt(s) }), 'handle upper bits');
  fails(t, f, ENOENT, [{ ...mapA(f), obj: 99 }], sync1({ type: SYNC.SYNCOBJ, flags: 2 }), 'the BO lookup comes before the syncs');

  const lr = fixture('lnl', VM_FLAG.LR);
  fails(t, lr, EOPNOTSUPP, [mapA(lr)], { num_syncs: 1, syncs: lr.e.syncs([{ type: SYNC.SYNCOBJ, flags: SYNC.SIGNAL, handle: lr.e.syncobj() }]) }, 'case 44: LR VM syncobj out-sync');

  f.e.vm(f.vm).banned = true;
  fails(t, f, ENOENT, [mapA(f)], {}, 'case 46: a banned VM');
  f.e.vm(f.vm).banned = false;
});
