/**
 * The frames a session sent, numbered, kept (within bounds) so that a resumed connection gets every
 * frame it missed (DESIGN §6). A ring: pushing past the bound overwrites the oldest frame in place.
 * Frames the client acknowledges (`ack`, or `received` of a resuming hello) are released at once, so
 * a client that acknowledges keeps only its unacknowledged frames here.
 */

import type { Counter } from "../core/metrics.js";

const INITIAL_SLOTS = 16;

/** The ring of a buffer that has held nothing yet (shared, never written: the first push grows it). */
const NO_SLOTS: readonly (Uint8Array | undefined)[] = [];

/** Gauges of what every session's buffer holds (`sdk_replay_frames`, `sdk_replay_bytes`). */
export interface ReplayGauges {
  frames: Counter;
  bytes: Counter;
}

/** A bounded, numbered log of sent frames. */
export class ReplayBuffer {
  /**
   * Made on the first push and grows (doubling, up to `maxFrames` slots) only as frames are held; an
   * idle session whose frames were all acknowledged holds an empty ring.
   */
  private ring = NO_SLOTS as (Uint8Array | undefined)[];
  /** Index in `ring` of the oldest frame held. */
  private head = 0;
  private count = 0;
  private bytes = 0;
  /** Number of the last frame pushed (frames are numbered from 1). */
  last = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
    private readonly gauges: ReplayGauges = { frames: { value: 0 }, bytes: { value: 0 } },
  ) {}

  /** Number of the oldest frame still held (last + 1 when empty). */
  get oldest(): number {
    return this.last - this.count + 1;
  }

  /** How many frames are held. */
  get size(): number {
    return this.count;
  }

  /** Records the next frame; returns its number. Drops the oldest frames beyond the bounds. */
  push(frame: Uint8Array): number {
    if (this.count === this.ring.length) {
      if (this.count < this.maxFrames || this.count === 0) this.grow();
      else this.dropOldest();
    }
    const size = this.ring.length;
    this.ring[(this.head + this.count) % size] = frame;
    this.count++;
    this.bytes += frame.length;
    this.gauges.frames.value++;
    this.gauges.bytes.value += frame.length;
    this.last++;
    while (this.bytes > this.maxBytes && this.count > 1) this.dropOldest();
    return this.last;
  }

  /** True when every frame after `received` is still held. */
  covers(received: number): boolean {
    return received <= this.last && received + 1 >= this.oldest;
  }

  /** The frames numbered after `received`, oldest first (call `covers` first). */
  after(received: number): Uint8Array[] {
    const size = this.ring.length;
    const out: Uint8Array[] = [];
    for (let i = received + 1 - this.oldest; i < this.count; i++)
      out.push(this.ring[(this.head + i) % size] as Uint8Array);
    return out;
  }

  /** Drops the frames numbered up to `received` (the client has them). */
  release(received: number): void {
    const drop = Math.min(received - this.oldest + 1, this.count);
    for (let i = 0; i < drop; i++) this.dropOldest();
    // Everything acknowledged: an idle session keeps no ring (the next push makes a small one).
    if (this.count === 0) {
      this.ring = NO_SLOTS as (Uint8Array | undefined)[];
      this.head = 0;
    }
  }

  /** Drops every frame (the session ended). */
  clear(): void {
    this.release(this.last);
  }

  /** A ring twice as large (at most `maxFrames`), the held frames moved to its start in order. */
  private grow(): void {
    const size = this.ring.length;
    const next = new Array<Uint8Array | undefined>(
      size === 0 ? Math.min(INITIAL_SLOTS, Math.max(1, this.maxFrames)) : Math.min(size * 2, this.maxFrames),
    );
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) % size];
    this.ring = next;
    this.head = 0;
  }

  private dropOldest(): void {
    const frame = this.ring[this.head] as Uint8Array;
    this.ring[this.head] = undefined;
    this.bytes -= frame.length;
    this.gauges.frames.value--;
    this.gauges.bytes.value -= frame.length;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
  }
}
