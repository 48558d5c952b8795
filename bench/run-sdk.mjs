#!/usr/bin/env node
// Skein SDK-door benchmark: fan-out and latency through the SDK door compared with the MQTT door in
// the same run, and request-response (SDK->SDK, MQTT 5->SDK) compared with NATS request-reply and
// with a bare WebSocket + MessagePack relay in Node (bench/sdk/relay-server.mjs: the floor of this
// machine for a Node WebSocket server).
// See docs/performance.md ("SDK door and request-response"). `node bench/run-sdk.mjs --help`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, killAll } from "./lib/child.mjs";
import { fmtMs } from "./lib/stats.mjs";
import { optionsOrExit, printHeader, runMain, runMeta, writeResults } from "./lib/driver.mjs";
import { installCleanup, reexecWithMoreFds } from "./lib/process.mjs";
import { readOptions } from "./sdk/args.mjs";
import { tcpBaseline, wakeupStalls } from "./sdk/baseline.mjs";
import { printProfile, summarise } from "./sdk/profile.mjs";
import { checkTargets, printFanout, printLatency, printRr, printTargets } from "./sdk/report.mjs";
import { fanout, latency, rr, rrKind, sdkFanout } from "./sdk/scenarios.mjs";
import { natsUnavailable, natsVersion, skeinUnavailable, startSkein } from "./sdk/servers.mjs";

async function natsClientMissing() {
  try {
    await import("@nats-io/transport-node");
    return null;
  } catch {
    return "@nats-io/transport-node is not installed";
  }
}

/** Runs the SDK case of each `opts.profile` entry with Skein under node --cpu-prof. */
async function profiles(opts) {
  const out = {};
  for (const what of opts.profile) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-prof-"));
    try {
      if (what === "fanout") {
        const server = await startSkein({ ...opts, profileDir: dir });
        try {
          await sdkFanout(server, opts);
        } finally {
          await server.stop();
        }
      } else {
        const fixedRate = what === "rr-rate";
        const r = await rrKind("sdk", opts, {
          profileDir: dir,
          throughputOnly: !fixedRate,
          latencyOnly: fixedRate,
        });
        if (r.error) throw new Error(r.error);
      }
      const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error("the server wrote no profile");
      const keep = path.join(ROOT, "bench/results", `sdk-${what}.cpuprofile`);
      fs.copyFileSync(path.join(dir, file), keep);
      out[what] = summarise(keep);
      const titles = {
        fanout: "SDK fan-out",
        rr: "SDK->SDK request-response (64 in flight)",
        "rr-rate": `SDK->SDK request-response (${opts.rrRate} requests/s)`,
      };
      printProfile(titles[what], out[what]);
      console.log(`  (profile kept in ${path.relative(process.cwd(), keep)}; open it in Chrome DevTools)`);
    } catch (err) {
      out[what] = { error: err.message };
      console.log(`\n== Server profile ${what}: error: ${err.message.split("\n")[0]}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

async function main() {
  const opts = optionsOrExit(readOptions);
  if (reexecWithMoreFds(2 * opts.subscribers + 1000)) return;
  installCleanup(killAll, "servers");
  const why = skeinUnavailable();
  if (why) {
    console.error(`bench: ${why}`);
    process.exit(2);
  }
  const skip = {};
  if (opts.scenarios.includes("rr") && opts.rrKinds.includes("nats")) {
    const missing = natsUnavailable() ?? (await natsClientMissing());
    if (missing) skip.nats = missing;
  }
  const versions = {
    skein: JSON.parse(fs.readFileSync(path.join(ROOT, "packages/server/package.json"), "utf8")).version,
    nats: skip.nats ? null : opts.rrKinds.includes("nats") ? natsVersion() : null,
  };
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

  for (const name of opts.scenarios) {
    if (name === "fanout") printFanout(opts, (results.scenarios.fanout = await fanout(opts)));
    if (name === "latency") printLatency(opts, (results.scenarios.latency = await latency(opts)));
    if (name === "rr") printRr(opts, (results.scenarios.rr = await rr(opts, skip)));
  }
  if (opts.profile.length > 0) results.profiles = await profiles(opts);

  results.targets = checkTargets(results.scenarios, opts, results.meta);
  printTargets(results.targets);
  writeResults(results, opts.out);
}

runMain(main, killAll);
