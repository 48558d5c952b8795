/**
 * The help text of every metric family the server registers, and their labels: the exposition's
 * `# HELP` lines and the metrics reference of docs/operations.md (`npm run docs:metrics`) come from
 * this one table. A series whose family is not listed here is still exported (with a generic help), so
 * a counter added elsewhere is never lost, and a test fails until it is described here.
 */

/** What kind of family a metric is. */
export type MetricKind = "counter" | "gauge" | "histogram";

/** One described metric family. */
export interface MetricDescription {
  /** Counter, gauge or histogram. */
  readonly kind: MetricKind;
  /** What it measures (one sentence). */
  readonly help: string;
  /** Its label names, each with its bounded set of values. */
  readonly labels?: Readonly<Record<string, string>>;
}

const c = (help: string, labels?: Record<string, string>): MetricDescription => ({
  kind: "counter",
  help,
  labels,
});
const g = (help: string, labels?: Record<string, string>): MetricDescription => ({
  kind: "gauge",
  help,
  labels,
});
const h = (help: string, labels?: Record<string, string>): MetricDescription => ({
  kind: "histogram",
  help,
  labels,
});

/**
 * Every family by its exported name. Names in the core without the `skein_` prefix get it on export
 * (`mqtt_connections` is exported as `skein_mqtt_connections`).
 */
export const METRIC_CATALOG: Readonly<Record<string, MetricDescription>> = {
  // Connections
  skein_connections: g("Open client connections.", {
    door: "mqtt | sdk",
    version:
      "MQTT: 3.1, 3.1.1, 5.0, or none before CONNECT; SDK: the negotiated protocol version, or none before hello",
  }),
  skein_connects_total: c("Connection attempts by outcome.", {
    door: "mqtt | sdk",
    outcome: "accepted, or the refusal (e.g. not_authorized, bad_user_name_or_password)",
  }),
  skein_disconnects_total: c("Connections ended, by reason.", {
    door: "mqtt | sdk",
    reason:
      "client_disconnect, connection_lost, keep_alive_timeout, server_shutting_down, session_taken_over, protocol errors, ...",
  }),
  skein_connections_refused_total: c("Sockets refused by the listeners before any protocol.", {
    reason: "max_connections | connection_rate",
  }),
  skein_mqtt_connections: g("Open MQTT connections (any state)."),
  skein_mqtt_connections_total: c("MQTT sockets accepted.", { transport: "tcp | tls | ws | wss" }),
  skein_mqtt_connections_refused_total: c("MQTT sockets refused before CONNECT.", {
    reason: "pending_connect_bytes, connect_too_large",
  }),
  skein_mqtt_sessions: g("MQTT sessions held (connected or not)."),
  skein_mqtt_session_takeovers_total: c(
    "MQTT sessions taken over by a new connection with the same client id.",
  ),
  skein_mqtt_pending_connect_bytes: g("Bytes buffered by sockets awaiting their CONNECT."),
  skein_sdk_connections: g("Open SDK connections."),
  skein_sdk_connections_total: c("SDK WebSockets accepted."),
  skein_sdk_connections_refused_total: c("SDK connections closed for bad input.", {
    code: "the WebSocket close code",
  }),
  skein_sdk_sessions: g("SDK sessions held (connected or awaiting resumption)."),
  skein_sdk_resumptions_total: c("SDK session resumptions.", { outcome: "resumed | gap | unknown" }),
  skein_sdk_handshake_timeouts_total: c("SDK connections closed for sending no hello in time."),
  skein_authentication_failures_total: c("Failed authentications.", {
    door: "mqtt | sdk",
    reason: "a bounded word, e.g. bad_password",
  }),
  // Messages and bytes
  skein_mqtt_packets_received_total: c("MQTT packets received."),
  skein_mqtt_messages_received_total: c("MQTT PUBLISH packets received.", { qos: "0 | 1 | 2" }),
  skein_mqtt_messages_sent_total: c("MQTT PUBLISH packets sent.", { qos: "0 | 1 | 2" }),
  skein_mqtt_bytes_received_total: c("Bytes read from MQTT connections."),
  skein_mqtt_bytes_sent_total: c("Bytes written to MQTT connections."),
  skein_sdk_frames_received_total: c("SDK frames received (the SDK door has no QoS)."),
  skein_sdk_frames_sent_total: c("SDK frames sent."),
  skein_sdk_bytes_received_total: c("Bytes of WebSocket messages read from SDK connections."),
  skein_sdk_bytes_sent_total: c("Bytes of WebSocket messages written to SDK connections."),
  skein_updates_total: c("Topic updates applied (both doors)."),
  skein_updates_refused_total: c("Topic updates refused.", { reason: "an ErrorCode name" }),
  skein_mqtt_publishes_refused_total: c("MQTT publishes refused.", { reason: "the MQTT reason code, hex" }),
  skein_mqtt_qos2_duplicates_total: c(
    "QoS 2 PUBLISHes received again before PUBREL (acknowledged, not delivered again).",
    {
      dup: "0 | 1",
    },
  ),
  skein_mqtt_pubrels_unknown_total: c(
    "PUBRELs for a packet id not awaiting release (mostly sent again after reconnection), answered PUBCOMP 0x00.",
  ),
  skein_mqtt_wills_published_total: c("Will messages published."),
  // Flow and queues
  skein_mqtt_inflight_messages: g("QoS 1/2 deliveries sent and not yet acknowledged, all sessions."),
  skein_mqtt_queued_messages: g("QoS 1/2 messages queued for delivery, all sessions."),
  skein_mqtt_queued_bytes: g("Bytes (payload and topic) queued for delivery, all sessions."),
  skein_mqtt_messages_dropped_total: c("MQTT messages dropped.", {
    reason:
      "queue_full, queue_bytes, queue_bytes_total, expired, client_max_packet_size, outbound_buffer, ...",
  }),
  skein_mqtt_slow_consumers_total: c(
    "MQTT subscribers that stopped acknowledging and no longer hold publishers.",
  ),
  skein_mqtt_outbound_stalled_total: c("MQTT connections closed for not reading their unsent bytes."),
  skein_sdk_slow_consumers_total: c("SDK connections closed as slow consumers."),
  skein_sdk_replay_frames: g("SDK frames held for replay on resumption, all sessions."),
  skein_sdk_replay_bytes: g("Bytes of SDK frames held for replay, all sessions."),
  // Topics and subscriptions
  skein_topics: g("Topics in the tree."),
  skein_retained_messages: g("Topics holding a value (retained messages, in MQTT's words)."),
  skein_retained_bytes: g("Payload bytes of the values topics hold (limits.maxRetainedBytes caps them)."),
  skein_retained_expired_total: c("Values (retained messages) cleared because their Message Expiry passed."),
  skein_quota_refusals_total: c("Updates and topic creations refused by a quota (RATE_LIMITED, MQTT 0x97).", {
    quota:
      "retained_topics | retained_bytes | retained_topics_per_session | retained_bytes_per_session | topics_per_session",
  }),
  skein_subscriptions: g("Subscriptions in the index (MQTT filters and SDK selections)."),
  skein_mqtt_subscriptions_total: c("MQTT subscriptions granted."),
  skein_mqtt_subscriptions_refused_total: c("MQTT subscriptions refused.", {
    reason: "filter_invalid | quota",
  }),
  // Request-response
  skein_messaging_requests_total: c("Requests sent to a handler."),
  skein_messaging_requests_completed_total: c("Requests ended, by outcome.", {
    outcome: "ok, or an ErrorCode name",
  }),
  skein_messaging_request_failures_total: c("Requests that ended in an error.", {
    code: "an ErrorCode name",
  }),
  skein_messaging_request_duration_seconds: h("Time from a request reaching its handler to its outcome."),
  // Time series
  skein_timeseries_appends_total: c("Events appended to time series."),
  skein_timeseries_query_duration_seconds: h("Time series range query latency."),
  // Storage
  skein_storage_commit_duration_seconds: h("Store commit (one transaction) latency."),
  skein_storage_commit_batch_size: h("Writes per store commit."),
  skein_storage_commit_failures_total: c("Store commits that failed."),
  // Errors
  skein_errors_total: c("Errors answered to clients, by ErrorCode.", { code: "an ErrorCode name" }),
  skein_operations_refused_total: c("Operations the authorizer refused (both doors).", {
    permission: "a permission name",
  }),
  skein_timeseries_events_total: c("Time series events appended (edits included), both doors."),
  skein_mqtt_timeseries_queries_total: c("Time series range queries received on $timeseries/query/."),
  skein_mqtt_timeseries_queries_refused_total: c("MQTT time series queries answered with an error.", {
    code: "an ErrorCode name",
  }),
  skein_mqtt_dynsec_payloads_total: c("Payloads published to $CONTROL/dynamic-security/v1 (mosquitto_ctrl)."),
  skein_mqtt_dynsec_commands_total: c("Dynamic-security commands run, by outcome.", {
    outcome: "ok | refused | unsupported",
  }),
  skein_deliveries_refused_total: c("Deliveries left out because the subscriber may not read the topic."),
  skein_mqtt_wills_refused_total: c("MQTT wills refused (not authorized) when they were due."),
  skein_mqtt_protocol_errors_total: c("MQTT connections closed for a protocol error.", {
    reason: "a bounded reason word",
  }),
  skein_mqtt_internal_errors_total: c("MQTT packet handlers that failed unexpectedly.", {
    cmd: "the packet type",
  }),
  skein_contained_errors_total: c("Exceptions caught at a boundary instead of escaping (issue 14 §4).", {
    where: "timer | delivery | session_event | will | socket_close | frame",
  }),
  skein_sdk_invalid_frames_total: c("SDK frames that were not valid."),
  skein_sdk_oversize_messages_total: c("SDK messages above sdk.maxFrameBytes."),
  skein_sdk_request_errors_total: c("SDK requests answered with an error.", { code: "an ErrorCode name" }),
  skein_tls_handshake_failures_total: c(
    "TLS handshakes that failed (e.g. no client certificate, or one tls.ca did not sign, when required).",
  ),
  skein_tls_client_certificates_refused_total: c(
    "TLS clients refused for a certificate tls.ca does not verify (tls.clientCertificate optional).",
  ),
  skein_mqtt_credentials_expired_total: c(
    "MQTT connections closed because their credentials (a JWT) expired.",
  ),
  skein_sdk_credentials_expired_total: c("SDK sessions ended because their credentials (a JWT) expired."),
  skein_http_client_errors_total: c("HTTP requests refused by Node.", { reason: "timeout | bad_request" }),
  // Process (besides prom-client's default collectors)
  skein_eventloop_utilization_ratio: g("Event-loop utilisation since the previous scrape (0..1)."),
};

/** The exported name of a core series name. */
export function exportedName(name: string): string {
  return name.startsWith("skein_") ? name : `skein_${name}`;
}
