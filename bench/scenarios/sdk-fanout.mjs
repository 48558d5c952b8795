// @ts-check
// SDK fan-out: 1 publisher -> `--subscribers` subscribers of one topic, through the SDK door (raw
// WebSocket sessions counting `v` frames) and through the MQTT door (the MQTT generator, QoS 0) of
// the same Skein, runs alternating. Reported: deliveries/s of each door and their ratio.
// (bench/run-sdk.mjs calls it `fanout`; its JSON key stays `fanout`.)
import { cpuFigures, drained, measureWindow, runThroughput, stallWatch } from "../lib/measure.mjs";
import { fmtOther, printRounds, printRows } from "../lib/report.mjs";
import { newShared } from "../lib/shared.mjs";
import { fmtFixed, fmtInt, fmtPct, fmtRatio, ratio } from "../lib/stats.mjs";
import { FANOUT_TOPIC, HOST, median, mqttTarget, sdkPool, withSkein } from "../sdk/harness.mjs";

/** @typedef {import("../lib/args.mjs").SdkOptions} SdkOptions */
/** @typedef {import("../lib/child.mjs").ChildServer} ChildServer */
/** @typedef {import("../lib/types.js").Figures} Figures */
/** @typedef {import("../lib/pool.mjs").Pool} Pool */

/** SDK door: raw WebSocket subscribers (hello + select), one raw publisher pipelining `set`s. */
/**
 * @param {ChildServer} server
 * @param {SdkOptions} opts
 */
export async function sdkFanout(server, opts) {
  const n = opts.subscribers;
  const shared = newShared();
  const base = {
    host: HOST,
    port: server.ports.http,
    wsPath: "/sdk",
    shared,
    window: opts.window,
    fanout: n,
  };
  /** @type {import("../lib/pool.mjs").Pool[]} */
  const pools = [];
  try {
    const pub = sdkPool(1, 1, (w, conns, first) => ({
      ...base,
      role: "sdk-pub",
      conns,
      firstConn: first,
      topic: FANOUT_TOPIC,
      payload: opts.payload,
      batch: opts.batch,
      inflight: opts.inflight,
      rate: 0,
    }));
    pools.push(pub);
    await pub.all("open"); // adds the topic
    const subs = sdkPool(opts.sdkWorkers, n, (w, conns, first) => ({
      ...base,
      role: "sdk-sub",
      conns,
      firstConn: first,
      selector: `>${FANOUT_TOPIC}`,
      concurrency: 50,
    }));
    pools.push(subs);
    await subs.all("open");
    await pub.all("start");
    const watch = stallWatch(shared, opts.window, n);
    const m = await measureWindow(server, opts, { counter: subs, pools, extra: [pub] });
    await pub.all("stop");
    clearInterval(watch.timer);
    const final = await drained(subs);
    const pubFinal = await pub.snap();
    const expected = pubFinal.sent * n;
    return {
      deliveredPerSec: m.recvPerSec,
      publishedPerSec: m.extraSentPerSec[0],
      ...cpuFigures(m),
      loss: Math.max(0, 1 - final.recv / expected),
      stalls: watch.stalls,
      closed: final.closed,
      errors: pubFinal.errors,
      firstError: pubFinal.snaps[0].firstError,
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

/** MQTT door: the MQTT bench's own fan-out procedure (bench/lib/measure.mjs), QoS 0. */
/**
 * @param {ChildServer} server
 * @param {SdkOptions} opts
 */
async function mqttFanout(server, opts) {
  const n = opts.subscribers;
  const r = await runThroughput(mqttTarget(server), opts, {
    sub: { workers: 2, conns: n, topic: FANOUT_TOPIC, qos: 0 },
    pub: { workers: 1, conns: 1, topics: () => FANOUT_TOPIC, qos: 0, batch: opts.batch },
    window: opts.window,
    fanout: n,
  });
  return {
    deliveredPerSec: r.msgsPerSec,
    publishedPerSec: r.publishedPerSec,
    serverCpu: r.brokerCpu,
    generatorCpu: r.generatorCpu,
    generatorMaxElu: r.generatorMaxElu,
    machineCpu: r.machineCpu,
    otherCpu: r.otherCpu,
    loss: r.loss,
    stalls: r.stalls,
    closed: r.closed,
  };
}

/** @param {SdkOptions} opts */
async function run(opts) {
  const sdk = [];
  const mqtt = [];
  for (let r = 0; r < opts.repeat; r++) {
    sdk.push(await withSkein(opts, (s) => sdkFanout(s, opts)));
    mqtt.push(await withSkein(opts, (s) => mqttFanout(s, opts)));
  }
  return { sdk: median(sdk, "deliveredPerSec"), mqtt: median(mqtt, "deliveredPerSec") };
}

/**
 * @param {SdkOptions} opts
 * @param {Figures} r
 */
function print(opts, r) {
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
    console.log(
      `  per-round SDK/MQTT: ${a.map((/** @type {number} */ x, /** @type {number} */ i) => fmtRatio(ratio(x, b[i]))).join(" ")}`,
    );
}

/** @type {import("../lib/types.js").SdkScenario} */
export default {
  name: "sdk-fanout",
  key: "fanout",
  suite: "sdk",
  options: ["subscribers", "payload", "sdk-workers", "window", "inflight", "batch", "mqtt", "repeat"],
  run,
  print,
  targets(f) {
    const v = ratio(f.sdk?.deliveredPerSec, f.mqtt?.deliveredPerSec);
    return [
      {
        target: "fan-out: SDK >= 0.8x MQTT deliveries/s",
        value: v,
        shown: fmtRatio(v),
        pass: v == null ? null : v >= 0.8,
      },
    ];
  },
};
