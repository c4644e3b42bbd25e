// CPU accesses of GPU-shared memory in traces (records 16 cpu_write / 17 cpu_read): the
// PTE_TRACED marking (BO mappings, userptr pins, mirror faults; with `record` or
// `markShared`, never otherwise), the access hook of user code's AddressSpace, SYS.TRACE_ACCESS
// and its bad input, snapshots of newly shared pages, and user-fence writes at job completion
// kept out of the call records.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AddressSpace, CpuPageTable, PageFault } from '../src/hw/cpu_mmu.js';
import { createRegions, PAGE_SIZE, PageAllocator, PhysicalMemory } from '../src/hw/memory.js';
import { Mm, ObjectMappings, type MappingBacking } from '../src/kernel/os/mm.js';
import { C, createDevice, type DeviceOptions, type Process } from '../src/index.js';
import { CH_MSG_BYTES, SYS, TRACE_ACCESS_MAX } from '../src/uapi/channel.js';
import { Channel } from '../src/userspace/channel.js';
import { decodeTrace, type CpuAccessRecord, type IoctlRecord, type TraceRecord } from '../src/uapi/trace.js';
import { requestName } from '../src/uapi/uapi.js';
import {
  prime_handle_to_fd_for_mmap, xe_bo_create, xe_bo_map, xe_va_bits, xe_vm_bind_async_flags, xe_vm_bind_userptr_sync, xe_vm_create, xe_wait_ufence,
} from '../src/userspace/igt.js';
import { boFlow, FAULT_VM, mirrorFlow, pageTable, ufence, userptrFlow } from './helpers/cpu_flows.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-trace-cpu-'));
const P = BigInt(PAGE_SIZE);
const INF = (1n << 63n) - 1n;

let traces = 0;

/** Runs `body` on a device recording to a new file; returns the decoded records. */
async function recorded(body: (p: Process) => void, opts: DeviceOptions = {}): Promise<TraceRecord[]> {
  const path = join(dir, `t${traces++}.xetrace`);
  const dev = await createDevice({ profile: 'lnl', ...opts, record: path });
  try {
    body(dev.process);
  } finally {
    await dev.close();
  }
  return decodeTrace(readFileSync(path)).records;
}

const cpuAccesses = (recs: TraceRecord[]): CpuAccessRecord[] => recs.filter((r): r is CpuAccessRecord => r.type === 'cpu_write' || r.type === 'cpu_read');
const ioctls = (recs: TraceRecord[], name: string): IoctlRecord[] =>
  recs.filter((r): r is IoctlRecord => r.type === 'ioctl' && requestName(r.request) === name);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u32 = (v: number): string => hex(new Uint8Array(new Uint32Array([v]).buffer));

t.test('AddressSpace: accesses touching a PTE_TRACED page reach the hook after they are done; others take the fast path', async (t) => {
  const regions = createRegions(1 << 20, []);
  const phys = new PhysicalMemory(regions);
  const pt = new CpuPageTable(CpuPageTable.allocate(16n * P));
  const seen: Array<[bigint, number, boolean, string]> = [];
  const raw = new AddressSpace(pt, phys);
  const as = new AddressSpace(pt, phys, (addr, bytes, write) => {
    if (hex(bytes) !== hex(raw.read(addr, bytes.length))) throw new Error('reported before the access was done');
    seen.push([addr, bytes.length, write, hex(bytes)]);
  });
  pt.map(0, 0x10000, true);
  pt.map(1, 0x20000, true, true);
  pt.map(2, 0x30000, true);
  pt.setTraced(2);
  t.equal(pt.resolve(pt.base + 8n, 4, false), 0x10008, 'an untraced page: the fast path resolves it');
  t.equal(pt.resolve(pt.base + P + 8n, 4, false), -1, 'a traced one falls to the slow path');
  t.ok(pt.isTraced(pt.base + 2n * P) && !pt.isTraced(pt.base), 'setTraced marks a mapped page only');
  pt.setTraced(5);
  t.notOk(pt.isTraced(pt.base + 5n * P), 'an unmapped page is not marked');
  as.write(pt.base + 0x10n, new Uint8Array([1, 2, 3]));
  as.read(pt.base + 0x10n, 3);
  t.same(seen, [], 'no report for an untraced page');
  // A write from page 0 into page 1, a read of page 1, a read inside page 2.
  as.write(pt.base + P - 2n, new Uint8Array([0xa, 0xb, 0xc, 0xd]));
  t.same([...as.read(pt.base + P, 2)], [0xc, 0xd]);
  as.writeU64(pt.base + 2n * P + 8n, 0x1122334455667788n);
  t.equal(as.readU64(pt.base + 2n * P + 8n), 0x1122334455667788n);
  t.same(seen, [
    [pt.base + P - 2n, 4, true, '0a0b0c0d'],
    [pt.base + P, 2, false, '0c0d'],
    [pt.base + 2n * P + 8n, 8, true, '8877665544332211'],
    [pt.base + 2n * P + 8n, 8, false, '8877665544332211'],
  ], 'each report after its access, with the range, the bytes and the direction');
  let fault: unknown = null;
  try {
    as.write(pt.base + 3n * P - 2n, new Uint8Array(4));
  } catch (e) {
    fault = e;
  }
  t.ok(fault instanceof PageFault, 'an access running into an unmapped page faults');
  t.equal(seen.length, 4, 'and is not reported');
});

t.test('Mm under a trace: object mappings are marked, also after a move; share snapshots newly shared pages once', async (t) => {
  const regions = createRegions(1 << 20, []);
  const snaps: Array<[bigint, number, number]> = [];
  const pt = new CpuPageTable(CpuPageTable.allocate(64n * P));
  const phys = new PhysicalMemory(regions);
  const mm = new Mm(pt, phys, new PageAllocator(regions[0]), { snapshot: (addr, bytes) => snaps.push([addr, bytes.length, bytes[5]]) });
  let base = 100;
  const mappings = new ObjectMappings();
  const obj: MappingBacking = { mappings, page: (i) => (base + i) * PAGE_SIZE, release: () => undefined };
  const at = mm.mmapObject(obj, 0, 2 * PAGE_SIZE, true);
  t.ok(pt.isTraced(at) && pt.isTraced(at + P), 'both pages of the object mapping');
  base = 120;
  mappings.refresh();
  t.equal(pt.translate(at, false), 120 * PAGE_SIZE, 'the move repointed the PTE');
  t.ok(pt.isTraced(at) && pt.isTraced(at + P), 'and kept the mark');
  const anon = mm.mmap({ addr: 0n, length: 4n * P, flags: 0 }, null);
  t.notOk(pt.isTraced(anon), 'anonymous memory is not marked when mapped');
  phys.copyIn(pt.translate(anon + P, false) + 5, new Uint8Array([0x55]), 0, 1);
  mm.share(anon + P, 2);
  t.same(snaps, [[anon + P, 2 * PAGE_SIZE, 0x55]], 'one snapshot of the two pages, with their content');
  t.ok(pt.isTraced(anon + P) && pt.isTraced(anon + 2n * P) && !pt.isTraced(anon) && !pt.isTraced(anon + 3n * P), 'exactly they are marked');
  mm.share(anon, 4);
  t.same(snaps.slice(1), [[anon, PAGE_SIZE, 0], [anon + 3n * P, PAGE_SIZE, 0]], 'a second share snapshots only the pages not yet shared');
  mm.share(at, 2);
  t.equal(snaps.length, 3, 'object pages are never snapshotted (their content is the GPU\'s and the kernel\'s)');
  mm.munmap(anon, 4n * P);
  const again = mm.mmap({ addr: anon, length: P, flags: 0 }, null);
  t.notOk(pt.isTraced(again), 'a new page at the same address starts unmarked');

  const plain = new Mm(new CpuPageTable(CpuPageTable.allocate(64n * P)), phys, new PageAllocator(regions[0]));
  const m2 = plain.mmapObject(obj, 0, PAGE_SIZE, true);
  const a2 = plain.mmap({ addr: 0n, length: P, flags: 0 }, null);
  plain.share(a2, 1);
  t.notOk(plain.pt.isTraced(m2) || plain.pt.isTraced(a2), 'without a trace nothing is marked');
});

t.test('a recorded BO flow: CPU stores into the mapping are cpu_write records in program order, the read-back a cpu_read', async (t) => {
  let run!: ReturnType<typeof boFlow>;
  const recs = await recorded((p) => void (run = boFlow(p)));
  t.equal(run.read, 0xc0ffee, 'the GPU stored the value');
  t.ok(run.boMarked, 'every page of the BO mapping is marked');
  t.notOk(run.heapMarked, 'malloc memory is not');
  const acc = cpuAccesses(recs);
  t.same(acc.map((r) => [r.type, r.pid, r.tid, r.addr, hex(r.data)]), [
    ['cpu_write', 1, 0, run.cpu, hex(run.stored)],
    ['cpu_read', 1, 0, run.cpu + 0x100n, u32(0xc0ffee)],
  ], 'the batch store and the read-back, nothing else (malloc memory and argument structs are not shared)');
  const seqs = recs.map((r) => r.seq);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'no call blocked: file order is seq order');
  t.same(seqs, recs.map((_, i) => i), 'the CPU records take fresh seqs like calls');
  const exec = ioctls(recs, 'DRM_IOCTL_XE_EXEC')[0];
  t.ok(acc[0].seq < exec.seq && acc[1].seq > exec.seq, 'the store precedes the EXEC, the read follows it');
  t.notOk(recs.some((r) => r.type === 'syscall' && r.nr === SYS.TRACE_ACCESS), 'the reports are no syscall records');
});

t.test('a recorded userptr flow: the pin snapshots the pages with the VM_BIND\'s seq; later stores and the GPU result are recorded', async (t) => {
  let run!: ReturnType<typeof userptrFlow>;
  const recs = await recorded((p) => void (run = userptrFlow(p)));
  const { user, first, second } = run;
  t.same(run.reads, [0x5eed, 0xbeef], 'both batches ran');
  t.same([run.markedBefore, run.markedAfter], [false, true], 'the pin marked both pages');
  const bind = ioctls(recs, 'DRM_IOCTL_XE_VM_BIND')[0];
  const at = recs.indexOf(bind);
  const snap = recs[at - 1] as CpuAccessRecord;
  t.same([snap.type, snap.seq, snap.pid, snap.tid, snap.addr, snap.data.length], ['cpu_write', bind.seq, 1, 0, user, 2 * PAGE_SIZE], 'the snapshot: the VM_BIND\'s seq, just before its record, both pages');
  t.equal(hex(snap.data.subarray(0, first.length)), hex(first), 'with the batch the CPU wrote before the pin');
  t.ok(snap.data.subarray(first.length).every((b) => b === 0), 'and the rest of the pages (zero)');
  const later = cpuAccesses(recs.slice(at + 1)).map((r) => [r.type, r.addr, hex(r.data)]);
  t.same(later, [
    ['cpu_read', user + P + 0x24n, u32(0x5eed)],
    ['cpu_write', user, hex(second)],
    ['cpu_read', user + P + 0x28n, u32(0xbeef)],
  ], 'after the pin: reads of GPU results and the second batch store');
});

t.test('a recorded mirror flow: GPU faults snapshot the pages (in a call: its seq; while a batch runs: its EXEC\'s seq, thread -1)', async (t) => {
  let run!: ReturnType<typeof mirrorFlow>;
  const recs = await recorded((p) => void (run = mirrorFlow(p)));
  const { uf, page, heap } = run;
  t.same(run.gpuRead, [0xed, 0xfe, 0, 0], 'the GPU reads the CPU\'s data');
  t.equal(run.copied, 0x1234, 'the GPU copied what the CPU wrote');
  const inCall = recs.findIndex((r) => r.type === 'cpu_write' && r.addr === page);
  const debug = recs[inCall + 1];
  t.same([debug.type, (debug as { nr?: number }).nr], ['syscall', SYS.DEBUG], 'the GPU_READ call follows its snapshot');
  const s1 = recs[inCall] as CpuAccessRecord;
  t.same([s1.seq, s1.tid, s1.data.length, hex(s1.data.subarray(0x10, 0x14))], [debug.seq, 0, PAGE_SIZE, u32(0xfeed)], 'in a call: its seq and thread, the page and its data');
  const bg = cpuAccesses(recs).filter((r) => r.tid === -1);
  t.ok(bg.length >= 1, 'a snapshot made while the batch ran');
  const exec = ioctls(recs, 'DRM_IOCTL_XE_EXEC')[0];
  for (const s of bg) t.ok(s.type === 'cpu_write' && s.seq === exec.seq && recs.indexOf(s) > recs.indexOf(exec) && s.pid === 1, 'the EXEC\'s seq, after its record, process 1');
  const covers = (a: bigint) => bg.some((s) => s.addr <= a && a + 4n <= s.addr + BigInt(s.data.length));
  t.ok(covers(heap) && covers(heap + 0x1000n), 'the batch page and the data page were snapshotted');
  const src = bg.find((s) => s.addr <= heap + 0x1000n && heap + 0x1000n < s.addr + BigInt(s.data.length))!;
  t.equal(hex(src.data.subarray(Number(heap + 0x1000n - src.addr), Number(heap + 0x1004n - src.addr))), u32(0x1234), 'with the data written before');
  t.ok(cpuAccesses(recs).some((r) => r.type === 'cpu_read' && r.addr === heap + 0x1100n && hex(r.data) === u32(0x1234)), 'the read-back of the GPU copy');
  // The VM_BIND's user fence was written when its job completed: a GPU effect, no write of any call.
  const bind = ioctls(recs, 'DRM_IOCTL_XE_VM_BIND')[0];
  const fenceWrite = (r: TraceRecord) => r.type === 'ioctl' && r.seq >= bind.seq && r.writes.some((w) => w.addr === uf && w.data.length === 8);
  t.notOk(recs.some(fenceWrite), 'no call record from the VM_BIND on lists the user-fence write');
  const wait = ioctls(recs, 'DRM_IOCTL_XE_WAIT_USER_FENCE')[0];
  t.ok(wait.reads.some((r) => r.addr === uf && r.data[0] === 1), 'the wait read the value the bind wrote');
});

t.test('no trace: nothing is marked and nothing reported; markShared marks without recording', async (t) => {
  for (const markShared of [false, true]) {
    const dev = await createDevice({ profile: 'lnl', markShared });
    const p = dev.process;
    const fd = p.open();
    const vm = xe_vm_create(p, fd);
    const bo = xe_bo_create(p, fd, vm, 0x2000, 1);
    const cpu = xe_bo_map(p, fd, bo, 0x2000);
    const dmabufFd = prime_handle_to_fd_for_mmap(p, fd, xe_bo_create(p, fd, 0, 0x2000, 1));
    t.ok(dmabufFd > 0, 'an exported BO');
    const dmabuf = p.mmap(0x2000, dmabufFd, 0n);
    const user = p.mmapAnon(PAGE_SIZE);
    xe_vm_bind_userptr_sync(p, fd, vm, user, 0x40_0000n, P);
    const fvm = xe_vm_create(p, fd, FAULT_VM);
    const uf = p.mem.alloc(8, 8);
    xe_vm_bind_async_flags(p, fd, fvm, 0, 0, 0n, 0n, 1n << BigInt(xe_va_bits(p, fd)), [ufence(uf, 1n)], C('DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR'));
    xe_wait_ufence(p, fd, uf, 1n, 0, INF);
    const mirrored = p.mmapAnon(PAGE_SIZE);
    t.equal(p.gpuRead(fd, fvm, mirrored, 4)!.done, 4, 'the GPU read faulted the mirror page in');
    const pt = pageTable(p);
    const marked = [cpu, cpu + P, dmabuf + P, user, mirrored].map((a) => pt.isTraced(a));
    t.same(marked, Array(5).fill(markShared), `markShared ${markShared}: BO and dma-buf mappings, userptr and mirror pages`);
    // A user fence's page is memory the GPU side writes and the CPU polls: shared like a BO's.
    t.equal(pt.isTraced(uf), markShared, `markShared ${markShared}: the page of a user fence (malloc memory)`);
    const other = p.mem.alloc(3 * PAGE_SIZE, PAGE_SIZE);
    t.notOk(pt.isTraced(other + P), 'other malloc memory never');
    p.mem.writeU32(cpu, 5); // a report when marked: answered at once, nothing recorded
    t.equal(p.mem.readU32(cpu), 5);
    t.doesNotThrow(() => p.rawSyscall(SYS.TRACE_ACCESS, cpu, 0n, 1n), 'TRACE_ACCESS without a trace: 0 at once, even for a bad length');
    await dev.close();
  }
});

t.test('TRACE_ACCESS bad input: EINVAL, EFAULT, no record', async (t) => {
  const errs: string[] = [];
  let cpu = 0n;
  const recs = await recorded((p) => {
    const fd = p.open();
    const bo = xe_bo_create(p, fd, 0, 0x1000, 1);
    cpu = xe_bo_map(p, fd, bo, 0x1000);
    const fail = (addr: bigint, len: bigint, inMsg = 0n) => {
      try {
        p.rawSyscall(SYS.TRACE_ACCESS, addr, len, 0n, inMsg);
        errs.push('ok');
      } catch {
        errs.push(p.lastError!.name);
      }
    };
    fail(cpu, 0n);
    fail(cpu, BigInt(TRACE_ACCESS_MAX) + 1n);
    fail(cpu, -1n);
    fail(0x1000n, 4n);
    fail(cpu + 0xffen, 4n);
    fail(cpu, 4n);
    fail(cpu, BigInt(CH_MSG_BYTES) + 1n, 1n);
    fail(cpu, 0n, 1n);
    fail(cpu + 0xffen, 4n, 1n);
  });
  t.same(errs, ['EINVAL', 'EINVAL', 'EINVAL', 'EFAULT', 'EFAULT', 'ok', 'EINVAL', 'EINVAL', 'EFAULT']);
  t.same(cpuAccesses(recs).map((r) => [r.type, r.addr, r.data.length]), [['cpu_read', cpu, 4]], 'only the valid report is recorded');
  t.notOk(recs.some((r) => r.type === 'syscall' && r.nr === SYS.TRACE_ACCESS), 'failed reports are no syscall records either');
});

t.test('a short access carries its own bytes (what the CPU saw, whatever memory holds by then); a long one is taken from memory', async (t) => {
  let cpu = 0n;
  const recs = await recorded((p) => {
    const fd = p.open();
    cpu = xe_bo_map(p, fd, xe_bo_create(p, fd, 0, 0x1000, 1), 0x1000);
    const h = p.threadHandle();
    const chan = new Channel(h.control, h.slot, h.pid);
    // As if the GPU had stored 0xff.. between the CPU's load of 1 2 3 4 and its report.
    t.equal(chan.callWithMessage(SYS.TRACE_ACCESS, new Uint8Array([1, 2, 3, 4]), cpu, 4n, 0n, 1n).result, 0);
    const long = new Uint8Array(CH_MSG_BYTES + 1).fill(9);
    p.mem.write(cpu + 0x100n, long);
    t.same([...p.mem.read(cpu + 0x100n, 2)], [9, 9]);
  });
  t.same(cpuAccesses(recs).map((r) => [r.type, r.addr, hex(r.data)]), [
    ['cpu_read', cpu, '01020304'],
    ['cpu_write', cpu + 0x100n, '09'.repeat(CH_MSG_BYTES + 1)],
    ['cpu_read', cpu + 0x100n, '0909'],
  ], 'the message area\'s bytes for the short report, memory\'s for the long one');
});
