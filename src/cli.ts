#!/usr/bin/env node
/**
 * xe-emu command line. commander parses the arguments: one subcommand per `program.command`
 * (later issues add more the same way); the work lives in the library. Usage errors go to
 * stderr with exit status 2; `--help` and `--version` print to stdout and exit 0.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { abiCheck, abiJson, formatAbiReport } from './uapi/abi.js';

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
