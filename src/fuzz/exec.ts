/**
 * Steps of a fuzz program and their executor. A step is self-contained (concrete fds,
 * handles, bytes), so a recorded program replays without the generator and can be cut down
 * by the minimiser. The executor runs steps on a Machine and applies the oracles: no
 * internal error, every errno in the ioctl's set, a failed call changes no state, munmap
 * unmaps exactly its range, no call stays parked past its deadline, and everything is freed
 * once every process has exited.
 */
import { PageFault, USER_BASE } from '../hw/cpu_mmu.js';
import { PAGE_SIZE } from '../hw/memory.js';
import * as ch from '../uapi/channel.js';
import { EFAULT } from '../uapi/errno.js';
import { Machine, type Outcome } from './machine.js';
import { errnoAllowed, snapshot } from './oracle.js';

/** Scratch memory every process maps first (so at USER_BASE): ioctl arguments and arrays. */
export const SCRATCH = USER_BASE;
/** Size of the scratch mapping. */
export const SCRATCH_BYTES = 64 * 1024;
/** Where the ioctl argument struct is written (start of scratch). */
export const ARG_ADDR = SCRATCH;
/** Longest a blocking call may stay parked past the timeout it was given (WAIT_FOR_SUBMIT's 5 s, and a tick). */
const HANG_SLACK_NS = 6_000_000_000n;

/** One step of a fuzz program. */
export type Step =
  /** ioctl(fd, request, argp) on `slot`, after writing `arg` at ARG_ADDR and each `mem` blob. */
  | { op: 'ioctl'; slot: number; fd: number; request: number; argp: bigint; arg: Uint8Array; mem: Array<[bigint, Uint8Array]>; timeoutNs: bigint }
  /** A raw system call (close, dup, mmap, munmap, eventfd, threads, exit, emulator control). */
  | { op: 'sys'; slot: number; nr: number; args: bigint[] }
  /** process_create from `slot`, then the new process maps its scratch. */
  | { op: 'spawn'; slot: number }
  /** The clock moves on. */
  | { op: 'tick'; ns: bigint };

/** What the oracles found. */
export interface Finding {
  kind: 'bug' | 'errno' | 'state' | 'hang' | 'leak' | 'munmap';
  /** Index of the step that showed it (the program's length for teardown findings). */
  step: number;
  /** The call it is about (ioctl or system call name). */
  what: string;
  detail: string;
}

/** A step's result for the generator: the outcome and, after an answered ioctl, the argument bytes. */
export interface StepResult {
  outcome: Outcome | null;
  out?: Uint8Array;
}

interface Pending {
  step: number;
  what: string;
  request: number;
  until: bigint;
}

const SYS_NAMES = new Map<number, string>(Object.entries(ch.SYS).map(([k, v]) => [v, k]));

/** Name of a step's call, for findings. */
export function stepName(s: Step, requestName: (r: number) => string): string {
  if (s.op === 'ioctl') return requestName(s.request);
  if (s.op === 'sys') return SYS_NAMES.get(s.nr) ?? `SYS ${s.nr}`;
  return s.op;
}

/** Runs steps on a fresh machine with the oracles. */
export class Executor {
  readonly m = new Machine();
  /** Calls in flight, by slot. */
  private readonly pending = new Map<number, Pending>();
  private readonly baseline: bigint[];
  /** Ioctls issued. */
  ioctls = 0;

  /**
   * @param checkEvery snapshot the state around every `checkEvery`-th ioctl (1 = all)
   * @param requestName names an ioctl request for findings
   * @param ignore kinds of finding not to report (a known bug being fixed elsewhere)
   */
  constructor(
    private readonly checkEvery: number,
    private readonly requestName: (r: number) => string,
    private readonly ignore: ReadonlySet<string> = new Set(),
  ) {
    this.baseline = this.m.memUsage();
    this.mapScratch(0);
  }

  private mapScratch(slot: number): void {
    const o = this.m.syscall(slot, ch.SYS.MMAP, [BigInt(SCRATCH_BYTES), 3n, -1n, 0n]);
    if (o.state !== 'done' || o.rets[0] !== SCRATCH) throw new Error(`scratch mmap on slot ${slot}: ${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  }

  /** Whether step `s` can be posted now (its slot is a live, idle thread). */
  runnable(s: Step): boolean {
    return s.op === 'tick' || this.m.idle(s.slot);
  }

  /** Runs step `i`; a finding, or the result for the generator. */
  exec(i: number, s: Step): { finding: Finding | null; result: StepResult } {
    const r = this.run(i, s);
    return { finding: this.keep(r.finding), result: r.result };
  }

  private keep(f: Finding | null): Finding | null {
    return f && !this.ignore.has(f.kind) ? f : null;
  }

  private run(i: number, s: Step): { finding: Finding | null; result: StepResult } {
    if (!this.runnable(s)) return { finding: null, result: { outcome: null } };
    const what = stepName(s, this.requestName);
    let pre: { slot: number; state: string } | null = null;
    let result: StepResult;
    switch (s.op) {
      case 'tick':
        this.m.advance(s.ns);
        result = { outcome: null };
        break;
      case 'spawn': {
        const o = this.m.spawn(s.slot);
        if (o.state === 'done' && o.rc === 0) this.mapScratch(Number(o.rets[1]));
        result = { outcome: o };
        break;
      }
      case 'sys': {
        const ptes = s.nr === ch.SYS.MUNMAP ? this.ptes(s.slot) : null;
        result = { outcome: this.m.syscall(s.slot, s.nr, s.args) };
        if (ptes && result.outcome?.state === 'done' && result.outcome.rc === 0) {
          const f = this.checkMunmap(s.slot, ptes, s.args[0], Number(s.args[1]));
          if (f) return { finding: { kind: 'munmap', step: i, what, detail: f }, result };
        }
        break;
      }
      case 'ioctl': {
        this.ioctls++;
        this.write(s.slot, ARG_ADDR, s.arg);
        for (const [addr, bytes] of s.mem) this.write(s.slot, addr, bytes);
        if (this.ioctls % this.checkEvery === 0) pre = { slot: s.slot, state: this.state(s.slot) };
        const outcome = this.m.ioctl(s.slot, s.fd, s.request, s.argp);
        result = { outcome, out: outcome.state === 'done' ? this.read(s.slot, ARG_ADDR, s.arg.length) : undefined };
        if (outcome.state === 'parked') this.pending.set(s.slot, { step: i, what, request: s.request, until: this.m.now + s.timeoutNs + HANG_SLACK_NS });
        break;
      }
    }
    const o = result.outcome;
    let finding = o ? this.judge(i, what, s.op === 'ioctl' ? s.request : null, o) : null;
    // EFAULT is exempt: the copy back to user memory runs after the handler, so a call that
    // created an object and then could not write its id fails with it as upstream does.
    if (!finding && pre !== null && o?.state === 'done' && o.rc < 0 && o.errno !== EFAULT) {
      const post = this.state(pre.slot);
      if (post !== pre.state) finding = { kind: 'state', step: i, what, detail: `failed with errno ${o.errno} but changed state:\n${diff(pre.state, post)}` };
    }
    return { finding: finding ?? this.collect(i), result };
  }

  /** The oracles on one answer: no internal error, an allowed errno. */
  private judge(i: number, what: string, request: number | null, o: Outcome): Finding | null {
    if (o.state === 'bug') return { kind: 'bug', step: i, what, detail: o.message };
    if (o.state === 'done' && o.rc < 0 && request !== null && !errnoAllowed(request, o.errno)) {
      return { kind: 'errno', step: i, what, detail: `unexpected errno ${o.errno}` };
    }
    return null;
  }

  /** Answers of parked calls (judged as answers), and calls parked past their deadline. */
  private collect(i: number): Finding | null {
    for (const [slot, p] of this.pending) {
      if (!this.m.owner(slot)) {
        this.pending.delete(slot); // its process exited: the call was abandoned
        continue;
      }
      const o = this.m.take(slot);
      if (o) {
        this.pending.delete(slot);
        const f = this.judge(p.step, p.what, p.request, o);
        if (f) return { ...f, step: i, detail: `${f.detail} (call of step ${p.step}, answered at step ${i})` };
      } else if (this.m.now > p.until) {
        return { kind: 'hang', step: i, what: p.what, detail: `call of step ${p.step} still parked ${this.m.now - p.until} ns past its timeout` };
      }
    }
    return null;
  }

  /**
   * Teardown oracle: lets every timeout pass, exits every process, then memory accounting
   * must be back at the boot baseline and no call may be left in flight.
   */
  finish(at: number): Finding | null {
    return this.keep(this.teardown(at));
  }

  private teardown(at: number): Finding | null {
    this.m.advance(HANG_SLACK_NS * 2n);
    const stuck = this.collect(at);
    if (stuck) return stuck;
    for (const p of [...this.m.kernel.procs.values()]) {
      const slot = [...p.slots].find((s) => this.m.idle(s));
      if (slot === undefined) return { kind: 'hang', step: at, what: 'PROCESS_EXIT', detail: `pid ${p.pid}: no thread free to exit after every timeout passed` };
      const o = this.m.syscall(slot, ch.SYS.PROCESS_EXIT, []);
      const f = this.judge(at, 'PROCESS_EXIT', null, o);
      if (f) return f;
    }
    const used = this.m.memUsage();
    if (used.join() !== this.baseline.join()) {
      return { kind: 'leak', step: at, what: 'teardown', detail: `pages in use after every process exited: ${used.join('/')} (boot: ${this.baseline.join('/')})` };
    }
    return null;
  }

  /** A copy of the page table of the process on `slot`. */
  private ptes(slot: number): Uint32Array {
    return Uint32Array.from(new Uint32Array(this.m.owner(slot)!.pt.sab));
  }

  /** munmap oracle: every page of the range is unmapped, every other page is as it was. */
  private checkMunmap(slot: number, before: Uint32Array, addr: bigint, len: number): string | null {
    const pt = this.m.owner(slot)?.pt;
    if (!pt) return null;
    const after = new Uint32Array(pt.sab);
    const first = pt.pageIndex(addr);
    const end = first + Math.ceil(len / PAGE_SIZE);
    for (let k = 0; k < after.length; k++) {
      const inRange = k >= first && k < end;
      if (inRange ? after[k] !== 0 : after[k] !== before[k]) {
        return `munmap(0x${addr.toString(16)}, ${len}) ${inRange ? 'left' : 'changed'} page 0x${pt.pageAddr(k).toString(16)} ${inRange ? 'mapped' : 'outside the range'}`;
      }
    }
    return null;
  }

  private state(slot: number): string {
    return snapshot(this.m.kernel, this.m.memUsage(), this.m.owner(slot)?.pid);
  }

  private write(slot: number, addr: bigint, bytes: Uint8Array): void {
    try {
      this.m.owner(slot)!.as.write(addr, bytes);
    } catch (e) {
      if (!(e instanceof PageFault)) throw e; // the program unmapped its scratch: the call sees that
    }
  }

  private read(slot: number, addr: bigint, n: number): Uint8Array | undefined {
    try {
      return this.m.owner(slot)?.as.read(addr, n);
    } catch (e) {
      if (!(e instanceof PageFault)) throw e;
      return undefined;
    }
  }

  /** Releases the machine. */
  dispose(): void {
    this.m.dispose();
  }
}

/** The lines of `b` that differ from `a`. */
function diff(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  const out: string[] = [];
  for (let k = 0; k < Math.max(al.length, bl.length); k++) {
    if (al[k] !== bl[k]) out.push(`  before: ${al[k] ?? '(none)'}\n  after:  ${bl[k] ?? '(none)'}`);
  }
  return out.join('\n');
}
