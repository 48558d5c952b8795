/** DISCONNECT from a client [MQTT-3.14]. */
import type { IDisconnectPacket } from "mqtt-packet";
import type { MqttConnection } from "../connection.js";
import { Reason } from "../reason-codes.js";

/**
 * A normal DISCONNECT discards the will [MQTT-3.14.4-3]; reason 0x04 asks for it to be published.
 * A v5 client may change the session expiry here, but not from 0 to non-zero [MQTT-3.14.2-2].
 */
export function handleDisconnect(conn: MqttConnection, packet: IDisconnectPacket): void {
  const session = conn.session;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (session && expiry !== undefined && conn.protocolVersion === 5) {
    if (session.expiryIntervalSec === 0 && expiry !== 0) {
      return conn.protocolError("session expiry cannot be set after connecting with 0");
    }
    session.expiryIntervalSec = Math.min(expiry, conn.door.options.maxSessionExpirySec);
  }
  const withWill = conn.protocolVersion === 5 && packet.reasonCode === Reason.DISCONNECT_WITH_WILL;
  conn.logAt("debug", { clientId: conn.clientId, reason: packet.reasonCode ?? 0 }, "client disconnected");
  conn.close({ publishWill: withWill, cause: "client_disconnect" });
}
