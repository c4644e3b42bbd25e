/**
 * The invariant checker, on in tests (issue 7 item 8): after every VM_BIND a harness issues,
 * succeeded or failed, each VM of the file whose bind jobs have all run is held against a full
 * walk of its page-table bytes (xe_vm_inspect.ts checkVmInvariants). A VM with a job still
 * waiting (an in-fence held by the test) is checked at the first call after its jobs ran.
 */
import { checkVmInvariants } from '../../src/kernel/xe/xe_vm_inspect.js';
import type { Vm } from '../../src/kernel/xe/xe_vm.js';

/** Checks every settled VM of `vms`; throws with the violations, which fails the test. */
export function checkVms(vms: Iterable<Vm>): void {
  for (const vm of vms) {
    if (!vm.pt || vm.closed || vm.pendingBinds.size) continue;
    const bad = checkVmInvariants(vm, { max: 5 });
    if (bad.length) {
      const text = JSON.stringify(bad, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
      throw new Error(`VM invariants broken after VM_BIND: ${text}`);
    }
  }
}
