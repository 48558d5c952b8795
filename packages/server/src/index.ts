/**
 * `@skein/server`: the embeddable Skein server.
 *
 * @example
 * ```ts
 * import { createServer } from "@skein/server";
 * const server = createServer({ mqtt: { port: 1883 }, http: { port: 8080 } });
 * const addresses = await server.listen();
 * // ... later
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
import type { TopicSpecification } from "@skein/protocol";
import { pino } from "pino";
import { type SkeinConfig, type SkeinConfigInput, parseConfig } from "./config.js";
import { Core } from "./core/core.js";
import type { Metrics } from "./core/metrics.js";
import type { Clock, Logger } from "./core/ports.js";
import type { Storage } from "./core/storage.js";
import { type ListeningAddresses, Listeners } from "./listeners.js";
import { MqttDoor } from "./mqtt/door.js";
import type { MqttOptions } from "./mqtt/options.js";
import { SdkDoor } from "./sdk/door.js";
import { sdkMaxFrameBytes } from "./sdk/options.js";
import { startSysTopics } from "./admin/sys-topics.js";
import { SqliteStorage } from "./storage/sqlite-store.js";
import { orderOf, rememberOrder } from "./mqtt/user-properties.js";
import { scryptHasher } from "./security/scrypt.js";
import type { Authenticator } from "./core/security/types.js";

export { type SkeinConfig, type SkeinConfigInput, configSchema, parseConfig, LOG_LEVELS } from "./config.js";
export type { ListeningAddresses } from "./listeners.js";
export type { Logger, Clock, Timer } from "./core/ports.js";
export type * from "./core/storage.js";
export { Metrics } from "./core/metrics.js";
export { MemoryStorage } from "./storage/memory-store.js";
export { SqliteStorage, type SqliteStorageOptions, backupDatabase } from "./storage/sqlite-store.js";
export { StorageOpenError, type StorageOpenFailure } from "./storage/storage-open-error.js";
export type {
  Actor,
  Authorizer,
  Authenticator,
  AuthenticationResult,
  Credentials,
} from "./core/security/types.js";
export type { PasswordHasher, SecurityDocument, PrincipalRecord } from "./core/security/model.js";
export { scryptHasher, type ScryptParameters } from "./security/scrypt.js";

/** Things a host program may inject instead of the defaults. */
export interface ServerDependencies {
  /** A logger (pino's shape); default: pino at the configured level. */
  logger?: Logger;
  /**
   * A storage engine, already open, instead of the one `storage.engine` names ({@link SkeinServer.listen}
   * opens sqlite's `skein.db` in `dataDir`; `memory` writes nothing). The server restores its topics
   * from it at `listen()`, writes kept topics through it (acknowledging after each commit) and closes
   * it at `close()`.
   */
  store?: Storage;
  /**
   * Time and timers for every protocol timer of both doors and the core: MQTT keep-alive, connect
   * timeout, will delay, session expiry and message expiry, the SDK reconnection timeout and
   * heartbeat, request timeouts, removal sweeps and the `$SYS` interval. Default: the system clock.
   * Tests pass a clock they move by hand, so what depends on time passing happens when they say,
   * while sockets stay real. Not a configuration key: an embedding program's choice only.
   *
   * @example
   * ```ts
   * const server = createServer({}, { clock: myManualClock });
   * ```
   */
  clock?: Clock;
  /**
   * Authenticators asked, in order, before the built-in principal store, on both doors (MQTT user
   * name and password, SDK hello credentials). The first that does not abstain decides; when all
   * abstain the store decides (docs/security.md).
   *
   * @example
   * ```ts
   * const server = createServer({}, {
   *   authenticators: [{ authenticate: async (c) => (c.principal === "robot" ? { decision: "allow", principal: "robot", roles: ["devices"] } : { decision: "abstain" }) }],
   * });
   * ```
   */
  authenticators?: readonly Authenticator[];
}

/** A topic as seen from outside the core. */
export interface TopicView {
  /** The topic's path. */
  readonly path: string;
  /** Its specification. */
  readonly spec: TopicSpecification;
  /** The stored value's bytes, if it has one. */
  readonly value: Uint8Array | undefined;
}

/** A Skein server. */
export interface SkeinServer {
  /** The configuration in effect (defaults filled in). */
  readonly config: SkeinConfig;
  /** Counters and gauges. */
  readonly metrics: Metrics;
  /** A topic of the tree, as the SDK door will see it (read-only view), or undefined. */
  getTopic(path: string): TopicView | undefined;
  /**
   * Opens the store (restoring its persistent topics) and then every configured listener; resolves
   * with the ports in use.
   * @throws StorageOpenError when the data directory is locked by another server, or its database is
   * corrupt, truncated, foreign or of a newer schema (one line naming the file and the remedy)
   */
  listen(): Promise<ListeningAddresses>;
  /**
   * Shuts down gracefully: wills per spec, v5 clients get DISCONNECT 0x8B (Server shutting down), the
   * listeners close and the store commits what is pending and is closed (releasing its lock).
   */
  close(): Promise<void>;
}

/**
 * Creates a server from a configuration (see {@link configSchema}; every field is optional).
 * @throws Error when the configuration is invalid, listing every problem
 */
export function createServer(config: SkeinConfigInput = {}, deps: ServerDependencies = {}): SkeinServer {
  const cfg = parseConfig(config);
  const logger: Logger = deps.logger ?? pino({ level: cfg.logLevel, base: { server: cfg.serverName } });
  const core = new Core({
    limits: {
      maxTopics: cfg.limits.maxTopics,
      removalSweepMs: cfg.limits.removalSweepMs,
      maxRequestBytes: cfg.limits.maxRequestBytes,
    },
    userPropertyOrder: { orderOf, remember: rememberOrder },
    logger,
    clock: deps.clock,
    security: {
      host: cfg.host,
      hasher: scryptHasher(),
      authenticators: deps.authenticators,
      initial: cfg.security,
      // The admin principal's password at first start (never a configuration key: it is a secret).
      adminPassword: process.env.SKEIN_ADMIN_PASSWORD,
      failedLoginDelayMs: cfg.security.failedLoginDelayMs,
    },
  });
  const { port: _p, tlsPort: _t, ...mqttLimits } = cfg.mqtt;
  const mqttOptions: MqttOptions = mqttLimits;
  const mqtt = new MqttDoor(core, mqttOptions, logger, cfg.serverName, cfg.limits.requestTimeoutMs);
  const { path: _sdkPath, ...sdkLimits } = cfg.sdk;
  const sdk = new SdkDoor(
    core,
    {
      ...sdkLimits,
      serverName: cfg.serverName,
      requestTimeoutMs: cfg.limits.requestTimeoutMs,
      maxFrameBytes: sdkMaxFrameBytes(cfg.http.maxMessageSize, cfg.limits.maxRequestBytes),
      maxRequestBytes: cfg.limits.maxRequestBytes,
    },
    { maxTopicLength: cfg.mqtt.maxTopicLength, maxTopicDepth: cfg.mqtt.maxTopicDepth },
    logger,
  );
  const listeners = new Listeners(cfg, mqtt, sdk, logger, core.metrics);
  let closed = false;
  let store: Storage | undefined;
  let stopSys = (): void => {};
  return {
    config: cfg,
    metrics: core.metrics,
    getTopic(path) {
      const t = core.topics.get(path);
      return t && { path: t.path, spec: t.spec, value: t.value?.payload };
    },
    async listen() {
      store = deps.store ?? openStorage(cfg);
      try {
        if (store !== undefined) {
          const restored = await core.restore(store);
          logger.info({ store: store.engine, topics: restored }, "store loaded");
        }
        // The security store: persisted, or built from `security` and SKEIN_ADMIN_PASSWORD at first
        // start; refuses a non-loopback bind whose anonymous access nobody configured.
        await core.security.start(store);
      } catch (err) {
        await store?.close().catch(() => {});
        store = undefined;
        throw err;
      }
      core.start();
      if (cfg.limits.sysIntervalMs > 0) stopSys = startSysTopics(core, cfg.limits.sysIntervalMs);
      const addresses = await listeners.start();
      logger.info({ ...addresses, host: cfg.host, store: store?.engine ?? "memory" }, "skein listening");
      return addresses;
    },
    async close() {
      if (closed) return;
      closed = true;
      stopSys();
      mqtt.shutdown();
      sdk.shutdown();
      core.stop();
      await listeners.stop();
      core.persistence.detach();
      core.security.detach();
      await store?.close();
      logger.info({}, "skein stopped");
    },
  };
}

/**
 * The storage engine the configuration names, opened (sqlite: locked and checked). None for `memory`:
 * a memory engine would keep copies that no restart can read, so the configured memory store writes
 * nothing and acknowledges at once, exactly as before storage was wired (an embedder wanting the
 * memory engine's behaviour, e.g. in tests, passes `deps.store`).
 */
function openStorage(cfg: SkeinConfig): Storage | undefined {
  if (cfg.storage.engine === "memory") return undefined;
  return SqliteStorage.open({
    dataDir: cfg.dataDir,
    sync: cfg.storage.sync,
    maxBatchDelayMs: cfg.storage.maxBatchDelayMs,
  });
}
