/**
 * `server_status` (`session.server.status()`): the server's own figures for monitoring, e.g. the web
 * console's overview. Read-only; needs `view_server`. The figures are the metrics the server already
 * keeps (no new counting on any hot path).
 */
import { type ServerStatus, SkeinError } from "@skein/protocol";
import type { SdkConnection } from "./connection.js";
import type { SdkSession } from "./session.js";

/** The version `server_status` reports (the `$SYS/broker/version` figure says the same). */
const VERSION = "0.1.0";

/**
 * Answers a `server_status` frame.
 * @throws SkeinError `NOT_AUTHORIZED` without `view_server`, `SESSION_CLOSED`
 */
export function serverStatus(conn: SdkConnection, session: SdkSession): ServerStatus {
  const core = conn.door.core;
  if (session.ended) throw new SkeinError("SESSION_CLOSED", "the session is closed");
  core.facade.authorizeServer(session.actor, "view_server");
  const counts = core.facade.counts();
  const m = core.metrics;
  // Counters are summed over their labels (total), so a label added later does not zero a figure.
  const now = core.clock.now();
  return {
    time: now,
    uptimeMs: now - conn.door.startedAt,
    version: VERSION,
    connections: { mqtt: m.get("mqtt_connections"), sdk: m.get("sdk_connections") },
    counters: {
      updates: m.total("skein_updates_total"),
      mqttMessagesReceived: m.total("mqtt_messages_received_total"),
      mqttMessagesSent: m.total("mqtt_messages_sent_total"),
      mqttMessagesDropped: m.total("mqtt_messages_dropped_total"),
      slowConsumers: m.total("mqtt_slow_consumers_total") + m.total("sdk_slow_consumers_total"),
      requests: m.total("messaging_requests_total"),
      loginFailures: m.total("skein_login_failures_total"),
    },
    topics: counts.topics,
    subscriptions: counts.subscriptions,
  };
}
