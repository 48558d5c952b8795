/**
 * `$SYS/` topics for MQTT monitoring (DESIGN §9), in the form Mosquitto made familiar: every interval
 * the server publishes retained figures from its metrics under `$SYS/broker/`. Clients cannot publish
 * there (the MQTT door refuses `$SYS` publishes); leading wildcards do not match them [MQTT-4.7.2-1].
 */
import type { Core } from "../core/core.js";
import type { Timer } from "../core/ports.js";
import type { Update } from "../core/types.js";

/** What is published, topic -> how to read it. */
const FIGURES: Record<string, (core: Core) => number | string> = {
  "$SYS/broker/version": () => "skein 0.1.0",
  "$SYS/broker/uptime": (core) =>
    `${Math.round((core.clock.now() - (started.get(core) ?? core.clock.now())) / 1000)} seconds`,
  "$SYS/broker/clients/connected": (core) =>
    core.metrics.get("mqtt_connections") + core.metrics.get("sdk_connections"),
  "$SYS/broker/clients/mqtt": (core) => core.metrics.get("mqtt_connections"),
  "$SYS/broker/clients/sdk": (core) => core.metrics.get("sdk_connections"),
  "$SYS/broker/messages/received": (core) => core.metrics.get("mqtt_messages_received_total"),
  "$SYS/broker/messages/sent": (core) => core.metrics.get("mqtt_messages_sent_total"),
  "$SYS/broker/messages/dropped": (core) => core.metrics.total("mqtt_messages_dropped_total"),
  "$SYS/broker/bytes/received": (core) => core.metrics.get("mqtt_bytes_received_total"),
  "$SYS/broker/bytes/sent": (core) => core.metrics.get("mqtt_bytes_sent_total"),
  "$SYS/broker/subscriptions/count": (core) => core.facade.counts().subscriptions,
  "$SYS/broker/topics/count": (core) => core.facade.counts().topics,
};

const started = new WeakMap<Core, number>();

/** Starts publishing `$SYS` topics every `intervalMs`; returns a function that stops it. */
export function startSysTopics(core: Core, intervalMs: number): () => void {
  started.set(core, core.clock.now());
  let timer: Timer | undefined;
  const publish = (): void => {
    for (const [topic, read] of Object.entries(FIGURES)) {
      const update: Update = {
        topic,
        payload: Buffer.from(String(read(core))),
        qos: 0,
        retain: true,
        properties: { payloadFormatIndicator: true },
        expiresAt: undefined,
        origin: undefined,
      };
      core.facade.serverPublish(update, {
        createSpec: () => ({ type: "string", properties: { retention: "mqtt" } }),
      });
    }
    timer = core.clock.setTimeout(publish, intervalMs);
    timer.unref?.();
  };
  publish();
  return () => {
    if (timer) core.clock.clearTimeout(timer);
  };
}
