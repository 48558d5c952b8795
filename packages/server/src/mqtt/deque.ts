/**
 * A double-ended queue on a ring buffer: push, shift and peek in constant time (an array's `shift()`
 * is linear in its length, which made a long session queue quadratic to drain; issue 12). The
 * buffer grows by doubling and shrinks back when it empties, so an idle session holds a small array.
 */

const MIN_CAPACITY = 8;
/** The buffer of every empty queue that never held anything (never written: `grow` replaces it first). */
const NONE: never[] = [];

/** A FIFO queue with O(1) push and shift. */
export class Deque<T> {
  // Made on the first push: an idle session's queue holds no array (issue 11).
  private items: (T | undefined)[] = NONE;
  private head = 0;
  private count = 0;

  /** How many items are queued. */
  get length(): number {
    return this.count;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  /** Removes and returns the front item, or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let it be collected
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    if (this.count === 0) {
      this.head = 0;
      if (this.items.length > 1024) this.items = new Array<T | undefined>(MIN_CAPACITY);
    }
    return item;
  }

  /** The front item without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes everything. */
  clear(): void {
    this.items = NONE;
    this.head = 0;
    this.count = 0;
  }

  /** The items front to back. */
  *[Symbol.iterator](): Generator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) & (this.items.length - 1)] as T;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(Math.max(MIN_CAPACITY, old.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
