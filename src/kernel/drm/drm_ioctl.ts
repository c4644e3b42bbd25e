/**
 * ioctl dispatch as DRM core does it (drm_ioctl.c): number ranges, size zero-extension,
 * copy in, permission check, handler, unconditional copy back. The driver's wedged check
 * (xe_drm_ioctl) runs before, in the driver file's ioctl op. Handlers see the argument as a
 * live view of the kernel buffer (reads and writes hit its bytes, as kdata in C); the buffer
 * is what is copied back.
 */
import { rebindView, structView, type Fields } from '../../uapi/codec.js';
import { CAP } from '../../uapi/channel.js';
import { EACCES, EFAULT, EINVAL, ENOTTY, EOPNOTSUPP } from '../../uapi/errno.js';
import { DRM_IOCTL_TYPE, IOC, ioc, iocDecode } from '../../uapi/ioctl.js';
import type { Layout } from '../../uapi/layout.js';
import type { IoctlDir } from '../../uapi/types.js';
import { C, IOCTL_LIST } from '../../uapi/uapi.js';
import { Errno, fail, reasonStruct } from '../os/errno.js';
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
  /** DRM_ROOT_ONLY: refused without CAP_SYS_ADMIN. */
  rootOnly: boolean;
  /** Direction bits of the kernel's request number. */
  kdir: number;
}

/** drm_ioctl_desc flags (drm_ioctl.h). */
const DRM_AUTH = 0x1;
const DRM_MASTER = 0x2;
const DRM_ROOT_ONLY = 0x4;

/**
 * What the handler of a core slot xe-emu does not serve answers on a primary node:
 * `kms` is a KMS handler, -EOPNOTSUPP without DRIVER_MODESET (drm_mode_*, leases, vblank);
 * `noop` is drm_noop (0); `invalid` is drm_invalid_op (-EINVAL); `unserved` runs real
 * functionality xe-emu lacks (auth, master, flink, dumb buffers) and answers -EINVAL.
 */
type SlotAnswer = 'kms' | 'noop' | 'invalid' | 'unserved';

/**
 * Core slots of drm_ioctls[] (newest drm_ioctl.c) that xe-emu does not serve, none with
 * DRM_RENDER_ALLOW: [nr, command direction, argument size (drm.h DRM_IO* definition),
 * drm_ioctl_desc flags, answer]. The copy-in and copy-back follow the command's direction
 * and size, the permission check comes after the copy-in, as for any slot.
 */
const UNSERVED_CORE_SLOTS: ReadonlyArray<readonly [number, IoctlDir, number, number, SlotAnswer]> = [
  [0x01, 'RW', 16, 0, 'unserved'], // GET_UNIQUE, struct drm_unique
  [0x02, 'R', 4, 0, 'unserved'], // GET_MAGIC, struct drm_auth
  [0x05, 'RW', 40, 0, 'unserved'], // GET_CLIENT, struct drm_client
  [0x06, 'R', 248, 0, 'unserved'], // GET_STATS, struct drm_stats
  [0x07, 'RW', 16, DRM_MASTER, 'unserved'], // SET_VERSION, struct drm_set_version
  [0x0a, 'RW', 8, DRM_AUTH, 'unserved'], // GEM_FLINK, struct drm_gem_flink
  [0x0b, 'RW', 16, DRM_AUTH, 'unserved'], // GEM_OPEN, struct drm_gem_open
  [0x10, 'W', 16, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY, 'invalid'], // SET_UNIQUE, struct drm_unique
  [0x11, 'W', 4, DRM_MASTER, 'unserved'], // AUTH_MAGIC, struct drm_auth
  [0x12, 'RW', 4, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY, 'noop'], // BLOCK, struct drm_block
  [0x13, 'RW', 4, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY, 'noop'], // UNBLOCK
  [0x1e, 'none', 0, 0, 'unserved'], // SET_MASTER
  [0x1f, 'none', 0, 0, 'unserved'], // DROP_MASTER
  [0x27, 'RW', 4, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY, 'noop'], // ADD_DRAW, struct drm_draw
  [0x28, 'RW', 4, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY, 'noop'], // RM_DRAW
  [0x2c, 'W', 8, DRM_AUTH, 'noop'], // FINISH, struct drm_lock
  [0x3a, 'RW', 24, 0, 'kms'], // WAIT_VBLANK, union drm_wait_vblank
  [0x3b, 'RW', 24, 0, 'kms'], // CRTC_GET_SEQUENCE
  [0x3c, 'RW', 24, 0, 'kms'], // CRTC_QUEUE_SEQUENCE
  [0x3f, 'W', 24, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY, 'noop'], // UPDATE_DRAW, struct drm_update_draw
  [0xa0, 'RW', 64, 0, 'kms'], // MODE_GETRESOURCES, struct drm_mode_card_res
  [0xa1, 'RW', 104, 0, 'kms'], // MODE_GETCRTC, struct drm_mode_crtc
  [0xa2, 'RW', 104, DRM_MASTER, 'kms'], // MODE_SETCRTC
  [0xa3, 'RW', 28, DRM_MASTER, 'kms'], // MODE_CURSOR, struct drm_mode_cursor
  [0xa4, 'RW', 32, 0, 'kms'], // MODE_GETGAMMA, struct drm_mode_crtc_lut
  [0xa5, 'RW', 32, DRM_MASTER, 'kms'], // MODE_SETGAMMA
  [0xa6, 'RW', 20, 0, 'kms'], // MODE_GETENCODER, struct drm_mode_get_encoder
  [0xa7, 'RW', 80, 0, 'kms'], // MODE_GETCONNECTOR, struct drm_mode_get_connector
  [0xa8, 'RW', 72, DRM_MASTER, 'noop'], // MODE_ATTACHMODE, struct drm_mode_mode_cmd
  [0xa9, 'RW', 72, DRM_MASTER, 'noop'], // MODE_DETACHMODE
  [0xaa, 'RW', 64, 0, 'kms'], // MODE_GETPROPERTY, struct drm_mode_get_property
  [0xab, 'RW', 16, DRM_MASTER, 'kms'], // MODE_SETPROPERTY, struct drm_mode_connector_set_property
  [0xac, 'RW', 16, 0, 'kms'], // MODE_GETPROPBLOB, struct drm_mode_get_blob
  [0xad, 'RW', 28, 0, 'kms'], // MODE_GETFB, struct drm_mode_fb_cmd
  [0xae, 'RW', 28, 0, 'kms'], // MODE_ADDFB
  [0xaf, 'RW', 4, 0, 'kms'], // MODE_RMFB, unsigned int
  [0xb0, 'RW', 24, DRM_MASTER, 'kms'], // MODE_PAGE_FLIP, struct drm_mode_crtc_page_flip
  [0xb1, 'RW', 24, DRM_MASTER, 'kms'], // MODE_DIRTYFB, struct drm_mode_fb_dirty_cmd
  [0xb2, 'RW', 32, 0, 'unserved'], // MODE_CREATE_DUMB, struct drm_mode_create_dumb
  [0xb3, 'RW', 16, 0, 'unserved'], // MODE_MAP_DUMB, struct drm_mode_map_dumb
  [0xb4, 'RW', 4, 0, 'unserved'], // MODE_DESTROY_DUMB, struct drm_mode_destroy_dumb
  [0xb5, 'RW', 16, 0, 'kms'], // MODE_GETPLANERESOURCES, struct drm_mode_get_plane_res
  [0xb6, 'RW', 32, 0, 'kms'], // MODE_GETPLANE, struct drm_mode_get_plane
  [0xb7, 'RW', 48, DRM_MASTER, 'kms'], // MODE_SETPLANE, struct drm_mode_set_plane
  [0xb8, 'RW', 104, 0, 'kms'], // MODE_ADDFB2, struct drm_mode_fb_cmd2
  [0xb9, 'RW', 32, 0, 'kms'], // MODE_OBJ_GETPROPERTIES, struct drm_mode_obj_get_properties
  [0xba, 'RW', 24, DRM_MASTER, 'kms'], // MODE_OBJ_SETPROPERTY, struct drm_mode_obj_set_property
  [0xbb, 'RW', 36, DRM_MASTER, 'kms'], // MODE_CURSOR2, struct drm_mode_cursor2
  [0xbc, 'RW', 56, DRM_MASTER, 'kms'], // MODE_ATOMIC, struct drm_mode_atomic
  [0xbd, 'RW', 16, 0, 'kms'], // MODE_CREATEPROPBLOB, struct drm_mode_create_blob
  [0xbe, 'RW', 4, 0, 'kms'], // MODE_DESTROYPROPBLOB, struct drm_mode_destroy_blob
  [0xc6, 'RW', 24, DRM_MASTER, 'kms'], // MODE_CREATE_LEASE, struct drm_mode_create_lease
  [0xc7, 'RW', 16, DRM_MASTER, 'kms'], // MODE_LIST_LESSEES, struct drm_mode_list_lessees
  [0xc8, 'RW', 16, DRM_MASTER, 'kms'], // MODE_GET_LEASE, struct drm_mode_get_lease
  [0xc9, 'RW', 4, DRM_MASTER, 'kms'], // MODE_REVOKE_LEASE, struct drm_mode_revoke_lease
  [0xce, 'RW', 104, 0, 'kms'], // MODE_GETFB2, struct drm_mode_fb_cmd2
  [0xd0, 'RW', 8, 0, 'kms'], // MODE_CLOSEFB, struct drm_mode_closefb
];

/** What a KMS handler checks of the device: drm_core_check_feature(dev, DRIVER_MODESET). */
interface KmsDevice {
  readonly modeset: boolean;
}

/** The handler of an unserved core slot. */
function slotHandler(answer: SlotAnswer): IoctlHandler {
  if (answer === 'noop') return () => 0;
  if (answer === 'kms') {
    return (c) =>
      (c.dev as KmsDevice).modeset
        ? fail(EINVAL, 'KMS ioctl: display state is not emulated')
        : fail(EOPNOTSUPP, 'KMS ioctl on a device without modesetting');
  }
  return () => fail(EINVAL, 'ioctl not implemented (legacy, master or auth ioctl)');
}

/** A core slot xe-emu does not serve, with the kernel's command direction and size. */
function unservedEntry([nr, dir, size, flags, answer]: (typeof UNSERVED_CORE_SLOTS)[number]): Entry {
  return {
    layout: { name: 'unserved', size, align: 1, members: [] },
    handler: slotHandler(answer),
    renderAllow: false,
    rootOnly: (flags & DRM_ROOT_ONLY) !== 0,
    kdir: iocDecode(ioc(dir, DRM_IOCTL_TYPE, nr, size)).dir,
  };
}

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
        ? {
            layout: io.layout,
            handler: h.handler,
            renderAllow: h.renderAllow ?? true,
            rootOnly: false,
            kdir: iocDecode(io.request).dir,
          }
        : undefined;
    }
    for (const slot of UNSERVED_CORE_SLOTS) this.core[slot[0]] ??= unservedEntry(slot);
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
    const type = (request >>> IOC.TYPESHIFT) & IOC.TYPEMASK;
    if (type !== DRM_IOCTL_TYPE) return { done: true, rc: fail(ENOTTY, 'request %x: type byte %x is not DRM (0x64)', request >>> 0, type) };
    const nr = (request >>> IOC.NRSHIFT) & IOC.NRMASK;
    const entry = table.lookup(nr);
    if (!entry) return { done: true, rc: fail(EINVAL, 'request %x: no ioctl number %x in this driver', request >>> 0, nr) };
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
    r = permitted(entry, file, task) ? entry.handler(ctx) : fail(EACCES, entry.rootOnly ? 'DRM_ROOT_ONLY: needs CAP_SYS_ADMIN' : 'not DRM_RENDER_ALLOW: primary node only');
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    r = -e.errno;
  }
  if (typeof r === 'number') return { done: true, rc: finish(layout, copyBack(ctx, scratch, outSize, argp, r)) };
  // The call sleeps: its argument moves out of the shared scratch buffer.
  const own = scratch.slice(0, ksize);
  rebindView(ctx.args, new DataView(own.buffer));
  return { done: false, wait: r, finish: (rc) => finish(layout, copyBack(ctx, own, outSize, argp, rc)) };
}

/** The call's result; a failure's reason about an argument field gets the struct's name. */
function finish(layout: Layout, rc: number): number {
  if (rc < 0) reasonStruct(-rc, layout.name);
  return rc;
}

/**
 * drm_ioctl_permit: DRM_ROOT_ONLY needs CAP_SYS_ADMIN; a render node runs only
 * DRM_RENDER_ALLOW slots. A primary-node file counts as the authenticated master (DRM_AUTH,
 * DRM_MASTER): xe-emu keeps no master state.
 */
function permitted(entry: Entry, file: IoctlFile, task: Task): boolean {
  if (entry.rootOnly && !task.capable(CAP.SYS_ADMIN)) return false;
  return entry.renderAllow || file.node !== 'render';
}

/** Copies `outSize` bytes of the kernel buffer back (even after a failure); a fault is -EFAULT. */
function copyBack(ctx: IoctlCtx, kbuf: Uint8Array, outSize: number, argp: bigint, rc: number): number {
  if (!outSize) return rc;
  try {
    ctx.um.copyToUser(argp, kbuf, outSize);
  } catch (e) {
    if (e instanceof Errno) return fail(EFAULT, 'copy back of %d bytes to argp: %s', outSize, e.reason);
    throw e;
  }
  return rc;
}
