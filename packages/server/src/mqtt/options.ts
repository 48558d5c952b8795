import type { PathLimits } from "../core/types.js";

/** What the MQTT door is configured with (a slice of the server configuration). */
export interface MqttOptions extends PathLimits {
  /** Largest packet accepted, in bytes (announced to v5 clients as Maximum Packet Size). */
  maxPacketSize: number;
  /** How long a socket may stay open without sending CONNECT (ms). */
  connectTimeoutMs: number;
  /**
   * Largest CONNECT accepted (bytes, the whole packet). Until its CONNECT is accepted a socket may
   * make the server hold no more than this; a larger one is refused from its header. A CONNECT with a
   * big Will payload is legal MQTT, so a deployment whose clients send such Wills raises it.
   */
  maxConnectPacketSize: number;
  /** Bytes all sockets still awaiting their CONNECT may have buffered together; beyond it they are closed. */
  maxPendingConnectBytes: number;
  /** Largest keep alive granted (s); v5 clients asking for more (or 0) are told the Server Keep Alive. */
  maxKeepAliveSec: number;
  /** How many unacknowledged QoS 2 publishes a client may have towards the server (Receive Maximum). */
  receiveMaximum: number;
  /** Most unacknowledged QoS 1/2 deliveries towards one client (capped by the client's Receive Maximum). */
  maxInflight: number;
  /** Most QoS 1/2 messages queued for one session (offline, or beyond the inflight window). */
  maxQueuedMessages: number;
  /** Most bytes (payload and topic) queued for one session. */
  maxQueuedBytes: number;
  /** Most bytes queued across all sessions of the server. */
  maxQueuedBytesTotal: number;
  /** Which message a full queue drops. */
  queueDropPolicy: "drop-oldest" | "drop-newest";
  /** Outbound socket buffer (bytes) beyond which QoS 0 deliveries to that client are dropped. */
  maxOutboundBufferBytes: number;
  /** Unsent bytes to a client past which the server stops reading from it (until its socket drains). */
  outboundHighWaterBytes: number;
  /**
   * Bytes of packets one connection may have handled in one turn of the event loop; past them its
   * reading pauses until the next turn, so that a flooding client cannot hold the loop (and every
   * other client) for long. Packets keep their order.
   */
  readBudgetBytesPerTurn: number;
  /** A client whose reading is paused for its unsent bytes, and that reads nothing for this long, is disconnected (ms). */
  outboundStallMs: number;
  /** How long a subscriber that acknowledges nothing may hold its publishers back before it is a slow consumer (ms). */
  maxPublisherHoldMs: number;
  /** Topic aliases a client may use towards the server (Topic Alias Maximum). */
  topicAliasMaximum: number;
  /** Most subscriptions one session may hold. */
  maxSubscriptionsPerSession: number;
  /** Most user properties in one packet. */
  maxUserProperties: number;
  /** Longest session expiry granted to v5 clients (s). */
  maxSessionExpirySec: number;
  /**
   * How long a 3.1.1 persistent session (clean session 0) is kept while offline (s); 3.1.1 has no
   * expiry of its own, so without one an abandoned session would be kept for ever.
   */
  persistentSessionExpirySec: number;
  /** Most sessions kept without a connection; past it the one offline longest is ended. */
  maxOfflineSessions: number;
  /**
   * Most acknowledgements (PUBACK, PUBREC) of one connection waiting for a store commit; past it the
   * server stops reading that connection until the commits catch up.
   */
  maxAcksAwaitingCommit: number;
  /** May publishes create topics that do not exist yet. */
  allowTopicCreation: boolean;
  /** Idle time after which a topic created by a publish, with no value and no subscribers, is removed (ms). */
  createdTopicIdleMs: number;
}

/** Defaults: generous enough for real devices, bounded everywhere. */
export const DEFAULT_MQTT_OPTIONS: MqttOptions = {
  maxPacketSize: 1024 * 1024,
  connectTimeoutMs: 10_000,
  maxConnectPacketSize: 16 * 1024,
  maxPendingConnectBytes: 16 * 1024 * 1024,
  maxKeepAliveSec: 65_535,
  receiveMaximum: 100,
  maxInflight: 100,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxQueuedBytesTotal: 512 * 1024 * 1024,
  queueDropPolicy: "drop-oldest",
  maxOutboundBufferBytes: 4 * 1024 * 1024,
  outboundHighWaterBytes: 64 * 1024,
  readBudgetBytesPerTurn: 64 * 1024,
  outboundStallMs: 30_000,
  maxPublisherHoldMs: 1000,
  topicAliasMaximum: 100,
  maxSubscriptionsPerSession: 1000,
  maxTopicLength: 65_535,
  maxTopicDepth: 128,
  maxUserProperties: 64,
  maxSessionExpirySec: 7 * 24 * 3600,
  persistentSessionExpirySec: 7 * 24 * 3600,
  maxOfflineSessions: 100_000,
  maxAcksAwaitingCommit: 1000,
  allowTopicCreation: true,
  createdTopicIdleMs: 5 * 60_000,
};
