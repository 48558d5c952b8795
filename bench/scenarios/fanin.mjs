// @ts-check
// Fan-in QoS 0: `--publishers` connections publish to bench/in/<i> as fast as the broker takes
// them (within the delivery window); one subscriber on bench/in/+ counts what it receives.
import { runThroughput } from "../lib/measure.mjs";

/** @type {import("../lib/types.js").MqttScenario} */
export default {
  name: "fanin",
  suite: "mqtt",
  options: ["publishers", "payload", "mqtt"],
  title: (o) => `Fan-in QoS 0: ${o.publishers} publishers -> 1 subscriber on bench/in/+`,
  kind: "throughput",
  run: (target, opts) =>
    runThroughput(target, opts, {
      sub: { workers: 1, conns: 1, topic: "bench/in/+", qos: 0 },
      pub: { workers: 2, conns: opts.publishers, topics: (i) => `bench/in/${i}`, qos: 0, batch: 64 },
      window: 4096,
    }),
};
