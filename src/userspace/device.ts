/**
 * createDevice: boots an emulated machine with one xe device. The kernel runs in a worker
 * thread started by its file URL (user space never imports the kernel); physical memory,
 * the control block and page tables are SharedArrayBuffers handed to it at start.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { threadId, Worker } from 'node:worker_threads';
import { CpuPageTable } from '../hw/cpu_mmu.js';
import { createRegions } from '../hw/memory.js';
import { getProfile, type Profile, type ProfileName } from '../hw/profile.js';
import * as ch from '../uapi/channel.js';
import type { TraceOptions } from '../uapi/trace.js';
import { DeviceClosed } from './channel.js';
import { Process, type ThreadHandle } from './process.js';

/** Options of createDevice. */
export interface DeviceOptions {
  /** Platform profile: 'lnl' (default), 'bmg', 'dg2', 'tgl'. Another name throws, listing these. */
  profile?: ProfileName;
  /** System memory pool size in bytes (default: the profile's). */
  sysmem?: number;
  /** VRAM size per tile in bytes (default: the profile's; ignored on integrated parts). */
  vram?: number;
  /** Linux capability numbers of the default process (see CAP in src/uapi/channel.ts). */
  caps?: number[];
  /**
   * Keep a kernel log of failed calls, one line each with the pid, the call, the errno and
   * the reason (like drm.debug lines in dmesg); read it with `dev.dmesg()`. Default off.
   */
  dmesg?: boolean;
  /**
   * Record every call of every process and thread of the device to this trace file
   * (docs/trace-format.md); `dev.close()` finishes it. Default: no recording, unless the
   * environment variable XE_EMU_RECORD_DIR names a folder (see recordPath).
   */
  record?: string;
  /**
   * Mark the user pages shared with the GPU (mappings of BOs and dma-bufs, pinned userptr
   * pages, faulted-in mirror pages) PTE_TRACED, as a recording device does, without
   * recording: what a replay needs to know which memory the GPU owns. Default off.
   */
  markShared?: boolean;
}

/** Options of createProcess. */
export interface ProcessOptions {
  caps?: number[];
}

const WORKER_URL = new URL('../kernel/worker.js', import.meta.url);

function capMask(caps: number[] = []): bigint {
  return caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);
}

/** A running emulated device. */
export class Device {
  /** The default process (pid 1), usable from the thread that created the device. */
  readonly process: Process;
  private closed = false;

  constructor(
    readonly profile: Profile,
    private readonly worker: Worker,
    private readonly base: Omit<ThreadHandle, 'ptSab' | 'pid' | 'slot'>,
    ptSab: SharedArrayBuffer,
  ) {
    this.process = new Process({ ...base, ptSab, pid: 1, slot: 0 });
  }

  /** A new process with its own address space, fd table and handles. */
  createProcess(opts: ProcessOptions = {}): Process {
    if (this.closed) throw new DeviceClosed();
    const ptSab = CpuPageTable.allocate();
    this.worker.postMessage({ ptSab });
    const r = this.process.rawSyscall(ch.SYS.PROCESS_CREATE, capMask(opts.caps));
    return new Process({ ...this.base, ptSab, pid: Number(r[0]), slot: Number(r[1]) });
  }

  /**
   * Kills process `p` (SIGKILL, from the device's default process): its fds are closed, its
   * memory unmapped, and a call blocked in any of its threads throws ProcessExited. Throws
   * if `p` has already exited.
   */
  kill(p: Process): void {
    if (this.process.kill(p.pid) < 0) throw new Error(`kill(${p.pid}) failed: ${this.process.lastError?.message}`);
  }

  /**
   * The kernel's log of failed calls (oldest first, the last 1000), when the device was
   * created with `dmesg: true`; else empty. A line reads
   * "[DRM_IOCTL_XE_VM_DESTROY] pid 1: ENOENT (-2): drm_xe_vm_destroy.vm_id 9: no such VM".
   */
  dmesg(): string[] {
    if (this.closed) throw new DeviceClosed();
    const p = this.process;
    const size = p.syslog(0n, 0);
    if (size <= 0) return [];
    const buf = p.mem.alloc(size);
    try {
      // Lines logged in between only add to the end; the first `size` bytes are whole lines.
      p.syslog(buf, size);
      return new TextDecoder().decode(p.mem.read(buf, size)).split('\n').filter((l) => l);
    } finally {
      p.mem.free(buf);
    }
  }

  /**
   * Stops the kernel and waits for its thread to end. A call in flight in any thread, and
   * every later call on the device or its processes, throws DeviceClosed; closing again
   * does nothing. The stop is asked for by `via` (default: the default process, which must
   * still be alive and idle).
   */
  async close(via: Process = this.process): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The worker is unref'd so that a forgotten close never keeps a program alive; while we
    // wait for it to end it must keep the event loop alive.
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    via.rawSyscall(ch.SYS.SHUTDOWN);
    await exited;
  }
}

/** Devices this thread has created under XE_EMU_RECORD_DIR. */
let recorded = 0;

/**
 * Where a device records: `opts.record`; without it, when XE_EMU_RECORD_DIR is set (say, to
 * record a whole test suite unchanged), `<dir>/<pid>-<n>.xetrace` with the program's pid and
 * the device's number in it (a worker thread's devices: `<pid>-t<threadId>-<n>.xetrace`).
 */
function recordPath(opts: DeviceOptions): string | undefined {
  const dir = process.env.XE_EMU_RECORD_DIR;
  if (opts.record !== undefined || !dir) return opts.record;
  mkdirSync(dir, { recursive: true });
  const thread = threadId === 0 ? '' : `t${threadId}-`;
  return join(dir, `${process.pid}-${thread}${recorded++}.xetrace`);
}

/** Boots a device. */
export async function createDevice(opts: DeviceOptions = {}): Promise<Device> {
  const profile = getProfile(opts.profile ?? 'lnl');
  const vram = profile.vram.map((v) => opts.vram ?? v);
  const regions = createRegions(opts.sysmem ?? profile.sysmem, vram);
  const control = new SharedArrayBuffer(ch.CONTROL_BYTES);
  const ptSab = CpuPageTable.allocate();
  const caps = opts.caps ?? [];
  const dmesg = opts.dmesg ?? false;
  const options: TraceOptions = { profile: profile.name, sysmem: opts.sysmem ?? null, vram: opts.vram ?? null, caps, dmesg };
  const path = recordPath(opts);
  const record = path === undefined ? undefined : { path: resolve(path), options };
  const markShared = opts.markShared ?? false;
  const worker = new Worker(WORKER_URL, { workerData: { control, regions, profile: profile.name, ptSab, caps, dmesg, record, markShared } });
  worker.unref();
  await started(worker, new Int32Array(control));
  return new Device(profile, worker, { control, regions }, ptSab);
}

function started(worker: Worker, ctl: Int32Array): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`xe-emu kernel exited during boot (code ${code})`)));
    const poll = (): void => {
      const st = Atomics.load(ctl, ch.CTL_STATUS);
      if (st === ch.KERNEL_RUNNING) {
        worker.removeAllListeners('exit');
        worker.removeListener('error', reject);
        resolve();
      } else if (st === ch.KERNEL_DEAD) reject(new Error('xe-emu kernel died during boot'));
      else setTimeout(poll, 1);
    };
    poll();
  });
}
