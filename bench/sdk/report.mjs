// Console tables, ratios and target checks of the SDK bench.
import { fmtFixed, fmtInt, fmtMs, fmtPct, fmtRatio, ratio } from "../lib/stats.mjs";
import { rrLabel } from "./scenarios.mjs";

const OTHER_CPU_WARN = 0.1;
const fmtOther = (n) => (n == null ? "-" : `${n.toFixed(2)}${n > OTHER_CPU_WARN ? "!" : ""}`);

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/** The figure of every round when there were several (the table shows the median round). */
function printRounds(entries, fmt = fmtInt, what = "runs") {
  const parts = entries
    .filter(([, r]) => r?.rounds?.length > 1)
    .map(([label, r]) => `${label} ${r.rounds.map((x) => fmt(x)).join(" / ")}`);
  if (parts.length > 0) console.log(`  ${what} (median in the table): ${parts.join("; ")}`);
}

function printRows(columns, entries) {
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

export function printFanout(opts, r) {
  console.log(
    `\n== Fan-out: 1 publisher -> ${opts.subscribers} subscribers of one topic, ${opts.payload}-byte values (deliveries/s)`,
  );
  console.log(
    `  SDK door: raw WebSocket sessions (hello + select) in ${opts.sdkWorkers} worker threads count \`v\` frames by` +
      ` MessagePack structure; the publisher pipelines \`set\`s, ${opts.batch} per message, <= ${opts.inflight} without result.`,
  );
  console.log(
    `  MQTT door: the MQTT bench's generator (raw TCP, PUBLISH counted by fixed header), QoS 0, MQTT ${opts.mqtt === 5 ? "5" : "3.1.1"}.` +
      ` Both doors: at most ${opts.window} updates not yet delivered to every subscriber.`,
  );
  printRows(
    [
      ["delivered/s", (x) => fmtInt(x.deliveredPerSec)],
      ["published/s", (x) => fmtInt(x.publishedPerSec)],
      ["server CPU", (x) => fmtFixed(x.serverCpu)],
      ["gen CPU", (x) => fmtFixed(x.generatorCpu)],
      ["gen ELU", (x) => fmtFixed(x.generatorMaxElu)],
      ["machine CPU", (x) => fmtFixed(x.machineCpu)],
      ["other CPU", (x) => fmtOther(x.otherCpu)],
      ["loss", (x) => fmtPct(x.loss)],
      ["stalls", (x) => String(x.stalls ?? "-")],
    ],
    [
      ["SDK door", r.sdk],
      ["MQTT door", r.mqtt],
    ],
  );
  console.log(`  SDK/MQTT delivered/s ${fmtRatio(ratio(r.sdk?.deliveredPerSec, r.mqtt?.deliveredPerSec))}`);
  printRounds([
    ["SDK", r.sdk],
    ["MQTT", r.mqtt],
  ]);
  const a = r.sdk?.rounds;
  const b = r.mqtt?.rounds;
  if (a?.length > 1 && b)
    console.log(`  per-round SDK/MQTT: ${a.map((x, i) => fmtRatio(ratio(x, b[i]))).join(" ")}`);
}

export function printLatency(opts, r) {
  console.log(
    `\n== Latency: ${opts.rate} updates/s -> ${opts.latencySubs} subscribers, publish -> receive (same clock, worker threads)`,
  );
  console.log(
    "  SDK: raw `set` stamped at write, raw subscribers; MQTT: the MQTT bench's latency layout (QoS 1 both legs, as bench/run.mjs; QoS 0 for reference)",
  );
  printRows(
    [
      ["p50 ms", (x) => fmtMs(x.p50Ms)],
      ["p99 ms", (x) => fmtMs(x.p99Ms)],
      ["p99.9 ms", (x) => fmtMs(x.p999Ms)],
      ["max ms", (x) => fmtMs(x.maxMs)],
      ["delivered/s", (x) => fmtInt(x.deliveredPerSec)],
      ["server CPU", (x) => fmtFixed(x.serverCpu)],
      ["other CPU", (x) => fmtOther(x.otherCpu)],
    ],
    [
      ["SDK door", r.sdk],
      ["MQTT QoS 1", r.mqttQos1],
      ["MQTT QoS 0", r.mqttQos0],
    ],
  );
  printRounds(
    [
      ["SDK", r.sdk],
      ["MQTT QoS 1", r.mqttQos1],
      ["MQTT QoS 0", r.mqttQos0],
    ],
    fmtMs,
    "p99 ms of each run",
  );
  console.log(
    `  SDK/MQTT QoS 1 p99 ${fmtRatio(ratio(r.sdk?.p99Ms, r.mqttQos1?.p99Ms))}; ` +
      `SDK/MQTT QoS 0 p99 ${fmtRatio(ratio(r.sdk?.p99Ms, r.mqttQos0?.p99Ms))} (lower is better)`,
  );
}

export function printRr(opts, r) {
  console.log(
    `\n== Request-response: ${opts.rrPayload}-byte binary requests echoed by one responder; ${opts.rrInflight} in flight` +
      ` over ${opts.rrConns} requester connection(s), then ${opts.rrRate} requests/s for latency`,
  );
  console.log(
    "  SDK: the real @skein/sdk (sendRequest / addRequestHandler); MQTT 5: $request/ + Response Topic + Correlation Data, QoS 0;" +
      " raw: pre-encoded SDK frames over raw WebSocket (server ceiling); bare relay: the same raw frames through a" +
      " bare ws + msgpackr relay in Node, no validation (the floor for a Node WebSocket server on this machine);" +
      " NATS: nats-server + @nats-io/transport-node",
  );
  const entries = Object.entries(r).map(([kind, x]) => [rrLabel(kind), x]);
  const pick = (key) => entries.map(([label, x]) => [label, x.error ? x : x[key]]);
  console.log(`  throughput, ${opts.rrInflight} in flight:`);
  printRows(
    [
      ["round trips/s", (x) => fmtInt(x.rtPerSec)],
      ["server CPU", (x) => fmtFixed(x.serverCpu)],
      ["µs CPU/rt", (x) => fmtFixed(x.serverUsPerRt, 1)],
      ["kernel", (x) => fmtPct(x.serverSysShare)],
      ["req ELU", (x) => fmtFixed(x.requesterElu)],
      ["resp ELU", (x) => fmtFixed(x.responderElu)],
      ["gen CPU", (x) => fmtFixed(x.generatorCpu)],
      ["machine CPU", (x) => fmtFixed(x.machineCpu)],
      ["other CPU", (x) => fmtOther(x.otherCpu)],
      ["errors", (x) => String(x.errors ?? 0)],
    ],
    pick("throughput"),
  );
  printRounds(
    entries.map(([label, x]) => [label, x.throughput]),
    fmtInt,
    "round trips/s of each run",
  );
  console.log(
    `  latency at ${opts.rrRate} requests/s` +
      (r.relay ? " (bare relay: the floor for a Node WebSocket server on this machine):" : ":"),
  );
  printRows(
    [
      ["p50 ms", (x) => fmtMs(x.p50Ms)],
      ["p99 ms", (x) => fmtMs(x.p99Ms)],
      ["p99.9 ms", (x) => fmtMs(x.p999Ms)],
      ["max ms", (x) => fmtMs(x.maxMs)],
      ["round trips/s", (x) => fmtInt(x.rtPerSec)],
      ["server CPU", (x) => fmtFixed(x.serverCpu)],
      ["µs CPU/rt", (x) => fmtFixed(x.serverUsPerRt, 1)],
      ["other CPU", (x) => fmtOther(x.otherCpu)],
      ["errors", (x) => String(x.errors ?? 0)],
    ],
    pick("latency").map(([label, x]) => [label, x ?? { error: "not measured", skipped: true }]),
  );
  printRounds(
    entries.map(([label, x]) => [label, x.latency]),
    fmtMs,
    "p99 ms of each run",
  );
  const sdk = r.sdk?.throughput?.rtPerSec;
  const parts = [];
  for (const kind of ["mqtt", "raw", "relay", "nats"]) {
    const v = r[kind]?.throughput?.rtPerSec;
    if (v) parts.push(`SDK->SDK/${rrLabel(kind)} ${fmtRatio(ratio(sdk, v))}`);
  }
  if (parts.length > 0) console.log(`  round trips/s: ${parts.join("; ")}`);
  // The floor: what a Node WebSocket server that only relays frames costs on this machine.
  const relay = r.relay;
  if (relay && !relay.error && r.sdk && !r.sdk.error) {
    const us = ratio(r.sdk.throughput?.serverUsPerRt, relay.throughput?.serverUsPerRt);
    const p99 = ratio(r.sdk.latency?.p99Ms, relay.latency?.p99Ms);
    console.log(`  µs CPU/rt: SDK->SDK/${rrLabel("relay")} ${fmtRatio(us)} (lower is better)`);
    console.log(
      `  p99 at ${opts.rrRate} requests/s: SDK->SDK/${rrLabel("relay")} ${fmtRatio(p99)} (lower is better)`,
    );
  }
}

/** The targets of the SDK door issues, checked when both sides have figures. */
export function checkTargets(s, opts, meta = {}) {
  const checks = [];
  const f = s.fanout;
  if (f) {
    const v = ratio(f.sdk?.deliveredPerSec, f.mqtt?.deliveredPerSec);
    checks.push({
      target: "fan-out: SDK >= 0.8x MQTT deliveries/s",
      value: v,
      shown: fmtRatio(v),
      pass: v == null ? null : v >= 0.8,
    });
  }
  const l = s.latency;
  if (l) {
    const v = ratio(l.sdk?.p99Ms, l.mqttQos1?.p99Ms);
    checks.push({
      target: "latency: SDK p99 <= 1.5x MQTT (QoS 1) p99",
      value: v,
      shown: `${fmtMs(l.sdk?.p99Ms)} vs ${fmtMs(l.mqttQos1?.p99Ms)} ms, ${fmtRatio(v)}`,
      pass: v == null ? null : v <= 1.5,
    });
  }
  const r = s.rr;
  if (r) {
    const v = ratio(r.sdk?.throughput?.rtPerSec, r.nats?.throughput?.rtPerSec);
    checks.push({
      target: "request-response: SDK->SDK >= 1.2x NATS round trips/s",
      value: v,
      shown: `${fmtInt(r.sdk?.throughput?.rtPerSec)} vs ${fmtInt(r.nats?.throughput?.rtPerSec)}/s, ${fmtRatio(v)}`,
      pass: v == null ? null : v >= 1.2,
    });
    const us = r.sdk?.throughput?.serverUsPerRt ?? null;
    checks.push({
      target: "request-response: <= 25 µs server CPU per SDK->SDK round trip",
      value: us,
      shown: `${fmtFixed(us, 1)} µs`,
      pass: us == null ? null : us <= 25,
    });
    const p99 = r.sdk?.latency?.p99Ms ?? null;
    checks.push({
      target: `request-response: SDK->SDK p99 <= 1 ms at ${opts.rrRate} requests/s`,
      value: p99,
      shown: `${fmtMs(p99)} ms`,
      pass: p99 == null ? null : p99 <= 1,
      note: wakeupNote(meta.wakeupStalls),
    });
  }
  return checks;
}

export function printTargets(targets) {
  console.log("\n== Targets (SDK door)");
  for (const t of targets) {
    console.log(`  ${t.pass == null ? "n/a " : t.pass ? "PASS" : "FAIL"}  ${t.target} (${t.shown})`);
    if (t.note && t.pass === false) console.log(`        ${t.note}`);
  }
}

/**
 * Whether this machine can show a 1 ms p99 at all. A round trip crosses three processes (requester,
 * server, responder); a request meets a late wakeup in one of them with a probability of about
 * 3 x (share of time late + late wakeups/s x 1 ms in flight). Above 1%, the p99 is the machine's.
 */
function wakeupNote(w) {
  if (!w) return undefined;
  const share = 3 * (w.lateShare + w.perSecond * 0.001);
  if (share < 0.01) return undefined;
  return (
    `this machine's idle processes wake >= 2 ms late ${w.perSecond.toFixed(1)}/s each: about ` +
    `${(share * 100).toFixed(1)}% of round trips meet such a wakeup, so no server reaches a 1 ms p99 here`
  );
}
