// EXEC_QUEUE_CREATE / DESTROY / GET_PROPERTY / SET_PROPERTY and the extension chain
// (shared/spec/sync_exec.md 5, cases 45-46 and 52-58).
import t, { type Test } from 'tap';
import { C, CB, CAP, createDevice, DEBUG, errno, pack, packArray, type FieldsIn, type Process } from '../src/index.js';
import { doIoctl } from '../src/userspace/igt.js';
import { createRegions } from '../src/hw/memory.js';
import { getProfile, type Profile, type ProfileName } from '../src/hw/profile.js';
import { XeDevice } from '../src/kernel/xe/xe_device.js';
import type { IoctlCtx } from '../src/kernel/xe/xe_file.js';
import { EXEC_QUEUE_IOCTLS, hangReplaySize } from '../src/kernel/xe/xe_exec_queue.js';
import { walkUserExtensions } from '../src/kernel/xe/xe_ext.js';
import type { Process as KProcess } from '../src/kernel/os/process.js';
import type { UserMemory } from '../src/kernel/os/uaccess.js';
import { VM_IOCTLS } from '../src/kernel/xe/xe_vm.js';
import { XeFile } from '../src/kernel/xe/xe_file.js';
import { Errno } from '../src/kernel/os/errno.js';
import type { Fields } from '../src/uapi/codec.js';

const CLS = {
  RENDER: C('DRM_XE_ENGINE_CLASS_RENDER'),
  COPY: C('DRM_XE_ENGINE_CLASS_COPY'),
  VCS: C('DRM_XE_ENGINE_CLASS_VIDEO_DECODE'),
  VECS: C('DRM_XE_ENGINE_CLASS_VIDEO_ENHANCE'),
  CCS: C('DRM_XE_ENGINE_CLASS_COMPUTE'),
  BIND: C('DRM_XE_ENGINE_CLASS_VM_BIND'),
};
const PROP = {
  PRIORITY: C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_PRIORITY'),
  TIMESLICE: C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_TIMESLICE'),
  PXP_TYPE: C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_PXP_TYPE'),
  HANG_REPLAY: C('DRM_XE_EXEC_QUEUE_SET_HANG_REPLAY_STATE'),
  MULTI_GROUP: C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_MULTI_GROUP'),
  MQ_PRIORITY: C('DRM_XE_EXEC_QUEUE_SET_PROPERTY_MULTI_QUEUE_PRIORITY'),
  STATE_CACHE: C('DRM_XE_EXEC_QUEUE_SET_DISABLE_STATE_CACHE_PERF_FIX'),
};
const BAN = C('DRM_XE_EXEC_QUEUE_GET_PROPERTY_BAN');
const LR = C('DRM_XE_VM_CREATE_FLAG_LR_MODE');

type Eci = { engine_class: number; engine_instance?: number; gt_id?: number };

interface Env {
  p: Process;
  fd: number;
  vm: number;
}

async function env(t: Test, profile: ProfileName = 'lnl', caps: number[] = []): Promise<Env> {
  const dev = await createDevice({ profile, caps });
  t.teardown(() => dev.close());
  const p = dev.process;
  const fd = p.open();
  const r = doIoctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', {});
  return { p, fd, vm: Number(r.out.vm_id) };
}

function create(
  e: Env,
  eci: Eci[],
  fields: FieldsIn = {},
): { err: number; id: number } {
  const inst = e.p.mem.alloc(8 * Math.max(1, eci.length), 8);
  e.p.mem.write(inst, packArray('drm_xe_engine_class_instance', eci as FieldsIn[]));
  const r = doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', {
    width: 1, num_placements: eci.length, vm_id: e.vm, instances: inst, ...fields,
  });
  e.p.mem.free(inst);
  return { err: r.rc < 0 ? r.errno : 0, id: Number(r.out.exec_queue_id) };
}

const render: Eci = { engine_class: CLS.RENDER };

/** A SET_PROPERTY extension link in user memory. */
function ext(p: Process, property: number, value: bigint | number, next = 0n, extra: FieldsIn = {}): bigint {
  const a = p.mem.alloc(48, 8);
  p.mem.write(a, pack('drm_xe_ext_set_property', { base: { next_extension: next, name: 0 }, property, value, ...extra }));
  return a;
}

function destroy(e: Env, fields: FieldsIn): number {
  const r = doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', fields);
  return r.rc < 0 ? r.errno : 0;
}

function getProp(e: Env, fields: FieldsIn): { err: number; value: bigint } {
  const r = doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', fields);
  return { err: r.rc < 0 ? r.errno : 0, value: r.out.value as bigint };
}

function setProp(e: Env, fields: FieldsIn): number {
  const r = doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_EXEC_QUEUE_SET_PROPERTY', fields);
  return r.rc < 0 ? r.errno : 0;
}

t.test('case 52-53, 55: top-level checks in order; no id on failure', async (t) => {
  const e = await env(t);
  t.equal(create(e, [render], { flags: 2 }).err, errno.EINVAL, 'case 52: flags 2');
  t.equal(create(e, [render], { reserved: [0n, 1n] }).err, errno.EINVAL, 'reserved');
  t.equal(create(e, [render], { width: 0 }).err, errno.EINVAL, 'case 53: width 0');
  t.equal(create(e, [render], { num_placements: 0 }).err, errno.EINVAL, 'num_placements 0');
  t.equal(create(e, [render], { num_placements: 10, instances: 0 }).err, errno.EINVAL, 'len 10 > XE_HW_ENGINE_MAX_INSTANCE, before the copy');
  t.equal(create(e, [render], { instances: 0x10n }).err, errno.EFAULT, 'instances unmapped');
  t.equal(create(e, [{ engine_class: CLS.RENDER, gt_id: 7 }]).err, errno.EINVAL, 'no such GT');
  t.equal(create(e, [{ engine_class: CLS.RENDER, gt_id: 7 }], { vm_id: 999 }).err, errno.EINVAL, 'GT checked before the VM');
  t.equal(create(e, [render], { vm_id: 999 }).err, errno.ENOENT, 'case 55: unknown VM');
  t.equal(create(e, [render], { vm_id: 0 }).err, errno.ENOENT, 'vm 0');
  const failing: Array<[string, Eci[], FieldsIn]> = [
    ['flags', [render], { flags: 2 }], ['width 0', [render], { width: 0 }], ['unmapped instances', [render], { instances: 0x10n }],
    ['no GT', [{ engine_class: CLS.RENDER, gt_id: 7 }], {}], ['no VM', [render], { vm_id: 999 }],
    ['bad extension', [render], { extensions: ext(e.p, PROP.PRIORITY, 3) }],
  ];
  for (const [what, eci, f] of failing) {
    t.equal(create(e, eci, { ...f, exec_queue_id: 77 }).id, 77, `${what}: exec_queue_id not written`);
  }
  t.same(create(e, [render], { flags: C('DRM_XE_EXEC_QUEUE_LOW_LATENCY_HINT') }), { err: 0, id: 1 }, 'LOW_LATENCY_HINT accepted; first id 1');
  t.same(create(e, [render]), { err: 0, id: 2 });
});

t.test('gt_id is taken as a u8 (xe_device_get_gt); placements compare the raw u16', async (t) => {
  const e = await env(t);
  t.same(create(e, [{ engine_class: CLS.RENDER, gt_id: 0x100 }]), { err: 0, id: 1 }, 'rcs0 on gt_id 0x100 = GT 0');
  t.same(create(e, [{ engine_class: CLS.VCS, gt_id: 0x101 }]), { err: 0, id: 2 }, 'vcs0 on gt_id 0x101 = media GT 1');
  t.equal(create(e, [{ engine_class: CLS.VCS, gt_id: 0x100 }]).err, errno.EINVAL, 'no vcs on GT 0 (0x100)');
  t.equal(create(e, [{ engine_class: CLS.RENDER, gt_id: 0x102 }]).err, errno.EINVAL, '0x102 = GT 2: none');
  const vcs = (gt_id: number, engine_instance: number): Eci => ({ engine_class: CLS.VCS, engine_instance, gt_id });
  t.equal(create(e, [vcs(0x101, 0), vcs(1, 1)], { num_placements: 2 }).err, errno.EINVAL, 'mixed 0x101 and 1 in one placement list');
  t.same(create(e, [vcs(0x101, 0), vcs(0x101, 1)], { num_placements: 2 }), { err: 0, id: 3 }, 'all 0x101: one GT');
  t.equal(create(e, [{ engine_class: CLS.BIND, gt_id: 0x100 }]).err, 0, 'VM_BIND class with gt_id 0x100');
});

t.test('case 54: VM_BIND queues', async (t) => {
  const e = await env(t);
  const bind: Eci = { engine_class: CLS.BIND };
  t.equal(create(e, [bind], { width: 2, num_placements: 1 }).err, errno.EINVAL, 'case 54: width 2');
  t.equal(create(e, [bind, bind]).err, errno.EINVAL, 'two placements');
  t.equal(create(e, [{ engine_class: CLS.BIND, engine_instance: 1 }]).err, errno.EINVAL, 'instance 1');
  t.equal(create(e, [bind], { vm_id: 999 }).err, errno.ENOENT, 'needs an existing VM (newest tree)');
  t.same(create(e, [bind]), { err: 0, id: 1 });
  t.equal(getProp(e, { exec_queue_id: 1, property: BAN }).value, 0n, 'GET_PROPERTY works on bind queues');
  t.equal(create(e, [render, bind], { num_placements: 2 }).err, errno.EINVAL, 'VM_BIND as a later placement of an engine queue');
  t.equal(destroy(e, { exec_queue_id: 1 }), 0);
  t.equal(doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_VM_DESTROY', { vm_id: e.vm }).rc, 0);
  t.equal(create(e, [bind]).err, errno.ENOENT, 'destroyed VM');
});

t.test('placement matrix validation (calc_validate_logical_mask)', async (t) => {
  const e = await env(t);
  const vcs = (i: number): Eci => ({ engine_class: CLS.VCS, engine_instance: i, gt_id: 1 });
  t.equal(create(e, [{ engine_class: CLS.RENDER, engine_instance: 1 }]).err, errno.EINVAL, 'no rcs1');
  t.equal(create(e, [{ engine_class: 6 }]).err, errno.EINVAL, 'class 6');
  t.equal(create(e, [{ engine_class: CLS.COPY, engine_instance: 1 }]).err, errno.EINVAL, 'reserved copy engine (bcs8, paging)');
  t.equal(create(e, [{ engine_class: CLS.COPY }]).err, 0, 'bcs0');
  t.equal(create(e, [{ engine_class: CLS.VCS, engine_instance: 0, gt_id: 0 }]).err, errno.EINVAL, 'VCS lives on the media GT');
  t.equal(create(e, [vcs(0), vcs(1)], { num_placements: 2 }).err, 0, 'two placements of one class');
  t.equal(create(e, [vcs(0), { engine_class: CLS.VECS, gt_id: 1 }], { num_placements: 2 }).err, errno.EINVAL, 'mixed classes');
  t.equal(create(e, [render, { engine_class: CLS.CCS }], { num_placements: 2 }).err, errno.EINVAL, 'mixed classes on one GT');
  t.equal(create(e, [render, { engine_class: CLS.RENDER, gt_id: 1 }], { num_placements: 2 }).err, errno.EINVAL, 'mixed GTs');
  t.equal(create(e, [vcs(0), vcs(1)], { width: 2, num_placements: 1 }).err, 0, 'parallel vcs0+vcs1 (contiguous)');
  t.equal(create(e, [vcs(1), vcs(0)], { width: 2, num_placements: 1 }).err, errno.EINVAL, 'parallel, not contiguous');
  t.equal(create(e, [render, render], { width: 2, num_placements: 1 }).err, errno.EINVAL, 'parallel on one engine');
});

t.test('parallel queues outside the multi-lrc classes are -EOPNOTSUPP (in-process)', async (t) => {
  const k = inProcessKernel({ multiLrcMask: 0 } as Partial<Profile>);
  t.equal(k.vm(), 1);
  const vcs2 = [
    { engine_class: CLS.VCS, engine_instance: 0, gt_id: 1 },
    { engine_class: CLS.VCS, engine_instance: 1, gt_id: 1 },
  ];
  t.equal(k.create(vcs2, { width: 2 }), -errno.EOPNOTSUPP);
  t.equal(k.create(vcs2, { num_placements: 2 }), 1, 'width 1 is not multi-lrc');
  const k2 = inProcessKernel();
  t.equal(k2.vm(), 1);
  t.equal(k2.create(vcs2, { width: 2 }), 1, 'VCS is a multi-lrc class by default');
});

t.test('case 56: PRIORITY', async (t) => {
  const e = await env(t);
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 2) }).err, errno.EPERM, 'HIGH without CAP_SYS_NICE');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 3) }).err, errno.EINVAL, '3');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 1n << 32n) }).err, errno.EINVAL, 'a 64-bit value');
  t.same(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 0) }), { err: 0, id: 1 }, 'LOW; no id was used by the failures');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 1) }).err, 0, 'NORMAL');
  t.equal(create(e, [{ engine_class: CLS.BIND }], { extensions: ext(e.p, PROP.PRIORITY, 2) }).err, errno.EPERM, 'bind queues apply the chain too');
  const nice = await env(t, 'lnl', [CAP.SYS_NICE]);
  t.equal(create(nice, [render], { extensions: ext(nice.p, PROP.PRIORITY, 2) }).err, 0, 'HIGH with CAP_SYS_NICE');
  t.equal(create(nice, [render], { extensions: ext(nice.p, PROP.PRIORITY, 3) }).err, errno.EINVAL, '3 even with CAP_SYS_NICE');
});

t.test('TIMESLICE, PXP_TYPE, HANG_REPLAY_STATE, DISABLE_STATE_CACHE_PERF_FIX', async (t) => {
  const e = await env(t);
  const ts = (v: number): number => create(e, [render], { extensions: ext(e.p, PROP.TIMESLICE, v) }).err;
  t.equal(ts(0), errno.EINVAL, 'timeslice 0');
  t.equal(ts(10_000_001), errno.EINVAL, 'timeslice over 10 s');
  t.equal(ts(1), 0);
  t.equal(ts(10_000_000), 0);
  const nice = await env(t, 'lnl', [CAP.SYS_NICE]);
  // CONFIG_DRM_XE_ENABLE_SCHEDTIMEOUT_LIMIT=y (the default): the hard range applies to CAP_SYS_NICE too.
  t.equal(create(nice, [render], { extensions: ext(nice.p, PROP.TIMESLICE, 0) }).err, errno.EINVAL, 'limited with CAP_SYS_NICE too');
  t.equal(create(nice, [render], { extensions: ext(nice.p, PROP.TIMESLICE, 10_000_000) }).err, 0);

  const pxp = (en: Env, v: number): number => create(en, [render], { extensions: ext(en.p, PROP.PXP_TYPE, v) }).err;
  t.equal(pxp(e, 0), 0, 'PXP NONE is a no-op');
  t.equal(pxp(e, 2), errno.EINVAL, 'PXP type 2');
  t.equal(pxp(e, 1), 0, 'HWDRM on LNL (PXP)');
  const bmg = await env(t, 'bmg');
  t.equal(pxp(bmg, 1), errno.ENODEV, 'HWDRM without PXP');
  t.equal(pxp(bmg, 2), errno.EINVAL, 'the type is checked first');
  for (const profile of ['dg2', 'tgl'] as const) t.equal(pxp(await env(t, profile), 1), errno.ENODEV, `HWDRM on ${profile}: ENODEV`);

  const size = hangReplaySize(getProfile('lnl'), CLS.RENDER);
  t.equal(size, 3 * 4096, 'Xe2 render context image: 3 pages');
  t.equal(hangReplaySize(getProfile('tgl'), CLS.RENDER), 13 * 4096);
  t.equal(hangReplaySize(getProfile('lnl'), CLS.CCS), 2 * 4096);
  t.equal(hangReplaySize(getProfile('lnl'), CLS.COPY), 4096);
  const img = e.p.mem.alloc(size, 8);
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.HANG_REPLAY, img) }).err, 0, 'replay state copied');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.HANG_REPLAY, 0x10n) }).err, errno.EFAULT, 'unmapped image');
  const small = e.p.mmapAnon(8192);
  e.p.munmap(small + 4096n, 4096);
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.HANG_REPLAY, small) }).err, errno.EFAULT, 'image shorter than the class size');
  const twice = ext(e.p, PROP.HANG_REPLAY, img, ext(e.p, PROP.HANG_REPLAY, img));
  t.equal(create(e, [render], { extensions: twice }).err, errno.EINVAL, 'set twice');

  t.equal(create(e, [render], { extensions: ext(e.p, PROP.STATE_CACHE, 1) }).err, 0, 'state cache fix on render');
  t.equal(create(e, [{ engine_class: CLS.CCS }], { extensions: ext(e.p, PROP.STATE_CACHE, 1) }).err, errno.EOPNOTSUPP, 'not on compute');
});

t.test('multi-queue properties on a platform without multi-queue', async (t) => {
  const e = await env(t);
  const mg = (v: bigint): number => create(e, [render], { extensions: ext(e.p, PROP.MULTI_GROUP, v) }).err;
  t.equal(mg(CB('DRM_XE_MULTI_GROUP_CREATE')), errno.ENODEV, 'MULTI_GROUP create: no multi-queue class');
  t.equal(mg(1n), errno.ENODEV, 'MULTI_GROUP join');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.MQ_PRIORITY, 1) }).err, errno.EINVAL, 'MULTI_QUEUE_PRIORITY without MULTI_GROUP');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.MQ_PRIORITY, 3) }).err, errno.EINVAL, 'MULTI_QUEUE_PRIORITY 3');
  const both = ext(e.p, PROP.PXP_TYPE, 1, ext(e.p, PROP.MULTI_GROUP, CB('DRM_XE_MULTI_GROUP_CREATE')));
  t.equal(create(e, [render], { extensions: both }).err, errno.EINVAL, 'PXP with MULTI_GROUP is rejected before MULTI_GROUP runs');
  t.same(create(e, [render]), { err: 0, id: 1 });
});

t.test('extension chain (case 57)', async (t) => {
  const e = await env(t);
  let chain = 0n;
  for (let i = 0; i < 17; i++) chain = ext(e.p, PROP.PRIORITY, 1, chain);
  t.equal(create(e, [render], { extensions: chain }).err, errno.E2BIG, 'case 57: 17 links');
  let chain16 = 0n;
  for (let i = 0; i < 16; i++) chain16 = ext(e.p, PROP.PRIORITY, 1, chain16);
  t.equal(create(e, [render], { extensions: chain16 }).err, 0, '16 links are fine');
  const loop = ext(e.p, PROP.PRIORITY, 1);
  e.p.mem.writeU64(loop, loop);
  t.equal(create(e, [render], { extensions: loop }).err, errno.E2BIG, 'a link pointing to itself');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 1, 0n, { base: { name: 1 } }) }).err, errno.EINVAL, 'case 57: name 1');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 1, 0n, { base: { pad: 1 } }) }).err, errno.EINVAL, 'header pad');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 1, 0n, { pad: 1 }) }).err, errno.EINVAL, 'set_property pad');
  t.equal(create(e, [render], { extensions: ext(e.p, 7, 1) }).err, errno.EINVAL, 'property 7');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 1, 0n, { reserved: [1n, 2n] }) }).err, 0, 'reserved is not checked');
  t.equal(create(e, [render], { extensions: 0x10n }).err, errno.EFAULT, 'unmapped first link');
  t.equal(create(e, [render], { extensions: ext(e.p, PROP.PRIORITY, 1, 0x10n) }).err, errno.EFAULT, 'unmapped next link');
  const page = e.p.mmapAnon(8192);
  e.p.munmap(page + 4096n, 4096);
  t.equal(create(e, [render], { extensions: page + 4096n - 16n }).err, errno.EFAULT, 'header fits, SET_PROPERTY struct does not');
  const bad = ext(e.p, PROP.PRIORITY, 3, ext(e.p, PROP.PRIORITY, 1));
  t.equal(create(e, [render], { extensions: bad }).err, errno.EINVAL, 'a failing first link stops the walk');
  t.same(create(e, [render]), { err: 0, id: 3 }, 'only the two good chains took ids');
});

t.test('the generic walker stops at the 17th link, checks header then handler', async (t) => {
  const mem = new Map<bigint, Uint8Array>();
  const um: UserMemory = {
    copyFromUser: (addr, len) => {
      const b = mem.get(addr);
      if (!b || b.length < len) throw new Errno(errno.EFAULT, 'test memory: no block at %x', addr);
      return b.subarray(0, len);
    },
    copyToUser: () => undefined,
  };
  for (let i = 1; i <= 20; i++) mem.set(BigInt(i * 0x100), pack('drm_xe_user_extension', { next_extension: i < 20 ? (i + 1) * 0x100 : 0, name: 0 }));
  let seen = 0;
  const h = [(): void => void seen++];
  const errOf = (fn: () => void): number => {
    try {
      fn();
      return 0;
    } catch (err) {
      return (err as Errno).errno;
    }
  };
  t.equal(errOf(() => walkUserExtensions(um, 0x100n, h)), errno.E2BIG);
  t.equal(seen, 16, 'sixteen links handled before E2BIG');
  seen = 0;
  walkUserExtensions(um, 0x500n, h);
  t.equal(seen, 16, 'a 16-link chain completes');
  t.equal(errOf(() => walkUserExtensions(um, 0x100n, [])), errno.EINVAL, 'no handler for name 0');
  t.equal(errOf(() => walkUserExtensions(um, 0x50n, h)), errno.EFAULT, 'unmapped header');
});

t.test('case 58: DESTROY; case 46: GET_PROPERTY; case 45: ban', async (t) => {
  const e = await env(t);
  const q = create(e, [render]).id;
  t.equal(destroy(e, { exec_queue_id: q, pad: 1 }), errno.EINVAL, 'case 58: pad');
  t.equal(destroy(e, { exec_queue_id: q, reserved: [0n, 1n] }), errno.EINVAL, 'reserved');
  t.same(getProp(e, { exec_queue_id: q, property: BAN }), { err: 0, value: 0n }, 'case 46: healthy -> 0; still alive after bad destroys');
  t.same(getProp(e, { exec_queue_id: q, property: 1, value: 55n }), { err: errno.EINVAL, value: 55n }, 'property 1; value not written');
  t.same(getProp(e, { exec_queue_id: q, property: BAN, reserved: [1n, 0n], value: 55n }), { err: errno.EINVAL, value: 55n }, 'reserved[0]');
  t.same(getProp(e, { exec_queue_id: 999, property: BAN, value: 55n }), { err: errno.ENOENT, value: 55n }, 'unknown id');
  t.equal(getProp(e, { exec_queue_id: 999, property: BAN, reserved: [1n, 0n] }).err, errno.EINVAL, 'reserved before lookup');
  t.same(getProp(e, { exec_queue_id: q, property: BAN, extensions: 1n }), { err: 0, value: 0n }, 'extensions not checked');
  e.p.debug(DEBUG.QUEUE_BAN, BigInt(e.fd), BigInt(q));
  t.same(getProp(e, { exec_queue_id: q, property: BAN }), { err: 0, value: 1n }, 'case 45: banned -> 1');
  t.throws(() => e.p.debug(DEBUG.QUEUE_BAN, BigInt(e.fd), 999n), 'QUEUE_BAN of an unknown queue fails');
  t.equal(destroy(e, { exec_queue_id: q }), 0, 'case 58');
  t.equal(destroy(e, { exec_queue_id: q }), errno.ENOENT, 'twice');
  t.equal(getProp(e, { exec_queue_id: q, property: BAN }).err, errno.ENOENT, 'gone');
  t.equal(create(e, [render]).id, q, 'the id is reused');
});

t.test('SET_PROPERTY ioctl (multi-queue priority only)', async (t) => {
  const e = await env(t);
  const q = create(e, [render]).id;
  const mqp = PROP.MQ_PRIORITY;
  t.equal(setProp(e, { exec_queue_id: q, property: mqp, value: 1n, reserved: [0n, 1n] }), errno.EINVAL, 'reserved');
  t.equal(setProp(e, { exec_queue_id: q, property: PROP.PRIORITY, value: 1n }), errno.EINVAL, 'other property');
  t.equal(setProp(e, { exec_queue_id: 999, property: PROP.PRIORITY, value: 1n }), errno.EINVAL, 'property before lookup');
  t.equal(setProp(e, { exec_queue_id: 999, property: mqp, value: 1n }), errno.ENOENT, 'unknown queue');
  t.equal(setProp(e, { exec_queue_id: q, property: mqp, value: 3n }), errno.EINVAL, 'value > HIGH');
  t.equal(setProp(e, { exec_queue_id: q, property: mqp, value: 1n }), errno.EINVAL, 'not in a multi-queue group');
});

t.test('queues keep their VM; file close releases them', async (t) => {
  const e = await env(t);
  const lr = Number(doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_VM_CREATE', { flags: LR }).out.vm_id);
  const q = create(e, [render], { vm_id: lr }).id;
  t.equal(doIoctl(e.p, e.fd, 'DRM_IOCTL_XE_VM_DESTROY', { vm_id: lr }).errno, errno.EBUSY);
  t.equal(e.p.close(e.fd), 0);
  const fd = e.p.open();
  const vm = Number(doIoctl(e.p, fd, 'DRM_IOCTL_XE_VM_CREATE', {}).out.vm_id);
  t.equal(vm, 1);
  t.same(create({ p: e.p, fd, vm }, [render]), { err: 0, id: q }, 'queue ids start at 1 in the new file');
});

t.test('a closed or banned VM is -ENOENT for engine and bind queues (in-process)', async (t) => {
  const k = inProcessKernel();
  t.equal(k.vm(), 1);
  t.equal(k.vm(), 2);
  const vm = k.file.vms.get(1)!;
  vm.banned = true;
  t.equal(k.create([{ engine_class: CLS.RENDER }], { vm_id: 1 }), -errno.ENOENT, 'banned VM, render queue');
  t.equal(k.create([{ engine_class: CLS.BIND }], { vm_id: 1 }), -errno.ENOENT, 'banned VM, bind queue');
  vm.banned = false;
  const vm2 = k.file.vms.get(2)!;
  vm2.size = 0n; // xe_vm_is_closed: a VM being torn down while its id is still found
  t.equal(k.create([{ engine_class: CLS.RENDER }], { vm_id: 2 }), -errno.ENOENT, 'closed VM, render queue');
  t.equal(k.create([{ engine_class: CLS.BIND }], { vm_id: 2 }), -errno.ENOENT, 'closed VM, bind queue');
  t.equal(k.file.execQueues.size, 0, 'no queue was created');
  t.equal(k.create([{ engine_class: CLS.RENDER }], { vm_id: 1 }), 1, 'the healthy VM works; first id 1');
});

t.test('multi-queue groups on a profile that has them (in-process, spec 5.3 MULTI_GROUP rules)', async (t) => {
  const mask = (1 << CLS.RENDER) | (1 << CLS.COPY) | (1 << CLS.VCS);
  const k = inProcessKernel({ multiQueueClassMask: mask } as Partial<Profile>);
  t.equal(k.vm(), 1);
  t.equal(k.vm(), 2);
  const CREATE = CB('DRM_XE_MULTI_GROUP_CREATE');
  const rcs = [{ engine_class: CLS.RENDER }];
  const mg = (v: bigint, next = 0n): bigint => k.ext(PROP.MULTI_GROUP, v, next);
  const primary = k.create(rcs, { extensions: mg(CREATE) });
  t.equal(primary, 1, 'primary: MULTI_GROUP with the CREATE bit');
  t.ok(k.file.execQueues.get(1)!.isMultiQueuePrimary);
  const plain = k.create(rcs);
  t.equal(plain, 2, 'a plain queue');
  const bad: Array<[string, Array<{ engine_class: number; engine_instance?: number; gt_id?: number }>, Partial<Fields>, number]> = [
    ['CREATE with another bit', rcs, { extensions: mg(CREATE | 1n) }, errno.EINVAL],
    ['upper 32 bits set', rcs, { extensions: mg((1n << 32n) | 1n) }, errno.EINVAL],
    ['no such primary', rcs, { extensions: mg(99n) }, errno.ENOENT],
    ['joining a plain queue', rcs, { extensions: mg(2n) }, errno.EINVAL],
    ['primary on another VM', rcs, { extensions: mg(1n), vm_id: 2 }, errno.EINVAL],
    ['already in a group', rcs, { extensions: mg(CREATE, mg(CREATE)) }, errno.EINVAL],
    ['a secondary may set no other property', rcs, { extensions: mg(1n, k.ext(PROP.PRIORITY, 1n)) }, errno.EINVAL],
    ['parallel queue', [{ engine_class: CLS.VCS, gt_id: 1 }, { engine_class: CLS.VCS, engine_instance: 1, gt_id: 1 }], { width: 2, extensions: mg(CREATE) }, errno.EINVAL],
    ['bind queue (no owning file on its VM)', [{ engine_class: CLS.BIND }], { extensions: mg(CREATE) }, errno.EINVAL],
    ['MULTI_QUEUE_PRIORITY 3', rcs, { extensions: mg(CREATE, k.ext(PROP.MQ_PRIORITY, 3n)) }, errno.EINVAL],
  ];
  for (const [what, eci, f, want] of bad) t.equal(k.create(eci, f), -want, what);
  // Different logical mask: a vcs1 queue cannot join a vcs0 primary.
  const vcsPrimary = k.create([{ engine_class: CLS.VCS, gt_id: 1 }], { extensions: mg(CREATE) });
  t.equal(vcsPrimary, 3, 'a VCS primary; no id was used by the failures');
  t.equal(k.create([{ engine_class: CLS.VCS, engine_instance: 1, gt_id: 1 }], { extensions: mg(3n) }), -errno.EINVAL, 'different logical mask');
  t.equal(k.create([{ engine_class: CLS.VCS, gt_id: 1 }], { extensions: mg(3n) }), 4, 'same engine: joins');
  const sec = k.create(rcs, { extensions: mg(1n, k.ext(PROP.MQ_PRIORITY, 2n)) });
  t.equal(sec, 5, 'secondary with MULTI_QUEUE_PRIORITY');
  t.equal(k.file.execQueues.get(5)!.multiQueue.priority, 2);
  t.equal(k.file.execQueues.get(5)!.multiQueue.pos, 1, 'first position of the group');
  // The SET_PROPERTY ioctl works on group members only.
  t.equal(k.setProp(5, 0n), 0, 'SET_PROPERTY on a secondary');
  t.equal(k.file.execQueues.get(5)!.multiQueue.priority, 0);
  t.equal(k.setProp(1, 2n), 0, 'on the primary');
  t.equal(k.setProp(2, 1n), -errno.EINVAL, 'a plain queue');
  t.equal(k.setProp(5, 3n), -errno.EINVAL, 'value > HIGH');
  // A group holds 63 secondaries (positions 1..63): the 64th join fails and takes no id.
  for (let i = 2; i <= 63; i++) t.equal(k.create(rcs, { extensions: mg(1n) }) > 0, true, `secondary ${i}`);
  const ids = k.file.execQueues.size;
  t.equal(k.create(rcs, { extensions: mg(1n) }), -errno.EINVAL, 'group full');
  t.equal(k.file.execQueues.size, ids, 'no id allocated');
});

/**
 * In-process kernel with a modified profile and a small fake user memory (blocks at fixed
 * addresses), for state user space cannot reach: a VM creator, queue create with extension
 * chains, SET_PROPERTY.
 */
function inProcessKernel(overrides: Partial<Profile> = {}): {
  file: XeFile;
  vm: () => number;
  ext: (property: number, value: bigint, next?: bigint) => bigint;
  create: (eci: Array<{ engine_class: number; engine_instance?: number; gt_id?: number }>, f?: Partial<Fields>) => number;
  setProp: (id: number, value: bigint) => number;
} {
  const profile = { ...getProfile('lnl'), ...overrides } as Profile;
  const dev = new XeDevice(profile, createRegions(1 << 22, []));
  const file = new XeFile(dev, 'render');
  const proc = { capable: () => false } as unknown as KProcess;
  const blocks = new Map<bigint, Uint8Array>();
  let next = 0x10000n;
  const put = (b: Uint8Array): bigint => {
    const a = next;
    blocks.set(a, b);
    next += 0x1000n;
    return a;
  };
  const um: UserMemory = {
    copyFromUser: (addr, len) => {
      const base = addr & ~0xfffn;
      const b = blocks.get(base);
      const off = Number(addr - base);
      if (!b || off + len > b.length) throw new Errno(errno.EFAULT, 'test memory: no block at %x', addr);
      return b.slice(off, off + len);
    },
    copyToUser: () => undefined,
  };
  const run = (list: typeof VM_IOCTLS, name: string, args: Fields): number => {
    const ctx: IoctlCtx = { dev, proc, file, um, args };
    try {
      return list.find((d) => d.name === name)!.handler(ctx) as number;
    } catch (err) {
      return -(err as Errno).errno;
    }
  };
  return {
    file,
    vm: () => {
      const args = { extensions: 0n, flags: 0, vm_id: 0, reserved: [0n, 0n] } as Fields;
      const rc = run(VM_IOCTLS, 'DRM_IOCTL_XE_VM_CREATE', args);
      return rc < 0 ? rc : (args.vm_id as number);
    },
    ext: (property, value, nextExt = 0n) =>
      put(pack('drm_xe_ext_set_property', { base: { next_extension: nextExt, name: 0 }, property, value })),
    create: (eci, f = {}) => {
      const full = eci.map((x) => ({ engine_instance: 0, gt_id: 0, pad: 0, ...x }));
      const args = {
        extensions: 0n, width: 1, num_placements: full.length, vm_id: 1, flags: 0, exec_queue_id: 0,
        instances: put(packArray('drm_xe_engine_class_instance', full as FieldsIn[])), reserved: [0n, 0n], ...f,
      } as Fields;
      if ((args.width as number) > 1) args.num_placements = 1;
      const rc = run(EXEC_QUEUE_IOCTLS, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', args);
      return rc < 0 ? rc : (args.exec_queue_id as number);
    },
    setProp: (id, value) =>
      run(EXEC_QUEUE_IOCTLS, 'DRM_IOCTL_XE_EXEC_QUEUE_SET_PROPERTY', {
        extensions: 0n, exec_queue_id: id, property: PROP.MQ_PRIORITY, value, reserved: [0n, 0n],
      } as Fields),
  };
}

