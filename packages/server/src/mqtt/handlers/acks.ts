/** PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and QoS 2 exchanges [MQTT-4.3.2] [MQTT-4.3.3]. */
import mqtt from "mqtt-packet";
import type { IPubackPacket, IPubcompPacket, IPubrecPacket, IPubrelPacket } from "mqtt-packet";
import type { MqttConnection } from "../connection.js";
import { Reason } from "../reason-codes.js";

/** PUBACK: a QoS 1 delivery is done. */
export function handlePuback(conn: MqttConnection, packet: IPubackPacket): void {
  conn.session?.complete(packet.messageId as number);
}

/**
 * PUBREC: answer PUBREL [MQTT-4.3.3-4] (the session sends it, for a kept session once the PUBREC is
 * committed [MQTT-4.3.3-6]); a PUBREC with an error code ends the exchange [MQTT-4.3.3-?].
 */
export function handlePubrec(conn: MqttConnection, packet: IPubrecPacket): void {
  const id = packet.messageId as number;
  const session = conn.session;
  if (!session) return;
  if ((packet.reasonCode ?? 0) >= 0x80) {
    session.complete(id);
    return;
  }
  if (session.received(id)) return;
  if (conn.protocolVersion === 5) conn.write(pubrel(id, Reason.PACKET_IDENTIFIER_NOT_FOUND));
  else conn.sendPubrel(id);
}

/**
 * PUBREL: release the stored QoS 2 id and answer PUBCOMP [MQTT-4.3.3-11]. A kept session's PUBCOMP
 * waits until the release is committed: an id still kept after a restart would make a new PUBLISH
 * reusing it look like a duplicate [MQTT-4.3.3-9].
 *
 * A PUBREL for an id not awaiting release is answered PUBCOMP 0x00 too (counted in
 * `mqtt_pubrels_unknown_total`): it is mostly a PUBREL sent again after reconnection whose PUBCOMP
 * was lost, which MQTT 5 calls "not an error during recovery" (§3.7.2.1); clients such as MQTT.js
 * report a PUBCOMP 0x92 as a failed publish although the message was delivered. Mosquitto answers
 * the same way.
 */
export function handlePubrel(conn: MqttConnection, packet: IPubrelPacket): void {
  const id = packet.messageId as number;
  const released = conn.session?.releaseQos2(id) ?? false;
  if (released === false) conn.door.core.metrics.inc("mqtt_pubrels_unknown_total");
  const pubcomp = mqtt.generate(
    {
      cmd: "pubcomp",
      messageId: id,
      reasonCode: conn.protocolVersion === 5 ? Reason.SUCCESS : undefined,
    },
    { protocolVersion: conn.protocolVersion },
  );
  if (typeof released === "boolean") return conn.write(pubcomp);
  // A failed commit is logged and counted by the store; the client sends PUBREL again on reconnection.
  released.then(
    () => conn.write(pubcomp),
    () => conn.close({ reason: Reason.IMPLEMENTATION_SPECIFIC_ERROR, message: "store commit failed" }),
  );
}

/** PUBCOMP: a QoS 2 delivery is done. */
export function handlePubcomp(conn: MqttConnection, packet: IPubcompPacket): void {
  conn.session?.complete(packet.messageId as number);
}

function pubrel(id: number, reasonCode: number): Buffer {
  return mqtt.generate({ cmd: "pubrel", messageId: id, reasonCode }, { protocolVersion: 5 });
}
