/**
 * The range query evaluator: resolves a query's ranges to sequence intervals and reads the selected
 * events from the store page by page, never the whole series at once. The rules are those of
 * `docs/timeseries.md`; the table tests in `timeseries.test.ts` hold them for both engines.
 *
 * @module
 */
import type { PageEvent } from "@skein/protocol";
import type { EventCount, EventRead, TimeSeriesEvent } from "../storage.js";
import {
  type Range,
  type RangePoint,
  type RangeQueryParameters,
  type StreamStructure,
  streamStructureOf,
} from "./range-query.js";

/** What the evaluator reads from: one series in a store, with where it begins and ends. */
export interface EventSource {
  /** Sequence of the oldest kept event (or `nextSequence` when none is kept). */
  readonly firstSequence: number;
  /** Sequence the next event will get. */
  readonly nextSequence: number;
  /** Timestamp of the newest event, if any. */
  readonly lastTimestamp: number | undefined;
  /** Reads events (see {@link EventRead}). */
  readEvents(read: EventRead): Promise<TimeSeriesEvent[]>;
  /** How many events a read of `count` would return without a limit. */
  countEvents(count: EventCount): Promise<number>;
  /** The oldest event at or after `timestamp`, or the newest before it. */
  findEventByTime(timestamp: number, side: "atOrAfter" | "before"): Promise<TimeSeriesEvent | undefined>;
}

/** One event of a range query result: what a `ts_page` carries (`encodeTsPage` writes it as it is). */
export type RangeResultEvent = PageEvent;

/** A whole range query result. */
export interface RangeQueryResult {
  /** The events returned (at most `limit`: the newest selected). */
  readonly events: RangeResultEvent[];
  /** How many events the query selected before the limit. */
  readonly selectedCount: number;
  /** True when every selected event was returned. */
  readonly isComplete: boolean;
  /** Value stream or edit stream. */
  readonly streamStructure: StreamStructure;
}

/** One page of a result; the last page carries the totals. */
export type RangeResultPage =
  | {
      /** More pages follow. */
      readonly last: false;
      /** This page's events. */
      readonly events: RangeResultEvent[];
    }
  | {
      /** The last page. */
      readonly last: true;
      /** This page's events (possibly none). */
      readonly events: RangeResultEvent[];
      /** How many events the query selected before the limit. */
      readonly selectedCount: number;
      /** True when every selected event was returned. */
      readonly isComplete: boolean;
    };

/** Default number of events per page (and per store read). */
export const DEFAULT_PAGE_SIZE = 500;

/** A half-open interval of sequences `[lo, hi)`. */
type Interval = readonly [lo: number, hi: number];
/** A point resolved to sequence boundaries: events below `before` are before it, below `through` at or before it. */
interface Bounds {
  readonly before: number;
  readonly through: number;
  /** For time points: the time itself. */
  readonly time?: number;
}
type Stream = "originals" | "all";

/**
 * Runs a range query and collects its result.
 *
 * @example
 * ```ts
 * const { events, selectedCount } = await selectRange(source, new RangeQuery().fromLast(10).parameters);
 * ```
 */
export async function selectRange(
  source: EventSource,
  query: RangeQueryParameters,
): Promise<RangeQueryResult> {
  const events: RangeResultEvent[] = [];
  for await (const page of evaluateRangeQuery(source, query)) {
    for (const e of page.events) events.push(e);
    if (page.last)
      return {
        events,
        selectedCount: page.selectedCount,
        isComplete: page.isComplete,
        streamStructure: streamStructureOf(query.view),
      };
  }
  /* c8 ignore next */
  throw new Error("range query ended without its last page");
}

/**
 * Runs a range query, yielding its result in pages of at most `pageSize` events; the last page (which
 * may be empty) carries `selectedCount` and `isComplete`. With a `limit`, the selection is counted
 * first (a second pass over the store) so that the newest `limit` events are the ones returned.
 */
export async function* evaluateRangeQuery(
  source: EventSource,
  query: RangeQueryParameters,
  pageSize = DEFAULT_PAGE_SIZE,
): AsyncGenerator<RangeResultPage> {
  const view = await resolveRange(source, query.viewRange, "originals");
  const edit = await resolveRange(source, query.editRange, "all");
  // The selection comes in batches (a store page each), not event by event: an async generator's
  // step costs a few microtasks, which for a large result was much of the query's CPU.
  const select = (): AsyncGenerator<RangeResultEvent[]> =>
    query.view === "values"
      ? selectValues(source, view, edit, pageSize)
      : selectEdits(source, query.view === "latestEdits", view, edit, pageSize);
  let skip = 0;
  let selectedCount: number | undefined;
  if (query.limit !== undefined) {
    let n = await countSelected(source, query.view, view, edit);
    if (n === undefined) {
      n = 0;
      for await (const batch of select()) n += batch.length;
    }
    selectedCount = n;
    skip = Math.max(0, n - query.limit);
  }
  let seen = 0;
  let returned = 0;
  let page: RangeResultEvent[] = [];
  const limit = query.limit ?? Infinity;
  selecting: for await (const batch of select()) {
    let i = 0;
    if (seen < skip) {
      i = Math.min(batch.length, skip - seen);
      seen += i;
    }
    // A whole batch that starts a page and fits in it and in the limit becomes the page as it is
    // (the selectors hand out a new array each time), without a step per event.
    if (i === 0 && page.length === 0 && batch.length <= pageSize && returned + batch.length <= limit) {
      seen += batch.length;
      returned += batch.length;
      if (batch.length < pageSize) page = batch;
      else yield { last: false, events: batch };
      continue;
    }
    for (; i < batch.length; i++) {
      seen++;
      if (returned >= limit) break selecting;
      page.push(batch[i]!);
      returned++;
      if (page.length >= pageSize) {
        yield { last: false, events: page };
        page = [];
      }
    }
  }
  const count = selectedCount ?? seen;
  yield { last: true, events: page, selectedCount: count, isComplete: returned === count };
}

/**
 * How many events a query selects, counted by the store without reading them, where the view allows:
 * values whose edit range covers the view range (each original of the view range is selected once,
 * as itself or as its latest edit), and all edits (the originals of the view range and their edits in
 * the edit range). Undefined otherwise (the caller counts by selecting).
 */
async function countSelected(
  src: EventSource,
  view: RangeQueryParameters["view"],
  [vLo, vHi]: Interval,
  [eLo, eHi]: Interval,
): Promise<number | undefined> {
  if (vLo >= vHi) return 0;
  if (view === "values") {
    if (eLo > vLo || eHi < vHi) return undefined;
    return src.countEvents({ fromSequence: vLo, toSequence: vHi, kind: "originals" });
  }
  if (view !== "allEdits") return undefined;
  const originals = await src.countEvents({ fromSequence: vLo, toSequence: vHi, kind: "originals" });
  if (eLo >= eHi) return originals;
  const edits = await src.countEvents({
    originalFrom: vLo,
    originalTo: vHi,
    fromSequence: Math.max(eLo, vLo + 1),
    toSequence: eHi,
  });
  return originals + edits;
}

/** Resolves a range over a stream (originals for the view range, all events for the edit range). */
async function resolveRange(src: EventSource, range: Range, stream: Stream): Promise<Interval> {
  const first = src.firstSequence;
  const end = src.nextSequence;
  const kind = stream === "originals" ? ("originals" as const) : undefined;
  const clamp = (lo: number, hi: number): Interval => {
    const l = Math.max(lo, first);
    return [l, Math.max(l, Math.min(hi, end))];
  };
  const a = await resolvePoint(src, range.anchor, stream);
  const s = range.span;
  switch (s.kind) {
    case "next": {
      if (s.count === 0) return clamp(a.before, a.before);
      const evs = await src.readEvents({ fromSequence: Math.max(a.before, first), kind, limit: s.count });
      return clamp(a.before, evs.length === s.count ? evs[evs.length - 1]!.sequence + 1 : end);
    }
    case "previous": {
      if (s.count === 0) return clamp(a.through, a.through);
      const evs = await src.readEvents({
        toSequence: a.through,
        fromSequence: first,
        kind,
        newestFirst: true,
        limit: s.count,
      });
      return clamp(evs.length === s.count ? evs[evs.length - 1]!.sequence : first, a.through);
    }
    case "nextMillis": {
      const t =
        a.time ??
        (await src.readEvents({ fromSequence: Math.max(a.before, first), kind, limit: 1 }))[0]?.timestamp;
      if (t === undefined) return clamp(end, end);
      return clamp(a.before, await sequenceAtOrAfter(src, t + s.ms + 1));
    }
    case "previousMillis": {
      const t =
        a.time ??
        (
          await src.readEvents({
            toSequence: a.through,
            fromSequence: first,
            kind,
            newestFirst: true,
            limit: 1,
          })
        )[0]?.timestamp;
      if (t === undefined) return clamp(first, first);
      return clamp(await sequenceAtOrAfter(src, t - s.ms), a.through);
    }
    default: {
      const b = await resolvePoint(src, s, stream);
      // The span may lie before the anchor: the range is then the events between them, still in
      // sequence order, both ends inclusive.
      return b.through >= a.before ? clamp(a.before, b.through) : clamp(b.before, a.through);
    }
  }
}

/** Resolves a point to sequence boundaries. */
async function resolvePoint(src: EventSource, p: RangePoint, stream: Stream): Promise<Bounds> {
  const first = src.firstSequence;
  const end = src.nextSequence;
  switch (p.kind) {
    case "start":
      return { before: first, through: first };
    case "sequence":
      return { before: p.sequence, through: p.sequence + 1 };
    case "time":
      return {
        before: await sequenceAtOrAfter(src, p.timestamp),
        through: await sequenceAtOrAfter(src, p.timestamp + 1),
        time: p.timestamp,
      };
    case "last": {
      if (p.count === 0) return { before: end, through: end };
      const evs = await src.readEvents({
        fromSequence: first,
        kind: stream === "originals" ? "originals" : undefined,
        newestFirst: true,
        limit: p.count,
      });
      const at = evs.length === p.count ? evs[evs.length - 1]!.sequence : first;
      return { before: at, through: at };
    }
    case "lastMillis": {
      if (src.lastTimestamp === undefined) return { before: end, through: end };
      const t = src.lastTimestamp - p.ms;
      const at = await sequenceAtOrAfter(src, t);
      return { before: at, through: at, time: t };
    }
  }
}

async function sequenceAtOrAfter(src: EventSource, timestamp: number): Promise<number> {
  return (await src.findEventByTime(timestamp, "atOrAfter"))?.sequence ?? src.nextSequence;
}

/** Events of `read` in sequence order, read page by page (one batch per store page). */
async function* pagedRead(
  src: EventSource,
  read: Omit<EventRead, "limit">,
  pageSize: number,
): AsyncGenerator<TimeSeriesEvent[]> {
  let from = read.fromSequence ?? src.firstSequence;
  for (;;) {
    const page = await src.readEvents({ ...read, fromSequence: from, limit: pageSize });
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    from = page[page.length - 1]!.sequence + 1;
  }
}

/**
 * Reads `read` event by event, a page at a time. `peek()` gives the next event (undefined at the end)
 * at once while the page lasts, and a promise only when the next page must be read.
 */
class Cursor {
  private page: TimeSeriesEvent[] = [];
  private at = 0;
  private ended = false;
  private readonly pages: AsyncGenerator<TimeSeriesEvent[]>;

  constructor(src: EventSource, read: Omit<EventRead, "limit">, pageSize: number) {
    this.pages = pagedRead(src, read, pageSize);
  }

  /** The next event, without taking it. */
  peek(): TimeSeriesEvent | undefined | Promise<TimeSeriesEvent | undefined> {
    if (this.at < this.page.length) return this.page[this.at];
    return this.ended ? undefined : this.nextPage();
  }

  /** Takes the event `peek` gave. */
  take(): void {
    this.at++;
  }

  private async nextPage(): Promise<TimeSeriesEvent | undefined> {
    const next = await this.pages.next();
    if (next.done) {
      this.ended = true;
      return undefined;
    }
    this.page = next.value;
    this.at = 0;
    return this.page[0];
  }
}

/** The next event of a cursor, awaiting only when it reads a page. */
const peek = async (c: Cursor | undefined): Promise<TimeSeriesEvent | undefined> => {
  if (!c) return undefined;
  const e = c.peek();
  return e instanceof Promise ? await e : e;
};

function asResult(e: TimeSeriesEvent): RangeResultEvent {
  const edit = e.originalSequence !== undefined;
  return {
    sequence: e.sequence,
    timestamp: e.timestamp,
    author: e.author,
    value: e.value,
    isEdit: edit,
    originalSequence: e.originalSequence ?? e.sequence,
  };
}

/**
 * The value view: for each original in the view range, its latest edit in the edit range, else the
 * original itself if it lies in the edit range; in the order of the originals. One batch per page of
 * originals.
 */
async function* selectValues(
  src: EventSource,
  [vLo, vHi]: Interval,
  [eLo, eHi]: Interval,
  pageSize: number,
): AsyncGenerator<RangeResultEvent[]> {
  let from = vLo;
  while (from < vHi) {
    const originals = await src.readEvents({
      fromSequence: from,
      toSequence: vHi,
      kind: "originals",
      limit: pageSize,
    });
    if (originals.length === 0) return;
    const pLo = originals[0]!.sequence;
    const pHi = originals[originals.length - 1]!.sequence + 1;
    const latest = new Map<number, TimeSeriesEvent>();
    if (eLo < eHi) {
      for await (const edits of pagedRead(
        src,
        { originalFrom: pLo, originalTo: pHi, fromSequence: Math.max(eLo, pLo + 1), toSequence: eHi },
        pageSize,
      )) {
        for (const e of edits) latest.set(e.originalSequence!, e);
      }
    }
    const batch: RangeResultEvent[] = [];
    for (const o of originals) {
      const edit = latest.size > 0 ? latest.get(o.sequence) : undefined;
      if (edit) batch.push(asResult(edit));
      else if (o.sequence >= eLo && o.sequence < eHi) batch.push(asResult(o));
    }
    if (batch.length > 0) yield batch;
    if (originals.length < pageSize) return;
    from = pHi;
  }
}

/**
 * The edit views: the originals of the view range and their edits in the edit range (all of them, or
 * only each original's latest), merged in sequence order; in batches of about `pageSize`.
 */
async function* selectEdits(
  src: EventSource,
  latestOnly: boolean,
  [vLo, vHi]: Interval,
  [eLo, eHi]: Interval,
  pageSize: number,
): AsyncGenerator<RangeResultEvent[]> {
  if (vLo >= vHi) return;
  const editRead = {
    originalFrom: vLo,
    originalTo: vHi,
    fromSequence: Math.max(eLo, vLo + 1),
    toSequence: eHi,
  };
  let latest: Map<number, number> | undefined;
  if (latestOnly) {
    latest = new Map();
    if (eLo < eHi)
      for await (const edits of pagedRead(src, editRead, pageSize))
        for (const e of edits) latest.set(e.originalSequence!, e.sequence);
  }
  const originals = new Cursor(src, { fromSequence: vLo, toSequence: vHi, kind: "originals" }, pageSize);
  const edits = eLo < eHi ? new Cursor(src, editRead, pageSize) : undefined;
  let batch: RangeResultEvent[] = [];
  for (;;) {
    let e = edits?.peek();
    if (e instanceof Promise) e = await e;
    while (e && latest && latest.get(e.originalSequence!) !== e.sequence) {
      edits!.take();
      e = await peek(edits);
    }
    let o = originals.peek();
    if (o instanceof Promise) o = await o;
    if (!o && !e) break;
    if (o && (!e || o.sequence < e.sequence)) {
      batch.push(asResult(o));
      originals.take();
    } else {
      batch.push(asResult(e!));
      edits!.take();
    }
    if (batch.length >= pageSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
