// @ts-check
// The load generator's own ceiling, measured against the null sink (null-broker.mjs, its own
// process, so it takes the core a broker would): the same publisher and subscriber layouts as the
// broker scenarios, with a peer that does no routing. Broker figures far below these are the
// broker's, not the generator's.
import { startNullSink } from "../lib/brokers.mjs";
import { runThroughput } from "../lib/measure.mjs";

/**
 * @param {import("../lib/args.mjs").MqttOptions} opts
 * @param {import("../lib/measure.mjs").ThroughputSpec} spec
 */
async function withSink(opts, spec) {
  const sink = await startNullSink({ payload: opts.payload });
  try {
    return await runThroughput(sink, opts, spec);
  } finally {
    await sink.stop();
  }
}

/** @type {import("../lib/types.js").CeilingScenario} */
export default {
  name: "ceiling",
  suite: "mqtt",
  options: ["publishers", "subscribers", "payload"],
  title: () => "Load-generator ceiling (null sink instead of a broker)",
  kind: "ceiling",
  generatorOnly: true,
  async run(opts) {
    const pub = { workers: 2, conns: opts.publishers, topics: (/** @type {number} */ i) => `bench/in/${i}` };
    return {
      publishQos0: await withSink(opts, { pub: { ...pub, qos: 0, batch: 64 } }),
      publishQos1: await withSink(opts, { pub: { ...pub, qos: 1, batch: 50, inflight: 100 } }),
      receiveOne: await withSink(opts, { sub: { workers: 1, conns: 1, topic: "bench/in/+", qos: 0 } }),
      receiveMany: await withSink(opts, {
        sub: { workers: 2, conns: opts.subscribers, topic: "bench/out", qos: 0 },
      }),
    };
  },
};
