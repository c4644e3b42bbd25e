// The example programs under examples/ run, and print what README shows for them.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The code block of README.md right after `<!-- output of examples/<name>.ts -->`. */
function readmeOutput(name: string): string {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const marker = `<!-- output of examples/${name}.ts -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README has no ${marker}`);
  const block = /```text\n([\s\S]*?)```/.exec(readme.slice(at))!;
  return block[1];
}

t.test('examples/bind_and_dump: its output is the README\'s', async (t) => {
  const out = execFileSync(process.execPath, [`${root}/dist/examples/bind_and_dump.js`], { encoding: 'utf8' });
  t.equal(out.trimEnd(), readmeOutput('bind_and_dump').trimEnd());
  t.match(out, /violations: \[\]/, 'the checker finds nothing');
});
