/**
 * The user/kernel channel: the shared-memory "syscall ABI" between user threads and the
 * kernel worker. It is ABI in the same sense as the ioctl structs (a C shim will speak it
 * too), so its layout lives here, not in src/kernel or src/userspace.
 *
 * Control block (one per device, Int32 words):
 *   DOORBELL  bumped by a user thread that posted a request while the kernel sleeps on it
 *   HEARTBEAT bumped by the kernel every loop turn, so waiters can tell a dead kernel
 *   STATUS    KERNEL_* below
 *   CHANNELS  channel slots, CHANNEL_BYTES each, follow the control words
 *
 * Channel slot (one per user thread), as Int32 words and 64-bit words:
 *   STATE, SYSCALL, RESULT, ERRNO, PID, SLEEPING, then 64-bit argument words ARG0.. and
 *   return words RET0..
 *
 * A call on a slot: the thread moves STATE from IDLE to CLAIMED (compare-and-swap), checks
 * that PID is still its process, writes SYSCALL and the arguments, and moves CLAIMED to
 * REQUEST (compare-and-swap). The kernel sets BUSY while serving, then DONE (or KERNEL_BUG);
 * the thread reads the result and moves DONE back to IDLE (compare-and-swap). When the
 * slot's process exits or is killed, the kernel sets EXITED on each of its slots, whatever
 * they were doing: a call in flight ends unanswered and later calls fail. The kernel hands an
 * EXITED slot out again only by writing the new owner's PID before IDLE, so a thread of the
 * dead process that claims it sees a foreign PID and backs off.
 *
 * Message area (MSG, after the return words): NUL-terminated UTF-8 text, cut to
 * CH_MSG_BYTES - 1 bytes (one call, SYS.TRACE_ACCESS, may carry bytes there the other way). After a call that failed (state DONE, RESULT -1) it holds the
 * reason the kernel gives for ERRNO (e.g. "drm_xe_gem_create.flags 0x80: unknown flag bits
 * 0x80"); after a kernel bug (state KERNEL_BUG) the bug report. After a successful call it is
 * stale: read it only when RESULT is -1.
 */

/** Int32 index of the doorbell counter in the control block. */
export const CTL_DOORBELL = 0;
/** Int32 index of the kernel heartbeat counter. */
export const CTL_HEARTBEAT = 1;
/** Int32 index of the kernel status word. */
export const CTL_STATUS = 2;
/** Int32 index of the raw ping-pong word (benchmark baseline: odd = ping, even = pong). */
export const CTL_PING = 4;
/** Int32 index of the kernel's "sleeping on the doorbell" flag: ring with notify only when set. */
export const CTL_KERNEL_SLEEPING = 5;
/** Bytes of control words before the first channel slot. */
export const CTL_BYTES = 64;

/** Spin iterations either side makes before sleeping in Atomics.wait. */
export const SPIN_ROUNDS = 20000;

/** Kernel status values. */
export const KERNEL_STARTING = 0;
export const KERNEL_RUNNING = 1;
export const KERNEL_DEAD = 2;
export const KERNEL_STOPPED = 3;

/** Bytes per channel slot. */
export const CHANNEL_BYTES = 256;
/** Number of channel slots (user threads across all processes) per device. */
export const MAX_CHANNELS = 256;
/** Total size of the control SharedArrayBuffer. */
export const CONTROL_BYTES = CTL_BYTES + CHANNEL_BYTES * MAX_CHANNELS;

/** Int32 offsets inside a channel slot. */
export const CH_STATE = 0;
export const CH_SYSCALL = 1;
export const CH_RESULT = 2;
export const CH_ERRNO = 3;
/** Process id that owns the slot (written by the kernel before the slot becomes IDLE). */
export const CH_PID = 4;
/** Set while the slot's thread sleeps on STATE: the kernel notifies only then. */
export const CH_SLEEPING = 5;
/** Byte offset of the 64-bit argument words inside a slot. */
export const CH_ARGS_BYTE = 32;
/** Number of 64-bit argument words. */
export const CH_NARGS = 8;
/** Byte offset of the 64-bit return words inside a slot. */
export const CH_RETS_BYTE = CH_ARGS_BYTE + 8 * CH_NARGS;
/** Number of 64-bit return words. */
export const CH_NRETS = 4;
/** Byte offset of the message area (UTF-8 reason of a failed call, or a kernel bug report). */
export const CH_MSG_BYTE = CH_RETS_BYTE + 8 * CH_NRETS;
/** Size of the message area. */
export const CH_MSG_BYTES = CHANNEL_BYTES - CH_MSG_BYTE;

/** Slot states. */
export const ST_FREE = 0;
export const ST_IDLE = 1;
export const ST_REQUEST = 2;
export const ST_BUSY = 3;
export const ST_DONE = 4;
/** The kernel hit an internal error while serving the call (message in the slot). */
export const ST_KERNEL_BUG = 5;
/** A user thread is writing a call into the slot (between IDLE and REQUEST). */
export const ST_CLAIMED = 6;
/** The slot's process exited or was killed: no call on it is answered any more. */
export const ST_EXITED = 7;

/** System calls a user thread can make. Arguments are 64-bit words ARG0..; results RET0... */
export const SYS = {
  /** ioctl(fd, request, argp) -> RESULT 0 / -1 with ERRNO */
  IOCTL: 1,
  /** open(node) -> fd. ARG0: 0 = render node, 1 = primary node */
  OPEN: 2,
  /** close(fd) */
  CLOSE: 3,
  /**
   * mmap(length, prot, fd, offset, addr, flags) -> RET0 address. fd -1 = anonymous; flags
   * MAP_FIXED / MAP_FIXED_NOREPLACE place the mapping at addr, else addr is a hint (0: none)
   */
  MMAP: 4,
  /** munmap(addr, length) */
  MUNMAP: 5,
  /** malloc(size, align) -> RET0 address of zeroed memory */
  MALLOC: 6,
  /** free(addr) */
  FREE: 7,
  /** thread_create() -> RET0 channel slot for a new thread of the same process */
  THREAD_CREATE: 8,
  /** thread_exit(): releases the calling thread's slot */
  THREAD_EXIT: 9,
  /** process_create(caps) -> RET0 pid, RET1 slot of its first thread (page table SAB sent by message) */
  PROCESS_CREATE: 10,
  /** process_exit(): closes every fd and releases the process */
  PROCESS_EXIT: 11,
  /** eventfd(initval, flags) -> fd */
  EVENTFD: 12,
  /** read(fd, buf, len) -> bytes read (eventfd: 8-byte counter) */
  READ: 13,
  /** dup(fd) -> new fd */
  DUP: 14,
  /** Emulator control (debugfs-like): ARG0 = DEBUG_* op */
  DEBUG: 15,
  /** Stops the kernel (device close). */
  SHUTDOWN: 16,
  /**
   * Benchmark baseline: after answering, the kernel thread answers ARG0 raw ping-pongs on
   * CTL_PING, bypassing all syscall work: with the channels' spin-then-sleep protocol, or
   * (ARG1 = 0) sleeping in Atomics.wait at once.
   */
  PINGPONG: 17,
  /** getpid() -> RESULT pid: the cheapest real system call (the bench's transport figure). */
  GETPID: 18,
  /** kill(pid, SIGKILL): process ARG0 exits at once; its blocked calls end unanswered. ESRCH if none */
  KILL: 19,
  /**
   * pidfd_getfd(pid, fd) -> new fd: installs the open file behind fd ARG1 of process ARG0 (a
   * new reference to the same file) at the caller's lowest free fd. ESRCH, EBADF, EMFILE
   */
  GETFD: 20,
  /** setrlimit(resource, cur, max): RLIMIT_NOFILE (7) only */
  SETRLIMIT: 21,
  /**
   * syslog(buf, len) -> RESULT size of the kernel's failure log (one line per failed call
   * with its reason, kept when the device was created with the log on); copies its first
   * `len` bytes to `buf`. len 0 only asks for the size.
   */
  SYSLOG: 22,
  /**
   * trace_access(addr, len, write, inMsg): user code just read (ARG2 0) or wrote (ARG2 1)
   * the `len` bytes at `addr`, in pages the kernel marked PTE_TRACED (shared with the GPU
   * under a trace). A recording kernel writes a cpu_read / cpu_write trace record with the
   * bytes: with ARG3 1, those the caller put in the slot's message area (len at most
   * CH_MSG_BYTES: exactly what it read or wrote); with ARG3 0, those in memory now. Without a
   * trace it returns 0 at once. Not itself recorded. EINVAL: len 0, over TRACE_ACCESS_MAX,
   * or over CH_MSG_BYTES with ARG3 1; EFAULT: the range is not mapped.
   */
  TRACE_ACCESS: 23,
} as const;

/** Largest `len` of SYS.TRACE_ACCESS (an access is split into reports of at most this). */
export const TRACE_ACCESS_MAX = 1 << 24;

/** mmap flag (asm-generic/mman-common.h): map exactly at addr, replacing what is there. */
export const MAP_FIXED = 0x10;
/** mmap flag: map exactly at addr; -EEXIST if anything is mapped in the range. */
export const MAP_FIXED_NOREPLACE = 0x100000;

const SYS_NAMES = new Map<number, string>(Object.entries(SYS).map(([k, v]) => [v, k.toLowerCase()]));

/** The name of system call `nr` for messages ('mmap', 'close', ...; 'syscall <nr>' when unknown). */
export function sysName(nr: number): string {
  return SYS_NAMES.get(nr) ?? `syscall ${nr}`;
}

/** Emulator control operations (SYS.DEBUG ARG0), for tests and fault injection. */
export const DEBUG = {
  /** Wedge or unwedge the device. ARG1: 1 wedge, 0 clear. */
  WEDGE: 1,
  /** Attach a new pending fence to syncobj ARG2 of fd ARG1 (point ARG3, 0 = replace). RET0 = fence id */
  FENCE_ATTACH: 2,
  /** Signal fence ARG1 with error -ARG2 (0 = success). */
  FENCE_SIGNAL: 3,
  /** Write u64 ARG2 at user address ARG1 as the GPU would, and wake user-fence waiters. */
  UFENCE_WRITE: 4,
  /** Ban exec queue ARG2 of fd ARG1 (as after a hang). */
  QUEUE_BAN: 5,
  /** Physical pages in use: RET0 system, RET1 vram. */
  MEM_USAGE: 6,
  /** Makes the kernel hit an internal error while serving this call (tests that it surfaces). */
  KERNEL_BUG: 7,
  /** After answering, the kernel thread dies (tests that no caller hangs on a dead kernel). */
  KERNEL_PANIC: 8,
  /** Calls parked in the kernel (blocked): RET0 count. Lets tests act while a call blocks. */
  PARKED: 9,
  /**
   * The client name of DRM fd ARG1 (SET_CLIENT_NAME; fdinfo drm-client-name): copied to user
   * address ARG2, at most ARG3 bytes, no NUL. RET0 = its length, 0 when the file has none.
   */
  CLIENT_NAME: 10,
  /**
   * Fault injection into VM_BIND: the ARG1-th VMA creation, page-table step, page-table
   * allocation or job submission from now fails with -ENOMEM (0 disarms). RET0 = the steps
   * that were left of the previous setting (0: it fired, or none was armed).
   */
  BIND_FAIL: 11,
  /*
   * VM inspection (uapi/vm_inspect.ts). ARG1 names the VM: the DRM fd in bits 0-31, the
   * vm_id in bits 32-63 (-EBADF: not an xe fd, -ENOENT: no such VM). The text answers
   * (UTF-8, no NUL) go to user buffer ARG2 of ARG3 bytes: RET0 = the answer's length; ARG3 0
   * only asks for the length; a buffer shorter than the answer is -ENOSPC and gets nothing
   * (ask again: the VM may have changed between the calls).
   */
  /** JSON VmInfoWire: the VM, its VMAs and its page-table statistics. */
  VM_INFO: 12,
  /** Text dump of the VM (header, VMAs, page-table tree), like a debugfs file. */
  VM_DUMP: 13,
  /** JSON VmViolationWire[]: the invariant checker (VMA tree against a walk of the page-table bytes). */
  VM_CHECK: 14,
  /**
   * GPU read of ARG4 bytes at GPU VA ARG2 of the VM into user buffer ARG3, through the VM's
   * GPU MMU (ARG4 > GPU_ACCESS_MAX: -E2BIG). RET0 = bytes done (all, or those before the
   * faulting page); RET1 = fault kind code (0: none, else GPU_FAULT_KINDS index + 1); RET2 =
   * the faulting VA; RET3 = its level | access code << 8 (GPU_ACCESS_KINDS).
   */
  GPU_READ: 15,
  /** GPU write of ARG4 bytes from user buffer ARG3 at GPU VA ARG2; answers as GPU_READ. */
  GPU_WRITE: 16,
  /*
   * Queue and engine inspection (uapi/sched_inspect.ts), answered into user buffer ARG2 of
   * ARG3 bytes with the protocol of VM_INFO. ARG1: the DRM fd in bits 0-31 (-EBADF: not an
   * xe fd) and the object in bits 32-63.
   */
  /** JSON QueueInfoWire of exec queue (bits 32-63) of the fd: its jobs, fences, ban, engines. -ENOENT: no such queue. */
  QUEUE_INFO: 17,
  /**
   * JSON EngineTraceWire: the commands the engine named by bits 32-63 (engineSelector: class,
   * logical instance, gt_id) executed, decoded. -ENOENT: no such engine.
   */
  ENGINE_TRACE: 18,
  /**
   * Lets the device settle (trace replay): runs GPU work and re-checks parked calls until
   * nothing is runnable or ARG1 slices are spent (0: a default budget). RET0 = 1 when the GPU
   * is idle or only polls memory, 0 when work is still runnable; RET1 = nanoseconds until the
   * nearest deadline of a parked call or of GPU work (a job timeout), all ones when none.
   */
  SETTLE: 19,
} as const;

/** mmap prot bits of SYS.MMAP (PROT_READ, PROT_WRITE). */
export const PROT = {
  READ: 1,
  WRITE: 2,
} as const;

/** Resource limits of SYS.SETRLIMIT (asm-generic/resource.h numbers). */
export const RLIMIT = {
  NOFILE: 7,
} as const;

/** Capabilities a process may hold (Linux capability numbers). */
export const CAP = {
  SYS_ADMIN: 21,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  PERFMON: 38,
} as const;
