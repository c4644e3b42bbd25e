// Trace recording (createDevice({ record })) and decoding: the listing of a small program,
// the wire bytes, a blocking call, truncated / corrupt / wrong-version files.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Packr } from 'msgpackr';
import { createDevice } from '../src/index.js';
import { ERRNO } from '../src/uapi/errno.js';
import { decodeTrace, encodeHeader, encodeRecord, TraceError, TRACE_MAGIC, type IoctlRecord } from '../src/uapi/trace.js';
import { formatHeader, formatRecord, recordJson, recordMatches } from '../src/uapi/trace_decode.js';
import { __xe_vm_destroy, __xe_wait_ufence, xe_vm_create } from '../src/userspace/igt.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-trace-'));
const plain = new Packr({ useRecords: false, variableMapSize: true });

/** Records: open, VM_CREATE, a failing VM_DESTROY, an anonymous mmap/munmap, close. */
async function recordSmall(name: string): Promise<Uint8Array> {
  const path = join(dir, name);
  const dev = await createDevice({ profile: 'lnl', record: path });
  const p = dev.process;
  const fd = p.open();
  const vm = xe_vm_create(p, fd);
  __xe_vm_destroy(p, fd, vm + 1);
  const a = p.mmapAnon(0x2000);
  p.munmap(a, 0x2000);
  p.close(fd);
  await dev.close();
  return readFileSync(path);
}

const SMALL_LISTING = [
  '# xe-emu trace v1: profile lnl, sysmem default, vram default, caps [], dmesg off',
  '   0 1/0 open(render) = 3',
  '   1 1/0 malloc(0x20, 0x8) = 0 [0x7f0000000000]',
  '   2 1/0 ioctl(3, DRM_IOCTL_XE_VM_CREATE {flags=0, vm_id=0} => {flags=0, vm_id=1}) = 0',
  '   3 1/0 free(0x7f0000000000) = 0',
  '   4 1/0 malloc(0x18, 0x8) = 0 [0x7f0000000000]',
  '   5 1/0 ioctl(3, DRM_IOCTL_XE_VM_DESTROY {vm_id=2}) = -1 ENOENT (-2)',
  '   6 1/0 free(0x7f0000000000) = 0',
  '   7 1/0 mmap(0x0, 0x2000, 0x3, 0x0, -1, 0x0) = 0x7f0000100000',
  '   8 1/0 munmap(0x7f0000100000, 0x2000) = 0',
  '   9 1/0 close(3) = 0',
  '  10 1/0 shutdown() = 0',
];

t.test('a recorded small program decodes to the expected listing', async (t) => {
  const bytes = await recordSmall('small.xetrace');
  t.same([...bytes.subarray(0, 9)], [0x93, 0xa7, ...Buffer.from(TRACE_MAGIC)], 'file magic');
  const tr = decodeTrace(bytes);
  t.equal([formatHeader(tr.header), ...tr.records.map(formatRecord)].join('\n'), SMALL_LISTING.join('\n'));
  t.same(tr.header.options, { profile: 'lnl', sysmem: null, vram: null, caps: [], dmesg: false });
  t.equal(tr.cut, undefined);
  t.equal(tr.offsets[0], encodeHeader(tr.header).length, 'the first record follows the header');
  // The VM_CREATE record on the wire, element by element.
  const create = tr.records[2] as IoctlRecord;
  const wire = plain.unpack(encodeRecord(create)) as unknown[];
  t.same(wire.slice(0, 7), [1, 2, 1, 0, 3, create.request, 0x7f0000000000]);
  t.equal(create.request, 0xc0206443, 'DRM_IOCTL_XE_VM_CREATE');
  t.same([...create.reads[0].data], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(create.writes.length, 1);
  t.equal(create.writes[0].data[12], 1, 'vm_id 1 written back (offset 12)');
  t.same(wire.slice(9), [0, 0, false]);
  // Re-encoding every decoded record gives the file's bytes back.
  const again = Buffer.concat(tr.records.map((r) => encodeRecord(r)));
  t.same(again, Buffer.from(bytes.subarray(tr.offsets[0])));
});

t.test('filters and JSON', async (t) => {
  const tr = decodeTrace(readFileSync(join(dir, 'small.xetrace')));
  t.same(tr.records.filter((r) => recordMatches(r, {})).map((r) => r.seq), [0, 2, 5, 7, 8, 9, 10], 'malloc/free hidden');
  t.equal(tr.records.filter((r) => recordMatches(r, { all: true })).length, 11);
  const vm = tr.records.filter((r) => recordMatches(r, { ioctls: ['XE_VM_DESTROY'] }));
  t.same(tr.records.filter((r) => recordMatches(r, { ioctls: ['DRM_IOCTL_XE_VM_CREATE', 'xe_vm_destroy'] })).map((r) => r.seq), [2, 5]);
  t.same(vm.map((r) => r.seq), [5]);
  t.same(tr.records.filter((r) => recordMatches(r, { pids: [2] })), []);
  const j = recordJson(vm[0]);
  t.same(j, {
    type: 'ioctl', seq: 5, pid: 1, tid: 0, fd: 3, request: 0x40186444, argp: '0x7f0000000000',
    reads: [{ addr: '0x7f0000000000', data: '020000000000000000000000000000000000000000000000' }],
    writes: [],
    ret: -1, errno: 2, blocked: false, name: 'DRM_IOCTL_XE_VM_DESTROY', text: 'ioctl(3, DRM_IOCTL_XE_VM_DESTROY {vm_id=2}) = -1 ENOENT (-2)',
  });
});

t.test('a blocking call is marked and lists its re-check reads', async (t) => {
  const path = join(dir, 'wait.xetrace');
  const dev = await createDevice({ record: path });
  const p = dev.process;
  const fd = p.open();
  const fence = p.mem.alloc(8);
  // Nothing writes the fence: the wait parks and times out.
  const r = __xe_wait_ufence(p, fd, fence, 1n, 0, 2_000_000n);
  t.equal(r.err, -ERRNO.ETIME);
  await dev.close();
  const tr = decodeTrace(readFileSync(path));
  const w = tr.records.find((x) => x.type === 'ioctl') as IoctlRecord;
  t.equal(w.blocked, true);
  t.equal(w.errno, ERRNO.ETIME);
  t.ok(w.reads.filter((x) => x.addr === fence).length >= 2, 'the fence is read at entry and at least once more');
  t.match(formatRecord(w), /DRM_IOCTL_XE_WAIT_USER_FENCE .* = -1 ETIME \(-62\) .*<blocked>$/);
});

t.test('a truncated trace: the error names the record and offset; partial reads the prefix', async (t) => {
  const bytes = readFileSync(join(dir, 'small.xetrace'));
  const tr = decodeTrace(bytes);
  const cutAt = tr.offsets[5] + 3;
  const cut = bytes.subarray(0, cutAt);
  t.throws(() => decodeTrace(cut), new TraceError(5, tr.offsets[5], 'truncated (the file ends inside it; --partial reads the records before)'));
  const part = decodeTrace(cut, { partial: true });
  t.same(part.records, tr.records.slice(0, 5));
  t.same(part.cut, { index: 5, offset: tr.offsets[5] });
  // A cut inside the header cannot be read even with partial.
  t.throws(() => decodeTrace(bytes.subarray(0, 5), { partial: true }), { message: /^header at byte 0: truncated/ });
});

t.test('wrong version, corrupt header and corrupt records', async (t) => {
  const good = readFileSync(join(dir, 'small.xetrace'));
  const tr = decodeTrace(good);
  const opts = tr.header.options;
  const body = good.subarray(tr.offsets[0]);
  const v2 = Buffer.concat([plain.pack([TRACE_MAGIC, 2, opts]), body]);
  t.throws(() => decodeTrace(v2), { message: 'header at byte 0: format version 2; this xe-emu reads version 1' });
  t.throws(() => decodeTrace(Buffer.concat([plain.pack(['PNG', 1, opts]), body])), { message: 'header at byte 0: not an xe-emu trace (no XETRACE magic)' });
  t.throws(() => decodeTrace(new Uint8Array(0)), { message: 'header at byte 0: empty file' });
  const header = good.subarray(0, tr.offsets[0]);
  const unknown = Buffer.concat([header, plain.pack([99, 0, 1, 0])]);
  t.throws(() => decodeTrace(unknown), { message: `record 0 at byte ${header.length}: corrupt: unknown record type 99` });
  const short = Buffer.concat([header, body.subarray(0, tr.offsets[1] - tr.offsets[0]), plain.pack([3, 1, 1, 0, 3, 0])]);
  t.throws(() => decodeTrace(short, { partial: true }), { message: `record 1 at byte ${tr.offsets[1]}: corrupt: record type 3 has 6 elements, not 7` });
  const badField = Buffer.concat([header, plain.pack([3, 0, 1, 0, 'x', 0, 0])]);
  t.throws(() => decodeTrace(badField), { message: /^record 0 at byte \d+: corrupt: fd \(element 4\): not an integer$/ });
  // A byte that is no MessagePack value at all (0xc1 is never used).
  t.throws(() => decodeTrace(Buffer.concat([header, Buffer.from([0xc1])])), { message: `record 0 at byte ${header.length}: corrupt: not a record array` });
});
