// `xe-emu demo` and `xe-emu decode`: output, filters, JSON, and errors on bad traces.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { decodeTrace } from '../src/uapi/trace.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'xe-trace-cli-'));
const TRACE = join(dir, 'demo.xetrace');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('demo runs the UMD-style program and prints its ioctl log and the GPU-written value', async (t) => {
  const r = cli('demo', '--record', TRACE);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines[0], '# xe-emu trace v1: profile lnl, sysmem default, vram default, caps [], dmesg off');
  t.equal(lines.at(-2), 'GPU wrote 0xc0ffee at GPU VA 0x1a0100 (read back through the CPU mapping)');
  t.equal(lines.at(-1), `trace: ${TRACE}`);
  const calls = lines.slice(1, -2).map((l) => /^ *\d+ 1\/0 (\w+)\((?:\d+, )?(DRM_IOCTL_\w+)?/.exec(l)?.slice(1).filter(Boolean).join(' '));
  const order = ['DRM_IOCTL_XE_VM_CREATE', 'DRM_IOCTL_XE_GEM_CREATE', 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', 'mmap', 'DRM_IOCTL_XE_VM_BIND', 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', 'DRM_IOCTL_XE_EXEC', 'DRM_IOCTL_SYNCOBJ_WAIT'];
  let at = 0;
  for (const name of order) {
    const i = calls.findIndex((c, k) => k >= at && c?.endsWith(name));
    t.ok(i >= 0, `${name} in order`);
    at = i + 1;
  }
  t.equal(calls[0], 'open');
  t.same(calls.slice(-2), ['close', 'shutdown']);
  t.notOk(lines.some((l) => / (malloc|free)\(/.test(l)), 'allocator calls hidden');
  t.match(r.stdout, /DRM_IOCTL_XE_EXEC \{exec_queue_id=1, num_syncs=1, syncs=0x[0-9a-f]+, address=0x1a0000, num_batch_buffer=1\}\) = 0/);
});

t.test('decode: listing, filters by ioctl and process, JSON', async (t) => {
  const all = cli('decode', TRACE);
  t.equal(all.status, 0);
  const demoLines = cli('demo').stdout.trimEnd().split('\n').slice(0, -1);
  t.equal(all.stdout, `${demoLines.join('\n')}\n`, 'the demo prints exactly the decoded trace');
  const exec = cli('decode', TRACE, '--ioctl', 'XE_EXEC', 'xe_vm_create');
  t.equal(exec.status, 0);
  t.same(exec.stdout.trimEnd().split('\n').slice(1).map((l) => /DRM_IOCTL_\w+/.exec(l)?.[0]), ['DRM_IOCTL_XE_VM_CREATE', 'DRM_IOCTL_XE_EXEC']);
  t.equal(cli('decode', TRACE, '--pid', '2').stdout.trimEnd().split('\n').length, 1, 'only the header: no process 2');
  const withAll = cli('decode', TRACE, '--all').stdout.trimEnd().split('\n');
  t.equal(withAll.length - 1, decodeTrace(readFileSync(TRACE)).records.length);
  const json = cli('decode', TRACE, '--json', '--ioctl', 'XE_VM_CREATE').stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(json.length, 2);
  t.same(json[0], { type: 'header', version: 1, options: { profile: 'lnl', sysmem: null, vram: null, caps: [], dmesg: false } });
  t.match(json[1], { type: 'ioctl', name: 'DRM_IOCTL_XE_VM_CREATE', ret: 0, errno: 0, blocked: false, fd: 3 });
  t.equal((json[1].writes as Array<{ data: string }>)[0].data, '0000000000000000000000000100000000000000000000000000000000000000');
});

t.test('decode: truncated, corrupt and wrong-version traces', async (t) => {
  const bytes = readFileSync(TRACE);
  const tr = decodeTrace(bytes);
  const cut = join(dir, 'cut.xetrace');
  writeFileSync(cut, bytes.subarray(0, tr.offsets[7] + 2));
  const bad = cli('decode', cut);
  t.equal(bad.status, 2);
  t.equal(bad.stdout, '');
  t.equal(bad.stderr, `xe-emu: record 7 at byte ${tr.offsets[7]}: truncated (the file ends inside it; --partial reads the records before)\n`);
  const part = cli('decode', cut, '--partial', '--all');
  t.equal(part.status, 0);
  t.equal(part.stdout.trimEnd().split('\n').length, 1 + 7);
  t.equal(part.stderr, `xe-emu: ${cut}: cut inside record 7 at byte ${tr.offsets[7]}; 7 records decoded\n`);
  const v9 = join(dir, 'v9.xetrace');
  writeFileSync(v9, Buffer.concat([Buffer.from([0x93, 0xa7]), Buffer.from('XETRACE'), Buffer.from([0x09, 0x80])]));
  t.same(cli('decode', v9), { status: 2, stdout: '', stderr: 'xe-emu: header at byte 0: format version 9; this xe-emu reads version 1\n' });
  const junk = join(dir, 'junk.xetrace');
  writeFileSync(junk, 'hello world\n');
  const j = cli('decode', junk);
  t.equal(j.status, 2);
  t.match(j.stderr, /^xe-emu: header at byte 0: /);
  t.match(cli('decode', join(dir, 'missing.xetrace')), { status: 2, stderr: /^xe-emu: ENOENT: no such file/ });
  t.match(cli('decode', TRACE, '--pid', 'x'), { status: 2, stderr: /^error: --pid takes process ids/ });
});
