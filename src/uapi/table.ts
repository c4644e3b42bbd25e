/**
 * The uAPI table: every struct, constant and ioctl of include/uapi/drm/xe_drm.h (newest
 * upstream) and the DRM core items xe-emu serves, as one declarative description. Layouts,
 * codecs, the decoder, `xe-emu abi --json` and `xe-emu abi --check` are all derived from it.
 * Members are listed in header order; constants are tied to the member they belong to
 * through Display.enum / Display.flags.
 */
import {
  char, consts, coreIoctl, inner, s32, s64, st, struct, u16, u32, u64, u8, union, xeIoctl,
  type ConstGroupSpec, type IoctlEntry, type StructSpec,
} from './types.js';

void char; void s32; void s64; void u8; void inner; // (used as the table grows)

/** Every struct of the table, in header order. */
export const STRUCTS: StructSpec[] = [
  // ---- DRM core (drm.h)
  struct('drm_get_cap', [u64('capability', { enum: 'DRM_CAP' }), u64('value')]),

  // ---- xe_drm.h
  struct('drm_xe_user_extension', [u64('next_extension', { hex: true }), u32('name'), u32('pad')]),
  struct('drm_xe_sync', [
    u64('extensions', { hex: true }),
    u32('type', { enum: 'DRM_XE_SYNC_TYPE' }),
    u32('flags', { flags: 'DRM_XE_SYNC_FLAG' }),
    union([u32('handle'), u64('addr', { hex: true })]),
    u64('timeline_value'),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_vm_bind_op', [
    u64('extensions', { hex: true }),
    u32('obj'),
    u16('pat_index'),
    u16('pad'),
    union([u64('obj_offset', { hex: true }), u64('userptr', { hex: true }), s64('cpu_addr_mirror_offset')]),
    u64('range', { hex: true }),
    u64('addr', { hex: true }),
    u32('op', { enum: 'DRM_XE_VM_BIND_OP' }),
    u32('flags', { flags: 'DRM_XE_VM_BIND_FLAG' }),
    u32('prefetch_mem_region_instance'),
    u32('pad2'),
    u64('reserved', { count: 3 }),
  ]),
  struct('drm_xe_vm_bind', [
    u64('extensions', { hex: true }),
    u32('vm_id'),
    u32('exec_queue_id'),
    u32('pad'),
    u32('num_binds'),
    union([st('drm_xe_vm_bind_op', 'bind'), u64('vector_of_binds', { hex: true, ptr: 'drm_xe_vm_bind_op' })]),
    u32('pad2'),
    u32('num_syncs'),
    u64('syncs', { hex: true, ptr: 'drm_xe_sync' }),
    u64('reserved', { count: 2 }),
  ]),
];

/** Every #define constant of the table, grouped by the member or enum it belongs to. */
export const CONSTANTS: ConstGroupSpec[] = [
  consts('DRM_IOCTL_BASE', 'value', '', { DRM_IOCTL_BASE: 0x64 }),
  consts('DRM_COMMAND', 'value', 'DRM_COMMAND_', { DRM_COMMAND_BASE: 0x40, DRM_COMMAND_END: 0xa0 }),
  consts('DRM_CAP', 'enum', 'DRM_CAP_', { DRM_CAP_SYNCOBJ: 0x13, DRM_CAP_SYNCOBJ_TIMELINE: 0x14 }),
  consts('DRM_XE_IOCTL_NR', 'value', 'DRM_XE_', { DRM_XE_VM_BIND: 0x05 }),
  consts('DRM_XE_SYNC_TYPE', 'enum', 'DRM_XE_SYNC_TYPE_', {
    DRM_XE_SYNC_TYPE_SYNCOBJ: 0x0,
    DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ: 0x1,
    DRM_XE_SYNC_TYPE_USER_FENCE: 0x2,
  }),
  consts('DRM_XE_SYNC_FLAG', 'flags', 'DRM_XE_SYNC_FLAG_', { DRM_XE_SYNC_FLAG_SIGNAL: 1 << 0 }),
  consts('DRM_XE_VM_BIND_OP', 'enum', 'DRM_XE_VM_BIND_OP_', {
    DRM_XE_VM_BIND_OP_MAP: 0x0,
    DRM_XE_VM_BIND_OP_UNMAP: 0x1,
    DRM_XE_VM_BIND_OP_MAP_USERPTR: 0x2,
    DRM_XE_VM_BIND_OP_UNMAP_ALL: 0x3,
    DRM_XE_VM_BIND_OP_PREFETCH: 0x4,
  }),
  consts('DRM_XE_VM_BIND_FLAG', 'flags', 'DRM_XE_VM_BIND_FLAG_', {
    DRM_XE_VM_BIND_FLAG_READONLY: 1 << 0,
    DRM_XE_VM_BIND_FLAG_IMMEDIATE: 1 << 1,
    DRM_XE_VM_BIND_FLAG_NULL: 1 << 2,
    DRM_XE_VM_BIND_FLAG_DUMPABLE: 1 << 3,
    DRM_XE_VM_BIND_FLAG_CHECK_PXP: 1 << 4,
    DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR: 1 << 5,
  }),
];

/** Every ioctl request of the table. */
export const IOCTLS: IoctlEntry[] = [
  coreIoctl('DRM_IOCTL_GET_CAP', 0x0c, 'RW', 'drm_get_cap'),
  xeIoctl('DRM_IOCTL_XE_VM_BIND', 'DRM_XE_VM_BIND', 'W', 'drm_xe_vm_bind'),
];
