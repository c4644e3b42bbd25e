// `xe-emu replay`: exit status 0 / 1 / 2, the divergence report, the summary, --json,
// --quiet, --partial, --help.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { decodeTrace, type IoctlRecord } from '../src/uapi/trace.js';
import { dir, flow, ioctlAt, ioctlIndex, record, rewrite } from './helpers/replay_rig.js';

t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bytes = await record('cli.xetrace', (_d, p) => flow(p));
const GOOD = join(dir, 'cli.xetrace');
const tr = decodeTrace(bytes);
const QUERY = ioctlIndex(tr.records, 'DRM_IOCTL_XE_DEVICE_QUERY');
const FLIPPED = join(dir, 'cli-flipped.xetrace');
writeFileSync(
  FLIPPED,
  rewrite(bytes, (rs) =>
    rs.map((x, i) => {
      if (i !== QUERY) return x;
      const r = x as IoctlRecord;
      const data = new Uint8Array(r.writes[0].data);
      data[12] ^= 1;
      return { ...r, writes: [{ addr: r.writes[0].addr, data }] };
    }),
  ),
);
const size = ioctlAt(tr.records, QUERY).writes[0].data[12];

t.test('a clean trace: exit 0, the summary table and the totals line', async (t) => {
  const r = cli('replay', GOOD);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.at(-1), `${GOOD}: ${tr.records.length} records, ${tr.records.length - 1} calls replayed, 0 divergences`);
  t.ok(lines.some((l) => /^ {2}DRM_IOCTL_XE_EXEC +ok 1$/.test(l)), 'EXEC counted');
  t.ok(lines.some((l) => /^ {2}mmap +ok 1$/.test(l)), 'mmap counted');
  t.ok(lines.includes('  not replayed: shutdown (the replay closes the device at its end): 1'));
  const quiet = cli('replay', GOOD, '--quiet');
  t.equal(quiet.status, 0);
  t.same(quiet.stdout.trimEnd().split('\n'), [lines.at(-1)], '--quiet: the totals line only');
});

t.test('a flipped byte: exit 1, the divergence at its record with both sides and the field', async (t) => {
  const r = cli('replay', FLIPPED);
  t.equal(r.status, 1);
  const off = decodeTrace(bytes).offsets[QUERY];
  const lines = r.stdout.split('\n');
  const at = lines.indexOf(`divergence at record ${QUERY} (byte ${off}): seq ${tr.records[QUERY].seq}, pid 1, tid 0`);
  t.ok(at >= 0, 'the divergence header names record and byte offset');
  t.match(lines[at + 1], /^ {2}recorded: \d+ 1\/0 ioctl\(3, DRM_IOCTL_XE_DEVICE_QUERY \{query=CONFIG, size=0, data=0\} => \{query=CONFIG, size=49, data=0\}\) = 0$/);
  t.match(lines[at + 2], /^ {2}replayed: \d+ 1\/0 ioctl\(3, DRM_IOCTL_XE_DEVICE_QUERY \{query=CONFIG, size=0, data=0\} => \{query=CONFIG, size=48, data=0\}\) = 0$/);
  t.equal(lines[at + 3], `  drm_xe_device_query.size: recorded 0x${(size ^ 1).toString(16)}, replayed 0x${size.toString(16)}`);
  t.match(r.stdout, /1 divergence \(stopped at the first; --all for every one\)\n$/);
});

t.test('--json: one object with the summary and the divergences', async (t) => {
  const r = cli('replay', FLIPPED, '--json', '--all');
  t.equal(r.status, 1);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  t.same(Object.keys(j).sort(), ['divergences', 'notReplayed', 'records', 'replayed', 'summary', 'trace']);
  t.equal(j.trace, FLIPPED);
  t.equal(j.records, tr.records.length);
  t.equal(j.replayed, tr.records.length - 1, '--all replays every call');
  const ds = j.divergences as Array<Record<string, unknown>>;
  t.equal(ds.length, 1);
  t.same(Object.keys(ds[0]).sort(), ['fields', 'index', 'kind', 'offset', 'pid', 'recorded', 'replayed', 'seq', 'tid']);
  t.match(ds[0], { index: QUERY, kind: 'write', pid: 1, tid: 0, fields: [/^drm_xe_device_query\.size: /] });
  const summary = j.summary as Record<string, Record<string, number>>;
  t.equal(summary.DRM_IOCTL_XE_DEVICE_QUERY.diverged, 1);
  t.same(summary.DRM_IOCTL_XE_EXEC, { ok: 1 });
});

t.test('a truncated trace: exit 2 naming record and offset; --partial replays the prefix', async (t) => {
  const k = ioctlIndex(tr.records, 'DRM_IOCTL_XE_VM_BIND');
  const cut = join(dir, 'cli-cut.xetrace');
  writeFileSync(cut, bytes.subarray(0, tr.offsets[k] + 2));
  const r = cli('replay', cut);
  t.equal(r.status, 2);
  t.equal(r.stdout, '');
  t.equal(r.stderr, `xe-emu: record ${k} at byte ${tr.offsets[k]}: truncated (the file ends inside it; --partial reads the records before)\n`);
  const p = cli('replay', cut, '--partial', '--quiet');
  t.equal(p.status, 0);
  t.same(p.stdout.trimEnd().split('\n'), [
    `${cut}: cut inside record ${k} at byte ${tr.offsets[k]}; the ${k} records before it were replayed`,
    `${cut}: ${k} records, ${k} calls replayed, 0 divergences`,
  ]);
});

t.test('usage: --help, a missing file, no argument', async (t) => {
  const h = cli('replay', '--help');
  t.equal(h.status, 0);
  t.match(h.stdout, /^Usage: xe-emu replay \[options\] <trace>/);
  for (const o of ['--all', '--json', '--partial', '--quiet']) t.match(h.stdout, o);
  const missing = cli('replay', join(dir, 'nope.xetrace'));
  t.equal(missing.status, 2);
  t.match(missing.stderr, /^xe-emu: ENOENT/);
  t.equal(cli('replay').status, 2);
});

t.test('a progress bar on a terminal for a long trace, none on a pipe', async (t) => {
  // 12,000 GET_CAP-like records: the first DEVICE_QUERY of the flow repeated.
  const q = ioctlAt(tr.records, QUERY);
  const head = tr.records.filter((x) => x.seq < q.seq);
  const long = join(dir, 'cli-long.xetrace');
  const n = 12_000;
  writeFileSync(long, rewrite(bytes, () => [...head, ...Array.from({ length: n }, (_, i) => ({ ...q, seq: q.seq + i }))]));
  const piped = cli('replay', long, '--quiet');
  t.equal(piped.status, 0);
  t.equal(piped.stderr, '', 'no bar when stderr is not a terminal');
  t.equal(piped.stdout, `${long}: ${head.length + n} records, ${head.length + n} calls replayed, 0 divergences\n`);
  // script(1) gives the command a terminal.
  const tty = spawnSync('script', ['-qc', `${process.execPath} ${CLI} replay ${long} --quiet`, '/dev/null'], { encoding: 'utf8' });
  if (tty.error) return t.comment('no script(1) here to run the command on a terminal');
  t.match(tty.stdout, new RegExp(`replay \\[=+\\] ${head.length + n}/${head.length + n} records`));
});
