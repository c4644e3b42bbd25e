// Compile-time checks of the typed uAPI (built by `npm run build`, never run): each
// `@ts-expect-error` line must be an error, or tsc fails because the directive is unused,
// so the checks cannot silently rot. The lines without it must compile.
import {
  C, CB, IOCTL, decode, decodeArray, encode, pack, packArray,
  type ConstName, type IoctlName, type IoctlStruct, type StructIn, type StructName, type StructOut,
} from '../src/index.js';

/** Type-level equality: true only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const yes = <T extends true>(): T => true as T;

export function typeChecks(buf: Uint8Array, dynamicName: string): void {
  // Members autocomplete from the table; misspelt ones do not compile.
  pack('drm_xe_gem_create', { size: 4096n, placement: 1, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WB') });
  // @ts-expect-error a misspelt member
  pack('drm_xe_gem_create', { sise: 4096 });
  // @ts-expect-error a misspelt member of a nested struct
  pack('drm_xe_vm_bind', { bind: { rnage: 1n } });
  // @ts-expect-error a misspelt struct name
  pack('drm_xe_gem_craete', {});
  // @ts-expect-error a misspelt struct name in decode
  decode('drm_xe_vm_bnd', buf);
  // @ts-expect-error a misspelt constant
  C('DRM_XE_GEM_CPU_CACHING_WBB');
  // @ts-expect-error a misspelt constant (bigint form)
  CB('DRM_XE_VM_BIND_FLAG_READ_ONLY');
  // @ts-expect-error a misspelt ioctl
  IOCTL('DRM_IOCTL_XE_GEM_CRATE');
  // @ts-expect-error a bigint in a u32 member
  pack('drm_xe_gem_create', { vm_id: 1n });
  // @ts-expect-error a string in a u64 member
  encode('drm_xe_sync', { addr: '0x1000' }, buf);
  // @ts-expect-error an array member given a scalar
  pack('drm_xe_vm_create', { reserved: 0 });
  // @ts-expect-error a flexible array member is not packed
  pack('drm_xe_query_engines', { engines: [] });
  // @ts-expect-error an unknown member in an array element
  packArray('drm_xe_sync', [{ type: 0, handel: 1 }]);

  // Anonymous unions flatten, named inline structs nest, u64 in and out.
  pack('drm_xe_vm_bind', { num_binds: 1, bind: { range: 0x10000, addr: 0x1a0000n, op: 0 }, reserved: [0n, 1] });
  pack('drm_xe_madvise', { atomic: { val: C('DRM_XE_ATOMIC_DEVICE') } });
  pack('drm_xe_oa_config', { uuid: '01234567-89ab-cdef-0123-456789abcdef' });

  // decode: number for 32-bit and smaller, bigint for 64-bit, arrays and nesting typed.
  const vb = decode('drm_xe_vm_bind', buf);
  yes<Equal<typeof vb.vm_id, number>>();
  yes<Equal<typeof vb.bind.range, bigint>>();
  yes<Equal<typeof vb.vector_of_binds, bigint>>();
  yes<Equal<typeof vb.reserved, bigint[]>>();
  const madv = decode('drm_xe_madvise', buf);
  yes<Equal<typeof madv.preferred_mem_loc.migration_policy, number>>();
  const engines = decode('drm_xe_query_engines', buf);
  yes<Equal<typeof engines.engines[number]['instance']['engine_class'], number>>();
  const oa = decode('drm_xe_query_oa_units', buf);
  yes<Equal<typeof oa.oa_units[number]['eci'][number]['gt_id'], number>>();
  yes<Equal<typeof oa.oa_units[number]['num_engines'], bigint>>();
  const syncs = decodeArray('drm_xe_sync', buf, 2);
  yes<Equal<(typeof syncs)[number]['timeline_value'], bigint>>();
  // @ts-expect-error no such member in the decoded struct
  void vb.vmid;

  // Value types of the names.
  yes<Equal<IoctlStruct<'DRM_IOCTL_XE_VM_BIND'>, 'drm_xe_vm_bind'>>();
  const s: StructName = 'drm_xe_sync';
  const i: IoctlName = 'DRM_IOCTL_XE_EXEC';
  const c: ConstName = 'DRM_XE_SYNC_FLAG_SIGNAL';
  const ioctlAsConst: ConstName = 'DRM_IOCTL_XE_EXEC';
  const bindIn: StructIn<'drm_xe_vm_bind'> = { bind: { obj: 1 } };
  const syncOut: StructOut<'drm_xe_sync'> | undefined = undefined;
  // @ts-expect-error not an ioctl name
  const notIoctl: IoctlName = 'DRM_IOCTL_XE_FOO';
  void [s, i, c, ioctlAsConst, bindIn, syncOut, notIoctl];

  // A name known only at run time falls back to the untyped Fields, checked when it runs.
  const any = decode(dynamicName, buf);
  void any['whatever'];
  pack(dynamicName, { whatever: 1 });
}
