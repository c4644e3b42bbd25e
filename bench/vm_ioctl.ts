/**
 * VM_BIND through the ioctl on a worker device, as users call it (issue 7 item 9): bind +
 * unbind of one 4K page in a VM already holding N VMAs, against a GET_CAP round trip in the
 * same interleaved rounds; and a 1 GiB bind + unbind of a contiguous BO. The N VMAs are made
 * with bind arrays, and that setup is timed on its own.
 */
import { createDevice, C, IOCTL, pack, type Process } from '../src/index.js';
import { layoutOf } from '../src/uapi/uapi.js';
import { packArray } from '../src/uapi/codec.js';
import { __ioctl } from '../src/userspace/igt.js';

const PAGE = 0x1000n;
const OPS_PER_CALL = 4096;
const VM_BIND = IOCTL('DRM_IOCTL_XE_VM_BIND');
const MAP = C('DRM_XE_VM_BIND_OP_MAP');
const UNMAP = C('DRM_XE_VM_BIND_OP_UNMAP');
const WB = C('DRM_XE_GEM_CPU_CACHING_WB');
const WC = C('DRM_XE_GEM_CPU_CACHING_WC');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** ms of one call of `fn`. */
function ms(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** A drm_xe_vm_bind of one inline op, packed once in user memory: its address. */
function bindArg(p: Process, vm: number, op: Record<string, unknown>): bigint {
  const a = p.mem.alloc(layoutOf('drm_xe_vm_bind').size, 8);
  p.mem.write(a, pack('drm_xe_vm_bind', { vm_id: vm, num_binds: 1, bind: { pat_index: 2, ...op } }));
  return a;
}

/** `n` 4K VMAs of `bo` at every other page from 0, in arrays of OPS_PER_CALL. */
function populate(p: Process, fd: number, vm: number, bo: number, n: number): void {
  const opSize = layoutOf('drm_xe_vm_bind_op').size;
  const vec = p.mem.alloc(opSize * OPS_PER_CALL, 8);
  for (let i = 0; i < n; i += OPS_PER_CALL) {
    const k = Math.min(OPS_PER_CALL, n - i);
    const ops = Array.from({ length: k }, (_, j) => ({ op: MAP, obj: bo, addr: BigInt(i + j) * 2n * PAGE, range: PAGE, pat_index: 2 }));
    p.mem.write(vec, packArray('drm_xe_vm_bind_op', ops));
    const r = __ioctl(p, fd, 'DRM_IOCTL_XE_VM_BIND', { vm_id: vm, num_binds: k, vector_of_binds: vec });
    if (r.err) throw new Error(`populate: VM_BIND ${r.err}`);
  }
}

/** Bind + unbind scaling through the ioctl, as ratios to N = sizes[0] and to GET_CAP. */
async function bindScalingIoctl(log: (s: string) => void, sizes: number[], pairs: number, rounds: number): Promise<void> {
  const dev = await createDevice({ profile: 'lnl', sysmem: 512 << 20 });
  try {
    const p = dev.process;
    const fd = p.open();
    const bo = Number(__ioctl(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', { size: PAGE, placement: 1, cpu_caching: WB }).out.handle);
    const check = (ok: boolean, what: string): void => {
      if (!ok) throw new Error(`${what}: errno ${p.errno}`);
    };
    const cap = p.mem.alloc(16, 8);
    p.mem.write(cap, pack('drm_get_cap', { capability: C('DRM_CAP_SYNCOBJ') }));
    const getCap = IOCTL('DRM_IOCTL_GET_CAP');
    const bodies: Record<string, () => void> = {
      getcap: () => {
        for (let i = 0; i < pairs; i++) check(p.ioctl(fd, getCap, cap) === 0, 'GET_CAP');
      },
    };
    const setup: number[] = [];
    for (const n of sizes) {
      const vm = Number(__ioctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', { flags: 0 }).out.vm_id);
      setup.push(ms(() => populate(p, fd, vm, bo, n)));
      const hole = BigInt(n >> 1) * 2n * PAGE + PAGE;
      const map = bindArg(p, vm, { op: MAP, obj: bo, addr: hole, range: PAGE });
      const unmap = bindArg(p, vm, { op: UNMAP, addr: hole, range: PAGE });
      bodies[n] = () => {
        for (let i = 0; i < pairs; i++) {
          check(p.ioctl(fd, VM_BIND, map) === 0, 'VM_BIND map');
          check(p.ioctl(fd, VM_BIND, unmap) === 0, 'VM_BIND unmap');
        }
      };
    }
    const samples: Record<string, number[]> = {};
    for (const [k, body] of Object.entries(bodies)) {
      body();
      samples[k] = [];
    }
    for (let r = 0; r < rounds; r++) for (const [k, body] of Object.entries(bodies)) samples[k].push((ms(body) * 1e6) / pairs);
    const ratio = (a: string, b: string): number => median(samples[a].map((x, r) => x / samples[b][r]));
    const first = String(sizes[0]);
    log(`  VM_BIND ioctl (worker device) bind + unbind of one 4K page among N 4K VMAs; GET_CAP ${(median(samples.getcap) / 1000).toFixed(2)} us:`);
    sizes.forEach((n, i) => {
      const k = String(n);
      const per = median(samples[k]) / 1000;
      log(`    N = ${n.toExponential(0).replace('+', '')}  ${per.toFixed(2)} us   ${ratio(k, first).toFixed(2)}x N = 1e3 (target <= 2x), ` +
        `${ratio(k, 'getcap').toFixed(1)}x GET_CAP (target <= 10x); setup ${(setup[i] / 1000).toFixed(1)} s in arrays of ${OPS_PER_CALL}`);
    });
  } finally {
    await dev.close();
  }
}

/**
 * 1 GiB bind + unbind through the ioctl of a 1 GiB BMG VRAM BO, the first of a fresh device
 * (so physically contiguous and 1G-aligned), with the leaves used.
 */
async function gigBindIoctl(log: (s: string) => void, rounds: number): Promise<void> {
  const dev = await createDevice({ profile: 'bmg', vram: (1 << 30) + (64 << 20) });
  try {
    const p = dev.process;
    const fd = p.open();
    const bo = Number(__ioctl(p, fd, 'DRM_IOCTL_XE_GEM_CREATE', { size: 1n << 30n, placement: 2, cpu_caching: WC }).out.handle);
    const vm = Number(__ioctl(p, fd, 'DRM_IOCTL_XE_VM_CREATE', { flags: 0 }).out.vm_id);
    const map = bindArg(p, vm, { op: MAP, obj: bo, addr: 1n << 32n, range: 1n << 30n, pat_index: 0 });
    const unmap = bindArg(p, vm, { op: UNMAP, addr: 1n << 32n, range: 1n << 30n });
    const bind: number[] = [];
    const unbind: number[] = [];
    let leaves = '';
    for (let r = 0; r < rounds; r++) {
      bind.push(ms(() => p.ioctl(fd, VM_BIND, map)));
      if (!leaves) {
        const s = p.vmInfo(fd, vm)!.stats.leaves;
        leaves = `1G ${s['1G']}, 2M ${s['2M']}, 64K ${s['64K']}, 4K ${s['4K']}`;
      }
      unbind.push(ms(() => p.ioctl(fd, VM_BIND, unmap)));
    }
    if (p.vmInfo(fd, vm)!.vmas.length) throw new Error('1 GiB unbind left VMAs');
    log(`  VM_BIND ioctl 1 GiB BO (BMG VRAM, contiguous, 1G-aligned)  bind ${median(bind).toFixed(2)} ms, unbind ${median(unbind).toFixed(2)} ms; leaves ${leaves}`);
  } finally {
    await dev.close();
  }
}

/** Runs the ioctl-level VM_BIND benchmarks, printing in bench/run.ts's format. */
export async function vmIoctlBenchmarks(log: (s: string) => void, rounds: number): Promise<void> {
  await gigBindIoctl(log, Math.min(rounds, 5));
  await bindScalingIoctl(log, [1e3, 1e4, 1e5, 1e6], 500, rounds);
}
