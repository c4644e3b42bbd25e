/**
 * xe-emu: an emulator of the Linux Intel Xe GPU driver's binary uAPI. The package entry
 * point: the device and process interface, and the uAPI table's derived tools.
 */
export { createDevice, Device, type DeviceOptions, type ProcessOptions } from './userspace/device.js';
export type { ProfileName } from './hw/profile.js';
export { attachThread, Process, type LastError, type MmapAt, type ThreadHandle } from './userspace/process.js';
export { Segfault } from './userspace/mem.js';
export type { GpuAccessReport, GpuFaultReport, VmaInfo, VmInfo, VmViolation } from './userspace/vm_inspect.js';
export type { EngineTrace, FenceInfo, JobInfo, QueueInfo, TraceEntry } from './userspace/sched_inspect.js';
export { DeviceClosed, KernelError, ProcessExited } from './userspace/channel.js';
export { CAP, DEBUG } from './uapi/channel.js';
export * as errno from './uapi/errno.js';
export { errnoName, ERRNO, type ErrnoName } from './uapi/errno.js';
export { C, CB, IOCTL, CONSTANT_VALUES, IOCTL_LIST, STRUCT_LAYOUTS, layoutOf } from './uapi/uapi.js';
export {
  decode, encode, pack, decodeArray, decodeRecords, packArray, PackError, BufferError,
  type Fields, type FieldsIn, type Value, type ValueIn,
} from './uapi/codec.js';
export type { ConstName, IoctlName, IoctlStruct, RuntimeName, StructIn, StructName, StructOut } from './uapi/typed.js';
export { formatIoctl, formatStruct } from './uapi/format.js';
export { replayTrace, type Divergence, type ReplayOptions, type ReplayReport } from './userspace/replay.js';
export * as igt from './userspace/igt.js';
export * as libdrm from './userspace/libdrm.js';
