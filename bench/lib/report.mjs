// @ts-check
// Console tables, ratios and target checks of the bench: the MQTT scenarios' per-broker tables and
// Skein ratios, the row tables the SDK scenarios print (one row per door or kind), and the targets.
import { BROKERS } from "./brokers.mjs";
import { fmtBytes, fmtFixed, fmtInt, fmtMs, fmtPct, fmtRatio, ratio } from "./stats.mjs";

// Cores used by unrelated processes during the window; "!" flags a skewed row.
const OTHER_CPU_WARN = 0.1;
/** @param {number | null | undefined} n */
export const fmtOther = (n) => (n == null ? "-" : `${n.toFixed(2)}${n > OTHER_CPU_WARN ? "!" : ""}`);

/** @typedef {import("./types.js").Figures} Figures */
/** @typedef {import("./types.js").Column} Column */
/** @typedef {import("./types.js").Target} Target */

/** @type {Record<string, Column[]>} */
const COLUMNS = {
  throughput: [
    ["msgs/s", (r) => fmtInt(r.msgsPerSec)],
    ["published/s", (r) => fmtInt(r.publishedPerSec)],
    ["broker CPU", (r) => fmtFixed(r.brokerCpu)],
    ["gen CPU", (r) => fmtFixed(r.generatorCpu)],
    ["gen ELU", (r) => fmtFixed(r.generatorMaxElu)],
    ["other CPU", (r) => fmtOther(r.otherCpu)],
    ["loss", (r) => fmtPct(r.loss)],
    ["stalls", (r) => String(r.stalls ?? "-")],
  ],
  latency: [
    ["p50 ms", (r) => fmtMs(r.p50Ms)],
    ["p90 ms", (r) => fmtMs(r.p90Ms)],
    ["p99 ms", (r) => fmtMs(r.p99Ms)],
    ["p99.9 ms", (r) => fmtMs(r.p999Ms)],
    ["max ms", (r) => fmtMs(r.maxMs)],
    ["delivered/s", (r) => fmtInt(r.msgsPerSec)],
    ["broker CPU", (r) => fmtFixed(r.brokerCpu)],
    // The server's GC in the window: scavenges/mark-compacts, and the longest pause of any kind.
    ["GC scav/MC", (r) => (r.gc ? `${r.gc.scavenges}/${r.gc.markCompacts}` : "-")],
    ["GC max ms", (r) => (r.gc ? fmtMs(r.gc.maxMs) : "-")],
    // The longest event-loop stall in the window: the broker's (Node brokers), the load generator's
    // (its subscriber and publisher threads): a stall on either side lands in the tail.
    ["srv loop max", (r) => (r.serverLoop ? fmtMs(r.serverLoop.maxMs) : "-")],
    ["gen loop max", (r) => fmtMs(Math.max(r.subLoop?.maxMs ?? 0, r.pubLoop?.maxMs ?? 0) || null)],
    ["other CPU", (r) => fmtOther(r.otherCpu)],
  ],
  idle: [
    ["connections", (r) => fmtInt(r.connections)],
    ["connect s", (r) => fmtFixed(r.connectSeconds)],
    ["conn/s", (r) => fmtInt(r.connectsPerSec)],
    ["RSS before", (r) => fmtBytes(r.rssBefore)],
    ["RSS after", (r) => fmtBytes(r.rssAfter)],
    ["RSS/conn", (r) => fmtBytes(r.bytesPerConn)],
    ["other CPU", (r) => fmtOther(r.otherCpu)],
  ],
};

// Per kind: [metric key, label, higher is better]
/** @type {Record<string, [key: string, label: string, higherIsBetter: boolean][]>} */
const RATIO_METRICS = {
  throughput: [["msgsPerSec", "msgs/s", true]],
  latency: [
    ["p50Ms", "p50", false],
    ["p90Ms", "p90", false],
    ["p99Ms", "p99", false],
    ["p999Ms", "p99.9", false],
  ],
  idle: [
    ["bytesPerConn", "RSS/conn", false],
    ["connectSeconds", "connect time", false],
  ],
};

/**
 * @param {string[]} header
 * @param {string[][]} rows
 */
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  /** @param {string[]} cells */
  const line = (cells) =>
    "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * The table of one MQTT scenario, a row per broker.
 * @param {import("./types.js").MqttScenario} scenario
 * @param {import("./args.mjs").MqttOptions} opts
 * @param {Record<string, Figures>} byBroker
 */
export function printScenario(scenario, opts, byBroker) {
  console.log(`\n== ${scenario.title(opts)}`);
  const columns = COLUMNS[scenario.kind] ?? [];
  /** @type {string[][]} */
  const rows = [];
  for (const [name, r] of Object.entries(byBroker)) {
    const label = brokerLabel(name);
    if (r.error) console.log(`  ${label}: ${r.skipped ? "skipped" : "error"}: ${r.error.split("\n")[0]}`);
    else rows.push([label, ...columns.map(([, f]) => f(r))]);
  }
  if (rows.length > 0) console.log(table(["broker", ...columns.map(([h]) => h)], rows));
  for (const [name, r] of Object.entries(byBroker)) {
    if (r.closed > 0) console.log(`  ! ${brokerLabel(name)} closed ${r.closed} of the bench's connections`);
  }
  if (Object.values(byBroker).some((r) => r.otherCpu > OTHER_CPU_WARN)) {
    console.log("  ! other processes used CPU during that window: rerun on a quiet machine");
  }
}

/** @param {string} name */
const brokerLabel = (name) => /** @type {Record<string, { label: string }>} */ (BROKERS)[name]?.label ?? name;

/**
 * { "Skein/Aedes": {msgsPerSec: 3.1}, "Skein/Mosquitto": {...} } for one scenario.
 * @param {string} kind
 * @param {Record<string, Figures>} byBroker
 */
export function ratios(kind, byBroker) {
  /** @type {Record<string, Record<string, number | null>>} */
  const out = {};
  const skein = byBroker.skein;
  // The bare relay (the floor) only when it ran.
  for (const other of ["aedes", "mosquitto", ...(byBroker["node-relay"] ? ["node-relay"] : [])]) {
    /** @type {Record<string, number | null>} */
    const figures = {};
    for (const [metric] of RATIO_METRICS[kind] ?? [])
      figures[metric] = ratio(skein?.[metric], byBroker[other]?.[metric]);
    out[`Skein/${brokerLabel(other)}`] = figures;
  }
  return out;
}

/**
 * @param {string} kind
 * @param {Record<string, Record<string, number | null>>} r from ratios()
 */
export function printRatios(kind, r) {
  const parts = [];
  for (const [pair, metrics] of Object.entries(r)) {
    if (Object.values(metrics).every((v) => v == null)) continue; // that broker did not run
    for (const [metric, label, higher] of RATIO_METRICS[kind] ?? []) {
      parts.push(`${pair} ${label} ${fmtRatio(metrics[metric])}${higher ? "" : " (lower is better)"}`);
    }
  }
  const any = Object.values(r).some((metrics) => Object.values(metrics).some((v) => v != null));
  if (any) console.log(`  ${parts.join("; ")}`);
}

/** @param {Record<string, Figures>} result the ceiling scenario's four measures */
export function printCeiling(result) {
  console.log("\n== Load-generator ceiling (null sink in place of the broker)");
  /** @type {[string, Figures][]} */
  const measures = [
    ["publish QoS 0", result.publishQos0],
    ["publish QoS 1 (100 in flight)", result.publishQos1],
    ["receive, 1 connection", result.receiveOne],
    ["receive, many connections", result.receiveMany],
  ];
  const rows = measures.map(([label, r]) => [
    label,
    fmtInt(r.msgsPerSec),
    fmtFixed(r.brokerCpu),
    fmtFixed(r.generatorCpu),
    fmtFixed(r.generatorMaxElu),
  ]);
  console.log(table(["measure", "msgs/s", "sink CPU", "gen CPU", "gen ELU"], rows));
}

/**
 * The targets, checked when Skein and the reference broker both have figures.
 * @param {{ scenarios: Record<string, Figures> }} results
 * @returns {Target[]}
 */
export function checkTargets(results) {
  const s = results.scenarios;
  /** @type {(scn: string, broker: string, key: string) => number | null} */
  const get = (scn, broker, key) => s[scn]?.brokers[broker]?.[key] ?? null;
  /** @type {[string, number | null, (v: number) => boolean][]} */
  const checks = [];
  for (const scn of ["fanin", "fanout"]) {
    checks.push([
      `${scn} >= 3x Aedes`,
      ratio(get(scn, "skein", "msgsPerSec"), get(scn, "aedes", "msgsPerSec")),
      (r) => r >= 3,
    ]);
    checks.push([
      `${scn} >= 1.0x Mosquitto`,
      ratio(get(scn, "skein", "msgsPerSec"), get(scn, "mosquitto", "msgsPerSec")),
      (r) => r >= 1,
    ]);
  }
  checks.push([
    "latency p99 <= Mosquitto",
    ratio(get("latency", "skein", "p99Ms"), get("latency", "mosquitto", "p99Ms")),
    (r) => r <= 1,
  ]);
  checks.push([
    "latency p99.9 <= Mosquitto",
    ratio(get("latency", "skein", "p999Ms"), get("latency", "mosquitto", "p999Ms")),
    (r) => r <= 1,
  ]);
  const perConn = get("idle", "skein", "bytesPerConn");
  checks.push(["idle RSS <= 10 KB/conn", perConn, (v) => v <= 10 * 1024]);
  return checks.map(([target, value, ok]) => ({ target, value, pass: value == null ? null : ok(value) }));
}

/**
 * The value of an MQTT target as printed beside it.
 * @param {Target} t
 */
function mqttShown(t) {
  if (t.value == null) return "";
  return t.target.startsWith("idle") ? ` (${fmtBytes(t.value)})` : ` (${fmtRatio(t.value)})`;
}

/**
 * Prints the targets under "== Targets (`what`)". MQTT targets print their value by kind; SDK
 * targets carry it as `shown` and may add a `note` when they fail.
 */
/**
 * @param {string} what
 * @param {Target[]} targets
 */
export function printTargets(what, targets) {
  console.log(`\n== Targets (${what})`);
  for (const t of targets) {
    const value = "shown" in t ? ` (${t.shown})` : mqttShown(t);
    console.log(`  ${t.pass == null ? "n/a " : t.pass ? "PASS" : "FAIL"}  ${t.target}${value}`);
    if (t.note && t.pass === false) console.log(`        ${t.note}`);
  }
}

/**
 * The figure of every round when there were several (the table shows the median round).
 * @param {[string, Figures | undefined][]} entries
 * @param {(n: number | null) => string} [fmt]
 * @param {string} [what]
 */
export function printRounds(entries, fmt = fmtInt, what = "runs") {
  const parts = entries
    .filter(([, r]) => r?.rounds?.length > 1)
    .map(([label, r]) => `${label} ${r?.rounds.map((/** @type {number | null} */ x) => fmt(x)).join(" / ")}`);
  if (parts.length > 0) console.log(`  ${what} (median in the table): ${parts.join("; ")}`);
}

/**
 * A table of one row per [label, result] entry (an error or a skip is a line of its own).
 * @param {Column[]} columns
 * @param {[string, Figures | undefined][]} entries
 */
export function printRows(columns, entries) {
  /** @type {string[][]} */
  const rows = [];
  for (const [label, r] of entries) {
    if (!r) continue;
    if (r.error) console.log(`  ${label}: ${r.skipped ? "skipped" : "error"}: ${r.error.split("\n")[0]}`);
    else rows.push([label, ...columns.map(([, f]) => f(r))]);
  }
  if (rows.length > 0) console.log(table(["", ...columns.map(([h]) => h)], rows));
  const skewed = entries.some(
    ([, r]) => r && !r.error && (r.otherCpu > OTHER_CPU_WARN || r.throughput?.otherCpu > OTHER_CPU_WARN),
  );
  if (skewed) console.log("  ! other processes used CPU during a window: rerun on a quiet machine");
}
