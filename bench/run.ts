/**
 * npm run bench: ioctl round-trip costs, as ratios within one run. The baseline is a raw
 * SharedArrayBuffer ping-pong between the same two threads (this one and the kernel worker)
 * with the channel's own spin-then-sleep protocol; GET_CAP adds everything an ioctl does
 * (dispatch, copy in/out through the page table, decode/encode, the handler).
 */
import { createDevice, IOCTL, pack } from '../src/index.js';
import { __ioctl } from '../src/userspace/igt.js';
import { C } from '../src/uapi/uapi.js';

const N = Number(process.env.XE_EMU_BENCH_N ?? 50_000);

function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

/** Best of `rounds` runs of `n` iterations, in ns per iteration. */
function measure(n: number, rounds: number, body: (n: number) => void): number {
  body(Math.min(n, 2000));
  let best = Infinity;
  for (let r = 0; r < rounds; r++) best = Math.min(best, timeNs(() => body(n)) / n);
  return best;
}

const dev = await createDevice();
const p = dev.process;
const fd = p.open();

const capArg = p.mem.alloc(16, 8);
const getCap = IOCTL('DRM_IOCTL_GET_CAP');
p.mem.write(capArg, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));

const rawNs = measure(N, 5, (n) => p.rawPingPong(n));
const sleepNs = measure(N / 10, 3, (n) => p.rawPingPong(n, false));
const pidNs = measure(N, 5, (n) => {
  for (let i = 0; i < n; i++) if (p.getpid() !== p.pid) throw new Error('getpid');
});
const capNs = measure(N, 5, (n) => {
  for (let i = 0; i < n; i++) if (p.ioctl(fd, getCap, capArg) !== 0) throw new Error(`GET_CAP errno ${p.errno}`);
});

const createArg = p.mem.alloc(8, 8);
const destroyArg = p.mem.alloc(8, 8);
const syncCreate = IOCTL('DRM_IOCTL_SYNCOBJ_CREATE');
const syncDestroy = IOCTL('DRM_IOCTL_SYNCOBJ_DESTROY');
const syncNs = measure(N / 5, 3, (n) => {
  for (let i = 0; i < n; i++) {
    p.mem.writeU32(createArg, 0);
    if (p.ioctl(fd, syncCreate, createArg) !== 0) throw new Error(`SYNCOBJ_CREATE errno ${p.errno}`);
    p.mem.writeU32(destroyArg, p.mem.readU32(createArg));
    if (p.ioctl(fd, syncDestroy, destroyArg) !== 0) throw new Error(`SYNCOBJ_DESTROY errno ${p.errno}`);
  }
});

const queryId = C('DRM_XE_DEVICE_QUERY_ENGINES');
const probe = __ioctl(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', { query: queryId });
const size = Number(probe.out.size);
const data = p.mem.alloc(size, 8);
const qArg = p.mem.alloc(40, 8);
p.mem.write(qArg, pack('drm_xe_device_query', { query: queryId, size, data }));
const deviceQuery = IOCTL('DRM_IOCTL_XE_DEVICE_QUERY');
const queryNs = measure(N / 5, 3, (n) => {
  for (let i = 0; i < n; i++) if (p.ioctl(fd, deviceQuery, qArg) !== 0) throw new Error(`QUERY errno ${p.errno}`);
});

await dev.close();

const fmt = (ns: number): string => `${(ns / 1000).toFixed(2)} us`;
console.log(`xe-emu bench (best of runs, ${N} round trips each)`);
console.log(`  raw SAB ping-pong (same two threads) ${fmt(rawNs)} per round trip`);
console.log(`  raw ping-pong, Atomics.wait only     ${fmt(sleepNs)}   (no spinning: GET_CAP is ${(capNs / sleepNs).toFixed(2)}x of it)`);
console.log(`  getpid() system call                ${fmt(pidNs)}   ratio to raw ${(pidNs / rawNs).toFixed(2)}x (transport alone)`);
console.log(`  DRM_IOCTL_GET_CAP round trip         ${fmt(capNs)}   ratio to raw ${(capNs / rawNs).toFixed(2)}x (target <= 2x)`);
console.log(`  SYNCOBJ create+destroy pair          ${fmt(syncNs)}   ${Math.round(1e9 / syncNs)} pairs/s`);
console.log(`  DEVICE_QUERY ENGINES (${size} bytes)     ${fmt(queryNs)}   ${Math.round(1e9 / queryNs)} queries/s`);
