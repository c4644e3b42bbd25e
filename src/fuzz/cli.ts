#!/usr/bin/env node
/**
 * xe-emu's fuzzer: `npm run fuzz -- --seed N --count N`. Runs seeded episodes of generated
 * programs (many processes and threads, blocking calls with closes, exits, munmaps and dup'd
 * fds in their middle) on in-process kernels with a fake clock, checks the oracles, prints
 * ioctls per second and, on a finding, a minimised reproducer; exits 1 on a finding.
 */
import { Command } from 'commander';
import { formatReproducer, runCampaign, runEpisode, minimise, type CampaignResult } from './campaign.js';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
};

const program = new Command('xe-emu-fuzz')
  .description('Fuzz the xe-emu kernel in-process with seeded, reproducible programs')
  .option('--seed <n>', 'campaign seed', int, 1)
  .option('--count <n>', 'ioctls to issue in total', int, 1_000_000)
  .option('--steps <n>', 'steps per episode (one fresh machine each)', int, 3000)
  .option('--check-every <n>', 'snapshot the kernel state around every n-th ioctl (1 = all)', int, 1)
  .option('--episode-seed <n>', 'run only the episode of this seed (as printed with a finding)', int)
  .option('--ignore <kinds>', 'comma-separated kinds of finding not to report (bug, errno, state, munmap, hang, leak)', '')
  .option('--no-minimise', 'print the whole program of a finding');
program.parse();
const o = program.opts<{ seed: number; count: number; steps: number; checkEvery: number; episodeSeed?: number; minimise: boolean; ignore: string }>();
const opts = { steps: o.steps, checkEvery: Math.max(1, o.checkEvery), ignore: o.ignore.split(',').filter(Boolean) };

function rate(r: CampaignResult): string {
  return `${r.ioctls} ioctls in ${r.episodes} episodes, ${(r.ms / 1000).toFixed(1)} s, ${Math.round(r.ioctls / (r.ms / 1000))} ioctls/s`;
}

if (o.episodeSeed !== undefined) {
  const ep = runEpisode(o.episodeSeed, opts);
  if (!ep.finding) {
    console.log(`episode ${o.episodeSeed}: ${ep.ioctls} ioctls, no finding`);
  } else {
    const prog = o.minimise ? minimise(ep.program, ep.finding, opts.ignore) : ep.program;
    console.log(formatReproducer(ep.seed, ep.finding, prog, o.steps));
    process.exitCode = 1;
  }
} else {
  let last = performance.now();
  const r = runCampaign(o.seed, o.count, {
    ...opts,
    minimiseFinding: o.minimise,
    progress: (p) => {
      if (performance.now() - last < 5000) return;
      last = performance.now();
      console.log(`  ${rate(p)}`);
    },
  });
  console.log(`seed ${o.seed}: ${rate(r)}`);
  if (r.finding) {
    console.log(formatReproducer(r.finding.seed, r.finding.finding, r.finding.program, o.steps));
    process.exitCode = 1;
  } else {
    console.log('no finding');
  }
}
