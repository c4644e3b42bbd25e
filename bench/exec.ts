/**
 * EXEC benchmarks of issue 8 item 7, all ratios within one run:
 * - the EXEC round trip of an empty batch (MI_BATCH_BUFFER_END) with an out-syncobj and a
 *   SYNCOBJ_WAIT for it, against GET_CAP, on a worker device, in interleaved rounds;
 * - command-streamer throughput in MI_STORE_DWORD_IMM per second of CPU time (the machine may
 *   be shared; the streamer runs on this thread) through the page-table walk
 *   (every store on another 4K page, so the context's one-page data cache never serves it),
 *   with the MMU's TLB and without it (GpuMmu.tlbEnabled);
 * - a bind -> exec -> wait pipeline of small jobs on a worker device: each job binds a 4K BO
 *   at a new VA (out-syncobj), stores its number through that VA (in: the bind, out: a
 *   syncobj), and waits for the store; jobs per second.
 */
import { createDevice, IOCTL, pack } from '../src/index.js';
import { ENGINE_CLASS } from '../src/hw/profile.js';
import { Batch, miBatchBufferEnd, miStoreDwordImm } from '../src/uapi/gpu_commands.js';
import { C } from '../src/uapi/uapi.js';
import { xe_bo_create, xe_bo_map, xe_exec_queue_create_class, xe_vm_bind_sync, xe_vm_create } from '../src/userspace/igt.js';
import type { Process } from '../src/userspace/process.js';
import { csRig } from '../test/helpers/cs_rig.js';

type Log = (line: string) => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** ns per iteration of `body(n)`. */
function perOp(n: number, body: (n: number) => void): number {
  const t0 = process.hrtime.bigint();
  body(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

/**
 * ns of CPU time per iteration of `body(n)`: for single-threaded work on a shared machine (no
 * other thread of this process may be busy meanwhile).
 */
function cpuPerOp(n: number, body: (n: number) => void): number {
  const t0 = process.cpuUsage();
  body(n);
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / n;
}

const INF = (1n << 63n) - 1n;
const SIGNAL = C('DRM_XE_SYNC_FLAG_SIGNAL');
const SYNCOBJ = C('DRM_XE_SYNC_TYPE_SYNCOBJ');

/** An ioctl with a pre-packed argument that must succeed. */
function call(p: Process, fd: number, req: number, arg: bigint, what: string): void {
  if (p.ioctl(fd, req, arg) !== 0) throw new Error(`${what} failed: errno ${p.errno}`);
}

/** SYNCOBJ_WAIT on one handle, forever; its argument (handle array in the same block). */
function waitArg(p: Process, handle: number): bigint {
  const arg = p.mem.alloc(64, 8);
  p.mem.writeU32(arg + 56n, handle);
  p.mem.write(arg, pack('drm_syncobj_wait', { handles: arg + 56n, count_handles: 1, timeout_nsec: INF }));
  return arg;
}

/** (a) EXEC of an empty batch + SYNCOBJ_WAIT, against GET_CAP; (c) the bind -> exec -> wait pipeline. */
async function onWorker(log: Log, rounds: number, n: number, jobs: number): Promise<void> {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const vm = xe_vm_create(p, fd);
  const bo = xe_bo_create(p, fd, vm, 0x10000, 1);
  const cpu = xe_bo_map(p, fd, bo, 0x10000);
  const va = 0x1a0000n;
  xe_vm_bind_sync(p, fd, vm, bo, 0n, va, 0x10000n);
  const empty = new Batch();
  empty.emit(miBatchBufferEnd());
  p.mem.write(cpu, empty.bytes());
  const q = xe_exec_queue_create_class(p, fd, vm, C('DRM_XE_ENGINE_CLASS_RENDER'));

  const so = Number(p.mem.alloc(8, 8));
  const soArg = BigInt(so);
  call(p, fd, IOCTL('DRM_IOCTL_SYNCOBJ_CREATE'), soArg, 'SYNCOBJ_CREATE');
  const handle = p.mem.readU32(soArg);
  const sync = p.mem.alloc(48, 8);
  p.mem.write(sync, pack('drm_xe_sync', { type: SYNCOBJ, flags: SIGNAL, handle }));
  const execArg = p.mem.alloc(56, 8);
  p.mem.write(execArg, pack('drm_xe_exec', { exec_queue_id: q, num_syncs: 1, syncs: sync, address: va, num_batch_buffer: 1 }));
  const wArg = waitArg(p, handle);
  const capArg = p.mem.alloc(16, 8);
  p.mem.write(capArg, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));
  const EXEC = IOCTL('DRM_IOCTL_XE_EXEC');
  const WAIT = IOCTL('DRM_IOCTL_SYNCOBJ_WAIT');
  const CAP = IOCTL('DRM_IOCTL_GET_CAP');

  const cases: Record<string, (k: number) => void> = {
    getcap: (k) => {
      for (let i = 0; i < k; i++) call(p, fd, CAP, capArg, 'GET_CAP');
    },
    exec: (k) => {
      for (let i = 0; i < k; i++) {
        call(p, fd, EXEC, execArg, 'EXEC');
        call(p, fd, WAIT, wArg, 'SYNCOBJ_WAIT');
      }
    },
  };
  const s: Record<string, number[]> = { getcap: [], exec: [] };
  for (const body of Object.values(cases)) body(200);
  for (let r = 0; r < rounds; r++) for (const [name, body] of Object.entries(cases)) s[name].push(perOp(name === 'exec' ? n / 10 : n, body));
  const ratio = median(s.exec.map((v, i) => v / s.getcap[i]));
  const us = (ns: number): string => `${(ns / 1000).toFixed(2)} us`;
  log(`  EXEC (empty batch) + SYNCOBJ_WAIT       ${us(median(s.exec))}   ${ratio.toFixed(1)}x GET_CAP (${us(median(s.getcap))}) in the same rounds`);

  const t0 = process.hrtime.bigint();
  pipeline(p, fd, vm, q, jobs);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const perJob = (sec * 1e9) / jobs / median(s.getcap);
  log(`  bind -> exec -> wait pipeline           ${jobs} jobs in ${sec.toFixed(2)} s: ${Math.round(jobs / sec)} jobs/s (${perJob.toFixed(1)}x GET_CAP per job)`);
  await dev.close();
}

/** `jobs` rounds of VM_BIND (4K BO at a new VA) -> EXEC storing i through it -> wait; checks every store. */
function pipeline(p: Process, fd: number, vm: number, q: number, jobs: number): void {
  const bo = xe_bo_create(p, fd, vm, 0x1000, 1);
  const cpu = xe_bo_map(p, fd, bo, 0x1000);
  const batchBo = xe_bo_create(p, fd, vm, 0x1000, 1);
  const batchCpu = xe_bo_map(p, fd, batchBo, 0x1000);
  const batchVa = 0x10_0000n;
  xe_vm_bind_sync(p, fd, vm, batchBo, 0n, batchVa, 0x1000n);
  const create = p.mem.alloc(8, 8);
  const handles = [0, 1].map(() => {
    call(p, fd, IOCTL('DRM_IOCTL_SYNCOBJ_CREATE'), create, 'SYNCOBJ_CREATE');
    return p.mem.readU32(create);
  });
  const [bound, stored] = handles;
  const bindSync = p.mem.alloc(48, 8);
  p.mem.write(bindSync, pack('drm_xe_sync', { type: SYNCOBJ, flags: SIGNAL, handle: bound }));
  const execSyncs = p.mem.alloc(96, 8);
  p.mem.write(execSyncs, pack('drm_xe_sync', { type: SYNCOBJ, flags: 0, handle: bound }));
  p.mem.write(execSyncs + 48n, pack('drm_xe_sync', { type: SYNCOBJ, flags: SIGNAL, handle: stored }));
  const bindArg = p.mem.alloc(256, 8);
  const execArg = p.mem.alloc(56, 8);
  p.mem.write(execArg, pack('drm_xe_exec', { exec_queue_id: q, num_syncs: 2, syncs: execSyncs, address: batchVa, num_batch_buffer: 1 }));
  const wArg = waitArg(p, stored);
  const BIND = IOCTL('DRM_IOCTL_XE_VM_BIND');
  const EXEC = IOCTL('DRM_IOCTL_XE_EXEC');
  const WAIT = IOCTL('DRM_IOCTL_SYNCOBJ_WAIT');
  const pat = 2; // LNL write-back
  for (let i = 0; i < jobs; i++) {
    const va = 0x1_0000_0000n + BigInt(i) * 0x1000n;
    p.mem.write(bindArg, pack('drm_xe_vm_bind', {
      vm_id: vm, num_binds: 1, num_syncs: 1, syncs: bindSync,
      bind: { obj: bo, range: 0x1000n, addr: va, op: C('DRM_XE_VM_BIND_OP_MAP'), pat_index: pat },
    }));
    call(p, fd, BIND, bindArg, 'VM_BIND');
    const b = new Batch();
    b.emit(miStoreDwordImm(Number(va) + 0x10, i + 1));
    b.emit(miBatchBufferEnd());
    p.mem.write(batchCpu, b.bytes());
    call(p, fd, EXEC, execArg, 'EXEC');
    call(p, fd, WAIT, wArg, 'SYNCOBJ_WAIT');
    if (p.mem.readU32(cpu + 0x10n) !== i + 1) throw new Error(`pipeline job ${i}: the store did not arrive`);
  }
}

/** (b) MI_STORE_DWORD_IMM per second through the walk, with and without the TLB. */
export function csThroughput(log: Log, rounds: number): void {
  const PAGES = 512;
  const STORES = 16 * 1024;
  const VA = 0x100_0000;
  const r = csRig();
  r.mapRange(VA, 0x10_0000, PAGES);
  // The batch: STORES stores, each on the next page of a 2 MiB window (data below the rig's tables).
  const b = new Batch();
  for (let i = 0; i < STORES; i++) b.emit(miStoreDwordImm(VA + (i % PAGES) * 0x1000 + Math.floor(i / PAGES) * 4, i));
  b.emit(miBatchBufferEnd());
  const BATCH_VA = 0x800_0000;
  const batchPages = Math.ceil(b.size / 0x1000);
  r.mapRange(BATCH_VA, 0x30_0000, batchPages);
  r.load(0x30_0000, b);
  const engine = r.engine(ENGINE_CLASS.RENDER, { traceEntries: 0 });
  const ctx = r.ctx();
  const run = (): void => {
    ctx.start(BATCH_VA);
    const st = engine.run(ctx, STORES + 1);
    if (st.state !== 'done') throw new Error(`cs bench: ${st.state}`);
  };
  // Interleaved rounds, each mode run several times per sample after a warm-up (the JIT); CPU time.
  const sample = (tlb: boolean, runs: number): number => {
    r.mmu.tlbEnabled = tlb;
    r.mmu.invalidateAll();
    return cpuPerOp(runs, (k) => {
      for (let i = 0; i < k; i++) run();
    });
  };
  for (let i = 0; i < 10; i++) [true, false].forEach((tlb) => sample(tlb, 2));
  const walks0 = r.mmu.walks;
  sample(true, 4);
  const hitWalks = r.mmu.walks - walks0;
  const s: Record<string, number[]> = { on: [], off: [] };
  for (let i = 0; i < rounds; i++) {
    s.on.push(sample(true, 4));
    s.off.push(sample(false, 4));
  }
  r.mmu.tlbEnabled = true;
  const withTlb = (STORES / median(s.on)) * 1e9;
  const without = (STORES / median(s.off)) * 1e9;
  const ratio = median(s.off.map((v, i) => v / s.on[i]));
  const m = (v: number): string => `${(v / 1e6).toFixed(2)} M/s`;
  if (r.u32(0x10_0000 + 15 * 0x1000 + 4) !== PAGES + 15) throw new Error('cs bench: the stores did not land');
  log(`  MI_STORE_DWORD_IMM through the walk     ${m(withTlb)} per CPU second with the TLB (target >= 10 M/s; ${hitWalks} walks in 4 runs of ${STORES} stores)`);
  log(`                                          ${m(without)} without it (a 5-level walk per store and per fetched page): ${ratio.toFixed(1)}x slower`);
}

/** All EXEC benchmarks. */
export async function execBenchmarks(log: Log, rounds: number, n: number): Promise<void> {
  log('  EXEC, command streamer and pipeline (issue 8):');
  await onWorker(log, rounds, n, Number(process.env.XE_EMU_BENCH_JOBS ?? 10_000));
  csThroughput(log, rounds);
}
