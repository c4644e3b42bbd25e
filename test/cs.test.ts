// The command streamer (src/hw/cs.ts): batches written into emulated memory, fetched and
// executed through a GpuMmu over hand-written page tables; every assertion reads the memory
// the emulated GPU wrote.
import t from 'tap';
import { engineMmioBase, type CsContext, type CsEngine, type CsStatus } from '../src/hw/cs.js';
import { ENGINE_CLASS, PROFILES } from '../src/hw/profile.js';
import {
  ALU, ALU_REG, ATOMIC_OP, Batch, COMPARE, CS_REG, MI, aluInstr, csGpr, memCopy, miAtomic, miBatchBufferEnd,
  miBatchBufferStart, miCondBatchBufferEnd, miCopyMemMem, miFlushDw, miHeader, miLoadRegisterImm, miLoadRegisterMem,
  miLoadRegisterReg, miMath, miNoop, miSemaphoreWait, miStoreDataImm, miStoreDwordImm, miStoreQwordImm,
  miStoreRegisterMem, pipeControl, xyFastCopyBlt,
} from '../src/uapi/gpu_commands.js';
import { decodeCommand, formatCommand } from '../src/uapi/gpu_decode.js';
import { NUL, RO, csRig } from './helpers/cs_rig.js';

/** GPU VA of the 16 mapped pages and the system memory behind them. */
const VA = 0x4000_0000;
const PA = 0x10_0000;
/** Data area: 8 pages after the batch pages. */
const DATA = VA + 0x8000;
const DPA = PA + 0x8000;

/** A rig with VA..VA+64K mapped to PA, and `build` loaded at VA. */
function setup(build: (b: Batch) => void, cls: number = ENGINE_CLASS.RENDER, p = PROFILES.lnl) {
  const r = csRig(p);
  r.mapRange(VA, PA, 16);
  const b = new Batch();
  build(b);
  r.load(PA, b);
  const e = r.engine(cls);
  const c = r.ctx(7);
  c.start(VA);
  return { ...r, e, c };
}

const run = (e: CsEngine, c: CsContext, budget = 1000): CsStatus => e.run(c, budget);
const names = (e: CsEngine): string[] => e.trace().map((x) => x.decoded.name);

t.test('stores: MI_STORE_DATA_IMM dword, qword and multi-dword; MI_NOOP; MI_COPY_MEM_MEM', async (t) => {
  const s = setup((b) => {
    b.emit(miNoop());
    b.emit(miStoreDwordImm(DATA, 0xdeadbeef));
    b.emit(miStoreQwordImm(DATA + 8, 0x1122_3344_5566_7788n));
    b.emit(miStoreDataImm(DATA + 0x10, [1, 2, 3]));
    b.emit(miStoreDataImm(DATA + 0x20, [0xa, 0xb, 0xc, 0xd], true));
    b.emit(miCopyMemMem(DATA + 0x30, DATA + 4 * 1)); // copies the high dword of nothing yet: 0
    b.emit(miCopyMemMem(DATA + 0x34, DATA));
    b.emit(miBatchBufferEnd());
  });
  s.setU32(DPA + 0x30, 0x99);
  t.same(run(s.e, s.c), { state: 'done' });
  t.same(s.bytes(DPA, 4), [0xef, 0xbe, 0xad, 0xde], 'dword little-endian');
  t.equal(s.u64(DPA + 8), 0x1122_3344_5566_7788n);
  t.same([s.u32(DPA + 0x10), s.u32(DPA + 0x14), s.u32(DPA + 0x18), s.u32(DPA + 0x1c)], [1, 2, 3, 0], 'three dwords, nothing after');
  t.same([s.u32(DPA + 0x20), s.u32(DPA + 0x24), s.u32(DPA + 0x28), s.u32(DPA + 0x2c)], [0xa, 0xb, 0xc, 0xd]);
  t.same([s.u32(DPA + 0x30), s.u32(DPA + 0x34)], [0, 0xdeadbeef], 'MI_COPY_MEM_MEM copies a dword');
  t.equal(s.c.executed, 8);
  t.same(names(s.e), ['MI_NOOP', 'MI_STORE_DATA_IMM', 'MI_STORE_DATA_IMM', 'MI_STORE_DATA_IMM', 'MI_STORE_DATA_IMM', 'MI_COPY_MEM_MEM', 'MI_COPY_MEM_MEM', 'MI_BATCH_BUFFER_END']);
  t.same(s.e.trace()[1].decoded.fields, { addr: '0x40008000', qword: false, data: '0xdeadbeef' });
  t.equal(s.e.trace()[1].addr, VA + 4);
  t.equal(s.e.trace()[1].ctx, 7);
  t.same(run(s.e, s.c), { state: 'done' }, 'a finished context stays done');
  t.equal(s.c.executed, 8);
});

t.test('NULL pages read 0 and drop writes', async (t) => {
  const s = setup((b) => {
    b.emit(miStoreDwordImm(VA + 0xf000, 5)); // NULL page
    b.emit(miCopyMemMem(DATA, VA + 0xf010));
    b.emit(miAtomic(ATOMIC_OP.INC, VA + 0xf020, { ret: true }));
    b.emit(miBatchBufferEnd());
  });
  s.map(VA + 0xf000, 0, NUL);
  s.setU32(DPA, 0x77);
  s.c.gpr[8] = 0x55;
  t.same(run(s.e, s.c), { state: 'done' });
  t.equal(s.u32(DPA), 0, 'a NULL page reads as 0');
  t.equal(s.u32(0), 0, 'physical page 0 untouched');
  t.equal(s.c.gpr[8], 0, 'an atomic on NULL returns 0');
});

t.test('chained and second-level batches', async (t) => {
  const B2 = VA + 0x1000;
  const B3 = VA + 0x2000;
  const C = VA + 0x3000;
  const s = setup((b) => {
    b.emit(miStoreDwordImm(DATA, 1));
    b.emit(miBatchBufferStart(B2, true)); // call
    b.emit(miStoreDwordImm(DATA + 4, 4)); // after the return
    b.emit(miBatchBufferStart(C)); // chain, no return
    b.emit(miStoreDwordImm(DATA + 8, 0xbad));
    b.emit(miBatchBufferEnd());
  });
  const load = (pa: number, build: (b: Batch) => void): void => {
    const b = new Batch();
    build(b);
    s.load(pa, b);
  };
  load(PA + 0x1000, (b) => {
    b.emit(miStoreDwordImm(DATA + 0x10, 2));
    b.emit(miBatchBufferStart(B3)); // chains within the second level
  });
  load(PA + 0x2000, (b) => {
    b.emit(miStoreDwordImm(DATA + 0x14, 3));
    b.emit(miBatchBufferEnd()); // returns to the first level
    b.emit(miStoreDwordImm(DATA + 0x18, 0xbad));
  });
  load(PA + 0x3000, (b) => {
    b.emit(miStoreDwordImm(DATA + 0x1c, 5));
    b.emit(miBatchBufferEnd()); // first level: done
  });
  t.same(run(s.e, s.c), { state: 'done' });
  t.same([s.u32(DPA), s.u32(DPA + 0x10), s.u32(DPA + 0x14), s.u32(DPA + 4), s.u32(DPA + 0x1c)], [1, 2, 3, 4, 5]);
  t.same([s.u32(DPA + 8), s.u32(DPA + 0x18)], [0, 0], 'nothing after a chain or an end ran');
  t.same(s.e.trace().map((x) => x.addr), [VA, VA + 16, B2, B2 + 16, B3, B3 + 16, VA + 28, VA + 44, C, C + 16]);
  t.same(s.e.trace()[1].decoded.fields, { addr: '0x40001000', secondLevel: true });
});

t.test('MI_CONDITIONAL_BATCH_BUFFER_END: continue, end all levels, end the current level, mask mode, no compare', async (t) => {
  const B2 = VA + 0x1000;
  const s = setup((b) => {
    b.emit(miCondBatchBufferEnd(COMPARE.GT, DATA + 0x40, 0)); // 1 > 0: go on
    b.emit(miStoreDwordImm(DATA, 1));
    b.emit([miHeader(MI.CONDITIONAL_BATCH_BUFFER_END, 0, 2), 0, DATA + 0x44, 0]); // no compare: a no-op
    b.emit(miBatchBufferStart(B2, true));
    b.emit(miStoreDwordImm(DATA + 4, 2));
    b.emit(miCondBatchBufferEnd(COMPARE.EQ, DATA + 0x48, 0x0f, { maskMode: true })); // (0xff & 0x1f) == 0x0f? no: end all
    b.emit(miStoreDwordImm(DATA + 8, 0xbad));
    b.emit(miBatchBufferEnd());
  });
  const b2 = new Batch();
  b2.emit(miCondBatchBufferEnd(COMPARE.NEQ, DATA + 0x40, 1, { endCurrentLevel: true })); // 1 != 1 false: back to level 1
  b2.emit(miStoreDwordImm(DATA + 0xc, 0xbad));
  s.load(PA + 0x1000, b2);
  s.setU32(DPA + 0x40, 1);
  s.setU32(DPA + 0x44, 0);
  s.setU32(DPA + 0x48, 0x1f); // mask
  s.setU32(DPA + 0x4c, 0xff); // data
  t.same(run(s.e, s.c), { state: 'done' });
  t.same([s.u32(DPA), s.u32(DPA + 4), s.u32(DPA + 8), s.u32(DPA + 0xc)], [1, 2, 0, 0]);
  t.equal(s.e.trace()[4].decoded.name, 'MI_CONDITIONAL_BATCH_BUFFER_END');
  t.same(s.e.trace()[4].decoded.fields, { compare: 'MAD_NOT_EQUAL_IDD', data: '0x1', addr: '0x40008040', doCompare: true, endCurrentLevel: true, maskMode: false });
});

t.test('MI_ATOMIC: every op, dword and qword, inline and GPR operands, return data', async (t) => {
  const cases: Array<[keyof typeof ATOMIC_OP, bigint, bigint, bigint, bigint]> = [
    // op, old, op1, op2, new (dword)
    ['AND', 0xf0f0n, 0xff00n, 0n, 0xf000n],
    ['OR', 0xf0f0n, 0x0f00n, 0n, 0xfff0n],
    ['XOR', 0xf0f0n, 0xffffn, 0n, 0x0f0fn],
    ['MOVE', 0x1234n, 0xabcdn, 0n, 0xabcdn],
    ['INC', 0xffff_ffffn, 0n, 0n, 0n],
    ['DEC', 0n, 0n, 0n, 0xffff_ffffn],
    ['ADD', 0xffff_fff0n, 0x20n, 0n, 0x10n],
    ['SUB', 5n, 7n, 0n, 0xffff_fffen],
    ['RSUB', 5n, 7n, 0n, 2n],
    ['IMAX', 0xffff_ffffn, 1n, 0n, 1n],
    ['IMIN', 0xffff_ffffn, 1n, 0n, 0xffff_ffffn],
    ['UMAX', 0xffff_ffffn, 1n, 0n, 0xffff_ffffn],
    ['UMIN', 0xffff_ffffn, 1n, 0n, 1n],
    ['CMP_WR', 9n, 9n, 0x42n, 0x42n],
    ['CMP_WR', 9n, 8n, 0x42n, 9n],
  ];
  for (const [name, old, op1, op2, want] of cases) {
    const s = setup((b) => {
      b.emit(miAtomic(ATOMIC_OP[name], DATA, { inline: { op1, op2 }, ret: true }));
      b.emit(miAtomic(ATOMIC_OP[name], DATA + 8, { qword: true, ret: false }));
      b.emit(miBatchBufferEnd());
    });
    s.setU32(DPA, Number(old));
    s.setU32(DPA + 4, 0x5a5a); // beyond the dword: untouched
    // The qword case takes its operands from GPR0 / GPR2 and works on old << 32 | old.
    const old64 = (old << 32n) | old;
    s.setU64(DPA + 8, old64);
    s.c.setGpr64(0, (op1 << 32n) | op1);
    s.c.setGpr64(2, (op2 << 32n) | op2);
    s.c.setGpr64(4, 0xffff_ffff_0000_0000n);
    t.same(run(s.e, s.c), { state: 'done' }, name);
    t.equal(s.u32(DPA), Number(want), `${name} dword`);
    t.equal(s.u32(DPA + 4), 0x5a5a, `${name} dword leaves the next dword`);
    t.equal(s.c.gpr64(4), 0xffff_ffff_0000_0000n | old, `${name} returns the old dword in the low half of GPR4`);
    const want64 = name === 'INC' || name === 'DEC' || name === 'ADD' || name === 'SUB' || name === 'RSUB' || name === 'IMAX' || name === 'IMIN'
      ? null : (want << 32n) | want; // carries and signs differ in 64 bits: checked below
    if (want64 !== null) t.equal(s.u64(DPA + 8), want64, `${name} qword`);
  }
  // 64-bit arithmetic: carries cross the dword boundary.
  const s = setup((b) => {
    b.emit(miAtomic(ATOMIC_OP.INC, DATA, { qword: true, ret: true }));
    b.emit(miAtomic(ATOMIC_OP.ADD, DATA + 8, { qword: true, inline: { op1: 0x1_0000_0001n } }));
    b.emit(miAtomic(ATOMIC_OP.DEC, DATA + 16, { qword: true }));
    b.emit(miAtomic(ATOMIC_OP.CMP_WR, DATA + 24, { qword: true, inline: { op1: 0x1_0000_0000n, op2: 7n } }));
    b.emit(miBatchBufferEnd());
  });
  s.setU64(DPA, 0xffff_ffffn);
  s.setU64(DPA + 8, 0xffff_ffff_ffff_ffffn);
  s.setU64(DPA + 24, 0x1_0000_0000n);
  t.same(run(s.e, s.c), { state: 'done' });
  t.equal(s.u64(DPA), 0x1_0000_0000n);
  t.equal(s.c.gpr64(4), 0xffff_ffffn, 'qword return');
  t.equal(s.u64(DPA + 8), 0x1_0000_0000n);
  t.equal(s.u64(DPA + 16), 0xffff_ffff_ffff_ffffn);
  t.equal(s.u64(DPA + 24), 7n);
  t.same(s.e.trace()[3].decoded.fields, { op: 'CMP_WR', size: 8, addr: '0x40008018', ret: false, inline: true, op1: '0x100000000', op2: '0x7' });

  // IGT's form: MI_ATOMIC | MI_ATOMIC_INC, three dwords.
  const igt = setup((b) => b.emit([(MI.ATOMIC << 23) | 1 | (0x5 << 8), DATA, 0, miBatchBufferEnd()[0]]));
  igt.setU32(DPA, 41);
  t.same(run(igt.e, igt.c), { state: 'done' });
  t.equal(igt.u32(DPA), 42);
});

t.test('MI_SEMAPHORE_WAIT parks, stays parked, and proceeds after a CPU write', async (t) => {
  const ops: Array<[number, number, number, boolean]> = [
    // op, memory, data, passes
    [COMPARE.GT, 5, 4, true], [COMPARE.GT, 4, 4, false], [COMPARE.GTE, 4, 4, true], [COMPARE.GTE, 3, 4, false],
    [COMPARE.LT, 3, 4, true], [COMPARE.LT, 4, 4, false], [COMPARE.LTE, 4, 4, true], [COMPARE.LTE, 5, 4, false],
    [COMPARE.EQ, 4, 4, true], [COMPARE.EQ, 0xffff_ffff, 4, false], [COMPARE.NEQ, 3, 4, true], [COMPARE.NEQ, 4, 4, false],
    [COMPARE.GT, 0x8000_0000, 1, true], // unsigned
  ];
  for (const [op, memv, data, passes] of ops) {
    const s = setup((b) => {
      b.emit(miSemaphoreWait(op, DATA + 0x100, data));
      b.emit(miStoreDwordImm(DATA, 1));
      b.emit(miBatchBufferEnd());
    });
    s.setU32(DPA + 0x100, memv);
    t.same(run(s.e, s.c), passes ? { state: 'done' } : { state: 'waiting', addr: DATA + 0x100, cmdAddr: VA }, `op ${op}: ${memv} vs ${data}`);
    t.equal(s.u32(DPA), passes ? 1 : 0);
  }

  const s = setup((b) => {
    b.emit(miStoreDwordImm(DATA, 1));
    b.emit(miSemaphoreWait(COMPARE.EQ, DATA + 0x100, 0xc0ffee));
    b.emit(miStoreDwordImm(DATA + 4, 2));
    b.emit(miBatchBufferEnd());
  });
  const waiting = { state: 'waiting', addr: DATA + 0x100, cmdAddr: VA + 16 };
  t.same(run(s.e, s.c), waiting);
  t.same(run(s.e, s.c), waiting, 'memory unchanged: still parked');
  t.equal(s.c.pc, VA + 16, 'parked on the wait');
  t.same([s.u32(DPA), s.u32(DPA + 4)], [1, 0]);
  s.setU32(DPA + 0x100, 0xc0ffee); // the CPU releases it
  t.same(run(s.e, s.c), { state: 'done' });
  t.same([s.u32(DPA), s.u32(DPA + 4)], [1, 2]);
  t.same(names(s.e), ['MI_STORE_DATA_IMM', 'MI_SEMAPHORE_WAIT', 'MI_STORE_DATA_IMM', 'MI_BATCH_BUFFER_END'], 'the wait is traced once');
  t.equal(s.c.executed, 4);
  t.same(s.e.trace()[1].decoded.fields, { compare: 'SAD_EQUAL_SDD', data: '0xc0ffee', addr: '0x40008100', poll: true, registerPoll: false });
});

t.test('registers: LRI, LRM, SRM, LRR, timestamps, unmodelled registers', async (t) => {
  const s = setup((b) => {
    b.emit(miLoadRegisterImm([[csGpr(1), 0x1111], [csGpr(1) + 4, 0x2222]]));
    b.emit(miStoreRegisterMem(csGpr(1), DATA));
    b.emit(miStoreRegisterMem(csGpr(1) + 4, DATA + 4));
    b.emit(miLoadRegisterMem(csGpr(3), DATA + 0x40));
    b.emit(miLoadRegisterReg(csGpr(5), CS_REG.CTX_TIMESTAMP));
    b.emit(miStoreRegisterMem(0x2000 + CS_REG.TIMESTAMP, DATA + 8, false)); // absolute RING_TIMESTAMP of rcs0
    b.emit(miLoadRegisterImm([[0x2000 + CS_REG.TIMESTAMP, 0x5000]], false)); // read-only: ignored
    b.emit(miStoreRegisterMem(CS_REG.TIMESTAMP, DATA + 12));
    b.emit(miLoadRegisterImm([[0x7000, 1]])); // not modelled: ignored
    b.emit(miStoreRegisterMem(0x7000, DATA + 16));
    b.emit(miStoreRegisterMem(0x22000 + CS_REG.TIMESTAMP, DATA + 20, false)); // another engine's register
    b.emit(miBatchBufferEnd());
  });
  s.setU32(DPA + 0x40, 0xabcd);
  s.setU32(DPA + 16, 0xffff);
  s.setU32(DPA + 20, 0xffff);
  s.e.advance(100);
  t.same(run(s.e, s.c), { state: 'done' });
  t.same([s.u32(DPA), s.u32(DPA + 4)], [0x1111, 0x2222]);
  t.equal(s.c.gpr64(1), 0x2222_0000_1111n);
  t.equal(s.c.gpr[6], 0xabcd, 'LRM into GPR3');
  t.equal(s.c.gpr64(5), 4n, 'CTX_TIMESTAMP after four commands');
  t.equal(s.u32(DPA + 8), 105, 'RING_TIMESTAMP: 100 idle ticks and five commands');
  t.equal(s.u32(DPA + 12), 107, 'writes to RING_TIMESTAMP are ignored');
  t.same([s.u32(DPA + 16), s.u32(DPA + 20)], [0, 0], 'unmodelled registers read 0');
  t.equal(s.e.timestamp, 112);
  t.equal(s.c.ctxTimestamp, 12);
  t.equal(s.e.trace()[0].decoded.fields.regs, '0x608 (cs)=0x1111 0x60c (cs)=0x2222');
  t.equal(engineMmioBase('bcs8'), 0x3ee000);
  t.equal(engineMmioBase('ccs3'), 0x26000);
  t.throws(() => engineMmioBase('xcs0'));
});

t.test('MI_MATH: loads, ADD/SUB with carry and zero flags, logic, shifts, STOREINV', async (t) => {
  const L = (dst: number, src: number): number => aluInstr(ALU.LOAD, dst, src);
  const s = setup((b) => {
    b.emit(miMath([
      L(ALU_REG.SRCA, 0), L(ALU_REG.SRCB, 1), aluInstr(ALU.ADD), aluInstr(ALU.STORE, 2, ALU_REG.ACCU), aluInstr(ALU.STORE, 3, ALU_REG.CF),
      L(ALU_REG.SRCA, 1), L(ALU_REG.SRCB, 1), aluInstr(ALU.SUB), aluInstr(ALU.STORE, 4, ALU_REG.ZF), aluInstr(ALU.STOREINV, 5, ALU_REG.ACCU),
      aluInstr(ALU.LOAD0, ALU_REG.SRCA), aluInstr(ALU.LOAD1, ALU_REG.SRCB), aluInstr(ALU.SUB), aluInstr(ALU.STORE, 6, ALU_REG.CF),
      L(ALU_REG.SRCA, 0), aluInstr(ALU.LOADINV, ALU_REG.SRCB, 1), aluInstr(ALU.AND), aluInstr(ALU.STORE, 7, ALU_REG.ACCU),
      L(ALU_REG.SRCA, 1), aluInstr(ALU.LOAD1, ALU_REG.SRCB), aluInstr(ALU.SHL), aluInstr(ALU.STORE, 8, ALU_REG.ACCU),
    ]));
    b.emit(miBatchBufferEnd());
  });
  s.c.setGpr64(0, 0xffff_ffff_ffff_fff0n);
  s.c.setGpr64(1, 0x20n);
  t.same(run(s.e, s.c), { state: 'done' });
  t.equal(s.c.gpr64(2), 0x10n, 'ADD wraps');
  t.equal(s.c.gpr64(3), 0xffff_ffff_ffff_ffffn, 'CF set by the carry');
  t.equal(s.c.gpr64(4), 0xffff_ffff_ffff_ffffn, 'ZF set by 0x20 - 0x20');
  t.equal(s.c.gpr64(5), 0xffff_ffff_ffff_ffffn, 'STOREINV of 0');
  t.equal(s.c.gpr64(6), 0xffff_ffff_ffff_ffffn, 'CF set by the borrow of 0 - 1');
  t.equal(s.c.gpr64(7), 0xffff_ffff_ffff_ffd0n, 'R0 & ~R1');
  t.equal(s.c.gpr64(8), 0x40n, 'SHL on graphics 20');
  t.match(s.e.trace()[0].decoded.fields.alu, /^LOAD SRCA, R0; LOAD SRCB, R1; ADD; STORE R2, ACCU; STORE R3, CF;/);

  const tgl = setup((b) => b.emit(miMath([aluInstr(ALU.SHL)])), ENGINE_CLASS.RENDER, PROFILES.tgl);
  t.same(run(tgl.e, tgl.c), { state: 'hang', reason: 'MI_MATH: ALU opcode 0x105', cmdAddr: VA, header: miHeader(MI.MATH, 0, 0) }, 'no shifts before 12.55');
});

t.test('PIPE_CONTROL post-sync writes on render and compute', async (t) => {
  for (const cls of [ENGINE_CLASS.RENDER, ENGINE_CLASS.COMPUTE]) {
    const s = setup((b) => {
      b.emit(pipeControl(DATA, { imm: 0x0102_0304_0506_0708n }));
      b.emit(pipeControl(DATA + 8, { timestamp: true }));
      b.emit(miBatchBufferEnd());
    }, cls);
    s.e.advance(40);
    t.same(run(s.e, s.c), { state: 'done' });
    t.equal(s.u64(DPA), 0x0102_0304_0506_0708n, 'immediate qword');
    t.equal(s.u64(DPA + 8), 41n, 'the timestamp when the command ran');
    t.same(s.e.trace()[0].decoded, { name: 'PIPE_CONTROL', length: 6, fields: { postSync: 'WRITE_IMM', addr: '0x40008000', imm: '0x102030405060708', flags: '0x104000' } });
  }
});

t.test('MI_FLUSH_DW post-sync writes on copy and video engines', async (t) => {
  for (const cls of [ENGINE_CLASS.COPY, ENGINE_CLASS.VIDEO_DECODE, ENGINE_CLASS.VIDEO_ENHANCE]) {
    const s = setup((b) => {
      b.emit(miFlushDw(DATA, { imm: 0xaabbccdd }));
      b.emit(miFlushDw(DATA + 8, { imm: 0x1_0000_0002n }));
      b.emit(miFlushDw(DATA + 16, { timestamp: true }));
      b.emit(miBatchBufferEnd());
    }, cls);
    s.setU32(DPA + 4, 0x77);
    t.same(run(s.e, s.c), { state: 'done' });
    t.same([s.u32(DPA), s.u32(DPA + 4)], [0xaabbccdd, 0x77], 'dword form writes one dword');
    t.equal(s.u64(DPA + 8), 0x1_0000_0002n, 'qword form');
    t.equal(s.u64(DPA + 16), 2n);
  }
});

t.test('engine classes: illegal commands hang with the command and why', async (t) => {
  const pc = setup((b) => b.emit(pipeControl(DATA, { imm: 1n })), ENGINE_CLASS.COPY);
  t.same(run(pc.e, pc.c), { state: 'hang', reason: 'PIPE_CONTROL is not a copy engine command', cmdAddr: VA, header: 0x7a000004 });
  t.equal(pc.u32(DPA), 0, 'nothing written');
  t.same(names(pc.e), ['PIPE_CONTROL'], 'the guilty command is traced');
  t.same(run(pc.e, pc.c), pc.c.status, 'a hung context stays hung');

  const fl = setup((b) => b.emit(miFlushDw(DATA, { imm: 1 })), ENGINE_CLASS.RENDER);
  t.same(run(fl.e, fl.c), { state: 'hang', reason: 'MI_FLUSH_DW is not a render engine command', cmdAddr: VA, header: 0x13004002 });
  const bl = setup((b) => b.emit(memCopy({ dst: DATA, src: VA, width: 4 })), ENGINE_CLASS.VIDEO_DECODE);
  t.match(run(bl.e, bl.c), { state: 'hang', reason: 'MEM_COPY is not a video decode engine command' });
  const old = setup((b) => b.emit(memCopy({ dst: DATA, src: VA, width: 4 })), ENGINE_CLASS.COPY, PROFILES.tgl);
  t.match(run(old.e, old.c), { state: 'hang', reason: 'unknown command 0x56800008' }, 'no MEM_COPY before Xe2');
  const fence = setup((b) => b.emit([(MI.MEM_FENCE << 23) | 1]), ENGINE_CLASS.RENDER, PROFILES.dg2);
  t.match(run(fence.e, fence.c), { state: 'hang', reason: 'MI_MEM_FENCE needs graphics 20.00+' });
});

t.test('unknown and malformed commands hang', async (t) => {
  const cases: Array<[number[], string]> = [
    [[0x0b80_0000], 'unknown command 0xb800000'], // MI opcode 0x17
    [[0x2000_0000], 'unknown command 0x20000000'], // client 1
    [[0xdead_beef], 'unknown command 0xdeadbeef'],
    [[miHeader(MI.ATOMIC, (ATOMIC_OP.ADD << 8) | (1 << 18), 1), DATA, 0], 'MI_ATOMIC: DWord Length 1 (expected 9)'],
    [[miHeader(MI.ATOMIC, (ATOMIC_OP.ADD | 0x20) << 8, 1), DATA, 0], 'MI_ATOMIC: Data Size 0 does not match opcode 0x27'],
    [[miHeader(MI.ATOMIC, 0x47 << 8, 1), DATA, 0], 'MI_ATOMIC: octword atomics are not emulated'],
    [[miHeader(MI.ATOMIC, 0xf << 8, 1), DATA, 0], 'MI_ATOMIC: opcode 0xf'],
    [[miHeader(MI.BATCH_BUFFER_START, 0, 0), VA], 'MI_BATCH_BUFFER_START: DWord Length 0 (expected 1)'],
    [[miHeader(MI.STORE_DATA_IMM, 0, 1), DATA, 0], 'MI_STORE_DATA_IMM: DWord Length 1 stores nothing'],
    [[miHeader(MI.STORE_DATA_IMM, 1 << 21, 2), DATA, 0, 1], 'MI_STORE_DATA_IMM: qword store of 1 dwords'],
    [[miHeader(MI.SEMAPHORE_WAIT, 6 << 12, 2), 0, DATA, 0], 'MI_SEMAPHORE_WAIT: compare operation 6'],
    [[miHeader(MI.LOAD_REGISTER_IMM, 0, 2), 0x600, 0, 0], 'MI_LOAD_REGISTER_IMM: DWord Length 2 is not 2n-1'],
  ];
  for (const [dw, reason] of cases) {
    const s = setup((b) => {
      b.emit(miNoop());
      b.emit(dw);
    });
    t.same(run(s.e, s.c), { state: 'hang', reason, cmdAddr: VA + 4, header: dw[0] >>> 0 }, reason);
  }
  t.same(decodeCommand([0xdead_beef]), { name: 'UNKNOWN', length: 1, fields: { header: '0xdeadbeef' } });
});

t.test('faults: fetch off mapped memory, store to a non-present page, write and atomic through read-only', async (t) => {
  // The batch fills its page with NOOPs and runs into the unmapped page after it.
  const off = setup((b) => {
    for (let i = 0; i < 1024; i++) b.emit(miNoop());
  });
  off.unmap(VA + 0x1000);
  t.same(run(off.e, off.c, 5000), { state: 'fault', fault: { fault: 'not-present', va: VA + 0x1000, level: 0, access: 'read' }, cmdAddr: VA + 0x1000, header: null });
  t.equal(off.c.executed, 1024);

  const np = setup((b) => {
    b.emit(miStoreDwordImm(DATA, 1));
    b.emit(miStoreDwordImm(VA + 0x20_0000, 2));
    b.emit(miStoreDwordImm(DATA + 4, 3));
  });
  t.same(run(np.e, np.c), { state: 'fault', fault: { fault: 'not-present', va: VA + 0x20_0000, level: 1, access: 'write' }, cmdAddr: VA + 16, header: 0x10000002 });
  t.same([np.u32(DPA), np.u32(DPA + 4)], [1, 0], 'commands before the fault ran, none after');

  const ro = setup((b) => {
    b.emit(miStoreDwordImm(DATA, 1));
    b.emit(miAtomic(ATOMIC_OP.INC, DATA + 4));
  });
  ro.map(DATA, DPA, RO);
  ro.setU32(DPA + 4, 9);
  t.same(run(ro.e, ro.c), { state: 'fault', fault: { fault: 'read-only', va: DATA, level: 0, access: 'write' }, cmdAddr: VA, header: 0x10000002 });
  t.equal(ro.u32(DPA), 0);
  const at = setup((b) => b.emit(miAtomic(ATOMIC_OP.INC, DATA + 4)));
  at.map(DATA, DPA, RO);
  t.same(run(at.e, at.c), { state: 'fault', fault: { fault: 'read-only', va: DATA + 4, level: 0, access: 'atomic' }, cmdAddr: VA, header: 0x17800501 });

  // A fault in the middle of a blit: rows before it were copied.
  const bl = setup((b) => b.emit(memCopy({ dst: DATA, src: VA + 0x7f00, width: 0x200 })), ENGINE_CLASS.COPY);
  bl.unmap(VA + 0x8000 + 0x1000);
  bl.unmap(VA + 0x8000);
  t.match(run(bl.e, bl.c), { state: 'fault', fault: { fault: 'not-present', va: VA + 0x8000, access: 'read' } }, 'the source runs into the unmapped page');
});

t.test('a spinner exhausts its budget each run; xe_spin-style end through memory', async (t) => {
  const s = setup((b) => {
    b.emit(miStoreDwordImm(DATA, 0xc0ffee)); // "started"
    b.emit(miCondBatchBufferEnd(COMPARE.GT, DATA + 4, 0)); // the loop: go on while end > 0
    b.emit(miBatchBufferStart(VA + 16));
  });
  s.setU32(DPA + 4, 0xffff_ffff);
  t.same(run(s.e, s.c, 100), { state: 'budget' });
  t.equal(s.u32(DPA), 0xc0ffee);
  t.same(run(s.e, s.c, 100), { state: 'budget' });
  t.equal(s.c.executed, 200);
  t.equal(s.c.pc, VA + 32, 'the 200th command was the conditional end: the jump is next');
  s.setU32(DPA + 4, 0); // xe_spin_end
  t.same(run(s.e, s.c, 100), { state: 'done' });

  const self = setup((b) => b.emit(miBatchBufferStart(VA)));
  for (let i = 0; i < 3; i++) t.same(run(self.e, self.c, 50), { state: 'budget' });
  t.equal(self.c.executed, 150);
  t.equal(self.e.timestamp, 150);
});

t.test('copy engine: XY_FAST_COPY_BLT and MEM_COPY', async (t) => {
  const s = setup((b) => {
    // A 3x2 rectangle of 32-bit pixels from (1,1) of a 64-byte-pitch source to (2,0) of a 32-byte-pitch destination.
    b.emit(xyFastCopyBlt({ dst: DATA, dstPitch: 32, src: VA + 0x4000, srcPitch: 64, depth: 3, x1: 2, y1: 0, x2: 5, y2: 2, srcX: 1, srcY: 1 }));
    b.emit(memCopy({ dst: DATA + 0x100, src: VA + 0x4000, width: 10 }));
    b.emit(memCopy({ dst: DATA + 0x200, src: VA + 0x4000, width: 4, height: 3, srcPitch: 64, dstPitch: 8 }));
    b.emit(memCopy({ dst: DATA + 0x1000, src: VA + 0x4000, width: 2, page: true }));
    b.emit(miBatchBufferEnd());
  }, ENGINE_CLASS.COPY);
  for (let i = 0; i < 512; i++) s.mem.view(PA + 0x4000 + i, 1)[0] = i & 0xff;
  t.same(run(s.e, s.c), { state: 'done' });
  const row = (pa: number): number[] => [s.u32(pa), s.u32(pa + 4), s.u32(pa + 8), s.u32(pa + 12), s.u32(pa + 16), s.u32(pa + 20)];
  const px = (o: number): number => s.u32(PA + 0x4000 + o);
  t.same(row(DPA), [0, 0, px(64 + 4), px(64 + 8), px(64 + 12), 0], 'row 0 from source row 1, x 1..3');
  t.same(row(DPA + 32), [0, 0, px(128 + 4), px(128 + 8), px(128 + 12), 0], 'row 1 from source row 2');
  t.same(s.bytes(DPA + 0x100, 11), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0], 'linear: 10 bytes');
  t.same(s.bytes(DPA + 0x200, 24), [0, 1, 2, 3, 0, 0, 0, 0, 64, 65, 66, 67, 0, 0, 0, 0, 128, 129, 130, 131, 0, 0, 0, 0], 'matrix rows at the pitches');
  t.same([s.bytes(DPA + 0x1000 + 511, 2)], [[255, 0]], 'page mode: two 256-byte pages');
  t.same(s.e.trace()[1].decoded.fields, { type: 'linear', mode: 'byte', width: 10, height: 1, srcPitch: 1, dstPitch: 1, src: '0x40004000', dst: '0x40008100' });
  t.equal(s.e.trace()[0].decoded.name, 'XY_FAST_COPY_BLT');

  const tiled = setup((b) => b.emit([xyFastCopyBlt({ dst: DATA, dstPitch: 32, src: VA, srcPitch: 32, depth: 3, x1: 0, y1: 0, x2: 1, y2: 1 })[0] | (1 << 13), ...Array(9).fill(0)]), ENGINE_CLASS.COPY);
  t.match(run(tiled.e, tiled.c), { state: 'hang', reason: 'XY_FAST_COPY_BLT: tiled surfaces are not emulated' });
});

t.test('the trace is a bounded ring; runs are deterministic', async (t) => {
  const program = (b: Batch): void => {
    for (let i = 0; i < 10; i++) b.emit(miStoreDwordImm(DATA + 4 * i, i * 3));
    b.emit(miAtomic(ATOMIC_OP.ADD, DATA, { inline: { op1: 5n } }));
    b.emit(miBatchBufferEnd());
  };
  const a = setup(program);
  const small = a.engine(ENGINE_CLASS.RENDER, { traceEntries: 4 });
  t.same(run(small, a.c), { state: 'done' });
  t.same(small.trace().map((x) => x.addr), [VA + 16 * 8, VA + 16 * 9, VA + 160, VA + 160 + 44]);
  t.equal(formatCommand(small.trace()[0].decoded), 'MI_STORE_DATA_IMM addr=0x40008020 qword=false data=0x18');
  small.clearTrace();
  t.same(small.trace(), []);
  const none = a.engine(ENGINE_CLASS.RENDER, { traceEntries: 0 });
  a.c.start(VA);
  t.same(run(none, a.c), { state: 'done' });
  t.same(none.trace(), []);

  const b = setup(program);
  run(b.e, b.c);
  const c = setup(program);
  run(c.e, c.c);
  t.same(b.bytes(DPA, 64), c.bytes(DPA, 64), 'same memory');
  t.same(b.e.trace(), c.e.trace(), 'same trace');
  t.equal(b.u32(DPA), 5);
});
