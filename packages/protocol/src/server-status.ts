/**
 * The answer to a `server_status` frame (`session.server.status()`): the server's own figures at one
 * moment, read-only. Counters only grow (rates are differences between two readings); gauges are
 * current values.
 *
 * @module
 */
import { z } from "zod";

/** Schema of {@link ServerStatus}. */
export const serverStatusSchema = z.object({
  /** The server's clock when it read the figures (epoch ms). */
  time: z.number(),
  /** Milliseconds since the server started. */
  uptimeMs: z.number(),
  /** The server's version. */
  version: z.string(),
  /** Open connections by door (gauges). */
  connections: z.object({
    /** MQTT connections (TCP, TLS, WebSocket). */
    mqtt: z.number(),
    /** SDK connections. */
    sdk: z.number(),
  }),
  /** Counters since start. */
  counters: z.object({
    /** Topic updates through either door. */
    updates: z.number(),
    /** PUBLISH packets received from MQTT clients. */
    mqttMessagesReceived: z.number(),
    /** PUBLISH packets sent to MQTT clients. */
    mqttMessagesSent: z.number(),
    /** Messages dropped from MQTT session queues, all reasons. */
    mqttMessagesDropped: z.number(),
    /** Slow consumers disconnected (both doors). */
    slowConsumers: z.number(),
    /** Request-response requests. */
    requests: z.number(),
    /** Failed logins. */
    loginFailures: z.number(),
  }),
  /** Topics in the tree (gauge). */
  topics: z.number(),
  /** Subscriptions of both doors (gauge). */
  subscriptions: z.number(),
});

/** The server's own figures; see {@link serverStatusSchema}. */
export interface ServerStatus {
  /** The server's clock when it read the figures (epoch ms). */
  time: number;
  /** Milliseconds since the server started. */
  uptimeMs: number;
  /** The server's version. */
  version: string;
  /** Open connections by door (gauges). */
  connections: {
    /** MQTT connections (TCP, TLS, WebSocket). */
    mqtt: number;
    /** SDK connections. */
    sdk: number;
  };
  /** Counters since start. */
  counters: {
    /** Topic updates through either door. */
    updates: number;
    /** PUBLISH packets received from MQTT clients. */
    mqttMessagesReceived: number;
    /** PUBLISH packets sent to MQTT clients. */
    mqttMessagesSent: number;
    /** Messages dropped from MQTT session queues, all reasons. */
    mqttMessagesDropped: number;
    /** Slow consumers disconnected (both doors). */
    slowConsumers: number;
    /** Request-response requests. */
    requests: number;
    /** Failed logins. */
    loginFailures: number;
  };
  /** Topics in the tree (gauge). */
  topics: number;
  /** Subscriptions of both doors (gauge). */
  subscriptions: number;
}
