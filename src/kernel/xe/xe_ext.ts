/**
 * User extension chains (struct drm_xe_user_extension): the generic walker the driver
 * repeats per ioctl (xe_exec_queue.c __exec_queue_user_extensions, xe_bo.c
 * gem_create_user_extensions, ...), and the SET_PROPERTY extension copy.
 *
 * Per link, in order (shared/spec/sync_exec.md 5.3 steps 1-3 and 7):
 *   1. link index >= MAX_USER_EXTENSIONS (the 17th link)  -> -E2BIG
 *   2. copy the 16-byte header                              -> -EFAULT
 *   3. header pad != 0, or name >= number of handlers       -> -EINVAL
 *   4. the handler for `name` (its error is returned as is)
 *   5. next_extension != 0                                  -> the next link
 * A chain that loops (a link naming itself) is therefore cut at the 17th link with -E2BIG.
 */
import { decode, type Fields } from '../../uapi/codec.js';
import { E2BIG, EINVAL } from '../../uapi/errno.js';
import { layoutOf } from '../../uapi/uapi.js';
import { check } from '../os/errno.js';
import type { UserMemory } from '../os/uaccess.js';

/** MAX_USER_EXTENSIONS of the driver (the same 16 in every ioctl that walks a chain). */
export const MAX_USER_EXTENSIONS = 16;

/**
 * Handles one link whose header names it. `addr` is the link's user address (the handler
 * copies its own, larger struct from there); `header` is the decoded drm_xe_user_extension.
 * Fails by throwing Errno.
 */
export type ExtensionHandler = (addr: bigint, header: Fields) => void;

/** Copies table struct `name` from user memory at `addr` (-EFAULT on a fault). */
export function copyStructFromUser(um: UserMemory, name: string, addr: bigint): Fields {
  return decode(name, um.copyFromUser(addr, layoutOf(name).size));
}

/**
 * Walks the chain starting at `first` (callers skip the walk when the ioctl's `extensions`
 * is 0). `handlers[name]` serves links of that name; the array length is the kernel's
 * ARRAY_SIZE of its function table. Throws Errno on the first failing link.
 */
export function walkUserExtensions(
  um: UserMemory,
  first: bigint,
  handlers: readonly ExtensionHandler[],
  max = MAX_USER_EXTENSIONS,
): void {
  let addr = first;
  for (let index = 0; ; index++) {
    check(index >= max, E2BIG, 'extensions: more than %d links in the chain', max);
    const header = copyStructFromUser(um, 'drm_xe_user_extension', addr);
    check(header.pad !== 0 || (header.name as number) >= handlers.length, EINVAL, 'drm_xe_user_extension at %x: name %d unknown or pad %d set', addr, header.name as number, header.pad as number);
    handlers[header.name as number](addr, header);
    const next = header.next_extension as bigint;
    if (next === 0n) return;
    addr = next;
  }
}

/** The SET_PROPERTY extension struct (drm_xe_ext_set_property) at `addr`; -EFAULT on a fault. */
export function copySetProperty(um: UserMemory, addr: bigint): Fields {
  return copyStructFromUser(um, 'drm_xe_ext_set_property', addr);
}
