/**
 * Time series (`session.timeseries`, docs/timeseries.md): append and edit events, run range queries
 * through an immutable builder, and receive a time series topic's events with their metadata.
 *
 * @module
 */
import {
  RangeQuery as QueryParameters,
  type RangeQueryParameters,
  SkeinError,
  type StreamStructure,
  type ValueType,
  type WireEvent,
  checkPath,
  isTopicType,
  parseSelector,
} from "@skein/protocol";
import { type InputValueOf, type ValueOf, checkValueType, encodeValue } from "../values.js";
import type { Requester } from "./results.js";
import {
  type EventMetadata,
  EventStreamRegistry,
  type TimeSeriesEvent,
  type TimeSeriesStream,
  type TimeSeriesStreamCallbacks,
  eventOf,
} from "./event-streams.js";
import type { SelectedTopic } from "../topic-state.js";

export type {
  EventMetadata,
  TimeSeriesEvent,
  TimeSeriesStream,
  TimeSeriesStreamCallbacks,
} from "./event-streams.js";
export type { StreamStructure } from "@skein/protocol";

/** A range query's result. */
export interface QueryResult<TValue> {
  /** The events returned, in result order (at most the query's limit: the last of those selected). */
  readonly events: TimeSeriesEvent<TValue>[];
  /** How many events the query selected (before the limit). */
  readonly selectedCount: number;
  /** True when every selected event was returned. */
  readonly isComplete: boolean;
  /** `VALUE_EVENT_STREAM` (values view) or `EDIT_EVENT_STREAM` (edit views). */
  readonly streamStructure: StreamStructure;
}

/**
 * An immutable range query: every method returns a new query, so a base query can be shared and
 * refined. The rules (anchors, spans, views, edit ranges, limit) are those of docs/timeseries.md.
 * Without `as`, values are read as the series' event type.
 *
 * @example
 * ```ts
 * const last10 = session.timeseries.rangeQuery().fromLast(10).as("double");
 * const { events, selectedCount } = await last10.selectFrom("prices/ACME");
 * for (const e of events) console.log(e.sequence, new Date(e.timestamp), e.value);
 * const edits = await session.timeseries.rangeQuery().forEdits().latestEdits().selectFrom("prices/ACME");
 * ```
 */
export class RangeQuery<TValue = unknown> {
  /** @internal Use `session.timeseries.rangeQuery()`. */
  constructor(
    private readonly runner: QueryRunner,
    private readonly query: QueryParameters = new QueryParameters(),
    private readonly valueType: ValueType | undefined = undefined,
  ) {}

  /** The query's parameters, as the wire carries them. */
  get parameters(): RangeQueryParameters {
    return this.query.parameters;
  }

  /** A value query (each original with its latest edit applied) over the entire series; the default. */
  forValues(): RangeQuery<TValue> {
    return this.with(this.query.forValues());
  }
  /** An edit query (originals and all their edits) over the entire series. */
  forEdits(): RangeQuery<TValue> {
    return this.with(this.query.forEdits());
  }
  /** Values: the range methods that follow set the edit range (reset to the entire series). */
  editRange(): RangeQuery<TValue> {
    return this.with(this.query.editRange());
  }
  /** Edits: every edit in the edit range; the range methods that follow set the edit range. */
  allEdits(): RangeQuery<TValue> {
    return this.with(this.query.allEdits());
  }
  /** Edits: only each original's latest edit in the edit range; the range methods that follow set it. */
  latestEdits(): RangeQuery<TValue> {
    return this.with(this.query.latestEdits());
  }
  /** Anchor at a sequence or at a time (inclusive). */
  from(at: number | Date): RangeQuery<TValue> {
    return this.with(this.query.from(at));
  }
  /** Anchor before the first kept event. */
  fromStart(): RangeQuery<TValue> {
    return this.with(this.query.fromStart());
  }
  /** Anchor before the last `n` events: `fromLast(3)` selects the last three. */
  fromLast(n: number): RangeQuery<TValue> {
    return this.with(this.query.fromLast(n));
  }
  /** Anchor before the events of the last `ms` milliseconds (counted back from the newest event). */
  fromLastMillis(ms: number): RangeQuery<TValue> {
    return this.with(this.query.fromLastMillis(ms));
  }
  /** End at a sequence or at a time (inclusive). */
  to(at: number | Date): RangeQuery<TValue> {
    return this.with(this.query.to(at));
  }
  /** End at the start: the range runs back from the anchor to the first kept event. */
  toStart(): RangeQuery<TValue> {
    return this.with(this.query.toStart());
  }
  /** `n` events from the anchor on (the anchor's event included). */
  next(n: number): RangeQuery<TValue> {
    return this.with(this.query.next(n));
  }
  /** Events from the anchor up to `ms` milliseconds after its time (inclusive). */
  nextMillis(ms: number): RangeQuery<TValue> {
    return this.with(this.query.nextMillis(ms));
  }
  /** `n` events up to the anchor (the anchor's event included). */
  previous(n: number): RangeQuery<TValue> {
    return this.with(this.query.previous(n));
  }
  /** Events from `ms` milliseconds before the anchor's time up to it (inclusive). */
  previousMillis(ms: number): RangeQuery<TValue> {
    return this.with(this.query.previousMillis(ms));
  }
  /** End before the last `n` events (`untilLast(0)`: the end). */
  untilLast(n: number): RangeQuery<TValue> {
    return this.with(this.query.untilLast(n));
  }
  /** End before the events of the last `ms` milliseconds. */
  untilLastMillis(ms: number): RangeQuery<TValue> {
    return this.with(this.query.untilLastMillis(ms));
  }
  /** Return at most `n` events: the last `n` of the result (`selectedCount` still counts them all). */
  limit(n: number): RangeQuery<TValue> {
    return this.with(this.query.limit(n));
  }

  /**
   * Reads values as `type`: the series' event type, or `binary` for the bytes of any series. A query
   * of a series of another type fails with `TOPIC_TYPE_MISMATCH`.
   * @throws SkeinError `INVALID_ARGUMENT` (not a value type)
   */
  as<T extends ValueType>(type: T): RangeQuery<ValueOf[T]> {
    return new RangeQuery<ValueOf[T]>(this.runner, this.query, checkValueType(type));
  }

  /**
   * Runs the query on the time series at `path`. Large results arrive from the server in pages (of at
   * most 500 events and about 256 KiB), gathered here into one result.
   * @throws SkeinError `TOPIC_NOT_FOUND`, `TOPIC_TYPE_MISMATCH` (not a time series, or not of the `as`
   *   type), `INVALID_PATH`, `NOT_AUTHORIZED`
   */
  async selectFrom(path: string): Promise<QueryResult<TValue>> {
    checkPath(path);
    const { link, pages } = this.runner;
    let id = -1;
    const wire: WireEvent[] = [];
    try {
      const value = await link.request(
        {
          type: "ts_query",
          path,
          query: this.query.parameters,
          ...(this.valueType ? { valueType: this.valueType } : {}),
        },
        `range query of ${path}`,
        {
          onId: (requestId) => {
            id = requestId;
            pages.set(requestId, wire);
          },
        },
      );
      return this.resultOf(value, wire);
    } finally {
      pages.delete(id);
    }
  }

  private resultOf(value: unknown, wire: WireEvent[]): QueryResult<TValue> {
    const r = value as Partial<{
      events: WireEvent[];
      selectedCount: number;
      isComplete: boolean;
      streamStructure: StreamStructure;
      eventType: string;
    }>;
    const type = this.valueType ?? r.eventType;
    if (
      !Array.isArray(r.events) ||
      typeof r.selectedCount !== "number" ||
      typeof r.isComplete !== "boolean" ||
      (r.streamStructure !== "VALUE_EVENT_STREAM" && r.streamStructure !== "EDIT_EVENT_STREAM") ||
      !isTopicType(type) ||
      type === "time-series"
    ) {
      throw new SkeinError("PROTOCOL_ERROR", "unexpected result of a range query");
    }
    for (const e of r.events) wire.push(e);
    return {
      events: wire.map((e) => eventOf(type, e) as TimeSeriesEvent<TValue>),
      selectedCount: r.selectedCount,
      isComplete: r.isComplete,
      streamStructure: r.streamStructure,
    };
  }

  private with(query: QueryParameters): RangeQuery<TValue> {
    return new RangeQuery<TValue>(this.runner, query, this.valueType);
  }
}

/** @internal What runs range queries: the link, and where `ts_page` frames' events are gathered. */
export interface QueryRunner {
  /** The session's link. */
  readonly link: Requester;
  /** Events of the pages received so far, by the id of their `ts_query`. */
  readonly pages: Map<number, WireEvent[]>;
}

/** Time series: append, edit, range queries and event streams. */
export class TimeSeriesFeature {
  private readonly runner: QueryRunner;
  /** @internal */
  readonly streams: EventStreamRegistry;

  /** @internal */
  constructor(
    private readonly link: Requester,
    selected: () => Iterable<SelectedTopic>,
  ) {
    this.runner = { link, pages: new Map() };
    this.streams = new EventStreamRegistry(selected);
  }

  /**
   * Appends an event to the time series topic `path`, whose event type must be `type`. Resolves with
   * the event's metadata once the server has committed it.
   *
   * @example
   * ```ts
   * await session.topics.add("prices/ACME", {
   *   type: "time-series",
   *   properties: { eventType: "double", retainedRange: { count: 10_000 }, subscriptionRange: 5 },
   * });
   * const { sequence, timestamp } = await session.timeseries.append("prices/ACME", "double", 101.5);
   * ```
   * @throws SkeinError `TOPIC_NOT_FOUND`, `TOPIC_TYPE_MISMATCH` (not a time series of `type`),
   *   `INVALID_ARGUMENT` (not a value of `type`, before sending), `NOT_AUTHORIZED`
   */
  async append<T extends ValueType>(path: string, type: T, value: InputValueOf[T]): Promise<EventMetadata> {
    checkPath(path);
    const bytes = encodeValue(type, value);
    return metadataOf(
      await this.link.request(
        { type: "ts_append", path, valueType: type, value: bytes },
        `append to ${path}`,
      ),
    );
  }

  /**
   * Edits event `originalSequence` of the time series `path`: appends an edit event that replaces the
   * original's value in value queries (the original stays in edit queries). Resolves with the edit's
   * metadata once committed.
   *
   * @example
   * ```ts
   * const { sequence } = await session.timeseries.append("prices/ACME", "double", 101.5);
   * await session.timeseries.edit("prices/ACME", "double", sequence, 101.25);
   * ```
   * @throws SkeinError `INVALID_ARGUMENT` when the event is outside the retained range (dropped or not
   *   appended yet) or is itself an edit; `TOPIC_NOT_FOUND`, `TOPIC_TYPE_MISMATCH`, `NOT_AUTHORIZED`
   */
  async edit<T extends ValueType>(
    path: string,
    type: T,
    originalSequence: number,
    value: InputValueOf[T],
  ): Promise<EventMetadata> {
    checkPath(path);
    if (!Number.isSafeInteger(originalSequence) || originalSequence < 0)
      throw new SkeinError("INVALID_ARGUMENT", `not an event sequence: ${originalSequence}`);
    const bytes = encodeValue(type, value);
    return metadataOf(
      await this.link.request(
        { type: "ts_edit", path, valueType: type, originalSequence, value: bytes },
        `edit of ${path}`,
      ),
    );
  }

  /**
   * A new range query: values of the whole series, read as the series' event type. Refine it with the
   * builder's methods and run it with `selectFrom(path)`.
   *
   * @example
   * ```ts
   * const q = session.timeseries.rangeQuery();
   * const lastHour = await q.fromLastMillis(3_600_000).as("json").selectFrom("orders/log");
   * const firstTen = await q.fromStart().next(10).selectFrom("orders/log");
   * ```
   */
  rangeQuery(): RangeQuery {
    return new RangeQuery(this.runner);
  }

  /**
   * Adds an event stream: it receives the events of the selected time series topics (see
   * `session.select`) that `selector` matches and whose event type is `eventType`, each with its
   * metadata. A topic selected after the stream was added arrives with its subscription range (the
   * newest events, `subscriptionRange` in its specification); a stream added later starts from the
   * topic's newest event this session has received.
   *
   * @example
   * ```ts
   * session.timeseries.addStream(">prices//", "double", {
   *   onValue: (path, _spec, event) => console.log(path, event.sequence, event.value, event.isEdit),
   * });
   * await session.select(">prices//");
   * ```
   * @throws SkeinError `INVALID_SELECTOR`, `INVALID_ARGUMENT` (not a value type)
   */
  addStream<T extends ValueType>(
    selector: string,
    eventType: T,
    callbacks: TimeSeriesStreamCallbacks<ValueOf[T]>,
  ): TimeSeriesStream {
    return this.streams.add(parseSelector(selector), checkValueType(eventType), callbacks);
  }

  /** @internal A `ts_page` frame: events of a range query under way. */
  receivePage(id: number, events: WireEvent[]): void {
    const into = this.runner.pages.get(id);
    if (into) for (const e of events) into.push(e);
  }
}

function metadataOf(value: unknown): EventMetadata {
  const v = value as Partial<EventMetadata> | undefined;
  if (typeof v?.sequence !== "number" || typeof v.timestamp !== "number" || typeof v.author !== "string") {
    throw new SkeinError("PROTOCOL_ERROR", `unexpected result of an append: ${JSON.stringify(value)}`);
  }
  return { sequence: v.sequence, timestamp: v.timestamp, author: v.author };
}
