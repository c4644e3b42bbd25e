// The layer rule (docs/architecture.md) as a test: dependency-cruiser with the repo's
// .dependency-cruiser.cjs must find no import circle and no upward import in src/, and the
// same configuration must catch both when they are planted in a scratch tree.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

/** Runs dependency-cruiser on `src` of `cwd`; exit status and the violation report. */
function cruise(cwd: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'src', '--config', CONFIG, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('src/ has no import circle and no upward import', async (t) => {
  const r = cruise(ROOT);
  t.equal(r.status, 0, r.out);
  t.match(r.out, /no dependency violations found/);
});

t.test('the rules catch a planted circle, upward imports and a user-space import of the kernel', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-emu-layers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'src/kernel/os/a.ts': "import type { B } from '../xe/b.js';\nexport type A = B | number;\n",
    'src/kernel/xe/b.ts': "import type { A } from '../os/a.js';\nexport type B = A[];\n",
    'src/kernel/drm/c.ts': "import { D } from '../boot.js';\nexport const C = D;\n",
    'src/kernel/boot.ts': 'export const D = 1;\n',
    'src/hw/e.ts': "import { C } from '../kernel/drm/c.js';\nexport const E = C;\n",
    'src/userspace/f.ts': "import { D } from '../kernel/boot.js';\nexport const F = D;\n",
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' }, include: ['src'] }),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = cruise(dir);
  t.not(r.status, 0, 'violations fail the run');
  t.match(r.out, /no-circular: src\/kernel\/os\/a\.ts/, 'type-only circle');
  t.match(r.out, /layer-kernel-os: src\/kernel\/os\/a\.ts → src\/kernel\/xe\/b\.ts/, 'os imports xe');
  t.match(r.out, /layer-kernel-drm: src\/kernel\/drm\/c\.ts → src\/kernel\/boot\.ts/, 'drm imports the kernel top');
  t.match(r.out, /layer-hw: src\/hw\/e\.ts → src\/kernel\/drm\/c\.ts/, 'hw imports the kernel');
  t.match(r.out, /userspace-not-kernel: src\/userspace\/f\.ts → src\/kernel\/boot\.ts/, 'user space imports the kernel');
  t.notMatch(r.out, /layer-kernel-xe: src\/kernel\/xe\/b\.ts/, 'xe may import os');
});
