/**
 * The whole server configuration as one zod schema, with defaults that start a useful server with no
 * configuration at all. The CLI, environment variables and `createServer()` all go through it.
 */
import { z } from "zod";
import { DEFAULT_MQTT_OPTIONS as D } from "./mqtt/options.js";
import { DEFAULT_SDK_OPTIONS as S } from "./sdk/options.js";

const port = z.union([z.number().int().min(0).max(65535), z.literal(false)]);
const positive = z.number().int().positive();

/** Log levels (pino's). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** The configuration schema. */
export const configSchema = z
  .object({
    /** Address every listener binds to. */
    host: z.string().min(1).default("127.0.0.1"),
    /** Name reported as the `$ServerName` session property. */
    serverName: z.string().min(1).default("skein"),
    /** Where persistent data is kept. */
    dataDir: z.string().min(1).default("./data"),
    logLevel: z.enum(LOG_LEVELS).default("info"),
    /** Storage engine (`memory` keeps nothing across restarts). */
    store: z.enum(["memory"]).default("memory"),
    mqtt: z
      .object({
        /** MQTT over TCP; `false` disables it. */
        port: port.default(1883),
        /** MQTT over TLS (needs `tls`); `false` disables it. */
        tlsPort: port.default(8883),
        maxPacketSize: z.number().int().min(64).max(268_435_455).default(D.maxPacketSize),
        connectTimeoutMs: positive.default(D.connectTimeoutMs),
        maxKeepAliveSec: z.number().int().min(1).max(65_535).default(D.maxKeepAliveSec),
        receiveMaximum: z.number().int().min(1).max(65_535).default(D.receiveMaximum),
        maxInflight: z.number().int().min(1).max(65_535).default(D.maxInflight),
        maxQueuedMessages: z.number().int().min(0).default(D.maxQueuedMessages),
        queueDropPolicy: z.enum(["drop-oldest", "drop-newest"]).default(D.queueDropPolicy),
        maxOutboundBufferBytes: positive.default(D.maxOutboundBufferBytes),
        topicAliasMaximum: z.number().int().min(0).max(65_535).default(D.topicAliasMaximum),
        maxSubscriptionsPerSession: positive.default(D.maxSubscriptionsPerSession),
        maxTopicLength: z.number().int().min(1).max(65_535).default(D.maxTopicLength),
        maxTopicDepth: positive.default(D.maxTopicDepth),
        maxUserProperties: z.number().int().min(0).default(D.maxUserProperties),
        maxSessionExpirySec: z.number().int().min(0).max(0xffffffff).default(D.maxSessionExpirySec),
        persistentSessionExpirySec: z
          .number()
          .int()
          .min(0)
          .max(0xffffffff)
          .default(D.persistentSessionExpirySec),
        allowTopicCreation: z.boolean().default(D.allowTopicCreation),
        createdTopicIdleMs: positive.default(D.createdTopicIdleMs),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        /** HTTP: MQTT over WebSocket at `mqttPath` (and the SDK door later); `false` disables it. */
        port: port.default(8080),
        /** HTTPS: the same over TLS (needs `tls`); `false` disables it. */
        tlsPort: port.default(8443),
        mqttPath: z.string().startsWith("/").default("/mqtt"),
        /** Largest WebSocket message accepted (bytes). */
        maxMessageSize: positive.default(D.maxPacketSize + 16),
      })
      .strict()
      .prefault({}),
    sdk: z
      .object({
        /** WebSocket path of the SDK door on the HTTP(S) port(s). */
        path: z.string().startsWith("/").default("/sdk"),
        reconnectTimeoutMs: z.number().int().min(0).default(S.reconnectTimeoutMs),
        replayBufferFrames: positive.default(S.replayBufferFrames),
        replayBufferBytes: positive.default(S.replayBufferBytes),
        maxOutboundBytes: positive.default(S.maxOutboundBytes),
        heartbeatMs: positive.default(S.heartbeatMs),
        defaultFetchPage: positive.default(S.defaultFetchPage),
        maxSelectionsPerSession: positive.default(S.maxSelectionsPerSession),
      })
      .strict()
      .prefault({}),
    /** PEM files for MQTTS and HTTPS/WSS; both listeners start only when cert and key are set. */
    tls: z
      .object({ cert: z.string().optional(), key: z.string().optional(), ca: z.string().optional() })
      .strict()
      .prefault({}),
    limits: z
      .object({
        maxConnections: positive.default(100_000),
        maxTopics: positive.default(1_000_000),
        removalSweepMs: positive.default(30_000),
        /** Largest request or response of request-response messaging (bytes). */
        maxRequestBytes: positive.default(1024 * 1024),
        /** Default request timeout when a request names none (ms). */
        requestTimeoutMs: positive.default(30_000),
        /** How often `$SYS/broker/...` topics are published (ms); 0 turns them off. */
        sysIntervalMs: z.number().int().min(0).default(10_000),
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
 * @throws Error with one readable line per problem
 */
export function parseConfig(input: unknown): SkeinConfig {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
  throw new Error(`invalid configuration:\n${lines.join("\n")}`);
}
