/**
 * Time series event streams (`session.timeseries.addStream`): the events of the selected time series
 * topics, each with its metadata, routed from the server's `e` frames. As value streams do for values,
 * they hand each stream the new event and the last one it received.
 *
 * @module
 */
import {
  SkeinError,
  type TopicSelector,
  type TopicSpecification,
  type ValueType,
  type WireEvent,
} from "@skein/protocol";
import type { SelectedTopic } from "../topic-state.js";
import type { UnsubscribeReason } from "./streams.js";
import { type ValueOf, decodeValue } from "../values.js";

/** What an append or an edit made: the event's metadata. */
export interface EventMetadata {
  /** The event's sequence: 0 for a series' first event, then +1 per event (edits included). */
  readonly sequence: number;
  /** Server epoch ms at which it was appended. */
  readonly timestamp: number;
  /** Who appended it: the session's principal (empty for an anonymous SDK session). */
  readonly author: string;
}

/** One event of a time series: its metadata, its value, and whether it is an edit (of what). */
export interface TimeSeriesEvent<TValue> extends EventMetadata {
  /** The value. */
  readonly value: TValue;
  /** True for an edit event. */
  readonly isEdit: boolean;
  /** For an edit, the sequence of the original event it edits; for an original, its own sequence. */
  readonly originalSequence: number;
}

/** @internal An event as the wire carries it, decoded as `type`. */
export function eventOf<T extends ValueType>(type: T, e: WireEvent): TimeSeriesEvent<ValueOf[T]> {
  return {
    sequence: e.s,
    timestamp: e.t,
    author: e.a,
    value: decodeValue(type, e.v),
    isEdit: e.o !== undefined,
    originalSequence: e.o ?? e.s,
  };
}

/** What an event stream is told. Every callback is optional. */
export interface TimeSeriesStreamCallbacks<TValue> {
  /** A time series topic joined the stream, with the newest event this session has of it, if any. */
  onSubscribe?(path: string, spec: TopicSpecification, latest: TimeSeriesEvent<TValue> | undefined): void;
  /**
   * An event of a topic of the stream: first its subscription range, then each new event (edits
   * included: `isEdit`, `originalSequence`). `oldEvent` is the last one this stream received.
   */
  onValue?(
    path: string,
    spec: TopicSpecification,
    newEvent: TimeSeriesEvent<TValue>,
    oldEvent: TimeSeriesEvent<TValue> | undefined,
  ): void;
  /** A topic left the stream. */
  onUnsubscribe?(path: string, reason: UnsubscribeReason): void;
  /** An event was not delivered: its value is not a value of the event type (`PAYLOAD_INVALID`). */
  onError?(error: SkeinError, path: string): void;
  /** The stream was closed (by `close()` or because the session closed). */
  onClose?(): void;
}

/** A registered event stream. */
export interface TimeSeriesStream {
  /** The stream's selector expression. */
  readonly selector: string;
  /** The event type of the topics it receives. */
  readonly eventType: ValueType;
  /** Stops the stream (its `onClose` is called). The session's selections are unchanged. */
  close(): void;
}

interface Entry {
  readonly selector: TopicSelector;
  readonly type: ValueType;
  readonly callbacks: TimeSeriesStreamCallbacks<unknown>;
  /** The last event delivered per topic the stream holds (undefined: none yet). */
  readonly last: Map<number, TimeSeriesEvent<unknown> | undefined>;
}

/** @internal Every event stream of a session, and the routing of `e` frames to them. */
export class EventStreamRegistry {
  private readonly entries = new Set<Entry>();
  private readonly byTid = new Map<number, Set<Entry>>();
  /** The newest event received per selected time series topic (for streams added later). */
  private readonly latest = new Map<number, WireEvent>();

  /** @param selected - the topics the session has selected now */
  constructor(private readonly selected: () => Iterable<SelectedTopic>) {}

  /** Registers a stream; it receives the selected time series topics it matches at once. */
  add(
    selector: TopicSelector,
    type: ValueType,
    callbacks: TimeSeriesStreamCallbacks<unknown>,
  ): TimeSeriesStream {
    const entry: Entry = { selector, type, callbacks, last: new Map() };
    this.entries.add(entry);
    for (const topic of this.selected()) if (matches(entry, topic)) this.subscribe(entry, topic);
    return { selector: selector.expression, eventType: type, close: () => this.close(entry) };
  }

  /** A topic was selected: it joins the streams it matches. */
  topicAdded(topic: SelectedTopic): void {
    if (topic.spec.type !== "time-series") return;
    for (const entry of this.entries) if (matches(entry, topic)) this.subscribe(entry, topic);
  }

  /** An `e` frame: an event of a selected time series topic. */
  event(topic: SelectedTopic, wire: WireEvent): void {
    this.latest.set(topic.tid, wire);
    const entries = this.byTid.get(topic.tid);
    if (!entries) return;
    let decoded: TimeSeriesEvent<unknown> | SkeinError | undefined;
    for (const entry of entries) {
      decoded ??= decode(entry.type, wire);
      if (decoded instanceof SkeinError) {
        entry.callbacks.onError?.(decoded, topic.path);
        continue;
      }
      const old = entry.last.get(topic.tid);
      entry.last.set(topic.tid, decoded);
      entry.callbacks.onValue?.(topic.path, topic.spec, decoded, old);
    }
  }

  /** A topic is no longer selected. */
  topicRemoved(topic: SelectedTopic, reason: UnsubscribeReason): void {
    this.latest.delete(topic.tid);
    const entries = this.byTid.get(topic.tid);
    if (!entries) return;
    this.byTid.delete(topic.tid);
    for (const entry of entries) {
      entry.last.delete(topic.tid);
      entry.callbacks.onUnsubscribe?.(topic.path, reason);
    }
  }

  /** Closes every stream (the session closed). */
  closeAll(): void {
    for (const entry of [...this.entries]) this.close(entry);
    this.latest.clear();
  }

  private subscribe(entry: Entry, topic: SelectedTopic): void {
    let entries = this.byTid.get(topic.tid);
    if (!entries) this.byTid.set(topic.tid, (entries = new Set()));
    entries.add(entry);
    const wire = this.latest.get(topic.tid);
    const latest = wire === undefined ? undefined : decode(entry.type, wire);
    const event = latest instanceof SkeinError ? undefined : latest;
    entry.last.set(topic.tid, event);
    entry.callbacks.onSubscribe?.(topic.path, topic.spec, event);
  }

  private close(entry: Entry): void {
    if (!this.entries.delete(entry)) return;
    for (const tid of entry.last.keys()) this.byTid.get(tid)?.delete(entry);
    entry.last.clear();
    entry.callbacks.onClose?.();
  }
}

function matches(entry: Entry, topic: SelectedTopic): boolean {
  return (
    topic.spec.type === "time-series" &&
    topic.spec.properties?.eventType === entry.type &&
    !entry.last.has(topic.tid) &&
    entry.selector.matches(topic.path)
  );
}

function decode(type: ValueType, wire: WireEvent): TimeSeriesEvent<unknown> | SkeinError {
  try {
    return eventOf(type, wire);
  } catch (err) {
    return SkeinError.from(err);
  }
}
