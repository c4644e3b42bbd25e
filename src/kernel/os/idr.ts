/**
 * Handle / id tables allocated like the kernel's xarrays with XA_FLAGS_ALLOC1: the lowest
 * free id at or above the base, so ids are reused and runs are reproducible.
 */
export class IdTable<T> {
  private readonly items = new Map<number, T>();

  constructor(
    private readonly base = 1,
    private readonly limit = 0xffffffff,
  ) {}

  /** Stores `item` under the lowest free id; returns the id, or -1 when the space is full. */
  alloc(item: T): number {
    for (let id = this.base; id <= this.limit; id++) {
      if (!this.items.has(id)) {
        this.items.set(id, item);
        return id;
      }
    }
    return -1;
  }

  /** Stores `item` under `id` (which the caller chose free, e.g. a reserved fd). */
  set(id: number, item: T): void {
    this.items.set(id, item);
  }

  /** The item under `id`. */
  get(id: number): T | undefined {
    return this.items.get(id);
  }

  /** Removes and returns the item under `id`. */
  remove(id: number): T | undefined {
    const it = this.items.get(id);
    this.items.delete(id);
    return it;
  }

  /** Removes every entry in ascending id order, passing each item to `release` after its removal. */
  drain(release: (item: T) => void): void {
    for (const [id, it] of this.entries()) {
      this.items.delete(id);
      release(it);
    }
  }

  /** Live entries in ascending id order. */
  entries(): Array<[number, T]> {
    return [...this.items.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Number of live entries. */
  get size(): number {
    return this.items.size;
  }
}
