/**
 * Sample trace `basic`: the first frame of a UMD, written against the raw binary interface
 * (structs packed into user memory, `ioctl(fd, request, argp)`): query the memory regions
 * and engines, create a VM and a system-memory BO, map it on the CPU, bind it with an
 * out-syncobj and wait for the bind, create a render queue, write a store-dword batch into
 * the BO, EXEC it with an out-syncobj, wait, read the stored value back, and tear down.
 */
import {
  C, decode, decodeArray, IOCTL, layoutOf, pack, packArray, type Device, type Process, type StructName, type StructOut,
} from '../../src/index.js';
import { miStoreDwordImm } from '../../src/uapi/gpu_commands.js';
import { expect, writeBatch } from './sample.js';

/** GPU VA where the BO is bound. */
const VA = 0x1a0000n;
const SIZE = 0x10000;
/** The batch stores VALUE at VA + DATA. */
const DATA = 0x800n;
const VALUE = 0x600dc0de;
const INT64_MAX = (1n << 63n) - 1n;

/** Packs `bytes` into fresh user memory: the argument of one ioctl. */
function arg(p: Process, bytes: Uint8Array): bigint {
  const a = p.mem.alloc(bytes.length, 8);
  p.mem.write(a, bytes);
  return a;
}

/** The struct `name` at `a` as the kernel left it. */
function result<S extends StructName>(p: Process, name: S, a: bigint): StructOut<S> {
  return decode(name, p.mem.read(a, layoutOf(name).size));
}

/** ioctl that must succeed. */
function ioctl(p: Process, fd: number, name: string, argp: bigint): void {
  if (p.ioctl(fd, IOCTL(name), argp) !== 0) throw new Error(`${name}: errno ${p.errno}`);
}

/** DEVICE_QUERY `query`: a size probe (size 0), then the reply into a buffer of that size. */
function query(p: Process, fd: number, query: string): Uint8Array {
  const a = arg(p, pack('drm_xe_device_query', { query: C(query) }));
  ioctl(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', a);
  const size = result(p, 'drm_xe_device_query', a).size;
  const data = p.mem.alloc(size, 8);
  p.mem.write(a, pack('drm_xe_device_query', { query: C(query), size, data }));
  ioctl(p, fd, 'DRM_IOCTL_XE_DEVICE_QUERY', a);
  return p.mem.read(data, size);
}

/** SYNCOBJ_CREATE: a new binary syncobj's handle. */
function syncobjCreate(p: Process, fd: number): number {
  const a = arg(p, pack('drm_syncobj_create', {}));
  ioctl(p, fd, 'DRM_IOCTL_SYNCOBJ_CREATE', a);
  return p.mem.readU32(a);
}

/** SYNCOBJ_WAIT for one syncobj, without a timeout. */
function syncobjWait(p: Process, fd: number, handle: number): void {
  const handles = arg(p, new Uint8Array(new Uint32Array([handle]).buffer));
  ioctl(p, fd, 'DRM_IOCTL_SYNCOBJ_WAIT', arg(p, pack('drm_syncobj_wait', { handles, count_handles: 1, timeout_nsec: INT64_MAX })));
}

/** A drm_xe_sync array of one entry that signals syncobj `handle`. */
function signalSync(p: Process, handle: number): bigint {
  return arg(p, packArray('drm_xe_sync', [{ type: C('DRM_XE_SYNC_TYPE_SYNCOBJ'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle }]));
}

/** The program. */
export function basic(dev: Device): void {
  const p = dev.process;
  const fd = p.open();

  // Memory regions: the first system-memory region is the BO's placement.
  const mr = query(p, fd, 'DRM_XE_DEVICE_QUERY_MEM_REGIONS');
  const regions = decodeArray('drm_xe_mem_region', mr, decode('drm_xe_query_mem_regions', mr).num_mem_regions, layoutOf('drm_xe_query_mem_regions').size);
  const sysmem = regions.find((r) => r.mem_class === C('DRM_XE_MEM_REGION_CLASS_SYSMEM'))!;
  // Engines: the first render engine runs the batch.
  const en = query(p, fd, 'DRM_XE_DEVICE_QUERY_ENGINES');
  const engines = decodeArray('drm_xe_engine', en, decode('drm_xe_query_engines', en).num_engines, layoutOf('drm_xe_query_engines').size);
  const render = engines.map((e) => e.instance).find((i) => i.engine_class === C('DRM_XE_ENGINE_CLASS_RENDER'))!;

  const vmArg = arg(p, pack('drm_xe_vm_create', {}));
  ioctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', vmArg);
  const vm = result(p, 'drm_xe_vm_create', vmArg).vm_id;

  const boArg = arg(p, pack('drm_xe_gem_create', { size: SIZE, placement: 1 << sysmem.instance, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WB') }));
  ioctl(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', boArg);
  const bo = result(p, 'drm_xe_gem_create', boArg).handle;

  // The CPU mapping: MMAP_OFFSET gives the fake offset to mmap the DRM fd at.
  const offArg = arg(p, pack('drm_xe_gem_mmap_offset', { handle: bo }));
  ioctl(p, fd, 'DRM_IOCTL_XE_GEM_MMAP_OFFSET', offArg);
  const cpu = p.mmap(SIZE, fd, result(p, 'drm_xe_gem_mmap_offset', offArg).offset);

  // Bind the whole BO at VA (write-back PAT index 2 on LNL), signalling a syncobj.
  const bound = syncobjCreate(p, fd);
  const bind = { obj: bo, obj_offset: 0n, range: BigInt(SIZE), addr: VA, op: C('DRM_XE_VM_BIND_OP_MAP'), pat_index: 2 };
  ioctl(p, fd, 'DRM_IOCTL_XE_VM_BIND', arg(p, pack('drm_xe_vm_bind', { vm_id: vm, num_binds: 1, bind, num_syncs: 1, syncs: signalSync(p, bound) })));
  syncobjWait(p, fd, bound);

  const instances = arg(p, pack('drm_xe_engine_class_instance', render));
  const qArg = arg(p, pack('drm_xe_exec_queue_create', { width: 1, num_placements: 1, vm_id: vm, instances }));
  ioctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_CREATE', qArg);
  const q = result(p, 'drm_xe_exec_queue_create', qArg).exec_queue_id;

  writeBatch(p, cpu, miStoreDwordImm(Number(VA + DATA), VALUE));
  const done = syncobjCreate(p, fd);
  ioctl(p, fd, 'DRM_IOCTL_XE_EXEC', arg(p, pack('drm_xe_exec', { exec_queue_id: q, num_syncs: 1, syncs: signalSync(p, done), address: VA, num_batch_buffer: 1 })));
  syncobjWait(p, fd, done);
  expect(p.mem.readU32(cpu + DATA), VALUE, 'the value the GPU stored');

  ioctl(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_DESTROY', arg(p, pack('drm_xe_exec_queue_destroy', { exec_queue_id: q })));
  for (const handle of [bound, done]) ioctl(p, fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', arg(p, pack('drm_syncobj_destroy', { handle })));
  p.munmap(cpu, SIZE);
  ioctl(p, fd, 'DRM_IOCTL_GEM_CLOSE', arg(p, pack('drm_gem_close', { handle: bo })));
  ioctl(p, fd, 'DRM_IOCTL_XE_VM_DESTROY', arg(p, pack('drm_xe_vm_destroy', { vm_id: vm })));
  p.close(fd);
}
