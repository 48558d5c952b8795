/**
 * SUBSCRIBE: validate each filter, add it to the index, answer SUBACK, then send the retained values
 * the retain handling option asks for [MQTT-3.8.4].
 */
import type { ISubscribePacket, ISubscription } from "mqtt-packet";
import { SkeinError } from "@skein/protocol";
import type { QoS, SubscriptionOptions } from "../../core/types.js";
import { parseFilter } from "../checks.js";
import type { MqttConnection } from "../connection.js";
import { encodeSuback } from "../fast-connect.js";
import { REQUEST_PREFIX, subscribeHandler } from "../messaging.js";
import { Reason } from "../reason-codes.js";

/** Handles SUBSCRIBE [MQTT-3.8]. */
export function handleSubscribe(conn: MqttConnection, packet: ISubscribePacket): void {
  const session = conn.session;
  if (!session) return;
  // A SUBSCRIBE without a Topic Filter is a Protocol Error [MQTT-3.8.3-2] (and has no SUBACK to send).
  if (packet.subscriptions.length === 0) return conn.protocolError("SUBSCRIBE without a Topic Filter");
  const ids = packet.properties?.subscriptionIdentifier;
  // One Subscription Identifier at most, and never 0 [MQTT-3.8.2-?] (§3.8.2.1.2).
  if (Array.isArray(ids)) return conn.protocolError("more than one Subscription Identifier");
  if (ids === 0) return conn.protocolError("Subscription Identifier 0");
  const granted: number[] = [];
  const retainedToSend: { filter: string; qos: QoS; subscriptionId: number | undefined }[] = [];
  for (const sub of packet.subscriptions) {
    const outcome = subscribeOne(conn, sub, ids);
    if (outcome === "closed") return;
    granted.push(outcome.code);
    if (outcome.sendRetained)
      retainedToSend.push({ filter: outcome.filter, qos: outcome.code as QoS, subscriptionId: ids });
  }
  conn.write(encodeSuback(packet.messageId as number, granted, conn.protocolVersion));
  // Retained values after the SUBACK, retain flag set [MQTT-3.3.1-9], at most the granted QoS; paced
  // by the socket and the inflight window, never dropped for lack of room (issue 12).
  for (const r of retainedToSend) {
    const ids = r.subscriptionId === undefined ? undefined : [r.subscriptionId];
    session.replay(r.filter, conn.door.core.facade.retained(session.actor, r.filter), r.qos, ids);
  }
  if (retainedToSend.length > 0) session.drain();
}

type Outcome = { code: number; filter: string; sendRetained: boolean } | "closed";

/** A subscription the façade refused: counted, logged, and answered 0x87 (v5) or 0x80 (3.1.1). */
function notAuthorized(conn: MqttConnection, filter: string, err: unknown): Outcome {
  const e = SkeinError.from(err);
  if (e.code !== "NOT_AUTHORIZED") throw err;
  conn.log.debug({ filter, problem: e.message }, "subscription refused");
  conn.door.core.metrics.inc("mqtt_subscriptions_refused_total", { reason: "not_authorized" });
  return failure(conn, filter, Reason.NOT_AUTHORIZED);
}

/** A refused filter's outcome: the reason (v5) or 0x80 (3.1.1) [MQTT-3.9.3-?]. */
function failure(conn: MqttConnection, filter: string, reason: number): Outcome {
  return { code: conn.protocolVersion === 5 ? reason : 0x80, filter, sendRetained: false };
}

function subscribeOne(conn: MqttConnection, sub: ISubscription, subscriptionId: number | undefined): Outcome {
  const session = conn.session;
  const parsed = parseFilter(conn, sub.topic);
  if (typeof parsed === "string") {
    conn.log.debug({ filter: sub.topic, problem: parsed }, "subscription refused");
    conn.door.core.metrics.inc("mqtt_subscriptions_refused_total", { reason: "filter_invalid" });
    return failure(conn, sub.topic, Reason.TOPIC_FILTER_INVALID);
  }
  // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
  if (parsed.shareGroup !== undefined && sub.nl) {
    conn.protocolError("No Local on a shared subscription");
    return "closed";
  }
  if (!session) return failure(conn, sub.topic, Reason.UNSPECIFIED_ERROR);
  if (
    !session.subscriptions.has(sub.topic) &&
    session.subscriptions.size >= conn.door.options.maxSubscriptionsPerSession
  ) {
    conn.door.core.metrics.inc("mqtt_subscriptions_refused_total", { reason: "quota" });
    return failure(conn, sub.topic, Reason.QUOTA_EXCEEDED);
  }
  const qos = Math.min(sub.qos, 2) as QoS;
  const options = subscriptionOptions(
    qos,
    sub.nl ?? false,
    sub.rap ?? false,
    (sub.rh ?? 0) as 0 | 1 | 2,
    subscriptionId,
  );
  if (parsed.shareGroup === undefined && parsed.filter.startsWith(REQUEST_PREFIX)) {
    // Subscribing to $request/<path> makes the client a handler of <path> (DESIGN §4). Only MQTT 5
    // clients can answer (they see the Response Topic), so 3.1.1 clients are refused (SUBACK 0x80).
    if (conn.protocolVersion !== 5) return failure(conn, sub.topic, Reason.TOPIC_FILTER_INVALID);
    const code = subscribeHandler(conn, parsed.filter, qos);
    if (code === Reason.NOT_AUTHORIZED)
      conn.door.core.metrics.inc("mqtt_subscriptions_refused_total", { reason: "not_authorized" });
    if (code >= 0x80) return failure(conn, sub.topic, code);
    session.addSubscription({ key: sub.topic, filter: parsed.filter, shareGroup: undefined, options });
    return { code, filter: parsed.filter, sendRetained: false };
  }
  let isNew: boolean;
  try {
    ({ isNew } = conn.door.core.facade.subscribe(
      session.actor,
      parsed.filter,
      parsed.shareGroup,
      session,
      options,
    ));
  } catch (err) {
    // Refused per filter: v5 SUBACK 0x87, 3.1.1 0x80 [MQTT-3.9.3-?] (§3.9.3).
    return notAuthorized(conn, sub.topic, err);
  }
  session.addSubscription({ key: sub.topic, filter: parsed.filter, shareGroup: parsed.shareGroup, options });
  conn.door.core.metrics.inc("mqtt_subscriptions_total");
  // Retained values are not sent to shared subscriptions [MQTT-4.8.2-?]; retain handling 1 sends them only
  // for a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11].
  const sendRetained =
    parsed.shareGroup === undefined &&
    (options.retainHandling === 0 || (options.retainHandling === 1 && isNew));
  return { code: qos, filter: parsed.filter, sendRetained };
}

/**
 * Subscription options without a subscription identifier, one object per combination, shared by every
 * subscription that has it (an idle connection's subscription held its own, issue 11). Never written:
 * a SUBSCRIBE that changes a subscription gives it another object.
 */
const SHARED_OPTIONS = new Map<number, SubscriptionOptions>();

/** The options of one subscription: a shared object unless it has a subscription identifier. */
function subscriptionOptions(
  qos: QoS,
  noLocal: boolean,
  retainAsPublished: boolean,
  retainHandling: 0 | 1 | 2,
  subscriptionId: number | undefined,
): SubscriptionOptions {
  if (subscriptionId !== undefined)
    return { qos, noLocal, retainAsPublished, retainHandling, subscriptionId };
  const key = qos * 16 + (noLocal ? 8 : 0) + (retainAsPublished ? 4 : 0) + retainHandling;
  let options = SHARED_OPTIONS.get(key);
  if (options === undefined) {
    options = { qos, noLocal, retainAsPublished, retainHandling, subscriptionId: undefined };
    SHARED_OPTIONS.set(key, options);
  }
  return options;
}
