/**
 * `npm run traces`: records every sample trace (examples/traces/index.ts) into a folder,
 * traces/ of the repository by default: `node dist/examples/traces/regenerate.js [dir]`.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SAMPLES } from './index.js';
import { recordRun } from './sample.js';

const dir = resolve(process.argv[2] ?? fileURLToPath(new URL('../../../traces', import.meta.url)));
mkdirSync(dir, { recursive: true });
for (const s of SAMPLES) {
  const path = join(dir, `${s.name}.xetrace`);
  await recordRun(path, s.body);
  console.log(`${path}: ${s.about}`);
}
