import t from 'tap';
import {
  ChainNode, chainFindSeqno, chainIter, chainWalk, Fence, FenceArray, FenceDomain, LastFence, unwrapFences, unwrapMerge,
} from '../src/kernel/drm/dma_fence.js';

function domain(): { d: FenceDomain; wakes: () => number; clock: { ns: bigint } } {
  let n = 0;
  const clock = { ns: 1000n };
  const d = new FenceDomain({ wake: () => void n++, now: () => clock.ns });
  return { d, wakes: () => n, clock };
}

t.test('plain fence: signal, error, timestamp, wake hook', async (t) => {
  const { d, wakes, clock } = domain();
  const f = d.create();
  t.notOk(f.signaled);
  t.equal(f.error, 0);
  t.equal(f.timestamp, null);
  clock.ns = 5555n;
  t.ok(f.signal(-5));
  t.ok(f.signaled);
  t.equal(f.error, -5);
  t.equal(f.timestamp, 5555n);
  t.equal(wakes(), 1, 'each signal wakes the host once');
  t.notOk(f.signal(-22), 'second signal is a no-op');
  t.equal(f.error, -5);
  t.equal(wakes(), 1);

  const g = d.create();
  g.setError(-125);
  t.notOk(g.signaled, 'setError does not signal');
  g.signal();
  t.equal(g.error, -125, 'error set before signalling is kept');
  t.throws(() => g.setError(-1), 'setError after signal is a bug');
});

t.test('callbacks: order, once, add after signal, remove', async (t) => {
  const { d } = domain();
  const f = d.create();
  const seen: string[] = [];
  const cbA = (): void => void seen.push('a');
  const cbB = (): void => void seen.push('b');
  const cbC = (): void => void seen.push('c');
  t.ok(f.addCallback(cbA));
  t.ok(f.addCallback(cbB));
  t.ok(f.addCallback(cbC));
  t.ok(f.removeCallback(cbB));
  t.notOk(f.removeCallback(cbB));
  f.signal();
  t.same(seen, ['a', 'c']);
  f.signal();
  t.same(seen, ['a', 'c'], 'callbacks run once');
  t.notOk(f.addCallback(cbA), 'add_callback on a signalled fence fails');
  f.onSignal(() => void seen.push('now'));
  t.same(seen, ['a', 'c', 'now'], 'onSignal runs at once when signalled');
});

t.test('ids and contexts come from per-domain counters', async (t) => {
  const a = domain().d;
  const b = domain().d;
  const fa = [a.create(), a.stub(), a.create()];
  const fb = [b.create(), b.stub(), b.create()];
  t.same(fa.map((f) => f.id), [1, 2, 3]);
  t.same(fb.map((f) => f.id), [1, 2, 3]);
  t.same(fa.map((f) => f.context), [1n, 2n, 3n]);
  const s = a.stub();
  t.ok(s.signaled);
  t.equal(s.error, 0);
  t.ok(s instanceof Fence);
});

t.test('timeline and last fence', async (t) => {
  const { d } = domain();
  const tl = d.timeline('q');
  const j1 = tl.next();
  const j2 = tl.next();
  t.equal(j1.context, j2.context);
  t.equal(j1.seqno, 1n);
  t.equal(j2.seqno, 2n);
  t.equal(tl.last, 2n);
  t.ok(j2.isLater(j1));
  t.notOk(j1.isLater(j2));
  t.notOk(d.create({ seqno: 9n }).isLater(j1), 'different contexts are never later');

  const lf = new LastFence(d);
  const empty = lf.get();
  t.ok(empty.signaled, 'empty slot gives a signalled stub');
  t.equal(lf.peek(), null);
  lf.set(j1);
  t.equal(lf.get(), j1, 'pending last fence is returned');
  t.equal(lf.peek(), j1);
  j1.signal();
  const after = lf.get();
  t.not(after, j1);
  t.ok(after.signaled);
  t.equal(lf.peek(), null, 'a signalled last fence is dropped from the slot');
  lf.set(j2);
  lf.clear();
  t.equal(lf.peek(), null);
});

t.test('composite (array): all children, first error in signal order', async (t) => {
  const { d, wakes } = domain();
  const [a, b, c] = [d.create(), d.create(), d.create()];
  const arr = d.array([a, b, c]);
  t.ok(arr instanceof FenceArray);
  t.notOk(arr.signaled);
  c.signal(-62);
  b.signal(-5);
  t.notOk(arr.signaled);
  const before = wakes();
  a.signal();
  t.ok(arr.signaled);
  t.equal(arr.error, -62, 'first error to arrive');
  t.equal(wakes(), before + 2, 'child and composite each wake');

  t.ok(d.array([]).signaled, 'empty composite is signalled');
  const s1 = d.stub();
  const e1 = d.create();
  e1.signal(-125);
  const pre = d.array([s1, e1]);
  t.ok(pre.signaled, 'composite of signalled children signals at once');
  t.equal(pre.error, -125);
  const opts = d.array([d.create()], { context: 77n, seqno: 3n });
  t.equal(opts.context, 77n);
  t.equal(opts.seqno, 3n);
});

t.test('chain: cumulative signalling and contexts', async (t) => {
  const { d } = domain();
  const f1 = d.create();
  const f2 = d.create();
  const n1 = d.chain(null, f1, 1n);
  const n2 = d.chain(n1, f2, 2n);
  t.equal(n2.context, n1.context, 'ordered point reuses the context');
  t.equal(n2.prevSeqno, 1n);
  t.equal(n1.prevSeqno, 0n);
  t.equal(n2.seqno, 2n);
  f2.signal();
  t.notOk(n2.signaled, 'point 2 waits for point 1');
  f1.signal();
  t.ok(n1.signaled);
  t.ok(n2.signaled, 'cumulative');

  // Unordered point: new context, seqno kept monotonic, prevSeqno 0.
  const n3 = d.chain(n2, d.stub(), 2n);
  t.not(n3.context, n2.context);
  t.equal(n3.seqno, 2n);
  t.equal(n3.point, 2n);
  t.equal(n3.prevSeqno, 0n);
  const n4 = d.chain(n3, d.stub(), 1n);
  t.equal(n4.seqno, 2n, 'seqno = max(prev, point)');

  // On top of a binary fence: new context, seqno as given, waits for the base too.
  const base = d.create();
  const nb = d.chain(base, d.stub(), 7n);
  t.not(nb.context, base.context);
  t.equal(nb.seqno, 7n);
  t.equal(nb.prevSeqno, 0n);
  t.notOk(nb.signaled);
  base.signal();
  t.ok(nb.signaled);
});

t.test('chain walk unlinks completed nodes; find_seqno', async (t) => {
  const { d } = domain();
  const f = [d.create(), d.create(), d.create(), d.create()];
  let head: ChainNode | null = null;
  for (let i = 0; i < 4; i++) head = d.chain(head, f[i], BigInt(i + 1));
  const h = head!;
  t.same([...chainIter(h)].map((x) => x.seqno), [4n, 3n, 2n, 1n]);

  t.equal(chainFindSeqno(h, 0n), h, 'point 0 is the content');
  t.equal(chainFindSeqno(h, 5n), undefined, 'not yet submitted');
  t.equal(chainFindSeqno(d.stub(), 1n), undefined, 'binary fence with a point');
  t.equal((chainFindSeqno(h, 2n) as ChainNode).seqno, 2n, 'pending: the node of the point');

  f[2].signal(); // point 3's own fence
  f[0].signal(); // point 1
  const r = chainFindSeqno(h, 3n) as ChainNode;
  t.equal(r.seqno, 2n, 'completed point 3 is skipped: wait for point 2');
  t.same([...chainIter(h)].map((x) => x.seqno), [4n, 2n], 'walk unlinked points 3 and 1');
  t.equal(h.prev && (h.prev as ChainNode).seqno, 2n);
  t.equal((h.prev as ChainNode).prev, null);
  t.equal(chainWalk(d.stub()), null, 'walk of a non-chain fence ends');

  f[1].signal();
  t.equal(chainFindSeqno(h, 3n), null, 'everything up to 3 complete');
  t.equal(chainFindSeqno(h, 4n), h, 'the head point itself');
  f[3].signal();
  t.ok(h.signaled);
  t.equal(chainFindSeqno(h, 4n), h, 'a signalled head is returned as is');

  // A context break stops the search at the unordered node.
  const n5 = d.chain(h, d.create(), 3n);
  t.equal(chainFindSeqno(n5, 1n), n5);
});

t.test('a long timeline signalling at once does not recurse', async (t) => {
  const { d } = domain();
  const base = d.create();
  let head: ChainNode = d.chain(null, base, 1n);
  for (let i = 2; i <= 200_000; i++) head = d.chain(head, d.stub(), BigInt(i));
  t.notOk(head.signaled);
  base.signal();
  t.ok(head.signaled);
  t.equal(chainFindSeqno(head, 150_000n), null);
});

t.test('unwrap and merge', async (t) => {
  const { d } = domain();
  const tl = d.timeline();
  const j1 = tl.next();
  const j2 = tl.next();
  const other = d.create();
  const arr = d.array([j1, other]);
  const n1 = d.chain(null, arr, 1n);
  const n2 = d.chain(n1, j2, 2n);
  t.same(unwrapFences(n2), [j2, j1, other], 'chain elements, arrays flattened');
  const m = unwrapMerge(n2);
  t.ok(m instanceof FenceArray);
  t.same((m as FenceArray).fences, [j2, other], 'one fence per context, the later seqno');
  other.signal();
  t.equal(unwrapMerge(n2), j2, 'a single pending leaf is returned as is');
  j2.signal();
  j1.signal();
  const s = unwrapMerge(n2);
  t.ok(s.signaled, 'nothing pending: a signalled stub');
  t.not(s, n2);
});
