// The layer rule of xe-emu (docs/architecture.md), checked by test/layers.test.ts:
//   uapi < hw < kernel/os < kernel/drm < kernel/xe < kernel top (src/kernel/*.ts) < userspace, cli
// A file may import only its own layer or lower ones, src/userspace never imports src/kernel
// (it starts the worker by file URL), and no import circle exists between files. Type-only
// imports count (tsPreCompilationDeps).

/** Each layer and what it may not import: every src path outside its own and lower layers. */
const LAYERS = [
  ['uapi', '^src/uapi/', 'uapi/'],
  ['hw', '^src/hw/', 'uapi/|hw/'],
  ['kernel/os', '^src/kernel/os/', 'uapi/|hw/|kernel/os/'],
  ['kernel/drm', '^src/kernel/drm/', 'uapi/|hw/|kernel/(?:os|drm)/'],
  ['kernel/xe', '^src/kernel/xe/', 'uapi/|hw/|kernel/(?:os|drm|xe)/'],
  ['kernel top', '^src/kernel/[^/]+$', 'uapi/|hw/|kernel/'],
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import circle between files, type-only imports included.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...LAYERS.map(([name, from, allowed]) => ({
      name: `layer-${name.replace(/[ /]/g, '-')}`,
      comment: `${name} imports only its own layer or lower ones.`,
      severity: 'error',
      from: { path: from },
      to: { path: `^src/(?!(?:${allowed}))` },
    })),
    {
      name: 'userspace-not-kernel',
      comment: 'User space starts the kernel worker by file URL and never imports it.',
      severity: 'error',
      from: { path: '^src/userspace/' },
      to: { path: '^src/kernel/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
