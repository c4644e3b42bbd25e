/**
 * Kernel fences, modelled on dma_fence: one-shot completion objects with an optional error.
 *
 * - Fence: a plain fence (a job, a bind, a test-controlled fence). `signal(error)` completes it.
 * - stub: an already signalled fence (dma_fence_get_stub / dma_fence_allocate_private_stub).
 * - FenceArray: a composite (dma_fence_array) that signals when all its children have; its
 *   error is the first child error, in signalling order.
 * - ChainNode: a timeline point (dma_fence_chain) {prev, point, fence}; it counts as signalled
 *   only when its own fence and every earlier node have signalled. Unordered points start a
 *   new fence context (a "context break"), as dma_fence_chain_init does.
 *
 * Everything is deterministic: ids and contexts come from per-domain counters, and callbacks
 * run in FIFO order from a work list instead of recursively (a long timeline signalling at
 * once would otherwise recurse once per node). Every signal calls the domain host's wake(),
 * which makes parked blocking calls re-check their condition.
 *
 * Hardware-agnostic: job fences, bind fences, queue last fences (sync_exec.md 3.1) and
 * syncobj contents are all built from these.
 */

/** What a fence domain reports to: its device (a driver's device implements it). */
export interface FenceHost {
  /** Something waiters may wait for happened. */
  wake(): void;
  /** CLOCK_MONOTONIC in ns (signal timestamps). */
  now(): bigint;
}

/** A callback run once when a fence signals. */
export type FenceCallback = (f: Fence) => void;

/** Options of a new fence. */
export interface FenceOpts {
  /** Fence context (a timeline); default: a new one. */
  context?: bigint;
  /** Sequence number within the context; default 0. */
  seqno?: bigint;
  /** A name for diagnostics. */
  name?: string;
}

/**
 * The set of fences of one device: id and context counters, the callback work list, the
 * wake-up hook, and the registry of fences that something outside the emulated hardware
 * completes (tests via DEBUG FENCE_SIGNAL).
 */
export class FenceDomain {
  private nextId = 1;
  private nextContext = 1n;
  private readonly work: Array<() => void> = [];
  private draining = false;
  /** Fences completed from outside (DEBUG FENCE_SIGNAL), by id. */
  readonly external = new Map<number, Fence>();

  constructor(private readonly host: FenceHost | null = null) {}

  /** dma_fence_context_alloc: a new fence context number. */
  allocContext(): bigint {
    return this.nextContext++;
  }

  /** @internal A fresh fence id. */
  allocId(): number {
    return this.nextId++;
  }

  /** CLOCK_MONOTONIC now (0 without a host). */
  now(): bigint {
    return this.host ? this.host.now() : 0n;
  }

  /** A new pending fence. */
  create(opts: FenceOpts = {}): Fence {
    return new Fence(this, opts);
  }

  /** A new already-signalled fence (its own context). */
  stub(): Fence {
    const f = new Fence(this, { name: 'stub' });
    f.signal();
    return f;
  }

  /** A composite fence over `fences` (dma_fence_array, signal when all have). */
  array(fences: readonly Fence[], opts: FenceOpts = {}): FenceArray {
    return new FenceArray(this, fences, opts);
  }

  /** A timeline point on top of `prev` (dma_fence_chain_init). */
  chain(prev: Fence | null, fence: Fence, point: bigint): ChainNode {
    return new ChainNode(this, prev, fence, point);
  }

  /** A fence context with increasing seqnos, for a queue's job fences. */
  timeline(name?: string): FenceTimeline {
    return new FenceTimeline(this, name);
  }

  /** Makes `f` completable by id (DEBUG FENCE_SIGNAL). */
  register(f: Fence): void {
    this.external.set(f.id, f);
  }

  /** @internal Queues callbacks and runs the work list unless it is already running. */
  defer(job: () => void): void {
    this.work.push(job);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let j = this.work.shift(); j; j = this.work.shift()) j();
    } finally {
      this.draining = false;
    }
  }

  /** Tells the host that waiters may now be satisfied (every signal, every syncobj content change). */
  wake(): void {
    this.host?.wake();
  }
}

/** A fence (dma_fence). */
export class Fence {
  /** Unique within the domain, in creation order. */
  readonly id: number;
  readonly context: bigint;
  readonly seqno: bigint;
  readonly name: string;
  private done = false;
  private err = 0;
  private callbacks: FenceCallback[] = [];
  /** CLOCK_MONOTONIC time of the signal, or null while pending. */
  timestamp: bigint | null = null;

  constructor(
    readonly domain: FenceDomain,
    opts: FenceOpts = {},
  ) {
    this.id = domain.allocId();
    this.context = opts.context ?? domain.allocContext();
    this.seqno = opts.seqno ?? 0n;
    this.name = opts.name ?? 'fence';
  }

  /** Whether the fence has signalled (with or without an error). */
  get signaled(): boolean {
    return this.done;
  }

  /** 0, or the negative errno it signalled with (or that was set before signalling). */
  get error(): number {
    return this.err;
  }

  /** dma_fence_set_error: records an error (negative errno) to be reported once signalled. */
  setError(error: number): void {
    if (this.done) throw new Error(`fence ${this.id}: setError after signal`);
    this.err = error;
  }

  /**
   * Signals the fence, optionally with an error (negative errno). Returns false (and does
   * nothing) when it had already signalled. Callbacks run in registration order.
   */
  signal(error = 0): boolean {
    if (this.done) return false;
    if (error) this.err = error;
    this.done = true;
    this.timestamp = this.domain.now();
    const cbs = this.callbacks;
    this.callbacks = [];
    this.domain.wake();
    this.domain.defer(() => {
      for (const cb of cbs) cb(this);
    });
    return true;
  }

  /**
   * dma_fence_add_callback: runs `cb` once the fence signals. Returns false, without adding
   * it, when the fence has already signalled.
   */
  addCallback(cb: FenceCallback): boolean {
    if (this.done) return false;
    this.callbacks.push(cb);
    return true;
  }

  /** dma_fence_remove_callback: true when `cb` was still pending. */
  removeCallback(cb: FenceCallback): boolean {
    const i = this.callbacks.indexOf(cb);
    if (i < 0) return false;
    this.callbacks.splice(i, 1);
    return true;
  }

  /** Runs `cb` when the fence signals, or now when it already has. */
  onSignal(cb: FenceCallback): void {
    if (!this.addCallback(cb)) cb(this);
  }

  /** Whether this fence is later than `other` on the same context (__dma_fence_is_later, 64-bit). */
  isLater(other: Fence): boolean {
    return this.context === other.context && this.seqno > other.seqno;
  }

  toString(): string {
    return `${this.name}#${this.id}(${this.context}:${this.seqno}${this.done ? `, signalled${this.err ? ` ${this.err}` : ''}` : ''})`;
  }
}

/** A composite fence (dma_fence_array): signals when every child has. */
export class FenceArray extends Fence {
  readonly fences: readonly Fence[];
  private pending: number;
  private firstError = 0;

  constructor(domain: FenceDomain, fences: readonly Fence[], opts: FenceOpts = {}) {
    super(domain, { name: 'array', ...opts });
    this.fences = [...fences];
    this.pending = this.fences.length;
    for (const f of this.fences) f.onSignal((c) => this.childSignalled(c));
    if (this.pending === 0 && !this.signaled) this.signal(this.firstError);
  }

  private childSignalled(child: Fence): void {
    if (child.error && !this.firstError) this.firstError = child.error;
    if (--this.pending === 0) this.signal(this.firstError);
  }
}

/**
 * A timeline point (dma_fence_chain). `prev` is the previous content of the timeline (a
 * chain node, any other fence, or null); it is unlinked lazily as earlier nodes complete
 * (garbage collection by chainWalk), as the kernel does.
 */
export class ChainNode extends Fence {
  /** The previous node (or base fence); null once everything before has completed. */
  prev: Fence | null;
  /** This point's own fence. */
  readonly fence: Fence;
  /** The previous node's point when it was on the same context, else 0. */
  readonly prevSeqno: bigint;
  /** The point as requested (seqno may be raised for an unordered point). */
  readonly point: bigint;

  constructor(domain: FenceDomain, prev: Fence | null, fence: Fence, point: bigint) {
    // dma_fence_chain_init: reuse the previous node's context when the point moves forward;
    // otherwise start a new context and keep the seqno monotonic.
    let context: bigint;
    let seqno = point;
    let prevSeqno = 0n;
    if (prev instanceof ChainNode && point > prev.seqno) {
      context = prev.context;
      prevSeqno = prev.seqno;
    } else {
      context = domain.allocContext();
      if (prev instanceof ChainNode && prev.seqno > seqno) seqno = prev.seqno;
    }
    super(domain, { context, seqno, name: 'chain' });
    this.prev = prev;
    this.fence = fence;
    this.prevSeqno = prevSeqno;
    this.point = point;
    // Cumulative: signalled once the own fence and the whole previous timeline have.
    let pending = prev ? 2 : 1;
    const one = (): void => {
      if (--pending === 0) this.signal();
    };
    fence.onSignal(one);
    prev?.onSignal(one);
  }
}

/** A fence context with increasing seqnos (a queue timeline). */
export class FenceTimeline {
  readonly context: bigint;
  private seqno = 0n;

  constructor(
    private readonly domain: FenceDomain,
    readonly name = 'timeline',
  ) {
    this.context = domain.allocContext();
  }

  /** A new pending fence with the next seqno. */
  next(): Fence {
    return new Fence(this.domain, { context: this.context, seqno: ++this.seqno, name: this.name });
  }

  /** The last seqno handed out. */
  get last(): bigint {
    return this.seqno;
  }
}

/**
 * A queue's "last fence" slot (xe_exec_queue_last_fence_get/set/put, sync_exec.md 3.1).
 * get() drops a signalled fence from the slot and returns the slot's fence or a stub.
 */
export class LastFence {
  private slot: Fence | null = null;

  constructor(private readonly domain: FenceDomain) {}

  /** The fence to depend on: the pending last fence, or a signalled stub. */
  get(): Fence {
    if (this.slot?.signaled) this.slot = null;
    return this.slot ?? this.domain.stub();
  }

  /** Replaces the slot. */
  set(f: Fence): void {
    this.slot = f;
  }

  /** The slot as is (null when empty). */
  peek(): Fence | null {
    return this.slot;
  }

  /** Empties the slot (queue destroyed). */
  clear(): void {
    this.slot = null;
  }
}

/**
 * dma_fence_chain_walk: the next element after chain node `f`, unlinking earlier nodes
 * whose own fence has signalled (and a signalled non-chain base). Null at the end.
 */
export function chainWalk(f: Fence): Fence | null {
  if (!(f instanceof ChainNode)) return null;
  for (;;) {
    const prev = f.prev;
    if (!prev) return null;
    let replacement: Fence | null;
    if (prev instanceof ChainNode) {
      if (!prev.fence.signaled) return prev;
      replacement = prev.prev;
    } else {
      if (!prev.signaled) return prev;
      replacement = null;
    }
    f.prev = replacement;
  }
}

/** dma_fence_chain_for_each: `head`, then every chainWalk step. */
export function* chainIter(head: Fence): Generator<Fence> {
  for (let it: Fence | null = head; it; it = chainWalk(it)) yield it;
}

/**
 * dma_fence_chain_find_seqno: the fence to wait on for timeline point `seqno` of content
 * `f`. Point 0 is `f` itself. undefined = not found (f is not a chain, or the point is
 * later than the last submitted one); null = everything up to the point has completed.
 */
export function chainFindSeqno(f: Fence, seqno: bigint): Fence | null | undefined {
  if (seqno === 0n) return f;
  if (!(f instanceof ChainNode) || f.seqno < seqno) return undefined;
  let it: Fence | null = f;
  for (; it; it = chainWalk(it)) {
    if (it.context !== f.context || !(it instanceof ChainNode) || it.prevSeqno < seqno) break;
  }
  return it;
}

/** The leaf fences of `f`: chain elements' own fences and arrays' children (dma_fence_unwrap). */
export function unwrapFences(f: Fence): Fence[] {
  const out: Fence[] = [];
  const add = (x: Fence): void => {
    if (x instanceof FenceArray) x.fences.forEach(add);
    else if (x instanceof ChainNode) for (const it of chainIter(x)) add(it instanceof ChainNode ? it.fence : it);
    else out.push(x);
  };
  add(f);
  return out;
}

/**
 * dma_fence_unwrap_merge of one fence: its pending leaves, one per context (the later
 * seqno), as a single fence: a signalled stub when none is pending, the leaf itself when
 * one is, else a new composite.
 */
export function unwrapMerge(f: Fence): Fence {
  const byContext = new Map<bigint, Fence>();
  for (const leaf of unwrapFences(f)) {
    if (leaf.signaled) continue;
    const had = byContext.get(leaf.context);
    if (!had || leaf.seqno > had.seqno) byContext.set(leaf.context, leaf);
  }
  const leaves = [...byContext.values()];
  if (leaves.length === 0) return f.domain.stub();
  if (leaves.length === 1) return leaves[0];
  return f.domain.array(leaves);
}
