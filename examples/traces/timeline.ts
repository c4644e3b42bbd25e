/**
 * Sample trace `timeline`: a three-step pipeline across a render queue, a copy queue and a
 * second render queue, ordered only by points of one timeline syncobj. Step 1 stores a
 * value and signals point 1; step 2 waits for point 1, copies the value and signals point 2;
 * step 3 waits for point 2, stores another value and signals point 3. The CPU queries the
 * timeline, waits for point 3, moves point 3 into a binary syncobj (TRANSFER) and waits on
 * that, then signals point 5 itself.
 */
import { C, igt, type Device } from '../../src/index.js';
import { miCopyMemMem, miStoreDwordImm } from '../../src/uapi/gpu_commands.js';
import { INF, closeVmWithBo, expect, openVmWithBo, writeBatch } from './sample.js';

const PAGE = 0x1000n;
/** The BO: a batch per step in pages 0-2, the data at DATA. */
const VA = 0x1a0000n;
const DATA = 0x8000n;

/** The program. */
export function timeline(dev: Device): void {
  const p = dev.process;
  const s = openVmWithBo(p, VA);
  const { fd, vm, cpu } = s;
  const render = C('DRM_XE_ENGINE_CLASS_RENDER');
  const queues = [render, C('DRM_XE_ENGINE_CLASS_COPY'), render].map((cls) => igt.xe_exec_queue_create_class(p, fd, vm, cls));

  const data = Number(VA + DATA);
  writeBatch(p, cpu, miStoreDwordImm(data, 0xaaaa));
  writeBatch(p, cpu + PAGE, miCopyMemMem(data + 4, data));
  writeBatch(p, cpu + 2n * PAGE, miStoreDwordImm(data + 8, 0xcccc));
  const tl = igt.syncobj_create(p, fd);
  const type = C('DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ');
  queues.forEach((q, i) => {
    const point = BigInt(i + 1);
    const signal = { type, flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle: tl, timeline_value: point };
    const syncs = i === 0 ? [signal] : [{ type, flags: 0, handle: tl, timeline_value: point - 1n }, signal];
    igt.xe_exec_sync(p, fd, q, VA + BigInt(i) * PAGE, syncs);
  });

  expect(igt.syncobj_timeline_wait(p, fd, [tl], [3n], INF), true, 'point 3 signalled');
  expect(igt.syncobj_timeline_query(p, fd, [tl])[0], 3n, 'the timeline\'s last signalled point');
  const binary = igt.syncobj_create(p, fd);
  igt.syncobj_timeline_to_binary(p, fd, binary, tl, 3n);
  expect(igt.syncobj_wait(p, fd, [binary], INF), true, 'the binary syncobj holding point 3 signalled');
  expect(p.mem.readU32(cpu + DATA), 0xaaaa, 'step 1 stored');
  expect(p.mem.readU32(cpu + DATA + 4n), 0xaaaa, 'step 2 copied step 1\'s value');
  expect(p.mem.readU32(cpu + DATA + 8n), 0xcccc, 'step 3 stored');
  igt.syncobj_timeline_signal(p, fd, [tl], [5n]);
  expect(igt.syncobj_timeline_query(p, fd, [tl])[0], 5n, 'point 5, signalled by the CPU');

  for (const so of [tl, binary]) igt.syncobj_destroy(p, fd, so);
  for (const q of queues) igt.xe_exec_queue_destroy(p, fd, q);
  closeVmWithBo(p, s);
}
