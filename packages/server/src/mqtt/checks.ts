/**
 * Checks the MQTT handlers share: topic names (PUBLISH and Will) and UTF-8 payloads (a PUBLISH or a
 * Will that declares its payload UTF-8).
 */
import { isUtf8 } from "node:buffer";
import { pathProblem } from "@skein/protocol";
import type { MqttConnection } from "./connection.js";

/**
 * Why a topic name is invalid, or undefined. Wildcards and NUL [MQTT-3.3.2-2] [MQTT-1.5.4-2]; the
 * configured length and depth bounds.
 */
export function topicNameProblem(conn: MqttConnection, topic: string): string | undefined {
  const o = conn.door.options;
  return pathProblem(topic, o.maxTopicLength, o.maxTopicDepth);
}

/** True when a payload is well-formed UTF-8 (a string always is). */
export function isUtf8Payload(payload: Buffer | string): boolean {
  return typeof payload === "string" || isUtf8(payload);
}
