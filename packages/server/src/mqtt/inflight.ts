/**
 * Packet-id tables for a session's QoS 1/2 exchanges that do not churn the heap (issue 12 item 18,
 * docs/performance.md "GC and the QoS 1 latency tail"). A long-lived `Map` or `Set` with an insert and
 * a delete per message rebuilds its hash table every few operations, and V8 allocates the new table
 * straight into old space when the collection is old: at 2,000 QoS 1 msg/s that alone made several
 * mark-compacts a minute. These tables are fixed arrays, allocated once (and grown only when a
 * larger window is needed), so an exchange allocates nothing.
 */

/** The in-flight state of an outgoing QoS 2 message after its PUBREC: PUBREL sent, PUBCOMP awaited. */
const RELEASED = 1;

/** Smallest power of two at or above `n` (n >= 1). */
function powerOfTwoAtLeast(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/**
 * Outgoing QoS 1/2 messages in flight, by packet id [MQTT-4.3.2] [MQTT-4.3.3]. The session allocates
 * the ids, so it picks only ids whose slot `id & (capacity - 1)` is free: an id's slot is found without
 * hashing and nothing is rehashed. A send sequence per slot keeps the original order for re-sending
 * after a reconnect [MQTT-4.6.0-1].
 */
export class InflightWindow<TMessage> {
  /** Messages in flight; `undefined` in a free slot. */
  private messages: (TMessage | undefined)[];
  /** The packet id in each slot (0 = free; 0 is never a packet id [MQTT-2.2.1-3]). */
  private ids: Uint16Array;
  /** Send order of each slot's message. */
  private sequence: Float64Array;
  /** 0 = PUBLISH sent, {@link RELEASED} = PUBREL sent (QoS 2). */
  private states: Uint8Array;
  private mask: number;
  private nextId = 1;
  private sent = 0;
  /** Messages in flight. */
  size = 0;

  /** A window for at least `limit` messages in flight (1..65535). */
  constructor(limit: number) {
    const capacity = powerOfTwoAtLeast(limit);
    this.messages = new Array<TMessage | undefined>(capacity).fill(undefined);
    this.ids = new Uint16Array(capacity);
    this.sequence = new Float64Array(capacity);
    this.states = new Uint8Array(capacity);
    this.mask = capacity - 1;
  }

  /** How many messages fit (65535 at most: no id has slot 0 of a 65536-slot table). */
  get capacity(): number {
    return Math.min(this.mask + 1, 65535);
  }

  /**
   * Makes room for `limit` messages in flight (a reconnect may bring a larger Receive Maximum). Ids
   * apart modulo the old capacity are apart modulo a larger power of two, so nothing collides.
   */
  ensureCapacity(limit: number): void {
    if (limit <= this.capacity) return;
    const { messages, ids, sequence, states } = this;
    const capacity = powerOfTwoAtLeast(limit);
    this.messages = new Array<TMessage | undefined>(capacity).fill(undefined);
    this.ids = new Uint16Array(capacity);
    this.sequence = new Float64Array(capacity);
    this.states = new Uint8Array(capacity);
    this.mask = capacity - 1;
    for (let slot = 0; slot < ids.length; slot++) {
      const id = ids[slot] as number;
      if (id === 0) continue;
      const to = id & this.mask;
      this.messages[to] = messages[slot];
      this.ids[to] = id;
      this.sequence[to] = sequence[slot] as number;
      this.states[to] = states[slot] as number;
    }
  }

  /** Puts `message` in flight under a new packet id, unused by any message in flight [MQTT-2.2.1-3]. */
  add(message: TMessage): number {
    if (this.size >= this.capacity) throw new Error("inflight window is full");
    // Some id among the next `capacity + 1` has a free slot: they cover every slot (the wrap from
    // 65535 to 1 skips one id).
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      const slot = id & this.mask;
      if (this.ids[slot] !== 0) continue;
      this.ids[slot] = id;
      this.messages[slot] = message;
      this.sequence[slot] = this.sent++;
      this.states[slot] = 0;
      this.size++;
      return id;
    }
  }

  /**
   * Puts `message` back in flight under the packet id it had before a restart (so that it is resent
   * with that id and DUP set [MQTT-4.4.0-1]), `released` when its PUBREC had come. The table grows
   * when the id's slot is taken.
   */
  restore(id: number, message: TMessage, released: boolean): void {
    if (this.has(id)) throw new Error(`packet id ${id} is already in flight`);
    while (this.ids[id & this.mask] !== 0) this.ensureCapacity(this.mask + 2);
    const slot = id & this.mask;
    this.ids[slot] = id;
    this.messages[slot] = message;
    this.sequence[slot] = this.sent++;
    this.states[slot] = released ? RELEASED : 0;
    this.size++;
    if (id >= this.nextId) this.nextId = id === 65535 ? 1 : id + 1;
  }

  /** True when `id` is in flight. */
  has(id: number): boolean {
    return this.ids[id & this.mask] === id && id !== 0;
  }

  /** The message in flight under `id`. */
  get(id: number): TMessage | undefined {
    return this.has(id) ? this.messages[id & this.mask] : undefined;
  }

  /** Ends the exchange of `id`; false when it was not in flight. */
  delete(id: number): boolean {
    if (!this.has(id)) return false;
    const slot = id & this.mask;
    this.ids[slot] = 0;
    this.messages[slot] = undefined;
    this.states[slot] = 0;
    this.size--;
    return true;
  }

  /** PUBREC received for `id`: PUBREL goes out instead of the PUBLISH from now on. False when unknown. */
  release(id: number): boolean {
    if (!this.has(id)) return false;
    this.states[id & this.mask] = RELEASED;
    return true;
  }

  /** True when `id` is in flight and released (waiting for PUBCOMP). */
  released(id: number): boolean {
    return this.has(id) && this.states[id & this.mask] === RELEASED;
  }

  /** The ids in flight, in the order their messages were first sent. */
  idsInSendOrder(): number[] {
    const found: number[] = [];
    for (let slot = 0; slot < this.ids.length; slot++) if (this.ids[slot] !== 0) found.push(slot);
    found.sort((a, b) => (this.sequence[a] as number) - (this.sequence[b] as number));
    for (let i = 0; i < found.length; i++) found[i] = this.ids[found[i] as number] as number;
    return found;
  }

  /** Forgets everything in flight. */
  clear(): void {
    this.messages.fill(undefined);
    this.ids.fill(0);
    this.states.fill(0);
    this.size = 0;
  }
}

/** Above this many ids a {@link PacketIdSet} keeps a bitmap (8 KB) instead of its probing table. */
const TABLE_LIMIT = 512;

/**
 * A set of packet ids (1..65535) chosen by the other side, such as the QoS 2 ids a client has sent
 * and not yet released [MQTT-4.3.3-3]. An open-addressing table with linear probing and
 * backward-shift deletion (no tombstones, so no rebuilds under churn), grown only when more ids are
 * held at once than ever before; past {@link TABLE_LIMIT} ids it becomes a bitmap, which bounds both
 * its size and the cost of ids picked to collide.
 */
export class PacketIdSet {
  private table: Uint16Array;
  private mask: number;
  private bitmap: Uint32Array | undefined;
  /** Ids held. */
  size = 0;

  /** A set sized for about `expected` ids at once. */
  constructor(expected = 8) {
    const capacity = powerOfTwoAtLeast(Math.min(expected, TABLE_LIMIT) * 2);
    this.table = new Uint16Array(capacity);
    this.mask = capacity - 1;
  }

  /** True when `id` is held. */
  has(id: number): boolean {
    if (this.bitmap !== undefined) return ((this.bitmap[id >>> 5] as number) & (1 << (id & 31))) !== 0;
    return this.find(id) >= 0;
  }

  /** Adds `id`; false when it was already held. */
  add(id: number): boolean {
    if (this.bitmap !== undefined) {
      const bit = 1 << (id & 31);
      const word = this.bitmap[id >>> 5] as number;
      if ((word & bit) !== 0) return false;
      this.bitmap[id >>> 5] = word | bit;
      this.size++;
      return true;
    }
    if (this.find(id) >= 0) return false;
    if ((this.size + 1) * 2 > this.table.length) this.grow();
    if (this.bitmap !== undefined) return this.add(id);
    let slot = this.home(id);
    while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
    this.table[slot] = id;
    this.size++;
    return true;
  }

  /** Removes `id`; false when it was not held. */
  delete(id: number): boolean {
    if (this.bitmap !== undefined) {
      const bit = 1 << (id & 31);
      const word = this.bitmap[id >>> 5] as number;
      if ((word & bit) === 0) return false;
      this.bitmap[id >>> 5] = word & ~bit;
      this.size--;
      return true;
    }
    let hole = this.find(id);
    if (hole < 0) return false;
    // Backward-shift deletion: move later entries of the probe run into the hole when their home
    // slot allows, so every remaining id stays reachable from its home without tombstones.
    const table = this.table;
    const mask = this.mask;
    let slot = hole;
    for (;;) {
      slot = (slot + 1) & mask;
      const moved = table[slot] as number;
      if (moved === 0) break;
      const home = this.home(moved);
      // `moved` may fill the hole unless its home lies cyclically in (hole, slot].
      if (((slot - home) & mask) >= ((slot - hole) & mask)) {
        table[hole] = moved;
        hole = slot;
      }
    }
    table[hole] = 0;
    this.size--;
    return true;
  }

  /** The ids held, in no particular order. */
  ids(): number[] {
    const out: number[] = [];
    if (this.bitmap !== undefined) {
      for (let id = 1; id < 65536; id++) if (this.has(id)) out.push(id);
    } else for (const id of this.table) if (id !== 0) out.push(id);
    return out;
  }

  /** Forgets every id. */
  clear(): void {
    if (this.bitmap !== undefined) {
      this.bitmap = undefined;
      this.table = new Uint16Array(TABLE_LIMIT * 2);
      this.mask = this.table.length - 1;
    } else this.table.fill(0);
    this.size = 0;
  }

  /** Fibonacci hashing, so that ids picked in steps of a power of two still spread over the table. */
  private home(id: number): number {
    return (Math.imul(id, 0x9e3779b1) >>> 16) & this.mask;
  }

  private find(id: number): number {
    if (id === 0) return -1;
    let slot = this.home(id);
    for (;;) {
      const held = this.table[slot] as number;
      if (held === id) return slot;
      if (held === 0) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    if (old.length >= TABLE_LIMIT * 2) {
      const bitmap = new Uint32Array(65536 / 32);
      for (const id of old) if (id !== 0) bitmap[id >>> 5] = (bitmap[id >>> 5] as number) | (1 << (id & 31));
      this.bitmap = bitmap;
      this.table = new Uint16Array(0);
      this.mask = 0;
      return;
    }
    this.table = new Uint16Array(old.length * 2);
    this.mask = this.table.length - 1;
    for (const id of old) {
      if (id === 0) continue;
      let slot = this.home(id);
      while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
      this.table[slot] = id;
    }
  }
}
