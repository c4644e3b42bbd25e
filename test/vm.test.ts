// VM_CREATE / VM_DESTROY (shared/spec/vm_bind.md section 1, test cases 1-12).
import t from 'tap';
import { createDevice, errno, C, pack, type Process } from '../src/index.js';
import { doIoctl } from '../src/userspace/igt.js';
import { createRegions } from '../src/hw/memory.js';
import { getProfile, type Profile } from '../src/hw/profile.js';
import { XeDevice } from '../src/kernel/xe/xe_device.js';
import type { IoctlCtx } from '../src/kernel/xe/xe_file.js';
import type { Process as KProcess } from '../src/kernel/os/process.js';
import type { UserMemory } from '../src/kernel/os/uaccess.js';
import { VM_IOCTLS } from '../src/kernel/xe/xe_vm.js';
import { XeFile } from '../src/kernel/xe/xe_file.js';
import type { Fields } from '../src/uapi/codec.js';

const SCRATCH = C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE');
const LR = C('DRM_XE_VM_CREATE_FLAG_LR_MODE');
const FAULT = C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE');
const NO_OVERCOMMIT = C('DRM_XE_VM_CREATE_FLAG_NO_VM_OVERCOMMIT');
const RENDER = { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 };

function vmCreate(p: Process, fd: number, fields: Record<string, unknown> = {}): { rc: number; errno: number; id: number } {
  const r = doIoctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', fields as never);
  return { rc: r.rc, errno: r.errno, id: Number(r.out.vm_id) };
}

function vmDestroy(p: Process, fd: number, fields: Record<string, unknown>): number {
  const r = doIoctl(p, fd, 'DRM_IOCTL_XE_VM_DESTROY', fields as never);
  return r.rc < 0 ? r.errno : 0;
}

function queueCreate(p: Process, fd: number, vm: number): { errno: number; id: number } {
  const inst = p.mem.alloc(8, 8);
  p.mem.write(inst, pack('drm_xe_engine_class_instance', RENDER));
  const r = doIoctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: vm, instances: inst });
  p.mem.free(inst);
  return { errno: r.rc < 0 ? r.errno : 0, id: Number(r.out.exec_queue_id) };
}

function queueDestroy(p: Process, fd: number, id: number): number {
  const r = doIoctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', { exec_queue_id: id });
  return r.rc < 0 ? r.errno : 0;
}

/** In-process kernel objects, for state user space cannot see and for profiles no device has. */
function kernel(overrides: Partial<Profile> & Record<string, unknown> = {}): { dev: XeDevice; file: XeFile; call: (name: string, args: Fields) => number } {
  const profile = { ...getProfile('lnl'), ...overrides } as Profile;
  const dev = new XeDevice(profile, createRegions(1 << 22, []));
  const file = new XeFile(dev, 'render');
  // A fault-mode VM mirrors the process's mm (svmInit subscribes to it).
  const proc = { capable: () => false, mm: { subscribe: () => () => undefined } } as unknown as KProcess;
  const um = {} as UserMemory;
  const call = (name: string, args: Fields): number => {
    const h = VM_IOCTLS.find((d) => d.name === name)!.handler;
    const ctx: IoctlCtx = { dev, proc, file, um, args };
    try {
      return h(ctx) as number;
    } catch (e) {
      return -(e as { errno: number }).errno;
    }
  };
  return { dev, file, call };
}

const createArgs = (flags: number, extra: Partial<Fields> = {}): Fields => ({ extensions: 0n, flags, vm_id: 0, reserved: [0n, 0n], ...extra }) as Fields;

t.test('cases 1-2: ids from 1, lowest free reused; a new VM is 2^va_bits, empty', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  t.same(vmCreate(p, fd), { rc: 0, errno: 0, id: 1 }, 'case 1: first VM is id 1');
  t.equal(vmCreate(p, fd).id, 2);
  t.equal(vmDestroy(p, fd, { vm_id: 1 }), 0);
  t.equal(vmCreate(p, fd).id, 1, 'case 2: the destroyed id is reused');
  t.equal(vmCreate(p, fd).id, 3);
  await dev.close();

  const k = kernel();
  t.equal(k.call('DRM_IOCTL_XE_VM_CREATE', createArgs(0)), 0);
  const vm = k.file.vms.get(1)!;
  t.equal(vm.size, 1n << 48n, 'size 2^48');
  t.equal(vm.closed, false);
  t.equal(vm.pt!.root.level, 4, 'a root table at level vm_max_level (LNL: 4, a 5-level tree over a 48-bit VA)');
  t.equal(vm.pt!.root.live, 0, 'no live entries: every root entry is 0 without SCRATCH_PAGE');
  t.same(vm.pt!.stats().tables, [0, 0, 0, 0, 1], 'the root is the only table');
  t.equal(vm.gpuvm.size, 0, 'no VMAs');
  t.same([vm.gpuvm.mmStart, vm.gpuvm.mmRange], [0n, 1n << 48n], 'the VA manager spans [0, 2^48), nothing reserved');
  t.ok(vm.defaultBindQueue, 'a default bind queue');
  t.equal(vm.defaultBindQueue!.bind, true);
  t.equal(k.file.execQueues.size, 0, 'the default bind queue has no user id');
  t.equal(vm.asid, 1, 'ASID allocated (LNL has ASIDs)');
  t.equal(k.call('DRM_IOCTL_XE_VM_CREATE', createArgs(0)), 0);
  t.equal(k.file.vms.get(2)!.asid, 2, 'ASIDs are cyclic');
  t.equal(k.call('DRM_IOCTL_XE_VM_DESTROY', { vm_id: 1, pad: 0, reserved: [0n, 0n] }), 0);
  t.equal(vm.closed, true, 'destroyed VM is closed (size 0)');
  t.equal(vm.pt, null, 'its page tables are freed with the last reference');
  t.equal(vm.defaultBindQueue, null, 'its default bind queue is gone');
  t.equal(k.call('DRM_IOCTL_XE_VM_CREATE', createArgs(0)), 0);
  t.equal(k.file.vms.get(1)!.asid, 3, 'a freed ASID is not reused at once');
});

t.test('cases 3-6: argument checks, nothing created on failure', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  t.equal(vmCreate(p, fd, { extensions: 0x1000n }).errno, errno.EINVAL, 'case 3: extensions');
  t.equal(vmCreate(p, fd, { flags: 0x8 }).errno, errno.EINVAL, 'case 4: flags 0x8 (NO_VM_OVERCOMMIT without FAULT_MODE)');
  t.equal(vmCreate(p, fd, { flags: 0x10 }).errno, errno.EINVAL, 'unknown flag bit');
  t.equal(vmCreate(p, fd, { flags: 0x8000_0000 }).errno, errno.EINVAL, 'unknown high flag bit');
  t.equal(vmCreate(p, fd, { reserved: [0n, 1n] }).errno, errno.EINVAL, 'case 5: reserved[1]');
  t.equal(vmCreate(p, fd, { reserved: [1n, 0n] }).errno, errno.EINVAL, 'reserved[0]');
  t.equal(vmCreate(p, fd, { flags: FAULT }).errno, errno.EINVAL, 'case 6: FAULT_MODE without LR_MODE');
  t.equal(vmCreate(p, fd, { flags: FAULT | NO_OVERCOMMIT }).errno, errno.EINVAL, 'FAULT without LR, with NO_VM_OVERCOMMIT');
  t.equal(vmCreate(p, fd, { flags: LR | NO_OVERCOMMIT }).errno, errno.EINVAL, 'NO_VM_OVERCOMMIT needs FAULT_MODE');
  for (const bad of [{ extensions: 1n }, { flags: 0x10 }, { reserved: [1n, 0n] }, { flags: FAULT }, { flags: LR | NO_OVERCOMMIT }]) {
    t.equal(vmCreate(p, fd, { ...bad, vm_id: 77 }).id, 77, `vm_id not written on failure (${Object.keys(bad)[0]})`);
  }
  t.same(vmCreate(p, fd), { rc: 0, errno: 0, id: 1 }, 'no failed call allocated an id');
  t.equal(vmCreate(p, fd, { flags: LR | FAULT | NO_OVERCOMMIT }).id, 2, 'NO_VM_OVERCOMMIT with fault mode (newest driver)');
  t.equal(vmCreate(p, fd, { flags: LR }).id, 3, 'LR');
  t.equal(vmCreate(p, fd, { flags: SCRATCH }).id, 4, 'SCRATCH');
  t.equal(vmCreate(p, fd, { flags: SCRATCH | LR | FAULT }).id, 5, 'case 8 on P: scratch with fault mode');
  await dev.close();
});

t.test('case 7: no fault mode without USM (TGL, DG2)', async (t) => {
  for (const profile of ['tgl', 'dg2'] as const) {
    const dev = await createDevice({ profile });
    const p = dev.process;
    const fd = p.open();
    t.equal(vmCreate(p, fd, { flags: LR | FAULT }).errno, errno.EINVAL, `${profile}: LR|FAULT`);
    t.equal(vmCreate(p, fd, { flags: SCRATCH | LR | FAULT }).errno, errno.EINVAL, `${profile}: SCRATCH|LR|FAULT`);
    // The USM check comes before the reserved check.
    t.equal(vmCreate(p, fd, { flags: FAULT, reserved: [1n, 0n] }).errno, errno.EINVAL);
    t.same(vmCreate(p, fd, { flags: LR | SCRATCH }), { rc: 0, errno: 0, id: 1 }, `${profile}: LR|SCRATCH is fine`);
    await dev.close();
  }
});

t.test('case 8: scratch with fault mode needs needs_scratch (PVC-like profile, in-process)', async (t) => {
  const pvc = kernel({ name: 'pvc-like', vaBits: 57, vmMaxLevel: 4, hasUsm: true, needsScratch: false });
  t.equal(pvc.call('DRM_IOCTL_XE_VM_CREATE', createArgs(SCRATCH | LR | FAULT)), -errno.EINVAL);
  t.equal(pvc.file.vms.size, 0);
  t.equal(pvc.call('DRM_IOCTL_XE_VM_CREATE', createArgs(LR | FAULT)), 0);
  t.equal(pvc.file.vms.get(1)!.size, 1n << 57n, 'a 57-bit VM');
  const lnl = kernel();
  t.equal(lnl.call('DRM_IOCTL_XE_VM_CREATE', createArgs(SCRATCH | LR | FAULT)), 0, 'P accepts it');
});

t.test('workaround 22014953428: SCRATCH forced before the checks, copied back', async (t) => {
  const k = kernel({ name: 'wa', hasUsm: true, needsScratch: false, wa22014953428: true });
  const args = createArgs(0);
  t.equal(k.call('DRM_IOCTL_XE_VM_CREATE', args), 0);
  t.equal(args.flags, SCRATCH, 'the user sees SCRATCH_PAGE in flags');
  t.equal(k.file.vms.get(1)!.scratchPage, true);
  t.equal(k.call('DRM_IOCTL_XE_VM_CREATE', createArgs(LR | FAULT)), -errno.EINVAL, 'fault mode now fails the scratch check');
  const off = kernel({ name: 'nowa' });
  const a2 = createArgs(0);
  t.equal(off.call('DRM_IOCTL_XE_VM_CREATE', a2), 0);
  t.equal(a2.flags, 0, 'off by default');
});

t.test('workaround 22014953428 on dg2 (DG2-G10): every VM gets SCRATCH_PAGE; flags copied back, failures too', async (t) => {
  for (const profile of ['dg2', 'lnl', 'bmg', 'tgl'] as const) {
    const dev = await createDevice({ profile });
    const p = dev.process;
    const fd = p.open();
    const wa = profile === 'dg2' ? SCRATCH : 0;
    const call = (f: Record<string, unknown>): [number, number, number, number] => {
      const r = doIoctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', { vm_id: 77, ...f } as never);
      return [r.rc, r.rc < 0 ? r.errno : 0, Number(r.out.flags), Number(r.out.vm_id)];
    };
    t.same(call({ flags: 0 }), [0, 0, wa, 1], `${profile}: flags 0 -> ${wa}`);
    t.same(call({ flags: LR }), [0, 0, LR | wa, 2], `${profile}: LR`);
    t.same(call({ extensions: 1n, flags: 0 }), [-1, errno.EINVAL, 0, 77], `${profile}: extensions fail before the workaround`);
    t.same(call({ flags: 0, reserved: [1n, 0n] }), [-1, errno.EINVAL, wa, 77], `${profile}: reserved -> EINVAL, flags as edited`);
    t.same(call({ flags: 0x100 }), [-1, errno.EINVAL, 0x100 | wa, 77], `${profile}: unknown flag -> EINVAL`);
    if (profile === 'dg2') t.same(call({ flags: LR | FAULT }), [-1, errno.EINVAL, LR | FAULT | SCRATCH, 77], 'dg2: no USM');
    t.equal(call({ flags: 0 })[3], 3, `${profile}: failures created no VM`);
    await dev.close();
  }
});

t.test('cases 9-10: VM_DESTROY argument checks', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  t.equal(vmCreate(p, fd).id, 1);
  t.equal(vmDestroy(p, fd, { vm_id: 1, pad: 1 }), errno.EINVAL, 'case 9: pad');
  t.equal(vmDestroy(p, fd, { vm_id: 1, reserved: [1n, 0n] }), errno.EINVAL, 'reserved[0]');
  t.equal(vmDestroy(p, fd, { vm_id: 1, reserved: [0n, 1n] }), errno.EINVAL, 'reserved[1]');
  t.equal(vmDestroy(p, fd, { vm_id: 77, pad: 1 }), errno.EINVAL, 'pad is checked before the lookup');
  t.equal(queueCreate(p, fd, 1).errno, 0, 'VM 1 still exists');
  t.equal(vmCreate(p, fd).id, 2, 'and still holds its id');
  t.equal(vmDestroy(p, fd, { vm_id: 77 }), errno.ENOENT, 'case 10: unknown id');
  t.equal(vmCreate(p, fd).id, 3, 'failed destroys left VMs 1 and 2 in place');
  t.equal(vmDestroy(p, fd, { vm_id: 0 }), errno.ENOENT, 'id 0');
  t.equal(vmDestroy(p, fd, { vm_id: 1 }), 0);
  t.equal(vmDestroy(p, fd, { vm_id: 1 }), errno.ENOENT, 'destroyed twice');
  await dev.close();
});

t.test('case 11: compute queues of a preempt-fence LR VM block VM_DESTROY', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  const lr = vmCreate(p, fd, { flags: LR }).id;
  const q = queueCreate(p, fd, lr).id;
  const q2 = queueCreate(p, fd, lr).id;
  t.equal(vmDestroy(p, fd, { vm_id: lr }), errno.EBUSY, 'EBUSY with two compute queues');
  t.equal(queueCreate(p, fd, lr).errno, 0, 'the VM is unchanged and usable');
  t.equal(queueDestroy(p, fd, q), 0);
  t.equal(queueDestroy(p, fd, 3), 0);
  t.equal(vmDestroy(p, fd, { vm_id: lr }), errno.EBUSY, 'still one queue');
  t.equal(queueDestroy(p, fd, q2), 0);
  t.equal(vmDestroy(p, fd, { vm_id: lr }), 0, 'destroyed once its queues are gone');

  // A bind queue is not a compute queue.
  const lr2 = vmCreate(p, fd, { flags: LR }).id;
  const inst = p.mem.alloc(8, 8);
  p.mem.write(inst, pack('drm_xe_engine_class_instance', { engine_class: C('DRM_XE_ENGINE_CLASS_VM_BIND') }));
  const bq = doIoctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', { width: 1, num_placements: 1, vm_id: lr2, instances: inst });
  t.equal(bq.rc, 0);
  t.equal(vmDestroy(p, fd, { vm_id: lr2 }), 0, 'a bind queue does not block');

  // Fault-mode LR and non-LR VMs do not count queues.
  const fault = vmCreate(p, fd, { flags: LR | FAULT }).id;
  const fq = queueCreate(p, fd, fault).id;
  t.equal(vmDestroy(p, fd, { vm_id: fault }), 0, 'fault mode: destroy succeeds with a queue alive');
  const plain = vmCreate(p, fd).id;
  const pq = queueCreate(p, fd, plain).id;
  t.equal(vmDestroy(p, fd, { vm_id: plain }), 0, 'dma-fence VM: destroy succeeds with a queue alive');
  const gp = doIoctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', { exec_queue_id: pq, property: 0 });
  t.equal(gp.rc, 0, 'the queue outlives the VM id (it keeps the closed VM)');
  t.equal(gp.out.value, 0n);
  t.equal(queueCreate(p, fd, plain).errno, errno.ENOENT, 'the destroyed VM id is gone');
  t.equal(queueDestroy(p, fd, fq), 0);
  t.equal(queueDestroy(p, fd, pq), 0);
  await dev.close();
});

t.test('case 12 (without mappings until VM_BIND exists): destroy, then the id is invalid', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  const vm = vmCreate(p, fd).id;
  t.equal(vmDestroy(p, fd, { vm_id: vm }), 0);
  const r = doIoctl(p, fd, 'DRM_IOCTL_XE_VM_BIND', { vm_id: vm, num_binds: 1 });
  t.equal(r.errno, errno.EINVAL, 'VM_BIND on the destroyed id is EINVAL');
  await dev.close();
});

t.test('file close releases VMs and queues; a new file starts at id 1', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  const p = dev.process;
  const fd = p.open();
  const lr = vmCreate(p, fd, { flags: LR }).id;
  t.equal(queueCreate(p, fd, lr).id, 1);
  t.equal(vmCreate(p, fd).id, 2);
  t.equal(p.close(fd), 0, 'close with a busy LR VM and a queue');
  const fd2 = p.open();
  t.equal(vmCreate(p, fd2).id, 1, 'VM ids start at 1 again');
  t.equal(queueCreate(p, fd2, 1).id, 1, 'queue ids start at 1 again');
  const fd3 = p.open();
  t.equal(vmCreate(p, fd3).id, 1, 'ids are per file');
  t.equal(vmDestroy(p, fd3, { vm_id: 1 }), 0);
  t.equal(vmDestroy(p, fd2, { vm_id: 2 }), errno.ENOENT, "another file's id space");
  await dev.close();
});

t.test('VMs and queues are per file: another file cannot use them', async (t) => {
  const dev = await createDevice({ profile: 'bmg' });
  const p = dev.process;
  const a = p.open();
  const b = p.open();
  t.equal(vmCreate(p, a).id, 1);
  t.equal(queueCreate(p, b, 1).errno, errno.ENOENT);
  t.equal(vmDestroy(p, b, { vm_id: 1 }), errno.ENOENT);
  t.equal(vmDestroy(p, a, { vm_id: 1 }), 0);
  await dev.close();
});
