/**
 * MQTT 5 clients in request-response (DESIGN §4). The reserved prefixes:
 *
 * - `$request/<path>`: a PUBLISH there with a Response Topic (and Correlation Data) is a request to the
 *   handler of `<path>`; the answer is published to the Response Topic with the same Correlation Data.
 *   A SUBSCRIBE to `$request/<path>` (no wildcards) makes the client a handler of `<path>`, both as a
 *   path handler (requests to the path) and as a session request stream (requests sent to its session
 *   id or to a session filter that selects it): requests reach it as PUBLISHes to `$request/<path>`
 *   with Response Topic `$response/<id>`.
 * - `$response/<id>`: what a handler publishes there is the answer to request `<id>`.
 *
 * - `$timeseries/query/<path>`: a range query of the time series at `<path>` (timeseries-query.ts).
 *
 * Responses are delivered to the Response Topic's subscribers without creating a topic there.
 * Failures reach an MQTT requester as an empty message on its Response Topic with the user
 * properties `skein-error` (the error code name) and `skein-error-message`.
 */
import {
  SkeinError,
  VALUE_CODECS,
  declaredValueType,
  isReservedForServer,
  pathProblem,
} from "@skein/protocol";
import type { IPublishPacket } from "mqtt-packet";
import type { InboundRequest, RequestEndpoint, RequestOutcome } from "../core/messaging.js";
import type { QoS, Update } from "../core/types.js";
import type { MqttConnection } from "./connection.js";
import { Reason } from "./reason-codes.js";
import { handleTimeSeriesPublish, isTimeSeriesTopic } from "./timeseries-query.js";
import { DYNSEC_PREFIX } from "./dynsec/commands.js";
import { type MqttSession, TRANSIENT } from "./session.js";

/** Topic prefix of requests. */
export const REQUEST_PREFIX = "$request/";
/** Topic prefix of responses from MQTT handlers. */
export const RESPONSE_PREFIX = "$response/";

/**
 * True for topics this module handles instead of the topic tree: `$request/`, `$response/`, the
 * time series queries of `$timeseries/` (timeseries-query.ts) and Mosquitto's dynamic-security API
 * under `$CONTROL/dynamic-security/` (dynsec/handler.ts).
 */
export function isMessagingTopic(topic: string): boolean {
  return (
    topic.charCodeAt(0) === 0x24 && // every door prefix starts with `$`: one test for ordinary topics
    (topic.startsWith(REQUEST_PREFIX) ||
      topic.startsWith(RESPONSE_PREFIX) ||
      isTimeSeriesTopic(topic) ||
      topic.startsWith(DYNSEC_PREFIX))
  );
}

/**
 * A PUBLISH to `$request/...`, `$response/...`, `$timeseries/...` or `$CONTROL/dynamic-security/...`.
 * Returns the PUBACK/PUBREC reason code.
 */
export function handleMessagingPublish(conn: MqttConnection, topic: string, packet: IPublishPacket): number {
  if (topic.startsWith(DYNSEC_PREFIX)) return conn.door.dynamicSecurity.handlePublish(conn, topic, packet);
  if (isTimeSeriesTopic(topic)) return handleTimeSeriesPublish(conn, topic, packet, isMessagingTopic);
  const session = conn.session as MqttSession;
  const facade = conn.door.core.facade;
  const payload = packet.payload as Buffer;
  if (topic.startsWith(RESPONSE_PREFIX)) {
    const rid = Number(topic.slice(RESPONSE_PREFIX.length));
    const outcome: RequestOutcome = { ok: true, payload, responseType: "binary" };
    return Number.isSafeInteger(rid) && facade.respond(session.actor, rid, outcome)
      ? Reason.SUCCESS
      : Reason.NO_MATCHING_SUBSCRIBERS;
  }
  const path = topic.slice(REQUEST_PREFIX.length);
  const props = packet.properties;
  const responseTopic = props?.responseTopic;
  if (conn.protocolVersion !== 5 || !responseTopic) return Reason.IMPLEMENTATION_SPECIFIC_ERROR;
  if (pathProblem(path) || pathProblem(responseTopic)) return Reason.TOPIC_NAME_INVALID;
  // The answer goes where the requester could publish itself: never into $SYS/ (only the server writes
  // there), nor onto $request/ or $response/, where it would pose as a request or an answer.
  if (isReservedForServer(responseTopic)) return Reason.NOT_AUTHORIZED;
  if (isMessagingTopic(responseTopic)) return Reason.TOPIC_NAME_INVALID;
  const correlationData = props?.correlationData;
  let sending = true;
  try {
    facade.sendToPath(
      session.actor,
      {
        path,
        requestType: declaredValueType(props?.contentType, props?.payloadFormatIndicator),
        responseType: undefined,
        payload,
        timeoutMs: conn.door.requestTimeoutMs,
      },
      // Responses are messages, not topic state: they go straight to the response topic's subscribers,
      // creating no topic (and so no type that a later error reply would not fit).
      (outcome) => {
        const deliver = (): void => {
          facade.deliverMessage(responseUpdate(responseTopic, correlationData, packet.qos, outcome));
        };
        // A request refused at once is answered after this PUBLISH's acknowledgement.
        if (sending) queueMicrotask(deliver);
        else deliver();
      },
    );
  } catch (err) {
    // No send_to_message_handler on the path: PUBACK/PUBREC 0x87 Not authorized.
    if (SkeinError.from(err).code === "NOT_AUTHORIZED") return Reason.NOT_AUTHORIZED;
    throw err;
  } finally {
    sending = false;
  }
  return Reason.SUCCESS;
}

function responseUpdate(
  topic: string,
  correlationData: Buffer | undefined,
  qos: QoS,
  outcome: RequestOutcome,
): Update {
  // Literal objects, no spreads: a spread costs about a microsecond here, per response.
  if (!outcome.ok) {
    return {
      topic,
      payload: new Uint8Array(0),
      qos,
      retain: false,
      properties: {
        correlationData,
        userProperties: { "skein-error": outcome.code, "skein-error-message": outcome.message },
      },
      expiresAt: undefined,
      origin: undefined,
    };
  }
  const codec = VALUE_CODECS[outcome.responseType];
  return {
    topic,
    payload: outcome.payload,
    qos,
    retain: false,
    properties: {
      correlationData,
      contentType: codec.contentType,
      payloadFormatIndicator: codec.utf8 ? true : undefined,
    },
    expiresAt: undefined,
    origin: undefined,
  };
}

/** The MQTT session as a request endpoint: requests become PUBLISHes to `$request/<path>`. */
function endpointOf(session: MqttSession, qos: QoS): RequestEndpoint {
  return {
    sessionId: session.sessionId,
    deliverRequest(request: InboundRequest) {
      const codec = VALUE_CODECS[request.requestType];
      session.send({
        update: {
          // On the topic the client subscribed to (a server must not send what matches no subscription
          // [MQTT-3.3.4-?]); the path the request was sent to is in the user property skein-path.
          topic: REQUEST_PREFIX + request.handler.path,
          payload: request.payload,
          qos,
          retain: false,
          properties: {
            responseTopic: RESPONSE_PREFIX + request.requestId,
            correlationData: Buffer.from(String(request.requestId)),
            ...(codec.contentType ? { contentType: codec.contentType } : {}),
            ...(codec.utf8 ? { payloadFormatIndicator: true } : {}),
            userProperties: {
              ...request.properties,
              "skein-path": request.path,
              ...(request.fromSessionId ? { "skein-session": request.fromSessionId } : {}),
            },
          },
          expiresAt: undefined,
          origin: undefined,
        },
        qos,
        retain: false,
        subscriptionIds: undefined,
        // A request lives no longer than its timeout: never kept across a restart.
        messageId: TRANSIENT,
      });
    },
  };
}

/** An MQTT handler is registered as both kinds: the SDK's sends to a session or a filter reach it too. */
const HANDLER_KINDS = ["path", "session"] as const;

/**
 * A SUBSCRIBE to `$request/<path>`: registers the session as a handler of `<path>` (path handler and
 * session request stream). Returns the SUBACK code.
 */
export function subscribeHandler(conn: MqttConnection, filter: string, qos: QoS): number {
  const path = filter.slice(REQUEST_PREFIX.length);
  if (path.length === 0 || /[+#]/.test(path)) return Reason.TOPIC_FILTER_INVALID;
  const session = conn.session as MqttSession;
  const endpoint = endpointOf(session, qos);
  for (const kind of HANDLER_KINDS) {
    try {
      conn.door.core.facade.addHandler(session.actor, kind, path, endpoint);
    } catch (err) {
      // No register_handler: SUBACK 0x87 (v5 only reaches here).
      if (SkeinError.from(err).code === "NOT_AUTHORIZED") return Reason.NOT_AUTHORIZED;
      // Already a handler of this path: a repeated SUBSCRIBE keeps the registration.
    }
  }
  return qos;
}

/** An UNSUBSCRIBE from `$request/<path>`. */
export function unsubscribeHandler(conn: MqttConnection, filter: string): boolean {
  const path = filter.slice(REQUEST_PREFIX.length);
  const actor = (conn.session as MqttSession).actor;
  let removed = false;
  for (const kind of HANDLER_KINDS) {
    removed = conn.door.core.facade.removeHandler(actor, kind, path) || removed;
  }
  return removed;
}

/** After a reconnect, a persistent session's `$request/` subscriptions are handlers again. */
export function restoreHandlers(conn: MqttConnection, session: MqttSession): void {
  for (const sub of session.subscriptions.values()) {
    if (sub.filter.startsWith(REQUEST_PREFIX)) subscribeHandler(conn, sub.filter, sub.options.qos);
  }
}
