/**
 * One time series as the core holds it: the sequence and time counters, the retained range, a bounded
 * window of recent events in RAM (for new subscribers and edit checks), and the store behind it for
 * everything else. Appends and edits are stored through the {@link Storage} port; their promise
 * settles when committed, and only then may the caller acknowledge them.
 *
 * @module
 */
import { SkeinError } from "@skein/protocol";
import type { SeriesRecord, Storage, TimeSeriesEvent } from "../storage.js";
import type { EventSource } from "./evaluate.js";

/** How much of a series is kept: the last `count` events and/or the events of the last `durationMs`. */
export interface RetainedRange {
  /** Keep at most this many events (edits count). */
  readonly count?: number;
  /** Keep events no older than this many ms. */
  readonly durationMs?: number;
}

/** Options of a {@link TimeSeriesLog}. */
export interface TimeSeriesLogOptions {
  /** The retained range; absent: keep everything. */
  readonly retainedRange?: RetainedRange;
  /** How many recent events RAM keeps (default 64). */
  readonly recentWindow?: number;
}

/** An appended event and the promise of its commit. */
export interface Appended {
  /** The event, with its sequence and timestamp. */
  readonly event: TimeSeriesEvent;
  /** Settles when the event is committed: acknowledge only then. */
  readonly committed: Promise<void>;
}

/** One time series: appends, edits, retention and reads, over the storage port. */
export class TimeSeriesLog implements EventSource {
  private first: number;
  private next: number;
  private lastTs: number | undefined;
  private readonly window: TimeSeriesEvent[] = [];
  private readonly windowSize: number;

  /**
   * @param path The series' topic path.
   * @param storage Where events are kept.
   * @param options Retained range and RAM window.
   * @param state Where the series stands (from {@link Storage.load}); a new series starts at 0.
   */
  constructor(
    readonly path: string,
    private readonly storage: Storage,
    private readonly options: TimeSeriesLogOptions = {},
    state?: SeriesRecord,
  ) {
    this.first = state?.firstSequence ?? 0;
    this.next = state?.nextSequence ?? 0;
    this.lastTs = state?.lastTimestamp;
    this.windowSize = Math.max(1, options.recentWindow ?? 64);
  }

  /** Fills the RAM window from the store (after a restart). */
  async warm(): Promise<void> {
    const recent = await this.storage.readEvents(this.path, {
      fromSequence: this.first,
      newestFirst: true,
      limit: this.windowSize,
    });
    this.window.length = 0;
    for (let i = recent.length - 1; i >= 0; i--) this.window.push(recent[i]!);
  }

  /** Sequence of the oldest kept event. */
  get firstSequence(): number {
    return this.first;
  }
  /** Sequence the next event gets. */
  get nextSequence(): number {
    return this.next;
  }
  /** Timestamp of the newest event, if any. */
  get lastTimestamp(): number | undefined {
    return this.lastTs;
  }

  /** The newest events held in RAM (at most `count`, oldest first). */
  recent(count = this.windowSize): readonly TimeSeriesEvent[] {
    return this.window.slice(Math.max(0, this.window.length - count));
  }

  /**
   * Appends an original event. Its timestamp is `now`, or the previous event's if the clock went back
   * (timestamps never decrease along a series). Applies the retained range.
   */
  append(value: Uint8Array, author: string, now: number): Appended {
    return this.add({ sequence: this.next, timestamp: this.stamp(now), author, value }, now);
  }

  /**
   * Appends an edit of the original event `originalSequence`. Refused (INVALID_ARGUMENT) when that
   * event is outside the retained range (dropped, or not yet appended) or is itself an edit.
   */
  async edit(originalSequence: number, value: Uint8Array, author: string, now: number): Promise<Appended> {
    if (
      !Number.isSafeInteger(originalSequence) ||
      originalSequence < this.first ||
      originalSequence >= this.next
    ) {
      throw new SkeinError(
        "INVALID_ARGUMENT",
        `cannot edit event ${originalSequence} of ${this.path}: it is outside the retained range [${this.first}, ${this.next})`,
      );
    }
    const original =
      this.window.find((e) => e.sequence === originalSequence) ??
      (
        await this.storage.readEvents(this.path, {
          fromSequence: originalSequence,
          toSequence: originalSequence + 1,
          limit: 1,
        })
      )[0];
    if (!original || original.sequence < this.first) {
      throw new SkeinError(
        "INVALID_ARGUMENT",
        `cannot edit event ${originalSequence} of ${this.path}: it is outside the retained range`,
      );
    }
    if (original.originalSequence !== undefined) {
      throw new SkeinError(
        "INVALID_ARGUMENT",
        `cannot edit event ${originalSequence} of ${this.path}: it is an edit (of ${original.originalSequence}); edit the original instead`,
      );
    }
    return this.add(
      { sequence: this.next, timestamp: this.stamp(now), author, value, originalSequence },
      now,
    );
  }

  /**
   * Applies the retained range's duration over the whole series (the periodic sweep); `append` applies
   * the count exactly and the duration over the RAM window only.
   */
  async sweep(now: number): Promise<void> {
    const ms = this.options.retainedRange?.durationMs;
    if (ms === undefined || this.first >= this.next) return;
    const keep = await this.storage.findEventByTime(this.path, now - ms, "atOrAfter");
    await this.trim(keep?.sequence ?? this.next);
  }

  /** Reads events (the {@link EventSource} of range queries). */
  readEvents: EventSource["readEvents"] = (read) => this.storage.readEvents(this.path, read);

  /** Counts events (the {@link EventSource} of range queries). */
  countEvents: EventSource["countEvents"] = (count) => this.storage.countEvents(this.path, count);

  /** Finds an event by time (the {@link EventSource} of range queries). */
  findEventByTime: EventSource["findEventByTime"] = (timestamp, side) =>
    this.storage.findEventByTime(this.path, timestamp, side);

  private stamp(now: number): number {
    return this.lastTs !== undefined && now < this.lastTs ? this.lastTs : now;
  }

  private add(event: TimeSeriesEvent, now: number): Appended {
    const committed = this.storage.appendEvent(this.path, event);
    this.next = event.sequence + 1;
    this.lastTs = event.timestamp;
    this.window.push(event);
    if (this.window.length > this.windowSize * 2) this.window.splice(0, this.window.length - this.windowSize);
    const cut = this.retentionCut(now);
    if (cut > this.first) void this.trim(cut);
    return { event, committed };
  }

  /** The first sequence to keep after an append: the exact count cut, and the duration cut in RAM. */
  private retentionCut(now: number): number {
    const range = this.options.retainedRange;
    let cut = this.first;
    if (range?.count !== undefined) cut = Math.max(cut, this.next - range.count);
    if (range?.durationMs !== undefined) {
      const oldest = now - range.durationMs;
      const w = this.window;
      if (w.length > 0 && w[0]!.timestamp < oldest) {
        let i = 0;
        while (i < w.length && w[i]!.timestamp < oldest) i++;
        cut = Math.max(cut, i < w.length ? w[i]!.sequence : this.next);
      }
    }
    return cut;
  }

  private trim(beforeSequence: number): Promise<void> {
    if (beforeSequence <= this.first) return Promise.resolve();
    this.first = beforeSequence;
    let drop = 0;
    while (drop < this.window.length && this.window[drop]!.sequence < beforeSequence) drop++;
    if (drop > 0) this.window.splice(0, drop);
    return this.storage.trimEvents(this.path, beforeSequence);
  }
}
