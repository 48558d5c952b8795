#!/usr/bin/env node
// @ts-check
// The Skein bench, one driver for every scenario (bench/scenarios/*.mjs):
// - MQTT scenarios: each runs against Skein, Aedes and Mosquitto in one run and prints figures and
//   Skein ratios (JSON: --out, bench/results/latest.json).
// - SDK scenarios: fan-out and latency through the SDK door compared with the MQTT door in the same
//   run, and request-response (SDK->SDK, MQTT 5->SDK) compared with NATS request-reply and with a
//   bare WebSocket + MessagePack relay in Node (bench/sdk/relay-server.mjs: the floor of this
//   machine for a Node WebSocket server) (JSON: --sdk-out, bench/results/sdk-latest.json).
// - storage (issue 9 §4) and security (issue 14 §5): their own servers and anchors (Redis, NATS
//   JetStream, Mosquitto with persistence or a password file), run after the MQTT scenarios with
//   their options; figures and targets under scenarios.storage / scenarios.security of --out.
// See docs/performance.md. `node bench/run.mjs --help` for options; bench/run-sdk.mjs runs the SDK
// scenarios alone with that script's former option names.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readOptions } from "./lib/args.mjs";
import { BROKERS, startBroker } from "./lib/brokers.mjs";
import { ROOT, killAll } from "./lib/child.mjs";
import { optionsOrExit, printHeader, runMain, runMeta, writeResults } from "./lib/driver.mjs";
import { installCleanup, pinSelf, reexecWithMoreFds } from "./lib/process.mjs";
import {
  checkTargets,
  printCeiling,
  printRatios,
  printScenario,
  printTargets,
  ratios,
} from "./lib/report.mjs";
import { fmtMs } from "./lib/stats.mjs";
import ceiling from "./scenarios/ceiling.mjs";
import fanin from "./scenarios/fanin.mjs";
import fanout from "./scenarios/fanout.mjs";
import idle from "./scenarios/idle.mjs";
import latency from "./scenarios/latency.mjs";
import qos1 from "./scenarios/qos1.mjs";
import qos1Flood from "./scenarios/qos1-flood.mjs";
import rr from "./scenarios/rr.mjs";
import security from "./scenarios/security.mjs";
import storage from "./scenarios/storage.mjs";
import sdkFanout from "./scenarios/sdk-fanout.mjs";
import sdkLatency from "./scenarios/sdk-latency.mjs";
import { tcpBaseline, wakeupStalls } from "./sdk/baseline.mjs";
import { runProfiles } from "./sdk/profile.mjs";
import { natsUnavailable, natsVersion, skeinUnavailable } from "./sdk/servers.mjs";

/** @typedef {import("./lib/args.mjs").MqttOptions} MqttOptions */
/** @typedef {import("./lib/args.mjs").SdkOptions} SdkOptions */

/** The MQTT scenarios by name (the order of a run is the order of --scenarios). */
const MQTT = { ceiling, fanin, fanout, qos1, "qos1-flood": qos1Flood, latency, idle };
/** The SDK scenarios by their short name (their JSON key). */
const SDK = { fanout: sdkFanout, latency: sdkLatency, rr };
/** The scenarios with their own servers, anchors, report and targets. */
const OWN = { storage, security };
const PRIMARY = { throughput: "msgsPerSec", latency: "p99Ms", idle: "bytesPerConn" }; // picks the median run

// ---- MQTT scenarios -------------------------------------------------------------------------

/** @param {MqttOptions} opts */
function mqttMeta(opts) {
  /** @type {Record<string, string | null>} */
  const versions = {};
  for (const [name, b] of Object.entries(BROKERS)) versions[name] = b.unavailable() ? null : b.version();
  return runMeta(opts, versions);
}

/**
 * One run of `scenario` on a freshly started broker `name`; errors become { error }.
 * @param {string} name
 * @param {any} scenario
 * @param {MqttOptions} opts
 * @param {Record<string, string>} brokerState broker name -> reason it is skipped
 * @returns {Promise<any>}
 */
async function runOnce(name, scenario, opts, brokerState) {
  /** @type {any} */
  let broker = null;
  try {
    broker = await startBroker(name, scenario.skeinDefaults ? { ...opts, skeinDefaults: true } : opts);
    const result = await scenario.run(broker, opts);
    result.brokerRssEnd = broker.rss();
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!broker) brokerState[name] = `did not start: ${message}`; // do not retry every scenario
    const crashed = broker?.exited != null ? ` (${name} exited: ${broker.output.trim().slice(-300)})` : "";
    return { error: message + crashed };
  } finally {
    await broker?.stop();
  }
}

/**
 * Each broker freshly started per run; with --repeat the brokers take turns and the median run is kept.
 * @param {any} scenario
 * @param {MqttOptions} opts
 * @param {Record<string, string>} brokerState
 */
async function runOnBrokers(scenario, opts, brokerState) {
  /** @type {Record<string, any[]>} */
  const runs = Object.fromEntries(opts.brokers.map((name) => [name, []]));
  for (let i = 0; i < opts.repeat; i++) {
    for (const name of opts.brokers) {
      const only = /** @type {Record<string, { only?: string[] }>} */ (BROKERS)[name].only;
      if (only && !only.includes(scenario.name)) continue; // node-relay: latency only
      if (!brokerState[name]) runs[name].push(await runOnce(name, scenario, opts, brokerState));
    }
  }
  /** @type {Record<string, any>} */
  const byBroker = {};
  for (const name of opts.brokers) {
    const ok = runs[name].filter((r) => !r.error);
    if (runs[name].length === 0 && !brokerState[name]) continue; // a broker that does not run it
    if (ok.length === 0) {
      byBroker[name] = runs[name][0] ?? { error: brokerState[name], skipped: true };
      continue;
    }
    const key = PRIMARY[/** @type {keyof typeof PRIMARY} */ (scenario.kind)];
    ok.sort((a, b) => (a[key] ?? 0) - (b[key] ?? 0));
    byBroker[name] = { ...ok[Math.floor((ok.length - 1) / 2)] };
    if (opts.repeat > 1) byBroker[name].runs = runs[name];
  }
  return byBroker;
}

/** The MQTT scenarios of `opts.scenarios` on every broker; results to `opts.out`. @param {MqttOptions} opts */
async function runMqtt(opts) {
  /** @type {any} */
  const results = { meta: mqttMeta(opts), scenarios: {} };
  /** @type {Record<string, string>} */
  const brokerState = {}; // broker name -> reason it is skipped
  for (const name of opts.brokers) {
    const why = BROKERS[/** @type {keyof typeof BROKERS} */ (name)].unavailable();
    if (why) brokerState[name] = why;
  }
  if (opts.pin) pinSelf(1); // --pin: the load generator on CPU 1, each broker on CPU 0 (brokers.mjs)
  await printHeader("Skein bench", results, opts);
  for (const [name, why] of Object.entries(brokerState)) console.log(`  skipping ${name}: ${why}`);

  /** @type {import("./lib/types.js").Target[]} */
  const ownTargets = [];
  for (const name of opts.scenarios) {
    if (name in OWN) {
      const own = OWN[/** @type {keyof typeof OWN} */ (name)];
      console.log(`\n== ${own.title(opts)}`);
      const result = (results.scenarios[name] = await own.run(opts));
      printTargets(name, result.targets);
      ownTargets.push(...result.targets);
      continue;
    }
    /** @type {any} */
    const scenario = MQTT[/** @type {keyof typeof MQTT} */ (name)];
    if (scenario.generatorOnly) {
      const result = await scenario.run(opts);
      results.scenarios[name] = { title: scenario.title(opts), result };
      printCeiling(result);
      continue;
    }
    const byBroker = await runOnBrokers(scenario, opts, brokerState);
    const r = ratios(scenario.kind, byBroker);
    results.scenarios[name] = { title: scenario.title(opts), brokers: byBroker, ratios: r };
    printScenario(scenario, opts, byBroker);
    printRatios(scenario.kind, r);
    scenario.report?.(byBroker);
  }

  if (opts.scenarios.some((name) => name in MQTT)) {
    results.targets = checkTargets(results);
    printTargets("Skein", results.targets);
  } else results.targets = [];
  results.targets.push(...ownTargets);
  writeResults(results, opts.out);
}

// ---- SDK scenarios --------------------------------------------------------------------------

/** Why the NATS client cannot be loaded, or null. */
async function natsClientMissing() {
  try {
    await import("@nats-io/transport-node");
    return null;
  } catch {
    return "@nats-io/transport-node is not installed";
  }
}

/** The SDK scenarios of `opts.scenarios`; results to `opts.out`. @param {SdkOptions} opts */
async function runSdk(opts) {
  const why = skeinUnavailable();
  if (why) {
    console.error(`bench: ${why}`);
    process.exit(2);
  }
  /** @type {Record<string, string>} */
  const skip = {};
  if (opts.scenarios.includes("rr") && opts.rrKinds.includes("nats")) {
    const missing = natsUnavailable() ?? (await natsClientMissing());
    if (missing) skip.nats = missing;
  }
  const versions = {
    skein: JSON.parse(fs.readFileSync(path.join(ROOT, "packages/server/package.json"), "utf8")).version,
    nats: skip.nats ? null : opts.rrKinds.includes("nats") ? natsVersion() : null,
  };
  /** @type {any} */
  const results = { meta: runMeta(opts, versions), scenarios: {} };
  await printHeader("Skein SDK bench", results, opts);
  if (skip.nats) console.log(`  skipping NATS: ${skip.nats}`);
  if (opts.scenarios.includes("latency") || opts.scenarios.includes("rr")) {
    const b = (results.meta.tcpBaseline = await tcpBaseline());
    console.log(
      `  latency floor of this machine: TCP ping-pong between two processes p50 ${fmtMs(b.p50Ms)} ms, p99 ${fmtMs(b.p99Ms)} ms`,
    );
    const w = (results.meta.wakeupStalls = await wakeupStalls());
    if (w) {
      console.log(
        `  late wakeups of idle processes (2 ms timer, >= 2 ms late): ${w.perSecond.toFixed(1)}/s each, ` +
          `${(w.lateShare * 100).toFixed(1)}% of the time, worst ${fmtMs(w.maxMs)} ms`,
      );
    }
  }

  for (const key of opts.scenarios) {
    const scenario = SDK[/** @type {keyof typeof SDK} */ (key)];
    const result = (results.scenarios[key] = await scenario.run(opts, skip));
    scenario.print(opts, result);
  }
  if (opts.profile.length > 0) results.profiles = await runProfiles(opts);

  // The targets in the order fanout, latency, rr, whatever the order of the scenarios.
  results.targets = Object.entries(SDK).flatMap(([key, scenario]) =>
    results.scenarios[key] ? scenario.targets(results.scenarios[key], opts, results.meta) : [],
  );
  printTargets("SDK door", results.targets);
  writeResults(results, opts.out);
}

// ---- main -----------------------------------------------------------------------------------

/**
 * Runs the scenarios of the command line: the MQTT scenarios first, then the SDK scenarios.
 * @param {{ alias?: "sdk" }} [how] bench/run-sdk.mjs passes { alias: "sdk" }
 */
export async function main(how = {}) {
  // `--scale`: every curve of issue 11 (connections, delivery, subscriptions, topics, event-loop lag;
  // bench/scale/run.mjs, options: --scale --help).
  if (process.argv.includes("--scale")) {
    const { runScale } = await import("./scale/run.mjs");
    await runScale(process.argv.slice(2).filter((a) => a !== "--scale"));
    return;
  }
  const { mqtt, sdk } = optionsOrExit(() => readOptions(process.argv.slice(2), how));
  const fds = Math.max(
    mqtt?.scenarios.includes("idle") ? mqtt.idleConns + 1000 : 0,
    sdk ? 2 * sdk.subscribers + 1000 : 0,
  );
  if (fds > 0 && reexecWithMoreFds(fds)) return;
  installCleanup(killAll, "servers");
  if (mqtt) await runMqtt(mqtt);
  if (mqtt && sdk) console.log("");
  if (sdk) await runSdk(sdk);
}

// Run as a script (bench/run-sdk.mjs imports main() instead).
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]))
  runMain(main, killAll);
