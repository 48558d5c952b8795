/**
 * The whole server configuration as one zod schema, with defaults that start a useful server with no
 * configuration at all. The CLI, environment variables and `createServer()` all go through it.
 */
import { LOG_LEVELS } from "@skein/protocol";
import { z } from "zod";
import { ConfigError } from "./config-error.js";
import { jwtConfigSchema } from "./security/jwt-config.js";
import { anonymousSettingSchema, roleDefinitionSchema, securityNameSchema } from "@skein/protocol";
import { DEFAULT_MQTT_OPTIONS as D } from "./mqtt/options.js";
import { DEFAULT_SDK_OPTIONS as S } from "./sdk/options.js";

const port = z.union([z.number().int().min(0).max(65535), z.literal(false)]);
const positive = z.number().int().positive();

export { LOG_LEVELS };

/** The configuration schema. */
export const configSchema = z
  .object({
    /** Address every listener binds to. */
    host: z.string().min(1).default("127.0.0.1"),
    /** Name reported as the `$ServerName` session property. */
    serverName: z.string().min(1).default("skein"),
    /** Where persistent data is kept (`skein.db` of the sqlite engine); created if missing. */
    dataDir: z.string().min(1).default("./data"),
    /** Least severe log level written (pino's levels). */
    logLevel: z.enum(LOG_LEVELS).default("info"),
    /** `json`: one JSON object a line (pino); `pretty`: readable lines; `auto`: pretty on a terminal. */
    logFormat: z.enum(["auto", "json", "pretty"]).default("auto"),
    /** What keeps persistent topics and values (docs/durability.md). */
    storage: z
      .object({
        /**
         * `sqlite` keeps them in `dataDir/skein.db`; `memory` keeps nothing across restarts. Default
         * `memory` for `createServer()`; the `skein` CLI (and `npm start`) default to `sqlite`.
         */
        engine: z.enum(["memory", "sqlite"]).default("memory"),
        /** `normal`: commits survive a process crash; `full`: also an OS crash or power loss (fsync each). */
        sync: z.enum(["normal", "full"]).default("normal"),
        /**
         * How long a group commit stays open for more writes (ms); 0 = until the end of the
         * event-loop turn. Acknowledgements of persistent writes wait this long at most, plus the commit.
         */
        maxBatchDelayMs: z.number().int().min(0).max(1000).default(0),
      })
      .strict()
      .prefault({}),
    /** MQTT door: listeners and limits. */
    mqtt: z
      .object({
        /** MQTT over TCP; `false` disables it. */
        port: port.default(1883),
        /** MQTT over TLS (needs `tls`); `false` disables it. */
        tlsPort: port.default(8883),
        /** Largest packet accepted (bytes); announced to MQTT 5 clients. */
        maxPacketSize: z.number().int().min(64).max(268_435_455).default(D.maxPacketSize),
        /** A socket that sends no CONNECT in this time is closed (ms). */
        connectTimeoutMs: positive.default(D.connectTimeoutMs),
        /** Largest CONNECT accepted (bytes); a socket awaiting CONNECT holds at most this much. */
        maxConnectPacketSize: z.number().int().min(64).max(268_435_455).default(D.maxConnectPacketSize),
        /** Bytes all sockets awaiting CONNECT may buffer together; beyond it they are closed. */
        maxPendingConnectBytes: positive.default(D.maxPendingConnectBytes),
        /** Largest keep alive granted (s); MQTT 5 clients are told the Server Keep Alive. */
        maxKeepAliveSec: z.number().int().min(1).max(65_535).default(D.maxKeepAliveSec),
        /** Unacknowledged QoS 2 publishes a client may have towards the server. */
        receiveMaximum: z.number().int().min(1).max(65_535).default(D.receiveMaximum),
        /** Unacknowledged QoS 1/2 deliveries towards one client (capped by its Receive Maximum). */
        maxInflight: z.number().int().min(1).max(65_535).default(D.maxInflight),
        /** QoS 1/2 messages queued per session (offline or beyond the window). */
        maxQueuedMessages: z.number().int().min(0).default(D.maxQueuedMessages),
        /** Bytes (payload and topic) queued per session. */
        maxQueuedBytes: positive.default(D.maxQueuedBytes),
        /** Bytes queued across all sessions. */
        maxQueuedBytesTotal: positive.default(D.maxQueuedBytesTotal),
        /** What a full queue drops: the oldest or the newest message. */
        queueDropPolicy: z.enum(["drop-oldest", "drop-newest"]).default(D.queueDropPolicy),
        /** Socket buffer beyond which QoS 0 deliveries to that client are dropped (bytes). */
        maxOutboundBufferBytes: positive.default(D.maxOutboundBufferBytes),
        /** Unsent bytes to a client past which the server stops reading from it. */
        outboundHighWaterBytes: positive.default(D.outboundHighWaterBytes),
        /**
         * Bytes of packets one connection may have handled in one turn of the event loop; past them
         * its reading pauses until the next turn (a flooding client cannot stall the others).
         */
        readBudgetBytesPerTurn: positive.default(D.readBudgetBytesPerTurn),
        /** A client paused for its unsent bytes that reads nothing this long is disconnected (ms). */
        outboundStallMs: positive.default(D.outboundStallMs),
        /** How long a subscriber that acknowledges nothing may hold its publishers back (ms). */
        maxPublisherHoldMs: positive.default(D.maxPublisherHoldMs),
        /** Topic aliases a client may set towards the server. */
        topicAliasMaximum: z.number().int().min(0).max(65_535).default(D.topicAliasMaximum),
        /** Subscriptions per session; more get reason code 0x97. */
        maxSubscriptionsPerSession: positive.default(D.maxSubscriptionsPerSession),
        /** Longest topic name or filter (UTF-8 bytes). */
        maxTopicLength: z.number().int().min(1).max(65_535).default(D.maxTopicLength),
        /** Most levels in a topic name or filter. */
        maxTopicDepth: positive.default(D.maxTopicDepth),
        /** User properties per packet. */
        maxUserProperties: z.number().int().min(0).default(D.maxUserProperties),
        /** Longest session expiry granted to MQTT 5 clients (s). */
        maxSessionExpirySec: z.number().int().min(0).max(0xffffffff).default(D.maxSessionExpirySec),
        /** How long a 3.1.1 `cleanSession=0` session is kept offline (s). */
        persistentSessionExpirySec: z
          .number()
          .int()
          .min(0)
          .max(0xffffffff)
          .default(D.persistentSessionExpirySec),
        /** Most sessions kept without a connection; past it the one offline longest is ended. */
        maxOfflineSessions: positive.default(D.maxOfflineSessions),
        /** PUBACKs/PUBRECs of one connection waiting for a commit, past which it is not read. */
        maxAcksAwaitingCommit: positive.default(D.maxAcksAwaitingCommit),
        /** May publishes create missing topics. */
        allowTopicCreation: z.boolean().default(D.allowTopicCreation),
        /** A publish-created topic with no value and no subscribers is removed after this idle time (ms). */
        createdTopicIdleMs: positive.default(D.createdTopicIdleMs),
      })
      .strict()
      .prefault({}),
    /** HTTP(S) listeners: MQTT over WebSocket and the SDK door. */
    http: z
      .object({
        /** HTTP: MQTT over WebSocket at `mqttPath` (and the SDK door later); `false` disables it. */
        port: port.default(8080),
        /** HTTPS: the same over TLS (needs `tls`); `false` disables it. */
        tlsPort: port.default(8443),
        /** WebSocket path of the MQTT door. */
        mqttPath: z.string().startsWith("/").default("/mqtt"),
        /**
         * Largest WebSocket message accepted (bytes). The SDK door takes at least
         * `limits.maxRequestBytes` + 64 KiB, so that a legal request always fits.
         */
        maxMessageSize: positive.default(D.maxPacketSize + 16),
        /** An HTTP request whose headers are not complete in this time is answered 408 and closed (ms). */
        headersTimeoutMs: positive.default(10_000),
        /** An HTTP request not received whole in this time is answered 408 and closed (ms). */
        requestTimeoutMs: positive.default(10_000),
        /** When set, `/metrics` answers only requests carrying `Authorization: Bearer <this token>`. */
        metricsToken: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** SDK door. */
    sdk: z
      .object({
        /** WebSocket path of the SDK door on the HTTP(S) port(s). */
        path: z.string().startsWith("/").default("/sdk"),
        /** How long an SDK session outlives a dropped connection, waiting to be resumed (ms). */
        reconnectTimeoutMs: z.number().int().min(0).default(S.reconnectTimeoutMs),
        /** Most server frames kept per SDK session for replay on resumption. */
        replayBufferFrames: positive.default(S.replayBufferFrames),
        /** Most bytes of server frames kept per SDK session for replay. */
        replayBufferBytes: positive.default(S.replayBufferBytes),
        /** Send buffer beyond which an SDK client is a slow consumer and is disconnected (bytes). */
        maxOutboundBytes: positive.default(S.maxOutboundBytes),
        /** Interval of the WebSocket pings that detect dead SDK connections (ms). */
        heartbeatMs: positive.default(S.heartbeatMs),
        /** Most topics one fetch returns when it names no page size. */
        defaultFetchPage: positive.default(S.defaultFetchPage),
        /** Most selections one SDK session may hold. */
        maxSelectionsPerSession: positive.default(S.maxSelectionsPerSession),
        /** Most requests one SDK session may have waiting for their answers. */
        maxPendingRequestsPerSession: positive.default(S.maxPendingRequestsPerSession),
        /** Most session-event watches one SDK session may hold. */
        maxSessionWatchesPerSession: positive.default(S.maxSessionWatchesPerSession),
        /** Most locks one session may hold. */
        maxLocksPerSession: positive.default(1000),
        /** An SDK WebSocket that sends no `hello` in this time is closed with 4008 (ms). */
        handshakeTimeoutMs: positive.default(S.handshakeTimeoutMs),
      })
      .strict()
      .prefault({}),
    /**
     * PEM files for MQTTS and HTTPS/WSS; both listeners start when cert and key are set. Half a
     * configuration (cert without key, key without cert, a CA without both) is refused at start-up.
     */
    tls: z
      .object({
        /** PEM file of the server's certificate (chain). */
        cert: z.string().min(1).optional(),
        /** PEM file of the server's private key. */
        key: z.string().min(1).optional(),
        /** PEM file of CA certificates for client certificates; with it, clients are asked for one. */
        ca: z.string().min(1).optional(),
        /**
         * With `ca`: `required` refuses a TLS client without a certificate the CA signed; `optional`
         * lets one without a certificate in (it then authenticates otherwise) but still refuses a
         * certificate that does not verify.
         */
        clientCertificate: z.enum(["required", "optional"]).default("required"),
        /**
         * What of a verified client certificate becomes the session's principal: the subject's
         * `commonName`, the first subject alternative name of type `dns`, `email` or `uri`, or `none`
         * (the certificate only opens the connection).
         */
        principalFrom: z.enum(["commonName", "dns", "email", "uri", "none"]).default("commonName"),
      })
      .strict()
      .superRefine((t, ctx) => {
        if ((t.cert === undefined) !== (t.key === undefined)) {
          const [set, missing] = t.cert === undefined ? ["key", "cert"] : ["cert", "key"];
          ctx.addIssue({
            code: "custom",
            path: [missing],
            message: `missing while tls.${set} is set (MQTTS and HTTPS need both cert and key, or neither)`,
          });
        } else if (t.ca !== undefined && t.cert === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["cert"],
            message: "missing while tls.ca is set (client certificates need tls.cert and tls.key)",
          });
        }
      })
      .prefault({}),
    /**
     * The security store at first start (docs/security.md); afterwards the persisted store is
     * authoritative and only `anonymous` (when the store has none), `failedLoginDelayMs` and the
     * verified-login settings are read.
     */
    security: z
      .object({
        /** Principals: a plain `password` (hashed with scrypt at first start) or a `passwordHash`, and roles. */
        principals: z
          .array(
            z.strictObject({
              /** The principal's name (MQTT user name, SDK principal). */
              name: securityNameSchema,
              /** Its password, hashed with scrypt at first start. */
              password: z.string().min(1).max(1024).optional(),
              /** Or its hash (`scrypt$...`, as the store keeps it). */
              passwordHash: z.string().startsWith("scrypt$").max(1024).optional(),
              /** Its roles. */
              roles: z.array(securityNameSchema).default([]),
            }),
          )
          .default([]),
        /** Roles: global permissions, path permissions by path prefix, included roles. */
        roles: z.array(roleDefinitionSchema).default([]),
        /**
         * Anonymous access: `false` (credentials required) or `{ roles }`. Unset: allowed with the
         * `anonymous` role on a loopback bind with no principals configured, refused with configured
         * principals, and a start-up error on any other bind.
         */
        anonymous: anonymousSettingSchema.optional(),
        /** Base delay of the per-address slow-down after failed logins (ms, doubling to 64x); 0 = off. */
        failedLoginDelayMs: z.number().int().min(0).max(60_000).default(100),
        /**
         * How long a successful password check is remembered (ms), so that reconnecting clients pay
         * scrypt once per principal rather than per connection (docs/security.md); 0 = off.
         */
        verifiedLoginTtlMs: z.number().int().min(0).max(86_400_000).default(600_000),
        /** Most remembered password checks (one per principal). */
        verifiedLoginMaxEntries: z.number().int().min(0).max(10_000_000).default(100_000),
        /** Built-in JWT verification of passwords (docs/security.md "JWT"); off when absent. */
        jwt: jwtConfigSchema.optional(),
      })
      .strict()
      .prefault({}),
    /** Server-wide limits. */
    limits: z
      .object({
        /** Connections beyond this are refused. */
        maxConnections: positive.default(100_000),
        /** Topics beyond this are refused (MQTT reason code 0x97). */
        maxTopics: positive.default(1_000_000),
        /** How often the time series and kept-session sweeps run (ms); removal policies need no sweep. */
        removalSweepMs: positive.default(30_000),
        /** Largest request or response of request-response messaging (bytes). */
        maxRequestBytes: positive.default(1024 * 1024),
        /** Default request timeout when a request names none (ms). */
        requestTimeoutMs: positive.default(30_000),
        /** How often `$SYS/broker/...` topics are published (ms); 0 turns them off. */
        sysIntervalMs: z.number().int().min(0).default(10_000),
        /** New connections per second from one remote address, both doors (0: no limit). */
        connectionsPerSecondPerAddress: z.number().min(0).default(0),
        /** Connections one address may open at once before its rate applies. */
        connectionBurstPerAddress: positive.default(100),
        /** Publishes (MQTT PUBLISH; SDK set, delta, append, edit) per second per session (0: no limit). */
        publishesPerSecondPerSession: z.number().min(0).default(0),
        /** Publishes one session may send at once before its rate applies. */
        publishBurstPerSession: positive.default(1000),
        /** Topics one session created that may exist at once; more get RATE_LIMITED / 0x97. */
        maxTopicsPerSession: positive.default(100_000),
        /** Topics holding a value (MQTT retained messages), server-wide; more get RATE_LIMITED / 0x97. */
        maxRetainedTopics: positive.default(1_000_000),
        /** Payload bytes of all values held, server-wide (default 1 GiB). */
        maxRetainedBytes: positive.default(1024 * 1024 * 1024),
        /** Values one session wrote last that are still held. */
        maxRetainedTopicsPerSession: positive.default(100_000),
        /** Payload bytes of the values one session wrote last (default 64 MiB). */
        maxRetainedBytesPerSession: positive.default(64 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The configuration as written (every field optional). */
export type SkeinConfigInput = z.input<typeof configSchema>;
/** The configuration with defaults filled in. */
export type SkeinConfig = z.output<typeof configSchema>;

/**
 * Checks a configuration and fills in defaults.
 * @throws ConfigError with one readable line per problem (one line in all when there is one problem)
 */
export function parseConfig(input: unknown): SkeinConfig {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  if (lines.length === 1) throw new ConfigError(`invalid configuration: ${lines[0] as string}`);
  throw new ConfigError(`invalid configuration:\n${lines.map((l) => `  ${l}`).join("\n")}`);
}
