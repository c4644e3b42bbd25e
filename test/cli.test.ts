// The command line: exit codes, and which stream each text goes to.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('--version prints the package version', async (t) => {
  for (const flag of ['--version', '-V']) t.same(cli(flag), { status: 0, stdout: `${VERSION}\n`, stderr: '' });
});

t.test('--help prints usage to stdout and exits 0, for the program and each command', async (t) => {
  const top = cli('--help');
  t.equal(top.status, 0);
  t.equal(top.stderr, '');
  t.match(top.stdout, /^Usage: xe-emu \[options\] \[command\]\n/);
  t.match(top.stdout, /\n {2}abi \[options\] +the uAPI table/);
  const abi = cli('abi', '--help');
  t.equal(abi.status, 0);
  t.equal(abi.stderr, '');
  t.match(abi.stdout, /^Usage: xe-emu abi \[options\]\n/);
  for (const opt of ['--json', '--check <xe_drm.h>', '--strict']) t.match(abi.stdout, `\n  ${opt} `);
  t.same(cli('help', 'abi'), abi, '`help abi` is `abi --help`');
});

t.test('usage errors go to stderr with exit status 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^Usage: xe-emu/],
    [['frobnicate'], /^error: unknown command 'frobnicate'\n/],
    [['--bogus'], /^error: unknown option '--bogus'\n/],
    [['abi'], /^error: give exactly one of --json or --check <xe_drm.h>\n/],
    [['abi', '--json', '--check', 'x.h'], /^error: give exactly one of/],
    [['abi', '--json', '--strict'], /^error: --strict goes with --check\n/],
    [['abi', '--check'], /^error: option '--check <xe_drm.h>' argument missing\n/],
  ];
  for (const [args, err] of cases) {
    const r = cli(...args);
    t.equal(r.status, 2, `${args.join(' ') || '(no arguments)'}: status 2`);
    t.equal(r.stdout, '', 'nothing on stdout');
    t.match(r.stderr, err);
  }
});

t.test('a command that cannot run reports why on stderr', async (t) => {
  t.same(cli('abi', '--check', '/nonexistent/xe_drm.h'), {
    status: 2, stdout: '', stderr: 'xe-emu: header not found: /nonexistent/xe_drm.h\n',
  });
});

t.test('abi --json prints the table', async (t) => {
  const r = cli('abi', '--json');
  t.equal(r.status, 0);
  const json = JSON.parse(r.stdout) as { structs: Record<string, unknown>; constants: Record<string, unknown> };
  t.same(Object.keys(json), ['structs', 'constants']);
  t.ok('drm_xe_gem_create' in json.structs);
  t.equal(r.stderr, '');
});
