/**
 * The SDK door's time series frames (issue 9 §2, docs/timeseries.md): `ts_append` and `ts_edit`
 * answered once the event is committed, `ts_query` answered in `ts_page` frames paced by the socket,
 * then its `result`; and the `e` frames of events for sessions that select a time series topic.
 *
 * @module
 */
import {
  type ClientFrameOf,
  SkeinError,
  type WireEvent,
  encodeTsPage,
  streamStructureOf,
} from "@skein/protocol";
import type { RangeResultEvent } from "../core/timeseries/evaluate.js";
import type { TimeSeriesEvent } from "../core/storage.js";
import type { SdkConnection } from "./connection.js";
import type { SdkSession } from "./session.js";

/** The events of a `ts_page` frame stop at about this many value bytes (one larger event goes alone). */
export const PAGE_BYTES = 256 * 1024;
/** At most this many events in one `ts_page` frame (and one read of the store). */
export const PAGE_EVENTS = 500;
/** A range query's pages go out (the query yields the event loop) each time about this many bytes are pushed. */
const YIELD_BYTES = 128 * 1024;
/** About what an event's frame takes besides its value (keys, numbers, author). */
const EVENT_OVERHEAD = 40;

/** What `ts_append` and `ts_edit` answer. */
export interface AppendAnswer {
  /** The event's sequence. */
  readonly sequence: number;
  /** Its timestamp (server epoch ms). */
  readonly timestamp: number;
  /** Its author. */
  readonly author: string;
}

/** `ts_append`/`ts_edit`: the event's metadata, once committed (the durability contract). */
export async function appendEvent(
  conn: SdkConnection,
  session: SdkSession,
  frame: ClientFrameOf<"ts_append"> | ClientFrameOf<"ts_edit">,
): Promise<AppendAnswer> {
  const { event, committed } = await conn.door.core.facade.appendEvent(session.actor, {
    path: frame.path,
    valueType: frame.valueType,
    value: frame.value,
    originalSequence: frame.type === "ts_edit" ? frame.originalSequence : undefined,
  });
  await committed;
  return { sequence: event.sequence, timestamp: event.timestamp, author: event.author };
}

/** The `result` of a `ts_query` (its events are the last page). */
export interface QueryAnswer {
  /** The last page of events. */
  readonly events: WireEvent[];
  /** How many events the query selected. */
  readonly selectedCount: number;
  /** True when every selected event was returned. */
  readonly isComplete: boolean;
  /** `VALUE_EVENT_STREAM` or `EDIT_EVENT_STREAM`. */
  readonly streamStructure: string;
  /** The series' event type (how to read the values unless `binary` was asked for). */
  readonly eventType: string;
}

/**
 * `ts_query`: sends the result's pages as `ts_page` frames, each sent only when the connection has room
 * (so a large result never piles up in memory), and answers with the totals and the last page.
 */
export async function queryEvents(
  conn: SdkConnection,
  session: SdkSession,
  frame: ClientFrameOf<"ts_query">,
): Promise<QueryAnswer> {
  const { eventType, pages } = conn.door.core.facade.queryEvents(
    session.actor,
    frame.path,
    frame.query,
    frame.valueType,
    PAGE_EVENTS,
  );
  // Each `ts_page` is written straight from the evaluator's events (`encodeTsPage`: the bytes the
  // session's MessagePack encoder would write for the wire frame, without a wire object per event in
  // between); only the last page, in the `result`, is made of wire events.
  let pending: RangeResultEvent[] = [];
  let bytes = 0;
  let unsent = 0;
  let paged = false;
  const flush = async (): Promise<void> => {
    if (session.ended) throw new SkeinError("SESSION_CLOSED", "the session closed during the query");
    await roomIn(session);
    session.pushEncoded(encodeTsPage(frame.id, pending, 0, pending.length));
    paged = true;
    unsent += bytes + pending.length * EVENT_OVERHEAD;
    pending = [];
    bytes = 0;
    // Every YIELD_BYTES or so, the rest is read on a later turn of the event loop: the pages so
    // far go out first (the connection flushes on its own turn), so the client decodes them while the
    // server reads on, and a large query does not hold the event loop for the whole result. Not after
    // every page: each flush is a write and a wake-up of the client, which cost more than the overlap
    // gains on a small virtual machine.
    if (unsent >= YIELD_BYTES) {
      unsent = 0;
      await nextTurn();
    }
  };
  for await (const page of pages) {
    for (const e of page.events) {
      if (pending.length > 0 && (pending.length >= PAGE_EVENTS || bytes + e.value.length > PAGE_BYTES))
        await flush();
      pending.push(e);
      bytes += e.value.length;
    }
    if (page.last) {
      // After pages, the rest goes as one more page too, and the `result` carries none: one writer
      // (`encodeTsPage`) for every event of a large result, which V8 then optimizes sooner.
      if (paged && pending.length > 0) await flush();
      return {
        events: pending.map(wireOfResult),
        selectedCount: page.selectedCount,
        isComplete: page.isComplete,
        streamStructure: streamStructureOf(frame.query.view),
        eventType,
      };
    }
  }
  /* c8 ignore next */
  throw new SkeinError("INTERNAL", "range query ended without its last page");
}

/** Resolves on a later turn of the event loop, after the I/O and immediates already due. */
const nextTurn = (): Promise<void> => new Promise((resume) => setImmediate(resume));

/**
 * Resolves when the session's connection has room for more frames. Without a connection the query
 * ends with `CONNECTION_LOST` (its answer is replayed when the session resumes) rather than reading
 * the rest of the series into the bounded replay buffer, which would drop the oldest frames.
 */
function roomIn(session: SdkSession): Promise<void> | undefined {
  const link = session.link;
  if (!link)
    throw new SkeinError("CONNECTION_LOST", "the connection dropped during the range query: run it again");
  if (link.hasRoom) return undefined;
  return new Promise((resume) => link.whenRoom(resume));
}

function wireOfResult(e: RangeResultEvent): WireEvent {
  return e.isEdit
    ? { s: e.sequence, t: e.timestamp, a: e.author, v: e.value, o: e.originalSequence }
    : { s: e.sequence, t: e.timestamp, a: e.author, v: e.value };
}

/** The wire form of a stored event (for `e` frames). */
export function wireOfEvent(e: TimeSeriesEvent): WireEvent {
  return e.originalSequence === undefined
    ? { s: e.sequence, t: e.timestamp, a: e.author, v: e.value }
    : { s: e.sequence, t: e.timestamp, a: e.author, v: e.value, o: e.originalSequence };
}
