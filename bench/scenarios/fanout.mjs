// @ts-check
// Fan-out QoS 0: one publisher on bench/out, `--subscribers` subscribers of bench/out; the figure
// is deliveries per second summed over all subscribers.
import { runThroughput } from "../lib/measure.mjs";

/** @type {import("../lib/types.js").MqttScenario} */
export default {
  name: "fanout",
  suite: "mqtt",
  options: ["subscribers", "payload", "mqtt"],
  title: (o) => `Fan-out QoS 0: 1 publisher -> ${o.subscribers} subscribers of bench/out (deliveries/s)`,
  kind: "throughput",
  run: (target, opts) =>
    runThroughput(target, opts, {
      sub: { workers: 2, conns: opts.subscribers, topic: "bench/out", qos: 0 },
      pub: { workers: 1, conns: 1, topics: () => "bench/out", qos: 0, batch: 4 },
      window: 64,
      fanout: opts.subscribers,
    }),
};
