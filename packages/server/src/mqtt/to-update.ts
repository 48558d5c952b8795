/** The conversion of an MQTT message (a PUBLISH or a Will) into the core's {@link Update}. */
import type { IPublishPacket } from "mqtt-packet";
import type { MessageProperties, QoS, Update } from "../core/types.js";
import type { MqttConnection } from "./connection.js";

type PublishProperties = IPublishPacket["properties"];

/** Builds the core update for a publish (or a will); v5 properties are carried, 3.1.1 has none. */
export function toUpdate(
  conn: MqttConnection,
  topic: string,
  payload: Buffer | string,
  qos: QoS,
  retain: boolean,
  props: PublishProperties | { willDelayInterval?: number } | undefined,
): Update {
  let properties: MessageProperties | undefined;
  let expiresAt: number | undefined;
  if (props && conn.protocolVersion === 5) {
    const p = props as NonNullable<PublishProperties>;
    properties = {};
    if (p.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = p.payloadFormatIndicator;
    if (p.contentType !== undefined) properties.contentType = p.contentType;
    if (p.responseTopic !== undefined) properties.responseTopic = p.responseTopic;
    if (p.correlationData !== undefined) properties.correlationData = p.correlationData;
    if (p.userProperties !== undefined) properties.userProperties = p.userProperties;
    if (p.messageExpiryInterval !== undefined)
      expiresAt = conn.door.core.clock.now() + p.messageExpiryInterval * 1000;
    if (Object.keys(properties).length === 0) properties = undefined;
  }
  return {
    topic,
    payload: typeof payload === "string" ? Buffer.from(payload) : payload,
    qos,
    retain,
    properties,
    expiresAt,
    origin: conn.session?.sessionId,
  };
}
