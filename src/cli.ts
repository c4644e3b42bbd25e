#!/usr/bin/env node
/**
 * xe-emu command line. commander parses the arguments: one subcommand per `program.command`
 * (later issues add more the same way); the work lives in the library. Usage errors go to
 * stderr with exit status 2; `--help` and `--version` print to stdout and exit 0.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { abiCheck, abiJson, formatAbiReport } from './uapi/abi.js';
import { decodeTrace, type Trace } from './uapi/trace.js';
import { formatHeader, formatRecord, recordJson, recordMatches, type RecordFilter } from './uapi/trace_decode.js';
import { DEMO_VALUE, runDemo } from './userspace/demo.js';
import { replayTrace, type ReplayReport } from './userspace/replay.js';

/** Exit status of a usage error (as getopt-based tools use). */
const USAGE = 2;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function abi(opts: { json?: boolean; check?: string; strict?: boolean }, cmd: Command): void {
  if (Boolean(opts.json) === (opts.check !== undefined)) {
    cmd.error('error: give exactly one of --json or --check <xe_drm.h>', { exitCode: USAGE });
  }
  if (opts.json) {
    if (opts.strict) cmd.error('error: --strict goes with --check', { exitCode: USAGE });
    // One line per member: [offset, size] pairs stay on one line.
    const text = JSON.stringify(abiJson(), null, 2).replace(/\[\s+(-?\d+),\s+(-?\d+)\s+\]/g, '[$1, $2]');
    process.stdout.write(`${text}\n`);
    return;
  }
  const report = abiCheck(opts.check as string, { strict: opts.strict });
  process.stdout.write(`${formatAbiReport(report)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

/** Options of `decode`. */
interface DecodeOpts {
  json?: boolean;
  ioctl?: string[];
  pid?: string[];
  partial?: boolean;
  all?: boolean;
}

/** The listing of `trace` (or its JSON Lines: the header, then one object per record). */
function listing(trace: Trace, filter: RecordFilter, json: boolean): string {
  const records = trace.records.filter((r) => recordMatches(r, filter));
  if (json) return [JSON.stringify({ type: 'header', ...trace.header }), ...records.map((r) => JSON.stringify(recordJson(r)))].join('\n');
  return [formatHeader(trace.header), ...records.map(formatRecord)].join('\n');
}

function decode(file: string, opts: DecodeOpts, cmd: Command): void {
  const pids = (opts.pid ?? []).map(Number);
  if (pids.some((p) => !Number.isInteger(p) || p <= 0)) cmd.error(`error: --pid takes process ids, not '${opts.pid?.join(' ')}'`, { exitCode: USAGE });
  const trace = decodeTrace(readFileSync(file), { partial: opts.partial });
  process.stdout.write(`${listing(trace, { ioctls: opts.ioctl, pids, all: opts.all }, Boolean(opts.json))}\n`);
  if (trace.cut) process.stderr.write(`xe-emu: ${file}: cut inside record ${trace.cut.index} at byte ${trace.cut.offset}; ${trace.records.length} records decoded\n`);
}

async function demo(opts: { profile?: string; record?: string }): Promise<void> {
  const dir = opts.record ? null : mkdtempSync(join(tmpdir(), 'xe-emu-demo-'));
  const path = opts.record ?? join(dir as string, 'demo.xetrace');
  try {
    const r = await runDemo({ profile: opts.profile as 'lnl', record: path });
    process.stdout.write(`${listing(decodeTrace(readFileSync(path)), {}, false)}\n`);
    process.stdout.write(`GPU wrote 0x${r.value.toString(16)} at GPU VA 0x${r.gpuAddr.toString(16)} (read back through the CPU mapping)\n`);
    if (opts.record) process.stdout.write(`trace: ${path}\n`);
    if (r.value !== DEMO_VALUE) {
      process.stderr.write(`xe-emu: the batch should have written 0x${DEMO_VALUE.toString(16)}\n`);
      process.exitCode = 1;
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Options of `replay`. */
interface ReplayOpts {
  all?: boolean;
  json?: boolean;
  partial?: boolean;
  quiet?: boolean;
}

/** Records above which a terminal gets a progress bar. */
const PROGRESS_RECORDS = 10_000;

/** The text report: each divergence, the summary table (unless quiet), the totals line. */
function replayText(file: string, r: ReplayReport, quiet: boolean): string {
  const out: string[] = [];
  for (const d of r.divergences) {
    out.push(`divergence at record ${d.index} (byte ${d.offset}): seq ${d.seq}, pid ${d.pid}, tid ${d.tid}`);
    out.push(`  recorded: ${d.recorded.trim()}`, `  replayed: ${d.replayed.trim()}`, ...d.fields.map((f) => `  ${f}`));
  }
  if (!quiet) {
    const names = Object.keys(r.summary).sort();
    const width = Math.max(0, ...names.map((n) => n.length));
    for (const n of names) out.push(`  ${n.padEnd(width)}  ${Object.entries(r.summary[n]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const [why, n] of Object.entries(r.notReplayed)) out.push(`  not replayed: ${why}: ${n}`);
  }
  if (r.cut) out.push(`${file}: cut inside record ${r.cut.index} at byte ${r.cut.offset}; the ${r.records} records before it were replayed`);
  const stop = r.divergences.length && r.replayed + sum(r.notReplayed) < r.records ? ' (stopped at the first; --all for every one)' : '';
  out.push(`${file}: ${r.records} records, ${r.replayed} calls replayed, ${r.divergences.length} divergence${r.divergences.length === 1 ? '' : 's'}${stop}`);
  return out.join('\n');
}

function sum(m: Record<string, number>): number {
  return Object.values(m).reduce((a, b) => a + b, 0);
}

async function replay(file: string, opts: ReplayOpts): Promise<void> {
  const bytes = readFileSync(file);
  let bar: SingleBar | null = null;
  const progress = (done: number, total: number): void => {
    if (!bar && process.stderr.isTTY && total > PROGRESS_RECORDS) {
      bar = new SingleBar({ stream: process.stderr, format: 'replay [{bar}] {value}/{total} records' });
      bar.start(total, 0);
    }
    bar?.update(done);
  };
  let r: ReplayReport;
  try {
    r = await replayTrace(bytes, { all: opts.all, partial: opts.partial, progress });
  } finally {
    (bar as SingleBar | null)?.stop();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ trace: file, ...r })}\n`);
  else process.stdout.write(`${replayText(file, r, Boolean(opts.quiet))}\n`);
  process.exitCode = r.divergences.length ? 1 : 0;
}

/** The program: global options and every subcommand. */
function program(): Command {
  const prog = new Command('xe-emu')
    .description("Emulator of the Linux Intel Xe GPU driver's binary uAPI")
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  prog
    .command('abi')
    .description('the uAPI table: dump it as JSON, or check it against a real xe_drm.h')
    .option('--json', 'print every struct layout and constant of the uAPI table as JSON')
    .option('--check <xe_drm.h>', 'compile the table against this header (CC picks the compiler) and compare; exit 1 on a mismatch')
    .option('--strict', 'with --check: also fail on items the header lacks or reserved space it reuses')
    .addHelpText('after', '\nexample:\n  xe-emu abi --check "$(scripts/fetch-kernel-header.sh)"')
    .exitOverride()
    .action(abi);
  prog
    .command('demo')
    .description('run an example UMD-style program (query, BO, VM, bind, exec of a store-dword batch, wait, read back) and print its ioctl log and what the GPU wrote')
    .addOption(new Option('--profile <name>', 'platform profile').choices(['lnl', 'bmg', 'dg2', 'tgl']).default('lnl'))
    .option('--record <file>', 'keep the trace in this file (default: a temporary file)')
    .exitOverride()
    .action(demo);
  prog
    .command('decode')
    .description('print a trace as an strace-like listing (docs/trace-format.md)')
    .argument('<trace>', 'trace file')
    .option('--json', 'JSON Lines: the header, then one object per record')
    .option('--ioctl <names...>', 'only these ioctls (DRM_IOCTL_XE_EXEC, XE_EXEC or xe_exec)')
    .option('--pid <pids...>', 'only these processes')
    .option('--all', "also the user-space allocator's calls (malloc, free)")
    .option('--partial', 'decode the records before the cut of a truncated trace')
    .addHelpText('after', '\nexample:\n  xe-emu decode run.xetrace --ioctl XE_VM_BIND XE_EXEC')
    .exitOverride()
    .action(decode);
  prog
    .command('replay')
    .description('replay a trace on a fresh device and compare every result and kernel write; exit 0: none differs, 1: a divergence, 2: an unreadable trace')
    .argument('<trace>', 'trace file')
    .option('--all', 'report every divergence (default: stop at the first)')
    .option('--json', 'one JSON object: the summary and the divergences')
    .option('--partial', 'replay the records before the cut of a truncated trace')
    .option('--quiet', 'no per-call summary table')
    .addHelpText('after', '\nexample:\n  xe-emu replay run.xetrace --all')
    .exitOverride()
    .action(replay);
  return prog;
}

async function main(argv: string[]): Promise<number> {
  const prog = program();
  if (argv.length === 0) {
    process.stderr.write(prog.helpInformation());
    return USAGE;
  }
  try {
    await prog.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    // A command that could not run (an unreadable header, no C compiler) exits 2 as well;
    // 1 stays the answer "the check found a mismatch".
    if (!(e instanceof CommanderError)) {
      process.stderr.write(`xe-emu: ${e instanceof Error ? e.message : String(e)}\n`);
      return USAGE;
    }
    // --help and --version end with exit code 0; parse errors are usage errors.
    return e.exitCode === 0 ? 0 : USAGE;
  }
}

process.exitCode = await main(process.argv.slice(2));
