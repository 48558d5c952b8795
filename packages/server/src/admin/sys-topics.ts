/**
 * `$SYS/` topics for MQTT monitoring (DESIGN §9), with the names Mosquitto made familiar, so that the
 * dashboards its users have read them unchanged: every interval the server publishes retained figures
 * from its metrics under `$SYS/broker/`. They go through `core.publish` like any server update, so who
 * may read them is the security model's to say. Clients cannot publish there (the MQTT door refuses
 * `$SYS` publishes); leading wildcards do not match them [MQTT-4.7.2-1].
 */
import type { Core } from "../core/core.js";
import type { Timer } from "../core/ports.js";
import type { Update } from "../core/types.js";

/** The version string of `$SYS/broker/version`. */
export const SERVER_VERSION = "skein 0.1.0";

/** Topics holding a value: MQTT's retained messages (a count the core keeps as values come and go). */
export function countRetained(core: Core): number {
  return core.facade.retainedCount();
}

const received = (core: Core): number => core.metrics.total("mqtt_messages_received_total");
const sent = (core: Core): number => core.metrics.total("mqtt_messages_sent_total");
const connections = (core: Core): number =>
  core.metrics.get("mqtt_connections") + core.metrics.get("sdk_connections");

/** What is published, topic -> how to read it (`started` is the clock time the figures began). */
const FIGURES: Record<string, (core: Core, started: number) => number | string> = {
  "$SYS/broker/version": () => SERVER_VERSION,
  "$SYS/broker/uptime": (core, started) => `${Math.round((core.clock.now() - started) / 1000)} seconds`,
  "$SYS/broker/clients/connected": connections,
  "$SYS/broker/clients/active": connections,
  "$SYS/broker/clients/total": (core) => core.metrics.get("mqtt_sessions") + core.metrics.get("sdk_sessions"),
  "$SYS/broker/clients/mqtt": (core) => core.metrics.get("mqtt_connections"),
  "$SYS/broker/clients/sdk": (core) => core.metrics.get("sdk_connections"),
  "$SYS/broker/messages/received": received,
  "$SYS/broker/messages/sent": sent,
  "$SYS/broker/publish/messages/received": received,
  "$SYS/broker/publish/messages/sent": sent,
  "$SYS/broker/publish/messages/dropped": (core) => core.metrics.total("mqtt_messages_dropped_total"),
  "$SYS/broker/messages/dropped": (core) => core.metrics.total("mqtt_messages_dropped_total"),
  "$SYS/broker/bytes/received": (core) => core.metrics.get("mqtt_bytes_received_total"),
  "$SYS/broker/bytes/sent": (core) => core.metrics.get("mqtt_bytes_sent_total"),
  "$SYS/broker/subscriptions/count": (core) => core.facade.counts().subscriptions,
  "$SYS/broker/retained messages/count": countRetained,
  "$SYS/broker/topics/count": (core) => core.facade.counts().topics,
};

/** Counters whose per-minute rates `$SYS/broker/load/<name>/{1min,5min,15min}` average. */
const LOADS: Record<string, (core: Core) => number> = {
  "messages/received": received,
  "messages/sent": sent,
  "publish/received": received,
  "publish/sent": sent,
  "bytes/received": (core) => core.metrics.get("mqtt_bytes_received_total"),
  "bytes/sent": (core) => core.metrics.get("mqtt_bytes_sent_total"),
  connections: (core) =>
    core.metrics.get("mqtt_connections_total") + core.metrics.get("sdk_connections_total"),
};

/** Averaging periods of the load figures, in seconds. */
const PERIODS = [
  ["1min", 60],
  ["5min", 300],
  ["15min", 900],
] as const;

/**
 * Moving averages of per-minute rates, as Mosquitto computes them: each interval the rate of the last
 * interval pulls the average towards it by `1 - exp(-interval / period)`.
 */
class LoadAverages {
  private readonly last = new Map<string, number>();
  private readonly averages = new Map<string, number>();

  constructor(core: Core) {
    for (const [name, read] of Object.entries(LOADS)) this.last.set(name, read(core));
  }

  /** Updates every average after `seconds` and returns topic -> figure ("%.2f", as Mosquitto). */
  update(core: Core, seconds: number): [string, string][] {
    const out: [string, string][] = [];
    for (const [name, read] of Object.entries(LOADS)) {
      const now = read(core);
      const rate = seconds > 0 ? ((now - (this.last.get(name) ?? now)) * 60) / seconds : 0;
      this.last.set(name, now);
      for (const [label, period] of PERIODS) {
        const key = `${name}/${label}`;
        const previous = this.averages.get(key) ?? 0;
        const average = seconds > 0 ? rate + Math.exp(-seconds / period) * (previous - rate) : previous;
        this.averages.set(key, average);
        out.push([`$SYS/broker/load/${key}`, average.toFixed(2)]);
      }
    }
    return out;
  }
}

/** Starts publishing `$SYS` topics every `intervalMs`; returns a function that stops it. */
export function startSysTopics(core: Core, intervalMs: number): () => void {
  const started = core.clock.now();
  const loads = new LoadAverages(core);
  let lastRound = started;
  let timer: Timer | undefined;
  const publishOne = (topic: string, text: string): void => {
    const update: Update = {
      topic,
      payload: Buffer.from(text),
      qos: 0,
      retain: true,
      properties: { payloadFormatIndicator: true },
      expiresAt: undefined,
      origin: undefined,
    };
    core.facade.serverPublish(update, {
      createSpec: () => ({ type: "string", properties: { retention: "mqtt" } }),
    });
  };
  const publish = (): void => {
    // Armed first: a round that throws (contained by the core's clock) does not stop the next one.
    timer = core.clock.setTimeout(publish, intervalMs);
    timer.unref?.();
    const now = core.clock.now();
    for (const [topic, read] of Object.entries(FIGURES)) publishOne(topic, String(read(core, started)));
    for (const [topic, text] of loads.update(core, (now - lastRound) / 1000)) publishOne(topic, text);
    lastRound = now;
  };
  publish();
  return () => {
    if (timer) core.clock.clearTimeout(timer);
  };
}
