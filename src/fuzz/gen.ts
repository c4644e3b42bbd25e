/**
 * The fuzz program generator. It keeps a model of what is alive (processes, threads, fds,
 * GEM handles, syncobjs, VMs, exec queues, pending test fences, mappings) so that most calls
 * name real objects, with a share of wrong ids, odd flags and wholly random argument bytes
 * (the mutated / random mode). Blocking calls get short timeouts, and closes, dups, munmaps,
 * thread and process exits land while other threads are parked. Seeded: the same seed gives
 * the same program.
 */
import { PAGE_SIZE } from '../hw/memory.js';
import * as ch from '../uapi/channel.js';
import { decode, encode, pack } from '../uapi/codec.js';
import { ioc } from '../uapi/ioctl.js';
import type { Fields, FieldsIn } from '../uapi/codec.js';
import { C, IOCTL, IOCTL_LIST } from '../uapi/uapi.js';
import { ARG_ADDR, SCRATCH, SCRATCH_BYTES, type Step, type StepResult } from './exec.js';

/** xorshift32: the same sequence for the same seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** Scratch layout past the argument struct. */
const ARRAY = SCRATCH + 16384n;
const POINTS = SCRATCH + 20480n;
const INSTANCES = SCRATCH + 24576n;
const DATA = SCRATCH + 32768n;
const DATA_BYTES = 16384;
const UFENCE = SCRATCH + 57344n;

const MS = 1_000_000n;
/** Timeouts a blocking call is given. */
const TIMEOUTS = [0n, 1n * MS, 20n * MS, 500n * MS, 2000n * MS];
const TICKS = [0n, 1n * MS, 10n * MS, 300n * MS, 1000n * MS, 3000n * MS];
const MAX_PROCS = 4;
const MAX_THREADS = 3;

/** Objects of one open DRM file (shared by its dup'd fds). */
interface Drm {
  bos: number[];
  syncobjs: number[];
  vms: number[];
  queues: number[];
}

type FdModel = { kind: 'drm'; drm: Drm } | { kind: 'file' } | { kind: 'eventfd' };

interface ProcModel {
  pid: number;
  slots: number[];
  fds: Map<number, FdModel>;
  /** Mappings made by the program (address, bytes). */
  maps: Array<[bigint, number]>;
}

/** What an ioctl builder returns. */
interface Call {
  name: string;
  fields: FieldsIn;
  mem?: Array<[bigint, Uint8Array]>;
  timeoutNs?: bigint;
  /** Updates the model from the answered call's argument struct. */
  after?: (out: Fields) => void;
}

function u32s(xs: number[]): Uint8Array {
  const b = new Uint8Array(xs.length * 4);
  const dv = new DataView(b.buffer);
  xs.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return b;
}

function u64s(xs: bigint[]): Uint8Array {
  const b = new Uint8Array(xs.length * 8);
  const dv = new DataView(b.buffer);
  xs.forEach((x, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, x), true));
  return b;
}

function remove(xs: number[], x: number): void {
  const i = xs.indexOf(x);
  if (i >= 0) xs.splice(i, 1);
}

const BY_NAME = new Map(IOCTL_LIST.map((io) => [io.name, io]));
const DIRS = ['none', 'W', 'R', 'RW'] as const;

/** Generates a program step by step, learning from each step's result. */
export class Generator {
  private readonly r: () => number;
  private readonly procs: ProcModel[] = [{ pid: 1, slots: [0], fds: new Map(), maps: [] }];
  /** Test fences attached by DEBUG FENCE_ATTACH and not yet signalled. */
  private readonly fences: bigint[] = [];
  private after: ((res: StepResult) => void) | null = null;
  /** BO mmaps whose fake offset the program learned (MMAP_OFFSET), for a later mmap step. */
  private readonly queued: Array<{ fd: number; offset: bigint; len: number; p: ProcModel }> = [];

  /**
   * @param seed the program's seed
   * @param now the machine's clock (absolute timeouts are computed from it)
   * @param randomShare per mille of ioctls with wholly random argument bytes
   */
  constructor(
    seed: number,
    private readonly now: () => bigint,
    private readonly randomShare = 150,
  ) {
    this.r = rng(seed);
  }

  private n(k: number): number {
    return this.r() % k;
  }

  private chance(perMille: number): boolean {
    return this.n(1000) < perMille;
  }

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length ? xs[this.n(xs.length)] : undefined;
  }

  /** A live id from `xs` most of the time; otherwise a likely-wrong one (0, a small number, a huge one). */
  private id(xs: readonly number[]): number {
    if (xs.length && !this.chance(120)) return xs[this.n(xs.length)];
    return [0, 1 + this.n(8), 0xffffffff, this.r()][this.n(4)];
  }

  /** Feeds the result of the last step back into the model. */
  observe(res: StepResult): void {
    const f = this.after;
    this.after = null;
    if (f && res.outcome?.state === 'done' && res.outcome.rc >= 0) f(res);
  }

  /** The next step. `idle(slot)` tells which threads are free to make a call. */
  next(idle: (slot: number) => boolean): Step {
    const ready = this.procs.flatMap((p) => p.slots.filter(idle).map((s) => [p, s] as const));
    const roll = this.n(1000);
    if (!ready.length || roll < 40) return { op: 'tick', ns: this.pick(TICKS)! };
    const [p, slot] = ready[this.n(ready.length)];
    if (roll < 170) return this.lifecycle(p, slot);
    const drms = [...p.fds].filter(([, f]) => f.kind === 'drm') as Array<[number, { kind: 'drm'; drm: Drm }]>;
    const d = this.pick(drms);
    if (!d || this.chance(15)) return this.openDrm(p, slot);
    if (this.chance(this.randomShare)) return this.randomIoctl(slot, d[0]);
    return this.ioctl(slot, d[0], this.call(p, d[1].drm));
  }

  private sys(slot: number, nr: number, args: bigint[], after?: (res: StepResult) => void): Step {
    this.after = after ?? null;
    return { op: 'sys', slot, nr, args };
  }

  private openDrm(p: ProcModel, slot: number): Step {
    const drm: Drm = { bos: [], syncobjs: [], vms: [], queues: [] };
    return this.sys(slot, ch.SYS.OPEN, [this.chance(200) ? 1n : 0n], (res) => p.fds.set(res.outcome!.state === 'done' ? (res.outcome as { rc: number }).rc : -1, { kind: 'drm', drm }));
  }

  /** Threads, processes, fds and mappings coming and going. */
  private lifecycle(p: ProcModel, slot: number): Step {
    const fd = this.pick([...p.fds.keys()]) ?? 3;
    const rc = (res: StepResult): number => (res.outcome as { rc: number }).rc;
    const ret0 = (res: StepResult): bigint => BigInt.asUintN(64, (res.outcome as { rets: bigint[] }).rets[0]);
    switch (this.n(15)) {
      case 0:
        return this.sys(slot, ch.SYS.CLOSE, [BigInt(fd)], () => p.fds.delete(fd));
      case 1:
        return this.sys(slot, ch.SYS.DUP, [BigInt(fd)], (res) => {
          const f = p.fds.get(fd);
          if (f) p.fds.set(rc(res), f);
        });
      case 2:
        return this.sys(slot, ch.SYS.EVENTFD, [0n], (res) => p.fds.set(rc(res), { kind: 'eventfd' }));
      case 3:
        if (p.slots.length >= MAX_THREADS) return this.sys(slot, ch.SYS.GETPID, []);
        return this.sys(slot, ch.SYS.THREAD_CREATE, [], (res) => p.slots.push(Number(ret0(res))));
      case 4:
        if (p.slots.length < 2 || !this.chance(400)) return this.sys(slot, ch.SYS.GETPID, []);
        return this.sys(slot, ch.SYS.THREAD_EXIT, [], () => remove(p.slots, slot));
      case 5:
        if (this.procs.length >= MAX_PROCS) return this.exit(p, slot);
        this.after = (res) => {
          const o = res.outcome as { rets: bigint[] };
          this.procs.push({ pid: Number(o.rets[0]), slots: [Number(o.rets[1])], fds: new Map(), maps: [] });
        };
        return { op: 'spawn', slot };
      case 6:
        return this.chance(300) ? this.exit(p, slot) : this.sys(slot, ch.SYS.GETPID, []);
      case 7: {
        const q = this.queued.shift();
        if (q?.p === p) return this.sys(slot, ch.SYS.MMAP, [BigInt(q.len), 3n, BigInt(q.fd), q.offset], (res) => p.maps.push([ret0(res), q.len]));
        const len = (1 + this.n(4)) * PAGE_SIZE;
        return this.sys(slot, ch.SYS.MMAP, [BigInt(len), 3n, -1n, 0n], (res) => p.maps.push([ret0(res), len]));
      }
      case 8:
        return this.munmap(p, slot);
      case 9:
        return this.fenceControl(p, slot);
      case 10:
        return this.sys(slot, ch.SYS.DEBUG, [BigInt(ch.DEBUG.UFENCE_WRITE), UFENCE + BigInt(8 * this.n(4)), BigInt(this.n(4))]);
      case 11:
        return this.sys(slot, ch.SYS.DEBUG, [BigInt(ch.DEBUG.QUEUE_BAN), BigInt(fd), BigInt(this.n(4))]);
      case 12:
        return this.kill(p, slot);
      case 13:
        return this.getfd(p, slot);
      default: {
        // A low open-file limit now and then (lowering it needs no capability).
        if (!this.chance(150)) return this.sys(slot, ch.SYS.GETPID, []);
        const lim = BigInt(4 + this.n(60));
        return this.sys(slot, ch.SYS.SETRLIMIT, [BigInt(ch.RLIMIT.NOFILE), lim, lim]);
      }
    }
  }

  /** kill(SIGKILL) of another process, often while its threads are blocked. */
  private kill(p: ProcModel, slot: number): Step {
    const victim = this.pick(this.procs.filter((q) => q !== p));
    if (!victim) return this.sys(slot, ch.SYS.GETPID, []);
    return this.sys(slot, ch.SYS.KILL, [BigInt(victim.pid)], () => this.procs.splice(this.procs.indexOf(victim), 1));
  }

  /** pidfd_getfd: another process's file, shared from now on. */
  private getfd(p: ProcModel, slot: number): Step {
    const other = this.pick(this.procs);
    const fd = other && this.pick([...other.fds.keys()]);
    if (fd === undefined) return this.sys(slot, ch.SYS.GETPID, []);
    return this.sys(slot, ch.SYS.GETFD, [BigInt(other!.pid), BigInt(fd)], (res) => {
      const f = other!.fds.get(fd);
      if (f) p.fds.set((res.outcome as { rc: number }).rc, f);
    });
  }

  private exit(p: ProcModel, slot: number): Step {
    // The last process stays: with none left, nothing could spawn another.
    if (this.procs.length === 1) return this.sys(slot, ch.SYS.GETPID, []);
    return this.sys(slot, ch.SYS.PROCESS_EXIT, [], () => this.procs.splice(this.procs.indexOf(p), 1));
  }

  /** munmap of a whole mapping, a part of one (head, tail or middle), several, or the scratch. */
  private munmap(p: ProcModel, slot: number): Step {
    const m = this.pick(p.maps);
    if (!m || this.chance(50)) return this.sys(slot, ch.SYS.MUNMAP, [SCRATCH + BigInt(PAGE_SIZE * (1 + this.n(15))), BigInt(PAGE_SIZE)]);
    const pages = m[1] / PAGE_SIZE;
    const first = this.n(pages);
    const count = 1 + this.n(pages - first + 1);
    return this.sys(slot, ch.SYS.MUNMAP, [m[0] + BigInt(first * PAGE_SIZE), BigInt(count * PAGE_SIZE)], () => {
      if (first === 0 && count >= pages) p.maps.splice(p.maps.indexOf(m), 1);
    });
  }

  /** Test fences: attach a pending fence to a syncobj, or signal one (the "GPU" completing). */
  private fenceControl(p: ProcModel, slot: number): Step {
    const f = this.pick(this.fences);
    if (f !== undefined && this.chance(600)) {
      this.fences.splice(this.fences.indexOf(f), 1);
      return this.sys(slot, ch.SYS.DEBUG, [BigInt(ch.DEBUG.FENCE_SIGNAL), f, this.chance(100) ? 5n : 0n]);
    }
    const d = this.pick([...p.fds].filter(([, m]) => m.kind === 'drm') as Array<[number, { kind: 'drm'; drm: Drm }]>);
    const fd = d?.[0] ?? 3;
    const point = BigInt(this.n(3) === 0 ? 0 : 1 + this.n(6));
    return this.sys(slot, ch.SYS.DEBUG, [BigInt(ch.DEBUG.FENCE_ATTACH), BigInt(fd), BigInt(this.id(d?.[1].drm.syncobjs ?? [])), point], (res) => {
      this.fences.push((res.outcome as { rets: bigint[] }).rets[0]);
    });
  }

  private ioctl(slot: number, fd: number, c: Call): Step {
    const io = BY_NAME.get(c.name)!;
    const arg = pack(io.layout.name, c.fields);
    this.after = c.after ? (res) => res.out && c.after!(decode(io.layout.name, res.out)) : null;
    return { op: 'ioctl', slot, fd, request: IOCTL(c.name), argp: ARG_ADDR, arg, mem: c.mem ?? [], timeoutNs: c.timeoutNs ?? 0n };
  }

  /** Random bytes for a random ioctl, odd sizes and directions, pointers into scratch; waits bounded. */
  private randomIoctl(slot: number, fd: number): Step {
    const io = this.pick(IOCTL_LIST)!;
    const size = io.layout.size;
    const arg = this.randomBytes(size);
    let request = io.request;
    const roll = this.n(20);
    if (roll === 0) request = ioc(DIRS[this.n(4)], 0x64, io.nr, Math.min(0x3fff, this.n(size * 2 + 1)));
    if (roll === 1) request = ioc('RW', 0x64, io.nr, Math.min(0x3fff, 16384 - 16));
    const timeoutNs = this.pick(TIMEOUTS)!;
    const bounded = this.bound(io.layout.name, timeoutNs);
    if (bounded) {
      encode(io.layout.name, bounded, arg);
      request = io.request;
    }
    const mem: Array<[bigint, Uint8Array]> = [[ARRAY, this.randomBytes(64)]];
    this.after = null;
    return { op: 'ioctl', slot, fd, request, argp: roll === 2 ? 0x10n : ARG_ADDR, arg, mem, timeoutNs };
  }

  /** The members that bound how long a random call may block. */
  private bound(struct: string, t: bigint): FieldsIn | null {
    switch (struct) {
      case 'drm_syncobj_wait':
      case 'drm_syncobj_timeline_wait':
        return { timeout_nsec: this.now() + t };
      case 'drm_xe_wait_user_fence':
        return { timeout: t, flags: 0 };
      default:
        return null;
    }
  }

  private randomBytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    const dv = new DataView(b.buffer);
    for (let i = 0; i + 4 <= n; i += 4) dv.setUint32(i, this.chance(250) ? this.n(8) : this.r(), true);
    for (let i = 0; i + 8 <= n; i += 8) {
      const k = this.n(8);
      if (k === 0) dv.setBigUint64(i, SCRATCH + BigInt(16384 + (this.n(SCRATCH_BYTES - 16384) & ~7)), true);
      else if (k === 1) dv.setBigUint64(i, BigInt(this.n(4)), true);
    }
    return b;
  }

  /** A meaningful ioctl on one DRM file of process `p`. */
  private call(p: ProcModel, d: Drm): Call {
    const k = this.n(27);
    switch (k) {
      case 0:
        return { name: 'DRM_IOCTL_SYNCOBJ_CREATE', fields: { flags: this.chance(400) ? 1 : this.chance(30) ? 2 : 0 }, after: (o) => d.syncobjs.push(Number(o.handle)) };
      case 1: {
        const handle = this.id(d.syncobjs);
        return { name: 'DRM_IOCTL_SYNCOBJ_DESTROY', fields: { handle }, after: () => remove(d.syncobjs, handle) };
      }
      case 2:
      case 3:
        return this.syncobjWait(d, k === 3);
      case 4:
      case 5:
        return this.syncobjArray(d, k === 4 ? 'DRM_IOCTL_SYNCOBJ_RESET' : 'DRM_IOCTL_SYNCOBJ_SIGNAL');
      case 6:
        return this.syncobjArray(d, ['DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', 'DRM_IOCTL_SYNCOBJ_QUERY'][this.n(2)], true);
      case 7:
        return {
          name: 'DRM_IOCTL_SYNCOBJ_TRANSFER',
          fields: { src_handle: this.id(d.syncobjs), dst_handle: this.id(d.syncobjs), src_point: BigInt(this.n(5)), dst_point: BigInt(this.n(5)), flags: this.chance(200) ? 4 : 0 },
        };
      case 8:
        return this.syncobjHandleToFd(p, d);
      case 9:
        return this.fdToHandle(p, d, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', (h) => d.syncobjs.push(h));
      case 10: {
        const ev = this.pick([...p.fds].filter(([, f]) => f.kind === 'eventfd').map(([fd]) => fd)) ?? this.n(8);
        return { name: 'DRM_IOCTL_SYNCOBJ_EVENTFD', fields: { handle: this.id(d.syncobjs), flags: this.chance(300) ? 4 : 0, point: BigInt(this.n(4)), fd: ev } };
      }
      case 11:
        return {
          name: 'DRM_IOCTL_XE_GEM_CREATE',
          fields: { size: BigInt(PAGE_SIZE * (1 + this.n(this.chance(20) ? 100000 : 16))), placement: this.chance(900) ? 1 : this.n(8), cpu_caching: 1 + this.n(2), vm_id: this.chance(200) ? this.id(d.vms) : 0 },
          after: (o) => d.bos.push(Number(o.handle)),
        };
      case 12: {
        const handle = this.id(d.bos);
        return { name: 'DRM_IOCTL_GEM_CLOSE', fields: { handle }, after: () => remove(d.bos, handle) };
      }
      case 13:
        return this.gemMmap(p, d);
      case 14:
        return { name: 'DRM_IOCTL_PRIME_HANDLE_TO_FD', fields: { handle: this.id(d.bos), flags: this.chance(800) ? C('DRM_CLOEXEC') | C('DRM_RDWR') : this.r() }, after: (o) => p.fds.set(Number(o.fd), { kind: 'file' }) };
      case 15:
        return this.fdToHandle(p, d, 'DRM_IOCTL_PRIME_FD_TO_HANDLE', (h) => d.bos.includes(h) || d.bos.push(h));
      case 16:
        return { name: 'DRM_IOCTL_XE_VM_CREATE', fields: { flags: [0, 1, 2, 3, 6, this.r() & 15][this.n(6)] }, after: (o) => d.vms.push(Number(o.vm_id)) };
      case 17: {
        const vm_id = this.id(d.vms);
        return { name: 'DRM_IOCTL_XE_VM_DESTROY', fields: { vm_id }, after: () => remove(d.vms, vm_id) };
      }
      case 18:
        return this.queueCreate(d);
      case 19: {
        const exec_queue_id = this.id(d.queues);
        return { name: 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', fields: { exec_queue_id }, after: () => remove(d.queues, exec_queue_id) };
      }
      case 20:
        return { name: 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', fields: { exec_queue_id: this.id(d.queues), property: this.chance(900) ? 0 : this.n(4) } };
      case 21:
        return { name: 'DRM_IOCTL_XE_EXEC_QUEUE_SET_PROPERTY', fields: { exec_queue_id: this.id(d.queues), property: this.n(6), value: BigInt(this.n(4)) } };
      case 22:
        return this.waitUserFence(d);
      case 23:
        return { name: 'DRM_IOCTL_XE_DEVICE_QUERY', fields: { query: this.n(12), size: this.chance(500) ? 0 : this.n(DATA_BYTES), data: DATA } };
      case 24:
        return { name: 'DRM_IOCTL_GET_CAP', fields: { capability: this.n(24) } };
      case 25:
        return this.chance(500)
          ? { name: 'DRM_IOCTL_SET_CLIENT_NAME', fields: { name_len: BigInt(this.n(80)), name: DATA } }
          : { name: 'DRM_IOCTL_GEM_CHANGE_HANDLE', fields: { handle: this.id(d.bos), new_handle: this.id(d.bos) } };
      default:
        return this.chance(500)
          ? { name: 'DRM_IOCTL_SET_CLIENT_CAP', fields: { capability: this.n(8), value: BigInt(this.n(3)) } }
          : { name: 'DRM_IOCTL_VERSION', fields: { name_len: BigInt(this.n(8)), name: DATA, date_len: BigInt(this.n(8)), date: DATA + 64n, desc_len: BigInt(this.n(40)), desc: DATA + 128n } };
    }
  }

  private handles(d: Drm): { n: number; mem: Array<[bigint, Uint8Array]> } {
    const n = this.chance(30) ? this.n(1 << 12) : 1 + this.n(3);
    const hs = Array.from({ length: Math.min(n, 64) }, () => this.id(d.syncobjs));
    const points = Array.from({ length: Math.min(n, 64) }, () => BigInt(this.n(6)));
    return { n, mem: [[ARRAY, u32s(hs)], [POINTS, u64s(points)]] };
  }

  private syncobjWait(d: Drm, timeline: boolean): Call {
    const { n, mem } = this.handles(d);
    const t = this.pick(TIMEOUTS)!;
    const flags = this.n(8) | (this.chance(50) ? 8 : 0);
    const fields: FieldsIn = { handles: ARRAY, count_handles: n, flags, timeout_nsec: t === 0n ? 0n : this.now() + t, deadline_nsec: this.now() };
    if (timeline) fields.points = POINTS;
    return { name: timeline ? 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT' : 'DRM_IOCTL_SYNCOBJ_WAIT', fields, mem, timeoutNs: t };
  }

  private syncobjArray(d: Drm, name: string, timeline = false): Call {
    const { n, mem } = this.handles(d);
    const fields: FieldsIn = { handles: ARRAY, count_handles: n };
    if (timeline) Object.assign(fields, { points: this.chance(100) ? 0n : POINTS, flags: this.chance(200) ? 1 : 0 });
    return { name, fields, mem };
  }

  private syncobjHandleToFd(p: ProcModel, d: Drm): Call {
    const flags = [0, 1, 2, 3][this.n(4)];
    return { name: 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', fields: { handle: this.id(d.syncobjs), flags, point: BigInt(this.n(4)) }, after: (o) => p.fds.set(Number(o.fd), { kind: 'file' }) };
  }

  private fdToHandle(p: ProcModel, d: Drm, name: string, add: (h: number) => void): Call {
    const files = [...p.fds].filter(([, f]) => f.kind !== 'drm').map(([fd]) => fd);
    const fd = this.pick(files) ?? this.n(8);
    const fields: FieldsIn = name === 'DRM_IOCTL_PRIME_FD_TO_HANDLE' ? { fd } : { fd, flags: this.n(4), point: BigInt(this.n(4)), handle: this.id(d.syncobjs) };
    return { name, fields, after: (o) => add(Number(o.handle)) };
  }

  /** MMAP_OFFSET; the mmap of the BO follows as its own step when the generator comes back here. */
  private gemMmap(p: ProcModel, d: Drm): Call {
    return {
      name: 'DRM_IOCTL_XE_GEM_MMAP_OFFSET',
      fields: { handle: this.id(d.bos), flags: this.chance(50) ? 1 : 0 },
      after: (o) => {
        const offset = BigInt(o.offset as bigint);
        const fd = [...p.fds].find(([, f]) => f.kind === 'drm' && f.drm === d)?.[0];
        if (fd !== undefined) this.queued.push({ fd, offset, len: PAGE_SIZE * (1 + this.n(2)), p });
      },
    };
  }

  private queueCreate(d: Drm): Call {
    const cls = this.chance(800) ? [0, 1, 5][this.n(3)] : this.n(8);
    const inst = pack('drm_xe_engine_class_instance', { engine_class: cls, engine_instance: this.chance(900) ? 0 : this.n(4), gt_id: this.chance(950) ? 0 : this.n(3) });
    return {
      name: 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE',
      fields: { width: 1, num_placements: this.chance(950) ? 1 : this.n(12), vm_id: this.id(d.vms), instances: INSTANCES, flags: this.chance(100) ? this.n(4) : 0 },
      mem: [[INSTANCES, inst]],
      after: (o) => d.queues.push(Number(o.exec_queue_id)),
    };
  }

  private waitUserFence(d: Drm): Call {
    const t = this.pick(TIMEOUTS)!;
    return {
      name: 'DRM_IOCTL_XE_WAIT_USER_FENCE',
      fields: { addr: UFENCE + BigInt(8 * this.n(4)) + (this.chance(30) ? 4n : 0n), op: this.n(7), flags: 0, value: BigInt(this.n(4)), mask: this.chance(900) ? 0xffffffffffffffffn : BigInt(this.r()), timeout: t, exec_queue_id: this.chance(300) ? this.id(d.queues) : 0 },
      timeoutNs: t,
    };
  }
}
