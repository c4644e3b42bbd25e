/**
 * IGT-style helpers over the raw interface, named as IGT names them (lib/xe/xe_ioctl.c,
 * lib/xe/xe_query.c, lib/igt_syncobj.c, lib/ioctl_wrappers.c). A plain name throws IgtError
 * on failure (igt_assert style), with the ioctl and errno name in its message; the `__`
 * variant returns the negative errno instead. The first argument is always the Process.
 */
export * from './igt_core.js';
export * from './igt_syncobj.js';
export * from './xe_ioctl.js';
export * from './xe_query.js';
export * from './xe_spin.js';
