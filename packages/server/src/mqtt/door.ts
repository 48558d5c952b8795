/**
 * The MQTT door: accepts byte streams (TCP, TLS, WebSocket), keeps MQTT sessions by client identifier,
 * and turns publishes into core updates. Everything MQTT-specific lives behind this door.
 */
import type { Duplex } from "node:stream";
import type { Core } from "../core/core.js";
import type { Counter } from "../core/metrics.js";
import type { Logger } from "../core/ports.js";
import type { Update } from "../core/types.js";
import { MqttConnection, type ConnectionInfo } from "./connection.js";
import { PacketParser } from "./parser.js";
import type { MqttOptions } from "./options.js";
import { Reason } from "./reason-codes.js";
import { PendingConnectBytes } from "./pre-connect.js";
import { MqttSession, inferSpec } from "./session.js";
import type { PublishContext, PublishResult } from "../core/core.js";

/** The MQTT door of a server. */
export class MqttDoor {
  /** Sessions by client identifier (connected or not). */
  readonly sessions = new Map<string, MqttSession>();
  /** Live connections. */
  readonly connections = new Set<MqttConnection>();
  readonly log: Logger;
  /** The packet parser all connections share (parsing is synchronous, one whole frame at a time). */
  readonly parser = new PacketParser();
  private readonly publishContext: PublishContext;
  /** Bytes buffered by connections awaiting their CONNECT, bounded by `maxPendingConnectBytes`. */
  readonly pendingConnect: PendingConnectBytes;
  /** Hot-path counters. */
  readonly counters: Readonly<
    Record<"packetsReceived" | "bytesReceived" | "bytesSent" | "messagesReceived" | "messagesSent", Counter>
  >;

  constructor(
    readonly core: Core,
    readonly options: MqttOptions,
    logger: Logger,
    /** The `$ServerName` session property. */
    readonly serverName = "skein",
    /** Timeout of requests MQTT clients send (ms). */
    readonly requestTimeoutMs = 30_000,
  ) {
    this.log = logger.child({ door: "mqtt" });
    this.publishContext = {
      createSpec: options.allowTopicCreation ? (u: Update) => inferSpec(u, options) : undefined,
    };
    const m = core.metrics;
    this.pendingConnect = new PendingConnectBytes(options.maxPendingConnectBytes, m);
    this.counters = {
      packetsReceived: m.counter("mqtt_packets_received_total"),
      bytesReceived: m.counter("mqtt_bytes_received_total"),
      bytesSent: m.counter("mqtt_bytes_sent_total"),
      messagesReceived: m.counter("mqtt_messages_received_total"),
      messagesSent: m.counter("mqtt_messages_sent_total"),
    };
  }

  /** Takes a new byte stream from a listener. */
  accept(socket: Duplex, info: ConnectionInfo): MqttConnection {
    const conn = new MqttConnection(this, socket, info);
    this.connections.add(conn);
    this.core.metrics.set("mqtt_connections", this.connections.size);
    this.core.metrics.inc("mqtt_connections_total", { transport: info.transport });
    return conn;
  }

  /** Publishes an update from an MQTT client (or its will), creating its topic when allowed. */
  publish(update: Update): PublishResult {
    return this.core.publish(update, this.publishContext);
  }

  /** A new session for a client id, registered with the door and the core. */
  newSession(sessionId: string, clientId: string): MqttSession {
    const session = new MqttSession(sessionId, clientId, this.core, this.options, {
      publish: (update) => void this.publish(update),
      ended: (s) => {
        if (this.sessions.get(s.clientId) === s) this.sessions.delete(s.clientId);
        this.core.metrics.set("mqtt_sessions", this.sessions.size);
      },
    });
    this.sessions.set(clientId, session);
    this.core.metrics.set("mqtt_sessions", this.sessions.size);
    return session;
  }

  /** Bookkeeping when a connection ends. */
  connectionClosed(conn: MqttConnection, publishWill: boolean): void {
    this.connections.delete(conn);
    this.core.metrics.set("mqtt_connections", this.connections.size);
    const session = conn.session;
    if (!session) return;
    this.core.sessions.remove(session.sessionId);
    if (session.link === conn) session.detach(publishWill);
  }

  /**
   * Shuts the door: wills of live connections are published (the server ends them, not the clients),
   * then v5 clients get DISCONNECT 0x8B Server shutting down and every connection closes.
   */
  shutdown(): void {
    for (const conn of [...this.connections]) conn.session?.publishWill();
    for (const conn of [...this.connections]) {
      conn.close({
        reason: Reason.SERVER_SHUTTING_DOWN,
        message: "server shutting down",
        publishWill: false,
      });
    }
    for (const session of this.sessions.values()) session.end();
    this.sessions.clear();
  }
}
