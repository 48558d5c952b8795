// @ts-check
/**
 * `npm run bench -- --scale` (issue 11, "How cost grows"): every scale curve in one run, as tables, as
 * JSON (--out) and as SVG charts (--charts, docs/images by default; docs/performance.md embeds them).
 *
 *   connections    RSS per idle MQTT connection and connect rate vs connections (connections.mjs)
 *   delivery       broker CPU µs per delivery vs subscribers of one topic (delivery.mjs)
 *   subscriptions  broker CPU µs per publish vs distinct subscriptions, with wildcards (subscriptions.mjs)
 *   topics         fetch and selection latency vs topics, topic creation with SDK sessions (topics.mjs)
 *   lag            Skein's event-loop lag with 1,000,000 topics and the fd limit's connections (lag.mjs)
 *   connect-cpu    broker CPU µs per connection opened and closed, Skein, Mosquitto and a bare Node
 *                  relay (the floor) taking turns; --before <cli.js> adds another Skein build (connect-cpu.mjs)
 *
 * Skein and Mosquitto take turns in the same run wherever Mosquitto applies (connections, delivery,
 * subscriptions). Connection counts are clamped to what the open-files limit of this machine allows.
 * `node bench/run.mjs --scale --help` lists the options.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { BROKERS } from "../lib/brokers.mjs";
import { ROOT, killAll } from "../lib/child.mjs";
import { installCleanup, reexecWithMoreFds } from "../lib/process.mjs";
import { lineChart } from "./charts.mjs";
import { fdCap, printTable } from "./common.mjs";
import { availableBrokers, printConnectCpu, runConnectCpu } from "./connect-cpu.mjs";
import { printConnections, runConnections } from "./connections.mjs";
import { printDelivery, runDelivery } from "./delivery.mjs";
import { printLag, runLag } from "./lag.mjs";
import { printSubscriptions, runSubscriptions } from "./subscriptions.mjs";
import { runTopics } from "./topics.mjs";

const PARTS = ["connections", "delivery", "subscriptions", "topics", "lag", "connect-cpu"];

const OPTIONS = /** @type {const} */ ({
  parts: { type: "string", default: PARTS.join(","), help: "which curves, in this order" },
  brokers: {
    type: "string",
    default: "skein,mosquitto",
    help: "brokers of delivery and subscriptions",
  },
  "connections-brokers": {
    type: "string",
    default: "skein,node-relay,mosquitto",
    help: "connections: brokers (node-relay, a bare Node relay, is Node's floor)",
  },
  steps: { type: "string", default: "5000,10000,19000", help: "connections: cumulative connection counts" },
  subscribers: { type: "string", default: "1000,10000,19000", help: "delivery: subscribers of the topic" },
  subscriptions: {
    type: "string",
    default: "1000,100000,1000000",
    help: "subscriptions: subscriptions held",
  },
  topics: { type: "string", default: "10000,100000,1000000", help: "topics: tree sizes" },
  "lag-topics": { type: "string", default: "1000000", help: "lag: retained topics held" },
  "lag-connections": {
    type: "string",
    default: "19000",
    help: "lag: idle connections held (clamped to the fd limit)",
  },
  "lag-seconds": { type: "string", default: "15", help: "lag: the steady window" },
  "lag-keepalive": { type: "string", default: "10", help: "lag: keep alive of its connections (s)" },
  "lag-profile": {
    type: "string",
    default: "",
    help: "lag: a directory for the server's --cpu-prof profile",
  },
  "connect-cpu-brokers": {
    type: "string",
    default: "skein,mosquitto,node-relay",
    help: "connect-cpu: brokers taking turns",
  },
  "connect-cpu-connections": {
    type: "string",
    default: "4000",
    help: "connect-cpu: connections measured per broker and round",
  },
  "connect-cpu-warmup": { type: "string", default: "200", help: "connect-cpu: connections opened first" },
  "connect-cpu-rounds": { type: "string", default: "3", help: "connect-cpu: rounds (medians)" },
  before: {
    type: "string",
    default: "",
    help: "connect-cpu: another Skein build's cli.js (e.g. packages/server/dist-before/cli.js)",
  },
  seconds: {
    type: "string",
    default: "3",
    help: "measurement window of each delivery and subscriptions step",
  },
  "deliveries-per-sec": {
    type: "string",
    default: "50000",
    help: "delivery: deliveries per second at every step",
  },
  "publishes-per-sec": { type: "string", default: "5000", help: "subscriptions: publishes per second" },
  "sub-connections": { type: "string", default: "10", help: "subscriptions: connections holding them" },
  sessions: { type: "string", default: "10000", help: "topics: SDK sessions of the creation test" },
  clients: { type: "string", default: "4", help: "client processes opening connections" },
  concurrency: { type: "string", default: "50", help: "connects in flight per client process" },
  charts: { type: "string", default: "docs/images", help: 'SVG charts directory ("off": none)' },
  "charts-from": {
    type: "string",
    default: "",
    help: "only draw the charts of an earlier run's JSON (--out)",
  },
  out: { type: "string", default: "bench/results/scale.json", help: "JSON results" },
  "start-timeout": { type: "string", default: "20", help: "seconds for a broker to listen" },
  "skein-args": { type: "string", default: "", help: "extra Skein command-line arguments" },
  help: { type: "boolean", default: false, help: "this list" },
});

/** @param {string} s */
const nums = (s) => s.split(",").map(Number);

/** @param {string[]} argv the command line without `--scale` */
export async function runScale(argv) {
  const { values: v } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.entries(OPTIONS).map(([k, o]) => [k, { type: o.type, default: o.default }]),
    ),
    strict: true,
  });
  const values = /** @type {Record<string, string> & { help: boolean }} */ (/** @type {unknown} */ (v));
  if (values.help) {
    console.log("npm run bench -- --scale [options]   (node bench/run.mjs --scale ...)\n");
    for (const [k, o] of Object.entries(OPTIONS))
      console.log(`  --${k.padEnd(20)} ${o.help}${o.type === "string" ? ` (${o.default})` : ""}`);
    return;
  }
  if (values["charts-from"]) {
    writeCharts(
      JSON.parse(fs.readFileSync(path.resolve(values["charts-from"]), "utf8")),
      path.resolve(ROOT, values.charts),
    );
    return;
  }
  const parts = values.parts.split(",");
  for (const p of parts)
    if (!PARTS.includes(p)) throw new Error(`--parts: unknown ${p} (one of ${PARTS.join(", ")})`);
  const cap = fdCap();
  if (reexecWithMoreFds(cap.limit)) return;
  installCleanup(killAll, "servers");
  const brokers = values.brokers.split(",").filter((b) => {
    const spec = /** @type {Record<string, { unavailable(): string | null }>} */ (BROKERS)[b];
    const why = spec ? spec.unavailable() : "unknown broker";
    if (why) console.log(`skipping ${b}: ${why}`);
    return !why;
  });
  const common = {
    clients: Number(values.clients),
    concurrency: Number(values.concurrency),
    startTimeout: Number(values["start-timeout"]),
    skeinArgs: values["skein-args"] ? values["skein-args"].split(" ") : [],
  };
  const clamp = (/** @type {number[]} */ xs) => xs.map((x) => Math.min(x, cap.connections));
  /** @type {Record<string, any>} */
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadAverage: os.loadavg(),
      fdLimit: cap.limit,
      brokers: Object.fromEntries(brokers.map((b) => [b, /** @type {any} */ (BROKERS)[b].version()])),
    },
  };
  const load = () =>
    os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(", ");
  console.log(
    `Skein scale bench (issue 11): ${parts.join(", ")}; ${os.cpus().length} CPUs, load average ${load()}; ` +
      `open-files limit ${cap.limit}, so at most ${cap.connections.toLocaleString("en")} connections per broker ` +
      `(50,000 and 100,000 cannot be measured here)`,
  );
  const t0 = Date.now();
  for (const part of parts) {
    console.log(`\n== ${part} (load average ${load()})`);
    if (part === "connections")
      results.connections = await runConnections({
        ...common,
        steps: clamp(nums(values.steps)),
        brokers: availableBrokers(values["connections-brokers"].split(",")),
        door: "mqtt",
      });
    else if (part === "delivery")
      results.delivery = await runDelivery({
        ...common,
        steps: clamp(nums(values.subscribers)),
        brokers,
        seconds: Number(values.seconds),
        deliveriesPerSec: Number(values["deliveries-per-sec"]),
      });
    else if (part === "subscriptions")
      results.subscriptions = await runSubscriptions({
        ...common,
        steps: nums(values.subscriptions),
        brokers,
        connections: Number(values["sub-connections"]),
        seconds: Number(values.seconds),
        publishesPerSec: Number(values["publishes-per-sec"]),
      });
    else if (part === "topics")
      results.topics = await runTopics({
        sizes: nums(values.topics),
        sessions: Number(values.sessions),
        selections: 10,
        seconds: 2,
      });
    else if (part === "lag")
      results.lag = await runLag({
        ...common,
        topics: Number(values["lag-topics"]),
        connections: Math.min(Number(values["lag-connections"]), cap.connections),
        seconds: Number(values["lag-seconds"]),
        keepalive: Number(values["lag-keepalive"]),
        profileDir: values["lag-profile"] || undefined,
      });
    else if (part === "connect-cpu")
      results.connectCpu = await runConnectCpu({
        ...common,
        clients: Math.min(common.clients, 2),
        brokers: availableBrokers(values["connect-cpu-brokers"].split(",")),
        rounds: Number(values["connect-cpu-rounds"]),
        connections: Number(values["connect-cpu-connections"]),
        warmup: Number(values["connect-cpu-warmup"]),
        before: values.before || undefined,
      });
  }
  results.meta.seconds = (Date.now() - t0) / 1000;
  results.meta.loadAverageEnd = os.loadavg();

  console.log(`\n== Summary (${Math.round(results.meta.seconds)} s, load average ${load()})`);
  if (results.connections) {
    console.log("\nRSS per idle MQTT connection and connect rate vs connections:");
    printConnections(results.connections);
  }
  if (results.delivery) {
    console.log("Broker CPU per delivery vs subscribers of one topic:");
    printDelivery(results.delivery);
  }
  if (results.subscriptions) {
    console.log("Broker CPU per publish vs distinct subscriptions (with wildcards):");
    printSubscriptions(results.subscriptions);
  }
  if (results.topics) {
    console.log("Fetch and selection latency vs topics (median ms):");
    printTopics(results.topics);
  }
  if (results.lag) {
    console.log("Skein's event-loop lag (target: p99 < 20 ms while it holds the topics and connections):");
    printLag(results.lag.windows);
  }
  if (results.connectCpu) {
    console.log("Broker CPU per connection (CONNECT + SUBSCRIBE + SUBACK; medians of the rounds):");
    printConnectCpu(results.connectCpu);
  }
  fs.mkdirSync(path.dirname(path.resolve(ROOT, values.out)), { recursive: true });
  fs.writeFileSync(path.resolve(ROOT, values.out), JSON.stringify(results, null, 2));
  console.log(`results: ${values.out}`);
  if (values.charts !== "off") writeCharts(results, path.resolve(ROOT, values.charts));
  return results;
}

/** @param {import("./topics.mjs").TopicsResult} t */
function printTopics(t) {
  printTable(
    [
      "topics",
      "fetch 100 `*.*` middle",
      "fetch 100 `*.*` last",
      "fetch 100 `>gK//` middle",
      "select 1,000 `>gK//`",
      "select 1,000 `*gK/d.*`",
      "fetch 1,000 `>gK//`",
    ],
    t.rows.map((r) => [
      r.n.toLocaleString("en"),
      ...[r.fetchMiddle, r.fetchEnd, r.fetchBranch, r.selectBranch, r.selectRegex, r.fetchSelection].map(
        (x) => (x < 0.1 ? x.toFixed(3) : x.toFixed(2)),
      ),
    ]),
  );
  if (t.memory)
    console.log(
      `memory per topic: heap ${Math.round(t.memory.heap)} B, RSS ${Math.round(t.memory.rss)} B; topic creation with ` +
        `${t.creation.sessions.toLocaleString("en")} SDK sessions x ${t.creation.selections} selections: ` +
        `${(t.creation.apart / t.creation.none).toFixed(2)}x the rate with none\n`,
    );
}

const LABEL = /** @type {Record<string, string>} */ ({
  skein: "Skein",
  mosquitto: "Mosquitto",
  aedes: "Aedes",
});

/**
 * The SVG charts of the parts that ran (a part not run leaves its chart as it was).
 * @param {Record<string, any>} r
 * @param {string} dir
 */
function writeCharts(r, dir) {
  fs.mkdirSync(dir, { recursive: true });
  /** @type {Record<string, string>} */
  const charts = {};
  /**
   * @param {Record<string, any[]>} byBroker
   * @param {string} x
   * @param {(row: any) => number | null} y
   */
  const perBroker = (byBroker, x, y) =>
    Object.entries(byBroker).map(([b, rows], i) => ({
      name: LABEL[b] ?? b,
      color: i,
      points: /** @type {[number, number | null][]} */ (rows.map((row) => [row[x], y(row)])),
    }));
  if (r.connections) {
    charts["scale-connections-rss"] = lineChart({
      title: "RSS per idle MQTT connection",
      xLabel: "connections held",
      yLabel: "KB per connection",
      series: [
        ...perBroker(r.connections, "connections", (row) => row.bytesPerConn / 1024),
        ...perBroker(r.connections, "connections", (row) => row.marginalBytesPerConn / 1024).map((s) => ({
          ...s,
          name: `${s.name}, margin`,
          dashed: true,
        })),
      ],
    });
    charts["scale-connections-rate"] = lineChart({
      title: "Connect rate (CONNECT + SUBSCRIBE to SUBACK)",
      xLabel: "connections held",
      yLabel: "connects per second",
      series: perBroker(r.connections, "connections", (row) => row.connectsPerSec),
    });
  }
  if (r.delivery)
    charts["scale-delivery"] = lineChart({
      title: "Broker CPU per delivery, one topic",
      xLabel: "subscribers of the topic",
      yLabel: "CPU µs per delivery",
      series: perBroker(r.delivery, "subscribers", (row) => row.usPerDelivery),
    });
  if (r.subscriptions)
    charts["scale-subscriptions"] = lineChart({
      title: "Broker CPU per publish (one match each)",
      xLabel: "distinct subscriptions held (half with wildcards)",
      yLabel: "CPU µs per publish",
      series: perBroker(r.subscriptions, "subscriptions", (row) => row.usPerPublish),
    });
  if (r.topics) {
    /** @type {[string, string][]} */
    const cols = [
      ["fetchMiddle", "fetch 100 *.* middle"],
      ["fetchEnd", "fetch 100 *.* last"],
      ["fetchBranch", "fetch 100 >gK// mid"],
      ["selectBranch", "select 1,000 >gK//"],
      ["selectRegex", "select 1,000 *gK/d.*"],
      ["fetchSelection", "fetch 1,000 >gK//"],
    ];
    charts["scale-topics"] = lineChart({
      title: "Fetch and selection latency (Skein core)",
      xLabel: "topics in the tree",
      yLabel: "median ms",
      series: cols.map(([k, name]) => ({
        name,
        points: r.topics.rows.map(
          (/** @type {any} */ row) => /** @type {[number, number]} */ ([row.n, row[k]]),
        ),
      })),
    });
  }
  for (const [name, svg] of Object.entries(charts)) {
    fs.writeFileSync(path.join(dir, `${name}.svg`), svg);
    console.log(`chart: ${path.relative(ROOT, path.join(dir, `${name}.svg`))}`);
  }
}
