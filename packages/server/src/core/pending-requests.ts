/**
 * Requests waiting for an answer, by request id, without a hash table (issue 12 item 18,
 * docs/performance.md "GC and the QoS 1 latency tail"). A long-lived `Map` with a `set` and a
 * `delete` per request rebuilds its table every few requests, and V8 allocates the new table straight
 * into old space when the `Map` is old: garbage only a mark-compact frees. The router allocates the
 * ids itself, so it takes only ids whose slot `id & (capacity - 1)` is free, and the table doubles
 * when half full (rare: only when more requests wait at once than ever before).
 */

/** An entry: anything that knows its request id. */
export interface HasRequestId {
  readonly requestId: number;
}

/** Pending requests in an array indexed by the low bits of their id. */
export class PendingRequests<TEntry extends HasRequestId> {
  private slots: (TEntry | undefined)[];
  private mask: number;
  private nextId = 1;
  /** Requests waiting. */
  size = 0;

  /** A table for `capacity` requests at first (a power of two). */
  constructor(capacity = 64) {
    this.slots = new Array<TEntry | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
  }

  /**
   * A new request id, never used before (ids only grow), whose slot is free: {@link add} the entry
   * with it before allocating another.
   */
  allocate(): number {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    for (;;) {
      const id = this.nextId++;
      // `&` works on the low 32 bits, so it is `id mod capacity` for every safe integer id.
      if (this.slots[id & this.mask] === undefined) return id;
    }
  }

  /** Adds an entry whose id came from {@link allocate}. */
  add(entry: TEntry): void {
    this.slots[entry.requestId & this.mask] = entry;
    this.size++;
  }

  /** The entry waiting under `requestId` (any number a peer sent). */
  get(requestId: number): TEntry | undefined {
    const entry = this.slots[requestId & this.mask];
    return entry !== undefined && entry.requestId === requestId ? entry : undefined;
  }

  /** Removes `entry` if it is still waiting. */
  delete(entry: TEntry): boolean {
    const slot = entry.requestId & this.mask;
    if (this.slots[slot] !== entry) return false;
    this.slots[slot] = undefined;
    this.size--;
    return true;
  }

  /** Calls `visit` for every waiting entry; `visit` may delete entries. */
  forEach(visit: (entry: TEntry) => void): void {
    const slots = this.slots;
    for (let slot = 0; slot < slots.length; slot++) {
      const entry = slots[slot];
      if (entry !== undefined) visit(entry);
    }
  }

  /** Doubles the table; ids apart modulo the old size stay apart modulo the new one. */
  private grow(): void {
    const old = this.slots;
    this.slots = new Array<TEntry | undefined>(old.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    for (const entry of old) if (entry !== undefined) this.slots[entry.requestId & this.mask] = entry;
  }
}
