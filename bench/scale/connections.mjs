#!/usr/bin/env node
// @ts-check
/**
 * Scale of idle connections (issue 11): RSS per idle MQTT connection and connect rate, against
 * connections held, for Skein and Mosquitto in the same run.
 *
 *   npm run bench -- --scale                        # (runs this through bench/run.mjs)
 *   node bench/scale/connections.mjs --steps 5000,10000,19000 --brokers skein,mosquitto
 *
 * Each broker runs in its own child process under the raised open-files limit of the other bench
 * scenarios (bench/lib/child.mjs). The clients are `--clients` child processes (bench/scale/
 * idle-clients.mjs), each connecting from its own loopback source addresses 127.0.0.2, 127.0.0.3, …
 * (`localAddress`), so that no process runs out of descriptors and no source address runs out of
 * ephemeral ports. Every connection sends one CONNECT (keep alive 60 s; even ones MQTT 3.1.1, odd
 * ones 5.0) and one SUBSCRIBE, waits for its SUBACK, then stays idle (a PINGREQ every 30 s).
 *
 * The connections are opened step by step (`--steps`, cumulative totals); after each step and a
 * settle time the broker's VmRSS is read: per connection = (RSS now - RSS before the first
 * connection) / connections open, and at the margin = RSS added by the step / connections it added
 * (fixed costs such as lazily built caches fall in the first step). The connect rate of a step is the connections it opened / the
 * time from its first connect to its last SUBACK. A step above the broker's open-files limit is
 * clamped to what the limit allows (this container caps `ulimit -n` at its hard limit).
 */
import { execFileSync, fork } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { startBroker } from "../lib/brokers.mjs";
import { startSkein } from "../sdk/servers.mjs";
import { killAll } from "../lib/child.mjs";
import { installCleanup, reexecWithMoreFds } from "../lib/process.mjs";

const SETTLE_MS = 3000;
/** Descriptors a broker keeps for itself (listeners, files, pipes). */
const RESERVED_FDS = 200;
/** Connections per loopback source address (an address has ~28,000 ephemeral ports). */
const PER_ADDRESS = 10_000;

/**
 * @param {string[]} argv
 */
export async function runScale(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: "string", default: "5000,10000,19000" },
      brokers: { type: "string", default: "skein,mosquitto" },
      door: { type: "string", default: "mqtt" },
      clients: { type: "string", default: "4" },
      concurrency: { type: "string", default: "50" },
      "start-timeout": { type: "string", default: "20" },
      "skein-args": { type: "string", default: "" },
      scale: { type: "boolean" },
    },
    strict: true,
  });
  const steps = values.steps.split(",").map(Number);
  const clients = Number(values.clients);
  const hard = Number(execFileSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim()) || 1_048_576;
  if (reexecWithMoreFds(Math.min(hard, 65_536))) return;
  installCleanup(killAll, "servers");
  const fdCap = Math.min(hard, 65_536) - RESERVED_FDS;
  /** @type {Record<string, any[]>} */
  const results = {};
  const sdk = values.door === "sdk";
  console.log(
    (sdk
      ? "Idle SDK sessions (the Skein SDK over WebSocket, one selection each); "
      : "Idle MQTT connections (keep alive 60, one subscription each, half 3.1.1 and half 5.0); ") +
      `${clients} client processes; broker open-files limit ${fdCap + RESERVED_FDS}`,
  );
  // The SDK door is Skein's alone.
  for (const name of sdk ? ["skein"] : values.brokers.split(",")) {
    results[name] = await runBroker(
      name,
      steps.map((s) => Math.min(s, fdCap)),
      clients,
      values,
    );
  }
  printTable(results);
  return results;
}

/**
 * @param {string} name
 * @param {number[]} steps
 * @param {number} clients
 * @param {Record<string, any>} values
 */
async function runBroker(name, steps, clients, values) {
  const opts = /** @type {any} */ ({
    startTimeout: Number(values["start-timeout"]),
    skeinArgs: values["skein-args"] ? values["skein-args"].split(" ") : [],
    nodelay: false,
  });
  const sdk = values.door === "sdk";
  const broker = sdk ? await startSkein(opts) : await startBroker(name, opts);
  const children = Array.from({ length: clients }, () =>
    fork(path.join(import.meta.dirname, sdk ? "idle-sdk-clients.mjs" : "idle-clients.mjs"), [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [],
    }),
  );
  /**
   * @param {import("node:child_process").ChildProcess} child
   * @param {object} msg
   * @returns {Promise<any>}
   */
  const ask = (child, msg) =>
    new Promise((resolve) => {
      child.once("message", resolve);
      child.send(msg);
    });
  /** @type {any[]} */
  const rows = [];
  try {
    await sleep(1000);
    const rssBefore = broker.rss();
    let held = 0;
    let lastRss = rssBefore;
    let address = 2;
    for (const total of steps) {
      if (total <= held) continue;
      const more = total - held;
      const per = Math.ceil(more / clients);
      const opened = await Promise.all(
        children.map((child, k) => {
          const count = Math.min(per, Math.max(0, more - k * per));
          const addresses = [];
          for (let a = 0; a < Math.ceil(count / PER_ADDRESS); a++) addresses.push(`127.0.0.${address++}`);
          return count === 0
            ? { connected: 0, failed: 0, t0: Date.now(), t1: Date.now() }
            : ask(child, {
                cmd: "open",
                port: broker.port,
                url: broker.sdkUrl,
                count,
                prefix: `s${total}c${k}`,
                addresses,
                concurrency: Number(values.concurrency),
              });
        }),
      );
      const seconds = (Math.max(...opened.map((r) => r.t1)) - Math.min(...opened.map((r) => r.t0))) / 1000;
      const connected = opened.reduce((a, r) => a + r.connected, 0);
      const failed = opened.reduce((a, r) => a + r.failed, 0);
      await sleep(SETTLE_MS);
      const snaps = await Promise.all(children.map((c) => ask(c, { cmd: "snap" })));
      held = snaps.reduce((a, s) => a + s.open, 0);
      const rss = broker.rss();
      /** @type {number} */
      const added = held - (rows.at(-1)?.connections ?? 0);
      const row = {
        marginalBytesPerConn: added > 0 ? (rss - lastRss) / added : null,
        connections: held,
        failed,
        firstError: opened.find((r) => r.firstError)?.firstError,
        connectsPerSec: connected / seconds,
        rssMB: rss / 1048576,
        bytesPerConn: held > 0 ? (rss - rssBefore) / held : null,
      };
      rows.push(row);
      lastRss = rss;
      console.log(
        `  ${name}: ${held} open (${failed} failed${row.firstError ? `: ${row.firstError}` : ""}), ` +
          `${Math.round(row.connectsPerSec)} connects/s, RSS ${row.rssMB.toFixed(0)} MB, ` +
          `${row.bytesPerConn === null ? "-" : (row.bytesPerConn / 1024).toFixed(2)} KB/connection`,
      );
      if (failed > 0 && held < total) break;
    }
  } finally {
    for (const c of children) c.send({ cmd: "close" });
    await broker.stop();
  }
  return rows;
}

/** @param {Record<string, any[]>} results */
function printTable(results) {
  const names = Object.keys(results);
  const sizes = [...new Set(names.flatMap((n) => results[n].map((r) => r.connections)))];
  console.log("");
  console.log(
    "| broker | connections | RSS per connection | at the margin | connects/s | RSS |\n" +
      "|---|---:|---:|---:|---:|---:|",
  );
  for (const n of names)
    for (const r of results[n])
      console.log(
        `| ${n} | ${r.connections.toLocaleString("en")} | ${(r.bytesPerConn / 1024).toFixed(2)} KB | ` +
          `${(r.marginalBytesPerConn / 1024).toFixed(2)} KB | ` +
          `${Math.round(r.connectsPerSec).toLocaleString("en")} | ${r.rssMB.toFixed(0)} MB |`,
      );
  void sizes;
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1]))
  runScale(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      killAll();
      process.exit(1);
    },
  );
