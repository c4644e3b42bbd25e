// The public inspection API (Process.vmInfo / vmDump / vmCheck / gpuRead / gpuWrite) on a
// device with its kernel worker: fresh VMs until VM_BIND lands (test/vm_inspect.test.ts
// covers mappings in-process), errno on bad input.
import t from 'tap';
import { C, createDevice, errno, igt } from '../src/index.js';

const SCRATCH = C('DRM_XE_VM_CREATE_FLAG_SCRATCH_PAGE');

t.test('inspection through the public API', async (t) => {
  const dev = await createDevice({ profile: 'lnl' });
  t.teardown(() => dev.close());
  const p = dev.process;
  const fd = p.open();
  const vm = igt.xe_vm_create(p, fd, 0);
  const sc = igt.xe_vm_create(p, fd, SCRATCH);

  const info = p.vmInfo(fd, vm)!;
  t.same(info.vmas, []);
  t.same({ ...info.vm, root: typeof info.vm.root }, { id: vm, flags: [], vaBits: 48, asid: info.vm.asid, levels: 5, root: 'bigint' });
  t.ok(info.vm.asid > 0, 'LNL has ASIDs');
  t.same(info.stats, { tables: [0, 0, 0, 0, 1], leaves: { '4K': 0, ps64: 0, '64K': 0, '2M': 0, '1G': 0 }, bytes: 4096 });
  t.same(p.vmInfo(fd, sc)!.stats.tables, [0, 0, 1, 1, 1], 'scratch L2, L3 and the root');
  t.same(p.vmInfo(fd, sc)!.vm.flags, ['SCRATCH_PAGE']);

  const dump = p.vmDump(fd, vm)!;
  t.equal(dump, [
    `vm ${vm}: flags 0, va_bits 48, asid ${info.vm.asid}, 5 levels, root 0x${info.vm.root.toString(16)}`,
    'vmas 0:',
    'page tables: 1 tables, 4096 bytes (L4 1, L3 0, L2 0, L1 0, L0 0); leaves 4K 0 (ps64 0), 64K 0, 2M 0, 1G 0',
    `L4 @0x${info.vm.root.toString(16)} live 0`,
    '',
  ].join('\n'));
  t.same(p.vmCheck(fd, vm), []);
  t.same(p.vmCheck(fd, sc), [], 'a scratch VM: every address is scratch');

  t.same(p.gpuRead(fd, sc, 0x1234_5000n, 8), { done: 8, fault: null, data: new Uint8Array(8) }, 'scratch reads 0');
  t.same(p.gpuWrite(fd, sc, 0x1234_5000n, new Uint8Array([1, 2])), { done: 2, fault: null }, 'and drops writes');
  t.same(p.gpuRead(fd, vm, 0x1234_5000n, 8), {
    done: 0, fault: { kind: 'not-present', va: 0x1234_5000n, level: 4, access: 'read' }, data: new Uint8Array(0),
  }, 'no scratch: the root (level 4) entry is empty');
  t.same(p.gpuWrite(fd, vm, 1n << 48n, new Uint8Array(1))!.fault, { kind: 'out-of-range', va: 1n << 48n, level: 4, access: 'write' });

  t.equal(p.vmInfo(fd, 77), null);
  t.equal(p.errno, errno.ENOENT);
  t.match(p.lastError?.reason, /VM_INFO: vm_id 77: no such VM/);
  t.equal(p.vmDump(99, vm), null);
  t.equal(p.errno, errno.EBADF);
  t.equal(p.gpuRead(fd, vm, 0n, 1 << 27), null);
  t.equal(p.errno, errno.E2BIG);
});
