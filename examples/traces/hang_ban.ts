/**
 * Sample trace `hang_ban`: a batch the engine cannot run (an unknown command after a good
 * store) hangs its queue. The engine is reset: the job's fence signals with an error (-EIO),
 * its user fence is never written, and the queue is banned. Then GET_PROPERTY BAN reads 1,
 * an EXEC on the queue fails with ECANCELED, a WAIT_USER_FENCE naming it fails with EIO, and
 * another queue on the same VM goes on working.
 */
import { C, errno, igt, type Device } from '../../src/index.js';
import { miStoreDwordImm } from '../../src/uapi/gpu_commands.js';
import { INF, closeVmWithBo, expect, openVmWithBo, writeBatch } from './sample.js';

const PAGE = 0x1000n;
const VA = 0x1a0000n;
/** An unknown command dword: the engine hangs on it. */
const GARBAGE = [0xffff_ffff];

/** The program. */
export function hang_ban(dev: Device): void {
  const p = dev.process;
  const s = openVmWithBo(p, VA);
  const { fd, vm, cpu } = s;
  const render = C('DRM_XE_ENGINE_CLASS_RENDER');
  const hq = igt.xe_exec_queue_create_class(p, fd, vm, render);

  writeBatch(p, cpu + PAGE, miStoreDwordImm(Number(VA) + 0x8010, 1), GARBAGE);
  const hung = igt.syncobj_create(p, fd);
  igt.xe_exec_sync(p, fd, hq, VA + PAGE, [
    { type: C('DRM_XE_SYNC_TYPE_SYNCOBJ'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), handle: hung },
    { type: C('DRM_XE_SYNC_TYPE_USER_FENCE'), flags: C('DRM_XE_SYNC_FLAG_SIGNAL'), addr: VA + 0x9000n, timeline_value: 5n },
  ]);
  expect(igt.syncobj_wait(p, fd, [hung], INF), true, 'the hung job\'s fence signalled');
  expect(p.mem.readU32(cpu + 0x8010n), 1, 'the store before the garbage ran');
  expect(p.mem.readU64(cpu + 0x9000n), 0n, 'the user fence was not written');
  const ban = igt.ioctlOk(p, fd, 'DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY', { exec_queue_id: hq, property: C('DRM_XE_EXEC_QUEUE_GET_PROPERTY_BAN') });
  expect(ban.value, 1n, 'the queue is banned');
  expect(igt.__xe_exec(p, fd, { exec_queue_id: hq, address: VA }), -errno.ECANCELED, 'EXEC on the banned queue');
  // Timeout 0: the ban is checked before the timeout, and the remaining time written back is 0.
  expect(igt.__xe_wait_ufence(p, fd, cpu + 0x9000n, 5n, hq, 0n).err, -errno.EIO, 'WAIT_USER_FENCE naming the banned queue');

  const q = igt.xe_exec_queue_create_class(p, fd, vm, render);
  writeBatch(p, cpu, miStoreDwordImm(Number(VA) + 0x8000, 0x600e));
  igt.xe_exec_wait(p, fd, q, VA);
  expect(p.mem.readU32(cpu + 0x8000n), 0x600e, 'another queue on the VM still runs');

  igt.syncobj_destroy(p, fd, hung);
  for (const id of [hq, q]) igt.xe_exec_queue_destroy(p, fd, id);
  closeVmWithBo(p, s);
}
