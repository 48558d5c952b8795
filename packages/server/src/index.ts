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
import { type SkeinConfig, type SkeinConfigInput, parseConfig } from "./config.js";
import { Core } from "./core/core.js";
import { rateLimit } from "./core/rate-limit.js";
import type { Metrics } from "./core/metrics.js";
import type { Clock, Logger } from "./core/ports.js";
import type { Storage } from "./core/storage.js";
import type { Authorizer } from "./core/security/types.js";
import { type ListeningAddresses, Listeners } from "./listeners.js";
import type { Readiness } from "./ops/readiness.js";
import { MqttDoor } from "./mqtt/door.js";
import type { MqttOptions } from "./mqtt/options.js";
import { SdkDoor } from "./sdk/door.js";
import { sdkMaxFrameBytes } from "./sdk/options.js";
import { startSysTopics } from "./admin/sys-topics.js";
import { SqliteStorage } from "./storage/sqlite-store.js";
import { MemoryStorage } from "./storage/memory-store.js";
import { orderOf, rememberOrder } from "./mqtt/user-properties.js";
import { opsEndpoints } from "./ops/endpoints.js";
import { type LogDestination, createLogger } from "./ops/logger.js";
import { PrometheusExporter } from "./ops/prometheus.js";
import { type Phase, ReadinessProbe } from "./ops/readiness.js";
import { logEndpoints, logLevelControl, registerGauges } from "./ops/server-ops.js";
import { scryptHasher } from "./security/scrypt.js";
import { rememberVerifiedLogins } from "./security/verified-logins.js";
import type { Authenticator } from "./core/security/types.js";
import { systemClock } from "./core/ports.js";
import { CertificateAuthenticator } from "./security/certificate-authenticator.js";
import { JwtAuthenticator } from "./security/jwt-authenticator.js";

export { type SkeinConfig, type SkeinConfigInput, configSchema, parseConfig, LOG_LEVELS } from "./config.js";
export type { ListeningAddresses } from "./listeners.js";
export type { Logger, Clock, Timer } from "./core/ports.js";
export type * from "./core/storage.js";
export {
  Metrics,
  Histogram,
  type Labels,
  type Series,
  type HistogramSeries,
  type GaugeReader,
} from "./core/metrics.js";
export { PrometheusExporter } from "./ops/prometheus.js";
export { METRIC_CATALOG, type MetricDescription, type MetricKind } from "./ops/metric-catalog.js";
export type { Readiness } from "./ops/readiness.js";
export type { LogDestination } from "./ops/logger.js";
export { allowAll } from "./core/security/types.js";
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
export { ConfigError } from "./config-error.js";
export { JwtAuthenticator } from "./security/jwt-authenticator.js";
export { type JwtConfig, jwtConfigSchema, JWT_ALGORITHMS } from "./security/jwt-config.js";

/** Things a host program may inject instead of the defaults. */
export interface ServerDependencies {
  /** A logger (pino's shape); default: pino at the configured level, format and redaction. */
  logger?: Logger;
  /**
   * Where the server's own logger writes its lines instead of stdout (ignored with `logger`); lines are
   * JSON unless `logFormat` is `pretty`.
   */
  logDestination?: LogDestination;
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
   * The permission check every operation of both doors and every delivery goes through (DESIGN §7);
   * default: allow everything. Tests inject one that refuses; the security model supplies the real one.
   */
  authorizer?: Authorizer;
  /**
   * Authenticators asked, in order, before the built-in principal store, on both doors (MQTT user
   * name and password, SDK hello credentials). The first that does not abstain decides; when all
   * abstain the store decides (docs/security.md). They run before the built-in client-certificate
   * (`tls.principalFrom`) and JWT (`security.jwt`) authenticators, and see the verified client
   * certificate in `credentials`.
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
   * @throws ConfigError when a TLS PEM file or the JWT key or JWKS file cannot be read or used
   * @throws StorageOpenError when the data directory is locked by another server, or its database is
   * corrupt, truncated, foreign or of a newer schema (one line naming the file and the remedy)
   */
  listen(): Promise<ListeningAddresses>;
  /**
   * Shuts down gracefully: wills per spec, v5 clients get DISCONNECT 0x8B (Server shutting down), the
   * listeners close and the store commits what is pending and is closed (releasing its lock).
   */
  close(): Promise<void>;
  /** Whether `/readyz` would answer 200 now, and why not (listeners down, store not writable, ...). */
  readiness(): Promise<Readiness>;
  /**
   * Stops accepting on one listener (`mqtt`, `mqtts`, `http`, `https`); its open connections go on and
   * `/readyz` answers 503 from then on. For draining a door before maintenance.
   */
  stopListener(name: keyof ListeningAddresses): Promise<void>;
}

/**
 * Creates a server from a configuration (see {@link configSchema}; every field is optional).
 * @throws ConfigError when the configuration is invalid (half a TLS configuration included), listing
 * every problem
 */
export function createServer(config: SkeinConfigInput = {}, deps: ServerDependencies = {}): SkeinServer {
  const cfg = parseConfig(config);
  const logger: Logger = deps.logger ?? createLogger(cfg, deps.logDestination);
  const clock = deps.clock ?? systemClock;
  // Built-in authenticators after the embedder's (docs/security.md "Principals and authentication").
  const jwt = cfg.security.jwt && new JwtAuthenticator(cfg.security.jwt, clock);
  const authenticators = [...(deps.authenticators ?? [])];
  if (cfg.tls.ca !== undefined && cfg.tls.principalFrom !== "none")
    authenticators.push(new CertificateAuthenticator(cfg.tls.principalFrom));
  if (jwt) authenticators.push(jwt);
  const core = new Core({
    limits: {
      maxTopics: cfg.limits.maxTopics,
      removalSweepMs: cfg.limits.removalSweepMs,
      maxRequestBytes: cfg.limits.maxRequestBytes,
      maxLocksPerSession: cfg.sdk.maxLocksPerSession,
      publishRate: rateLimit(cfg.limits.publishesPerSecondPerSession, cfg.limits.publishBurstPerSession),
      quotas: {
        maxTopicsPerSession: cfg.limits.maxTopicsPerSession,
        maxRetainedTopics: cfg.limits.maxRetainedTopics,
        maxRetainedBytes: cfg.limits.maxRetainedBytes,
        maxRetainedTopicsPerSession: cfg.limits.maxRetainedTopicsPerSession,
        maxRetainedBytesPerSession: cfg.limits.maxRetainedBytesPerSession,
      },
    },
    userPropertyOrder: { orderOf, remember: rememberOrder },
    logger,
    clock,
    authorizer: deps.authorizer,
    security: {
      host: cfg.host,
      hasher: rememberVerifiedLogins(scryptHasher(), {
        ttlMs: cfg.security.verifiedLoginTtlMs,
        maxEntries: cfg.security.verifiedLoginMaxEntries,
        now: () => clock.now(),
      }),
      authenticators,
      initial: cfg.security,
      // The admin principal's password at first start (never a configuration key: it is a secret).
      adminPassword: process.env.SKEIN_ADMIN_PASSWORD,
      failedLoginDelayMs: cfg.security.failedLoginDelayMs,
    },
  });
  // Events of non-persistent time series (and of every series without a durable store) stay in memory.
  core.timeseries.attachVolatile(new MemoryStorage());
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
  registerGauges(core, mqtt, sdk);
  sdk.logLevel = logLevelControl(logger);
  let phase: Phase = "starting";
  let closed = false;
  let store: Storage | undefined;
  const readiness = new ReadinessProbe({
    phase: () => phase,
    listenersDown: () => listeners.down(),
    store: () => store,
    clock: core.clock,
  });
  const ops = opsEndpoints(new PrometheusExporter(core.metrics), readiness, cfg.http.metricsToken);
  const listeners = new Listeners(cfg, mqtt, sdk, logger, core.metrics, ops);
  let stopSys = (): void => {};
  return {
    config: cfg,
    metrics: core.metrics,
    getTopic(path) {
      const t = core.topics.get(path);
      return t && { path: t.path, spec: t.spec, value: t.value?.payload };
    },
    async listen() {
      // A PEM, JWT key or JWKS file that cannot be read stops start-up (ConfigError) before anything opens.
      listeners.loadTls();
      await jwt?.load();
      store =
        deps.store ?? openStorage(cfg, (seconds, writes) => core.metrics.storageCommitted(seconds, writes));
      try {
        const restored = store !== undefined ? await core.restore(store) : 0;
        // The security store: persisted, or built from `security` and SKEIN_ADMIN_PASSWORD at first
        // start; refuses a non-loopback bind whose anonymous access nobody configured. Before the MQTT
        // sessions: a kept session acts as its owner with the roles the store gives it now.
        await core.security.start(store);
        if (store !== undefined) {
          const sessions = await mqtt.restore();
          logger.info({ store: store.engine, topics: restored, sessions }, "store loaded");
        }
      } catch (err) {
        await store?.close().catch(() => {});
        store = undefined;
        throw err;
      }
      core.start();
      if (cfg.limits.sysIntervalMs > 0) stopSys = startSysTopics(core, cfg.limits.sysIntervalMs);
      const addresses = await listeners.start();
      logger.info({ ...addresses, host: cfg.host, store: store?.engine ?? "memory" }, "skein listening");
      logEndpoints(logger, cfg, addresses, { engine: store?.engine ?? "memory", file: storeFile(store) });
      phase = "running";
      return addresses;
    },
    async close() {
      if (closed) return;
      closed = true;
      phase = "stopping";
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
    readiness: () => readiness.check(),
    stopListener: (name) => listeners.stopListener(name),
  };
}

/** The file a store keeps its data in, when it has one. */
function storeFile(store: Storage | undefined): string | undefined {
  const file = (store as { file?: unknown } | undefined)?.file;
  return typeof file === "string" ? file : undefined;
}

/**
 * The storage engine the configuration names, opened (sqlite: locked and checked). None for `memory`:
 * a memory engine would keep copies that no restart can read, so the configured memory store writes
 * nothing and acknowledges at once, exactly as before storage was wired (an embedder wanting the
 * memory engine's behaviour, e.g. in tests, passes `deps.store`).
 */
function openStorage(
  cfg: SkeinConfig,
  onCommit: (seconds: number, writes: number) => void,
): Storage | undefined {
  if (cfg.storage.engine === "memory") return undefined;
  return SqliteStorage.open({
    dataDir: cfg.dataDir,
    sync: cfg.storage.sync,
    maxBatchDelayMs: cfg.storage.maxBatchDelayMs,
    onCommit,
  });
}
