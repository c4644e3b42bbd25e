// Replay of CPU accesses of GPU-shared memory (records 16 / 17): recorded BO, userptr and
// mirror programs replay with no divergence, their stores applied and their loads checked;
// a flipped byte in a CPU read diverges at that record naming the address and byte; a
// flipped byte in a CPU store changes what the GPU stores, so the later read diverges.
import t from 'tap';
import { replayTrace } from '../src/index.js';
import { ETIME } from '../src/uapi/errno.js';
import { __xe_wait_ufence } from '../src/userspace/xe_ioctl.js';
import { decodeTrace, type CpuAccessRecord, type TraceRecord } from '../src/uapi/trace.js';
import { boFlow, mirrorFlow, userptrFlow } from './helpers/cpu_flows.js';
import { record, rewrite } from './helpers/replay_rig.js';

const cpu = (rs: TraceRecord[], type: 'cpu_write' | 'cpu_read'): number[] => rs.flatMap((r, i) => (r.type === type ? [i] : []));

/** `bytes` with byte `at` of the data of record `index` (a CPU access) xor 0xff. */
function flip(bytes: Uint8Array, index: number, at: number): Buffer {
  return rewrite(bytes, (rs) =>
    rs.map((r, i) => {
      if (i !== index) return r;
      const c = r as CpuAccessRecord;
      const data = Uint8Array.from(c.data); // a copy: decoded bytes may be Buffer views, whose slice() is no copy
      data[at] ^= 0xff;
      return { ...c, data };
    }),
  );
}

for (const [name, flow] of [['BO', boFlow], ['userptr', userptrFlow], ['mirror', mirrorFlow]] as const) {
  t.test(`a recorded ${name} program replays its CPU stores and loads with no divergence`, async (t) => {
    const bytes = await record(`cpu-${name}.xetrace`, (_d, p) => void flow(p));
    const rs = decodeTrace(bytes).records;
    const r = await replayTrace(bytes);
    t.same(r.divergences, []);
    t.same(r.summary.cpu_write, { ok: cpu(rs, 'cpu_write').length }, 'every store applied');
    t.same(r.summary.cpu_read, { ok: cpu(rs, 'cpu_read').length }, 'every load checked');
    t.ok(cpu(rs, 'cpu_read').length > 0);
  });
}

t.test('a flipped byte in a CPU read diverges at that record, naming the address and byte', async (t) => {
  const bytes = await record('cpu-read-flip.xetrace', (_d, p) => void boFlow(p));
  const rs = decodeTrace(bytes).records;
  const at = cpu(rs, 'cpu_read')[0];
  const read = rs[at] as CpuAccessRecord;
  const r = await replayTrace(flip(bytes, at, 1), { idleMs: 200 });
  t.equal(r.divergences.length, 1);
  const d = r.divergences[0];
  t.same([d.index, d.kind, d.seq], [at, 'cpu_read', read.seq]);
  const addr = `0x${(read.addr + 1n).toString(16)}`;
  t.same(d.fields, [`cpu_read at 0x${read.addr.toString(16)} (4 bytes): byte 1 (${addr}): recorded 0x${(read.data[1] ^ 0xff).toString(16).padStart(2, '0')}, replayed 0x${read.data[1].toString(16).padStart(2, '0')}`]);
  t.match(d.replayed, /cpu_read\(/);
  t.same(r.summary.cpu_read, { diverged: 1 });
});

t.test('a flipped byte in a CPU store is what the replay\'s GPU runs: the read of its result diverges', async (t) => {
  const bytes = await record('cpu-write-flip.xetrace', (_d, p) => void boFlow(p));
  const rs = decodeTrace(bytes).records;
  const store = cpu(rs, 'cpu_write')[0];
  // Byte 12 of MI_STORE_DWORD_IMM (header, address qword, value) is the low byte of the value: the GPU stores 0xc0ff11.
  const r = await replayTrace(flip(bytes, store, 12), { idleMs: 200 });
  t.same(r.divergences.map((d) => [d.index, d.kind]), [[cpu(rs, 'cpu_read')[0], 'cpu_read']]);
  t.match(r.divergences[0].fields[0], /byte 0 .*recorded 0xee, replayed 0x11/);
});

t.test('a snapshot a batch\'s fault took is stored before that batch\'s EXEC, wherever it lies in the file', async (t) => {
  const bytes = await record('cpu-mirror-moved.xetrace', (_d, p) => void mirrorFlow(p));
  const rs = decodeTrace(bytes).records;
  const bg = new Set(rs.flatMap((r, i) => (r.type === 'cpu_write' && r.tid === -1 ? [i] : [])));
  t.ok(bg.size > 0, 'the batch faulted pages in');
  // Moved to the end of the file: only its seq (the EXEC's) places it.
  const moved = rewrite(bytes, (all) => [...all.filter((_, i) => !bg.has(i)), ...all.filter((_, i) => bg.has(i))]);
  const last = decodeTrace(moved).records.slice(-bg.size);
  t.ok(last.every((r) => r.type === 'cpu_write' && r.tid === -1), 'the snapshots are last in the edited file');
  const r = await replayTrace(moved);
  t.same(r.divergences, []);
  t.same(r.summary.cpu_write, { ok: cpu(rs, 'cpu_write').length });
});

t.test('a poll that read "not yet" before the GPU result matches when the replay\'s GPU is already ahead', async (t) => {
  const bytes = await record('cpu-poll.xetrace', (_d, p) => void boFlow(p));
  const rs = decodeTrace(bytes).records;
  const at = cpu(rs, 'cpu_read')[0];
  // Two earlier loads of the same dword by the same thread, as a polling loop makes them.
  const notYet = (): TraceRecord => ({ ...(rs[at] as CpuAccessRecord), data: new Uint8Array(4) });
  const polled = rewrite(bytes, (all) => [...all.slice(0, at), notYet(), notYet(), ...all.slice(at)]);
  const r = await replayTrace(polled, { idleMs: 200 });
  t.same(r.divergences, []);
  t.same(r.summary.cpu_read, { ok: 3 });
  // The same loads with nothing after them: nothing shows the GPU was expected to get there.
  const alone = rewrite(bytes, (all) => [...all.slice(0, at), notYet(), ...all.slice(at + 1)]);
  const r2 = await replayTrace(alone, { idleMs: 200 });
  t.same(r2.divergences.map((d) => [d.index, d.kind]), [[at, 'cpu_read']]);
});

t.test('a user fence the CPU stores in malloc memory replays: its page is shared, so the stores are recorded', async (t) => {
  const bytes = await record('cpu-ufence.xetrace', (_d, p) => {
    const fd = p.open();
    const uf = p.mem.alloc(8, 8);
    p.mem.writeU64(uf, 5n); // before any sharing: in the snapshot the first wait takes
    t.equal(__xe_wait_ufence(p, fd, uf, 7n, 0, 0n).err, -ETIME, 'not yet');
    p.mem.writeU64(uf, 7n); // after: a recorded store
    t.equal(__xe_wait_ufence(p, fd, uf, 7n, 0, 0n).err, 0, 'now it passes');
  });
  const rs = decodeTrace(bytes).records;
  const waits = rs.filter((r) => r.type === 'ioctl');
  t.same(waits.map((r) => r.type === 'ioctl' && r.errno), [ETIME, 0]);
  const snap = rs[rs.indexOf(waits[0]) - 1] as CpuAccessRecord;
  t.same([snap.type, snap.seq], ['cpu_write', waits[0].seq], 'the first wait snapshots the fence page');
  t.ok(rs.some((r) => r.type === 'cpu_write' && r.seq > waits[0].seq && r.seq < waits[1].seq && r.data.length === 8 && r.data[0] === 7), 'the store of 7 is recorded');
  const r = await replayTrace(bytes, { idleMs: 200 });
  t.same(r.divergences, []);
  t.same(r.summary.DRM_IOCTL_XE_WAIT_USER_FENCE, { ETIME: 1, ok: 1 });
});
