// @ts-check
// Broker targets. Every broker runs in its own child process (so its CPU and RSS are its own),
// on 127.0.0.1 and a free port, with the open-files limit raised for the idle-connection test
// (child.mjs).
import { execFileSync, fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pinned } from "./anchors.mjs";
import { ChildServer, ROOT, freePort, startServer } from "./child.mjs";
import { GC_FILE_ENV, GC_PROBE, gcPauses, loopDelay } from "./gc.mjs";
import { findBinary } from "./process.mjs";

/** @param {string} file */
function readJson(file) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
}

// BENCH_SKEIN_CLI: another build of Skein (a copy of packages/server/dist inside the repository, so
// that its imports resolve), to compare two builds in alternating runs.
const SKEIN_CLI = process.env.BENCH_SKEIN_CLI ?? "packages/server/dist/cli.js";

/**
 * @param {number} port
 * @param {string} dir
 * @param {import("./args.mjs").MqttOptions} opts
 */
function mosquittoConfig(port, dir, opts) {
  const file = path.join(dir, "mosquitto.conf");
  const lines = [
    "per_listener_settings false",
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    "persistence false",
    "max_connections -1",
    "max_queued_messages 1000000", // default 1000 (and even 100000 in 2.0.11) drops messages here
    "max_inflight_messages 1000", // default 20 QoS 1 in flight per client would cap QoS 1 delivery
    ...(opts.nodelay ? ["set_tcp_nodelay true"] : []), // default: Nagle on, like Node's net.Server
    "sys_interval 0",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
  ];
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/**
 * Skein gets the same queue and in-flight bounds as Mosquitto below (max_queued_messages,
 * max_inflight_messages), so neither drops QoS 1 messages the other keeps.
 */
/** @param {string} dir */
function skeinConfig(dir) {
  const file = path.join(dir, "skein.json");
  fs.writeFileSync(file, JSON.stringify({ mqtt: { maxQueuedMessages: 1_000_000, maxInflight: 1000 } }));
  return file;
}

/**
 * @typedef {object} BrokerSpec
 * @property {string} label
 * @property {() => string | null} unavailable why it cannot run here, or null
 * @property {() => string} version
 * @property {boolean} [gcProbe] whether its child runs bench/lib/gc-probe.mjs
 * @property {string[]} [only] the only scenarios it can run (the others skip it)
 * @property {(port: number, dir: string, opts: import("./args.mjs").MqttOptions) => [string, string[]]} command
 */

/** @satisfies {Record<string, BrokerSpec>} */
export const BROKERS = {
  skein: {
    label: "Skein",
    unavailable: () =>
      fs.existsSync(path.join(ROOT, SKEIN_CLI)) ? null : `${SKEIN_CLI} not found (npm run build)`,
    version: () => readJson("packages/server/package.json").version,
    // The GC probe records the server's collector pauses (gc.mjs) for the latency report.
    gcProbe: true,
    command: (port, dir, opts) => [
      process.execPath,
      [
        ...(opts.skeinNodeArgs ?? []),
        ...["--import", GC_PROBE],
        opts.skeinCli ?? SKEIN_CLI,
        ...["--host", "127.0.0.1", "--mqtt-port", String(port), "--http-port", "0", "--log-level", "warn"],
        // A scenario that measures Skein's defaults (skeinDefaults) runs without the bench's bounds.
        // Mosquitto runs with `persistence false`, so Skein keeps nothing on disk either (the CLI's
        // default is sqlite); --skein-args="--store sqlite" measures it with storage.
        ...["--store", "memory", "--data-dir", dir],
        ...(opts.skeinDefaults ? [] : ["--config", skeinConfig(dir)]),
        ...opts.skeinArgs,
      ],
    ],
  },
  aedes: {
    label: "Aedes",
    unavailable: () => null,
    version: () => readJson("node_modules/aedes/package.json").version,
    command: (port, dir, opts) => [
      process.execPath,
      ["bench/aedes-server.mjs", String(port), ...(opts.nodelay ? ["--nodelay"] : [])],
    ],
  },
  // The floor: a bare QoS 1 relay in Node (bench/relay-broker.mjs), exact topics only, so the latency
  // scenario only. Not in the default --brokers.
  "node-relay": {
    label: "Node relay",
    unavailable: () => null,
    version: () => process.version,
    gcProbe: true,
    only: ["latency"],
    command: (port) => [process.execPath, ["--import", GC_PROBE, "bench/relay-broker.mjs", String(port)]],
  },
  mosquitto: {
    label: "Mosquitto",
    unavailable: () => (findBinary("mosquitto") ? null : "no mosquitto binary on PATH"),
    version() {
      let out;
      try {
        out = execFileSync(findBinary("mosquitto") ?? "mosquitto", ["-h"], {
          encoding: "utf8",
          stdio: "pipe",
        });
      } catch (err) {
        out = String(/** @type {{ stdout?: string }} */ (err).stdout ?? ""); // mosquitto -h exits non-zero
      }
      return /version (\S+)/.exec(out)?.[1] ?? "unknown";
    },
    command: (port, dir, opts) => [
      findBinary("mosquitto") ?? "mosquitto",
      ["-c", mosquittoConfig(port, dir, opts)],
    ],
  },
};

/**
 * Starts broker `name` on a free port and waits until the port accepts connections.
 * @param {string} name a key of BROKERS
 * @param {import("./args.mjs").MqttOptions} opts
 */
export async function startBroker(name, opts) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `skein-bench-${name}-`));
  const broker = /** @type {Record<string, BrokerSpec>} */ (BROKERS)[name];
  // --pin: the broker on CPU 0 (the bench itself runs on CPU 1, run.mjs).
  const [cmd, args] = opts.pin ? pinned(...broker.command(port, dir, opts)) : broker.command(port, dir, opts);
  const gcFile = broker.gcProbe ? path.join(dir, "gc.log") : null;
  const server = await startServer(name, cmd, args, {
    ports: { mqtt: port },
    dir,
    startTimeout: opts.startTimeout,
    env: gcFile ? { [GC_FILE_ENV]: gcFile } : undefined,
  });
  server.port = port;
  // The server's GC pauses between two epoch-ms instants, or null (no probe in this broker).
  server.gcPauses = (fromMs, toMs) => (gcFile ? gcPauses(gcFile, fromMs, toMs) : null);
  // Its event loop's delay in that window, or null (not a Node broker).
  server.loopDelay = (fromMs, toMs) => (gcFile ? loopDelay(gcFile, fromMs, toMs) : null);
  return server;
}

/** The null sink (null-broker.mjs) used to measure the load generator's own ceiling. */
/** @param {{ payload: number }} config */
export async function startNullSink(config) {
  const port = await freePort();
  const child = fork(path.join(ROOT, "bench/null-broker.mjs"), [String(port), JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const sink = new ChildServer("null-sink", child, { mqtt: port });
  sink.port = port;
  /** @param {string} msg */
  const ask = (msg) =>
    new Promise((resolve) => {
      child.once("message", resolve);
      child.send(msg);
    });
  sink.counts = () => ask("counts");
  sink.startStreaming = () => ask("start");
  return sink.waitReady(10);
}
