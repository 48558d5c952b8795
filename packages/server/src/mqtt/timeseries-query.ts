/**
 * MQTT 5 range queries of time series (issue 9 §2, docs/timeseries.md): what no MQTT broker offers,
 * through plain MQTT 5 request-response. A PUBLISH to `$timeseries/query/<path>` with a Response Topic
 * (and Correlation Data) and a JSON query (`{"fromLast":100,"view":"values"}`, see
 * `parseJsonRangeQuery`; an empty payload is the default query, every value of the series) is answered
 * on the Response Topic with the same Correlation Data and the result as JSON. Like `$request/`, the
 * whole `$timeseries/` prefix is the door's and never reaches the topic tree; failures are answered as
 * the request bridge answers them: an empty message with User Properties `skein-error` and
 * `skein-error-message`.
 *
 * @module
 */
import type { Actor } from "../core/security/types.js";
import {
  type RangeQueryParameters,
  SkeinError,
  type ValueType,
  isReservedForServer,
  parseJsonRangeQuery,
  pathProblem,
  utf8Decode,
  VALUE_CODECS,
} from "@skein/protocol";
import type { IPublishPacket } from "mqtt-packet";
import type { RangeResultEvent } from "../core/timeseries/evaluate.js";
import type { QoS, Update } from "../core/types.js";
import type { MqttConnection } from "./connection.js";
import { Reason } from "./reason-codes.js";

/** The prefix the MQTT door keeps for time series. */
export const TIMESERIES_PREFIX = "$timeseries/";
/** A PUBLISH to `$timeseries/query/<path>` is a range query of the time series at `<path>`. */
export const TIMESERIES_QUERY_PREFIX = "$timeseries/query/";
/**
 * An MQTT answer holds at most this many events (the last of the selection, as a `limit` would keep):
 * it is one PUBLISH, so it is bounded; `isComplete` false and `selectedCount` tell the client to
 * narrow its query. A query's own smaller `limit` applies.
 */
export const MAX_MQTT_QUERY_EVENTS = 1000;

/** True for topics of the `$timeseries/` prefix. */
export function isTimeSeriesTopic(topic: string): boolean {
  return topic.startsWith(TIMESERIES_PREFIX);
}

/**
 * A PUBLISH to `$timeseries/...`. Returns the PUBACK/PUBREC reason code; the answer follows on the
 * Response Topic after the acknowledgement.
 */
export function handleTimeSeriesPublish(
  conn: MqttConnection,
  topic: string,
  packet: IPublishPacket,
  isDoorTopic: (topic: string) => boolean,
): number {
  if (!topic.startsWith(TIMESERIES_QUERY_PREFIX)) return Reason.TOPIC_NAME_INVALID;
  const path = topic.slice(TIMESERIES_QUERY_PREFIX.length);
  const responseTopic = packet.properties?.responseTopic;
  if (conn.protocolVersion !== 5 || !responseTopic) return Reason.IMPLEMENTATION_SPECIFIC_ERROR;
  if (pathProblem(path) || pathProblem(responseTopic)) return Reason.TOPIC_NAME_INVALID;
  // As for `$request/`: the answer goes only where the requester could publish itself.
  if (isReservedForServer(responseTopic)) return Reason.NOT_AUTHORIZED;
  if (isDoorTopic(responseTopic)) return Reason.TOPIC_NAME_INVALID;
  const actor = conn.session?.actor;
  if (actor === undefined) return Reason.UNSPECIFIED_ERROR; // only a connected session publishes
  const correlationData = packet.properties?.correlationData;
  const answer = (payload: Uint8Array, error?: SkeinError): void => {
    conn.door.core.facade.deliverMessage(
      answerUpdate(responseTopic, correlationData, packet.qos, payload, error),
    );
  };
  conn.door.core.metrics.inc("mqtt_timeseries_queries_total");
  // After this PUBLISH's acknowledgement: the query reads the store.
  queueMicrotask(() => {
    runQuery(conn, actor, path, packet.payload as Buffer).then(
      (json) => answer(json),
      (err: unknown) => {
        const e = SkeinError.from(err);
        if (e.code === "INTERNAL") conn.log.error({ err, path }, "time series query failed");
        else conn.log.debug({ path, code: e.code, problem: e.message }, "time series query refused");
        conn.door.core.metrics.inc("mqtt_timeseries_queries_refused_total", { code: e.code });
        answer(EMPTY, e);
      },
    );
  });
  return Reason.SUCCESS;
}

/** Runs the query of a payload; resolves with the JSON answer's bytes. */
async function runQuery(
  conn: MqttConnection,
  actor: Actor,
  path: string,
  payload: Buffer,
): Promise<Uint8Array> {
  const query = queryOf(payload);
  const { eventType, pages } = conn.door.core.facade.queryEvents(actor, path, query);
  const events: string[] = [];
  for await (const page of pages) {
    for (const e of page.events) events.push(jsonOfEvent(e, eventType));
    if (page.last) {
      const head = {
        path,
        eventType,
        streamStructure: query.view === "values" ? "VALUE_EVENT_STREAM" : "EDIT_EVENT_STREAM",
        selectedCount: page.selectedCount,
        isComplete: page.isComplete,
      };
      const text = `${JSON.stringify(head).slice(0, -1)},"events":[${events.join(",")}]}`;
      return VALUE_CODECS.string.toBytes(text);
    }
  }
  /* c8 ignore next */
  throw new SkeinError("INTERNAL", "range query ended without its last page");
}

/** The query of a payload, its limit capped at {@link MAX_MQTT_QUERY_EVENTS}. */
function queryOf(payload: Buffer): RangeQueryParameters {
  let json: unknown = {};
  if (payload.length > 0) {
    try {
      json = JSON.parse(utf8Decode(payload, "the query"));
    } catch (err) {
      throw new SkeinError("INVALID_ARGUMENT", `the query is not JSON: ${SkeinError.from(err).message}`);
    }
  }
  const query = parseJsonRangeQuery(json);
  return query.limit === undefined || query.limit > MAX_MQTT_QUERY_EVENTS
    ? { ...query, limit: MAX_MQTT_QUERY_EVENTS }
    : query;
}

/**
 * One event as JSON. Values: json as itself, string as a string, int64 as a decimal string (JSON
 * numbers lose precision past 2^53), double as a number (NaN and ±Infinity, which JSON lacks, as
 * strings), binary as a base64 string.
 */
function jsonOfEvent(e: RangeResultEvent, type: ValueType): string {
  const value = jsonValueText(e.value, type);
  return (
    `{"sequence":${e.sequence},"timestamp":${e.timestamp},"author":${JSON.stringify(e.author)},` +
    `"value":${value},"isEdit":${e.isEdit},"originalSequence":${e.originalSequence}}`
  );
}

function jsonValueText(bytes: Uint8Array, type: ValueType): string {
  try {
    return typedJsonText(bytes, type);
  } catch {
    // Only a series with `validateValues: false` keeps values that are not of its type: their bytes.
    return JSON.stringify(base64(bytes));
  }
}

function typedJsonText(bytes: Uint8Array, type: ValueType): string {
  switch (type) {
    case "json":
      // Stored json values were checked at append (unless validateValues is false): re-serialise to be sure.
      return JSON.stringify(VALUE_CODECS.json.fromBytes(bytes));
    case "string":
      return JSON.stringify(VALUE_CODECS.string.fromBytes(bytes));
    case "int64":
      return JSON.stringify(VALUE_CODECS.int64.fromBytes(bytes).toString());
    case "double": {
      const d = VALUE_CODECS.double.fromBytes(bytes);
      return Number.isFinite(d) ? String(d) : JSON.stringify(String(d));
    }
    case "binary":
      return JSON.stringify(base64(bytes));
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

const EMPTY = new Uint8Array(0);

function answerUpdate(
  topic: string,
  correlationData: Buffer | undefined,
  qos: QoS,
  payload: Uint8Array,
  error: SkeinError | undefined,
): Update {
  return {
    topic,
    payload,
    qos,
    retain: false,
    properties: error
      ? {
          correlationData,
          userProperties: { "skein-error": error.code, "skein-error-message": error.message },
        }
      : { correlationData, contentType: "application/json", payloadFormatIndicator: true },
    expiresAt: undefined,
    origin: undefined,
  };
}
