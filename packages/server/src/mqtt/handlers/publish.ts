/**
 * PUBLISH from a client: resolve the topic alias, check the topic and properties, then hand the update
 * to the core and acknowledge per QoS [MQTT-4.3]. Refusals that concern only this message are
 * answered in PUBACK/PUBREC (v5) or dropped and counted (QoS 0); protocol violations close the
 * connection with the reason code the spec names.
 */
import mqtt from "mqtt-packet";
import type { IPublishPacket } from "mqtt-packet";
import { VALUE_CODECS, mqttReasonCode, valueTypeOf } from "@skein/protocol";
import { type MessageProperties, type Update, copyUpdate } from "../../core/types.js";
import { isUtf8Payload, topicNameProblem } from "../checks.js";
import type { MqttConnection } from "../connection.js";
import type { MqttSession } from "../session.js";
import { ownPayload } from "../outbound.js";
import { handleMessagingPublish, isMessagingTopic } from "../messaging.js";
import { Reason } from "../reason-codes.js";
import { toUpdate } from "../to-update.js";
import { countUserProperties } from "../user-properties.js";
import { CommitAcks } from "../commit-acks.js";

/** Handles PUBLISH [MQTT-3.3]. */
export function handlePublish(conn: MqttConnection, packet: IPublishPacket): void {
  // DUP must be 0 on QoS 0 messages [MQTT-3.3.1-2].
  if (packet.qos === 0 && packet.dup) return conn.malformed("DUP set on a QoS 0 PUBLISH");
  if (conn.publishRateExceeded()) return; // connection closed (DISCONNECT 0x96 on v5)
  const topic = resolveTopic(conn, packet);
  if (topic === undefined) return; // connection already closed
  const qos = packet.qos;
  const props = packet.properties;
  // A client must not send a Subscription Identifier [MQTT-3.3.4-6].
  if (props?.subscriptionIdentifier !== undefined)
    return conn.protocolError("Subscription Identifier in PUBLISH");
  const session = conn.session;
  if (!session) return;
  if (qos === 2 && session.incomingQos2.has(packet.messageId as number)) {
    // Until PUBREL, any PUBLISH with the same identifier is acknowledged with PUBREC and not delivered
    // again [MQTT-4.3.3-9] (3.1.1: [MQTT-4.3.3-2]), DUP set or not: clients that send a stored
    // PUBLISH again after reconnecting do not all set DUP [MQTT-3.3.1-1] (MQTT.js does not), and the
    // message did arrive. A success code, as Mosquitto answers: PUBREC 0x91 made them report a
    // delivered message as failed.
    conn.door.core.metrics.inc("mqtt_qos2_duplicates_total", { dup: packet.dup ? "1" : "0" });
    return ack(conn, packet, Reason.SUCCESS);
  }
  if (
    qos === 2 &&
    conn.protocolVersion === 5 &&
    session.incomingQos2.size >= conn.door.options.receiveMaximum
  ) {
    // More unacknowledged QoS 2 publishes than the Receive Maximum we announced [MQTT-3.3.4-9]. Only v5
    // clients are told one (§3.2.2.3.3); 3.1.1 has no such limit and is bounded by its 65535 packet ids.
    return conn.protocolError("Receive Maximum exceeded", Reason.RECEIVE_MAXIMUM_EXCEEDED);
  }
  if (isMessagingTopic(topic)) {
    // $request/ and $response/ carry request-response, not topic updates (DESIGN §4).
    const reason = handleMessagingPublish(conn, topic, packet);
    if (reason >= 0x80) return refuse(conn, packet, reason);
    const kept = qos === 2 ? session.recordQos2(packet.messageId as number) : undefined;
    return ackAfter(conn, packet, reason, kept);
  }
  const refusal = checkMessage(conn, packet);
  if (refusal !== undefined) return refuse(conn, packet, refusal);
  let update = toUpdate(conn, topic, packet.payload, qos, packet.retain, props);
  if (packet.retain) update = ownPayload(update);
  if (conn.protocolVersion !== 5) update = withTopicMetadata(conn, update);
  const actor = session.actor;
  if (qos === 0) return published(conn, packet, topic, conn.door.publish(actor, update));
  conn.ackBeforeOwnDeliveries(
    () => conn.door.publish(actor, update),
    (result) => published(conn, packet, topic, result),
  );
}

/** Counts a publish and acknowledges it, or refuses it with the core's reason. */
function published(
  conn: MqttConnection,
  packet: IPublishPacket,
  topic: string,
  result: ReturnType<MqttConnection["door"]["publish"]>,
): void {
  conn.door.counters.messagesReceived[packet.qos]!.value++;
  if (!result.ok) {
    conn.log.debug({ topic, code: result.code, problem: result.message }, "publish refused");
    return refuse(conn, packet, mqttReasonCode(result.code));
  }
  // A change of a persistent topic, or a copy queued for a kept session, is acknowledged once
  // committed (docs/durability.md), as is the QoS 2 id of a kept publisher's session [MQTT-4.3.3-9];
  // the deliveries to subscribers have gone already. QoS 0 and clean sessions wait for nothing.
  let commit = result.committed;
  if (packet.qos === 2) {
    const kept = conn.session?.recordQos2(packet.messageId as number);
    if (kept !== undefined && kept !== commit)
      commit = commit === undefined ? kept : Promise.all([commit, kept]).then(() => undefined);
  }
  ackAfter(conn, packet, Reason.SUCCESS, packet.qos === 0 ? undefined : commit);
}

/** Acknowledges once `commit` (if any) has settled, in PUBLISH order [MQTT-4.6.0-2]. */
function ackAfter(
  conn: MqttConnection,
  packet: IPublishPacket,
  reason: number,
  commit: Promise<void> | undefined,
): void {
  if (commit === undefined) return ack(conn, packet, reason);
  (conn.commitAcks ??= new CommitAcks(conn, sendAck)).add(packet, reason, commit);
}

/** The topic name, after topic alias resolution [MQTT-3.3.2-12]; undefined after a protocol error. */
function resolveTopic(conn: MqttConnection, packet: IPublishPacket): string | undefined {
  const alias = packet.properties?.topicAlias;
  let topic = packet.topic;
  if (alias !== undefined && conn.protocolVersion === 5) {
    // Alias 0 or above our Topic Alias Maximum [MQTT-3.3.2-8] [MQTT-3.3.2-9].
    if (alias === 0 || alias > conn.door.options.topicAliasMaximum) {
      conn.protocolError(`topic alias ${alias} is out of range`, Reason.TOPIC_ALIAS_INVALID);
      return undefined;
    }
    if (topic.length > 0) {
      const problem = topicNameProblem(conn, topic);
      if (problem) return invalidTopic(conn, problem);
      conn.aliasesIn.set(alias, topic);
    } else {
      const known = conn.aliasesIn.get(alias);
      if (known === undefined) {
        conn.protocolError(`topic alias ${alias} was never set`);
        return undefined;
      }
      topic = known;
    }
    return topic;
  }
  if (topic.length === 0) {
    // An empty topic without an alias [MQTT-4.7.3-1].
    conn.protocolError("empty topic name");
    return undefined;
  }
  const problem = topicNameProblem(conn, topic);
  if (problem) return invalidTopic(conn, problem);
  return topic;
}

function invalidTopic(conn: MqttConnection, problem: string): undefined {
  // Wildcards or NUL in a topic name [MQTT-3.3.2-2] make the packet invalid: 0x90 Topic Name invalid.
  conn.protocolError(`topic name invalid: ${problem}`, Reason.TOPIC_NAME_INVALID);
  return undefined;
}

/** Per-message checks whose failure refuses only this message. */
function checkMessage(conn: MqttConnection, packet: IPublishPacket): number | undefined {
  const props = packet.properties;
  if (
    props?.userProperties &&
    countUserProperties(props.userProperties) > conn.door.options.maxUserProperties
  ) {
    return Reason.QUOTA_EXCEEDED;
  }
  // A payload declared UTF-8 must be UTF-8 [MQTT-3.3.2-4]: 0x99 Payload format invalid.
  if (props?.payloadFormatIndicator && !isUtf8Payload(packet.payload)) return Reason.PAYLOAD_FORMAT_INVALID;
  // A publish to $SYS/ is refused by the core (only the server writes there): 0x87 Not authorized.
  return undefined;
}

/**
 * A 3.1.1 publisher cannot say what its payload is; v5 subscribers of a typed topic are told the
 * content type and format of the topic's type (DESIGN §3). A v5 publisher's properties are forwarded
 * unaltered instead, present or not [MQTT-3.3.2-4] [MQTT-3.3.2-20].
 */
function withTopicMetadata(conn: MqttConnection, update: Update): Update {
  let spec;
  try {
    spec = conn.door.core.facade.publishedSpec((conn.session as MqttSession).actor, update.topic);
  } catch {
    return update; // not authorized: the publish that follows is refused with the reason
  }
  const type = spec && valueTypeOf(spec);
  if (type === undefined || type === "binary") return update;
  const codec = VALUE_CODECS[type];
  const properties: MessageProperties = { contentType: codec.contentType };
  if (codec.utf8) properties.payloadFormatIndicator = true;
  return copyUpdate(update, { properties });
}

/**
 * Acknowledges per QoS: PUBACK for 1, PUBREC for 2, nothing for 0; behind any acknowledgement still
 * waiting for a commit, so that they go out in PUBLISH order [MQTT-4.6.0-2].
 */
function ack(conn: MqttConnection, packet: IPublishPacket, reasonCode: number): void {
  if (packet.qos === 0) return;
  const waiting = conn.commitAcks;
  if (waiting !== undefined && waiting.waiting) return waiting.add(packet, reasonCode, undefined);
  sendAck(conn, packet, reasonCode);
}

/** Writes a PUBACK (QoS 1) or PUBREC (QoS 2) now. */
function sendAck(conn: MqttConnection, packet: IPublishPacket, reasonCode: number): void {
  if (reasonCode === Reason.SUCCESS) {
    // The common case, written directly (no generic encoder on the hot path): type, Remaining Length
    // 2, packet id. v5 may leave out a Success reason code when there are no properties (MQTT 5
    // §3.4.2.1 for PUBACK, §3.5.2.1 for PUBREC); 3.1.1 has none.
    const bytes = Buffer.allocUnsafe(4);
    bytes[0] = packet.qos === 1 ? 0x40 : 0x50;
    bytes[1] = 2;
    bytes.writeUInt16BE(packet.messageId as number, 2);
    conn.write(bytes);
    return;
  }
  const cmd = packet.qos === 1 ? "puback" : "pubrec";
  const v5 = conn.protocolVersion === 5;
  conn.write(
    mqtt.generate(
      { cmd, messageId: packet.messageId, reasonCode: v5 ? reasonCode : undefined },
      { protocolVersion: conn.protocolVersion },
    ),
  );
}

/** Refuses one message: v5 gets the reason in PUBACK/PUBREC; 3.1.1 QoS 1/2 is acknowledged; QoS 0 dropped. */
function refuse(conn: MqttConnection, packet: IPublishPacket, reason: number): void {
  conn.door.core.metrics.inc("mqtt_publishes_refused_total", { reason: `0x${reason.toString(16)}` });
  if (packet.qos === 0) return;
  // 3.1.1 has no negative acknowledgement: the server must acknowledge normally or close the
  // connection [MQTT-3.3.5-2]; like Mosquitto with a publish its ACLs deny, it acknowledges and the
  // message is not delivered (a refused permission or a quota, 0x87 or 0x97 on v5).
  ack(conn, packet, conn.protocolVersion === 5 ? reason : Reason.SUCCESS);
}
