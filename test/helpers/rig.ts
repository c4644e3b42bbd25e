/**
 * An in-process kernel (the fuzzer's Machine) driven through its syscall channel, with the
 * kernel objects at hand: for driver pieces no ioctl reaches yet (BO migration, SVM ranges).
 */
import type { ProfileName } from '../../src/hw/profile.js';
import { Machine } from '../../src/fuzz/machine.js';
import type { Process as KProcess } from '../../src/kernel/os/process.js';
import { gemToBo, type Bo } from '../../src/kernel/xe/xe_bo.js';
import type { XeFile } from '../../src/kernel/xe/xe_file.js';
import type { Vm } from '../../src/kernel/xe/xe_vm.js';
import { DEBUG, PROT, SYS } from '../../src/uapi/channel.js';
import { decode, encode, type Fields, type FieldsIn } from '../../src/uapi/codec.js';
import { IOCTL_BY_NAME } from '../../src/uapi/uapi.js';

/** Bytes of the argument scratch mapping. */
const SCRATCH_BYTES = 0x10000n;

/** A failed call, with its errno. */
export class CallFailed extends Error {
  constructor(
    readonly errno: number,
    what: string,
  ) {
    super(`${what}: errno ${errno}`);
  }
}

/** One booted machine, process 1 on slot 0, one render fd. */
export class Rig {
  readonly m: Machine;
  readonly proc: KProcess;
  readonly fd: number;
  private readonly scratch: bigint;

  constructor(profile: ProfileName) {
    this.m = new Machine(profile);
    this.proc = this.m.kernel.procs.get(1)!;
    this.scratch = this.sys(SYS.MMAP, [SCRATCH_BYTES, BigInt(PROT.READ | PROT.WRITE), -1n, 0n])[0];
    this.fd = Number(this.sysRc(SYS.OPEN, [0n]));
  }

  /** The xe file behind `fd` (default: the rig's). */
  file(fd = this.fd): XeFile {
    return this.proc.file(fd) as XeFile;
  }

  /** A system call; its return words (throws CallFailed on failure). */
  sys(nr: number, args: bigint[]): bigint[] {
    const o = this.m.syscall(0, nr, args);
    if (o.state !== 'done') throw new Error(`syscall ${nr}: ${o.state}`);
    if (o.rc < 0) throw new CallFailed(o.errno, `syscall ${nr}`);
    return o.rets;
  }

  /** A system call's RESULT word. */
  sysRc(nr: number, args: bigint[]): number {
    const o = this.m.syscall(0, nr, args);
    if (o.state !== 'done') throw new Error(`syscall ${nr}: ${o.state}`);
    if (o.rc < 0) throw new CallFailed(o.errno, `syscall ${nr}`);
    return o.rc;
  }

  /** ioctl `name` with `fields` on `fd`; the struct as the kernel wrote it back. */
  ioctl(name: string, fields: FieldsIn, fd = this.fd): Fields {
    const io = IOCTL_BY_NAME.get(name)!;
    const buf = new Uint8Array(io.layout.size);
    encode(io.layout.name, fields, buf);
    this.proc.as.write(this.scratch, buf);
    const o = this.m.ioctl(0, fd, io.request, this.scratch);
    if (o.state !== 'done') throw new Error(`${name}: ${o.state}`);
    if (o.rc < 0) throw new CallFailed(o.errno, name);
    return decode(io.layout.name, this.proc.as.read(this.scratch, io.layout.size));
  }

  /** mmap; the address. */
  mmap(length: bigint, fd = -1, offset = 0n, addr = 0n, flags = 0, prot = PROT.READ | PROT.WRITE): bigint {
    return this.sys(SYS.MMAP, [length, BigInt(prot), BigInt(fd), offset, addr, BigInt(flags)])[0];
  }

  munmap(addr: bigint, length: bigint): void {
    this.sys(SYS.MUNMAP, [addr, length]);
  }

  /** DEBUG MEM_USAGE: pages in use, [system, VRAM]. */
  memUsage(): [number, number] {
    const r = this.sys(SYS.DEBUG, [BigInt(DEBUG.MEM_USAGE)]);
    return [Number(r[0]), Number(r[1])];
  }

  /** GEM_CREATE; the handle and the kernel's Bo. */
  bo(size: bigint, placement: number, cpuCaching: number): { handle: number; bo: Bo } {
    const handle = Number(this.ioctl('DRM_IOCTL_XE_GEM_CREATE', { size, placement, cpu_caching: cpuCaching }).handle);
    return { handle, bo: gemToBo(this.file().objects.get(handle)!) };
  }

  /** mmap of a BO through its fake offset. */
  mmapBo(handle: number, length: bigint): bigint {
    const offset = this.ioctl('DRM_IOCTL_XE_GEM_MMAP_OFFSET', { handle }).offset as bigint;
    return this.mmap(length, this.fd, offset);
  }

  /** VM_CREATE; the kernel's Vm. */
  vm(flags: number): Vm {
    const id = Number(this.ioctl('DRM_IOCTL_XE_VM_CREATE', { flags }).vm_id);
    return this.file().vms.get(id)!;
  }

  dispose(): void {
    this.m.dispose();
  }
}

/** The errno `fn` throws (as CallFailed or the kernel's Errno), or 0. */
export function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    const n = (e as { errno?: unknown }).errno;
    if (typeof n === 'number') return n;
    throw e;
  }
}
