#!/usr/bin/env node
// @ts-check
/**
 * Scale of idle connections (issue 11): RSS per idle MQTT connection and connect rate, against
 * connections held, for Skein and Mosquitto in the same run.
 *
 *   npm run bench -- --scale --parts connections    # (bench/scale/run.mjs runs this with the other curves)
 *   node bench/scale/connections.mjs --steps 5000,10000,19000 --brokers skein,mosquitto
 *   node bench/scale/connections.mjs --brokers skein,node-relay,mosquitto --settle 3
 *
 * `node-relay` (bench/relay-broker.mjs) is the floor: a bare MQTT relay on Node's `net`, measured in
 * the same run. `--settle` is the seconds waited after each step before RSS is read (default 3);
 * `--skein-node-args` are node options of the Skein child; BENCH_SKEIN_CLI runs another build.
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
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { startBroker } from "../lib/brokers.mjs";
import { startSkein } from "../sdk/servers.mjs";
import { ClientPool } from "./pool.mjs";
import { fdCap, printTable, runAsScript } from "./common.mjs";

/**
 * @typedef {object} ConnectionRow
 * @property {number} connections
 * @property {number} failed
 * @property {string} [firstError]
 * @property {number} connectsPerSec
 * @property {number} rssMB
 * @property {number | null} bytesPerConn
 * @property {number | null} marginalBytesPerConn
 */

/**
 * RSS per connection and connect rate at each step, per broker.
 * @param {{ steps: number[], brokers: string[], door: "mqtt" | "sdk", clients: number, concurrency: number,
 *   startTimeout: number, skeinArgs: string[], skeinNodeArgs?: string[], settle?: number }} o
 * @returns {Promise<Record<string, ConnectionRow[]>>}
 */
export async function runConnections(o) {
  const cap = fdCap();
  /** @type {Record<string, ConnectionRow[]>} */
  const results = {};
  const sdk = o.door === "sdk";
  console.log(
    (sdk
      ? "Idle SDK sessions (the Skein SDK over WebSocket, one selection each); "
      : "Idle MQTT connections (keep alive 60, one subscription each, half 3.1.1 and half 5.0); ") +
      `${o.clients} client processes; broker open-files limit ${cap.limit}`,
  );
  // The SDK door is Skein's alone.
  for (const name of sdk ? ["skein"] : o.brokers) {
    results[name] = await runBroker(
      name,
      o.steps.map((s) => Math.min(s, cap.connections)),
      o,
    );
  }
  printConnections(results);
  return results;
}

/**
 * @param {string} name
 * @param {number[]} steps
 * @param {{ door: "mqtt" | "sdk", clients: number, concurrency: number, startTimeout: number, skeinArgs: string[],
 *   skeinNodeArgs?: string[], settle?: number }} o
 */
async function runBroker(name, steps, o) {
  const opts = /** @type {any} */ ({
    startTimeout: o.startTimeout,
    skeinArgs: o.skeinArgs,
    skeinNodeArgs: o.skeinNodeArgs ?? [],
    nodelay: false,
  });
  const sdk = o.door === "sdk";
  const broker = sdk ? await startSkein(opts) : await startBroker(name, opts);
  const pool = new ClientPool(o.clients, o.door);
  /** @type {ConnectionRow[]} */
  const rows = [];
  try {
    await sleep(1000);
    const rssBefore = broker.rss();
    let held = 0;
    let lastRss = rssBefore;
    for (const total of steps) {
      if (total <= held) continue;
      const r = await pool.open(total - held, {
        port: /** @type {number} */ (broker.port ?? broker.ports.mqtt),
        url: broker.sdkUrl,
        prefix: `s${total}`,
        concurrency: o.concurrency,
      });
      await sleep((o.settle ?? 3) * 1000);
      held = await pool.count();
      const rss = broker.rss();
      const added = held - (rows.at(-1)?.connections ?? 0);
      /** @type {ConnectionRow} */
      const row = {
        connections: held,
        failed: r.failed,
        firstError: r.firstError,
        connectsPerSec: r.connected / r.seconds,
        rssMB: rss / 1048576,
        bytesPerConn: held > 0 ? (rss - rssBefore) / held : null,
        marginalBytesPerConn: added > 0 ? (rss - lastRss) / added : null,
      };
      rows.push(row);
      lastRss = rss;
      console.log(
        `  ${name}: ${held} open (${r.failed} failed${row.firstError ? `: ${row.firstError}` : ""}), ` +
          `${Math.round(row.connectsPerSec)} connects/s, RSS ${row.rssMB.toFixed(0)} MB, ` +
          `${row.bytesPerConn === null ? "-" : (row.bytesPerConn / 1024).toFixed(2)} KB/connection`,
      );
      if (r.failed > 0 && held < total) break;
    }
  } finally {
    await pool.close();
    await broker.stop();
  }
  return rows;
}

/** @param {number | null} b */
const kb = (b) => (b === null ? "-" : `${(b / 1024).toFixed(2)} KB`);

/** @param {Record<string, ConnectionRow[]>} results */
export function printConnections(results) {
  printTable(
    ["broker", "connections", "RSS per connection", "at the margin", "connects/s", "RSS"],
    Object.entries(results).flatMap(([n, rows]) =>
      rows.map((r) => [
        n,
        r.connections.toLocaleString("en"),
        kb(r.bytesPerConn),
        kb(r.marginalBytesPerConn),
        Math.round(r.connectsPerSec).toLocaleString("en"),
        `${r.rssMB.toFixed(0)} MB`,
      ]),
    ),
  );
}

runAsScript(import.meta.filename, () => {
  const { values } = parseArgs({
    options: {
      steps: { type: "string", default: "5000,10000,19000" },
      brokers: { type: "string", default: "skein,mosquitto" },
      door: { type: "string", default: "mqtt" },
      clients: { type: "string", default: "4" },
      concurrency: { type: "string", default: "50" },
      "start-timeout": { type: "string", default: "20" },
      "skein-args": { type: "string", default: "" },
      "skein-node-args": { type: "string", default: "" },
      settle: { type: "string", default: "3" },
    },
    strict: true,
  });
  return runConnections({
    steps: values.steps.split(",").map(Number),
    brokers: values.brokers.split(","),
    door: values.door === "sdk" ? "sdk" : "mqtt",
    clients: Number(values.clients),
    concurrency: Number(values.concurrency),
    startTimeout: Number(values["start-timeout"]),
    skeinArgs: values["skein-args"] ? values["skein-args"].split(" ") : [],
    skeinNodeArgs: values["skein-node-args"].split(" ").filter(Boolean),
    settle: Number(values.settle),
  });
});
