// @ts-check
// QoS 1 fan-in: `--publishers` connections publish QoS 1 to bench/q1/<i>, each with at most 100
// PUBLISH awaiting PUBACK; one QoS 1 subscriber on bench/q1/+ acknowledges every delivery.
import { runThroughput } from "../lib/measure.mjs";

/** @type {import("../lib/types.js").MqttScenario} */
export default {
  name: "qos1",
  suite: "mqtt",
  options: ["publishers", "payload", "mqtt"],
  title: (o) => `QoS 1 fan-in: ${o.publishers} publishers (100 in flight each) -> 1 QoS 1 subscriber`,
  kind: "throughput",
  run: (target, opts) =>
    runThroughput(target, opts, {
      sub: { workers: 1, conns: 1, topic: "bench/q1/+", qos: 1 },
      pub: {
        workers: 2,
        conns: opts.publishers,
        topics: (i) => `bench/q1/${i}`,
        qos: 1,
        batch: 50,
        inflight: 100,
      },
      window: 8192,
    }),
};
