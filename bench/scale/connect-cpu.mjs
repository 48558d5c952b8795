#!/usr/bin/env node
// @ts-check
/**
 * What a connection costs the server (issue 11, connect rate): the broker process's CPU (user +
 * system, /proc/<pid>/stat) per connection while `--connections` connections open (after `--warmup`
 * to warm up), each a CONNECT (keep alive 60; even ones MQTT 3.1.1, odd ones 5.0), a SUBSCRIBE and
 * its SUBACK; then the CPU per connection of closing them all. With the client processes on the
 * same cores, the connect rate follows the server's CPU per connection, so this is the figure to cut.
 *
 *   npm run bench -- --scale --parts connect-cpu
 *   node bench/scale/connect-cpu.mjs --brokers skein,mosquitto,node-relay --rounds 3
 *   node bench/scale/connect-cpu.mjs --before packages/server/dist-before/cli.js   # build vs build
 *
 * Brokers: `skein`, `mosquitto`, `node-relay` (bench/relay-broker.mjs, a bare MQTT relay in Node:
 * the floor of a Node server's socket and stream machinery) and, with `--before <cli.js>`, `skein-before`
 * (another build of Skein, e.g. a copy of main's packages/server/dist inside the repository). Every
 * broker runs for the whole run in its own process; they take turns within each round (the order
 * rotating from round to round), and the figures are the medians over the rounds. The clients are
 * `--clients` child processes (bench/scale/idle-clients.mjs) connecting from their own loopback source
 * addresses, `--concurrency` connects in flight each.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { BROKERS, startBroker } from "../lib/brokers.mjs";
import { ROOT } from "../lib/child.mjs";
import { ClientPool } from "./pool.mjs";
import { fdCap, printTable, runAsScript } from "./common.mjs";

/**
 * @typedef {object} ConnectCpuSample one broker in one round
 * @property {number} connected
 * @property {number} failed
 * @property {string} [firstError]
 * @property {number} usPerConnect CPU µs per connection opened (CONNECT, SUBSCRIBE, SUBACK)
 * @property {number} usUserPerConnect of which user time
 * @property {number} usSysPerConnect of which system (kernel) time
 * @property {number} usPerClose CPU µs per connection closed (the client goes away)
 * @property {number} connectsPerSec
 */

/**
 * @typedef {object} ConnectCpuRow medians over the rounds
 * @property {string} broker
 * @property {number} rounds
 * @property {number} usPerConnect
 * @property {number} usUserPerConnect
 * @property {number} usSysPerConnect
 * @property {number} usPerClose
 * @property {number} connectsPerSec
 * @property {number[]} usPerConnectRounds every round's figure
 */

/**
 * @typedef {object} ConnectCpuOptions
 * @property {string[]} brokers
 * @property {number} rounds
 * @property {number} connections measured per broker and round
 * @property {number} warmup connections opened first in each round (not measured)
 * @property {number} clients
 * @property {number} concurrency
 * @property {number} startTimeout
 * @property {string[]} skeinArgs
 * @property {string[]} [skeinNodeArgs] node options of the Skein children (e.g. --cpu-prof)
 * @property {string} [before] another Skein build's cli.js, measured as `skein-before`
 */

/** The median of a list of numbers. @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1
    ? /** @type {number} */ (s[m])
    : /** @type {number} */ (s[m - 1] + /** @type {number} */ (s[m])) / 2;
};

const load = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(", ");

/**
 * Waits until the broker's CPU stops moving (the closes are handled), at most `maxMs`.
 * @param {{ cpuSeconds(): number }} broker
 * @param {number} [maxMs]
 */
async function quiet(broker, maxMs = 5000) {
  const until = Date.now() + maxMs;
  let last = broker.cpuSeconds();
  while (Date.now() < until) {
    await sleep(250);
    const now = broker.cpuSeconds();
    if (now - last < 0.005) return;
    last = now;
  }
}

/**
 * Every round: each broker in turn opens `warmup`, then `connections` measured, then closes them all.
 * @param {ConnectCpuOptions} o
 * @returns {Promise<{ rows: ConnectCpuRow[], samples: Record<string, ConnectCpuSample[]>, loadAverage: number[][] }>}
 */
export async function runConnectCpu(o) {
  const names = [...o.brokers];
  if (o.before) names.splice(Math.max(0, names.indexOf("skein")), 0, "skein-before");
  const cap = fdCap();
  const per = o.warmup + o.connections;
  if (per > cap.connections) throw new Error(`${per} connections: above the open-files limit (${cap.limit})`);
  console.log(
    `Server CPU per connection (CONNECT + SUBSCRIBE + SUBACK, then close): ${names.join(", ")}; ` +
      `${o.rounds} rounds of ${o.warmup} + ${o.connections} connections, ${o.clients} client processes x ` +
      `${o.concurrency} in flight; load average ${load()}`,
  );
  /** @type {Record<string, any>} */
  const brokers = {};
  /** @type {Record<string, ConnectCpuSample[]>} */
  const samples = {};
  /** @type {number[][]} */
  const loadAverage = [];
  try {
    for (const name of names) {
      const base = name === "skein-before" ? "skein" : name;
      brokers[name] = await startBroker(base, {
        .../** @type {any} */ ({ nodelay: false, skeinNodeArgs: o.skeinNodeArgs ?? [] }),
        startTimeout: o.startTimeout,
        skeinArgs: base === "skein" ? o.skeinArgs : [],
        skeinCli: name === "skein-before" ? o.before : undefined,
      });
      samples[name] = [];
    }
    await sleep(1000);
    for (let round = 0; round < o.rounds; round++) {
      loadAverage.push(os.loadavg());
      console.log(`  round ${round + 1} (load average ${load()})`);
      // The order rotates: no broker always runs first (or right after another's closes).
      const order = names.map((_, i) => /** @type {string} */ (names[(i + round) % names.length]));
      for (const name of order) {
        const s = await measure(brokers[name], `r${round}${name.replace(/\W/g, "")}`, o);
        samples[name]?.push(s);
        console.log(
          `    ${name.padEnd(12)} ${s.usPerConnect.toFixed(0).padStart(5)} µs/connection ` +
            `(user ${s.usUserPerConnect.toFixed(0)}, sys ${s.usSysPerConnect.toFixed(0)}), close ` +
            `${s.usPerClose.toFixed(0)} µs, ${Math.round(s.connectsPerSec)} connects/s` +
            (s.failed ? `, ${s.failed} failed: ${s.firstError}` : ""),
        );
      }
    }
  } finally {
    for (const b of Object.values(brokers)) await b.stop();
  }
  /** @type {ConnectCpuRow[]} */
  const rows = names.map((broker) => {
    const xs = /** @type {ConnectCpuSample[]} */ (samples[broker]);
    return {
      broker,
      rounds: xs.length,
      usPerConnect: median(xs.map((s) => s.usPerConnect)),
      usUserPerConnect: median(xs.map((s) => s.usUserPerConnect)),
      usSysPerConnect: median(xs.map((s) => s.usSysPerConnect)),
      usPerClose: median(xs.map((s) => s.usPerClose)),
      connectsPerSec: median(xs.map((s) => s.connectsPerSec)),
      usPerConnectRounds: xs.map((s) => Math.round(s.usPerConnect)),
    };
  });
  const result = { rows, samples, loadAverage };
  printConnectCpu(result);
  return result;
}

/**
 * One broker, one round.
 * @param {any} broker a started broker (lib/brokers.mjs)
 * @param {string} prefix client id prefix of this round
 * @param {ConnectCpuOptions} o
 * @returns {Promise<ConnectCpuSample>}
 */
async function measure(broker, prefix, o) {
  const pool = new ClientPool(o.clients);
  const port = /** @type {number} */ (broker.port);
  try {
    if (o.warmup > 0) await pool.open(o.warmup, { port, prefix: `${prefix}w`, concurrency: o.concurrency });
    await quiet(broker, 2000);
    const c0 = broker.cpuSplit();
    const r = await pool.open(o.connections, { port, prefix: `${prefix}m`, concurrency: o.concurrency });
    const c1 = broker.cpuSplit();
    const opened = Math.max(1, r.connected);
    await pool.close();
    await quiet(broker);
    const c2 = broker.cpuSplit();
    const us = (/** @type {number} */ s) => (s * 1e6) / opened;
    return {
      connected: r.connected,
      failed: r.failed,
      firstError: r.firstError,
      usPerConnect: us(c1.user + c1.sys - c0.user - c0.sys),
      usUserPerConnect: us(c1.user - c0.user),
      usSysPerConnect: us(c1.sys - c0.sys),
      usPerClose: ((c2.user + c2.sys - c1.user - c1.sys) * 1e6) / (opened + o.warmup),
      connectsPerSec: r.connected / r.seconds,
    };
  } finally {
    await pool.close();
  }
}

/** @param {{ rows: ConnectCpuRow[] }} r */
export function printConnectCpu(r) {
  printTable(
    ["broker", "CPU µs per connect", "user", "system", "rounds", "µs per close", "connects/s"],
    r.rows.map((row) => [
      row.broker,
      row.usPerConnect.toFixed(0),
      row.usUserPerConnect.toFixed(0),
      row.usSysPerConnect.toFixed(0),
      row.usPerConnectRounds.join(" "),
      row.usPerClose.toFixed(0),
      Math.round(row.connectsPerSec).toLocaleString("en"),
    ]),
  );
  const by = Object.fromEntries(r.rows.map((row) => [row.broker, row]));
  /** @type {[string, string][]} */
  const pairs = [
    ["skein", "mosquitto"],
    ["skein", "node-relay"],
    ["skein-before", "mosquitto"],
    ["skein", "skein-before"],
  ];
  for (const [a, b] of pairs) {
    const x = by[a];
    const y = by[b];
    if (!x || !y) continue;
    console.log(
      `${a}/${b}: CPU per connect ${(x.usPerConnect / y.usPerConnect).toFixed(2)}x, ` +
        `connects/s ${(x.connectsPerSec / y.connectsPerSec).toFixed(2)}x`,
    );
  }
  console.log("");
}

/** Brokers this machine can run (the others are skipped with the reason). @param {string[]} names */
export function availableBrokers(names) {
  return names.filter((b) => {
    const spec = /** @type {Record<string, { unavailable(): string | null }>} */ (BROKERS)[b];
    const why = spec ? spec.unavailable() : "unknown broker";
    if (why) console.log(`skipping ${b}: ${why}`);
    return !why;
  });
}

runAsScript(import.meta.filename, () => {
  const { values } = parseArgs({
    options: {
      brokers: { type: "string", default: "skein,mosquitto,node-relay" },
      rounds: { type: "string", default: "3" },
      connections: { type: "string", default: "4000" },
      warmup: { type: "string", default: "200" },
      clients: { type: "string", default: "2" },
      concurrency: { type: "string", default: "50" },
      before: { type: "string", default: "" },
      "start-timeout": { type: "string", default: "20" },
      "skein-args": { type: "string", default: "" },
      "skein-node-args": { type: "string", default: "" },
    },
    strict: true,
  });
  return runConnectCpu({
    brokers: availableBrokers(values.brokers.split(",")),
    rounds: Number(values.rounds),
    connections: Number(values.connections),
    warmup: Number(values.warmup),
    clients: Number(values.clients),
    concurrency: Number(values.concurrency),
    startTimeout: Number(values["start-timeout"]),
    skeinArgs: values["skein-args"].split(" ").filter(Boolean),
    skeinNodeArgs: values["skein-node-args"].split(" ").filter(Boolean),
    before: values.before ? path.relative(ROOT, path.resolve(values.before)) : undefined,
  });
});
