// The sample traces of traces/ (examples/traces/*.ts): recording each program again gives
// the committed bytes (the programs are deterministic and the files current: `npm run
// traces` rewrites them), each file decodes, the listing of `invalid` shows its errnos, and
// each replays with no divergence; XE_EMU_RECORD_DIR; a replay of a trace with one flipped
// byte in a kernel write reports that record and field.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { decode, layoutOf, pack, replayTrace } from '../src/index.js';
import { errnoName } from '../src/uapi/errno.js';
import { decodeTrace, encodeHeader, encodeRecord, type CallRecord, type IoctlRecord } from '../src/uapi/trace.js';
import { requestName } from '../src/uapi/uapi.js';
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

for (const s of SAMPLES) {
  t.test(`the ${s.name} sample replays on a fresh device with no divergence`, async (t) => {
    const bytes = committed(s.name);
    const r = await replayTrace(bytes);
    t.same(r.divergences.map((d) => `record ${d.index}: ${d.fields.join('; ')}`), [], 'no divergence');
    const records = decodeTrace(bytes).records;
    const cpu = records.filter((x) => x.type === 'cpu_write' || x.type === 'cpu_read').length;
    const skipped = Object.values(r.notReplayed).reduce((a, b) => a + b, 0);
    const total = (name: string): number => Object.values(r.summary[name] ?? {}).reduce((a, b) => a + b, 0);
    t.same([r.replayed, skipped, total('cpu_write') + total('cpu_read')], [records.length - cpu - 1, 1, cpu],
      'every call but the shutdown replayed, every CPU access applied or checked');
  });
}

/** The basic trace with record `index` rewritten by `edit`, re-encoded. */
function edited(index: number, edit: (r: IoctlRecord) => void): Uint8Array {
  const tr = decodeTrace(committed('basic'));
  edit(tr.records[index] as IoctlRecord);
  return Buffer.concat([encodeHeader(tr.header), ...tr.records.map((r) => encodeRecord(r))]);
}

/** Offset of member `name` of table struct `struct`. */
function memberOffset(struct: string, name: string): number {
  return layoutOf(struct).members.find((m) => m.name === name)!.offset;
}

/** Indices of the ioctl records of `name` in the basic trace. */
function ioctlIndices(name: string): number[] {
  return decodeTrace(committed('basic')).records.flatMap((r, i) => (r.type === 'ioctl' && requestName(r.request) === name ? [i] : []));
}

t.test('one flipped byte of a recorded kernel write: a divergence at that record, naming the field', async (t) => {
  // The size probe of the first DEVICE_QUERY: the kernel wrote the reply's size back.
  const at = ioctlIndices('DRM_IOCTL_XE_DEVICE_QUERY')[0];
  let size = 0;
  const bytes = edited(at, (r) => {
    const out = decode('drm_xe_device_query', r.writes[0].data);
    size = out.size;
    r.writes[0] = { addr: r.writes[0].addr, data: pack('drm_xe_device_query', { ...out, size: size ^ 1 }) };
  });
  const rep = await replayTrace(bytes);
  t.equal(rep.divergences.length, 1, 'the replay stops at the first');
  const d = rep.divergences[0];
  t.same([d.index, d.kind], [at, 'write']);
  // The values in decimal or hex, as the report formats them.
  const either = (v: number): string => `(${v}|0x${v.toString(16)})`;
  const field = new RegExp(`^drm_xe_device_query\\.size: recorded ${either(size ^ 1)}, replayed ${either(size)}$`);
  t.equal(d.fields.length, 1);
  t.match(d.fields[0], field);
  t.match(d.recorded, /DRM_IOCTL_XE_DEVICE_QUERY/);

  // The CLI on the same file: exit 1 and the record named.
  const file = join(dir, 'flipped.xetrace');
  writeFileSync(file, bytes);
  const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../src/cli.js', import.meta.url)), 'replay', file], { encoding: 'utf8' });
  t.equal(cli.status, 1, 'exit status 1');
  t.match(cli.stdout, new RegExp(`divergence at record ${at} `));
  t.match(cli.stdout, new RegExp(field.source.slice(1, -1)));
});

t.test('one flipped byte of a query reply: a divergence at that record, naming the reply\'s field', async (t) => {
  const at = ioctlIndices('DRM_IOCTL_XE_DEVICE_QUERY')[1]; // the MEM_REGIONS reply
  const total = (data: Uint8Array): bigint => decode('drm_xe_query_mem_regions', data).mem_regions[0].total_size;
  let sizes: bigint[] = [];
  const bytes = edited(at, (r) => {
    const i = r.writes.findIndex((x) => x.addr !== r.argp);
    const data = Uint8Array.from(r.writes[i].data);
    // A bit of the second byte of region 0's total_size.
    data[memberOffset('drm_xe_query_mem_regions', 'mem_regions') + memberOffset('drm_xe_mem_region', 'total_size') + 1] ^= 0x40;
    sizes = [total(data), total(r.writes[i].data)];
    r.writes[i] = { addr: r.writes[i].addr, data };
  });
  t.not(sizes[0], sizes[1], 'the flipped bit is in total_size');
  const rep = await replayTrace(bytes);
  t.same(rep.divergences.map((d) => [d.index, d.kind]), [[at, 'write']]);
  const hex = (v: bigint): string => `0x${v.toString(16)}`;
  t.same(rep.divergences[0].fields, [`drm_xe_query_mem_regions.mem_regions[0].total_size: recorded ${hex(sizes[0])}, replayed ${hex(sizes[1])}`]);
});
