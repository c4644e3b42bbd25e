/** DRM_IOCTL_XE_DEVICE_QUERY (xe_query.c). */
import type { IoctlDef } from './dispatch.js';

/** Query ioctls. */
export const QUERY_IOCTLS: IoctlDef[] = [];
