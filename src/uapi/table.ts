/**
 * The uAPI table: every struct, constant and ioctl of include/uapi/drm/xe_drm.h (newest
 * upstream) and the DRM core items xe-emu serves, as one declarative description. Layouts,
 * codecs, the decoder, `xe-emu abi --json` and `xe-emu abi --check` are all derived from it.
 * Members are listed in header order; constants are tied to the member they belong to
 * through Display.enum / Display.flags.
 *
 * Checked against xe_drm.h with DRM_XE_VM_GET_PROPERTY, the madvise purgeable state and the
 * multi-queue group properties (2026), and drm.h with drm_syncobj_handle.point and
 * drm_syncobj_*wait.deadline_nsec. Not expressible here and therefore left out: the
 * DRM_XE_RAS_ERROR_*_NAMES macros (string-table initializers) and the include guards.
 */
import {
  char, consts, coreIoctl, inner, s32, s64, st, struct, u16, u32, u64, u8, union, xeIoctl,
} from './types.js';

/** Every struct of the table, in header order. */
export const STRUCTS = [
  // ---- DRM core (drm.h)
  struct('drm_version', [
    s32('version_major'),
    s32('version_minor'),
    s32('version_patchlevel'),
    u64('name_len'), // __kernel_size_t
    u64('name', { hex: true }), // char __user *
    u64('date_len'),
    u64('date', { hex: true }),
    u64('desc_len'),
    u64('desc', { hex: true }),
  ]),
  struct('drm_gem_close', [u32('handle'), u32('pad')]),
  struct('drm_get_cap', [u64('capability', { enum: 'DRM_CAP' }), u64('value')]),
  struct('drm_set_client_cap', [u64('capability', { enum: 'DRM_CLIENT_CAP' }), u64('value')]),
  struct('drm_prime_handle', [u32('handle'), u32('flags', { flags: 'DRM_PRIME_FLAGS' }), s32('fd')]),
  struct('drm_syncobj_create', [u32('handle'), u32('flags', { flags: 'DRM_SYNCOBJ_CREATE' })]),
  struct('drm_syncobj_destroy', [u32('handle'), u32('pad')]),
  struct('drm_syncobj_handle', [
    u32('handle'),
    u32('flags', { flags: 'DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS' }),
    s32('fd'),
    u32('pad'),
    u64('point'),
  ]),
  struct('drm_syncobj_transfer', [
    u32('src_handle'),
    u32('dst_handle'),
    u64('src_point'),
    u64('dst_point'),
    u32('flags', { flags: 'DRM_SYNCOBJ_WAIT_FLAGS' }),
    u32('pad'),
  ]),
  struct('drm_syncobj_wait', [
    u64('handles', { hex: true }),
    s64('timeout_nsec'),
    u32('count_handles'),
    u32('flags', { flags: 'DRM_SYNCOBJ_WAIT_FLAGS' }),
    u32('first_signaled'),
    u32('pad'),
    u64('deadline_nsec'),
  ]),
  struct('drm_syncobj_timeline_wait', [
    u64('handles', { hex: true }),
    u64('points', { hex: true }),
    s64('timeout_nsec'),
    u32('count_handles'),
    u32('flags', { flags: 'DRM_SYNCOBJ_WAIT_FLAGS' }),
    u32('first_signaled'),
    u32('pad'),
    u64('deadline_nsec'),
  ]),
  struct('drm_syncobj_eventfd', [
    u32('handle'),
    u32('flags', { flags: 'DRM_SYNCOBJ_WAIT_FLAGS' }),
    u64('point'),
    s32('fd'),
    u32('pad'),
  ]),
  struct('drm_syncobj_array', [u64('handles', { hex: true }), u32('count_handles'), u32('pad')]),
  struct('drm_syncobj_timeline_array', [
    u64('handles', { hex: true }),
    u64('points', { hex: true }),
    u32('count_handles'),
    u32('flags', { flags: 'DRM_SYNCOBJ_QUERY_FLAGS' }),
  ]),
  struct('drm_set_client_name', [u64('name_len'), u64('name', { hex: true })]),
  struct('drm_gem_change_handle', [u32('handle'), u32('new_handle')]),

  // ---- xe_drm.h: extensions and helper structs
  struct('drm_xe_user_extension', [u64('next_extension', { hex: true }), u32('name'), u32('pad')]),
  struct('drm_xe_ext_set_property', [
    st('drm_xe_user_extension', 'base'),
    u32('property'),
    u32('pad'),
    union([u64('value'), u64('ptr', { hex: true })]),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_engine_class_instance', [
    u16('engine_class', { enum: 'DRM_XE_ENGINE_CLASS' }),
    u16('engine_instance'),
    u16('gt_id'),
    u16('pad'),
  ]),

  // ---- xe_drm.h: query structs
  struct('drm_xe_engine', [st('drm_xe_engine_class_instance', 'instance'), u64('reserved', { count: 3 })]),
  struct('drm_xe_query_engines', [u32('num_engines'), u32('pad'), st('drm_xe_engine', 'engines', { count: 'num_engines' })]),
  struct('drm_xe_mem_region', [
    u16('mem_class', { enum: 'DRM_XE_MEM_REGION_CLASS' }),
    u16('instance'),
    u32('min_page_size', { hex: true }),
    u64('total_size'),
    u64('used'),
    u64('cpu_visible_size'),
    u64('cpu_visible_used'),
    u64('reserved', { count: 6 }),
  ]),
  struct('drm_xe_query_mem_regions', [
    u32('num_mem_regions'),
    u32('pad'),
    st('drm_xe_mem_region', 'mem_regions', { count: 'num_mem_regions' }),
  ]),
  struct('drm_xe_query_config', [u32('num_params'), u32('pad'), u64('info', { count: 'num_params' })]),
  struct('drm_xe_gt', [
    u16('type', { enum: 'DRM_XE_QUERY_GT_TYPE' }),
    u16('tile_id'),
    u16('gt_id'),
    u16('pad', { count: 3 }),
    u32('reference_clock'),
    u64('near_mem_regions', { hex: true }),
    u64('far_mem_regions', { hex: true }),
    u16('ip_ver_major'),
    u16('ip_ver_minor'),
    u16('ip_ver_rev'),
    u16('pad2'),
    u64('reserved', { count: 7 }),
  ]),
  struct('drm_xe_query_gt_list', [u32('num_gt'), u32('pad'), st('drm_xe_gt', 'gt_list', { count: 'num_gt' })]),
  struct('drm_xe_query_topology_mask', [
    u16('gt_id'),
    u16('type', { enum: 'DRM_XE_TOPO' }),
    u32('num_bytes'),
    u8('mask', { count: 'num_bytes', hex: true }),
  ]),
  struct('drm_xe_query_engine_cycles', [
    st('drm_xe_engine_class_instance', 'eci'),
    s32('clockid'),
    u32('width'),
    u64('engine_cycles'),
    u64('cpu_timestamp'),
    u64('cpu_delta'),
  ]),
  struct('drm_xe_query_uc_fw_version', [
    u16('uc_type', { enum: 'XE_QUERY_UC_TYPE' }),
    u16('pad'),
    u32('branch_ver'),
    u32('major_ver'),
    u32('minor_ver'),
    u32('patch_ver'),
    u32('pad2'),
    u64('reserved'),
  ]),
  struct('drm_xe_query_pxp_status', [u32('status'), u32('supported_session_types', { hex: true })]),
  struct('drm_xe_device_query', [
    u64('extensions', { hex: true }),
    u32('query', { enum: 'DRM_XE_DEVICE_QUERY' }),
    u32('size'),
    u64('data', { hex: true }),
    u64('reserved', { count: 2 }),
  ]),

  // ---- xe_drm.h: the rest of the ioctl structs, in ioctl order
  struct('drm_xe_gem_create', [
    u64('extensions', { hex: true }),
    u64('size'),
    u32('placement', { hex: true }),
    u32('flags', { flags: 'DRM_XE_GEM_CREATE_FLAG' }),
    u32('vm_id'),
    u32('handle'),
    u16('cpu_caching', { enum: 'DRM_XE_GEM_CPU_CACHING' }),
    u16('pad', { count: 3 }),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_gem_mmap_offset', [
    u64('extensions', { hex: true }),
    u32('handle'),
    u32('flags', { flags: 'DRM_XE_MMAP_OFFSET_FLAG' }),
    u64('offset', { hex: true }),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_vm_create', [
    u64('extensions', { hex: true }),
    u32('flags', { flags: 'DRM_XE_VM_CREATE_FLAG' }),
    u32('vm_id'),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_vm_destroy', [u32('vm_id'), u32('pad'), u64('reserved', { count: 2 })]),
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
    u32('prefetch_mem_region_instance', { enum: 'DRM_XE_PREFETCH_MEM_REGION' }),
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
  struct('xe_vm_fault', [
    u64('address', { hex: true }),
    u32('address_precision'),
    u8('access_type', { enum: 'FAULT_ACCESS_TYPE' }),
    u8('fault_type', { enum: 'FAULT_TYPE' }),
    u8('fault_level', { enum: 'FAULT_LEVEL' }),
    u8('pad'),
    u64('reserved', { count: 4 }),
  ]),
  struct('drm_xe_vm_get_property', [
    u64('extensions', { hex: true }),
    u32('vm_id'),
    u32('property', { enum: 'DRM_XE_VM_GET_PROPERTY_ID' }),
    u32('size'),
    u32('pad'),
    union([u64('data', { hex: true, ptr: 'xe_vm_fault' }), u64('value')]),
    u64('reserved', { count: 3 }),
  ]),
  struct('drm_xe_exec_queue_create', [
    u64('extensions', { hex: true }),
    u16('width'),
    u16('num_placements'),
    u32('vm_id'),
    u32('flags', { flags: 'DRM_XE_EXEC_QUEUE_CREATE_FLAG' }),
    u32('exec_queue_id'),
    u64('instances', { hex: true, ptr: 'drm_xe_engine_class_instance' }),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_exec_queue_destroy', [u32('exec_queue_id'), u32('pad'), u64('reserved', { count: 2 })]),
  struct('drm_xe_exec_queue_get_property', [
    u64('extensions', { hex: true }),
    u32('exec_queue_id'),
    u32('property', { enum: 'DRM_XE_EXEC_QUEUE_GET_PROPERTY' }),
    u64('value'),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_sync', [
    u64('extensions', { hex: true }),
    u32('type', { enum: 'DRM_XE_SYNC_TYPE' }),
    u32('flags', { flags: 'DRM_XE_SYNC_FLAG' }),
    union([u32('handle'), u64('addr', { hex: true })]),
    u64('timeline_value'),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_exec', [
    u64('extensions', { hex: true }),
    u32('exec_queue_id'),
    u32('num_syncs'),
    u64('syncs', { hex: true, ptr: 'drm_xe_sync' }),
    u64('address', { hex: true }),
    u16('num_batch_buffer'),
    u16('pad', { count: 3 }),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_wait_user_fence', [
    u64('extensions', { hex: true }),
    u64('addr', { hex: true }),
    u16('op', { enum: 'DRM_XE_UFENCE_WAIT_OP' }),
    u16('flags', { flags: 'DRM_XE_UFENCE_WAIT_FLAG' }),
    u32('pad'),
    u64('value', { hex: true }),
    u64('mask', { hex: true }),
    s64('timeout'),
    u32('exec_queue_id'),
    u32('pad2'),
    u64('reserved', { count: 2 }),
  ]),

  // ---- xe_drm.h: observation (OA, EU stall)
  struct('drm_xe_observation_param', [
    u64('extensions', { hex: true }),
    u64('observation_type', { enum: 'DRM_XE_OBSERVATION_TYPE' }),
    u64('observation_op', { enum: 'DRM_XE_OBSERVATION_OP' }),
    u64('param', { hex: true }),
  ]),
  struct('drm_xe_oa_unit', [
    u64('extensions', { hex: true }),
    u32('oa_unit_id'),
    u32('oa_unit_type', { enum: 'DRM_XE_OA_UNIT_TYPE' }),
    u64('capabilities', { flags: 'DRM_XE_OA_CAPS' }),
    u64('oa_timestamp_freq'),
    u16('gt_id'),
    u16('reserved1', { count: 3 }),
    u64('reserved', { count: 3 }),
    u64('num_engines'),
    st('drm_xe_engine_class_instance', 'eci', { count: 'num_engines' }),
  ]),
  struct('drm_xe_query_oa_units', [
    u64('extensions', { hex: true }),
    u32('num_oa_units'),
    u32('pad'),
    u64('oa_units', { count: 'num_oa_units', records: 'drm_xe_oa_unit' }),
  ]),
  struct('drm_xe_oa_config', [
    u64('extensions', { hex: true }),
    char('uuid', { count: 36 }),
    u32('n_regs'),
    u64('regs_ptr', { hex: true }),
  ]),
  struct('drm_xe_oa_stream_status', [
    u64('extensions', { hex: true }),
    u64('oa_status', { flags: 'DRM_XE_OASTATUS' }),
    u64('reserved', { count: 3 }),
  ]),
  struct('drm_xe_oa_stream_info', [
    u64('extensions', { hex: true }),
    u64('oa_buf_size'),
    u64('reserved', { count: 3 }),
  ]),
  struct('drm_xe_query_eu_stall', [
    u64('extensions', { hex: true }),
    u64('capabilities', { flags: 'DRM_XE_EU_STALL_CAPS' }),
    u64('record_size'),
    u64('per_xecore_buf_size'),
    u64('reserved', { count: 5 }),
    u64('num_sampling_rates'),
    u64('sampling_rates', { count: 'num_sampling_rates' }),
  ]),

  // ---- xe_drm.h: madvise, memory range attributes, exec queue set property
  struct('drm_xe_madvise', [
    u64('extensions', { hex: true }),
    u64('start', { hex: true }),
    u64('range', { hex: true }),
    u32('vm_id'),
    u32('type', { enum: 'DRM_XE_MEM_RANGE_ATTR' }),
    union([
      inner(
        [
          u32('devmem_fd', { enum: 'DRM_XE_PREFERRED_LOC' }),
          u16('migration_policy', { enum: 'DRM_XE_MIGRATE' }),
          u16('region_instance'),
          u64('reserved'),
        ],
        'preferred_mem_loc',
      ),
      inner([u32('val', { enum: 'DRM_XE_ATOMIC' }), u32('pad'), u64('reserved')], 'atomic'),
      inner([u32('val'), u32('pad'), u64('reserved')], 'pat_index'),
      inner(
        [u32('val', { enum: 'DRM_XE_VMA_PURGEABLE_STATE' }), u32('pad'), u64('retained_ptr', { hex: true })],
        'purge_state_val',
      ),
    ]),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_mem_range_attr', [
    u64('extensions', { hex: true }),
    u64('start', { hex: true }),
    u64('end', { hex: true }),
    inner(
      [u32('devmem_fd', { enum: 'DRM_XE_PREFERRED_LOC' }), u32('migration_policy', { enum: 'DRM_XE_MIGRATE' })],
      'preferred_mem_loc',
    ),
    inner([u32('val', { enum: 'DRM_XE_ATOMIC' }), u32('reserved')], 'atomic'),
    inner([u32('val'), u32('reserved')], 'pat_index'),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_vm_query_mem_range_attr', [
    u64('extensions', { hex: true }),
    u32('vm_id'),
    u32('num_mem_ranges'),
    u64('start', { hex: true }),
    u64('range', { hex: true }),
    u64('sizeof_mem_range_attr'),
    u64('vector_of_mem_attr', { hex: true, ptr: 'drm_xe_mem_range_attr' }),
    u64('reserved', { count: 2 }),
  ]),
  struct('drm_xe_exec_queue_set_property', [
    u64('extensions', { hex: true }),
    u32('exec_queue_id'),
    u32('property', { enum: 'DRM_XE_EXEC_QUEUE_SET_PROPERTY' }),
    u64('value'),
    u64('reserved', { count: 2 }),
  ]),
];

/** Every #define constant of the table, grouped by the member or enum it belongs to. */
export const CONSTANTS = [
  // ---- DRM core (drm.h)
  consts('DRM_IOCTL_BASE', 'value', '', { DRM_IOCTL_BASE: 0x64 }), // 'd'
  consts('DRM_COMMAND', 'value', 'DRM_COMMAND_', { DRM_COMMAND_BASE: 0x40, DRM_COMMAND_END: 0xa0 }),
  consts('DRM_CAP', 'enum', 'DRM_CAP_', {
    DRM_CAP_DUMB_BUFFER: 0x1,
    DRM_CAP_VBLANK_HIGH_CRTC: 0x2,
    DRM_CAP_DUMB_PREFERRED_DEPTH: 0x3,
    DRM_CAP_DUMB_PREFER_SHADOW: 0x4,
    DRM_CAP_PRIME: 0x5,
    DRM_CAP_TIMESTAMP_MONOTONIC: 0x6,
    DRM_CAP_ASYNC_PAGE_FLIP: 0x7,
    DRM_CAP_CURSOR_WIDTH: 0x8,
    DRM_CAP_CURSOR_HEIGHT: 0x9,
    DRM_CAP_ADDFB2_MODIFIERS: 0x10,
    DRM_CAP_PAGE_FLIP_TARGET: 0x11,
    DRM_CAP_CRTC_IN_VBLANK_EVENT: 0x12,
    DRM_CAP_SYNCOBJ: 0x13,
    DRM_CAP_SYNCOBJ_TIMELINE: 0x14,
    DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP: 0x15,
  }),
  // Bits of the DRM_CAP_PRIME value.
  consts('DRM_PRIME_CAP', 'flags', 'DRM_PRIME_CAP_', { DRM_PRIME_CAP_IMPORT: 0x1, DRM_PRIME_CAP_EXPORT: 0x2 }),
  consts('DRM_CLIENT_CAP', 'enum', 'DRM_CLIENT_CAP_', {
    DRM_CLIENT_CAP_STEREO_3D: 1,
    DRM_CLIENT_CAP_UNIVERSAL_PLANES: 2,
    DRM_CLIENT_CAP_ATOMIC: 3,
    DRM_CLIENT_CAP_ASPECT_RATIO: 4,
    DRM_CLIENT_CAP_WRITEBACK_CONNECTORS: 5,
    DRM_CLIENT_CAP_CURSOR_PLANE_HOTSPOT: 6,
    DRM_CLIENT_CAP_PLANE_COLOR_PIPELINE: 7,
  }),
  // drm_prime_handle.flags: O_RDWR / O_CLOEXEC (x86-64 values).
  consts('DRM_PRIME_FLAGS', 'flags', 'DRM_', { DRM_RDWR: 0x2, DRM_CLOEXEC: 0x80000 }),
  consts('DRM_CLIENT_NAME', 'value', 'DRM_CLIENT_NAME_', { DRM_CLIENT_NAME_MAX_LEN: 64 }),
  consts('DRM_SYNCOBJ_CREATE', 'flags', 'DRM_SYNCOBJ_CREATE_', { DRM_SYNCOBJ_CREATE_SIGNALED: 1 << 0 }),
  consts('DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS', 'flags', 'DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_', {
    DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE: 1 << 0,
    DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE: 1 << 1,
  }),
  consts('DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS', 'flags', 'DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_', {
    DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE: 1 << 0,
    DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE: 1 << 1,
  }),
  consts('DRM_SYNCOBJ_WAIT_FLAGS', 'flags', 'DRM_SYNCOBJ_WAIT_FLAGS_', {
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL: 1 << 0,
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT: 1 << 1,
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE: 1 << 2,
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE: 1 << 3,
  }),
  consts('DRM_SYNCOBJ_QUERY_FLAGS', 'flags', 'DRM_SYNCOBJ_QUERY_FLAGS_', {
    DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED: 1 << 0,
  }),

  // ---- xe_drm.h: ioctl numbers (offsets from DRM_COMMAND_BASE)
  consts('DRM_XE_IOCTL_NR', 'value', 'DRM_XE_', {
    DRM_XE_DEVICE_QUERY: 0x00,
    DRM_XE_GEM_CREATE: 0x01,
    DRM_XE_GEM_MMAP_OFFSET: 0x02,
    DRM_XE_VM_CREATE: 0x03,
    DRM_XE_VM_DESTROY: 0x04,
    DRM_XE_VM_BIND: 0x05,
    DRM_XE_EXEC_QUEUE_CREATE: 0x06,
    DRM_XE_EXEC_QUEUE_DESTROY: 0x07,
    DRM_XE_EXEC_QUEUE_GET_PROPERTY: 0x08,
    DRM_XE_EXEC: 0x09,
    DRM_XE_WAIT_USER_FENCE: 0x0a,
    DRM_XE_OBSERVATION: 0x0b,
    DRM_XE_MADVISE: 0x0c,
    DRM_XE_VM_QUERY_MEM_RANGE_ATTRS: 0x0d,
    DRM_XE_EXEC_QUEUE_SET_PROPERTY: 0x0e,
    DRM_XE_VM_GET_PROPERTY: 0x0f,
  }),

  // ---- xe_drm.h: engines, memory regions, device query
  consts('DRM_XE_ENGINE_CLASS', 'enum', 'DRM_XE_ENGINE_CLASS_', {
    DRM_XE_ENGINE_CLASS_RENDER: 0,
    DRM_XE_ENGINE_CLASS_COPY: 1,
    DRM_XE_ENGINE_CLASS_VIDEO_DECODE: 2,
    DRM_XE_ENGINE_CLASS_VIDEO_ENHANCE: 3,
    DRM_XE_ENGINE_CLASS_COMPUTE: 4,
    DRM_XE_ENGINE_CLASS_VM_BIND: 5,
  }),
  // enum drm_xe_memory_class
  consts('DRM_XE_MEM_REGION_CLASS', 'enum', 'DRM_XE_MEM_REGION_CLASS_', {
    DRM_XE_MEM_REGION_CLASS_SYSMEM: 0,
    DRM_XE_MEM_REGION_CLASS_VRAM: 1,
  }),
  // Indices of drm_xe_query_config.info[].
  consts('DRM_XE_QUERY_CONFIG', 'enum', 'DRM_XE_QUERY_CONFIG_', {
    DRM_XE_QUERY_CONFIG_REV_AND_DEVICE_ID: 0,
    DRM_XE_QUERY_CONFIG_FLAGS: 1,
    DRM_XE_QUERY_CONFIG_MIN_ALIGNMENT: 2,
    DRM_XE_QUERY_CONFIG_VA_BITS: 3,
    DRM_XE_QUERY_CONFIG_MAX_EXEC_QUEUE_PRIORITY: 4,
  }),
  // Bits of info[DRM_XE_QUERY_CONFIG_FLAGS].
  consts('DRM_XE_QUERY_CONFIG_FLAG', 'flags', 'DRM_XE_QUERY_CONFIG_FLAG_', {
    DRM_XE_QUERY_CONFIG_FLAG_HAS_VRAM: 1 << 0,
    DRM_XE_QUERY_CONFIG_FLAG_HAS_LOW_LATENCY: 1 << 1,
    DRM_XE_QUERY_CONFIG_FLAG_HAS_CPU_ADDR_MIRROR: 1 << 2,
    DRM_XE_QUERY_CONFIG_FLAG_HAS_NO_COMPRESSION_HINT: 1 << 3,
    DRM_XE_QUERY_CONFIG_FLAG_HAS_DISABLE_STATE_CACHE_PERF_FIX: 1 << 4,
    DRM_XE_QUERY_CONFIG_FLAG_HAS_PURGING_SUPPORT: 1 << 5,
  }),
  consts('DRM_XE_QUERY_GT_TYPE', 'enum', 'DRM_XE_QUERY_GT_TYPE_', {
    DRM_XE_QUERY_GT_TYPE_MAIN: 0,
    DRM_XE_QUERY_GT_TYPE_MEDIA: 1,
  }),
  consts('DRM_XE_TOPO', 'enum', 'DRM_XE_TOPO_', {
    DRM_XE_TOPO_DSS_GEOMETRY: 1,
    DRM_XE_TOPO_DSS_COMPUTE: 2,
    DRM_XE_TOPO_L3_BANK: 3,
    DRM_XE_TOPO_EU_PER_DSS: 4,
    DRM_XE_TOPO_SIMD16_EU_PER_DSS: 5,
  }),
  consts('XE_QUERY_UC_TYPE', 'enum', 'XE_QUERY_UC_TYPE_', {
    XE_QUERY_UC_TYPE_GUC_SUBMISSION: 0,
    XE_QUERY_UC_TYPE_HUC: 1,
  }),
  consts('DRM_XE_DEVICE_QUERY', 'enum', 'DRM_XE_DEVICE_QUERY_', {
    DRM_XE_DEVICE_QUERY_ENGINES: 0,
    DRM_XE_DEVICE_QUERY_MEM_REGIONS: 1,
    DRM_XE_DEVICE_QUERY_CONFIG: 2,
    DRM_XE_DEVICE_QUERY_GT_LIST: 3,
    DRM_XE_DEVICE_QUERY_HWCONFIG: 4,
    DRM_XE_DEVICE_QUERY_GT_TOPOLOGY: 5,
    DRM_XE_DEVICE_QUERY_ENGINE_CYCLES: 6,
    DRM_XE_DEVICE_QUERY_UC_FW_VERSION: 7,
    DRM_XE_DEVICE_QUERY_OA_UNITS: 8,
    DRM_XE_DEVICE_QUERY_PXP_STATUS: 9,
    DRM_XE_DEVICE_QUERY_EU_STALL: 10,
  }),

  // ---- xe_drm.h: GEM
  // drm_xe_user_extension.name for DRM_IOCTL_XE_GEM_CREATE extensions.
  consts('DRM_XE_GEM_CREATE_EXTENSION', 'enum', 'DRM_XE_GEM_CREATE_EXTENSION_', {
    DRM_XE_GEM_CREATE_EXTENSION_SET_PROPERTY: 0,
  }),
  // drm_xe_ext_set_property.property for DRM_XE_GEM_CREATE_EXTENSION_SET_PROPERTY.
  consts('DRM_XE_GEM_CREATE_SET_PROPERTY', 'enum', 'DRM_XE_GEM_CREATE_SET_PROPERTY_', {
    DRM_XE_GEM_CREATE_SET_PROPERTY_PXP_TYPE: 0,
  }),
  consts('DRM_XE_GEM_CREATE_FLAG', 'flags', 'DRM_XE_GEM_CREATE_FLAG_', {
    DRM_XE_GEM_CREATE_FLAG_DEFER_BACKING: 1 << 0,
    DRM_XE_GEM_CREATE_FLAG_SCANOUT: 1 << 1,
    DRM_XE_GEM_CREATE_FLAG_NEEDS_VISIBLE_VRAM: 1 << 2,
    DRM_XE_GEM_CREATE_FLAG_NO_COMPRESSION: 1 << 3,
  }),
  consts('DRM_XE_GEM_CPU_CACHING', 'enum', 'DRM_XE_GEM_CPU_CACHING_', {
    DRM_XE_GEM_CPU_CACHING_WB: 1,
    DRM_XE_GEM_CPU_CACHING_WC: 2,
  }),
  consts('DRM_XE_MMAP_OFFSET_FLAG', 'flags', 'DRM_XE_MMAP_OFFSET_FLAG_', {
    DRM_XE_MMAP_OFFSET_FLAG_PCI_BARRIER: 1 << 0,
  }),

  // ---- xe_drm.h: VM
  consts('DRM_XE_VM_CREATE_FLAG', 'flags', 'DRM_XE_VM_CREATE_FLAG_', {
    DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE: 1 << 0,
    DRM_XE_VM_CREATE_FLAG_LR_MODE: 1 << 1,
    DRM_XE_VM_CREATE_FLAG_FAULT_MODE: 1 << 2,
    DRM_XE_VM_CREATE_FLAG_NO_VM_OVERCOMMIT: 1 << 3,
  }),
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
    DRM_XE_VM_BIND_FLAG_MADVISE_AUTORESET: 1 << 6,
    DRM_XE_VM_BIND_FLAG_DECOMPRESS: 1 << 7,
  }),
  // Special value of drm_xe_vm_bind_op.prefetch_mem_region_instance (else a region instance).
  consts('DRM_XE_PREFETCH_MEM_REGION', 'enum', 'DRM_XE_', { DRM_XE_CONSULT_MEM_ADVISE_PREF_LOC: -1 }),
  consts('FAULT_ACCESS_TYPE', 'enum', 'FAULT_ACCESS_TYPE_', {
    FAULT_ACCESS_TYPE_READ: 0,
    FAULT_ACCESS_TYPE_WRITE: 1,
    FAULT_ACCESS_TYPE_ATOMIC: 2,
  }),
  consts('FAULT_TYPE', 'enum', 'FAULT_TYPE_', {
    FAULT_TYPE_NOT_PRESENT: 0,
    FAULT_TYPE_WRITE_ACCESS: 1,
    FAULT_TYPE_ATOMIC_ACCESS: 2,
  }),
  consts('FAULT_LEVEL', 'enum', 'FAULT_LEVEL_', {
    FAULT_LEVEL_PTE: 0,
    FAULT_LEVEL_PDE: 1,
    FAULT_LEVEL_PDP: 2,
    FAULT_LEVEL_PML4: 3,
    FAULT_LEVEL_PML5: 4,
  }),
  // drm_xe_vm_get_property.property
  consts('DRM_XE_VM_GET_PROPERTY_ID', 'enum', 'DRM_XE_VM_GET_PROPERTY_', { DRM_XE_VM_GET_PROPERTY_FAULTS: 0 }),

  // ---- xe_drm.h: exec queues
  // drm_xe_user_extension.name for DRM_IOCTL_XE_EXEC_QUEUE_CREATE extensions.
  consts('DRM_XE_EXEC_QUEUE_EXTENSION', 'enum', 'DRM_XE_EXEC_QUEUE_EXTENSION_', {
    DRM_XE_EXEC_QUEUE_EXTENSION_SET_PROPERTY: 0,
  }),
  // drm_xe_ext_set_property.property for exec queue creation, and
  // drm_xe_exec_queue_set_property.property.
  consts('DRM_XE_EXEC_QUEUE_SET_PROPERTY', 'enum', 'DRM_XE_EXEC_QUEUE_SET_', {
    DRM_XE_EXEC_QUEUE_SET_PROPERTY_PRIORITY: 0,
    DRM_XE_EXEC_QUEUE_SET_PROPERTY_TIMESLICE: 1,
    DRM_XE_EXEC_QUEUE_SET_PROPERTY_PXP_TYPE: 2,
    DRM_XE_EXEC_QUEUE_SET_HANG_REPLAY_STATE: 3,
    DRM_XE_EXEC_QUEUE_SET_PROPERTY_MULTI_GROUP: 4,
    DRM_XE_EXEC_QUEUE_SET_PROPERTY_MULTI_QUEUE_PRIORITY: 5,
    DRM_XE_EXEC_QUEUE_SET_DISABLE_STATE_CACHE_PERF_FIX: 6,
  }),
  // Bits of the value of DRM_XE_EXEC_QUEUE_SET_PROPERTY_MULTI_GROUP.
  consts('DRM_XE_MULTI_GROUP', 'flags', 'DRM_XE_MULTI_GROUP_', { DRM_XE_MULTI_GROUP_CREATE: 1n << 63n }),
  consts('DRM_XE_EXEC_QUEUE_CREATE_FLAG', 'flags', 'DRM_XE_EXEC_QUEUE_', {
    DRM_XE_EXEC_QUEUE_LOW_LATENCY_HINT: 1 << 0,
  }),
  consts('DRM_XE_EXEC_QUEUE_GET_PROPERTY', 'enum', 'DRM_XE_EXEC_QUEUE_GET_PROPERTY_', {
    DRM_XE_EXEC_QUEUE_GET_PROPERTY_BAN: 0,
  }),

  // ---- xe_drm.h: syncs, exec, user fences
  consts('DRM_XE_SYNC_TYPE', 'enum', 'DRM_XE_SYNC_TYPE_', {
    DRM_XE_SYNC_TYPE_SYNCOBJ: 0x0,
    DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ: 0x1,
    DRM_XE_SYNC_TYPE_USER_FENCE: 0x2,
  }),
  consts('DRM_XE_SYNC_FLAG', 'flags', 'DRM_XE_SYNC_FLAG_', { DRM_XE_SYNC_FLAG_SIGNAL: 1 << 0 }),
  consts('DRM_XE_MAX_SYNCS', 'value', 'DRM_XE_', { DRM_XE_MAX_SYNCS: 1024 }),
  consts('DRM_XE_UFENCE_WAIT_OP', 'enum', 'DRM_XE_UFENCE_WAIT_OP_', {
    DRM_XE_UFENCE_WAIT_OP_EQ: 0x0,
    DRM_XE_UFENCE_WAIT_OP_NEQ: 0x1,
    DRM_XE_UFENCE_WAIT_OP_GT: 0x2,
    DRM_XE_UFENCE_WAIT_OP_GTE: 0x3,
    DRM_XE_UFENCE_WAIT_OP_LT: 0x4,
    DRM_XE_UFENCE_WAIT_OP_LTE: 0x5,
  }),
  consts('DRM_XE_UFENCE_WAIT_FLAG', 'flags', 'DRM_XE_UFENCE_WAIT_FLAG_', {
    DRM_XE_UFENCE_WAIT_FLAG_ABSTIME: 1 << 0,
  }),

  // ---- xe_drm.h: observation (enum drm_xe_observation_type / _op / _ioctls)
  consts('DRM_XE_OBSERVATION_TYPE', 'enum', 'DRM_XE_OBSERVATION_TYPE_', {
    DRM_XE_OBSERVATION_TYPE_OA: 0,
    DRM_XE_OBSERVATION_TYPE_EU_STALL: 1,
  }),
  consts('DRM_XE_OBSERVATION_OP', 'enum', 'DRM_XE_OBSERVATION_OP_', {
    DRM_XE_OBSERVATION_OP_STREAM_OPEN: 0,
    DRM_XE_OBSERVATION_OP_ADD_CONFIG: 1,
    DRM_XE_OBSERVATION_OP_REMOVE_CONFIG: 2,
  }),
  // Requests on the observation stream fd: _IO('i', n).
  consts('DRM_XE_OBSERVATION_IOCTL', 'enum', 'DRM_XE_OBSERVATION_IOCTL_', {
    DRM_XE_OBSERVATION_IOCTL_ENABLE: 0x6900,
    DRM_XE_OBSERVATION_IOCTL_DISABLE: 0x6901,
    DRM_XE_OBSERVATION_IOCTL_CONFIG: 0x6902,
    DRM_XE_OBSERVATION_IOCTL_STATUS: 0x6903,
    DRM_XE_OBSERVATION_IOCTL_INFO: 0x6904,
  }),

  // ---- xe_drm.h: OA
  consts('DRM_XE_OA_UNIT_TYPE', 'enum', 'DRM_XE_OA_UNIT_TYPE_', {
    DRM_XE_OA_UNIT_TYPE_OAG: 0,
    DRM_XE_OA_UNIT_TYPE_OAM: 1,
    DRM_XE_OA_UNIT_TYPE_OAM_SAG: 2,
    DRM_XE_OA_UNIT_TYPE_MERT: 3,
  }),
  consts('DRM_XE_OA_CAPS', 'flags', 'DRM_XE_OA_CAPS_', {
    DRM_XE_OA_CAPS_BASE: 1 << 0,
    DRM_XE_OA_CAPS_SYNCS: 1 << 1,
    DRM_XE_OA_CAPS_OA_BUFFER_SIZE: 1 << 2,
    DRM_XE_OA_CAPS_WAIT_NUM_REPORTS: 1 << 3,
    DRM_XE_OA_CAPS_OAM: 1 << 4,
    DRM_XE_OA_CAPS_OA_UNIT_GT_ID: 1 << 5,
  }),
  consts('DRM_XE_OA_FMT_TYPE', 'enum', 'DRM_XE_OA_FMT_TYPE_', {
    DRM_XE_OA_FMT_TYPE_OAG: 0,
    DRM_XE_OA_FMT_TYPE_OAR: 1,
    DRM_XE_OA_FMT_TYPE_OAM: 2,
    DRM_XE_OA_FMT_TYPE_OAC: 3,
    DRM_XE_OA_FMT_TYPE_OAM_MPEC: 4,
    DRM_XE_OA_FMT_TYPE_PEC: 5,
  }),
  // drm_xe_user_extension.name for OA stream properties.
  consts('DRM_XE_OA_EXTENSION', 'enum', 'DRM_XE_OA_EXTENSION_', { DRM_XE_OA_EXTENSION_SET_PROPERTY: 0 }),
  // enum drm_xe_oa_property_id: drm_xe_ext_set_property.property of OA streams.
  consts('DRM_XE_OA_PROPERTY', 'enum', 'DRM_XE_OA_PROPERTY_', {
    DRM_XE_OA_PROPERTY_OA_UNIT_ID: 1,
    DRM_XE_OA_PROPERTY_SAMPLE_OA: 2,
    DRM_XE_OA_PROPERTY_OA_METRIC_SET: 3,
    DRM_XE_OA_PROPERTY_OA_FORMAT: 4,
    DRM_XE_OA_PROPERTY_OA_PERIOD_EXPONENT: 5,
    DRM_XE_OA_PROPERTY_OA_DISABLED: 6,
    DRM_XE_OA_PROPERTY_EXEC_QUEUE_ID: 7,
    DRM_XE_OA_PROPERTY_OA_ENGINE_INSTANCE: 8,
    DRM_XE_OA_PROPERTY_NO_PREEMPT: 9,
    DRM_XE_OA_PROPERTY_NUM_SYNCS: 10,
    DRM_XE_OA_PROPERTY_SYNCS: 11,
    DRM_XE_OA_PROPERTY_OA_BUFFER_SIZE: 12,
    DRM_XE_OA_PROPERTY_WAIT_NUM_REPORTS: 13,
  }),
  // Fields of the DRM_XE_OA_PROPERTY_OA_FORMAT value.
  consts('DRM_XE_OA_FORMAT_MASK', 'flags', 'DRM_XE_OA_FORMAT_MASK_', {
    DRM_XE_OA_FORMAT_MASK_FMT_TYPE: 0xff << 0,
    DRM_XE_OA_FORMAT_MASK_COUNTER_SEL: 0xff << 8,
    DRM_XE_OA_FORMAT_MASK_COUNTER_SIZE: 0xff << 16,
    DRM_XE_OA_FORMAT_MASK_BC_REPORT: 0xff000000, // (0xffu << 24)
  }),
  consts('DRM_XE_OASTATUS', 'flags', 'DRM_XE_OASTATUS_', {
    DRM_XE_OASTATUS_MMIO_TRG_Q_FULL: 1 << 3,
    DRM_XE_OASTATUS_COUNTER_OVERFLOW: 1 << 2,
    DRM_XE_OASTATUS_BUFFER_OVERFLOW: 1 << 1,
    DRM_XE_OASTATUS_REPORT_LOST: 1 << 0,
  }),

  // ---- xe_drm.h: PXP
  consts('DRM_XE_PXP_TYPE', 'enum', 'DRM_XE_PXP_TYPE_', { DRM_XE_PXP_TYPE_NONE: 0, DRM_XE_PXP_TYPE_HWDRM: 1 }),
  consts('DRM_XE_PXP_HWDRM_DEFAULT_SESSION', 'value', 'DRM_XE_PXP_', { DRM_XE_PXP_HWDRM_DEFAULT_SESSION: 0xf }),

  // ---- xe_drm.h: EU stall sampling
  consts('DRM_XE_EU_STALL_EXTENSION', 'enum', 'DRM_XE_EU_STALL_EXTENSION_', {
    DRM_XE_EU_STALL_EXTENSION_SET_PROPERTY: 0,
  }),
  // enum drm_xe_eu_stall_property_id
  consts('DRM_XE_EU_STALL_PROP', 'enum', 'DRM_XE_EU_STALL_PROP_', {
    DRM_XE_EU_STALL_PROP_GT_ID: 1,
    DRM_XE_EU_STALL_PROP_SAMPLE_RATE: 2,
    DRM_XE_EU_STALL_PROP_WAIT_NUM_REPORTS: 3,
  }),
  consts('DRM_XE_EU_STALL_CAPS', 'flags', 'DRM_XE_EU_STALL_CAPS_', { DRM_XE_EU_STALL_CAPS_BASE: 1 << 0 }),

  // ---- xe_drm.h: madvise and memory range attributes
  // drm_xe_madvise.type
  consts('DRM_XE_MEM_RANGE_ATTR', 'enum', 'DRM_XE_', {
    DRM_XE_MEM_RANGE_ATTR_PREFERRED_LOC: 0,
    DRM_XE_MEM_RANGE_ATTR_ATOMIC: 1,
    DRM_XE_MEM_RANGE_ATTR_PAT: 2,
    DRM_XE_VMA_ATTR_PURGEABLE_STATE: 3,
  }),
  // Special values of preferred_mem_loc.devmem_fd (else a device fd).
  consts('DRM_XE_PREFERRED_LOC', 'enum', 'DRM_XE_PREFERRED_LOC_', {
    DRM_XE_PREFERRED_LOC_DEFAULT_DEVICE: 0,
    DRM_XE_PREFERRED_LOC_DEFAULT_SYSTEM: -1,
  }),
  consts('DRM_XE_MIGRATE', 'enum', 'DRM_XE_MIGRATE_', {
    DRM_XE_MIGRATE_ALL_PAGES: 0,
    DRM_XE_MIGRATE_ONLY_SYSTEM_PAGES: 1,
  }),
  consts('DRM_XE_ATOMIC', 'enum', 'DRM_XE_ATOMIC_', {
    DRM_XE_ATOMIC_UNDEFINED: 0,
    DRM_XE_ATOMIC_DEVICE: 1,
    DRM_XE_ATOMIC_GLOBAL: 2,
    DRM_XE_ATOMIC_CPU: 3,
  }),
  consts('DRM_XE_VMA_PURGEABLE_STATE', 'enum', 'DRM_XE_VMA_PURGEABLE_STATE_', {
    DRM_XE_VMA_PURGEABLE_STATE_WILLNEED: 0,
    DRM_XE_VMA_PURGEABLE_STATE_DONTNEED: 1,
  }),

  // ---- xe_drm.h: DRM RAS netlink ids (enum drm_xe_ras_error_severity / _component)
  consts('DRM_XE_RAS_ERR_SEV', 'enum', 'DRM_XE_RAS_ERR_SEV_', {
    DRM_XE_RAS_ERR_SEV_CORRECTABLE: 0,
    DRM_XE_RAS_ERR_SEV_UNCORRECTABLE: 1,
    DRM_XE_RAS_ERR_SEV_MAX: 2, // non-ABI
  }),
  consts('DRM_XE_RAS_ERR_COMP', 'enum', 'DRM_XE_RAS_ERR_COMP_', {
    DRM_XE_RAS_ERR_COMP_CORE_COMPUTE: 1,
    DRM_XE_RAS_ERR_COMP_SOC_INTERNAL: 2,
    DRM_XE_RAS_ERR_COMP_DEVICE_MEMORY: 3,
    DRM_XE_RAS_ERR_COMP_PCIE: 4,
    DRM_XE_RAS_ERR_COMP_FABRIC: 5,
    DRM_XE_RAS_ERR_COMP_MAX: 6, // non-ABI
  }),
];

/** Every ioctl request of the table. */
export const IOCTLS = [
  // ---- DRM core (drm.h)
  coreIoctl('DRM_IOCTL_VERSION', 0x00, 'RW', 'drm_version'),
  coreIoctl('DRM_IOCTL_GEM_CLOSE', 0x09, 'W', 'drm_gem_close'),
  coreIoctl('DRM_IOCTL_GET_CAP', 0x0c, 'RW', 'drm_get_cap'),
  coreIoctl('DRM_IOCTL_SET_CLIENT_CAP', 0x0d, 'W', 'drm_set_client_cap'),
  coreIoctl('DRM_IOCTL_PRIME_HANDLE_TO_FD', 0x2d, 'RW', 'drm_prime_handle'),
  coreIoctl('DRM_IOCTL_PRIME_FD_TO_HANDLE', 0x2e, 'RW', 'drm_prime_handle'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_CREATE', 0xbf, 'RW', 'drm_syncobj_create'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_DESTROY', 0xc0, 'RW', 'drm_syncobj_destroy'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', 0xc1, 'RW', 'drm_syncobj_handle'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', 0xc2, 'RW', 'drm_syncobj_handle'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_WAIT', 0xc3, 'RW', 'drm_syncobj_wait'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_RESET', 0xc4, 'RW', 'drm_syncobj_array'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_SIGNAL', 0xc5, 'RW', 'drm_syncobj_array'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', 0xca, 'RW', 'drm_syncobj_timeline_wait'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_QUERY', 0xcb, 'RW', 'drm_syncobj_timeline_array'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_TRANSFER', 0xcc, 'RW', 'drm_syncobj_transfer'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', 0xcd, 'RW', 'drm_syncobj_timeline_array'),
  coreIoctl('DRM_IOCTL_SYNCOBJ_EVENTFD', 0xcf, 'RW', 'drm_syncobj_eventfd'),
  coreIoctl('DRM_IOCTL_SET_CLIENT_NAME', 0xd1, 'RW', 'drm_set_client_name'),
  coreIoctl('DRM_IOCTL_GEM_CHANGE_HANDLE', 0xd2, 'RW', 'drm_gem_change_handle'),

  // ---- xe_drm.h
  xeIoctl('DRM_IOCTL_XE_DEVICE_QUERY', 'DRM_XE_DEVICE_QUERY', 'RW', 'drm_xe_device_query'),
  xeIoctl('DRM_IOCTL_XE_GEM_CREATE', 'DRM_XE_GEM_CREATE', 'RW', 'drm_xe_gem_create'),
  xeIoctl('DRM_IOCTL_XE_GEM_MMAP_OFFSET', 'DRM_XE_GEM_MMAP_OFFSET', 'RW', 'drm_xe_gem_mmap_offset'),
  xeIoctl('DRM_IOCTL_XE_VM_CREATE', 'DRM_XE_VM_CREATE', 'RW', 'drm_xe_vm_create'),
  xeIoctl('DRM_IOCTL_XE_VM_DESTROY', 'DRM_XE_VM_DESTROY', 'W', 'drm_xe_vm_destroy'),
  xeIoctl('DRM_IOCTL_XE_VM_BIND', 'DRM_XE_VM_BIND', 'W', 'drm_xe_vm_bind'),
  xeIoctl('DRM_IOCTL_XE_EXEC_QUEUE_CREATE', 'DRM_XE_EXEC_QUEUE_CREATE', 'RW', 'drm_xe_exec_queue_create'),
  xeIoctl('DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', 'DRM_XE_EXEC_QUEUE_DESTROY', 'W', 'drm_xe_exec_queue_destroy'),
  xeIoctl('DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', 'DRM_XE_EXEC_QUEUE_GET_PROPERTY', 'RW', 'drm_xe_exec_queue_get_property'),
  xeIoctl('DRM_IOCTL_XE_EXEC', 'DRM_XE_EXEC', 'W', 'drm_xe_exec'),
  xeIoctl('DRM_IOCTL_XE_WAIT_USER_FENCE', 'DRM_XE_WAIT_USER_FENCE', 'RW', 'drm_xe_wait_user_fence'),
  xeIoctl('DRM_IOCTL_XE_OBSERVATION', 'DRM_XE_OBSERVATION', 'W', 'drm_xe_observation_param'),
  xeIoctl('DRM_IOCTL_XE_MADVISE', 'DRM_XE_MADVISE', 'W', 'drm_xe_madvise'),
  xeIoctl('DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS', 'DRM_XE_VM_QUERY_MEM_RANGE_ATTRS', 'RW', 'drm_xe_vm_query_mem_range_attr'),
  xeIoctl('DRM_IOCTL_XE_EXEC_QUEUE_SET_PROPERTY', 'DRM_XE_EXEC_QUEUE_SET_PROPERTY', 'W', 'drm_xe_exec_queue_set_property'),
  xeIoctl('DRM_IOCTL_XE_VM_GET_PROPERTY', 'DRM_XE_VM_GET_PROPERTY', 'RW', 'drm_xe_vm_get_property'),
];
