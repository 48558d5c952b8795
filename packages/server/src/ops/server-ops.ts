/**
 * The operations side of one server, wired by `createServer`: gauges computed at scrape time from the
 * doors and the core, the start-up lines naming every URL, and the run-time log level.
 */
import type { LogLevel } from "@skein/protocol";
import { LOG_LEVELS } from "@skein/protocol";
import type { SkeinConfig } from "../config.js";
import type { Core } from "../core/core.js";
import type { Labels } from "../core/metrics.js";
import type { Logger } from "../core/ports.js";
import type { ListeningAddresses } from "../listeners.js";
import type { MqttDoor } from "../mqtt/door.js";
import type { SdkDoor } from "../sdk/door.js";
import { countRetained } from "../admin/sys-topics.js";

const MQTT_VERSIONS: Record<number, string> = { 3: "3.1", 4: "3.1.1", 5: "5.0" };

/**
 * Registers the gauges read when metrics are exported: connections by door and protocol version, QoS
 * 1/2 messages in flight and queued, retained values and subscriptions. Counting them at scrape time
 * keeps every hot path free of gauge updates.
 */
export function registerGauges(core: Core, mqtt: MqttDoor, sdk: SdkDoor): void {
  const m = core.metrics;
  m.gauge("skein_connections", () => {
    const counts = new Map<string, { labels: Labels; n: number }>();
    const add = (door: string, version: string): void => {
      const key = `${door} ${version}`;
      const entry = counts.get(key);
      if (entry) entry.n++;
      else counts.set(key, { labels: { door, version }, n: 1 });
    };
    for (const c of mqtt.connections)
      add("mqtt", c.state === "awaiting-connect" ? "none" : (MQTT_VERSIONS[c.protocolVersion] ?? "other"));
    for (const c of sdk.connections) add("sdk", c.version === 0 ? "none" : String(c.version));
    return [...counts.values()].map(({ labels, n }) => [labels, n] as const);
  });
  m.gauge("skein_mqtt_inflight_messages", () => {
    let n = 0;
    for (const s of mqtt.sessions.values()) n += s.inflightCount;
    return [[{}, n]];
  });
  m.gauge("skein_mqtt_queued_messages", () => {
    let n = 0;
    for (const s of mqtt.sessions.values()) n += s.queuedCount;
    return [[{}, n]];
  });
  m.gauge("skein_mqtt_queued_bytes", () => [[{}, mqtt.queuedBytesTotal.value]]);
  m.gauge("skein_retained_messages", () => [[{}, countRetained(core)]]);
  m.gauge("skein_subscriptions", () => [[{}, core.facade.counts().subscriptions]]);
}

/** The URL host for `host` (an unspecified address is reached on the loopback from the machine itself). */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * One start-up line per door and endpoint with its URL, and one naming the storage file, so that a new
 * user sees where to point a client, a browser and a Prometheus.
 */
export function logEndpoints(
  log: Logger,
  cfg: SkeinConfig,
  addresses: ListeningAddresses,
  storage: { engine: string; file?: string },
): void {
  const host = urlHost(cfg.host);
  const line = (what: string, url: string): void => log.info({ url }, `${what}: ${url}`);
  if (addresses.mqtt !== undefined) line("MQTT over TCP", `mqtt://${host}:${addresses.mqtt}`);
  if (addresses.mqtts !== undefined) line("MQTT over TLS", `mqtts://${host}:${addresses.mqtts}`);
  const web = (scheme: "http" | "https", port: number | undefined): void => {
    if (port === undefined) return;
    const ws = scheme === "http" ? "ws" : "wss";
    const base = `${host}:${port}`;
    line("MQTT over WebSocket", `${ws}://${base}${cfg.http.mqttPath}`);
    line("SDK", `${ws}://${base}${cfg.sdk.path}`);
    line("web console", `${scheme}://${base}/console/`);
    line("metrics", `${scheme}://${base}/metrics`);
    line("liveness", `${scheme}://${base}/healthz`);
    line("readiness", `${scheme}://${base}/readyz`);
  };
  web("http", addresses.http);
  web("https", addresses.https);
  if (storage.file !== undefined)
    log.info({ store: storage.engine, file: storage.file }, `storage: ${storage.file}`);
  else log.info({ store: storage.engine }, "storage: memory (nothing is kept across restarts)");
}

/**
 * The run-time log level of `logger` (pino: setting the root's level reaches every child logger, which
 * inherits it). A logger without a level (an embedder's own) reports `info` and ignores changes.
 */
export function logLevelControl(logger: Logger): (level?: LogLevel) => LogLevel {
  const target = logger as Logger & { level?: unknown };
  return (level) => {
    if (level !== undefined && typeof target.level === "string") {
      logger.warn({ from: target.level, to: level }, "log level changed");
      target.level = level;
    }
    const now = target.level;
    return typeof now === "string" && (LOG_LEVELS as readonly string[]).includes(now)
      ? (now as LogLevel)
      : "info";
  };
}
