// @ts-check
// End-to-end latency: one publisher sends QoS 1 at a fixed `--rate` to bench/lat, each message
// stamped with process.hrtime at the moment it is written; `--latency-subs` QoS 1 subscribers
// (another worker thread of the same process, same monotonic clock) record receive - stamp. Beside
// the percentiles: the broker's GC pauses in the window (a Node broker's child runs
// bench/lib/gc-probe.mjs), and the event-loop delay of that child and of the generator's two threads.
import { setTimeout as sleep } from "node:timers/promises";
import { machineCpu, otherCpu, stealCpu } from "../lib/cpu.mjs";
import { baseConfig } from "../lib/measure.mjs";
import { Pool, rate } from "../lib/pool.mjs";
import { percentiles } from "../lib/stats.mjs";

/** @type {import("../lib/types.js").MqttScenario} */
export default {
  name: "latency",
  suite: "mqtt",
  options: ["rate", "latency-subs", "payload", "mqtt"],
  title: (o) =>
    `Latency: QoS 1 at ${o.rate} msg/s -> ${o.latencySubs} QoS 1 subscribers (publish -> receive)`,
  kind: "latency",
  async run(target, opts) {
    const maxSamples = Math.min(5e6, Math.ceil(opts.rate * opts.latencySubs * (opts.duration + 1)));
    const subs = new Pool(1, opts.latencySubs, (w, n) => ({
      ...baseConfig(target, opts, "sub", "ls", w, n),
      topic: "bench/lat",
      qos: 1,
      latency: true,
      maxSamples,
    }));
    const pubs = new Pool(1, 1, (w, n) => ({
      ...baseConfig(target, opts, "pub", "lp", w, n),
      topics: ["bench/lat"],
      qos: 1,
      inflight: 100,
      rate: opts.rate,
    }));
    try {
      await subs.all("open");
      await pubs.all("open");
      await pubs.all("start");
      await sleep(opts.warmup * 1000);
      await Promise.all([subs.all("record", { on: true }), pubs.all("record", { on: true })]);
      const before = await subs.snap();
      const pubBefore = await pubs.snap();
      const cpu0 = target.cpuSeconds();
      const machine = machineCpu();
      const steal = stealCpu();
      const other = otherCpu([target.pid]);
      const from = Date.now();
      await sleep(opts.duration * 1000);
      await Promise.all([subs.all("record", { on: false }), pubs.all("record", { on: false })]);
      const to = Date.now();
      const after = await subs.snap();
      const pubAfter = await pubs.snap();
      const cpu = (target.cpuSeconds() - cpu0) / opts.duration;
      const machineCores = machine();
      const stealCores = steal();
      const otherCores = other();
      await pubs.all("stop");
      const closed = await subs.close();
      const pubClosed = await pubs.close();
      const samples = closed.flatMap((r) => Array.from(r.samples ?? []));
      return {
        ...percentiles(Float64Array.from(samples)),
        msgsPerSec: rate(before, after, "recv"),
        publishedPerSec: rate(pubBefore, pubAfter, "sent"),
        brokerCpu: cpu,
        machineCpu: machineCores,
        stealCpu: stealCores,
        otherCpu: otherCores,
        samplesDropped: closed.reduce((a, r) => a + r.dropped, 0),
        // The broker's garbage-collection pauses in the window (Skein only; see bench/lib/gc.mjs).
        gc: target.gcPauses?.(from, to) ?? null,
        // Event-loop delay in the window of the server (Node brokers) and of the load generator's
        // subscriber and publisher threads: which side stalled (see gc.mjs LoopDelay).
        serverLoop: target.loopDelay?.(from, to) ?? null,
        subLoop: closed[0]?.loop ?? null,
        pubLoop: pubClosed[0]?.loop ?? null,
      };
    } finally {
      await Promise.all([subs.close(), pubs.close()]);
    }
  },
};
