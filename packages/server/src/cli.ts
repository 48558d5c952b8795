#!/usr/bin/env node
/**
 * The `skein` command: starts a server from defaults, a JSON config file, `SKEIN_*` environment
 * variables and flags (flags win over the environment, which wins over the file). Unlike
 * `createServer()`, whose default store is memory, the CLI keeps its data: `storage.engine` defaults
 * to `sqlite` here. `skein backup FILE` copies the database of a (running) server's data directory.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type SkeinConfigInput, backupDatabase, createServer, parseConfig } from "./index.js";

const HELP = `Usage: skein [options]
       skein backup FILE [--data-dir DIR]


Starts a Skein server. With no options it listens on 127.0.0.1: MQTT on 1883, HTTP (MQTT over
WebSocket at /mqtt) on 8080, and, when a TLS certificate and key are configured, MQTTS on 8883
and HTTPS/WSS on 8443. Persistent topics and their values are kept in DIR/skein.db (sqlite)
unless --store memory is given.

skein backup FILE writes a consistent copy of the database of the data directory to FILE, while
a server runs on it or not (see docs/durability.md for restoring it).

Options (each also as an environment variable):
  --host ADDR          address to bind (SKEIN_HOST; default 127.0.0.1; 0.0.0.0 for all needs
                       security.anonymous in the config file, docs/security.md)
  --mqtt-port N|off    MQTT over TCP (SKEIN_MQTT_PORT; default 1883)
  --mqtts-port N|off   MQTT over TLS (SKEIN_MQTTS_PORT; default 8883)
  --http-port N|off    HTTP + WebSocket (SKEIN_HTTP_PORT; default 8080)
  --https-port N|off   HTTPS + WSS (SKEIN_HTTPS_PORT; default 8443)
  --tls-cert FILE      PEM certificate (SKEIN_TLS_CERT)
  --tls-key FILE       PEM private key (SKEIN_TLS_KEY); --tls-cert and --tls-key go together
  --tls-ca FILE        PEM CA certificates: TLS clients must present a certificate it signed
                       (SKEIN_TLS_CA)
  --tls-client-cert required|optional
                       with --tls-ca: refuse clients without a certificate, or let them in
                       (SKEIN_TLS_CLIENT_CERT; default required)
  --config FILE        JSON configuration file (SKEIN_CONFIG)
  --data-dir DIR       data directory (SKEIN_DATA_DIR; default ./data)
  --store ENGINE       sqlite|memory (SKEIN_STORE; default sqlite; memory keeps nothing)
  --log-level LEVEL    trace|debug|info|warn|error|fatal|silent (SKEIN_LOG_LEVEL; default info)
  --log-format FORMAT  auto|json|pretty (SKEIN_LOG_FORMAT; default auto: pretty on a terminal)
  --metrics-token T    bearer token /metrics requires (SKEIN_METRICS_TOKEN; prefer the variable)
  --print-config       print the resolved configuration as JSON and exit
  -h, --help           show this help

Every setting is documented in README.md (Configuration).`;

const FLAGS = {
  host: { env: "SKEIN_HOST", path: ["host"], kind: "string" },
  "mqtt-port": { env: "SKEIN_MQTT_PORT", path: ["mqtt", "port"], kind: "port" },
  "mqtts-port": { env: "SKEIN_MQTTS_PORT", path: ["mqtt", "tlsPort"], kind: "port" },
  "http-port": { env: "SKEIN_HTTP_PORT", path: ["http", "port"], kind: "port" },
  "https-port": { env: "SKEIN_HTTPS_PORT", path: ["http", "tlsPort"], kind: "port" },
  "tls-cert": { env: "SKEIN_TLS_CERT", path: ["tls", "cert"], kind: "string" },
  "tls-key": { env: "SKEIN_TLS_KEY", path: ["tls", "key"], kind: "string" },
  "tls-ca": { env: "SKEIN_TLS_CA", path: ["tls", "ca"], kind: "string" },
  "tls-client-cert": { env: "SKEIN_TLS_CLIENT_CERT", path: ["tls", "clientCertificate"], kind: "string" },
  "data-dir": { env: "SKEIN_DATA_DIR", path: ["dataDir"], kind: "string" },
  store: { env: "SKEIN_STORE", path: ["storage", "engine"], kind: "string" },
  "log-level": { env: "SKEIN_LOG_LEVEL", path: ["logLevel"], kind: "string" },
  "log-format": { env: "SKEIN_LOG_FORMAT", path: ["logFormat"], kind: "string" },
  "metrics-token": { env: "SKEIN_METRICS_TOKEN", path: ["http", "metricsToken"], kind: "string" },
} as const;

type FlagName = keyof typeof FLAGS;

function fail(message: string): never {
  process.stderr.write(`skein: ${message}\n`);
  process.exit(2);
}

function convert(kind: "string" | "port", raw: string, name: string): unknown {
  if (kind === "string") return raw;
  if (raw === "off" || raw === "false") return false;
  if (!/^\d+$/.test(raw)) fail(`${name} must be a port number or "off", got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/**
 * Builds the configuration input from file, environment and flags; `backup` is the FILE of
 * `skein backup FILE`.
 */
export function resolveConfigInput(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { config: SkeinConfigInput; print: boolean; backup?: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: "string" as const }])),
        config: { type: "string" },
        "print-config": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    fail(`${(err as Error).message}\nRun skein --help for the options.`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  let backup: string | undefined;
  if (positionals.length > 0) {
    if (positionals[0] !== "backup" || positionals.length !== 2)
      fail(`unexpected argument ${JSON.stringify(positionals.join(" "))}\nRun skein --help for the options.`);
    backup = positionals[1];
  }
  if (values.help) {
    process.stdout.write(HELP + "\n");
    process.exit(0);
  }
  const file = (values.config as string | undefined) ?? env.SKEIN_CONFIG;
  let config: Record<string, unknown> = {};
  if (file) {
    try {
      config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (err) {
      fail(`cannot read config file ${file}: ${(err as Error).message}`);
    }
  }
  for (const [flag, spec] of Object.entries(FLAGS) as [FlagName, (typeof FLAGS)[FlagName]][]) {
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== "")
      setPath(config, spec.path, convert(spec.kind, fromEnv, spec.env));
    const fromFlag = values[flag];
    if (typeof fromFlag === "string") setPath(config, spec.path, convert(spec.kind, fromFlag, `--${flag}`));
  }
  // The CLI keeps what it is told to keep: sqlite unless a file, variable or flag says otherwise.
  const storage = (config.storage ?? {}) as Record<string, unknown>;
  if (storage.engine === undefined) setPath(config, ["storage", "engine"], "sqlite");
  const result = { config: config as SkeinConfigInput, print: values["print-config"] === true };
  return backup === undefined ? result : { ...result, backup };
}

async function main(): Promise<void> {
  const { config, print, backup } = resolveConfigInput(process.argv.slice(2), process.env);
  let resolved;
  try {
    resolved = parseConfig(config);
  } catch (err) {
    fail((err as Error).message);
  }
  if (print) {
    process.stdout.write(JSON.stringify(resolved, null, 2) + "\n");
    return;
  }
  if (backup !== undefined) {
    try {
      await backupDatabase(resolved.dataDir, backup);
    } catch (err) {
      fail(`backup failed: ${(err as Error).message}`);
    }
    process.stdout.write(`skein: database of ${resolved.dataDir} copied to ${backup}\n`);
    return;
  }
  const server = createServer(resolved);
  try {
    await server.listen();
  } catch (err) {
    fail(`cannot start: ${(err as Error).message}`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`skein: ${signal} received, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

await main();
