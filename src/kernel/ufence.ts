/** DRM_IOCTL_XE_WAIT_USER_FENCE (xe_wait_user_fence.c). */
import type { IoctlDef } from './dispatch.js';

/** User-fence ioctls. */
export const UFENCE_IOCTLS: IoctlDef[] = [];
