#!/usr/bin/env node
// Skein benchmark: runs each scenario against Skein, Aedes and Mosquitto in one run and prints
// figures and Skein ratios. See docs/performance.md. `node bench/run.mjs --help` for options.
import { installCleanup, reexecWithMoreFds } from "./lib/process.mjs";
import { readOptions } from "./lib/args.mjs";
import { BROKERS, startBroker } from "./lib/brokers.mjs";
import { killAll } from "./lib/child.mjs";
import { optionsOrExit, printHeader, runMain, runMeta, writeResults } from "./lib/driver.mjs";
import {
  checkTargets,
  printCeiling,
  printRatios,
  printScenario,
  printTargets,
  ratios,
} from "./lib/report.mjs";
import ceiling from "./scenarios/ceiling.mjs";
import fanin from "./scenarios/fanin.mjs";
import fanout from "./scenarios/fanout.mjs";
import idle from "./scenarios/idle.mjs";
import latency from "./scenarios/latency.mjs";
import qos1 from "./scenarios/qos1.mjs";
import qos1Flood from "./scenarios/qos1-flood.mjs";

const SCENARIOS = { ceiling, fanin, fanout, qos1, "qos1-flood": qos1Flood, latency, idle };
const PRIMARY = { throughput: "msgsPerSec", latency: "p99Ms", idle: "bytesPerConn" }; // picks the median run

function meta(opts) {
  const versions = {};
  for (const [name, b] of Object.entries(BROKERS)) versions[name] = b.unavailable() ? null : b.version();
  return runMeta(opts, versions);
}

async function runOnce(name, scenario, opts, brokerState) {
  let broker = null;
  try {
    broker = await startBroker(name, scenario.skeinDefaults ? { ...opts, skeinDefaults: true } : opts);
    const result = await scenario.run(broker, opts);
    result.brokerRssEnd = broker.rss();
    return result;
  } catch (err) {
    if (!broker) brokerState[name] = `did not start: ${err.message}`; // do not retry every scenario
    const crashed = broker?.exited != null ? ` (${name} exited: ${broker.output.trim().slice(-300)})` : "";
    return { error: err.message + crashed };
  } finally {
    await broker?.stop();
  }
}

/** Each broker freshly started per run; with --repeat the brokers take turns and the median run is kept. */
async function runOnBrokers(scenario, opts, brokerState) {
  const runs = Object.fromEntries(opts.brokers.map((name) => [name, []]));
  for (let i = 0; i < opts.repeat; i++) {
    for (const name of opts.brokers) {
      if (!brokerState[name]) runs[name].push(await runOnce(name, scenario, opts, brokerState));
    }
  }
  const byBroker = {};
  for (const name of opts.brokers) {
    const ok = runs[name].filter((r) => !r.error);
    if (ok.length === 0) {
      byBroker[name] = runs[name][0] ?? { error: brokerState[name], skipped: true };
      continue;
    }
    const key = PRIMARY[scenario.kind];
    ok.sort((a, b) => (a[key] ?? 0) - (b[key] ?? 0));
    byBroker[name] = { ...ok[Math.floor((ok.length - 1) / 2)] };
    if (opts.repeat > 1) byBroker[name].runs = runs[name];
  }
  return byBroker;
}

async function main() {
  const opts = optionsOrExit(readOptions);
  if (opts.scenarios.includes("idle") && reexecWithMoreFds(opts.idleConns + 1000)) return;
  installCleanup(killAll, "brokers");
  const results = { meta: meta(opts), scenarios: {} };
  const brokerState = {}; // broker name -> reason it is skipped
  for (const name of opts.brokers) {
    const why = BROKERS[name].unavailable();
    if (why) brokerState[name] = why;
  }
  await printHeader("Skein bench", results, opts);
  for (const [name, why] of Object.entries(brokerState)) console.log(`  skipping ${name}: ${why}`);

  for (const name of opts.scenarios) {
    const scenario = SCENARIOS[name];
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

  results.targets = checkTargets(results);
  printTargets(results.targets);
  writeResults(results, opts.out);
}

runMain(main, killAll);
