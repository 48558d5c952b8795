/**
 * Range query parameters and their immutable builder (issue 9 §2, DESIGN §5), in the style of
 * Diffusion's `RangeQuery`: a query has a view (values, all edits or latest edits), a view range over
 * original events, an edit range over all events, and an optional limit. Every rule is written down in
 * `docs/timeseries.md`; the server's evaluator (`core/timeseries/evaluate.ts`) applies them. It lives
 * here, shared, so that the SDK's builder, the `ts_query` frame and the MQTT JSON query all make the
 * same {@link RangeQueryParameters}.
 *
 * @module
 */
import { SkeinError } from "./errors.js";

/**
 * Where a range starts (its anchor) or, for absolute spans, where it ends:
 * - `start`: before the first event;
 * - `sequence`: the event with this sequence (inclusive);
 * - `time`: events with this epoch-ms timestamp (inclusive);
 * - `last`: just before the last `count` events of the range's stream;
 * - `lastMillis`: just before the events of the last `ms` milliseconds (counted back from the
 *   timestamp of the series' newest event).
 */
export type RangePoint =
  | {
      /** Before the first event. */
      readonly kind: "start";
    }
  | {
      /** At a sequence. */
      readonly kind: "sequence";
      /** The sequence. */
      readonly sequence: number;
    }
  | {
      /** At a time. */
      readonly kind: "time";
      /** Epoch ms. */
      readonly timestamp: number;
    }
  | {
      /** Before the last `count` events. */
      readonly kind: "last";
      /** How many events. */
      readonly count: number;
    }
  | {
      /** Before the last `ms` milliseconds. */
      readonly kind: "lastMillis";
      /** Milliseconds. */
      readonly ms: number;
    };

/**
 * Where a range ends: an absolute {@link RangePoint} (`to`, `toStart`, `untilLast`, `untilLastMillis`),
 * or relative to the anchor: `next`/`previous` `count` events, `nextMillis`/`previousMillis` `ms`.
 */
export type RangeSpan =
  | RangePoint
  | {
      /** `count` events from the anchor on. */
      readonly kind: "next";
      /** How many events. */
      readonly count: number;
    }
  | {
      /** `count` events up to the anchor. */
      readonly kind: "previous";
      /** How many events. */
      readonly count: number;
    }
  | {
      /** Up to `ms` after the anchor's time. */
      readonly kind: "nextMillis";
      /** Milliseconds. */
      readonly ms: number;
    }
  | {
      /** From `ms` before the anchor's time. */
      readonly kind: "previousMillis";
      /** Milliseconds. */
      readonly ms: number;
    };

/** A range: an anchor and a span. */
export interface Range {
  /** Where the range starts. */
  readonly anchor: RangePoint;
  /** Where it ends. */
  readonly span: RangeSpan;
}

/** The views a range query can take. */
export type RangeView = "values" | "allEdits" | "latestEdits";

/**
 * How the events of a result relate: a value stream (one event per original, the latest edit applied)
 * or an edit stream (originals and edits, in sequence order).
 */
export type StreamStructure = "VALUE_EVENT_STREAM" | "EDIT_EVENT_STREAM";

/** Everything a range query says; what the SDK and the MQTT query path will carry. */
export interface RangeQueryParameters {
  /** The view. */
  readonly view: RangeView;
  /** The range of original events selected. */
  readonly viewRange: Range;
  /** The range of events (of any kind) whose edits apply. */
  readonly editRange: Range;
  /** At most this many events are returned: the newest of those selected. Absent: no limit. */
  readonly limit?: number;
}

/** The whole series: from the start until the end (`untilLast(0)`). */
export const ENTIRE_SERIES: Range = { anchor: { kind: "start" }, span: { kind: "last", count: 0 } };

/** The default query: values of the entire series, no limit. */
export const DEFAULT_RANGE_QUERY: RangeQueryParameters = {
  view: "values",
  viewRange: ENTIRE_SERIES,
  editRange: ENTIRE_SERIES,
};

/** The stream structure of a view. */
export function streamStructureOf(view: RangeView): StreamStructure {
  return view === "values" ? "VALUE_EVENT_STREAM" : "EDIT_EVENT_STREAM";
}

function count(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new SkeinError("INVALID_ARGUMENT", `${what} must be a non-negative integer, not ${n}`);
  return n;
}

function point(at: number | Date, what: string): RangePoint {
  if (at instanceof Date) {
    const t = at.getTime();
    if (!Number.isFinite(t)) throw new SkeinError("INVALID_ARGUMENT", `${what}: invalid date`);
    return { kind: "time", timestamp: t };
  }
  return { kind: "sequence", sequence: count(at, what) };
}

/**
 * An immutable range query builder: each method returns a new query. `forValues()`/`forEdits()` start a
 * view with both ranges reset to the entire series and make the range methods act on the view range;
 * `editRange()` (values), `allEdits()` and `latestEdits()` (edits) reset the edit range and make the
 * range methods act on it from then on.
 *
 * @example
 * ```ts
 * const q = new RangeQuery().forValues().fromLast(100).limit(50);
 * q.parameters; // { view: "values", viewRange: { anchor: { kind: "last", count: 100 }, ... }, limit: 50 }
 * ```
 */
export class RangeQuery {
  /**
   * @param parameters The query so far (default: values of the entire series).
   * @param target Which range the range methods change.
   */
  constructor(
    readonly parameters: RangeQueryParameters = DEFAULT_RANGE_QUERY,
    readonly target: "view" | "edit" = "view",
  ) {}

  /** A value query (latest edits applied) over the entire series. */
  forValues(): RangeQuery {
    return this.with({ view: "values", viewRange: ENTIRE_SERIES, editRange: ENTIRE_SERIES }, "view");
  }
  /** An edit query (originals and all their edits) over the entire series. */
  forEdits(): RangeQuery {
    return this.with({ view: "allEdits", viewRange: ENTIRE_SERIES, editRange: ENTIRE_SERIES }, "view");
  }
  /** Values: the following range methods set the edit range (reset to the entire series). */
  editRange(): RangeQuery {
    if (this.parameters.view !== "values")
      throw new SkeinError("INVALID_ARGUMENT", "editRange() applies to a value query (forValues)");
    return this.with({ editRange: ENTIRE_SERIES }, "edit");
  }
  /** Edits: every edit in the edit range; the following range methods set the edit range. */
  allEdits(): RangeQuery {
    if (this.parameters.view === "values")
      throw new SkeinError("INVALID_ARGUMENT", "allEdits() applies to an edit query (forEdits)");
    return this.with({ view: "allEdits", editRange: ENTIRE_SERIES }, "edit");
  }
  /** Edits: only each original's latest edit in the edit range; the following range methods set the edit range. */
  latestEdits(): RangeQuery {
    if (this.parameters.view === "values")
      throw new SkeinError("INVALID_ARGUMENT", "latestEdits() applies to an edit query (forEdits)");
    return this.with({ view: "latestEdits", editRange: ENTIRE_SERIES }, "edit");
  }

  /** Anchor at a sequence (inclusive) or a time (inclusive). */
  from(at: number | Date): RangeQuery {
    return this.anchor(point(at, "from"));
  }
  /** Anchor before the first event. */
  fromStart(): RangeQuery {
    return this.anchor({ kind: "start" });
  }
  /** Anchor before the last `n` events. */
  fromLast(n: number): RangeQuery {
    return this.anchor({ kind: "last", count: count(n, "fromLast") });
  }
  /** Anchor before the events of the last `ms` milliseconds. */
  fromLastMillis(ms: number): RangeQuery {
    return this.anchor({ kind: "lastMillis", ms: count(ms, "fromLastMillis") });
  }
  /** End at a sequence (inclusive) or a time (inclusive). */
  to(at: number | Date): RangeQuery {
    return this.span(point(at, "to"));
  }
  /** End at the start: the range runs back from the anchor to the first event. */
  toStart(): RangeQuery {
    return this.span({ kind: "start" });
  }
  /** `n` events from the anchor on. */
  next(n: number): RangeQuery {
    return this.span({ kind: "next", count: count(n, "next") });
  }
  /** Events from the anchor up to `ms` milliseconds after it (inclusive). */
  nextMillis(ms: number): RangeQuery {
    return this.span({ kind: "nextMillis", ms: count(ms, "nextMillis") });
  }
  /** `n` events up to the anchor (inclusive). */
  previous(n: number): RangeQuery {
    return this.span({ kind: "previous", count: count(n, "previous") });
  }
  /** Events from `ms` milliseconds before the anchor up to it (inclusive). */
  previousMillis(ms: number): RangeQuery {
    return this.span({ kind: "previousMillis", ms: count(ms, "previousMillis") });
  }
  /** End before the last `n` events. */
  untilLast(n: number): RangeQuery {
    return this.span({ kind: "last", count: count(n, "untilLast") });
  }
  /** End before the events of the last `ms` milliseconds. */
  untilLastMillis(ms: number): RangeQuery {
    return this.span({ kind: "lastMillis", ms: count(ms, "untilLastMillis") });
  }
  /** Return at most `n` events: the newest `n` of those selected. */
  limit(n: number): RangeQuery {
    return this.with({ limit: count(n, "limit") }, this.target);
  }

  private anchor(anchor: RangePoint): RangeQuery {
    const key = this.target === "view" ? "viewRange" : "editRange";
    return this.with({ [key]: { ...this.parameters[key], anchor } }, this.target);
  }

  private span(span: RangeSpan): RangeQuery {
    const key = this.target === "view" ? "viewRange" : "editRange";
    return this.with({ [key]: { ...this.parameters[key], span } }, this.target);
  }

  private with(change: Partial<RangeQueryParameters>, target: "view" | "edit"): RangeQuery {
    return new RangeQuery({ ...this.parameters, ...change }, target);
  }
}
