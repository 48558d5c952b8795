// @ts-check
// The servers of the SDK bench, each in its own child process on 127.0.0.1 (so its CPU time is its
// own, read from /proc/<pid>/stat): Skein with both doors on known ports, the bare WebSocket relay
// (relay-server.mjs, the floor for a Node server), and nats-server when it is on PATH. Optionally
// Skein (or the relay) runs under `node --cpu-prof` (profile written when it exits on SIGTERM).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, freePort, startServer } from "../lib/child.mjs";
import { findBinary } from "../lib/process.mjs";

// BENCH_SKEIN_CLI: another build of Skein (a copy of packages/server/dist inside the repository), as
// in bench/lib/brokers.mjs, for before/after runs.
const SKEIN_CLI = process.env.BENCH_SKEIN_CLI ?? "packages/server/dist/cli.js";
const RELAY_SCRIPT = "bench/sdk/relay-server.mjs";

/** Starts a server and waits for its ports; it gets 10 s to exit on SIGTERM (a profile takes time). */
/**
 * @param {string} name
 * @param {string} cmd
 * @param {string[]} args
 * @param {Record<string, number>} ports
 * @param {{ startTimeout: number }} opts
 * @param {string} [dir]
 */
const launch = (name, cmd, args, ports, opts, dir) =>
  startServer(name, cmd, args, { ports, dir, startTimeout: opts.startTimeout, termWaitS: 10 });

export const skeinUnavailable = () =>
  fs.existsSync(path.join(ROOT, SKEIN_CLI)) ? null : `${SKEIN_CLI} not found (npm run build)`;

/**
 * Starts Skein: MQTT on `ports.mqtt`, HTTP (the SDK door at /sdk) on `ports.http`.
 * @param {{ startTimeout: number, skeinArgs?: string[], profileDir?: string }} opts
 */
export async function startSkein(opts) {
  const ports = { mqtt: await freePort(), http: await freePort() };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-bench-sdk-"));
  const nodeArgs = opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : [];
  const args = [
    ...nodeArgs,
    SKEIN_CLI,
    ...["--host", "127.0.0.1", "--mqtt-port", String(ports.mqtt), "--http-port", String(ports.http)],
    // In memory, as NATS and the relay keep nothing on disk (the CLI's default is sqlite, and SDK topics
    // are persistent by default); --skein-args="--store sqlite" measures it with storage.
    ...["--log-level", "warn", "--store", "memory", "--data-dir", dir],
    ...(opts.skeinArgs ?? []),
  ];
  const server = await launch("skein", process.execPath, args, ports, opts, dir);
  server.sdkUrl = `ws://127.0.0.1:${ports.http}/sdk`;
  return server;
}

/**
 * Starts the bare WebSocket + MessagePack relay (relay-server.mjs): the SDK frames of the raw
 * request-response roles at /sdk on `ports.http`, nothing else.
 * @param {{ startTimeout: number, profileDir?: string }} opts
 */
export async function startRelay(opts) {
  const ports = { http: await freePort() };
  const nodeArgs = opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : [];
  const args = [...nodeArgs, RELAY_SCRIPT, String(ports.http)];
  const server = await launch("relay", process.execPath, args, ports, opts);
  server.sdkUrl = `ws://127.0.0.1:${ports.http}/sdk`;
  return server;
}

export const natsUnavailable = () => (findBinary("nats-server") ? null : "no nats-server binary on PATH");

export function natsVersion() {
  try {
    return execFileSync(findBinary("nats-server") ?? "nats-server", ["--version"], {
      encoding: "utf8",
    }).trim();
  } catch {
    return "unknown";
  }
}

/** Starts nats-server on 127.0.0.1 and a free port (no JetStream, no monitoring). */
/** @param {{ startTimeout: number }} opts */
export async function startNats(opts) {
  const port = await freePort();
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  return launch("nats-server", findBinary("nats-server") ?? "nats-server", args, { client: port }, opts);
}
