/**
 * Fuzz campaigns: episodes of generated programs on fresh in-process machines, the
 * minimiser (delta debugging down to a short program that still shows the same finding) and
 * the reproducer printout.
 */
import * as ch from '../uapi/channel.js';
import { formatIoctl } from '../uapi/format.js';
import { IOCTL_LIST } from '../uapi/uapi.js';
import { Executor, type Finding, type Step } from './exec.js';
import { Generator } from './gen.js';

const IOCTL_NAMES = new Map(IOCTL_LIST.map((io) => [io.request, io.name]));

/** Name of an ioctl request for findings: the table's name, or its hex number. */
export function requestName(r: number): string {
  return IOCTL_NAMES.get(r >>> 0) ?? `ioctl 0x${(r >>> 0).toString(16)}`;
}

/** The seed of episode `i` of a campaign seeded `seed` (a 32-bit mix, never 0). */
export function episodeSeed(seed: number, i: number): number {
  let x = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0 || 1;
}

/** A campaign's totals, or its first finding (minimised). */
export interface CampaignResult {
  ioctls: number;
  episodes: number;
  ms: number;
  finding: { seed: number; finding: Finding; program: Step[] } | null;
}

/**
 * Runs episodes of `seed` until `count` ioctls have been issued or one shows a finding
 * (then minimised unless `minimiseFinding` is false). `progress` is called after each episode.
 */
export function runCampaign(seed: number, count: number, opts: EpisodeOptions & { minimiseFinding?: boolean; progress?: (r: CampaignResult) => void }): CampaignResult {
  const t0 = performance.now();
  const res: CampaignResult = { ioctls: 0, episodes: 0, ms: 0, finding: null };
  let found: Episode | null = null;
  // Stack traces of the kernel's many Errno throws cost more than the calls; the
  // reproducer is replayed with them for the report.
  const traces = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    while (res.ioctls < count && !found) {
      const ep = runEpisode(episodeSeed(seed, res.episodes), opts);
      res.ioctls += ep.ioctls;
      res.episodes++;
      res.ms = performance.now() - t0;
      if (ep.finding) found = ep;
      else opts.progress?.(res);
    }
  } finally {
    Error.stackTraceLimit = traces;
  }
  if (found?.finding) {
    const program = opts.minimiseFinding === false ? found.program : minimise(found.program, found.finding, opts.ignore);
    res.finding = { seed: found.seed, finding: replay(program, opts.ignore) ?? found.finding, program };
  }
  return res;
}

/** The outcome of one episode. */
export interface Episode {
  seed: number;
  finding: Finding | null;
  program: Step[];
  ioctls: number;
}

/** Episode options. */
export interface EpisodeOptions {
  /** Steps per episode. */
  steps: number;
  /** Snapshot the state around every n-th ioctl (1 = all). */
  checkEvery: number;
  /** Kinds of finding not to report (known bugs being fixed elsewhere). */
  ignore?: readonly string[];
}

/** Runs one generated episode of `seed` until a finding or its last step, then the teardown oracle. */
export function runEpisode(seed: number, opts: EpisodeOptions): Episode {
  const ex = new Executor(opts.checkEvery, requestName, new Set(opts.ignore));
  const gen = new Generator(seed, () => ex.m.now);
  const program: Step[] = [];
  try {
    let finding: Finding | null = null;
    for (let i = 0; i < opts.steps && !finding; i++) {
      const s = gen.next((slot) => ex.m.idle(slot));
      program.push(s);
      const r = ex.exec(i, s);
      finding = r.finding;
      gen.observe(r.result);
    }
    finding ??= ex.finish(program.length);
    return { seed, finding, program, ioctls: ex.ioctls };
  } finally {
    ex.dispose();
  }
}

/** Replays a recorded program (steps whose thread is gone or busy are skipped); its finding. */
export function replay(program: readonly Step[], ignore: readonly string[] = []): Finding | null {
  const ex = new Executor(1, requestName, new Set(ignore));
  try {
    for (let i = 0; i < program.length; i++) {
      const f = ex.exec(i, program[i]).finding;
      if (f) return f;
    }
    return ex.finish(program.length);
  } finally {
    ex.dispose();
  }
}

function same(a: Finding | null, b: Finding): boolean {
  return a !== null && a.kind === b.kind && a.what === b.what;
}

/**
 * ddmin: the shortest program found by removing chunks (halves, quarters, ... single steps)
 * while the replay still shows a finding of the same kind on the same call. The program is
 * first cut after the finding's step.
 */
export function minimise(program: readonly Step[], target: Finding, ignore: readonly string[] = []): Step[] {
  let cur = program.slice(0, target.step + 1);
  if (!same(replay(cur, ignore), target)) cur = [...program];
  let n = 2;
  while (cur.length >= 2) {
    const chunk = Math.ceil(cur.length / n);
    let cut = false;
    for (let at = 0; at < cur.length; at += chunk) {
      const cand = [...cur.slice(0, at), ...cur.slice(at + chunk)];
      if (same(replay(cand, ignore), target)) {
        cur = cand;
        n = Math.max(n - 1, 2);
        cut = true;
        break;
      }
    }
    if (!cut) {
      if (chunk === 1) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  return cur;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const SYS_NAMES = new Map<number, string>(Object.entries(ch.SYS).map(([k, v]) => [v, k.toLowerCase()]));

/** One step as readable TypeScript-like lines (its memory writes, then the call; decoded structs, concrete values). */
export function formatStep(s: Step): string[] {
  return formatCall(s).split('\n');
}

function formatCall(s: Step): string {
  switch (s.op) {
    case 'tick':
      return `clock.advance(${s.ns}n);`;
    case 'spawn':
      return `t${s.slot}.spawnProcess(); // + mmapAnon(scratch)`;
    case 'sys':
      return `t${s.slot}.${SYS_NAMES.get(s.nr) ?? `sys${s.nr}`}(${s.args.map((a) => (a > 0xffffn ? `0x${a.toString(16)}n` : `${a}n`)).join(', ')});`;
    case 'ioctl': {
      const mem = s.mem.map(([a, b]) => `mem.write(0x${a.toString(16)}n, hex'${hex(b)}');\n`).join('');
      return `${mem}t${s.slot}.ioctl(${s.fd}, ${formatIoctl(s.request, s.arg)}, argp=0x${s.argp.toString(16)}n);`;
    }
  }
}

/** The reproducer printout of a finding (`steps`: the episode length, for the replay command). */
export function formatReproducer(seed: number, f: Finding, program: readonly Step[], steps = 3000): string {
  const lines = [
    `FINDING (${f.kind}) in ${f.what}, episode seed ${seed}: ${f.detail}`,
    `minimised program (${program.length} steps; t<N> is the thread on channel slot N; process 1 owns slot 0, every process maps 64 KiB of scratch at 0x7f0000000000 first):`,
    ...program.flatMap((s, i) => formatStep(s).map((l, k) => `  ${k ? ' '.repeat(`/* ${i} */`.length) : `/* ${i} */`} ${l}`)),
    `replay: npm run fuzz -- --episode-seed ${seed} --steps ${steps}`,
  ];
  return lines.join('\n');
}
