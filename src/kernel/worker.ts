/**
 * Entry point of the kernel worker thread. Serves channel requests, re-checks parked calls,
 * then spins briefly and sleeps on the doorbell. A fatal error marks the kernel dead and
 * wakes every channel, so that no caller hangs on a dead kernel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ch from '../uapi/channel.js';
import { bootKernel } from './boot.js';
import type { BootData, Kernel } from './os/kernel.js';

/** The panic a DEBUG.KERNEL_PANIC call asks for (not a crash). */
class DeliberatePanic extends Error {}

/** Longest sleep, so the heartbeat keeps moving while idle. */
const MAX_SLEEP_MS = 250;
/**
 * Longest sleep while a batch polls memory that user space may write without a system call
 * (an MI_SEMAPHORE_WAIT): the write is seen within this time, and the idle kernel wakes
 * 1000 times a second instead of spinning.
 */
const POLL_SLEEP_MS = 1;

/** The kernel, once booted (a crash still finishes its trace file). */
let kernel: Kernel | null = null;

function run(boot: BootData): void {
  const ctl = new Int32Array(boot.control);
  const k = bootKernel(boot, parentPort);
  kernel = k;
  Atomics.store(ctl, ch.CTL_STATUS, ch.KERNEL_RUNNING);
  Atomics.notify(ctl, ch.CTL_STATUS);
  while (!k.stopped) {
    const served = k.serviceRequests();
    if (k.panicked) throw new DeliberatePanic('kernel panic (DEBUG.KERNEL_PANIC)');
    k.runWaits();
    // GPU work runs in bounded slices between calls; what it signals is seen at once.
    const gpu = k.runBackground();
    if (gpu !== 'idle') k.runWaits();
    if (served || gpu === 'busy' || k.stopped) continue;
    // Spin on the slots themselves: a posted request is seen without a doorbell.
    let spins = gpu === 'poll' ? 0 : ch.SPIN_ROUNDS;
    while (spins-- > 0 && !k.hasRequest());
    if (k.hasRequest()) continue;
    k.idle();
    Atomics.add(ctl, ch.CTL_HEARTBEAT, 1);
    // Announce the sleep, then look once more: a thread that posted before seeing the flag
    // is found by this scan; one that sees the flag rings the doorbell, which changes it
    // from `bell`, so the wait returns at once or is woken.
    const bell = Atomics.load(ctl, ch.CTL_DOORBELL);
    Atomics.store(ctl, ch.CTL_KERNEL_SLEEPING, 1);
    if (!k.hasRequest()) Atomics.wait(ctl, ch.CTL_DOORBELL, bell, k.sleepMs(gpu === 'poll' ? POLL_SLEEP_MS : MAX_SLEEP_MS));
    Atomics.store(ctl, ch.CTL_KERNEL_SLEEPING, 0);
  }
  k.finish();
  Atomics.store(ctl, ch.CTL_STATUS, ch.KERNEL_STOPPED);
  // Calls still in flight end now (DeviceClosed), not at their thread's next look.
  wakeChannels(ctl);
}

/** Wakes every user thread sleeping on its slot, so that it looks at the kernel status. */
function wakeChannels(ctl: Int32Array): void {
  for (let s = 0; s < ch.MAX_CHANNELS; s++) Atomics.notify(ctl, (ch.CTL_BYTES + s * ch.CHANNEL_BYTES) / 4 + ch.CH_STATE);
  Atomics.notify(ctl, ch.CTL_STATUS);
}

/** Marks the kernel dead and wakes every waiting user thread. */
function die(boot: BootData, e: unknown): void {
  try {
    kernel?.finish();
  } catch {
    // The trace is best effort on the way down; the panic report below matters more.
  }
  const ctl = new Int32Array(boot.control);
  Atomics.store(ctl, ch.CTL_STATUS, ch.KERNEL_DEAD);
  wakeChannels(ctl);
  // A panic asked for by DEBUG.KERNEL_PANIC gets one line; a real crash keeps its stack.
  if (e instanceof DeliberatePanic) console.error(`xe-emu kernel: ${e.message}`);
  else console.error('xe-emu kernel died:', e);
}

const boot = workerData as BootData;
try {
  run(boot);
} catch (e) {
  die(boot, e);
  process.exitCode = 1;
}
