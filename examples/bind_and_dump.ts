/**
 * A UMD-style walk through VM_BIND (README "Binding a BO and dumping the VM"): create a VM
 * and a BO, bind the BO, touch it from the GPU side and dump the VM. test/examples.test.ts
 * runs it and compares its output with the README's, so neither can rot.
 */
import { createDevice, igt } from '../src/index.js';

const dev = await createDevice({ profile: 'lnl' });
const p = dev.process;
const fd = p.open();
const vm = igt.xe_vm_create(p, fd, 0);
const bo = igt.xe_bo_create(p, fd, 0, 0x10000n, igt.system_memory(p, fd));
igt.xe_vm_bind_sync(p, fd, vm, bo, 0n, 0x100000n, 0x10000n); // MAP bo at GPU VA 0x100000
igt.xe_vm_bind_sync(p, fd, vm, bo, 0x8000n, 0x300000n, 0x1000n); // and one page of it again
p.gpuWrite(fd, vm, 0x108000n, new Uint8Array([0xca, 0xfe]));

console.log(p.vmDump(fd, vm));
console.log('GPU read at 0x300000:', p.gpuRead(fd, vm, 0x300000n, 2)!.data);
console.log('violations:', p.vmCheck(fd, vm));
await dev.close();
