/**
 * The cost of recording a trace (issue 9): the UMD-style flows of the sample traces basic
 * (query, BO, map, bind, exec, wait, read back, with raw structs) and timeline (three queues
 * ordered by timeline points), run pair by pair alternately on a device that does not record
 * and on one that records to a file, in rounds; wall time per pair and the median of the
 * per-round ratios recorded / unrecorded (target <= 1.5x).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevice, type Device } from '../src/index.js';
import { basic } from '../examples/traces/basic.js';
import { timeline } from '../examples/traces/timeline.js';

type Log = (line: string) => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** ms of wall time of one basic + timeline pair on `dev`. */
function pair(dev: Device): number {
  const t0 = process.hrtime.bigint();
  basic(dev);
  timeline(dev);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * One round: `flows` pairs on each device, alternating pair by pair so that load from other
 * programs on the machine hits both sides alike; ms per pair on each.
 */
function round(plain: Device, recorded: Device, flows: number): { plain: number; recorded: number } {
  const sum = { plain: 0, recorded: 0 };
  for (let i = 0; i < flows; i++) {
    sum.plain += pair(plain);
    sum.recorded += pair(recorded);
  }
  return { plain: sum.plain / flows, recorded: sum.recorded / flows };
}

/** Recording overhead of the sample flows, `flows` runs per round. */
export async function recordBenchmarks(log: Log, rounds: number, flows = Number(process.env.XE_EMU_BENCH_FLOWS ?? 20)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xe-bench-record-'));
  const path = join(dir, 'bench.xetrace');
  const plain = await createDevice();
  const recorded = await createDevice({ record: path });
  try {
    round(plain, recorded, 5);
    const s = { plain: [] as number[], recorded: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const t = round(plain, recorded, flows);
      s.plain.push(t.plain);
      s.recorded.push(t.recorded);
    }
    await recorded.close();
    const ratio = median(s.recorded.map((v, i) => v / s.plain[i]));
    const kib = statSync(path).size / 1024 / ((rounds * flows + 5) * 2);
    log('  trace recording (issue 9): the basic + timeline sample flows, unrecorded vs recorded');
    log(`    unrecorded  ${median(s.plain).toFixed(2)} ms per basic + timeline pair`);
    log(`    recorded    ${median(s.recorded).toFixed(2)} ms   ${ratio.toFixed(2)}x unrecorded (target <= 1.5x), ${kib.toFixed(1)} KiB of trace per flow`);
  } finally {
    await plain.close();
    await recorded.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
