/**
 * The time series topics of the core (issue 9 §2, docs/timeseries.md): one {@link TimeSeriesLog} per
 * topic of type `time-series`, made when first used (or at start-up from the store's extents), its
 * events kept by the durable engine when the topic is persistent and by the volatile (memory) engine
 * otherwise, so that a non-persistent series never waits on disk. A periodic sweep applies every
 * series' `retainedRange.durationMs` over the whole store.
 *
 * @module
 */
import { type RangeQueryParameters, SkeinError, VALUE_CODECS, valueTypeOf } from "@skein/protocol";
import type { Counter, Metrics } from "../metrics.js";
import type { Clock, Logger, Timer } from "../ports.js";
import type { SeriesRecord, Storage, TimeSeriesEvent } from "../storage.js";
import type { MessageProperties, Topic, Update, UserProperties } from "../types.js";
import { type RangeResultPage, evaluateRangeQuery } from "./evaluate.js";
import { type Appended, TimeSeriesLog } from "./series.js";

/** RAM window of recent events per series at least (new subscribers' range, edit checks). */
const MIN_WINDOW = 64;
/** The largest subscription range served: what a new subscriber receives comes from the RAM window. */
export const MAX_SUBSCRIPTION_RANGE = 1000;

/**
 * How many of the newest events a new subscriber may receive: the subscription range's count (default
 * 1; {@link MIN_WINDOW} for a duration without a count), at most {@link MAX_SUBSCRIPTION_RANGE}.
 */
function subscriptionCount(topic: Topic): number {
  const range = topic.spec.properties?.subscriptionRange ?? 1;
  const count =
    typeof range === "number" ? range : (range.count ?? (range.durationMs !== undefined ? MIN_WINDOW : 1));
  return Math.min(count, MAX_SUBSCRIPTION_RANGE);
}

/** An appended event, its commit, and the update delivered to subscribers. */
export interface AppendedEvent extends Appended {
  /** The update delivered for it (MQTT User Properties `seq` and `ts`; the event for the SDK door). */
  readonly update: Update;
}

/** The time series topics and their logs. */
export class TimeSeriesTopics {
  private readonly logs = new Map<string, TimeSeriesLog>();
  /** Extents found in the durable store at start-up, until their topic's log is made. */
  private readonly extents = new Map<string, SeriesRecord>();
  private durable: Storage | undefined;
  private volatile: Storage | undefined;
  private timer: Timer | undefined;
  private sweeping = false;
  private readonly appended: Counter;

  /**
   * @param clock Time and timers.
   * @param log Where sweep failures go.
   * @param metrics `skein_timeseries_events_total` counts appended events (edits included).
   * @param keeps True when a topic's changes are kept by the durable engine.
   */
  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly keeps: (topic: Topic) => boolean,
  ) {
    this.appended = metrics.counter("skein_timeseries_events_total");
  }

  /** The engine of persistent series (the server's store), once attached. */
  attachDurable(storage: Storage | undefined): void {
    this.durable = storage;
  }

  /** The engine of non-persistent series (a memory engine), and of every series when none is durable. */
  attachVolatile(storage: Storage): void {
    this.volatile = storage;
  }

  /** Start-up: a series the durable store keeps (its log is made from it when its topic is used). */
  restored(record: SeriesRecord): void {
    this.extents.set(record.path, record);
  }

  /** Start-up, once topics are restored: makes the restored series' logs and fills their RAM windows. */
  async warm(topic: (path: string) => Topic | undefined): Promise<number> {
    let n = 0;
    for (const path of [...this.extents.keys()]) {
      const t = topic(path);
      if (t === undefined || t.spec.type !== "time-series") continue;
      await this.logOf(t).warm();
      n++;
    }
    this.extents.clear();
    return n;
  }

  /**
   * Starts the sweep of `retainedRange.durationMs`, every `intervalMs` (a turn is skipped while the
   * previous sweep is still reading or writing the store).
   */
  start(intervalMs: number): void {
    const run = (): void => {
      this.timer = this.clock.setTimeout(run, intervalMs);
      this.timer.unref?.();
      if (this.sweeping) return;
      this.sweeping = true;
      this.sweep(this.clock.now())
        .catch((err: unknown) => this.log.error({ err }, "time series sweep failed"))
        .finally(() => (this.sweeping = false));
    };
    this.timer = this.clock.setTimeout(run, intervalMs);
    this.timer.unref?.();
  }

  /** Stops the sweep. */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Applies the duration of every series' retained range over its whole store. */
  async sweep(now: number): Promise<void> {
    for (const series of [...this.logs.values()]) await series.sweep(now);
  }

  /** The log of a time series topic, made on first use. */
  logOf(topic: Topic): TimeSeriesLog {
    let series = this.logs.get(topic.path);
    if (series) return series;
    const storage = (this.keeps(topic) ? this.durable : undefined) ?? this.volatile;
    if (!storage) throw new SkeinError("INTERNAL", "no storage engine for time series events");
    const p = topic.spec.properties;
    series = new TimeSeriesLog(
      topic.path,
      storage,
      { retainedRange: p?.retainedRange, recentWindow: Math.max(MIN_WINDOW, subscriptionCount(topic)) },
      storage === this.durable ? this.extents.get(topic.path) : undefined,
    );
    this.logs.set(topic.path, series);
    return series;
  }

  /** The subscription range of a topic: its newest events, oldest first, for a new subscriber. */
  subscriptionRange(topic: Topic): readonly TimeSeriesEvent[] {
    const n = subscriptionCount(topic);
    if (n === 0) return [];
    const recent = this.logOf(topic).recent(n);
    const range = topic.spec.properties?.subscriptionRange;
    const ms = typeof range === "object" ? range.durationMs : undefined;
    if (ms === undefined) return recent;
    const since = this.clock.now() - ms;
    return recent.filter((e) => e.timestamp >= since);
  }

  /**
   * Appends an original event whose value the caller checked against the event type; `from` is the
   * update it came from (an MQTT PUBLISH: its properties are passed on), if any.
   */
  append(topic: Topic, value: Uint8Array, author: string, from?: Update): AppendedEvent {
    const a = this.logOf(topic).append(value, author, this.clock.now());
    return this.appendedEvent(topic, a, from);
  }

  /**
   * Appends an edit of `originalSequence`.
   * @throws SkeinError `INVALID_ARGUMENT` when that event is outside the retained range or an edit
   */
  async edit(
    topic: Topic,
    originalSequence: number,
    value: Uint8Array,
    author: string,
  ): Promise<AppendedEvent> {
    const a = await this.logOf(topic).edit(originalSequence, value, author, this.clock.now());
    return this.appendedEvent(topic, a, undefined);
  }

  /** Runs a range query over a topic's series, in pages (see `evaluateRangeQuery`). */
  query(topic: Topic, query: RangeQueryParameters, pageSize?: number): AsyncGenerator<RangeResultPage> {
    return evaluateRangeQuery(this.logOf(topic), query, pageSize);
  }

  /** A topic was removed: its log goes, and a volatile series' events with it (a durable one's go with the topic). */
  removed(topic: Topic): void {
    const series = this.logs.get(topic.path);
    if (!series) return;
    this.logs.delete(topic.path);
    if (!this.keeps(topic)) void this.volatile?.removeTopic(topic.path);
  }

  private appendedEvent(topic: Topic, a: Appended, from: Update | undefined): AppendedEvent {
    this.appended.value++;
    return { event: a.event, committed: a.committed, update: eventUpdate(topic, a.event, from) };
  }
}

/**
 * The update that carries an event to subscribers: the value's bytes, the content type and format of
 * the event type (unless the publisher gave its own, forwarded unaltered [MQTT-3.3.2-4]
 * [MQTT-3.3.2-20]), the publisher's User Properties followed by `seq` and `ts` (and `edit-of` for an
 * edit), and the event itself for the SDK door.
 */
function eventUpdate(topic: Topic, event: TimeSeriesEvent, from: Update | undefined): Update {
  const codec = VALUE_CODECS[valueTypeOf(topic.spec)];
  const given = from?.properties;
  const users: UserProperties = { ...given?.userProperties };
  users.seq = String(event.sequence);
  users.ts = String(event.timestamp);
  if (event.originalSequence !== undefined) users["edit-of"] = String(event.originalSequence);
  const properties: MessageProperties = {
    contentType: codec.contentType,
    payloadFormatIndicator: codec.utf8 || undefined,
    ...given,
    userProperties: users,
  };
  return {
    topic: topic.path,
    payload: event.value,
    qos: from?.qos ?? 1,
    // An event is not a retained value: new subscribers get the subscription range instead.
    retain: false,
    properties,
    expiresAt: from?.expiresAt,
    origin: from?.origin,
    event,
  };
}
