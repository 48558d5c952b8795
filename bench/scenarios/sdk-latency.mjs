// @ts-check
// SDK latency: fixed-rate updates (`--rate`) -> `--latency-subs` subscribers, publish -> receive on
// the same clock, through the SDK door and through the MQTT door (QoS 1 both legs as the MQTT
// latency scenario, and QoS 0 for reference), each on a fresh Skein, runs alternating.
// (bench/run-sdk.mjs calls it `latency`; its JSON key stays `latency`.)
import { baseConfig, cpuFigures, measureWindow } from "../lib/measure.mjs";
import { Pool } from "../lib/pool.mjs";
import { fmtOther, printRounds, printRows } from "../lib/report.mjs";
import { fmtFixed, fmtInt, fmtMs, fmtRatio, percentiles, ratio } from "../lib/stats.mjs";
import { HOST, LATENCY_TOPIC, median, mqttTarget, sdkPool, withSkein } from "../sdk/harness.mjs";

/** @typedef {import("../lib/args.mjs").SdkOptions} SdkOptions */
/** @typedef {import("../lib/child.mjs").ChildServer} ChildServer */
/** @typedef {import("../lib/types.js").Figures} Figures */

/**
 * @param {number} rate
 * @param {number} subs
 * @param {SdkOptions} opts
 */
function maxSamples(rate, subs, opts) {
  return Math.min(5e6, Math.ceil(rate * subs * (opts.duration + 1)));
}

/** SDK door: a raw publisher `set`s a binary topic at a fixed rate, stamped; raw subscribers. */
/**
 * @param {ChildServer} server
 * @param {SdkOptions} opts
 */
async function sdkLatency(server, opts) {
  const base = { host: HOST, port: server.ports.http, wsPath: "/sdk" };
  const pub = sdkPool(1, 1, (w, conns, first) => ({
    ...base,
    role: "sdk-pub",
    conns,
    firstConn: first,
    topic: LATENCY_TOPIC,
    payload: opts.payload,
    batch: 1,
    inflight: 1e9,
    rate: opts.rate,
  }));
  const subs = sdkPool(1, opts.latencySubs, (w, conns, first) => ({
    ...base,
    role: "sdk-sub",
    conns,
    firstConn: first,
    selector: `>${LATENCY_TOPIC}`,
    latency: true,
    maxSamples: maxSamples(opts.rate, opts.latencySubs, opts),
  }));
  return latencyWindow(server, opts, subs, pub, [pub, subs]); // the publisher adds the topic
}

/** MQTT door: the MQTT bench's latency layout (bench/lib/worker.mjs), QoS 0 or 1 end to end. */
/**
 * @param {ChildServer} server
 * @param {SdkOptions} opts
 * @param {0 | 1} qos
 */
async function mqttLatency(server, opts, qos) {
  const target = mqttTarget(server);
  const subs = new Pool(1, opts.latencySubs, (w, n) => ({
    ...baseConfig(target, opts, "sub", "ls", w, n),
    topic: LATENCY_TOPIC,
    qos,
    latency: true,
    maxSamples: maxSamples(opts.rate, opts.latencySubs, opts),
  }));
  const pubs = new Pool(1, 1, (w, n) => ({
    ...baseConfig(target, opts, "pub", "lp", w, n),
    topics: [LATENCY_TOPIC],
    qos,
    inflight: qos > 0 ? 100 : 1e9, // the worker's fixed-rate loop waits for PUBACKs only at QoS 1
    rate: opts.rate,
  }));
  return latencyWindow(server, opts, subs, pubs, [subs, pubs]);
}

/**
 * One latency window of the pools `subs` and `pub` (opened in the order of `openOrder`): the
 * publisher runs at its fixed rate and the subscribers record latencies over the window.
 */
/**
 * @param {ChildServer} server
 * @param {SdkOptions} opts
 * @param {Pool} subs
 * @param {Pool} pub
 * @param {Pool[]} openOrder
 */
async function latencyWindow(server, opts, subs, pub, openOrder) {
  try {
    for (const pool of openOrder) await pool.all("open");
    await pub.all("start");
    const m = await measureWindow(server, opts, {
      counter: subs,
      pools: [subs, pub],
      begin: () => subs.all("record", { on: true }),
      end: () => subs.all("record", { on: false }),
    });
    await pub.all("stop");
    const closed = await subs.close();
    return latencyResult(m, closed);
  } finally {
    await Promise.all([subs.close(), pub.close()]);
  }
}

/**
 * @param {Awaited<ReturnType<typeof measureWindow>>} m
 * @param {Figures[]} closed the subscriber workers' replies to close
 */
function latencyResult(m, closed) {
  const samples = closed.flatMap((r) => Array.from(r.samples ?? []));
  return {
    ...percentiles(Float64Array.from(samples)),
    deliveredPerSec: m.recvPerSec,
    ...cpuFigures(m),
    samplesDropped: closed.reduce((a, r) => a + (r.dropped ?? 0), 0),
  };
}

/** @param {SdkOptions} opts */
async function run(opts) {
  /** @type {Record<"sdk" | "mqttQos1" | "mqttQos0", Record<string, any>[]>} */
  const runs = { sdk: [], mqttQos1: [], mqttQos0: [] };
  for (let r = 0; r < opts.repeat; r++) {
    runs.sdk.push(await withSkein(opts, (s) => sdkLatency(s, opts)));
    runs.mqttQos1.push(await withSkein(opts, (s) => mqttLatency(s, opts, 1)));
    runs.mqttQos0.push(await withSkein(opts, (s) => mqttLatency(s, opts, 0)));
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v, "p99Ms")]));
}

/**
 * @param {SdkOptions} opts
 * @param {Figures} r
 */
function print(opts, r) {
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

/** @type {import("../lib/types.js").SdkScenario} */
export default {
  name: "sdk-latency",
  key: "latency",
  suite: "sdk",
  options: ["rate", "latency-subs", "payload", "mqtt", "repeat"],
  run,
  print,
  targets(l) {
    const v = ratio(l.sdk?.p99Ms, l.mqttQos1?.p99Ms);
    return [
      {
        target: "latency: SDK p99 <= 1.5x MQTT (QoS 1) p99",
        value: v,
        shown: `${fmtMs(l.sdk?.p99Ms)} vs ${fmtMs(l.mqttQos1?.p99Ms)} ms, ${fmtRatio(v)}`,
        pass: v == null ? null : v <= 1.5,
      },
    ];
  },
};
