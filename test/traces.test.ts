// The sample traces of traces/ (examples/traces/*.ts): recording each program again gives
// the committed bytes (the programs are deterministic and the files current: `npm run
// traces` rewrites them), each file decodes, and the listing of `invalid` shows its errnos.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { errnoName } from '../src/uapi/errno.js';
import { decodeTrace, type CallRecord } from '../src/uapi/trace.js';
import { formatHeader, formatRecord } from '../src/uapi/trace_decode.js';
import { SAMPLES } from '../examples/traces/index.js';
import { INVALID_CASES } from '../examples/traces/invalid.js';
import { recordRun } from '../examples/traces/sample.js';

const root = new URL('../..', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'xe-samples-'));
const committed = (name: string): Buffer => readFileSync(new URL(`traces/${name}.xetrace`, root));

t.test('every sample recorded again is byte-identical to its committed trace', async (t) => {
  t.equal(SAMPLES.length, 7);
  for (const s of SAMPLES) {
    const path = join(dir, `${s.name}.xetrace`);
    await recordRun(path, s.body);
    // Compare as buffers, but report a mismatch by its first differing byte, not a hex dump.
    const got = readFileSync(path);
    const want = committed(s.name);
    const at = got.findIndex((b, i) => b !== want[i]);
    t.same([got.length, at], [want.length, -1], `${s.name}: same length, no differing byte (run npm run traces after a deliberate change)`);
  }
});

t.test('every sample decodes into a listing, without a cut', async (t) => {
  for (const s of SAMPLES) {
    const tr = decodeTrace(committed(s.name));
    t.equal(tr.cut, undefined, `${s.name}: whole`);
    t.equal(formatHeader(tr.header), '# xe-emu trace v1: profile lnl, sysmem default, vram default, caps [], dmesg off');
    const lines = tr.records.map(formatRecord);
    t.ok(lines.filter((l) => / ioctl\(/.test(l)).length >= 8, `${s.name}: at least 8 ioctls`);
    t.match(lines.at(-1), /shutdown\(\) = 0$/, `${s.name}: ends with the device's shutdown`);
  }
});

t.test('the samples that show working flows have no failed call; hang_ban has exactly its two', async (t) => {
  const failed = (name: string): string[] =>
    decodeTrace(committed(name)).records
      .filter((r): r is CallRecord => 'errno' in r && r.errno !== 0)
      .map((r) => errnoName(r.errno)!);
  for (const name of ['basic', 'userptr', 'null_sparse', 'partial_unbind', 'timeline']) t.same(failed(name), [], name);
  t.same(failed('hang_ban'), ['ECANCELED', 'EIO'], 'the EXEC and the WAIT_USER_FENCE on the banned queue');
});

t.test('the listing of invalid shows each case\'s errno, in order', async (t) => {
  t.ok(INVALID_CASES.length >= 20, `${INVALID_CASES.length} cases`);
  const tr = decodeTrace(committed('invalid'));
  const failures = tr.records.map(formatRecord).filter((l) => / = -1 /.test(l));
  t.equal(failures.length, INVALID_CASES.length, 'one failed call per case, no other');
  INVALID_CASES.forEach((c, i) => t.match(failures[i], new RegExp(` = -1 ${c.errno} \\(-\\d+\\)`), c.what));
  t.ok(new Set(INVALID_CASES.map((c) => c.errno)).size >= 10, 'at least 10 distinct errnos');
});

t.test('XE_EMU_RECORD_DIR: a device created without `record` records to <dir>/<pid>-<n>.xetrace', async (t) => {
  const out = join(dir, 'suite');
  const explicit = join(dir, 'explicit.xetrace');
  // A child program: two devices that record by the variable, one with its own file.
  const program = `
    import { createDevice } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
    for (const record of [undefined, ${JSON.stringify(explicit)}, undefined]) {
      const dev = await createDevice({ record });
      dev.process.close(dev.process.open());
      await dev.close();
    }
    console.log(process.pid);`;
  const file = join(dir, 'two-devices.mjs');
  writeFileSync(file, program);
  const child = spawnSync(process.execPath, [file], { env: { ...process.env, XE_EMU_RECORD_DIR: out }, encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  const pid = child.stdout.trim();
  t.same(readdirSync(out).sort(), [`${pid}-0.xetrace`, `${pid}-1.xetrace`], 'the folder was made; two files, numbered in creation order');
  for (const path of [join(out, `${pid}-0.xetrace`), join(out, `${pid}-1.xetrace`), explicit]) {
    t.same(decodeTrace(readFileSync(path)).records.map(formatRecord), ['   0 1/0 open(render) = 3', '   1 1/0 close(3) = 0', '   2 1/0 shutdown() = 0'], path);
  }
});
