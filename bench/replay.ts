/**
 * Replay throughput (issue 9): a trace of N trivial ioctls (DRM_IOCTL_GET_CAP, each with its
 * struct read and written back) replayed with replayTrace, in ioctls per second of wall time
 * (decode, posting, comparison and device boot included; target >= 200,000/s) and for the
 * replay loop alone (from the first progress report to the last), for decoding plus the loop
 * (the per-call work, the device boot left out), and the first and the loop as a ratio to the
 * rate of the same ioctl called directly, unrecorded, on a device.
 *
 * The trace is made from a recorded program (open, malloc, one GET_CAP) whose GET_CAP record
 * is repeated with fresh `seq` numbers, so recording N calls is not part of the figure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevice, IOCTL, pack, replayTrace } from '../src/index.js';
import { decodeTrace, encodeHeader, encodeRecord, type IoctlRecord } from '../src/uapi/trace.js';
import { C } from '../src/uapi/uapi.js';

type Log = (line: string) => void;

/** A trace of `n` GET_CAP ioctls on one fd. */
async function getCapTrace(n: number): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'xe-bench-replay-'));
  const path = join(dir, 'getcap.xetrace');
  try {
    const dev = await createDevice({ record: path });
    const p = dev.process;
    const fd = p.open();
    const arg = p.mem.alloc(16, 8);
    p.mem.write(arg, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));
    if (p.ioctl(fd, IOCTL('DRM_IOCTL_GET_CAP'), arg) !== 0) throw new Error(`GET_CAP failed: errno ${p.errno}`);
    await dev.close();
    const tr = decodeTrace(readFileSync(path));
    const cap = tr.records.find((r) => r.type === 'ioctl') as IoctlRecord;
    const before = tr.records.filter((r) => r.seq < cap.seq);
    const calls = Array.from({ length: n }, (_, i) => encodeRecord({ ...cap, seq: cap.seq + i }));
    return Buffer.concat([encodeHeader(tr.header), ...before.map((r) => encodeRecord(r)), ...calls]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GET_CAP calls per second made directly on a device (no trace). */
async function directRate(n: number): Promise<number> {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const arg = p.mem.alloc(16, 8);
  p.mem.write(arg, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));
  const req = IOCTL('DRM_IOCTL_GET_CAP');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (p.ioctl(fd, req, arg) !== 0) throw new Error('GET_CAP failed');
  const ns = Number(process.hrtime.bigint() - t0);
  await dev.close();
  return (n * 1e9) / ns;
}

/** Prints the replay throughput (end to end, and of the replay loop alone) and its ratio to direct calls. */
export async function replayBenchmarks(log: Log, n = 200_000): Promise<void> {
  const trace = await getCapTrace(n);
  // The loop alone: from the first progress report (decoded, device booted) to the last.
  const marks: Array<[number, bigint]> = [];
  const t0 = process.hrtime.bigint();
  const r = await replayTrace(trace, { progress: (done) => marks.push([done, process.hrtime.bigint()]) });
  const ns = Number(process.hrtime.bigint() - t0);
  if (r.divergences.length || r.summary.DRM_IOCTL_GET_CAP?.ok !== n) throw new Error(`replay bench: ${JSON.stringify(r.divergences[0] ?? r.summary)}`);
  const [first, last] = [marks[0], marks[marks.length - 1]];
  const loopNs = Number(last[1] - first[1]);
  const loop = ((last[0] - first[0]) * 1e9) / loopNs;
  const rate = (n * 1e9) / ns;
  // Per-ioctl work without the device boot (a cost per trace, not per call): decoding, timed
  // on its own, plus the loop.
  const d0 = process.hrtime.bigint();
  decodeTrace(trace);
  const perCall = (n * 1e9) / (Number(process.hrtime.bigint() - d0) + (loopNs * n) / (last[0] - first[0]));
  const direct = await directRate(n);
  log(`  replay of ${n} GET_CAP ioctls (${(trace.length / 1e6).toFixed(1)} MB trace), decode and boot included  ${Math.round(rate)} ioctls/s (target >= 200000)`);
  log(`    decode + replay loop (device boot excluded)  ${Math.round(perCall)} ioctls/s (target >= 200000)`);
  log(`    the replay loop alone  ${Math.round(loop)} ioctls/s; direct GET_CAP calls ${Math.round(direct)}/s: replay ${(rate / direct).toFixed(2)}x, loop ${(loop / direct).toFixed(2)}x`);
}
