/**
 * The sample traces of traces/: each name, the program that records it, and what it shows.
 * `npm run traces` (examples/traces/regenerate.ts) records them all into traces/;
 * test/traces.test.ts checks that recording them again gives the committed bytes.
 */
import { basic } from './basic.js';
import { hang_ban } from './hang_ban.js';
import { invalid } from './invalid.js';
import { null_sparse } from './null_sparse.js';
import { partial_unbind } from './partial_unbind.js';
import type { SampleBody } from './sample.js';
import { timeline } from './timeline.js';
import { userptr } from './userptr.js';

/** One sample trace. */
export interface Sample {
  /** The file is traces/<name>.xetrace. */
  name: string;
  /** One line on what the trace shows (traces/README.md lists them). */
  about: string;
  body: SampleBody;
}

/** Every sample, in the order of traces/README.md. */
export const SAMPLES: readonly Sample[] = [
  { name: 'basic', about: 'query, BO, VM, bind, exec of a store-dword batch, syncobj waits, read back (raw structs)', body: basic },
  { name: 'userptr', about: 'a MAP_USERPTR binding of anonymous memory the GPU copies within and stores to', body: userptr },
  { name: 'null_sparse', about: 'a NULL (sparse) binding: reads give zero, stores are dropped, no fault', body: null_sparse },
  { name: 'partial_unbind', about: 'munmap-style partial unbinds (front, middle REMAP, end), GPU reads of what is left, a rebind', body: partial_unbind },
  { name: 'timeline', about: 'a pipeline over render, copy and render queues ordered by timeline syncobj points', body: timeline },
  { name: 'hang_ban', about: 'a hanging batch: reset, -EIO fence, ban, ECANCELED exec, EIO user-fence wait', body: hang_ban },
  { name: 'invalid', about: 'invalid calls over the main ioctls, each with its errno', body: invalid },
];
