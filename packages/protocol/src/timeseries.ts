/**
 * Time series on the wire (issue 9 §2, docs/timeseries.md): the schema of a range query's parameters
 * (what the SDK's `ts_query` frame carries), the compact form of a result event, and the JSON form of a
 * query that MQTT 5 clients publish to `$timeseries/query/<path>`.
 *
 * @module
 */
import { z } from "zod";
import { SkeinError } from "./errors.js";
import {
  type Range,
  type RangePoint,
  RangeQuery,
  type RangeQueryParameters,
  type RangeSpan,
} from "./range-query.js";

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const pointShapes = [
  z.strictObject({ kind: z.literal("start") }),
  z.strictObject({ kind: z.literal("sequence"), sequence: count }),
  z.strictObject({ kind: z.literal("time"), timestamp: z.number().int() }),
  z.strictObject({ kind: z.literal("last"), count }),
  z.strictObject({ kind: z.literal("lastMillis"), ms: count }),
] as const;

const pointSchema: z.ZodType<RangePoint> = z.discriminatedUnion("kind", [...pointShapes]);
const spanSchema: z.ZodType<RangeSpan> = z.discriminatedUnion("kind", [
  ...pointShapes,
  z.strictObject({ kind: z.literal("next"), count }),
  z.strictObject({ kind: z.literal("previous"), count }),
  z.strictObject({ kind: z.literal("nextMillis"), ms: count }),
  z.strictObject({ kind: z.literal("previousMillis"), ms: count }),
]);
const rangeSchema: z.ZodType<Range> = z.strictObject({ anchor: pointSchema, span: spanSchema });

/** The schema of {@link RangeQueryParameters}: what guards a query in a `ts_query` frame. */
export const rangeQueryParametersSchema: z.ZodType<RangeQueryParameters> = z.strictObject({
  view: z.enum(["values", "allEdits", "latestEdits"]),
  viewRange: rangeSchema,
  editRange: rangeSchema,
  limit: count.optional(),
});

/**
 * One event of a range query result or of a time series value stream, compact because pages carry
 * hundreds: `s` sequence, `t` timestamp (epoch ms), `a` author, `v` the value's bytes (of the series'
 * event type), `o` for an edit the sequence of the original it edits (absent for an original).
 */
export const wireEventSchema = z.strictObject({
  /** The event's sequence. */
  s: count,
  /** Its timestamp, server epoch ms. */
  t: z.number().int(),
  /** Its author. */
  a: z.string(),
  /** Its value's bytes. */
  v: z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected bytes (MessagePack bin)"),
  /** For an edit: the sequence of the original event. */
  o: count.optional(),
});

/** See {@link wireEventSchema}. */
export type WireEvent = z.infer<typeof wireEventSchema>;

/** The views a JSON query names. */
const JSON_VIEWS = ["values", "allEdits", "latestEdits"] as const;

/** The range keys of a JSON query: builder method names, each with a number (or a date for from/to). */
const RANGE_KEYS = [
  "from",
  "fromStart",
  "fromLast",
  "fromLastMillis",
  "to",
  "toStart",
  "next",
  "nextMillis",
  "previous",
  "previousMillis",
  "untilLast",
  "untilLastMillis",
] as const;

type RangeKey = (typeof RANGE_KEYS)[number];

/**
 * Reads the JSON form of a range query (what an MQTT 5 client publishes to `$timeseries/query/<path>`):
 * an object whose keys are the builder's methods, applied in a fixed order (view, then the view
 * range's anchor and span, then `editRange`, then `limit`), e.g.
 * `{"fromLast":100,"view":"values"}`, `{"view":"allEdits","from":"2026-01-01T00:00:00Z","next":10}`,
 * `{"view":"latestEdits","editRange":{"fromLast":5},"limit":20}`.
 *
 * - `view`: `values` (default), `allEdits` or `latestEdits`;
 * - `from`/`to`: a sequence (number) or a time (an ISO 8601 string, or `{"time": epochMs}`);
 * - `fromStart`/`toStart`: `true`;
 * - `fromLast`, `fromLastMillis`, `next`, `nextMillis`, `previous`, `previousMillis`, `untilLast`,
 *   `untilLastMillis`, `limit`: a non-negative integer;
 * - `editRange`: an object of range keys, the edit range (for `values`, Diffusion's `editRange()`; for
 *   the edit views, `allEdits()`/`latestEdits()` followed by its range).
 *
 * At most one anchor key and one span key per range.
 * @throws SkeinError `INVALID_ARGUMENT` naming the problem
 */
export function parseJsonRangeQuery(json: unknown): RangeQueryParameters {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new SkeinError("INVALID_ARGUMENT", "a range query is a JSON object");
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== "view" && key !== "editRange" && key !== "limit" && !isRangeKey(key))
      throw new SkeinError("INVALID_ARGUMENT", `unknown range query key ${JSON.stringify(key)}`);
  }
  const view = o.view ?? "values";
  if (!(JSON_VIEWS as readonly unknown[]).includes(view))
    throw new SkeinError("INVALID_ARGUMENT", `view must be one of ${JSON_VIEWS.join(", ")}`);
  let q = view === "values" ? new RangeQuery().forValues() : new RangeQuery().forEdits();
  q = applyRange(q, o);
  if (o.editRange !== undefined) {
    const e = o.editRange;
    if (e === null || typeof e !== "object" || Array.isArray(e))
      throw new SkeinError("INVALID_ARGUMENT", "editRange is an object of range keys");
    for (const key of Object.keys(e))
      if (!isRangeKey(key))
        throw new SkeinError("INVALID_ARGUMENT", `unknown editRange key ${JSON.stringify(key)}`);
    q = view === "values" ? q.editRange() : view === "latestEdits" ? q.latestEdits() : q.allEdits();
    q = applyRange(q, e as Record<string, unknown>);
  } else if (view === "latestEdits") q = q.latestEdits();
  if (o.limit !== undefined) q = q.limit(integer(o.limit, "limit"));
  return q.parameters;
}

function isRangeKey(key: string): key is RangeKey {
  return (RANGE_KEYS as readonly string[]).includes(key);
}

const ANCHORS: readonly RangeKey[] = ["from", "fromStart", "fromLast", "fromLastMillis"];

function applyRange(q: RangeQuery, o: Record<string, unknown>): RangeQuery {
  const keys = RANGE_KEYS.filter((k) => o[k] !== undefined);
  const anchors = keys.filter((k) => ANCHORS.includes(k));
  const spans = keys.filter((k) => !ANCHORS.includes(k));
  if (anchors.length > 1 || spans.length > 1)
    throw new SkeinError("INVALID_ARGUMENT", `at most one anchor and one span: ${keys.join(", ")}`);
  for (const key of [...anchors, ...spans]) q = applyKey(q, key, o[key]);
  return q;
}

function applyKey(q: RangeQuery, key: RangeKey, v: unknown): RangeQuery {
  switch (key) {
    case "from":
      return q.from(sequenceOrDate(v, key));
    case "to":
      return q.to(sequenceOrDate(v, key));
    case "fromStart":
    case "toStart":
      if (v !== true) throw new SkeinError("INVALID_ARGUMENT", `${key} takes true`);
      return key === "fromStart" ? q.fromStart() : q.toStart();
    default:
      return q[key](integer(v, key));
  }
}

function integer(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new SkeinError("INVALID_ARGUMENT", `${what} must be a non-negative integer`);
  return v;
}

function sequenceOrDate(v: unknown, what: string): number | Date {
  if (typeof v === "number") return integer(v, what);
  if (typeof v === "string") {
    const t = Date.parse(v);
    if (!Number.isFinite(t)) throw new SkeinError("INVALID_ARGUMENT", `${what}: not a date: ${v}`);
    return new Date(t);
  }
  if (v !== null && typeof v === "object" && typeof (v as { time?: unknown }).time === "number")
    return new Date((v as { time: number }).time);
  throw new SkeinError("INVALID_ARGUMENT", `${what} takes a sequence, an ISO date or {"time": ms}`);
}
