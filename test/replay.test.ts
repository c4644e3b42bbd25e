// Trace replay (replayTrace, docs/trace-format.md "Replay"): recorded programs replay with no
// divergence (a UMD-style flow, two processes, a thread released by another thread's call,
// failing calls, shifted ids); edited traces diverge at the edited record with the field
// named (a write, a query reply, errno, ret, return words); a wait that would block forever
// is reported, not waited for; a kernel bug in the replay; truncated traces; DEBUG.SETTLE.
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { C, DEBUG, replayTrace, type FieldsIn, type Process } from '../src/index.js';
import { SYS } from '../src/uapi/channel.js';
import { EINVAL, ENOENT, ETIME } from '../src/uapi/errno.js';
import { decodeTrace, TraceError, type IoctlRecord } from '../src/uapi/trace.js';
import {
  __ioctl, __syncobj_wait, __xe_vm_destroy, prime_fd_to_handle, prime_handle_to_fd, syncobj_create, syncobj_signal, syncobj_wait,
  xe_bo_create, xe_exec_queue_create, xe_exec_sync, xe_vm_create, xe_wait_ufence,
} from '../src/userspace/igt.js';
import { xe_spin_end, xe_spin_init, xe_spin_started } from '../src/userspace/xe_spin.js';
import { execDevice, VA } from './helpers/exec_device.js';
import { dir, dropExtra, flow, ioctlAt, ioctlIndex, record, rewrite } from './helpers/replay_rig.js';

t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const INT64_MAX = (1n << 63n) - 1n;
const WAIT_FOR_SUBMIT = C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT');

t.test('a UMD-style flow replays with no divergence; the summary counts each call', async (t) => {
  const bytes = await record('flow.xetrace', (_d, p) => flow(p));
  const tr = decodeTrace(bytes);
  const seen: Array<[number, number]> = [];
  const r = await replayTrace(bytes, { progress: (done, total) => seen.push([done, total]) });
  t.same(seen.at(-1), [tr.records.length, tr.records.length], 'progress ends at the total');
  t.same(r.divergences, []);
  t.equal(r.records, tr.records.length);
  t.equal(r.replayed, tr.records.length - 1, 'every call but the shutdown');
  t.same(r.notReplayed, { 'shutdown (the replay closes the device at its end)': 1 });
  const count = (name: string): number => tr.records.filter((x) => x.type === 'ioctl' && ioctlIndex([x], name) === 0).length;
  for (const name of ['DRM_IOCTL_XE_VM_BIND', 'DRM_IOCTL_XE_EXEC', 'DRM_IOCTL_SYNCOBJ_WAIT', 'DRM_IOCTL_XE_GEM_CREATE']) {
    t.ok(count(name) > 0, `${name} recorded`);
    t.same(r.summary[name], { ok: count(name) }, `${name} counted`);
  }
  t.same(r.summary.mmap, { ok: 1 });
  t.same(r.summary.open, { ok: 1 });
});

t.test('two processes sharing a BO through PRIME replay with no divergence', async (t) => {
  const bytes = await record('procs.xetrace', (dev, p) => {
    const q = dev.createProcess();
    const fd = p.open();
    const fd2 = q.open();
    const vm = xe_vm_create(p, fd);
    const bo = xe_bo_create(p, fd, 0, 0x10000, 1);
    const dmabuf = prime_handle_to_fd(p, fd, bo);
    const passed = q.receiveFd(p, dmabuf);
    const imported = prime_fd_to_handle(q, fd2, passed);
    xe_vm_create(q, fd2);
    // A failing call in the second process: no such VM there.
    t.equal(__xe_vm_destroy(q, fd2, vm + 5), -ENOENT);
    q.close(passed);
    t.ok(imported > 0);
    q.exit();
  });
  const tr = decodeTrace(bytes);
  t.ok(tr.records.some((x) => x.pid === 2), 'the second process is in the trace');
  const r = await replayTrace(bytes);
  t.same(r.divergences, []);
  t.same(r.summary.process_create, { ok: 1 });
  t.same(r.summary.DRM_IOCTL_XE_VM_DESTROY, { ENOENT: 1 });
  t.same(r.summary.DRM_IOCTL_PRIME_FD_TO_HANDLE, { ok: 1 });
});

/** Runs ioctl `name` on a new thread of `p`; resolves once the kernel has parked it (or it ended). */
async function blockedCall(p: Process, fd: number, name: string, fields: FieldsIn): Promise<{ done: Promise<unknown> }> {
  const w = new Worker(new URL('./helpers/blocked_call.js', import.meta.url), { workerData: { handle: p.threadHandle(), fd, name, fields } });
  let ended = false;
  const done = new Promise((resolve, reject) => {
    w.on('message', (m: { kind: string }) => m.kind !== 'started' && resolve((ended = true) && m));
    w.on('error', reject);
  });
  while (p.debug(DEBUG.PARKED)[0] === 0n && !ended) await sleep(2);
  return { done };
}

t.test('a thread blocked in a wait that another thread releases replays in its recorded order', async (t) => {
  const bytes = await record('threads.xetrace', async (_d, p) => {
    const fd = p.open();
    const so = syncobj_create(p, fd);
    const handles = p.mem.alloc(4);
    p.mem.writeU32(handles, so);
    const fields = { handles, count_handles: 1, flags: WAIT_FOR_SUBMIT, timeout_nsec: p.clockMonotonicNs() + 30_000_000_000n };
    const { done } = await blockedCall(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', fields);
    syncobj_signal(p, fd, [so]);
    t.match(await done, { kind: 'done', rc: 0 });
  });
  const tr = decodeTrace(bytes);
  const wait = ioctlIndex(tr.records, 'DRM_IOCTL_SYNCOBJ_WAIT');
  const signal = ioctlIndex(tr.records, 'DRM_IOCTL_SYNCOBJ_SIGNAL');
  const w = ioctlAt(tr.records, wait);
  t.equal(w.blocked, true);
  t.ok(signal < wait && tr.records[signal].seq > w.seq, 'the wait entered first and completed after the signal');
  t.not(w.tid, 0, 'on another thread');
  const r = await replayTrace(bytes);
  t.same(r.divergences, []);
  t.same(r.summary.DRM_IOCTL_SYNCOBJ_WAIT, { ok: 1 });
  t.same(r.summary.thread_create, { ok: 1 });
  // Without the signal the other thread's wait never ends: reported when the main thread's
  // next call must wait for it; --all kills the process and skips the rest of it.
  const edited = rewrite(bytes, (rs) => rs.filter((_, i) => i !== signal));
  const all = await replayTrace(edited, { all: true, idleMs: 200 });
  t.same(all.divergences.map((d) => [d.index, d.kind, d.tid]), [[wait - 1, 'blocked', w.tid]]);
  t.ok(all.notReplayed['calls of a killed process'] >= 2, 'the rest of the process is skipped');
});

t.test('failing calls and a timed-out wait replay with their errnos', async (t) => {
  const bytes = await record('errors.xetrace', (_d, p) => {
    const fd = p.open();
    t.equal(__xe_vm_destroy(p, fd, 7), -ENOENT);
    t.equal(__ioctl(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', { size: 0x1000, placement: 1, flags: 0x80 }).err, -EINVAL);
    t.equal(p.close(99), -1);
    const so = syncobj_create(p, fd);
    // An absolute timeout 1 ms from now: it expires (the replay gives it 0: already expired).
    t.equal(__syncobj_wait(p, fd, [so], p.clockMonotonicNs() + 1_000_000n, WAIT_FOR_SUBMIT), -ETIME);
    syncobj_signal(p, fd, [so]);
    t.ok(syncobj_wait(p, fd, [so], INT64_MAX));
  });
  const r = await replayTrace(bytes);
  t.same(r.divergences, []);
  t.same(r.summary.DRM_IOCTL_XE_VM_DESTROY, { ENOENT: 1 });
  t.same(r.summary.DRM_IOCTL_XE_GEM_CREATE, { EINVAL: 1 });
  t.same(r.summary.close, { EBADF: 1 });
  t.same(r.summary.DRM_IOCTL_SYNCOBJ_WAIT, { ETIME: 1, ok: 1 });
});

t.test('ids are remapped: a trace whose recorded ids differ from the replay kernel choices', async (t) => {
  const bytes = await record('shifted.xetrace', (_d, p) => flow(p, true));
  const shifted = rewrite(bytes, dropExtra);
  const tr = decodeTrace(shifted);
  const create = ioctlAt(tr.records, ioctlIndex(tr.records, 'DRM_IOCTL_XE_GEM_CREATE'));
  t.equal(create.writes[0].data[28], 2, 'the recorded GEM handle is 2 (the replay gets 1)');
  t.equal(ioctlAt(tr.records, ioctlIndex(tr.records, 'DRM_IOCTL_XE_VM_CREATE')).writes[0].data[12], 2, 'the recorded vm_id is 2');
  const r = await replayTrace(shifted);
  t.same(r.divergences, []);
  t.same(r.summary.DRM_IOCTL_XE_VM_BIND, { ok: 1 });
  t.same(r.summary.DRM_IOCTL_XE_EXEC, { ok: 1 });
  t.same(r.summary.DRM_IOCTL_SYNCOBJ_WAIT, { ok: 2 });
});

t.test('a flipped byte in a kernel write diverges at that record, naming the field', async (t) => {
  const bytes = await record('flip.xetrace', (_d, p) => flow(p));
  const tr = decodeTrace(bytes);
  const at = ioctlIndex(tr.records, 'DRM_IOCTL_XE_DEVICE_QUERY');
  const q = ioctlAt(tr.records, at);
  t.equal(q.writes[0].addr, q.argp, 'the size probe writes the struct back');
  const size = q.writes[0].data[12];
  const edited = rewrite(bytes, (rs) => rs.map((x, i) => (i === at ? flipWrite(x as IoctlRecord, 12) : x)));
  const r = await replayTrace(edited);
  t.equal(r.divergences.length, 1);
  const d = r.divergences[0];
  t.match(d, { index: at, offset: decodeTrace(edited).offsets[at], seq: q.seq, pid: 1, tid: 0, kind: 'write' });
  t.same(d.fields, [`drm_xe_device_query.size: recorded 0x${(size ^ 0x40).toString(16)}, replayed 0x${size.toString(16)}`]);
  t.match(d.recorded, /DRM_IOCTL_XE_DEVICE_QUERY/);
  t.ok(r.replayed < tr.records.length - 1, 'the replay stopped at the first divergence');
  t.same(r.summary.DRM_IOCTL_XE_DEVICE_QUERY, { diverged: 1 });
});

t.test('a flipped byte in a DEVICE_QUERY reply names the reply field', async (t) => {
  const bytes = await record('flip-reply.xetrace', (_d, p) => flow(p));
  const tr = decodeTrace(bytes);
  const at = ioctlIndex(tr.records, 'DRM_IOCTL_XE_DEVICE_QUERY', ioctlIndex(tr.records, 'DRM_IOCTL_XE_DEVICE_QUERY') + 1);
  const q = ioctlAt(tr.records, at);
  t.not(q.writes[0].addr, q.argp, 'the reply goes to data');
  const vaBits = q.writes[0].data[8 + 8 * C('DRM_XE_QUERY_CONFIG_VA_BITS')];
  const edited = rewrite(bytes, (rs) => rs.map((x, i) => (i === at ? flipWrite(x as IoctlRecord, 8 + 8 * C('DRM_XE_QUERY_CONFIG_VA_BITS')) : x)));
  const r = await replayTrace(edited);
  t.same(r.divergences.map((d) => [d.index, d.kind, d.fields]), [
    [at, 'write', [`drm_xe_query_config.info[3]: recorded 0x${(vaBits ^ 0x40).toString(16)}, replayed 0x${vaBits.toString(16)}`]],
  ]);
});

/** `r` with byte `off` of its first write flipped (xor 0x40). */
function flipWrite(r: IoctlRecord, off: number): IoctlRecord {
  const data = new Uint8Array(r.writes[0].data);
  data[off] ^= 0x40;
  return { ...r, writes: [{ addr: r.writes[0].addr, data }, ...r.writes.slice(1)] };
}

t.test('a flipped errno or ret diverges at that record; --all goes on', async (t) => {
  const bytes = await record('errs.xetrace', (_d, p) => {
    const fd = p.open();
    __xe_vm_destroy(p, fd, 7);
    const so = syncobj_create(p, fd);
    syncobj_signal(p, fd, [so]);
  });
  const tr = decodeTrace(bytes);
  const destroy = ioctlIndex(tr.records, 'DRM_IOCTL_XE_VM_DESTROY');
  const signal = ioctlIndex(tr.records, 'DRM_IOCTL_SYNCOBJ_SIGNAL');
  const edited = rewrite(bytes, (rs) => rs.map((x, i) => (i === destroy ? { ...x, errno: EINVAL } : i === signal ? { ...x, ret: 1 } : x)));
  const r = await replayTrace(edited, { all: true });
  t.same(r.divergences.map((d) => [d.index, d.kind, d.fields]), [
    [destroy, 'result', ['errno: recorded EINVAL (22), replayed ENOENT (2)']],
    [signal, 'result', ['ret: recorded 1, replayed 0']],
  ]);
  t.match(r.divergences[0].replayed, /DRM_IOCTL_XE_VM_DESTROY \{vm_id=7\}\) = -1 ENOENT \(-2\)$/);
  t.equal(r.replayed, tr.records.length - 1, 'every call replayed');
});

t.test('a malloc or mmap that returns another address diverges at that record', async (t) => {
  const bytes = await record('addrs.xetrace', (_d, p) => {
    p.mem.alloc(64);
    p.munmap(p.mmapAnon(0x2000), 0x2000);
  });
  const tr = decodeTrace(bytes);
  const malloc = tr.records.findIndex((x) => x.type === 'syscall' && x.nr === SYS.MALLOC);
  const mmap = tr.records.findIndex((x) => x.type === 'mmap');
  const edited = rewrite(bytes, (rs) =>
    rs.map((x, i) => (i === malloc && x.type === 'syscall' ? { ...x, rets: [x.rets[0] + 0x40n] } : i === mmap && x.type === 'mmap' ? { ...x, result: x.result + 0x1000n } : x)),
  );
  const r = await replayTrace(edited, { all: true });
  const m = tr.records[mmap] as Extract<(typeof tr.records)[number], { type: 'mmap' }>;
  const a = (tr.records[malloc] as Extract<(typeof tr.records)[number], { type: 'syscall' }>).rets[0];
  t.same(r.divergences.map((d) => [d.index, d.kind, d.fields]), [
    [malloc, 'rets', [`malloc return word 0: recorded 0x${(a + 0x40n).toString(16)}, replayed 0x${a.toString(16)}`]],
    [mmap, 'rets', [`mmap result: recorded 0x${(m.result + 0x1000n).toString(16)}, replayed 0x${m.result.toString(16)}`]],
  ]);
  t.match(r.divergences[1].replayed, new RegExp(`mmap\\(.*\\) = 0x${m.result.toString(16)}$`));
});

t.test('a wait that would block forever is a divergence, not a hang', async (t) => {
  const bytes = await record('forever.xetrace', (_d, p) => {
    const fd = p.open();
    const so = syncobj_create(p, fd);
    syncobj_signal(p, fd, [so]);
    t.ok(syncobj_wait(p, fd, [so], p.clockMonotonicNs() + 60_000_000_000n, WAIT_FOR_SUBMIT));
    syncobj_create(p, fd);
  });
  const tr = decodeTrace(bytes);
  const wait = ioctlIndex(tr.records, 'DRM_IOCTL_SYNCOBJ_WAIT');
  // Without the signal nothing ever signals the syncobj.
  const edited = rewrite(bytes, (rs) => rs.filter((_, i) => i !== ioctlIndex(rs, 'DRM_IOCTL_SYNCOBJ_SIGNAL')));
  const at = wait - 1;
  const r = await replayTrace(edited, { idleMs: 200 });
  t.same(r.divergences.map((d) => [d.index, d.kind, d.fields]), [[at, 'blocked', ['blocked: the recorded call completed, the replayed one would block forever']]]);
  t.match(r.divergences[0].replayed, /DRM_IOCTL_SYNCOBJ_WAIT .*<no answer>$/);
  const all = await replayTrace(edited, { idleMs: 200, all: true });
  t.equal(all.divergences.length, 1);
  t.ok(all.notReplayed['calls of a killed process'] >= 3, 'the rest of process 1 is skipped and counted');
});

t.test('a truncated trace: TraceError with record and offset; partial replays the prefix', async (t) => {
  const bytes = await record('cut.xetrace', (_d, p) => flow(p));
  const tr = decodeTrace(bytes);
  const k = ioctlIndex(tr.records, 'DRM_IOCTL_XE_EXEC');
  const cut = bytes.subarray(0, tr.offsets[k] + 5);
  await t.rejects(replayTrace(cut), new TraceError(k, tr.offsets[k], 'truncated (the file ends inside it; --partial reads the records before)'));
  const r = await replayTrace(cut, { partial: true });
  t.same(r.divergences, []);
  t.equal(r.records, k);
  t.equal(r.replayed, k);
  t.same(r.cut, { index: k, offset: tr.offsets[k] });
});

t.test('DEBUG.SETTLE: busy while a batch runs, settled when it ends or only polls; the nearest deadline', async (t) => {
  const { p, fd, vm, cpu } = await execDevice(t);
  t.same(p.debug(DEBUG.SETTLE).slice(0, 2), [1n, -1n], 'idle device: settled, no deadline (all ones)');
  const q = xe_exec_queue_create(p, fd, vm, { engine_class: C('DRM_XE_ENGINE_CLASS_RENDER'), engine_instance: 0, gt_id: 0 });
  p.mem.write(cpu, xe_spin_init({ addr: VA }));
  p.mem.write(cpu + 0x1000n, xe_spin_init({ addr: VA + 0x1000n, semaphore: true }));
  xe_exec_sync(p, fd, q, VA);
  const [busy, left] = p.debug(DEBUG.SETTLE, 1n);
  t.equal(busy, 0n, 'a spinning batch: budget spent, still runnable');
  t.ok(left > 0n, 'its job timeout is the nearest deadline');
  t.ok(xe_spin_started(p, cpu));
  xe_spin_end(p, cpu);
  t.equal(p.debug(DEBUG.SETTLE)[0], 1n, 'the batch ended: settled');
  xe_exec_sync(p, fd, q, VA + 0x1000n);
  t.equal(p.debug(DEBUG.SETTLE)[0], 1n, 'a batch parked on a semaphore only polls: settled');
  xe_spin_end(p, cpu + 0x1000n);
});

t.test('user fences: a wait on a written fence, and a thread blocked in an absolute wait until the fence is written', async (t) => {
  const EQ = C('DRM_XE_UFENCE_WAIT_OP_EQ');
  const bytes = await record('ufence.xetrace', async (_d, p) => {
    const fd = p.open();
    const fence = p.mem.alloc(8, 8);
    p.debug(DEBUG.UFENCE_WRITE, fence, 0xd00dn);
    t.ok(xe_wait_ufence(p, fd, fence, 0xd00dn, 0, 5_000_000_000n) > 0n, 'relative: the remaining time is written back');
    const { done } = await blockedCall(p, fd, 'DRM_IOCTL_XE_WAIT_USER_FENCE', {
      addr: fence, op: EQ, flags: C('DRM_XE_UFENCE_WAIT_FLAG_ABSTIME'), value: 0xbeefn, mask: (1n << 64n) - 1n, timeout: p.clockMonotonicNs() + 30_000_000_000n,
    });
    p.debug(DEBUG.UFENCE_WRITE, fence, 0xbeefn);
    t.match(await done, { kind: 'done', rc: 0 });
  });
  const tr = decodeTrace(bytes);
  const waits = tr.records.filter((x): x is IoctlRecord => x.type === 'ioctl' && ioctlIndex([x], 'DRM_IOCTL_XE_WAIT_USER_FENCE') === 0);
  t.same(waits.map((x) => x.blocked), [false, true]);
  const r = await replayTrace(bytes);
  t.same(r.divergences, []);
  t.same(r.summary.DRM_IOCTL_XE_WAIT_USER_FENCE, { ok: 2 });
});

t.test('a call the replay kernel fails on with an internal error is a divergence; the replay goes on', async (t) => {
  const bytes = await record('bug.xetrace', (_d, p) => {
    p.debug(DEBUG.PARKED);
    const fd = p.open();
    syncobj_create(p, fd);
  });
  const tr = decodeTrace(bytes);
  const at = tr.records.findIndex((x) => x.type === 'syscall' && x.nr === SYS.DEBUG);
  // The DEBUG call turned into DEBUG.KERNEL_BUG.
  const edited = rewrite(bytes, (rs) => rs.map((x, i) => (i === at && x.type === 'syscall' ? { ...x, args: [BigInt(DEBUG.KERNEL_BUG), ...x.args.slice(1)] } : x)));
  const r = await replayTrace(edited, { all: true });
  t.same(r.divergences.map((d) => [d.index, d.kind]), [[at, 'result']]);
  t.match(r.divergences[0].fields, [/^xe-emu kernel bug: .*deliberate kernel bug \(DEBUG\.KERNEL_BUG\)$/]);
  t.same(r.summary.debug, { diverged: 1 });
  t.same(r.summary.DRM_IOCTL_SYNCOBJ_CREATE, { ok: 1 }, 'later calls replayed');
});
