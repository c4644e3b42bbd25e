/**
 * A compact decoder of the GPU commands of gpu_commands.ts: name and fields of one command, for
 * the engine trace, the inspection API and `xe-emu decode`. It decodes what the encoding says
 * and judges nothing (the command streamer decides what is legal where).
 */
import {
  ALU, ALU_REG, BLT, CMD_CLIENT, COMPARE_SHIFT, FAST_COPY_BPP, GFX_ID_MASK, MEM_COPY_PAGE_MODE, MEM_COPY_TYPE_SHIFT, MI,
  MI_ATOMIC_INLINE, MI_ATOMIC_RETURN, MI_ATOMIC_SIZE_SHIFT, MI_BBS_SECOND_LEVEL, MI_COND_DO_COMPARE, MI_COND_END_CURRENT_LEVEL,
  MI_COND_MASK_MODE, MI_CS_MMIO, MI_FLUSH_DW_OP_SHIFT, MI_LRR_SRC_CS_MMIO, MI_SDI_QWORD, MI_SEMAPHORE_POLL,
  MI_SEMAPHORE_REGISTER_POLL, PIPE_CONTROL, PIPE_CONTROL_POST_SYNC_SHIFT, commandLength,
} from './gpu_commands.js';

/** A decoded field value. */
export type FieldValue = number | string | boolean;

/** One decoded command. */
export interface DecodedCommand {
  /** PRM name, or 'UNKNOWN'. */
  name: string;
  /** Length in dwords (1 for an unknown header). */
  length: number;
  fields: Record<string, FieldValue>;
}

const MI_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MI).map(([k, v]) => [v, `MI_${k}`]));
const COMPARE_NAMES = ['SAD_GREATER_THAN_SDD', 'SAD_GREATER_THAN_OR_EQUAL_SDD', 'SAD_LESS_THAN_SDD', 'SAD_LESS_THAN_OR_EQUAL_SDD', 'SAD_EQUAL_SDD', 'SAD_NOT_EQUAL_SDD'];
const ATOMIC_NAMES = ['', 'AND', 'OR', 'XOR', 'MOVE', 'INC', 'DEC', 'ADD', 'SUB', 'RSUB', 'IMAX', 'IMIN', 'UMAX', 'UMIN', 'CMP_WR'];
const POST_SYNC_NAMES = ['NONE', 'WRITE_IMM', 'DEPTH_COUNT', 'TIMESTAMP'];
const ALU_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ALU).map(([k, v]) => [v, k]));
const ALU_REG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ALU_REG).map(([k, v]) => [v, k]));

/** The 48-bit address in dwords `lo`, `hi` (bits 1:0 dropped). */
export function addrOf(lo: number, hi: number): number {
  return (hi & 0xffff) * 2 ** 32 + ((lo & ~3) >>> 0);
}

const hex = (v: number): string => `0x${v.toString(16)}`;
const compareName = (h: number): string => COMPARE_NAMES[(h >>> COMPARE_SHIFT) & 7] ?? `compare ${(h >>> COMPARE_SHIFT) & 7}`;
const qwordHex = (lo: number, hi: number): string => `0x${((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16)}`;

/** Decodes the command whose dwords start at `dw[0]` (missing dwords read as 0). */
export function decodeCommand(dw: ArrayLike<number>): DecodedCommand {
  const h = dw[0] >>> 0;
  const length = commandLength(h);
  if (length === 0) return { name: 'UNKNOWN', length: 1, fields: { header: hex(h) } };
  const d = (i: number): number => (i < dw.length ? dw[i] >>> 0 : 0);
  const client = h >>> 29;
  if (client === CMD_CLIENT.BLT) return { name: blitName(h), length, fields: blitFields(h, d) };
  if (client === CMD_CLIENT.GFX && (h & GFX_ID_MASK) >>> 0 === PIPE_CONTROL) {
    return { name: 'PIPE_CONTROL', length, fields: { postSync: POST_SYNC_NAMES[(d(1) >>> PIPE_CONTROL_POST_SYNC_SHIFT) & 3], addr: hex(addrOf(d(2), d(3))), imm: qwordHex(d(4), d(5)), flags: hex(d(1)) } };
  }
  const op = (h >>> 23) & 0x3f;
  return { name: MI_NAMES[op], length, fields: miFields(op, h, length, d) };
}

function blitName(h: number): string {
  return ((h >>> 22) & 0x7f) === BLT.XY_FAST_COPY_BLT ? 'XY_FAST_COPY_BLT' : 'MEM_COPY';
}

function blitFields(h: number, d: (i: number) => number): Record<string, FieldValue> {
  if (((h >>> 22) & 0x7f) === BLT.XY_FAST_COPY_BLT) {
    return {
      dst: hex(addrOf(d(4), d(5))), dstPitch: d(1) & 0xffff, bpp: FAST_COPY_BPP[(d(1) >>> 24) & 7] ?? 0,
      x1: d(2) & 0xffff, y1: d(2) >>> 16, x2: d(3) & 0xffff, y2: d(3) >>> 16,
      src: hex(addrOf(d(8), d(9))), srcPitch: d(7) & 0xffff, srcX: d(6) & 0xffff, srcY: d(6) >>> 16,
      srcTiling: (h >>> 20) & 3, dstTiling: (h >>> 13) & 3,
    };
  }
  return {
    type: ((h >>> MEM_COPY_TYPE_SHIFT) & 3) === 1 ? 'matrix' : 'linear', mode: h & MEM_COPY_PAGE_MODE ? 'page' : 'byte',
    width: d(1) + 1, height: d(2) + 1, srcPitch: d(3) + 1, dstPitch: d(4) + 1,
    src: hex(addrOf(d(5), d(6))), dst: hex(addrOf(d(7), d(8))),
  };
}

function miFields(op: number, h: number, length: number, d: (i: number) => number): Record<string, FieldValue> {
  const reg = (v: number, rel: boolean): string => `${hex(v & 0x7ffffc)}${rel ? ' (cs)' : ''}`;
  switch (op) {
    case MI.BATCH_BUFFER_START:
      return { addr: hex(addrOf(d(1), d(2))), secondLevel: (h & MI_BBS_SECOND_LEVEL) !== 0 };
    case MI.STORE_DATA_IMM: {
      const data = [];
      for (let i = 3; i < length; i++) data.push(hex(d(i)));
      return { addr: hex(addrOf(d(1), d(2))), qword: (h & MI_SDI_QWORD) !== 0, data: data.join(' ') };
    }
    case MI.ATOMIC: {
      const code = (h >>> 8) & 0xff;
      const f: Record<string, FieldValue> = {
        op: ATOMIC_NAMES[code & 0x1f] || hex(code), size: 4 << ((h >>> MI_ATOMIC_SIZE_SHIFT) & 3),
        addr: hex(addrOf(d(1), d(2))), ret: (h & MI_ATOMIC_RETURN) !== 0, inline: (h & MI_ATOMIC_INLINE) !== 0,
      };
      if (h & MI_ATOMIC_INLINE) Object.assign(f, { op1: qwordHex(d(3), d(5)), op2: qwordHex(d(4), d(6)) });
      return f;
    }
    case MI.SEMAPHORE_WAIT:
      return { compare: compareName(h), data: hex(d(1)), addr: hex(addrOf(d(2), d(3))), poll: (h & MI_SEMAPHORE_POLL) !== 0, registerPoll: (h & MI_SEMAPHORE_REGISTER_POLL) !== 0 };
    case MI.CONDITIONAL_BATCH_BUFFER_END:
      return {
        compare: compareName(h).replace('SAD', 'MAD').replace('SDD', 'IDD'), data: hex(d(1)), addr: hex(addrOf(d(2), d(3))),
        doCompare: (h & MI_COND_DO_COMPARE) !== 0, endCurrentLevel: (h & MI_COND_END_CURRENT_LEVEL) !== 0, maskMode: (h & MI_COND_MASK_MODE) !== 0,
      };
    case MI.FLUSH_DW:
      return { postSync: POST_SYNC_NAMES[(h >>> MI_FLUSH_DW_OP_SHIFT) & 3], addr: hex(addrOf(d(1), d(2))), imm: length > 4 ? qwordHex(d(3), d(4)) : hex(d(3)) };
    case MI.COPY_MEM_MEM:
      return { dst: hex(addrOf(d(1), d(2))), src: hex(addrOf(d(3), d(4))) };
    case MI.LOAD_REGISTER_IMM: {
      const pairs = [];
      for (let i = 1; i + 1 < length; i += 2) pairs.push(`${reg(d(i), (h & MI_CS_MMIO) !== 0)}=${hex(d(i + 1))}`);
      return { regs: pairs.join(' ') };
    }
    case MI.LOAD_REGISTER_MEM:
    case MI.STORE_REGISTER_MEM:
      return { reg: reg(d(1), (h & MI_CS_MMIO) !== 0), addr: hex(addrOf(d(2), d(3))) };
    case MI.LOAD_REGISTER_REG:
      return { src: reg(d(1), (h & MI_LRR_SRC_CS_MMIO) !== 0), dst: reg(d(2), (h & MI_CS_MMIO) !== 0) };
    case MI.MATH: {
      const alu = [];
      for (let i = 1; i < length; i++) alu.push(aluText(d(i)));
      return { alu: alu.join('; ') };
    }
    default:
      return {};
  }
}

function aluText(a: number): string {
  const name = ALU_NAMES[a >>> 20] ?? hex(a >>> 20);
  const operand = (v: number): string => (v < 16 ? `R${v}` : ALU_REG_NAMES[v] ?? hex(v));
  const op1 = (a >>> 10) & 0x3ff;
  const op2 = a & 0x3ff;
  if (a >>> 20 === ALU.NOOP || (a >>> 20 >= ALU.ADD && a >>> 20 <= ALU.SAR)) return name;
  if (a >>> 20 === ALU.LOAD0 || a >>> 20 === ALU.LOAD1) return `${name} ${operand(op1)}`;
  return `${name} ${operand(op1)}, ${operand(op2)}`;
}

/** One line: name and fields, e.g. `MI_STORE_DATA_IMM addr=0x1000 qword=false data=0x5`. */
export function formatCommand(c: DecodedCommand): string {
  const f = Object.entries(c.fields).map(([k, v]) => `${k}=${v}`).join(' ');
  return f ? `${c.name} ${f}` : c.name;
}
