/**
 * The command streamer of one engine: fetches a batch through a context's GPU MMU and executes
 * the MI, PIPE_CONTROL and blitter commands Xe user batches use (encodings: uapi/gpu_commands.ts).
 * Every fetch, load and store goes through GpuMmu, so a binding is right only if the GPU can
 * read and write through it (spec vm_bind.md 5.7: NULL leaves read 0 and drop writes; a
 * non-present entry or a write through a read-only one is a fault).
 *
 * Model. A CsContext is the state of one hardware context (the LRC of an exec queue): its MMU,
 * the address of the next command, the return address of a second-level batch, CS_GPR0..15 and
 * CTX_TIMESTAMP. A CsEngine is one engine instance: its class (which commands are legal), its
 * MMIO base, RING_TIMESTAMP and a bounded trace of the commands it executed. `engine.run(ctx,
 * budget)` executes at most `budget` commands and says why it stopped: the batch ended, a
 * semaphore wait is unsatisfied (the context stays parked on that command and re-reads memory on
 * the next run), the budget ran out (a spinner), a GPU fault, or a hang (an unknown, malformed or
 * illegal command). The kernel turns faults and hangs into an engine reset. Time is
 * deterministic: both timestamps advance by `ticksPerCommand` per executed command (and
 * RING_TIMESTAMP by whatever the caller adds with advance()); nothing depends on wall time.
 *
 * Registers: offsets are engine-relative; a command's offset is absolute unless its CS_MMIO bit
 * makes it relative to the engine's base. Modelled: RING_TIMESTAMP (read-only), CTX_TIMESTAMP,
 * CS_GPR0..15. Any other register reads 0 and ignores writes (see docs/divergences.md).
 * Address-space bits (GGTT) are ignored: user batches are non-privileged, which the hardware
 * treats as PPGTT.
 */
import { REGION_SPAN, PAGE_SIZE } from './memory.js';
import { isFault, type GpuAccess, type GpuFault, type GpuMmu } from './mmu.js';
import { ENGINE_CLASS } from './profile.js';
import {
  ALU, ALU_REG, BLT, CMD_CLIENT, COMPARE_SHIFT, CS_REG, FAST_COPY_BPP, GFX_ID_MASK, MEM_COPY_PAGE_MODE, MEM_COPY_TYPE_SHIFT, MI,
  MI_ATOMIC_INLINE, MI_ATOMIC_RETURN, MI_ATOMIC_SIZE_SHIFT, MI_BBS_SECOND_LEVEL, MI_COND_DO_COMPARE, MI_COND_END_CURRENT_LEVEL,
  MI_COND_MASK_MODE, MI_CS_MMIO, MI_FLUSH_DW_OP_SHIFT, MI_FLUSH_DW_STORE_INDEX, MI_LRR_SRC_CS_MMIO, MI_SDI_QWORD,
  MI_SEMAPHORE_INDIRECT, MI_SEMAPHORE_REGISTER_POLL, PIPE_CONTROL, PIPE_CONTROL_POST_SYNC_SHIFT, PIPE_CONTROL_STORE_DATA_INDEX,
  POST_SYNC, commandLength,
} from '../uapi/gpu_commands.js';
import { addrOf, decodeCommand, type DecodedCommand } from '../uapi/gpu_decode.js';

/** Why run() stopped, or where a context stands. */
export type CsStatus =
  | { state: 'idle' }
  | { state: 'ready' }
  | { state: 'done' }
  /** Parked on an unsatisfied MI_SEMAPHORE_WAIT polling `addr` (a register offset in register-poll mode). */
  | { state: 'waiting'; addr: number; cmdAddr: number }
  | { state: 'budget' }
  /** A GPU page fault; `header` is null when the fault hit the command's first dword. */
  | { state: 'fault'; fault: GpuFault; cmdAddr: number; header: number | null }
  | { state: 'hang'; reason: string; cmdAddr: number; header: number };

/** Engine options. */
export interface CsEngineOpts {
  /** Commands the trace keeps (0: no trace). */
  traceEntries?: number;
  /** Timestamp ticks per executed command. */
  ticksPerCommand?: number;
}

/** One traced command. */
export interface TraceEntry {
  /** GPU VA of the command. */
  addr: number;
  /** Id of the context that ran it. */
  ctx: number;
  /** Its first dwords (at most TRACE_DWORDS). */
  dwords: number[];
  decoded: DecodedCommand;
}

/** Dwords of a command the trace keeps. */
export const TRACE_DWORDS = 12;
const TRACE_STRIDE = TRACE_DWORDS + 4;
/** Longest command: MI_STORE_DATA_IMM with a 10-bit DWord Length. */
const MAX_CMD_DWORDS = 1025;
/** Bytes a blit moves per read/write through the MMU. */
const COPY_CHUNK = 64 * 1024;

const BCS_BASES = [0x22000, 0x3e0000, 0x3e2000, 0x3e4000, 0x3e6000, 0x3e8000, 0x3ea000, 0x3ec000, 0x3ee000];
const VCS_BASES = [0x1c0000, 0x1c4000, 0x1d0000, 0x1d4000, 0x1e0000, 0x1e4000, 0x1f0000, 0x1f4000];
const VECS_BASES = [0x1c8000, 0x1d8000, 0x1e8000, 0x1f8000];
const CCS_BASES = [0x1a000, 0x1c000, 0x1e000, 0x26000];

/** MMIO base of an engine by its driver name (rcs0, bcs8, vcs2, vecs1, ccs0), as xe_hw_engine.c lists them. */
export function engineMmioBase(name: string): number {
  const m = /^(rcs|bcs|vcs|vecs|ccs)(\d+)$/.exec(name);
  const table = m && { rcs: [0x2000], bcs: BCS_BASES, vcs: VCS_BASES, vecs: VECS_BASES, ccs: CCS_BASES }[m[1]];
  const base = m && table ? table[Number(m[2])] : undefined;
  if (base === undefined) throw new Error(`no engine named ${name}`);
  return base;
}

/** A stop of execution, thrown out of a command and caught by run(). */
class Stop {
  constructor(readonly fault: GpuFault | null, readonly reason = '') {}
}

const hang = (reason: string): Stop => new Stop(null, reason);
const hex = (v: number): string => `0x${v.toString(16)}`;
const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const MASK64 = (1n << 64n) - 1n;

/** What a command did to the flow. */
const enum Step { Next, End, Wait }

/** One engine instance: class, MMIO base, RING_TIMESTAMP and its trace. */
export class CsEngine {
  readonly engineClass: number;
  readonly name: string;
  readonly mmioBase: number;
  /** Graphics IP version x100 (1200, 1255, 2001, ...): gates MEM_COPY, MI_MEM_FENCE and the shift ALU ops. */
  readonly graphicsVerx100: number;
  readonly ticksPerCommand: number;
  /** RING_TIMESTAMP. */
  timestamp = 0;
  private readonly traceBuf: Uint32Array;
  private readonly traceCap: number;
  private traceNext = 0;
  private traceLen = 0;

  constructor(engineClass: number, name: string, graphicsVerx100: number, opts: CsEngineOpts = {}) {
    this.engineClass = engineClass;
    this.name = name;
    this.mmioBase = engineMmioBase(name);
    this.graphicsVerx100 = graphicsVerx100;
    this.ticksPerCommand = opts.ticksPerCommand ?? 1;
    this.traceCap = opts.traceEntries ?? 256;
    this.traceBuf = new Uint32Array(this.traceCap * TRACE_STRIDE);
  }

  /** Advances RING_TIMESTAMP (time passing while the engine is idle). */
  advance(ticks: number): void {
    this.timestamp += ticks;
  }

  /** Executes at most `budget` commands of `ctx`. */
  run(ctx: CsContext, budget: number): CsStatus {
    return ctx.runOn(this, budget);
  }

  /** Records one executed command. */
  record(addr: number, ctx: number, cmd: Uint32Array, len: number): void {
    if (this.traceCap === 0) return;
    const at = this.traceNext * TRACE_STRIDE;
    const b = this.traceBuf;
    b[at] = addr >>> 0;
    b[at + 1] = Math.floor(addr / 2 ** 32);
    b[at + 2] = ctx;
    const n = Math.min(len, TRACE_DWORDS);
    b[at + 3] = n;
    for (let i = 0; i < n; i++) b[at + 4 + i] = cmd[i];
    this.traceNext = (this.traceNext + 1) % this.traceCap;
    this.traceLen = Math.min(this.traceLen + 1, this.traceCap);
  }

  /** The traced commands, oldest first, decoded. */
  trace(): TraceEntry[] {
    const out: TraceEntry[] = [];
    for (let k = 0; k < this.traceLen; k++) {
      const at = ((this.traceNext - this.traceLen + k + this.traceCap) % this.traceCap) * TRACE_STRIDE;
      const b = this.traceBuf;
      const dwords = Array.from(b.subarray(at + 4, at + 4 + b[at + 3]));
      out.push({ addr: b[at + 1] * 2 ** 32 + b[at], ctx: b[at + 2], dwords, decoded: decodeCommand(dwords) });
    }
    return out;
  }

  /** Empties the trace. */
  clearTrace(): void {
    this.traceLen = 0;
    this.traceNext = 0;
  }
}

/** The state of one hardware context, and the execution of its commands. */
export class CsContext {
  /** Label in the engine trace (the kernel's exec queue or job id). */
  readonly id: number;
  readonly mmu: GpuMmu;
  /** GPU VA of the next command. */
  pc = 0;
  /** Return address while a second-level batch runs, else -1. */
  returnAddr = -1;
  /** CS_GPR0..15: dword 2n is the low half of GPR n. */
  readonly gpr = new Uint32Array(32);
  /** CTX_TIMESTAMP. */
  ctxTimestamp = 0;
  /** Commands executed since start(). */
  executed = 0;
  status: CsStatus = { state: 'idle' };
  private readonly views: DataView[];
  /** The current command's dwords. */
  private readonly cmd = new Uint32Array(MAX_CMD_DWORDS);
  /** Fetch cache of one page, valid during one run (the TLB changes only between runs). */
  private fetchPageVa = -PAGE_SIZE;
  private fetchView: DataView | null = null;
  private fetchOff = 0;
  /** Data cache of the last page locate() translated, valid during one run like the fetch cache. */
  private dataVpn = -1;
  private dataView: DataView | null = null;
  private dataOff = 0;
  private dataWritable = false;
  /** The region view that locate() found (null: a NULL page). */
  private hitView: DataView | null = null;
  /** Address of the semaphore wait the context was parked on when this run began (not traced again), else -1. */
  private parkedAt = -1;

  constructor(mmu: GpuMmu, id = 0) {
    this.mmu = mmu;
    this.id = id;
    this.views = mmu.ptm.mem.regions.map((r) => new DataView(r.sab));
  }

  /** Starts the first-level batch at `batchAddr`. */
  start(batchAddr: number): void {
    this.pc = batchAddr;
    this.returnAddr = -1;
    this.executed = 0;
    this.status = { state: 'ready' };
  }

  /**
   * Resumes a context stopped by a GPU fault at the command that faulted, once the fault has
   * been serviced (the command runs again from its start).
   */
  retry(): void {
    if (this.status.state !== 'fault') return;
    this.pc = this.status.cmdAddr;
    this.status = { state: 'ready' };
  }

  /** Reads an engine-relative register (as the engine `e` sees it). */
  readRegister(e: CsEngine, rel: number): number {
    switch (rel) {
      case CS_REG.TIMESTAMP: return e.timestamp % 2 ** 32;
      case CS_REG.TIMESTAMP_UDW: return Math.floor(e.timestamp / 2 ** 32) >>> 0;
      case CS_REG.CTX_TIMESTAMP: return this.ctxTimestamp % 2 ** 32;
      case CS_REG.CTX_TIMESTAMP_UDW: return Math.floor(this.ctxTimestamp / 2 ** 32) >>> 0;
      default: return rel >= CS_REG.GPR0 && rel < CS_REG.GPR0 + 128 ? this.gpr[(rel - CS_REG.GPR0) >> 2] : 0;
    }
  }

  /** Writes an engine-relative register (RING_TIMESTAMP and unmodelled registers ignore it). */
  writeRegister(rel: number, v: number): void {
    if (rel === CS_REG.CTX_TIMESTAMP) this.ctxTimestamp = Math.floor(this.ctxTimestamp / 2 ** 32) * 2 ** 32 + (v >>> 0);
    else if (rel === CS_REG.CTX_TIMESTAMP_UDW) this.ctxTimestamp = (v >>> 0) * 2 ** 32 + (this.ctxTimestamp % 2 ** 32);
    else if (rel >= CS_REG.GPR0 && rel < CS_REG.GPR0 + 128) this.gpr[(rel - CS_REG.GPR0) >> 2] = v;
  }

  /** CS_GPR n as a 64-bit value. */
  gpr64(n: number): bigint {
    return u64(this.gpr[2 * n], this.gpr[2 * n + 1]);
  }

  /** Sets CS_GPR n. */
  setGpr64(n: number, v: bigint): void {
    this.gpr[2 * n] = Number(v & 0xffff_ffffn);
    this.gpr[2 * n + 1] = Number((v >> 32n) & 0xffff_ffffn);
  }

  /** run() of CsEngine. */
  runOn(e: CsEngine, budget: number): CsStatus {
    const s = this.status.state;
    if (s === 'idle' || s === 'done' || s === 'fault' || s === 'hang') return this.status;
    this.fetchPageVa = -PAGE_SIZE;
    this.dataVpn = -1;
    this.parkedAt = s === 'waiting' ? this.status.cmdAddr : -1;
    let cmdAddr = this.pc;
    let header: number | null = null;
    try {
      for (let n = 0; n < budget; n++) {
        cmdAddr = this.pc;
        header = null;
        header = this.fetch32(cmdAddr);
        const step = this.step(e, cmdAddr, header);
        if (step === Step.Wait) return this.status;
        this.executed++;
        e.timestamp += e.ticksPerCommand;
        this.ctxTimestamp += e.ticksPerCommand;
        if (step === Step.End) return (this.status = { state: 'done' });
      }
      return (this.status = { state: 'budget' });
    } catch (x) {
      if (!(x instanceof Stop)) throw x;
      if (x.fault) return (this.status = { state: 'fault', fault: x.fault, cmdAddr, header });
      return (this.status = { state: 'hang', reason: x.reason, cmdAddr, header: header ?? 0 });
    }
  }

  /** Fetches, traces and executes the command at `addr`. */
  private step(e: CsEngine, addr: number, h: number): Step {
    const len = commandLength(h);
    if (len === 0) throw hang(`unknown command ${hex(h)}`);
    const cmd = this.cmd;
    cmd[0] = h;
    for (let i = 1; i < len; i++) cmd[i] = this.fetch32(addr + 4 * i);
    if (addr !== this.parkedAt) e.record(addr, this.id, cmd, len);
    this.parkedAt = -1;
    this.pc = addr + 4 * len;
    const client = h >>> 29;
    if (client === CMD_CLIENT.MI) return this.mi(e, (h >>> 23) & 0x3f, h, len, addr);
    if (client === CMD_CLIENT.BLT) return this.blit(e, h, len);
    if ((h & GFX_ID_MASK) >>> 0 === PIPE_CONTROL) return this.pipeControl(e, len);
    throw hang(`unknown command ${hex(h)}`);
  }

  private mi(e: CsEngine, op: number, h: number, len: number, addr: number): Step {
    const c = this.cmd;
    switch (op) {
      case MI.NOOP:
      case MI.ARB_CHECK:
        return Step.Next;
      case MI.MEM_FENCE:
        if (e.graphicsVerx100 < 2000) throw hang('MI_MEM_FENCE needs graphics 20.00+');
        return Step.Next;
      case MI.BATCH_BUFFER_END:
        return this.endLevel();
      case MI.BATCH_BUFFER_START:
        return this.batchStart(h, len);
      case MI.STORE_DATA_IMM:
        return this.storeDataImm(h, len);
      case MI.ATOMIC:
        return this.atomic(h, len);
      case MI.SEMAPHORE_WAIT:
        return this.semaphoreWait(e, h, len, addr);
      case MI.CONDITIONAL_BATCH_BUFFER_END:
        return this.condEnd(h, len);
      case MI.FLUSH_DW:
        return this.flushDw(e, h, len);
      case MI.COPY_MEM_MEM:
        expectLen('MI_COPY_MEM_MEM', len, 5);
        this.write32(addrOf(c[1], c[2]), this.read32(addrOf(c[3], c[4]), 'read'));
        return Step.Next;
      case MI.LOAD_REGISTER_IMM:
        if (len < 3 || len % 2 === 0) throw hang(`MI_LOAD_REGISTER_IMM: DWord Length ${len - 2} is not 2n-1`);
        for (let i = 1; i < len; i += 2) this.writeRegister(this.regOffset(e, c[i], h & MI_CS_MMIO), c[i + 1]);
        return Step.Next;
      case MI.LOAD_REGISTER_MEM:
        expectLen('MI_LOAD_REGISTER_MEM', len, 4);
        this.writeRegister(this.regOffset(e, c[1], h & MI_CS_MMIO), this.read32(addrOf(c[2], c[3]), 'read'));
        return Step.Next;
      case MI.STORE_REGISTER_MEM:
        expectLen('MI_STORE_REGISTER_MEM', len, 4);
        this.write32(addrOf(c[2], c[3]), this.readRegister(e, this.regOffset(e, c[1], h & MI_CS_MMIO)));
        return Step.Next;
      case MI.LOAD_REGISTER_REG:
        expectLen('MI_LOAD_REGISTER_REG', len, 3);
        this.writeRegister(this.regOffset(e, c[2], h & MI_CS_MMIO), this.readRegister(e, this.regOffset(e, c[1], h & MI_LRR_SRC_CS_MMIO)));
        return Step.Next;
      case MI.MATH:
        this.math(e, len);
        return Step.Next;
      default:
        throw hang(`unknown command ${hex(h)}`);
    }
  }

  /** Engine-relative offset of a register operand (bits 22:2), absolute unless `csMmio`. */
  private regOffset(e: CsEngine, operand: number, csMmio: number): number {
    const off = operand & 0x7ffffc;
    return csMmio ? off : off - e.mmioBase;
  }

  /** MI_BATCH_BUFFER_END (and a failed conditional end of the current level): back to the first level, or done. */
  private endLevel(): Step {
    if (this.returnAddr < 0) return Step.End;
    this.pc = this.returnAddr;
    this.returnAddr = -1;
    return Step.Next;
  }

  private batchStart(h: number, len: number): Step {
    expectLen('MI_BATCH_BUFFER_START', len, 3);
    // A first-level batch calls a second-level one (which returns here) or chains; from a
    // second-level batch every start chains within the second level.
    if (h & MI_BBS_SECOND_LEVEL && this.returnAddr < 0) this.returnAddr = this.pc;
    this.pc = addrOf(this.cmd[1], this.cmd[2]);
    return Step.Next;
  }

  private storeDataImm(h: number, len: number): Step {
    const c = this.cmd;
    if (len < 4) throw hang(`MI_STORE_DATA_IMM: DWord Length ${len - 2} stores nothing`);
    if (h & MI_SDI_QWORD && (len - 3) % 2) throw hang(`MI_STORE_DATA_IMM: qword store of ${len - 3} dwords`);
    const va = addrOf(c[1], c[2]);
    for (let i = 3; i < len; i++) this.write32(va + 4 * (i - 3), c[i]);
    return Step.Next;
  }

  private atomic(h: number, len: number): Step {
    const c = this.cmd;
    const code = (h >>> 8) & 0xff;
    const op = code & 0x1f;
    const sizeCode = code >>> 5;
    if (sizeCode === 2) throw hang('MI_ATOMIC: octword atomics are not emulated');
    if (sizeCode > 1 || op === 0 || op > 0xe) throw hang(`MI_ATOMIC: opcode ${hex(code)}`);
    if (((h >>> MI_ATOMIC_SIZE_SHIFT) & 3) !== sizeCode) throw hang(`MI_ATOMIC: Data Size ${(h >>> MI_ATOMIC_SIZE_SHIFT) & 3} does not match opcode ${hex(code)}`);
    const inline = (h & MI_ATOMIC_INLINE) !== 0;
    expectLen('MI_ATOMIC', len, inline ? 11 : 3);
    const bits = sizeCode ? 64 : 32;
    const mask = sizeCode ? MASK64 : 0xffff_ffffn;
    const op1 = (inline ? u64(c[3], c[5]) : this.gpr64(0)) & mask;
    const op2 = (inline ? u64(c[4], c[6]) : this.gpr64(2)) & mask;
    const va = addrOf(c[1], c[2]);
    const old = sizeCode ? u64(this.read32(va, 'atomic'), this.read32(va + 4, 'atomic')) : BigInt(this.read32(va, 'atomic'));
    const next = atomicResult(op, old, op1, op2, bits) & mask;
    this.write32(va, Number(next & 0xffff_ffffn), 'atomic');
    if (sizeCode) this.write32(va + 4, Number(next >> 32n), 'atomic');
    if (h & MI_ATOMIC_RETURN) {
      if (sizeCode) this.setGpr64(4, old);
      else this.gpr[8] = Number(old);
    }
    return Step.Next;
  }

  private semaphoreWait(e: CsEngine, h: number, len: number, addr: number): Step {
    if (len !== 4 && len !== 5) throw hang(`MI_SEMAPHORE_WAIT: ${len} dwords`);
    const c = this.cmd;
    const op = (h >>> COMPARE_SHIFT) & 7;
    if (op > 5) throw hang(`MI_SEMAPHORE_WAIT: compare operation ${op}`);
    const data = h & MI_SEMAPHORE_INDIRECT ? this.gpr[0] : c[1];
    const regPoll = (h & MI_SEMAPHORE_REGISTER_POLL) !== 0;
    const where = regPoll ? c[2] & 0x7ffffc : addrOf(c[2], c[3]);
    const value = regPoll ? this.readRegister(e, this.regOffset(e, where, 0)) : this.read32(where, 'read');
    if (compare(op, value, data)) return Step.Next;
    this.pc = addr;
    this.status = { state: 'waiting', addr: where, cmdAddr: addr };
    return Step.Wait;
  }

  private condEnd(h: number, len: number): Step {
    expectLen('MI_CONDITIONAL_BATCH_BUFFER_END', len, 4);
    if (!(h & MI_COND_DO_COMPARE)) return Step.Next;
    const c = this.cmd;
    const op = (h >>> COMPARE_SHIFT) & 7;
    if (op > 5) throw hang(`MI_CONDITIONAL_BATCH_BUFFER_END: compare operation ${op}`);
    const va = addrOf(c[2], c[3]);
    const value = h & MI_COND_MASK_MODE ? (this.read32(va, 'read') & this.read32(va + 4, 'read')) >>> 0 : this.read32(va, 'read');
    if (compare(op, value, c[1])) return Step.Next;
    if (h & MI_COND_END_CURRENT_LEVEL) return this.endLevel();
    return Step.End;
  }

  private flushDw(e: CsEngine, h: number, len: number): Step {
    requireClass(e, 'MI_FLUSH_DW', [ENGINE_CLASS.COPY, ENGINE_CLASS.VIDEO_DECODE, ENGINE_CLASS.VIDEO_ENHANCE]);
    if (len < 3 || len > 5) throw hang(`MI_FLUSH_DW: ${len} dwords`);
    const op = (h >>> MI_FLUSH_DW_OP_SHIFT) & 3;
    if (op === POST_SYNC.NONE) return Step.Next;
    if (h & MI_FLUSH_DW_STORE_INDEX) throw hang('MI_FLUSH_DW: Store Data Index (hardware status page) is not emulated');
    const c = this.cmd;
    const va = addrOf(c[1] & ~7, c[2]);
    if (op === POST_SYNC.TIMESTAMP) {
      // The upper 28 bits of the written TIMESTAMP are tied to 0.
      this.write64(va, BigInt(e.timestamp % 2 ** 36));
    } else if (op === POST_SYNC.WRITE_IMM && len > 3) {
      this.write32(va, c[3]);
      if (len === 5) this.write32(va + 4, c[4]);
    } else {
      throw hang(`MI_FLUSH_DW: post-sync operation ${op} with ${len} dwords`);
    }
    return Step.Next;
  }

  private pipeControl(e: CsEngine, len: number): Step {
    requireClass(e, 'PIPE_CONTROL', [ENGINE_CLASS.RENDER, ENGINE_CLASS.COMPUTE]);
    expectLen('PIPE_CONTROL', len, 6);
    const c = this.cmd;
    const op = (c[1] >>> PIPE_CONTROL_POST_SYNC_SHIFT) & 3;
    if (op === POST_SYNC.NONE) return Step.Next;
    if (c[1] & PIPE_CONTROL_STORE_DATA_INDEX) throw hang('PIPE_CONTROL: Store Data Index (hardware status page) is not emulated');
    const va = addrOf(c[2], c[3]);
    // Depth count: no pixel is ever drawn, so it is 0.
    const v = op === POST_SYNC.WRITE_IMM ? u64(c[4], c[5]) : op === POST_SYNC.TIMESTAMP ? BigInt(e.timestamp) : 0n;
    this.write64(va, v);
    return Step.Next;
  }

  private blit(e: CsEngine, h: number, len: number): Step {
    const op = (h >>> 22) & 0x7f;
    const name = op === BLT.XY_FAST_COPY_BLT ? 'XY_FAST_COPY_BLT' : 'MEM_COPY';
    if (op === BLT.MEM_COPY && e.graphicsVerx100 < 2000) throw hang(`unknown command ${hex(h)}`);
    requireClass(e, name, [ENGINE_CLASS.COPY]);
    expectLen(name, len, 10);
    if (op === BLT.XY_FAST_COPY_BLT) this.fastCopy(h);
    else this.memCopy(h);
    return Step.Next;
  }

  private fastCopy(h: number): void {
    const c = this.cmd;
    if ((h >>> 20) & 3 || (h >>> 13) & 3 || c[1] >>> 30) throw hang('XY_FAST_COPY_BLT: tiled surfaces are not emulated');
    const bpp = FAST_COPY_BPP[(c[1] >>> 24) & 7];
    if (bpp === undefined) throw hang(`XY_FAST_COPY_BLT: color depth ${(c[1] >>> 24) & 7}`);
    const [x1, y1, x2, y2] = [c[2] & 0xffff, c[2] >>> 16, c[3] & 0xffff, c[3] >>> 16];
    const [sx, sy] = [c[6] & 0xffff, c[6] >>> 16];
    const dst = addrOf(c[4], c[5]);
    const src = addrOf(c[8], c[9]);
    const dPitch = c[1] & 0xffff;
    const sPitch = c[7] & 0xffff;
    for (let r = 0; r < y2 - y1; r++) {
      this.copyBytes(dst + (y1 + r) * dPitch + x1 * bpp, src + (sy + r) * sPitch + sx * bpp, Math.max(0, x2 - x1) * bpp);
    }
  }

  private memCopy(h: number): void {
    const c = this.cmd;
    const type = (h >>> MEM_COPY_TYPE_SHIFT) & 3;
    if (type > 1) throw hang(`MEM_COPY: copy type ${type}`);
    const page = (h & MEM_COPY_PAGE_MODE) !== 0;
    const rowBytes = ((c[1] & (page ? 0xffffff : 0x3ffff)) + 1) * (page ? 256 : 1);
    const rows = type === 1 ? (c[2] & 0x3ffff) + 1 : 1;
    const src = addrOf(c[5], c[6]);
    const dst = addrOf(c[7], c[8]);
    for (let r = 0; r < rows; r++) this.copyBytes(dst + r * ((c[4] & 0x3ffff) + 1), src + r * ((c[3] & 0x3ffff) + 1), rowBytes);
  }

  private copyBytes(dst: number, src: number, n: number): void {
    for (let done = 0; done < n; done += COPY_CHUNK) {
      const k = Math.min(COPY_CHUNK, n - done);
      const data = this.mmu.gpuRead(src + done, k);
      if (!(data instanceof Uint8Array)) throw new Stop(data);
      const f = this.mmu.gpuWrite(dst + done, data);
      if (f) throw new Stop(f);
    }
  }

  private math(e: CsEngine, len: number): void {
    let srcA = 0n;
    let srcB = 0n;
    let accu = 0n;
    let zf = 0n;
    let cf = 0n;
    const get = (r: number): bigint => {
      if (r < 16) return this.gpr64(r);
      if (r === ALU_REG.ACCU) return accu;
      if (r === ALU_REG.ZF) return zf;
      if (r === ALU_REG.CF) return cf;
      if (r === ALU_REG.SRCA) return srcA;
      if (r === ALU_REG.SRCB) return srcB;
      throw hang(`MI_MATH: operand ${hex(r)}`);
    };
    const shifts = e.graphicsVerx100 >= 1255;
    for (let i = 1; i < len; i++) {
      const a = this.cmd[i];
      const opc = a >>> 20;
      const op1 = (a >>> 10) & 0x3ff;
      const op2 = a & 0x3ff;
      if (opc === ALU.NOOP) continue;
      if (opc === ALU.LOAD || opc === ALU.LOADINV || opc === ALU.LOAD0 || opc === ALU.LOAD1) {
        const v = opc === ALU.LOAD ? get(op2) : opc === ALU.LOADINV ? ~get(op2) & MASK64 : opc === ALU.LOAD0 ? 0n : 1n;
        if (op1 === ALU_REG.SRCA) srcA = v;
        else if (op1 === ALU_REG.SRCB) srcB = v;
        else throw hang(`MI_MATH: load into operand ${hex(op1)}`);
      } else if (opc === ALU.STORE || opc === ALU.STOREINV) {
        if (op1 >= 16) throw hang(`MI_MATH: store into operand ${hex(op1)}`);
        this.setGpr64(op1, opc === ALU.STORE ? get(op2) : ~get(op2) & MASK64);
      } else {
        const full = aluOp(opc, srcA, srcB, shifts);
        if (full === null) throw hang(`MI_MATH: ALU opcode ${hex(opc)}`);
        accu = full & MASK64;
        // Flags store as all ones or 0; CF is the carry out of ADD or the borrow of SUB.
        cf = (opc === ALU.ADD && full > MASK64) || (opc === ALU.SUB && full < 0n) ? MASK64 : 0n;
        zf = accu === 0n ? MASK64 : 0n;
      }
    }
  }

  /** Fetches the dword at `va` through the one-page fetch cache. */
  private fetch32(va: number): number {
    let o = va - this.fetchPageVa;
    if (!(o >= 0 && o < PAGE_SIZE)) {
      o = va % PAGE_SIZE;
      this.fetchPageVa = va - o;
      this.fetchOff = this.locate(this.fetchPageVa, 'read');
      this.fetchView = this.hitView;
    }
    return this.fetchView === null ? 0 : this.fetchView.getUint32(this.fetchOff + o, true);
  }

  /** Offset of `va` in `hitView` after translating it for `access` (a NULL page: hitView null). */
  private locate(va: number, access: GpuAccess): number {
    const vpn = Math.floor(va / PAGE_SIZE);
    if (vpn === this.dataVpn && (access === 'read' || this.dataWritable)) {
      this.hitView = this.dataView;
      return this.dataOff + (va % PAGE_SIZE);
    }
    const t = this.mmu.translate(va, access);
    if (isFault(t)) throw new Stop(t);
    this.dataVpn = vpn;
    this.dataWritable = t.entry.writable;
    const pageVa = va - (va % PAGE_SIZE);
    if (t.pa < 0) {
      this.hitView = this.dataView = null;
      this.dataOff = 0;
      return 0;
    }
    const pa = t.pa + (pageVa - t.va);
    const r = pa >= REGION_SPAN ? Math.floor(pa / REGION_SPAN) : 0;
    this.hitView = this.dataView = this.views[r];
    this.dataOff = pa - r * REGION_SPAN;
    return this.dataOff + (va - pageVa);
  }

  private read32(va: number, access: GpuAccess): number {
    const off = this.locate(va, access);
    return this.hitView === null ? 0 : this.hitView.getUint32(off, true);
  }

  private write32(va: number, v: number, access: GpuAccess = 'write'): void {
    const off = this.locate(va, access);
    if (this.hitView !== null) this.hitView.setUint32(off, v >>> 0, true);
  }

  private write64(va: number, v: bigint): void {
    this.write32(va, Number(v & 0xffff_ffffn));
    this.write32(va + 4, Number((v >> 32n) & 0xffff_ffffn));
  }
}

function expectLen(name: string, len: number, want: number): void {
  if (len !== want) throw hang(`${name}: DWord Length ${len - 2} (expected ${want - 2})`);
}

const CLASS_NAMES = ['render', 'copy', 'video decode', 'video enhance', 'compute'];

function requireClass(e: CsEngine, name: string, classes: number[]): void {
  if (!classes.includes(e.engineClass)) throw hang(`${name} is not a ${CLASS_NAMES[e.engineClass]} engine command`);
}

/** `value op data` as unsigned dwords (COMPARE). */
function compare(op: number, value: number, data: number): boolean {
  const a = value >>> 0;
  const b = data >>> 0;
  switch (op) {
    case 0: return a > b;
    case 1: return a >= b;
    case 2: return a < b;
    case 3: return a <= b;
    case 4: return a === b;
    default: return a !== b;
  }
}

/** The new memory value of atomic `op` (ATOMIC_OP) on `old` with operands op1, op2 (unsigned, `bits` wide). */
function atomicResult(op: number, old: bigint, op1: bigint, op2: bigint, bits: number): bigint {
  const signed = (v: bigint): bigint => BigInt.asIntN(bits, v);
  switch (op) {
    case 0x1: return old & op1;
    case 0x2: return old | op1;
    case 0x3: return old ^ op1;
    case 0x4: return op1;
    case 0x5: return old + 1n;
    case 0x6: return old - 1n + (1n << BigInt(bits));
    case 0x7: return old + op1;
    case 0x8: return old - op1 + (1n << BigInt(bits));
    case 0x9: return op1 - old + (1n << BigInt(bits));
    case 0xa: return signed(old) >= signed(op1) ? old : op1;
    case 0xb: return signed(old) <= signed(op1) ? old : op1;
    case 0xc: return old >= op1 ? old : op1;
    case 0xd: return old <= op1 ? old : op1;
    default: return old === op1 ? op2 : old; // CMP_WR: compare with operand 1, write operand 2
  }
}

/** ACCU of an ALU operation before truncation to 64 bits, or null for an unknown opcode. */
function aluOp(opc: number, a: bigint, b: bigint, shifts: boolean): bigint | null {
  switch (opc) {
    case ALU.ADD: return a + b;
    case ALU.SUB: return a - b;
    case ALU.AND: return a & b;
    case ALU.OR: return a | b;
    case ALU.XOR: return a ^ b;
  }
  if (!shifts) return null;
  const n = b & 63n;
  switch (opc) {
    case ALU.SHL: return a << n;
    case ALU.SHR: return a >> n;
    case ALU.SAR: return BigInt.asUintN(64, BigInt.asIntN(64, a) >> n);
    default: return null;
  }
}
