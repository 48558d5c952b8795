/**
 * Checks the MQTT handlers share: topic names (PUBLISH and Will), topic filters (SUBSCRIBE and
 * UNSUBSCRIBE) and UTF-8 payloads (a PUBLISH or a Will that declares its payload UTF-8).
 */
import { isUtf8 } from "node:buffer";
import { mqttFilterProblem, pathProblem, utf8Length } from "@skein/protocol";
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

/** A subscription filter split into its shared-subscription group (if any) and the filter. */
export interface ParsedFilter {
  filter: string;
  shareGroup: string | undefined;
}

/**
 * Splits `$share/{group}/{filter}` [MQTT-4.8.2-1] [MQTT-4.8.2-2] and validates the filter; a string
 * is the problem.
 */
export function parseFilter(conn: MqttConnection, raw: string): ParsedFilter | string {
  let filter = raw;
  let shareGroup: string | undefined;
  if (raw.startsWith("$share/")) {
    const slash = raw.indexOf("/", 7);
    if (slash < 0) return "shared subscription without a filter";
    shareGroup = raw.slice(7, slash);
    filter = raw.slice(slash + 1);
    if (shareGroup.length === 0 || /[+#]/.test(shareGroup)) return "invalid share name";
    if (filter.length === 0) return "shared subscription without a filter";
  }
  const problem = mqttFilterProblem(filter);
  if (problem) return problem;
  const o = conn.door.options;
  if (utf8Length(filter) > o.maxTopicLength) return "filter longer than the configured maximum";
  if (filter.split("/").length > o.maxTopicDepth) return "filter deeper than the configured maximum";
  return { filter, shareGroup };
}
