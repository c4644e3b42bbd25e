/**
 * Encodings of the GPU commands that Xe user batches use (Intel's public PRMs; the same values
 * as the xe driver's instructions/xe_mi_commands.h, IGT's intel_gpu_commands.h and Mesa's
 * genxml). One place for both sides: the emitters below build batches (tests, and the IGT-style
 * helpers of src/userspace), and the command streamer (src/hw/cs.ts) and the decoder
 * (gpu_decode.ts) read the same constants.
 *
 * A command is a header dword and `length + 2` dwords in all (the header's DWord Length field
 * excludes the first two), except the one-dword MI commands (MI opcodes 0x00-0x0F).
 */

/** Client (command type) in header bits 31:29. */
export const CMD_CLIENT = { MI: 0, BLT: 2, GFX: 3 } as const;

/** MI opcodes (header bits 28:23). */
export const MI = {
  NOOP: 0x00,
  ARB_CHECK: 0x05,
  MEM_FENCE: 0x09,
  BATCH_BUFFER_END: 0x0a,
  MATH: 0x1a,
  SEMAPHORE_WAIT: 0x1c,
  STORE_DATA_IMM: 0x20,
  LOAD_REGISTER_IMM: 0x22,
  STORE_REGISTER_MEM: 0x24,
  FLUSH_DW: 0x26,
  LOAD_REGISTER_MEM: 0x29,
  LOAD_REGISTER_REG: 0x2a,
  COPY_MEM_MEM: 0x2e,
  ATOMIC: 0x2f,
  BATCH_BUFFER_START: 0x31,
  CONDITIONAL_BATCH_BUFFER_END: 0x36,
} as const;

/** Blitter opcodes (header bits 28:22, client BLT). */
export const BLT = { XY_FAST_COPY_BLT: 0x42, MEM_COPY: 0x5a } as const;

/** PIPE_CONTROL header without its length: GFX client, pipeline 3, opcode 2, sub-opcode 0. */
export const PIPE_CONTROL = 0x7a00_0000;
/** Bits 31:16 that identify a GFX command (client, pipeline, opcode, sub-opcode). */
export const GFX_ID_MASK = 0xffff_0000;

// Header flag bits shared by several MI commands.
/** Global GTT instead of PPGTT (ignored from the non-privileged batches user space submits). */
export const MI_GLOBAL_GTT = 1 << 22;
/** LRI / LRM / SRM / LRR destination: register offset relative to the engine's MMIO base. */
export const MI_CS_MMIO = 1 << 19;
/** LRR source offset relative to the engine's MMIO base. */
export const MI_LRR_SRC_CS_MMIO = 1 << 18;
/** LRI: force posted writes (no effect here). */
export const MI_LRI_FORCE_POSTED = 1 << 12;

/** MI_STORE_DATA_IMM: the data are qwords. */
export const MI_SDI_QWORD = 1 << 21;

/** MI_BATCH_BUFFER_START: address space indicator (1 = PPGTT). */
export const MI_BBS_PPGTT = 1 << 8;
/** MI_BATCH_BUFFER_START: the target is a second-level batch (returns on MI_BATCH_BUFFER_END). */
export const MI_BBS_SECOND_LEVEL = 1 << 22;

/** MI_ATOMIC header fields. */
export const MI_ATOMIC_RETURN = 1 << 16;
export const MI_ATOMIC_CS_STALL = 1 << 17;
export const MI_ATOMIC_INLINE = 1 << 18;
/** MI_ATOMIC Data Size field (bits 20:19): 0 dword, 1 qword, 2 octword. */
export const MI_ATOMIC_SIZE_SHIFT = 19;
/** MI_ATOMIC opcodes (bits 15:8) on dwords; OR ATOMIC_QWORD for the 8-byte form. */
export const ATOMIC_OP = {
  AND: 0x1, OR: 0x2, XOR: 0x3, MOVE: 0x4, INC: 0x5, DEC: 0x6, ADD: 0x7, SUB: 0x8,
  RSUB: 0x9, IMAX: 0xa, IMIN: 0xb, UMAX: 0xc, UMIN: 0xd, CMP_WR: 0xe,
} as const;
export const ATOMIC_QWORD = 0x20;

/** MI_SEMAPHORE_WAIT: polling mode (re-read memory until the compare passes). */
export const MI_SEMAPHORE_POLL = 1 << 15;
/** MI_SEMAPHORE_WAIT: compare against an MMIO register instead of memory. */
export const MI_SEMAPHORE_REGISTER_POLL = 1 << 16;
/** MI_SEMAPHORE_WAIT: the data dword comes from CS_GPR0 instead of the command. */
export const MI_SEMAPHORE_INDIRECT = 1 << 17;
/** Compare operations of MI_SEMAPHORE_WAIT (SAD op SDD) and MI_CONDITIONAL_BATCH_BUFFER_END (MAD op IDD), bits 14:12: continue when true. */
export const COMPARE = { GT: 0, GTE: 1, LT: 2, LTE: 3, EQ: 4, NEQ: 5 } as const;
export const COMPARE_SHIFT = 12;

/** MI_CONDITIONAL_BATCH_BUFFER_END header fields. */
export const MI_COND_END_CURRENT_LEVEL = 1 << 18;
export const MI_COND_MASK_MODE = 1 << 19;
export const MI_COND_DO_COMPARE = 1 << 21;

/** MI_FLUSH_DW header fields. */
export const MI_FLUSH_DW_OP_SHIFT = 14;
export const MI_FLUSH_DW_TLB_INVALIDATE = 1 << 18;
export const MI_FLUSH_DW_STORE_INDEX = 1 << 21;
/** Post-sync operations of MI_FLUSH_DW and PIPE_CONTROL (bits 15:14). */
export const POST_SYNC = { NONE: 0, WRITE_IMM: 1, DEPTH_COUNT: 2, TIMESTAMP: 3 } as const;

/** PIPE_CONTROL dword 1 fields. */
export const PIPE_CONTROL_POST_SYNC_SHIFT = 14;
export const PIPE_CONTROL_CS_STALL = 1 << 20;
export const PIPE_CONTROL_STORE_DATA_INDEX = 1 << 21;
export const PIPE_CONTROL_GLOBAL_GTT = 1 << 24;

/** XY_FAST_COPY_BLT dword 1 color depth (bits 26:24) -> bytes per pixel. */
export const FAST_COPY_BPP: Readonly<Record<number, number>> = { 0: 1, 1: 2, 3: 4, 4: 8, 5: 16 };
/** MEM_COPY header fields: copy type (bits 18:17, 0 linear, 1 matrix) and mode (bit 19: 256-byte pages). */
export const MEM_COPY_MATRIX = 1 << 17;
export const MEM_COPY_PAGE_MODE = 1 << 19;
export const MEM_COPY_TYPE_SHIFT = 17;

/** MI_MATH ALU opcodes (bits 31:20 of an ALU dword). */
export const ALU = {
  NOOP: 0x000, LOAD: 0x080, LOADINV: 0x480, LOAD0: 0x081, LOAD1: 0x481,
  ADD: 0x100, SUB: 0x101, AND: 0x102, OR: 0x103, XOR: 0x104, SHL: 0x105, SHR: 0x106, SAR: 0x107,
  STORE: 0x180, STOREINV: 0x580,
} as const;
/** MI_MATH operands: R0..R15 are 0x00..0x0F (CS_GPR0..15). */
export const ALU_REG = { SRCA: 0x20, SRCB: 0x21, ACCU: 0x31, ZF: 0x32, CF: 0x33 } as const;

/** Engine-relative offsets of the command streamer registers xe-emu models. */
export const CS_REG = {
  /** RING_TIMESTAMP (low, high): the engine's free-running 64-bit timestamp. */
  TIMESTAMP: 0x358,
  TIMESTAMP_UDW: 0x35c,
  /** RING_CTX_TIMESTAMP (low, high): time the context has run. */
  CTX_TIMESTAMP: 0x3a8,
  CTX_TIMESTAMP_UDW: 0x3ac,
  /** CS_GPR0 low dword; CS_GPR(n) = GPR0 + 8n, 16 registers of 64 bits. */
  GPR0: 0x600,
} as const;

/** Engine-relative offset of CS_GPR(n) (low dword). */
export function csGpr(n: number): number {
  return CS_REG.GPR0 + 8 * n;
}

/** Header of an MI command with opcode `op`, flags and DWord Length `len`. */
export function miHeader(op: number, flags: number, len: number): number {
  return ((op << 23) | flags | len) >>> 0;
}

/** The low and high dwords of an address (a number below 2^53). */
export function addrDwords(addr: number): [number, number] {
  return [addr >>> 0, Math.floor(addr / 2 ** 32) >>> 0];
}

function qwordDwords(v: bigint): [number, number] {
  return [Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn)];
}

/** Number of dwords of the command whose header is `header`, or 0 when it is no known command. */
export function commandLength(header: number): number {
  const client = header >>> 29;
  if (client === CMD_CLIENT.MI) {
    const bits = MI_LEN_BITS[(header >>> 23) & 0x3f];
    return bits < 0 ? 0 : bits === 0 ? 1 : (header & ((1 << bits) - 1)) + 2;
  }
  if (client === CMD_CLIENT.BLT) {
    const op = (header >>> 22) & 0x7f;
    return op === BLT.XY_FAST_COPY_BLT || op === BLT.MEM_COPY ? (header & 0xff) + 2 : 0;
  }
  if (client === CMD_CLIENT.GFX && (header & GFX_ID_MASK) >>> 0 === PIPE_CONTROL) return (header & 0xff) + 2;
  return 0;
}

/** Width of the DWord Length field of each MI opcode: 0 for one-dword commands, -1 for unknown opcodes. */
const MI_LEN_BITS = new Int8Array(64).fill(-1);
for (const op of [MI.NOOP, MI.ARB_CHECK, MI.MEM_FENCE, MI.BATCH_BUFFER_END]) MI_LEN_BITS[op] = 0;
for (const op of [MI.MATH, MI.SEMAPHORE_WAIT, MI.LOAD_REGISTER_IMM, MI.STORE_REGISTER_MEM, MI.LOAD_REGISTER_MEM,
  MI.LOAD_REGISTER_REG, MI.COPY_MEM_MEM, MI.ATOMIC, MI.BATCH_BUFFER_START, MI.CONDITIONAL_BATCH_BUFFER_END]) MI_LEN_BITS[op] = 8;
MI_LEN_BITS[MI.STORE_DATA_IMM] = 10;
MI_LEN_BITS[MI.FLUSH_DW] = 6;

// ---------------------------------------------------------------------------------------
// Emitters: each returns the command's dwords.

/** MI_NOOP. */
export function miNoop(): number[] {
  return [0];
}

/** MI_BATCH_BUFFER_END. */
export function miBatchBufferEnd(): number[] {
  return [miHeader(MI.BATCH_BUFFER_END, 0, 0)];
}

/** MI_BATCH_BUFFER_START to `addr` (PPGTT); a chain unless `secondLevel`. */
export function miBatchBufferStart(addr: number, secondLevel = false): number[] {
  return [miHeader(MI.BATCH_BUFFER_START, MI_BBS_PPGTT | (secondLevel ? MI_BBS_SECOND_LEVEL : 0), 1), ...addrDwords(addr)];
}

/** MI_STORE_DATA_IMM of one dword (IGT's MI_STORE_DWORD_IMM_GEN4). */
export function miStoreDwordImm(addr: number, value: number): number[] {
  return miStoreDataImm(addr, [value >>> 0]);
}

/** MI_STORE_DATA_IMM of one qword (IGT's MI_STORE_QWORD_IMM_GEN8). */
export function miStoreQwordImm(addr: number, value: bigint): number[] {
  return miStoreDataImm(addr, qwordDwords(value), true);
}

/** MI_STORE_DATA_IMM of `data` dwords (pairs of dwords as qwords when `qword`). */
export function miStoreDataImm(addr: number, data: number[], qword = false): number[] {
  return [miHeader(MI.STORE_DATA_IMM, qword ? MI_SDI_QWORD : 0, data.length + 1), ...addrDwords(addr), ...data.map((d) => d >>> 0)];
}

/** Operands of MI_ATOMIC. */
export interface AtomicOpts {
  /** 8-byte operation (the opcode gets ATOMIC_QWORD and Data Size QWORD). */
  qword?: boolean;
  /** Return the old memory value in CS_GPR4. */
  ret?: boolean;
  /** Inline operands (else they come from CS_GPR0 and CS_GPR2). */
  inline?: { op1: bigint; op2?: bigint };
}

/** MI_ATOMIC `op` (ATOMIC_OP) on the dword or qword at `addr`. */
export function miAtomic(op: number, addr: number, o: AtomicOpts = {}): number[] {
  const flags = ((op | (o.qword ? ATOMIC_QWORD : 0)) << 8) | (o.qword ? 1 << MI_ATOMIC_SIZE_SHIFT : 0)
    | (o.ret ? MI_ATOMIC_RETURN : 0) | (o.inline ? MI_ATOMIC_INLINE : 0);
  const out = [miHeader(MI.ATOMIC, flags, o.inline ? 9 : 1), ...addrDwords(addr)];
  if (o.inline) {
    // Operand 1 and operand 2 dwords interleave: op1.dw0, op2.dw0, op1.dw1, op2.dw1, then the octword halves (0).
    const [a0, a1] = qwordDwords(o.inline.op1);
    const [b0, b1] = qwordDwords(o.inline.op2 ?? 0n);
    out.push(a0, b0, a1, b1, 0, 0, 0, 0);
  }
  return out;
}

/** MI_SEMAPHORE_WAIT in polling mode: continue when `(dword at addr) op data` (COMPARE). */
export function miSemaphoreWait(op: number, addr: number, data: number): number[] {
  return [miHeader(MI.SEMAPHORE_WAIT, MI_SEMAPHORE_POLL | (op << COMPARE_SHIFT), 2), data >>> 0, ...addrDwords(addr)];
}

/** MI_FLUSH_DW with a post-sync write: a dword or qword immediate, or the timestamp (qword). */
export function miFlushDw(addr: number, post: { imm: number | bigint } | { timestamp: true }): number[] {
  if ('timestamp' in post) return [miHeader(MI.FLUSH_DW, POST_SYNC.TIMESTAMP << MI_FLUSH_DW_OP_SHIFT, 3), ...addrDwords(addr), 0, 0];
  const data = typeof post.imm === 'bigint' ? qwordDwords(post.imm) : [post.imm >>> 0];
  return [miHeader(MI.FLUSH_DW, POST_SYNC.WRITE_IMM << MI_FLUSH_DW_OP_SHIFT, data.length + 1), ...addrDwords(addr), ...data];
}

/** MI_COPY_MEM_MEM: copies the dword at `src` to `dst`. */
export function miCopyMemMem(dst: number, src: number): number[] {
  return [miHeader(MI.COPY_MEM_MEM, 0, 3), ...addrDwords(dst), ...addrDwords(src)];
}

/** MI_CONDITIONAL_BATCH_BUFFER_END: the batch goes on while `(dword at addr) op data`, else ends. */
export function miCondBatchBufferEnd(op: number, addr: number, data: number, o: { endCurrentLevel?: boolean; maskMode?: boolean } = {}): number[] {
  const flags = MI_COND_DO_COMPARE | (op << COMPARE_SHIFT) | (o.endCurrentLevel ? MI_COND_END_CURRENT_LEVEL : 0)
    | (o.maskMode ? MI_COND_MASK_MODE : 0);
  return [miHeader(MI.CONDITIONAL_BATCH_BUFFER_END, flags, 2), data >>> 0, ...addrDwords(addr)];
}

/** MI_LOAD_REGISTER_IMM of (register offset, value) pairs; offsets engine-relative when csMmio. */
export function miLoadRegisterImm(pairs: Array<[number, number]>, csMmio = true): number[] {
  return [miHeader(MI.LOAD_REGISTER_IMM, csMmio ? MI_CS_MMIO : 0, 2 * pairs.length - 1), ...pairs.flatMap(([r, v]) => [r, v >>> 0])];
}

/** MI_LOAD_REGISTER_MEM: register `reg` = the dword at `addr`. */
export function miLoadRegisterMem(reg: number, addr: number, csMmio = true): number[] {
  return [miHeader(MI.LOAD_REGISTER_MEM, csMmio ? MI_CS_MMIO : 0, 2), reg, ...addrDwords(addr)];
}

/** MI_STORE_REGISTER_MEM: the dword at `addr` = register `reg`. */
export function miStoreRegisterMem(reg: number, addr: number, csMmio = true): number[] {
  return [miHeader(MI.STORE_REGISTER_MEM, csMmio ? MI_CS_MMIO : 0, 2), reg, ...addrDwords(addr)];
}

/** MI_LOAD_REGISTER_REG: register `dst` = register `src` (both engine-relative). */
export function miLoadRegisterReg(dst: number, src: number): number[] {
  return [miHeader(MI.LOAD_REGISTER_REG, MI_CS_MMIO | MI_LRR_SRC_CS_MMIO, 1), src, dst];
}

/** One MI_MATH ALU dword. */
export function aluInstr(op: number, op1 = 0, op2 = 0): number {
  return ((op << 20) | (op1 << 10) | op2) >>> 0;
}

/** MI_MATH with the given ALU dwords. */
export function miMath(alu: number[]): number[] {
  return [miHeader(MI.MATH, 0, alu.length - 1), ...alu];
}

/** PIPE_CONTROL with a post-sync write of `imm` (qword) or of the timestamp, CS stall set. */
export function pipeControl(addr: number, post: { imm: bigint } | { timestamp: true }): number[] {
  const op = 'timestamp' in post ? POST_SYNC.TIMESTAMP : POST_SYNC.WRITE_IMM;
  const imm = 'imm' in post ? qwordDwords(post.imm) : [0, 0];
  return [(PIPE_CONTROL | 4) >>> 0, PIPE_CONTROL_CS_STALL | (op << PIPE_CONTROL_POST_SYNC_SHIFT), ...addrDwords(addr), ...imm];
}

/** A linear rectangle copy for XY_FAST_COPY_BLT. */
export interface FastCopyArgs {
  dst: number;
  dstPitch: number;
  src: number;
  srcPitch: number;
  /** Color depth code (FAST_COPY_BPP key): 0 8 bpp, 1 16, 3 32, 4 64, 5 128. */
  depth: number;
  /** Destination rectangle [x1, x2) x [y1, y2) in pixels, and the source's top-left corner. */
  x1: number; y1: number; x2: number; y2: number;
  srcX?: number; srcY?: number;
}

/** XY_FAST_COPY_BLT between linear surfaces. */
export function xyFastCopyBlt(a: FastCopyArgs): number[] {
  const xy = (x: number, y: number): number => ((y << 16) | (x & 0xffff)) >>> 0;
  return [
    ((CMD_CLIENT.BLT << 29) | (BLT.XY_FAST_COPY_BLT << 22) | 8) >>> 0,
    ((a.depth << 24) | a.dstPitch) >>> 0, xy(a.x1, a.y1), xy(a.x2, a.y2), ...addrDwords(a.dst),
    xy(a.srcX ?? 0, a.srcY ?? 0), a.srcPitch, ...addrDwords(a.src),
  ];
}

/** MEM_COPY (Xe2 copy engine): `width` bytes (or 256-byte pages) per row, `height` rows when matrix. */
export function memCopy(a: { dst: number; src: number; width: number; height?: number; srcPitch?: number; dstPitch?: number; page?: boolean }): number[] {
  const matrix = a.height !== undefined;
  const flags = (matrix ? MEM_COPY_MATRIX : 0) | (a.page ? MEM_COPY_PAGE_MODE : 0);
  return [
    ((CMD_CLIENT.BLT << 29) | (BLT.MEM_COPY << 22) | flags | 8) >>> 0,
    a.width - 1, (a.height ?? 1) - 1, (a.srcPitch ?? 1) - 1, (a.dstPitch ?? 1) - 1,
    ...addrDwords(a.src), ...addrDwords(a.dst), 0,
  ];
}

/** A batch being built: dwords appended by the emitters, read back as bytes. */
export class Batch {
  private readonly dw: number[] = [];

  /** Appends command dwords; returns the byte offset where they start. */
  emit(cmd: number[]): number {
    const at = this.dw.length * 4;
    for (const d of cmd) this.dw.push(d >>> 0);
    return at;
  }

  /** Bytes emitted so far. */
  get size(): number {
    return this.dw.length * 4;
  }

  /** The batch as little-endian bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.dw.length * 4);
    const v = new DataView(out.buffer);
    this.dw.forEach((d, i) => v.setUint32(i * 4, d, true));
    return out;
  }
}
