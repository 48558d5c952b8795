/** UNSUBSCRIBE [MQTT-3.10]. */
import mqtt from "mqtt-packet";
import type { IUnsubscribePacket } from "mqtt-packet";
import { parseFilter } from "../checks.js";
import type { MqttConnection } from "../connection.js";
import { REQUEST_PREFIX, unsubscribeHandler } from "../messaging.js";
import { Reason } from "../reason-codes.js";

/** Removes each subscription; v5 UNSUBACK says per filter whether one existed [MQTT-3.11.3-?]. */
export function handleUnsubscribe(conn: MqttConnection, packet: IUnsubscribePacket): void {
  const session = conn.session;
  if (!session) return;
  // An UNSUBSCRIBE without a Topic Filter is a Protocol Error [MQTT-3.10.3-2].
  if (packet.unsubscriptions.length === 0) return conn.protocolError("UNSUBSCRIBE without a Topic Filter");
  const reasons: number[] = [];
  for (const key of packet.unsubscriptions) {
    const parsed = parseFilter(conn, key);
    if (typeof parsed === "string") {
      reasons.push(Reason.TOPIC_FILTER_INVALID);
      continue;
    }
    const existed = session.removeSubscription(key);
    if (existed && parsed.shareGroup === undefined && parsed.filter.startsWith(REQUEST_PREFIX)) {
      unsubscribeHandler(conn, parsed.filter);
    } else if (existed)
      conn.door.core.facade.unsubscribe(session.actor, parsed.filter, parsed.shareGroup, session);
    reasons.push(existed ? Reason.SUCCESS : Reason.NO_SUBSCRIPTION_EXISTED);
  }
  conn.write(
    mqtt.generate(
      {
        cmd: "unsuback",
        messageId: packet.messageId,
        granted: conn.protocolVersion === 5 ? reasons : [],
      },
      { protocolVersion: conn.protocolVersion },
    ),
  );
}
