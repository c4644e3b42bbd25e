// Several threads of one process hammer the kernel concurrently, pausing now and then so
// that the kernel sleeps and must be woken: every call completes with a valid result.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { createDevice } from '../src/index.js';
import { syncobj_create } from '../src/userspace/igt.js';

t.test('concurrent threads: no lost requests or wake-ups, consistent handles', async (t) => {
  const dev = await createDevice();
  const p = dev.process;
  const fd = p.open();
  const runs = [1, 2, 3].map(
    (seed) =>
      new Promise<{ errors: string[] }>((resolve, reject) => {
        const w = new Worker(new URL('./helpers/hammer.js', import.meta.url), {
          workerData: { handle: p.threadHandle(), fd, iterations: 1500, seed },
        });
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  const results = await Promise.all(runs);
  results.forEach((r, i) => t.same(r.errors, [], `thread ${i + 1}: every call succeeded`));
  t.equal(syncobj_create(p, fd), 1, 'every handle was destroyed: the lowest free id is 1 again');
  await dev.close();
});
