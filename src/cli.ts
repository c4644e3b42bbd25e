#!/usr/bin/env node
/**
 * xe-emu command line: a thin dispatcher. Each subcommand is one entry of COMMANDS that
 * parses its own arguments and returns the exit code; the work lives in the library.
 */
import { abiCheck, abiJson, formatAbiReport } from './uapi/abi.js';

/** A subcommand: one-line usage and a runner returning the exit code. */
interface Command {
  usage: string[];
  run(args: string[]): number | Promise<number>;
}

class UsageError extends Error {}

const COMMANDS: Record<string, Command> = {
  abi: {
    usage: [
      'abi --json                          print every struct layout and constant of the uAPI table as JSON',
      'abi --check <xe_drm.h> [--strict]   compile the table against a real header and compare;',
      '                                    exit 1 on a mismatch (with --strict also on items the',
      '                                    header lacks or reserved space it reuses). CC picks the compiler',
    ],
    run(args) {
      let json = false;
      let strict = false;
      let header: string | undefined;
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === '--json') json = true;
        else if (a === '--strict') strict = true;
        else if (a === '--check') {
          header = args[++i];
          if (header === undefined) throw new UsageError('--check needs the path of an xe_drm.h');
        } else throw new UsageError(`abi: unknown argument ${a}`);
      }
      if (json === (header !== undefined)) throw new UsageError('abi: give exactly one of --json or --check <xe_drm.h>');
      if (json) {
        if (strict) throw new UsageError('abi: --strict goes with --check');
        // One line per member: [offset, size] pairs stay on one line.
        const text = JSON.stringify(abiJson(), null, 2).replace(/\[\s+(-?\d+),\s+(-?\d+)\s+\]/g, '[$1, $2]');
        process.stdout.write(`${text}\n`);
        return 0;
      }
      const report = abiCheck(header as string, { strict });
      process.stdout.write(`${formatAbiReport(report)}\n`);
      return report.ok ? 0 : 1;
    },
  },
};

function help(): string {
  const lines = ['usage: xe-emu <command> [options]', '', 'commands:'];
  for (const c of Object.values(COMMANDS)) for (const u of c.usage) lines.push(`  ${u}`);
  lines.push('  --help                              this text');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`xe-emu: unknown command ${name}\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.usage.map((u) => `xe-emu ${u}`).join('\n')}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`xe-emu: ${e.message}\n${help()}\n`);
      return 2;
    }
    process.stderr.write(`xe-emu ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
