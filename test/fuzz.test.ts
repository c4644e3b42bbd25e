// The fuzzer (src/fuzz): a short fixed-seed campaign on in-process kernels, its
// reproducibility, and proof that each oracle and the minimiser work. Then the real-threads
// mode: every ioctl of the table with random argument bytes through a real kernel worker.
import t from 'tap';
import { createDevice, errno, IOCTL_LIST } from '../src/index.js';
import { drm_get_cap, syncobj_create, xe_vm_create } from '../src/userspace/igt.js';
import { encode } from '../src/uapi/codec.js';
import { ioc, iocDecode } from '../src/uapi/ioctl.js';
import { C, IOCTL } from '../src/uapi/uapi.js';
import { pack } from '../src/uapi/codec.js';
import { DEBUG, SYS } from '../src/uapi/channel.js';
import { rng } from '../src/fuzz/gen.js';
import { ARG_ADDR, Executor, type Step } from '../src/fuzz/exec.js';
import { formatReproducer, minimise, replay, requestName, runCampaign, runEpisode } from '../src/fuzz/campaign.js';
import { errnoAllowed, snapshot } from '../src/fuzz/oracle.js';

/** Members that would make a call block (waits): forced to "do not wait" after randomising. */
const NO_WAIT: Record<string, Record<string, number | bigint>> = {
  drm_syncobj_wait: { timeout_nsec: 0n },
  drm_syncobj_timeline_wait: { timeout_nsec: 0n },
  drm_xe_wait_user_fence: { timeout: 0n },
  drm_syncobj_transfer: { flags: 0 },
};

const DIRS = ['none', 'W', 'R', 'RW'] as const;

t.test('a fixed-seed campaign of model-aware and random programs finds nothing', async (t) => {
  const r = runCampaign(0x5eed, 12_000, { steps: 1500, checkEvery: 1 });
  const f = r.finding;
  t.equal(f, null, f ? formatReproducer(f.seed, f.finding, f.program, 1500) : 'no finding');
  t.ok(r.ioctls >= 12_000 && r.episodes >= 2, `${r.ioctls} ioctls in ${r.episodes} episodes`);
});

t.test('the same seed gives the same program and the same answers', async (t) => {
  const a = runEpisode(77, { steps: 800, checkEvery: 1 });
  const b = runEpisode(77, { steps: 800, checkEvery: 1 });
  t.equal(a.program.length, 800);
  t.same(b.program, a.program, 'identical steps');
  t.equal(b.ioctls, a.ioctls);
  t.not(JSON.stringify(runEpisode(78, { steps: 50, checkEvery: 1 }).program, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    JSON.stringify(a.program.slice(0, 50), (_k, v) => (typeof v === 'bigint' ? String(v) : v)), 'another seed, another program');
});

const bugStep: Step = { op: 'sys', slot: 0, nr: SYS.DEBUG, args: [BigInt(DEBUG.KERNEL_BUG)] };

t.test('an internal kernel error is a finding, minimised to the one call that causes it', async (t) => {
  const program = runEpisode(5, { steps: 300, checkEvery: 1 }).program;
  // Before a later call of thread 0: that thread is alive and idle there.
  const at = program.findIndex((s, i) => i >= 100 && s.op !== 'tick' && s.slot === 0);
  t.ok(at >= 100, `thread 0 calls at step ${at}`);
  const withBug = [...program.slice(0, at), bugStep, ...program.slice(at)];
  const f = replay(withBug);
  t.match(f, { kind: 'bug', step: at, what: 'DEBUG' });
  t.match(f?.detail, /deliberate kernel bug/);
  const min = minimise(withBug, f!);
  t.same(min, [bugStep], 'minimised to the single step');
  t.match(formatReproducer(5, f!, min), /FINDING \(bug\) in DEBUG[^]*t0\.debug\(7n\);/);
});

t.test('a call parked past its timeout is a hang', async (t) => {
  const handles = pack('drm_syncobj_create', {});
  // The step claims a 1 ms timeout but asks the kernel for an endless wait on an empty syncobj.
  const wait: Step = {
    op: 'ioctl', slot: 0, fd: 3, request: IOCTL('DRM_IOCTL_SYNCOBJ_WAIT'), argp: ARG_ADDR, timeoutNs: 1_000_000n,
    arg: pack('drm_syncobj_wait', { handles: ARG_ADDR + 4096n, count_handles: 1, flags: C('DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT'), timeout_nsec: (1n << 63n) - 1n }),
    mem: [[ARG_ADDR + 4096n, new Uint8Array([1, 0, 0, 0])]],
  };
  const program: Step[] = [
    { op: 'sys', slot: 0, nr: SYS.OPEN, args: [0n] },
    { op: 'ioctl', slot: 0, fd: 3, request: IOCTL('DRM_IOCTL_SYNCOBJ_CREATE'), argp: ARG_ADDR, arg: handles, mem: [], timeoutNs: 0n },
    wait,
    { op: 'tick', ns: 2_000_000_000n },
  ];
  const ex = new Executor(1, requestName);
  t.teardown(() => ex.dispose());
  program.forEach((st, i) => t.equal(ex.exec(i, st).finding, null, `step ${i}: no finding yet (WAIT_FOR_SUBMIT may take 5 s)`));
  t.match(ex.exec(4, { op: 'tick', ns: 6_000_000_000n }).finding, { kind: 'hang', what: 'DRM_IOCTL_SYNCOBJ_WAIT', step: 4 }, 'past timeout + slack');
  t.match(replay(program), { kind: 'hang' }, 'the teardown oracle lets every timeout pass and sees it too');
});

t.test('the state snapshot sees objects and their properties; errno sets are per ioctl', async (t) => {
  const ex = new Executor(1, requestName);
  t.teardown(() => ex.dispose());
  const state = (): string => snapshot(ex.m.kernel, ex.m.memUsage());
  const s0 = state();
  ex.exec(0, { op: 'sys', slot: 0, nr: SYS.OPEN, args: [0n] });
  const s1 = state();
  t.not(s1, s0, 'an open file');
  const ioctl = (name: string, fields: Record<string, number | bigint>, struct: string): void => {
    ex.exec(1, { op: 'ioctl', slot: 0, fd: 3, request: IOCTL(name), argp: ARG_ADDR, arg: pack(struct, fields), mem: [], timeoutNs: 0n });
  };
  ioctl('DRM_IOCTL_SYNCOBJ_CREATE', {}, 'drm_syncobj_create');
  const s2 = state();
  t.not(s2, s1, 'a syncobj');
  ioctl('DRM_IOCTL_SYNCOBJ_SIGNAL', { handles: ARG_ADDR + 64n, count_handles: 0 }, 'drm_syncobj_array');
  t.equal(state(), s2, 'a failed call changes nothing');
  ioctl('DRM_IOCTL_XE_GEM_CREATE', { size: 4096n, placement: 1, cpu_caching: 1 }, 'drm_xe_gem_create');
  t.not(state(), s2, 'a BO: its handle and its pages');
  t.ok(errnoAllowed(IOCTL('DRM_IOCTL_SYNCOBJ_WAIT'), errno.ETIME), 'ETIME from a wait');
  t.notOk(errnoAllowed(IOCTL('DRM_IOCTL_GET_CAP'), errno.ENOENT), 'no ENOENT from GET_CAP');
  t.notOk(errnoAllowed(IOCTL('DRM_IOCTL_XE_VM_CREATE'), errno.ETIME), 'no ETIME from VM_CREATE');
});

t.test('random arguments to every ioctl never hurt the kernel', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  // Some objects for the random calls to find: ids 1.. of each kind exist.
  xe_vm_create(p, fd, 0);
  syncobj_create(p, fd, C('DRM_SYNCOBJ_CREATE_SIGNALED'));
  syncobj_create(p, fd);
  const next = rng(0x5eed);
  const PLAY = 64 * 1024;
  const play = p.mem.alloc(PLAY, 4096);
  const arg = p.mem.alloc(16384, 4096);
  const pointerInto = (): bigint => play + BigInt(next() % PLAY & ~7);
  const randomBytes = (n: number, withPointers: boolean): Uint8Array => {
    const b = new Uint8Array(n);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < n; i += 4) dv.setUint32(i, next() % 4 === 0 ? next() % 8 : next());
    if (withPointers) {
      for (let i = 0; i + 8 <= n; i += 8) {
        const r = next() % 8;
        if (r === 0) dv.setBigUint64(i, pointerInto(), true);
        else if (r === 1) dv.setBigUint64(i, BigInt(next() % 4), true); // small counts and ids
      }
    }
    return b;
  };
  p.mem.write(play, randomBytes(PLAY, true));

  let calls = 0;
  const seen = new Set<number>();
  for (const io of IOCTL_LIST) {
    for (let round = 0; round < 60; round++) {
      const size = io.layout.size;
      const bytes = randomBytes(size, true);
      if (NO_WAIT[io.layout.name]) encode(io.layout.name, NO_WAIT[io.layout.name], bytes);
      p.mem.write(arg, bytes);
      let request = io.request;
      if (round % 10 === 9) {
        // Odd sizes and directions for the same command number.
        const dir = DIRS[next() % 4];
        request = ioc(dir, 0x64, io.nr, Math.min(0x3fff, next() % (size * 2 + 1)));
      }
      if (round % 15 === 14) request = ioc('RW', 0x64, io.nr, 0x3fff); // the largest size
      const waitLike = NO_WAIT[io.layout.name] !== undefined;
      // A resized wait may lose its "do not wait" member; keep those at the exact size.
      if (waitLike && iocDecode(request).size !== size) request = io.request;
      const rc = p.ioctl(fd, request, round % 20 === 19 ? 0x10n : arg);
      calls++;
      if (rc < 0) seen.add(p.errno);
    }
  }
  t.equal(calls, IOCTL_LIST.length * 60, 'every call returned');
  t.ok(seen.has(errno.EINVAL) && seen.has(errno.EFAULT), `errnos seen: ${[...seen].sort((a, b) => a - b).join(', ')}`);
  t.equal(drm_get_cap(p, fd, C('DRM_CAP_SYNCOBJ')), 1n, 'the kernel still serves calls');
  const p2 = dev.createProcess();
  t.equal(drm_get_cap(p2, p2.open(), C('DRM_CAP_SYNCOBJ')), 1n, 'and other processes');
  await dev.close();
});
