/**
 * ioctl dispatch as DRM core does it (drm_ioctl.c): number ranges, size zero-extension,
 * copy in, permission check, handler, unconditional copy back. The driver's wedged check
 * (xe_drm_ioctl) runs before, in the driver file's ioctl op. Handlers see the argument as a
 * live view of the kernel buffer (reads and writes hit its bytes, as kdata in C); the buffer
 * is what is copied back.
 */
import { rebindView, structView, type Fields } from '../../uapi/codec.js';
import { EACCES, EFAULT, EINVAL, ENOTTY } from '../../uapi/errno.js';
import { DRM_IOCTL_TYPE, IOC, iocDecode } from '../../uapi/ioctl.js';
import type { Layout } from '../../uapi/layout.js';
import { C, IOCTL_LIST } from '../../uapi/uapi.js';
import { Errno } from '../os/errno.js';
import type { Task } from '../os/file.js';
import type { UserMemory } from '../os/uaccess.js';
import type { CallResult, Wait } from '../os/wait.js';

/** DRM minor types a file can be opened on. */
export type DrmNode = 'render' | 'primary';

/**
 * What dispatch needs of a DRM file: its device and its minor. Handlers name the file type
 * they work on (DrmFile, XeFile, or the slice of it a module may see without an import loop).
 */
export interface IoctlFile {
  readonly dev: unknown;
  readonly node: DrmNode;
}

/** What a handler sees. */
export interface IoctlCtx<F extends IoctlFile = IoctlFile> {
  /** The file's device (file->minor->dev). */
  dev: F['dev'];
  /** The calling process (current). */
  proc: Task;
  file: F;
  /** The calling process's user memory (copy_from_user / copy_to_user). */
  um: UserMemory;
  /** The argument struct, a live view of the kernel buffer; what is written is copied back. */
  args: Fields;
}

/** A handler returns 0 / -errno (or throws Errno), or a Wait to block. */
export type IoctlHandler<F extends IoctlFile = IoctlFile> = (c: IoctlCtx<F>) => number | Wait;

/** A handler bound to the uAPI table's ioctl of that name. */
export interface IoctlDef<F extends IoctlFile = IoctlFile> {
  name: string;
  /**
   * The handler. A method signature on purpose: one table holds the core's and a driver's
   * handlers, each typed on the file it works on; dispatch only runs a driver's handlers on
   * that driver's files, as drm_ioctl does through file->minor->dev->driver.
   */
  handler(c: IoctlCtx<F>): number | Wait;
  /** DRM_RENDER_ALLOW: usable on a render node (every Xe ioctl; most core ones here). Default true. */
  renderAllow?: boolean;
}

interface Entry {
  /** The argument struct as the kernel knows it (its size is the kernel's ksize floor). */
  layout: Layout;
  handler: IoctlHandler;
  renderAllow: boolean;
  /** Direction bits of the kernel's request number. */
  kdir: number;
}

/**
 * Core slots of drm_ioctls[] (newest drm_ioctl.c) that xe-emu does not serve and that lack
 * DRM_RENDER_ALLOW (legacy, master, auth and KMS ioctls). On a render node the permission
 * check answers them with -EACCES after the copy-in, as upstream; elsewhere they are -EINVAL
 * like a slot without a handler. Their arguments are taken as IOWR of the user's size.
 */
const CORE_NOT_RENDER_ALLOW: ReadonlyMap<number, string> = new Map([
  [0x01, 'GET_UNIQUE'], [0x02, 'GET_MAGIC'], [0x05, 'GET_CLIENT'], [0x06, 'GET_STATS'], [0x07, 'SET_VERSION'],
  [0x0a, 'GEM_FLINK'], [0x0b, 'GEM_OPEN'], [0x10, 'SET_UNIQUE'], [0x11, 'AUTH_MAGIC'], [0x12, 'BLOCK'],
  [0x13, 'UNBLOCK'], [0x1e, 'SET_MASTER'], [0x1f, 'DROP_MASTER'], [0x27, 'ADD_DRAW'], [0x28, 'RM_DRAW'],
  [0x2c, 'FINISH'], [0x3a, 'WAIT_VBLANK'], [0x3b, 'CRTC_GET_SEQUENCE'], [0x3c, 'CRTC_QUEUE_SEQUENCE'],
  [0x3f, 'UPDATE_DRAW'],
  ...Array.from({ length: 0xbe - 0xa0 + 1 }, (_, i): [number, string] => [0xa0 + i, 'MODE_*']),
  [0xc6, 'MODE_CREATE_LEASE'], [0xc7, 'MODE_LIST_LESSEES'], [0xc8, 'MODE_GET_LEASE'], [0xc9, 'MODE_REVOKE_LEASE'],
  [0xce, 'MODE_GETFB2'], [0xd0, 'MODE_CLOSEFB'],
]);

/** The layout of a slot whose argument xe-emu does not interpret. */
const NO_ARGS: Layout = { name: 'unserved', size: 0, align: 1, members: [] };

const DRM_COMMAND_BASE = C('DRM_COMMAND_BASE');
const DRM_COMMAND_END = C('DRM_COMMAND_END');

/** The ioctl tables: driver (indexed nr - DRM_COMMAND_BASE) and core (indexed nr). */
export class IoctlTable {
  private readonly driver: Array<Entry | undefined>;
  private readonly core: Array<Entry | undefined>;

  constructor(defs: IoctlDef[]) {
    const handlers = new Map(defs.map((d) => [d.name, d]));
    for (const d of defs) {
      if (!IOCTL_LIST.some((i) => i.name === d.name)) throw new Error(`handler for unknown ioctl ${d.name}`);
    }
    const driverIoctls = IOCTL_LIST.filter((i) => isDriverNr(i.nr));
    this.driver = new Array(Math.max(0, ...driverIoctls.map((i) => i.nr - DRM_COMMAND_BASE + 1)));
    this.core = [];
    for (const io of IOCTL_LIST) {
      const h = handlers.get(io.name);
      const table = isDriverNr(io.nr) ? this.driver : this.core;
      const idx = isDriverNr(io.nr) ? io.nr - DRM_COMMAND_BASE : io.nr;
      // A slot without a handler exists in the table but has no implementation: -EINVAL.
      table[idx] = h
        ? { layout: io.layout, handler: h.handler, renderAllow: h.renderAllow ?? true, kdir: iocDecode(io.request).dir }
        : undefined;
    }
    for (const nr of CORE_NOT_RENDER_ALLOW.keys()) {
      this.core[nr] ??= { layout: NO_ARGS, handler: () => -EINVAL, renderAllow: false, kdir: IOC.READ | IOC.WRITE };
    }
  }

  /** The entry for a command number, or undefined (the caller returns -EINVAL). */
  lookup(nr: number): Entry | undefined {
    return isDriverNr(nr) ? this.driver[nr - DRM_COMMAND_BASE] : this.core[nr];
  }
}

function isDriverNr(nr: number): boolean {
  return nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END;
}

/**
 * drm_ioctl: runs one ioctl on DRM file `file` for `task`. Steps and errnos follow
 * shared/spec/sync_exec.md 1.2 (the fd lookup, the non-DRM-file -ENOTTY and the driver's
 * wedged check come before, in the syscall and the file's ioctl op). The returned rc is 0
 * or -errno; a Wait is returned when the handler blocks, with the copy-back deferred.
 */
export function drmIoctl(table: IoctlTable, file: IoctlFile, task: Task, request: number, argp: bigint): CallResult {
  try {
    // _IOC fields, read without building an object (this is the hot path of every ioctl).
    // A foreign type byte is -ENOTTY (upstream "drm: Return -ENOTTY for non-drm ioctls").
    if (((request >>> IOC.TYPESHIFT) & IOC.TYPEMASK) !== DRM_IOCTL_TYPE) return { done: true, rc: -ENOTTY };
    const entry = table.lookup((request >>> IOC.NRSHIFT) & IOC.NRMASK);
    if (!entry) return { done: true, rc: -EINVAL };
    const dir = (request >>> IOC.DIRSHIFT) & IOC.DIRMASK;
    return runEntry(entry, task, file, dir, (request >>> IOC.SIZESHIFT) & IOC.SIZEMASK, argp);
  } catch (e) {
    if (e instanceof Errno) return { done: true, rc: -e.errno };
    throw e;
  }
}

/** Largest argument an ioctl request can describe (14-bit size field). */
const MAX_ARG = IOC.SIZEMASK;
/** The kernel buffer of the call being served (drm_ioctl's stack_kdata); parked calls get a copy. */
const scratch = new Uint8Array(MAX_ARG + 1);
const scratchView = new DataView(scratch.buffer);

function runEntry(entry: Entry, task: Task, file: IoctlFile, userDir: number, usize: number, argp: bigint): CallResult {
  const inSize = userDir & entry.kdir & IOC.WRITE ? usize : 0;
  const outSize = userDir & entry.kdir & IOC.READ ? usize : 0;
  const layout = entry.layout;
  const ksize = Math.max(inSize, outSize, layout.size);
  const um = task.um;
  if (inSize) um.copyFromUser(argp, inSize, scratch);
  scratch.fill(0, inSize, ksize);
  const ctx: IoctlCtx = { dev: file.dev, proc: task, file, um, args: structView(layout, scratchView) };
  let r: number | Wait;
  try {
    r = !entry.renderAllow && file.node === 'render' ? -EACCES : entry.handler(ctx);
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    r = -e.errno;
  }
  if (typeof r === 'number') return { done: true, rc: copyBack(ctx, scratch, outSize, argp, r) };
  // The call sleeps: its argument moves out of the shared scratch buffer.
  const own = scratch.slice(0, ksize);
  rebindView(ctx.args, new DataView(own.buffer));
  return { done: false, wait: r, finish: (rc) => copyBack(ctx, own, outSize, argp, rc) };
}

/** Copies `outSize` bytes of the kernel buffer back (even after a failure); a fault is -EFAULT. */
function copyBack(ctx: IoctlCtx, kbuf: Uint8Array, outSize: number, argp: bigint, rc: number): number {
  if (!outSize) return rc;
  try {
    ctx.um.copyToUser(argp, kbuf, outSize);
  } catch (e) {
    if (e instanceof Errno) return -EFAULT;
    throw e;
  }
  return rc;
}
