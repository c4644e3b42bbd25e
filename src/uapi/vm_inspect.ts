/**
 * The answers of the VM inspection controls (DEBUG.VM_INFO, VM_DUMP, VM_CHECK, GPU_READ,
 * GPU_WRITE in channel.ts): the JSON the kernel writes and the codes of a GPU fault report.
 * JSON has no u64, so every address and size that may pass 2^53 is a "0x..." hex string.
 */

/** What a VMA maps. */
export type VmaKind = 'bo' | 'userptr' | 'null' | 'mirror';

/** One VMA of a VM (bigints; DEBUG.VM_INFO sends them as VmaInfoWire). */
export interface VmaInfo {
  /** [start, end) in the GPU VA space. */
  start: bigint;
  end: bigint;
  kind: VmaKind;
  /**
   * The BO of a 'bo' VMA: its GEM handle in the file that owns the VM (null when that file
   * holds no handle for it), its size in bytes and its memory region (0 system memory, 1+
   * VRAM of tile n-1).
   */
  bo: { handle: number | null; size: number; region: number } | null;
  /** Offset into the BO, or the CPU address of a userptr. */
  offset: bigint;
  /** XE_VMA_* flags by name: READ_ONLY, NULL, DUMPABLE, CPU_ADDR_MIRROR, MADV_AUTORESET. */
  flags: string[];
  /** The pat_index its PTEs use. */
  patIndex: number;
  /** PTE sizes its last bind used: '4K', '64K' (PS64), '2M', '1G', 'compact'; empty when never bound. */
  pteSizes: string[];
}

/** A VmaInfo in JSON: the bigints as hex strings. */
export type VmaInfoWire = Omit<VmaInfo, 'start' | 'end' | 'offset'> & { start: string; end: string; offset: string };

/** Page-table statistics (tables per level, live leaves by size, bytes of table memory). */
export interface PtStatsWire {
  tables: number[];
  leaves: { '4K': number; ps64: number; '64K': number; '2M': number; '1G': number };
  bytes: number;
}

/** The answer of DEBUG.VM_INFO. */
export interface VmInfoWire {
  vm: {
    id: number;
    /** DRM_XE_VM_CREATE_FLAG_* by name (SCRATCH_PAGE, LR_MODE, FAULT_MODE, NO_VM_OVERCOMMIT). */
    flags: string[];
    vaBits: number;
    asid: number;
    /** Page-table levels (4 or 5). */
    levels: number;
    /** Emulated physical address of the root table, hex. */
    root: string;
  };
  vmas: VmaInfoWire[];
  stats: PtStatsWire;
}

/** One broken invariant found by DEBUG.VM_CHECK. */
export interface VmViolationWire {
  /** GPU VA of the first page concerned, hex. */
  va: string;
  /** Which invariant: 'translation', 'outside-vma', 'unbound', 'shadow'. */
  check: string;
  expected: string;
  found: string;
}

/** GPU fault kinds of a GPU_READ / GPU_WRITE report: code = index + 1 (0: no fault). */
export const GPU_FAULT_KINDS = ['not-present', 'read-only', 'out-of-range', 'bad-address'] as const;

/** GPU access kinds of a fault report: code = index. */
export const GPU_ACCESS_KINDS = ['read', 'write', 'atomic'] as const;

/** Longest GPU_READ / GPU_WRITE in one call (longer: -E2BIG). */
export const GPU_ACCESS_MAX = 1 << 26;
