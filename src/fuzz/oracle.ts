/**
 * What the fuzzer checks besides "no internal error, no hang": the errnos each ioctl may
 * answer, and a snapshot of the kernel's observable state (fd tables, GEM and syncobj
 * handles, VMs, exec queues, syncobj contents, memory accounting) to prove that a failed
 * call changed nothing.
 */
import type { KFile } from '../kernel/os/file.js';
import type { Kernel } from '../kernel/os/kernel.js';
import { DrmFile } from '../kernel/drm/drm_file.js';
import { XeFile } from '../kernel/xe/xe_file.js';
import { ERRNO, type ErrnoName } from '../uapi/errno.js';
import { IOCTL_LIST } from '../uapi/uapi.js';

/**
 * Errnos any DRM ioctl may answer: dispatch (-ENOTTY foreign type, -EINVAL unknown number or
 * bad struct, -EACCES not render-allowed, -EFAULT copy-in/out, -EOPNOTSUPP a KMS slot without
 * modesetting), the fd lookup (-EBADF), a wedged device (-ECANCELED).
 */
const ANY: ErrnoName[] = ['EINVAL', 'EFAULT', 'ENOTTY', 'EACCES', 'EBADF', 'ECANCELED', 'EOPNOTSUPP'];

/** Errnos beyond ANY, by ioctl (from the handlers' documented failure paths). */
const EXTRA: Record<string, ErrnoName[]> = {
  DRM_IOCTL_VERSION: [],
  DRM_IOCTL_GET_CAP: [],
  DRM_IOCTL_SET_CLIENT_CAP: [],
  DRM_IOCTL_GEM_CLOSE: [],
  DRM_IOCTL_PRIME_HANDLE_TO_FD: ['ENOENT', 'EMFILE', 'EPERM', 'ENOSPC'],
  DRM_IOCTL_PRIME_FD_TO_HANDLE: ['ENOENT', 'ENOSPC', 'EPERM'],
  DRM_IOCTL_SYNCOBJ_CREATE: ['ENOMEM', 'ENOSPC'],
  DRM_IOCTL_SYNCOBJ_DESTROY: [],
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD: ['ENOENT', 'EMFILE'],
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE: ['ENOENT', 'ENOSPC', 'ENOMEM'],
  DRM_IOCTL_SYNCOBJ_WAIT: ['ENOENT', 'ETIME', 'ENOMEM'],
  DRM_IOCTL_SYNCOBJ_RESET: ['ENOENT', 'ENOMEM'],
  DRM_IOCTL_SYNCOBJ_SIGNAL: ['ENOENT', 'ENOMEM'],
  DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT: ['ENOENT', 'ETIME', 'ENOMEM'],
  DRM_IOCTL_SYNCOBJ_QUERY: ['ENOENT', 'ENOMEM'],
  // WAIT_FOR_SUBMIT: drm_syncobj_find_fence waits up to 5 s for the source point, then -ETIME.
  DRM_IOCTL_SYNCOBJ_TRANSFER: ['ENOENT', 'ENOMEM', 'ETIME'],
  DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL: ['ENOENT', 'ENOMEM'],
  DRM_IOCTL_SYNCOBJ_EVENTFD: ['ENOENT', 'ENOMEM'],
  DRM_IOCTL_SET_CLIENT_NAME: ['ENOMEM'],
  DRM_IOCTL_GEM_CHANGE_HANDLE: ['ENOENT', 'ENOSPC', 'ENOMEM'],
  DRM_IOCTL_XE_DEVICE_QUERY: ['ENODEV', 'ENOSPC', 'E2BIG'],
  DRM_IOCTL_XE_GEM_CREATE: ['ENOENT', 'ENODEV', 'ENOMEM', 'ENOSPC', 'EOPNOTSUPP', 'E2BIG'],
  DRM_IOCTL_XE_GEM_MMAP_OFFSET: ['ENOENT', 'ENODEV', 'ENOMEM', 'ENOSPC', 'E2BIG'],
  DRM_IOCTL_XE_VM_CREATE: ['ENOENT', 'E2BIG', 'EOPNOTSUPP'],
  DRM_IOCTL_XE_VM_DESTROY: ['ENOENT', 'EBUSY'],
  DRM_IOCTL_XE_EXEC_QUEUE_CREATE: ['ENOENT', 'ENODEV', 'EOPNOTSUPP', 'EPERM', 'EBUSY', 'E2BIG'],
  DRM_IOCTL_XE_EXEC_QUEUE_DESTROY: ['ENOENT'],
  DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY: ['ENOENT'],
  DRM_IOCTL_XE_EXEC_QUEUE_SET_PROPERTY: ['ENOENT', 'EPERM', 'EBUSY', 'E2BIG'],
  DRM_IOCTL_XE_EXEC: ['ENOENT', 'ECANCELED', 'EOPNOTSUPP', 'EAGAIN'],
  DRM_IOCTL_XE_WAIT_USER_FENCE: ['ENOENT', 'ETIME', 'EIO'],
  DRM_IOCTL_XE_MADVISE: ['ENOENT', 'ENOLINK'],
  DRM_IOCTL_XE_VM_QUERY_MEM_RANGE_ATTRS: ['ENOSPC'],
  DRM_IOCTL_XE_VM_GET_PROPERTY: ['ENOENT'],
};

const BY_NR = new Map<number, Set<number>>(
  IOCTL_LIST.map((io) => [io.nr, new Set([...ANY, ...(EXTRA[io.name] ?? [])].map((n) => ERRNO[n]))]),
);
const ANY_SET = new Set(ANY.map((n) => ERRNO[n]));

/** Whether ioctl `request` may fail with `errno` (by command number; a foreign number gets ANY). */
export function errnoAllowed(request: number, errno: number): boolean {
  const foreign = ((request >>> 8) & 0xff) !== 0x64;
  return (foreign ? ANY_SET : (BY_NR.get(request & 0xff) ?? ANY_SET)).has(errno);
}

/** Serial numbers of kernel objects, so that a snapshot names identities, not contents. */
const serials = new WeakMap<object, number>();
let nextSerial = 1;
function ident(o: unknown): string {
  if (o === null || o === undefined) return '-';
  if (typeof o !== 'object') return String(o);
  let n = serials.get(o);
  if (n === undefined) serials.set(o, (n = nextSerial++));
  return `#${n}`;
}

/** Own member names of each class, read once: the members `shallow` looks at. */
const keysOf = new WeakMap<object, string[]>();

/** An object's identity and its own scalar members (a queue's priority, a VM's flags...). */
function shallow(o: object): string {
  const proto = Object.getPrototypeOf(o) as object;
  let keys = keysOf.get(proto);
  if (!keys) keysOf.set(proto, (keys = Object.keys(o)));
  let out = ident(o);
  const rec = o as Record<string, unknown>;
  for (const k of keys) {
    const v = rec[k];
    const t = typeof v;
    if (t === 'number' || t === 'bigint' || t === 'boolean' || t === 'string') out += ` ${k}=${String(v)}`;
  }
  return out;
}

function table<T extends object>(name: string, entries: Array<[number, T]>, each: (v: T) => string): string {
  return `${name}{${entries.map(([id, v]) => `${id}:${each(v)}`).join(',')}}`;
}

function fileState(f: KFile): string {
  if (!(f instanceof DrmFile)) return ident(f) + f.kind;
  const parts = [
    shallow(f),
    table('gem', f.objects.entries(), (o) => ident(o)),
    table('syncobj', f.syncobjs.entries(), (s) => `${ident(s)}=${ident(s.fence)}`),
  ];
  if (f instanceof XeFile) {
    parts.push(table('vm', f.vms.entries(), shallow), table('q', f.execQueues.entries(), shallow));
  }
  return parts.join(' ');
}

/**
 * The observable kernel state, as a string to compare before and after a call: memory
 * accounting and the fd tables (with everything the files hold) of process `pid`, or of
 * every process. One ioctl reaches only its caller's files, and other processes' objects
 * through them, which the memory accounting shows.
 */
export function snapshot(kernel: Kernel, memUsage: bigint[], pid?: number): string {
  const out = [`mem=${memUsage.join('/')}`];
  for (const p of kernel.procs.values()) {
    if (pid === undefined || p.pid === pid) out.push(`pid ${p.pid}: ${table('fd', p.fds.entries(), fileState)}`);
  }
  return out.join('\n');
}
