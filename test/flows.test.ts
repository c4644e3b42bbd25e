/**
 * IGT-style flows on a worker device (createDevice, as users call it), written with the IGT
 * helpers in the shape of IGT's xe_exec_store, xe_exec_basic, xe_vm (munmap-style unbinds),
 * xe_exec_fault_mode and xe_exec_system_allocator: the GPU writes real memory that the test
 * reads back through CPU mappings, userptrs or malloc'd memory. One device for the file; each
 * subtest makes its own fd, VMs and queues.
 */
import t, { type Test } from 'tap';
import { C, createDevice, type Process } from '../src/index.js';
import { Batch, miBatchBufferEnd, miCopyMemMem, miStoreDwordImm } from '../src/uapi/gpu_commands.js';
import { ECANCELED, EIO } from '../src/uapi/errno.js';
import {
  __ioctl, __xe_exec, __xe_wait_ufence, gem_close, syncobj_create, syncobj_destroy, syncobj_timeline_wait, syncobj_wait,
  xe_bind_exec_queue_create, xe_bo_create, xe_bo_map, xe_exec_queue_create, xe_exec_queue_create_class, xe_exec_queue_destroy,
  xe_exec_sync, xe_exec_wait, xe_for_each_engine, xe_spin_end, xe_spin_init, xe_spin_started, xe_va_bits,
  xe_vm_bind_async, xe_vm_bind_async_flags, xe_vm_bind_sync, xe_vm_bind_userptr_sync, xe_vm_create, xe_vm_destroy,
  xe_vm_unbind_async, xe_vm_unbind_sync, xe_wait_ufence, XE_SPIN,
} from '../src/userspace/igt.js';

const dev = await createDevice({ profile: 'lnl' });
t.teardown(() => dev.close());
const p: Process = dev.process;

const SYNCOBJ = C('DRM_XE_SYNC_TYPE_SYNCOBJ');
const TIMELINE = C('DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ');
const USER_FENCE = C('DRM_XE_SYNC_TYPE_USER_FENCE');
const SIGNAL = C('DRM_XE_SYNC_FLAG_SIGNAL');
const RENDER = C('DRM_XE_ENGINE_CLASS_RENDER');
const INF = (1n << 63n) - 1n;
const PAGE = 0x1000n;

const sig = (handle: number) => ({ type: SYNCOBJ, flags: SIGNAL, handle });
const wait = (handle: number) => ({ type: SYNCOBJ, flags: 0, handle });
const tlSig = (handle: number, point: bigint) => ({ type: TIMELINE, flags: SIGNAL, handle, timeline_value: point });
const tlWait = (handle: number, point: bigint) => ({ type: TIMELINE, flags: 0, handle, timeline_value: point });
const ufence = (addr: bigint, value: bigint) => ({ type: USER_FENCE, flags: SIGNAL, addr, timeline_value: value });

/** A batch of `cmds` then MI_BATCH_BUFFER_END, written at CPU address `cpu`. */
function writeBatch(cpu: bigint, ...cmds: number[][]): void {
  const b = new Batch();
  for (const c of cmds) b.emit(c);
  b.emit(miBatchBufferEnd());
  p.mem.write(cpu, b.bytes());
}

/** A fresh fd for one subtest, closed at its end. */
function open(t: Test): number {
  const fd = p.open();
  t.teardown(() => void p.close(fd));
  return fd;
}

/** EXEC_QUEUE_GET_PROPERTY BAN. */
function banned(fd: number, q: number): bigint {
  const r = __ioctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', { exec_queue_id: q, property: C('DRM_XE_EXEC_QUEUE_GET_PROPERTY_BAN') });
  if (r.err) throw new Error(`GET_PROPERTY: ${r.err}`);
  return r.out.value as bigint;
}

/** A system-memory BO of `size` bound at `va` (synchronously) and mapped: [handle, cpu]. */
function boAt(fd: number, vm: number, va: bigint, size: number): [number, bigint] {
  const bo = xe_bo_create(p, fd, vm, size, 1);
  const cpu = xe_bo_map(p, fd, bo, size);
  xe_vm_bind_sync(p, fd, vm, bo, 0n, va, BigInt(size));
  return [bo, cpu];
}

t.test('xe_exec_store: store-dword through a BO binding and through a userptr', async (t) => {
  const fd = open(t);
  const vm = xe_vm_create(p, fd);
  const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
  const va = 0x1a0000n;
  const [, cpu] = boAt(fd, vm, va, 0x10000);
  writeBatch(cpu, miStoreDwordImm(Number(va) + 0x100, 0xc0ffee));
  xe_exec_wait(p, fd, q, va);
  t.equal(p.mem.readU32(cpu + 0x100n), 0xc0ffee, 'the BO holds the value');

  // The userptr holds the batch too: the GPU fetches and stores through the same pages.
  const user = p.mmapAnon(2 * Number(PAGE));
  const uva = 0x40_0000n;
  xe_vm_bind_userptr_sync(p, fd, vm, user, uva, 2n * PAGE);
  writeBatch(user, miStoreDwordImm(Number(uva + PAGE) + 0x24, 0x5eed));
  xe_exec_wait(p, fd, q, uva);
  t.equal(p.mem.readU32(user + PAGE + 0x24n), 0x5eed, 'the malloc-style memory holds the value');
  t.equal(banned(fd, q), 0n);
  xe_vm_unbind_sync(p, fd, vm, 0n, uva, 2n * PAGE);
  t.equal(p.gpuRead(fd, vm, uva, 4)!.fault?.kind, 'not-present', 'unbound again');
});

t.test('xe_exec_basic: 8 VMs x 4 queues, each writing its own pattern at the same VAs', async (t) => {
  const fd = open(t);
  const engines = [...xe_for_each_engine(p, fd)].slice(0, 4);
  t.equal(engines.length, 4, 'four engines to spread the queues over');
  const va = 0x20_0000n;
  const vms = Array.from({ length: 8 }, () => {
    const vm = xe_vm_create(p, fd);
    const [bo, cpu] = boAt(fd, vm, va, 0x10000);
    return { vm, bo, cpu, queues: engines.map((e) => xe_exec_queue_create(p, fd, vm, e)) };
  });
  const outs: number[] = [];
  vms.forEach(({ cpu, queues }, v) =>
    queues.forEach((q, i) => {
      // Each queue has its own batch page and writes 16 dwords of its own pattern.
      const batchOff = BigInt(i) * PAGE;
      const data = Number(va) + 0x8000 + i * 0x100;
      writeBatch(cpu + batchOff, ...Array.from({ length: 16 }, (_, k) => miStoreDwordImm(data + 4 * k, pattern(v, i, k))));
      const so = syncobj_create(p, fd);
      outs.push(so);
      xe_exec_sync(p, fd, q, va + batchOff, [sig(so)]);
    }),
  );
  t.ok(syncobj_wait(p, fd, outs, INF, C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL')), 'all 32 jobs completed');
  let wrong = 0;
  vms.forEach(({ cpu }, v) => {
    for (let i = 0; i < 4; i++) for (let k = 0; k < 16; k++) if (p.mem.readU32(cpu + 0x8000n + BigInt(i * 0x100 + 4 * k)) !== pattern(v, i, k)) wrong++;
  });
  t.equal(wrong, 0, 'every VM holds exactly its own queues\' patterns');
  for (const { vm, bo, queues } of vms) {
    for (const q of queues) xe_exec_queue_destroy(p, fd, q);
    xe_vm_destroy(p, fd, vm);
    gem_close(p, fd, bo);
  }
  outs.forEach((so) => syncobj_destroy(p, fd, so));
});

function pattern(vm: number, q: number, k: number): number {
  return ((vm << 24) | (q << 16) | (k * 0x101)) >>> 0;
}

/**
 * A spinner on its own VM and queue, whose out-syncobj gates a pipeline: [release, its syncobj].
 * Nothing of the pipeline may run before release().
 */
function gate(fd: number): [() => void, number] {
  const vm = xe_vm_create(p, fd);
  const va = 0x10_0000n;
  const [, cpu] = boAt(fd, vm, va, 0x1000);
  p.mem.write(cpu, xe_spin_init({ addr: va }));
  const so = syncobj_create(p, fd);
  xe_exec_sync(p, fd, xe_exec_queue_create_class(p, fd, vm, RENDER), va, [sig(so)]);
  return [() => xe_spin_end(p, cpu), so];
}

for (const kind of ['syncobjs', 'timeline points'] as const) {
  t.test(`bind -> exec -> unbind pipelines ordered only by ${kind}`, async (t) => {
    const fd = open(t);
    const vm = xe_vm_create(p, fd);
    const bq = xe_bind_exec_queue_create(p, fd, vm);
    const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
    const [, bcpu] = boAt(fd, vm, 0x1a0000n, 0x10000);
    const [release, gated] = gate(fd);
    const N = 6;
    const bos = Array.from({ length: N }, () => xe_bo_create(p, fd, vm, 0x10000, 1));
    const cpus = bos.map((bo) => xe_bo_map(p, fd, bo, 0x10000));
    const tl = syncobj_create(p, fd);
    const bin = Array.from({ length: 3 * N }, () => syncobj_create(p, fd));
    let prev = wait(gated);
    let point = 0n;
    for (let i = 0; i < N; i++) {
      const va = 0x100_0000n + BigInt(i) * 0x10000n;
      writeBatch(bcpu + BigInt(i) * PAGE, miStoreDwordImm(Number(va) + 0x40, 0xab00 + i));
      // Each step waits for the one before it and signals the next: nothing else orders them.
      const step = (k: number) => {
        if (kind === 'timeline points') {
          const r = { in: prev, out: tlSig(tl, ++point) };
          prev = tlWait(tl, point);
          return [r.in, r.out];
        }
        const r = [prev, sig(bin[3 * i + k])];
        prev = wait(bin[3 * i + k]);
        return r;
      };
      xe_vm_bind_async(p, fd, vm, bq, bos[i], 0n, va, 0x10000n, step(0));
      xe_exec_sync(p, fd, q, 0x1a0000n + BigInt(i) * PAGE, step(1));
      xe_vm_unbind_async(p, fd, vm, bq, 0n, va, 0x10000n, step(2));
    }
    t.equal(p.vmInfo(fd, vm)!.vmas.length, 1, 'the VMA tree is already back to the batch BO');
    t.same(cpus.map((c) => p.mem.readU32(c + 0x40n)), Array(N).fill(0), 'no job has run before the gate opens');
    release();
    if (kind === 'timeline points') t.ok(syncobj_timeline_wait(p, fd, [tl], [point], INF), `the last point (${point}) signalled`);
    else t.ok(syncobj_wait(p, fd, [bin[3 * N - 1]], INF), 'the last unbind signalled');
    t.same(cpus.map((c) => p.mem.readU32(c + 0x40n)), Array.from({ length: N }, (_, i) => 0xab00 + i), 'each exec wrote through its binding');
    t.equal(banned(fd, q), 0n, 'no job faulted: each exec ran after its bind and before its unbind');
    t.equal(p.gpuRead(fd, vm, 0x100_0000n, 4)!.fault?.kind, 'not-present', 'the unbinds ran');
    t.same(p.vmCheck(fd, vm), [], 'the page tables match the VMA tree');
  });
}

t.test('xe_vm munmap-style: partial unbinds, then per-page GPU reads fault or succeed exactly per range', async (t) => {
  const fd = open(t);
  const vm = xe_vm_create(p, fd);
  const PAGES = 8;
  const va = 0x80_0000n;
  const bo = xe_bo_create(p, fd, vm, PAGES * 0x1000, 1);
  const cpu = xe_bo_map(p, fd, bo, PAGES * 0x1000);
  for (let i = 0; i < PAGES; i++) p.mem.writeU32(cpu + BigInt(i) * PAGE + 0x10n, 0x1000 + i);
  xe_vm_bind_sync(p, fd, vm, bo, 0n, va, BigInt(PAGES) * PAGE);
  // Holes at the front, in the middle (a REMAP into two VMAs) and at the end.
  xe_vm_unbind_sync(p, fd, vm, 0n, va, PAGE);
  xe_vm_unbind_sync(p, fd, vm, 0n, va + 3n * PAGE, 2n * PAGE);
  xe_vm_unbind_sync(p, fd, vm, 0n, va + 7n * PAGE, PAGE);
  const mapped = [false, true, true, false, false, true, true, false];
  t.same(p.vmInfo(fd, vm)!.vmas.filter((v) => v.start >= va).map((v) => [v.start - va, v.end - va]),
    [[PAGE, 3n * PAGE], [5n * PAGE, 7n * PAGE]], 'two VMAs are left');

  const res = 0x1a0000n;
  const [, rcpu] = boAt(fd, vm, res, 0x10000);
  for (let i = 0; i < PAGES; i++) p.mem.writeU32(rcpu + 0x8000n + BigInt(4 * i), 0xffff_ffff);
  for (let i = 0; i < PAGES; i++) {
    // One queue per page: a fault bans the queue it happens on.
    const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
    const b = res + BigInt(i) * PAGE;
    writeBatch(rcpu + BigInt(i) * PAGE, miCopyMemMem(Number(res) + 0x8000 + 4 * i, Number(va + BigInt(i) * PAGE) + 0x10));
    const so = syncobj_create(p, fd);
    xe_exec_sync(p, fd, q, b, [sig(so), ufence(res + 0x9000n + BigInt(8 * i), 1n)]);
    t.ok(syncobj_wait(p, fd, [so], INF), `page ${i}: the job fence signalled`);
    const got = p.mem.readU32(rcpu + 0x8000n + BigInt(4 * i));
    if (mapped[i]) {
      t.same([got, banned(fd, q), p.mem.readU64(rcpu + 0x9000n + BigInt(8 * i))], [0x1000 + i, 0n, 1n], `page ${i} (bound): copied, no ban, user fence written`);
    } else {
      t.same([got, banned(fd, q), p.mem.readU64(rcpu + 0x9000n + BigInt(8 * i))], [0xffff_ffff, 1n, 0n], `page ${i} (unbound): nothing copied, banned, no user fence`);
      t.equal(__xe_exec(p, fd, { exec_queue_id: q, address: b }), -ECANCELED, `page ${i}: a later EXEC on the queue is -ECANCELED`);
    }
  }
});

t.test('NULL (sparse) bindings read as zero and drop writes without a fault', async (t) => {
  const fd = open(t);
  const vm = xe_vm_create(p, fd);
  const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
  const res = 0x1a0000n;
  const [, rcpu] = boAt(fd, vm, res, 0x10000);
  const sparse = 0x1_0000_0000n;
  const so = syncobj_create(p, fd);
  xe_vm_bind_async_flags(p, fd, vm, 0, 0, 0n, sparse, 0x20_0000n, [sig(so)], C('DRM_XE_VM_BIND_FLAG_NULL'));
  t.ok(syncobj_wait(p, fd, [so], INF));
  p.mem.writeU32(rcpu + 0x8000n, 0xdead_beef);
  p.mem.writeU32(rcpu + 0x8004n, 0xdead_beef);
  writeBatch(rcpu,
    miStoreDwordImm(Number(sparse) + 0x1234 * 4, 0x77),
    miCopyMemMem(Number(res) + 0x8000, Number(sparse) + 0x1234 * 4),
    miCopyMemMem(Number(res) + 0x8004, Number(sparse) + 0x1f_f000));
  xe_exec_wait(p, fd, q, res);
  t.same([p.mem.readU32(rcpu + 0x8000n), p.mem.readU32(rcpu + 0x8004n)], [0, 0], 'both reads gave 0; the store was dropped');
  t.equal(banned(fd, q), 0n, 'no fault');
  t.same(p.vmInfo(fd, vm)!.vmas.find((v) => v.start === sparse)?.flags, ['NULL']);
});

t.test('a spinner released by a CPU write; a job that waits for it; a hang and the ban it causes', async (t) => {
  const fd = open(t);
  const vm = xe_vm_create(p, fd);
  const va = 0x1a0000n;
  const [, cpu] = boAt(fd, vm, va, 0x10000);
  const spinQ = xe_exec_queue_create_class(p, fd, vm, RENDER);
  const q = xe_exec_queue_create_class(p, fd, vm, C('DRM_XE_ENGINE_CLASS_COPY'));
  p.mem.write(cpu + 0x2000n, xe_spin_init({ addr: va + 0x2000n }));
  const spin = syncobj_create(p, fd);
  xe_exec_sync(p, fd, spinQ, va + 0x2000n, [sig(spin)]);
  writeBatch(cpu, miStoreDwordImm(Number(va) + 0x8000, 0x600d));
  const after = syncobj_create(p, fd);
  xe_exec_sync(p, fd, q, va, [wait(spin), sig(after)]);
  while (!xe_spin_started(p, cpu + 0x2000n)) await new Promise((r) => setTimeout(r, 1));
  t.notOk(syncobj_wait(p, fd, [spin, after], 0n), 'the spinner runs; the dependent job waits');
  t.equal(p.mem.readU32(cpu + 0x8000n), 0);
  xe_spin_end(p, cpu + 0x2000n);
  t.ok(syncobj_wait(p, fd, [after], INF), 'released, the dependent job completed');
  t.equal(p.mem.readU32(cpu + 0x8000n), 0x600d);
  t.equal(p.mem.readU32(cpu + 0x2000n + BigInt(XE_SPIN.END)), 0);

  // A batch with a garbage dword: an engine reset for the queue.
  const hq = xe_exec_queue_create_class(p, fd, vm, RENDER);
  writeBatch(cpu + 0x1000n, miStoreDwordImm(Number(va) + 0x8010, 1), [0xffff_ffff]);
  const hung = syncobj_create(p, fd);
  xe_exec_sync(p, fd, hq, va + 0x1000n, [sig(hung), ufence(va + 0x9000n, 5n)]);
  t.ok(syncobj_wait(p, fd, [hung], INF), 'the hung job\'s fence signalled');
  t.equal(p.mem.readU32(cpu + 0x8010n), 1, 'the commands before the garbage ran');
  t.equal(banned(fd, hq), 1n, 'the queue is banned');
  t.equal(__xe_exec(p, fd, { exec_queue_id: hq, address: va }), -ECANCELED, 'EXEC on it: -ECANCELED');
  t.equal(__xe_wait_ufence(p, fd, cpu + 0x9000n, 5n, hq, 1_000_000_000n).err, -EIO, 'WAIT_USER_FENCE naming it: -EIO, the user fence never came');
  writeBatch(cpu, miStoreDwordImm(Number(va) + 0x8000, 0x600e));
  xe_exec_wait(p, fd, q, va);
  t.equal(p.mem.readU32(cpu + 0x8000n), 0x600e, 'another queue on the VM goes on');
});

t.test('xe_exec_fault_mode: deferred binds serviced by GPU faults, user fences only', async (t) => {
  const fd = open(t);
  const vm = xe_vm_create(p, fd, C('DRM_XE_VM_CREATE_FLAG_LR_MODE') | C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE'));
  const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
  const uf = p.mem.alloc(8, 8);
  const va = 0x1a0000n;
  const bo = xe_bo_create(p, fd, vm, 0x10000, 1);
  const cpu = xe_bo_map(p, fd, bo, 0x10000);
  // No IMMEDIATE flag: the bind only records the VMA; the GPU's first access binds it.
  xe_vm_bind_async(p, fd, vm, 0, bo, 0n, va, 0x10000n, [ufence(uf, 1n)]);
  xe_wait_ufence(p, fd, uf, 1n, 0, INF);
  const vma = () => p.vmInfo(fd, vm)!.vmas.find((v) => v.start === va)!;
  t.same([vma().pteSizes, p.vmInfo(fd, vm)!.stats.leaves['4K'] + p.vmInfo(fd, vm)!.stats.leaves['64K']], [[], 0], 'the VMA is recorded, nothing is in the page tables yet');
  for (let i = 0; i < 4; i++) {
    writeBatch(cpu + BigInt(i) * PAGE, miStoreDwordImm(Number(va) + 0x8000 + 4 * i, 0xf00 + i));
    xe_exec_sync(p, fd, q, va + BigInt(i) * PAGE, [ufence(va + 0x9000n, BigInt(i + 1))]);
  }
  xe_wait_ufence(p, fd, cpu + 0x9000n, 4n, q, INF);
  t.same([0, 1, 2, 3].map((i) => p.mem.readU32(cpu + 0x8000n + BigInt(4 * i))), [0xf00, 0xf01, 0xf02, 0xf03], 'every batch ran');
  t.not(vma().pteSizes.length, 0, 'the faults bound the BO');
  t.equal(banned(fd, q), 0n);
});

t.test('xe_exec_system_allocator: a CPU_ADDR_MIRROR VM where the GPU reads and writes malloc\'d memory', async (t) => {
  const fd = open(t);
  const vm = xe_vm_create(p, fd, C('DRM_XE_VM_CREATE_FLAG_LR_MODE') | C('DRM_XE_VM_CREATE_FLAG_FAULT_MODE'));
  const q = xe_exec_queue_create_class(p, fd, vm, RENDER);
  const uf = p.mem.alloc(8, 8);
  xe_vm_bind_async_flags(p, fd, vm, 0, 0, 0n, 0n, 1n << BigInt(xe_va_bits(p, fd)), [ufence(uf, 1n)], C('DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR'));
  xe_wait_ufence(p, fd, uf, 1n, 0, INF);
  // Batch, source, destination and the EXEC user fence all in malloc'd memory, at GPU VA = CPU address.
  const batch = p.mem.alloc(0x1000, 0x1000);
  const data = p.mem.alloc(0x2000, 0x1000);
  const exUf = data + 0x1800n;
  for (let round = 1n; round <= 2n; round++) {
    p.mem.writeU32(data, 0x1234_0000 + Number(round));
    writeBatch(batch, miCopyMemMem(Number(data) + 0x1000, Number(data)), miStoreDwordImm(Number(data) + 0x1004, 0xabcd));
    xe_exec_sync(p, fd, q, batch, [ufence(exUf, round)]);
    xe_wait_ufence(p, fd, exUf, round, q, INF);
    t.equal(p.mem.readU32(data + 0x1000n), 0x1234_0000 + Number(round), `round ${round}: the GPU read what the CPU wrote`);
    t.equal(p.mem.readU32(data + 0x1004n), 0xabcd, `round ${round}: and the CPU reads what the GPU wrote`);
    p.mem.writeU32(data + 0x1004n, 0);
  }
  t.equal(banned(fd, q), 0n);
  const vmas = p.vmInfo(fd, vm)!.vmas;
  t.same(vmas.map((v) => v.flags), [['CPU_ADDR_MIRROR']], 'one mirror VMA');
});
