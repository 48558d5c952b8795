/**
 * Client-side bookkeeping for session resumption (see `docs/protocol.md`).
 *
 * The server numbers every client frame after `hello` 1, 2, 3, … across the session's connections, as
 * it processes them. The outbox numbers frames the same way and keeps each one until it is known
 * processed: when its `result`/`error` arrives, or when a resuming `welcome.processed` covers it. After
 * a resumption the client re-sends, in order, every frame the server has not processed; nothing is
 * lost, nothing is processed twice.
 *
 * It is bounded: a frame beyond `capacity` unprocessed frames is refused (`RATE_LIMITED`), so a client
 * that cannot reach its server does not grow without limit.
 *
 * @module
 */
import { SkeinError } from "@skein/protocol";

/** One frame kept until the server has processed it. */
export interface OutboxEntry {
  /** The frame's number in the session (1, 2, 3, …). */
  readonly seq: number;
  /** The request id the frame carries. */
  readonly id: number;
  /** The encoded frame, re-sent as is. */
  readonly bytes: Uint8Array;
}

/** The frames sent (or to send) that the server may not have processed yet. */
export class Outbox {
  private next = 1;
  /** Unprocessed entries by seq; a Map iterates in insertion order, which is seq order. */
  private readonly entries = new Map<number, OutboxEntry>();
  private readonly seqById = new Map<number, number>();

  /** @param capacity - the most unprocessed frames kept */
  constructor(readonly capacity = 10_000) {}

  /** How many frames are kept. */
  get size(): number {
    return this.entries.size;
  }

  /** The number the next frame will get. */
  get nextSeq(): number {
    return this.next;
  }

  /**
   * Numbers a frame and keeps it.
   * @throws SkeinError `RATE_LIMITED` when `capacity` frames are already unprocessed
   */
  add(id: number, bytes: Uint8Array): OutboxEntry {
    if (this.entries.size >= this.capacity) {
      throw new SkeinError("RATE_LIMITED", `more than ${this.capacity} requests are waiting for the server`);
    }
    const entry: OutboxEntry = { seq: this.next++, id, bytes };
    this.entries.set(entry.seq, entry);
    this.seqById.set(id, entry.seq);
    return entry;
  }

  /** The frame carrying request `id` was processed (its result or error arrived). */
  processedId(id: number): void {
    const seq = this.seqById.get(id);
    if (seq === undefined) return;
    this.seqById.delete(id);
    this.entries.delete(seq);
  }

  /** Frames 1..`count` were processed (`welcome.processed` on resumption). */
  processedUpTo(count: number): void {
    for (const entry of this.entries.values()) {
      if (entry.seq > count) break;
      this.entries.delete(entry.seq);
      this.seqById.delete(entry.id);
    }
  }

  /** The first unprocessed frame, if any. */
  first(): OutboxEntry | undefined {
    for (const entry of this.entries.values()) return entry;
    return undefined;
  }

  /**
   * Replaces the bytes of the first unprocessed frame (which keeps its number and id). Used when the
   * server refused that frame for its size: a small stand-in with the same id keeps the numbering of
   * both sides in step.
   */
  replaceFirst(bytes: Uint8Array): void {
    const entry = this.first();
    if (entry) this.entries.set(entry.seq, { seq: entry.seq, id: entry.id, bytes });
  }

  /** The frames still unprocessed, in order: what to re-send after a resumption. */
  unprocessed(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  /** Forgets every frame and numbers from 1 again (a new session). Returns the ids forgotten. */
  reset(): number[] {
    const ids = [...this.seqById.keys()];
    this.entries.clear();
    this.seqById.clear();
    this.next = 1;
    return ids;
  }
}

/** Counts the server frames received, as the server numbers them (every frame but welcome and goodbye). */
export class ReceivedCounter {
  private count = 0;

  /** Server frames received (and processed) so far in this session. */
  get received(): number {
    return this.count;
  }

  /** Counts one frame of `type`, unless it is one the server does not number. */
  countFrame(type: unknown): void {
    if (type !== "welcome" && type !== "goodbye") this.count++;
  }

  /** A new session: count from 0. */
  reset(): void {
    this.count = 0;
  }
}
