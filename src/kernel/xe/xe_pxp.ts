/**
 * Protected content (xe_pxp.c) as the uAPI sees it. PXP_STATUS, the GEM_CREATE PXP key and
 * an exec queue's PXP_TYPE all ask xe_pxp_is_enabled, so they agree on every profile.
 *
 * xe_pxp_init enables PXP only with has_pxp (LNL, MTL/ARL), the MEI GSC proxy driver, one
 * tile with a media GT that has the GSC engine, and loadable GSC and HuC firmware. xe-emu
 * takes those as present on a profile with `hasPxp`. The prerequisites (HuC authenticated
 * through the GSC, GSC proxy initialised) are taken as done and the session as never
 * invalidated (no suspend, no teardown): the status is ready, an HWDRM queue starts or joins
 * the one ARB session, and key instance 1 stays valid.
 */
import { ENODEV } from '../../uapi/errno.js';
import { fail } from '../os/errno.js';
import type { XeDevice } from './xe_device.js';

/** The key instance of the session (pxp->key_instance after xe_pxp_init). */
export const PXP_KEY_INSTANCE = 1;

/** xe_pxp_is_enabled(xe->pxp). */
export function pxpEnabled(dev: XeDevice): boolean {
  return dev.profile.hasPxp;
}

/** xe_pxp_get_readiness_status: -ENODEV when not enabled, else 1 (prerequisites done). */
export function pxpReadiness(dev: XeDevice): number {
  return pxpEnabled(dev) ? 1 : fail(ENODEV, 'PXP is not enabled on this device');
}
