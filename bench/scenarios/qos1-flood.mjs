// @ts-check
// QoS 1 flood (issue 12, item 6): `--publishers` connections publish QoS 1 to bench/in/<i>, each with
// at most 100 PUBLISH awaiting PUBACK and no delivery window (they publish as fast as they are
// acknowledged, as real devices do); one QoS 1 subscriber on bench/in/+ acknowledges every delivery
// at once. Skein runs with its default configuration (not the bench's raised queue bounds): a broker
// that cannot deliver what it accepts must slow its publishers, not acknowledge and then drop.
// Reported: delivered msgs/s, acknowledged publishes/s, and the share of acknowledged messages that
// never reached the subscriber ("dropped").
import { fmtInt, fmtPct, fmtRatio, ratio } from "../lib/stats.mjs";
import { runThroughput } from "../lib/measure.mjs";

/** @type {import("../lib/types.js").MqttScenario} */
export default {
  name: "qos1-flood",
  suite: "mqtt",
  options: ["publishers", "payload", "mqtt"],
  title: (o) =>
    `QoS 1 flood: ${o.publishers} publishers (100 in flight each, no window) -> 1 QoS 1 subscriber, Skein defaults`,
  kind: "throughput",
  skeinDefaults: true,
  run: async (target, opts) => {
    const result = await runThroughput(target, opts, {
      sub: { workers: 1, conns: 1, topic: "bench/in/+", qos: 1 },
      pub: {
        workers: 2,
        conns: opts.publishers,
        topics: (i) => `bench/in/${i}`,
        qos: 1,
        batch: 50,
        inflight: 100,
      },
    });
    // Whole run: acknowledged = published minus the few still in flight at the end.
    if (result.ackedTotal != null)
      result.dropped = Math.max(0, 1 - result.received / Math.max(1, result.ackedTotal));
    return result;
  },
  /** Prints delivered/acked/dropped per broker and the delivered ratio to Mosquitto. */
  report(byBroker) {
    for (const [name, r] of Object.entries(byBroker)) {
      if (r.error) continue;
      console.log(
        `  ${name}: delivered ${fmtInt(r.msgsPerSec)}/s, acked ${fmtInt(r.ackedPerSec)}/s, ` +
          `dropped ${fmtPct(r.dropped)} of acknowledged`,
      );
    }
    const s = byBroker.skein?.msgsPerSec;
    const m = byBroker.mosquitto?.msgsPerSec;
    if (s != null && m != null) console.log(`  Skein/Mosquitto delivered ${fmtRatio(ratio(s, m))}`);
  },
};
