/**
 * npm run bench: ioctl round-trip costs, as ratios within one run. The baseline is a raw
 * SharedArrayBuffer ping-pong between the same two threads (this one and the kernel worker)
 * with the channel's own spin-then-sleep protocol; getpid() adds the system-call transport,
 * GET_CAP everything an ioctl does (dispatch, copy in/out through the page table, the
 * handler). Baseline and calls are measured in interleaved rounds and each ratio is the
 * median of the per-round ratios, so machine noise hits both sides of a ratio alike.
 *
 * Last, the GPU VA manager alone (no ioctl): a bind + unbind of one 4K VMA in the middle of N
 * VMAs (ops generation, commit, finish), for N = 1e3 ... 1e6, as ratios to N = 1e3; O(log n)
 * work keeps the ratios near log(N) / log(1e3).
 *
 * Then the page-table figures of bench/vm.ts: 1 GiB XePt binds, page-table bytes against the
 * minimum, and the bind scaling with page tables (gpuvm + XePt); then bench/vm_ioctl.ts: the
 * same through the VM_BIND ioctl on worker devices (1 GiB of BMG VRAM, and the bind + unbind
 * scaling as ratios to N = 1e3 and to GET_CAP); then the EXEC figures of bench/exec.ts: EXEC
 * round trip against GET_CAP, command-streamer stores per second with and without the TLB,
 * and a bind -> exec -> wait pipeline in jobs per second; then bench/replay.ts: the replay
 * throughput of a trace of 200,000 GET_CAP ioctls in ioctls per second; last, the cost of
 * recording a trace (bench/record.ts): sample flows recorded against unrecorded.
 */
import { DrmGpuvm } from '../src/kernel/drm/drm_gpuvm.js';
import { createDevice, IOCTL, pack } from '../src/index.js';
import { __ioctl } from '../src/userspace/igt.js';
import { C } from '../src/uapi/uapi.js';
import { createRegions, PageAllocator, PhysicalMemory } from '../src/hw/memory.js';
import { GpuMmu, isFault } from '../src/hw/mmu.js';
import { encodeLeaf, encodePde, ptGeometry, PtMemory } from '../src/hw/pagetable.js';
import { PROFILES } from '../src/hw/profile.js';
import { execBenchmarks } from './exec.js';
import { recordBenchmarks } from './record.js';
import { replayBenchmarks } from './replay.js';
import { vmBenchmarks } from './vm.js';
import { vmIoctlBenchmarks } from './vm_ioctl.js';

const N = Number(process.env.XE_EMU_BENCH_N ?? 20_000);
const ROUNDS = Number(process.env.XE_EMU_BENCH_ROUNDS ?? 9);

/** ns per iteration of `body(n)`. */
function perOp(n: number, body: (n: number) => void): number {
  const t0 = process.hrtime.bigint();
  body(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs each case once per round, interleaved (after a warm-up); per-case samples in ns. */
function rounds(cases: Record<string, (n: number) => void>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, body] of Object.entries(cases)) {
    body(2000);
    out[name] = [];
  }
  for (let r = 0; r < ROUNDS; r++) for (const [name, body] of Object.entries(cases)) out[name].push(perOp(N, body));
  return out;
}

const dev = await createDevice();
const p = dev.process;
const fd = p.open();

const capArg = p.mem.alloc(16, 8);
const getCap = IOCTL('DRM_IOCTL_GET_CAP');
p.mem.write(capArg, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));

const createArg = p.mem.alloc(8, 8);
const destroyArg = p.mem.alloc(8, 8);
const syncCreate = IOCTL('DRM_IOCTL_SYNCOBJ_CREATE');
const syncDestroy = IOCTL('DRM_IOCTL_SYNCOBJ_DESTROY');

const queryId = C('DRM_XE_DEVICE_QUERY_ENGINES');
const size = Number(__ioctl(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', { query: queryId }).out.size);
const data = p.mem.alloc(size, 8);
const qArg = p.mem.alloc(40, 8);
p.mem.write(qArg, pack('drm_xe_device_query', { query: queryId, size, data }));
const deviceQuery = IOCTL('DRM_IOCTL_XE_DEVICE_QUERY');

const check = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`${what} failed: errno ${p.errno}`);
};

const s = rounds({
  raw: (n) => p.rawPingPong(n),
  getpid: (n) => {
    for (let i = 0; i < n; i++) check(p.getpid() === p.pid, 'getpid');
  },
  getcap: (n) => {
    for (let i = 0; i < n; i++) check(p.ioctl(fd, getCap, capArg) === 0, 'GET_CAP');
  },
  syncobj: (n) => {
    for (let i = 0; i < n / 4; i++) {
      p.mem.writeU32(createArg, 0);
      check(p.ioctl(fd, syncCreate, createArg) === 0, 'SYNCOBJ_CREATE');
      p.mem.writeU32(destroyArg, p.mem.readU32(createArg));
      check(p.ioctl(fd, syncDestroy, destroyArg) === 0, 'SYNCOBJ_DESTROY');
    }
  },
  query: (n) => {
    for (let i = 0; i < n / 4; i++) check(p.ioctl(fd, deviceQuery, qArg) === 0, 'DEVICE_QUERY');
  },
});
const sleepNs = perOp(N / 20, (n) => p.rawPingPong(n, false));
await dev.close();

const ratio = (name: string): number => median(s[name].map((v, i) => v / s.raw[i]));
const us = (ns: number): string => `${(ns / 1000).toFixed(2)} us`;
const syncNs = median(s.syncobj) * 4;
const queryNs = median(s.query) * 4;
console.log(`xe-emu bench: medians of ${ROUNDS} interleaved rounds of ${N} round trips`);
console.log(`  raw SAB ping-pong (same two threads)  ${us(median(s.raw))} per round trip (spin, then Atomics.wait)`);
console.log(`  getpid() system call                 ${us(median(s.getpid))}   ${ratio('getpid').toFixed(2)}x raw (transport alone)`);
console.log(`  DRM_IOCTL_GET_CAP round trip          ${us(median(s.getcap))}   ${ratio('getcap').toFixed(2)}x raw (target <= 2x)`);
console.log(`  SYNCOBJ create + destroy pair         ${us(syncNs)}   ${Math.round(1e9 / syncNs)} pairs/s`);
console.log(`  DEVICE_QUERY ENGINES (${size} bytes)      ${us(queryNs)}   ${Math.round(1e9 / queryNs)} queries/s`);
console.log(`  raw ping-pong, Atomics.wait only      ${us(sleepNs)} (context: a transport without spinning)`);

/** ns per bind + unbind of a 4K VMA into a hole in the middle of `n` 4K VMAs, median of ROUNDS rounds. */
function gpuvmBindUnbind(n: number, pairs: number): number {
  const obj = {};
  const vm = new DrmGpuvm<object>({ start: 0n, range: 1n << 48n });
  const mapOps = (start: bigint): ReturnType<typeof vm.smMapOpsCreate> =>
    vm.smMapOpsCreate({ start, range: 0x1000n, obj, offset: 0n, flags: 0, attrs: undefined });
  const apply = (ops: ReturnType<typeof vm.smMapOpsCreate>): void => {
    for (const op of ops) vm.commit(op);
    vm.finish(ops);
  };
  for (let i = 0n; i < BigInt(n); i++) apply(mapOps(i * 0x2000n));
  const hole = BigInt(n >> 1) * 0x2000n + 0x1000n;
  const body = (k: number): void => {
    for (let i = 0; i < k; i++) {
      apply(mapOps(hole));
      apply(vm.smUnmapOpsCreate(hole, 0x1000n));
    }
  };
  body(pairs);
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(perOp(pairs, body));
  return median(samples);
}

const sizes = [1e3, 1e4, 1e5, 1e6];
const gpuvmNs = sizes.map((n) => gpuvmBindUnbind(n, 5000));
console.log('  drm_gpuvm bind + unbind of one 4K VMA among N VMAs (ops, commit, finish):');
sizes.forEach((n, i) => console.log(`    N = ${n.toExponential(0).replace('+', '')}  ${us(gpuvmNs[i])}   ${(gpuvmNs[i] / gpuvmNs[0]).toFixed(2)}x N = 1e3`));

// GPU MMU walker (src/hw/mmu.ts) on a 5-level LNL tree of 512 4K pages, as ratios to an 8-byte
// physical read (what each GPU access costs anyway) in the same rounds; plus the same walk done
// with BigInt entries, the representation pagetable.ts avoids.
const gMem = new PhysicalMemory(createRegions(64 << 20, []));
const gPtm = new PtMemory(gMem, ptGeometry(PROFILES.lnl));
const gAlloc = new PageAllocator(gMem.regions[0]);
const gRoot = gPtm.allocTable(gAlloc)!;
let gTable = gRoot;
for (let level = 4; level > 0; level--) {
  const child = gPtm.allocTable(gAlloc)!;
  gPtm.writeEntry(gTable, 0, encodePde(gPtm.tableAddr(child), 0));
  gTable = child;
}
for (let i = 0; i < 512; i++) gPtm.writeEntry(gTable, i, encodeLeaf(0, 0x100_0000 + i * 4096, 2));
const gMmu = new GpuMmu(gPtm, gPtm.tableAddr(gRoot));
const gBuf = new Uint8Array(8);
const gView = new DataView(gMem.regions[0].sab);
const bigWalk = (va: number): bigint => {
  let table = BigInt(gPtm.tableAddr(gRoot));
  const v = BigInt(va);
  for (let level = 4; ; level--) {
    const e = gView.getBigUint64(Number(table + ((v >> BigInt(12 + 9 * level)) & 511n) * 8n), true);
    if (!(e & 1n)) return -1n;
    if (level === 0) return (e & 0x3fff_ffff_f000n) + (v & 0xfffn);
    table = e & 0x3fff_ffff_f000n;
  }
};
const gCheck = (ok: boolean): void => {
  if (!ok) throw new Error('GPU walk failed');
};
const g = rounds({
  phys8: (n) => {
    for (let i = 0; i < n; i++) gMem.copyOut(0x100_0000 + (i & 511) * 4096, gBuf, 0, 8);
  },
  hit: (n) => {
    for (let i = 0; i < n; i++) gCheck(!isFault(gMmu.translate((i & 511) * 4096)));
  },
  cold: (n) => {
    for (let i = 0; i < n; i++) {
      gMmu.invalidateRange(0, 2 ** 48); // empties the one-entry TLB without reallocating the Map
      gCheck(!isFault(gMmu.translate((i & 511) * 4096)));
    }
  },
  bigint: (n) => {
    for (let i = 0; i < n; i++) gCheck(bigWalk((i & 511) * 4096) >= 0n);
  },
});
const gRatio = (name: string): string => median(g[name].map((v, i) => v / g.phys8[i])).toFixed(1);
const ns = (name: string): string => `${median(g[name]).toFixed(0)} ns`;
console.log(`  GPU MMU translate, TLB hit            ${ns('hit')}   ${gRatio('hit')}x an 8-byte physical read (${ns('phys8')})`);
console.log(`  GPU MMU translate, cold 5-level walk  ${ns('cold')}   ${gRatio('cold')}x an 8-byte physical read`);
console.log(`  bare BigInt walk (no decode, no TLB)  ${ns('bigint')}   ${gRatio('bigint')}x an 8-byte physical read`);

vmBenchmarks((line) => console.log(line), ROUNDS);
await vmIoctlBenchmarks((line) => console.log(line), ROUNDS);
await execBenchmarks((line) => console.log(line), ROUNDS, N);
await replayBenchmarks((line) => console.log(line), Number(process.env.XE_EMU_BENCH_REPLAY_N ?? 200_000));
await recordBenchmarks((line) => console.log(line), ROUNDS);
