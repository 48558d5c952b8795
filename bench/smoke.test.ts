/**
 * A one-second run of the bench driver (bench/run.mjs) so it cannot rot: two MQTT scenarios against
 * Skein only and one SDK scenario, and the JSON results they write. Needs the built server
 * (packages/server/dist, as `npm test` builds it first). Figures are not judged, only that every
 * scenario measured something and the result files keep their fields.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-bench-smoke-"));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `node <script> <args>` in the repository root; its output, or a failure carrying the output. */
async function node(script: string, args: string[]): Promise<string> {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("BENCH_")) delete env[name];
  const { stdout } = await run(process.execPath, [script, ...args], {
    cwd: ROOT,
    env,
    timeout: 150_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Every option of `usage`: the --names at the start of its lines. */
const optionNames = (usage: string): string[] =>
  [...usage.matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((m) => m[1] ?? "").sort();

describe("bench driver", () => {
  it("--help lists every option of both former drivers; run-sdk.mjs keeps its own", async () => {
    const all = optionNames(await node("bench/run.mjs", ["--help"]));
    const sdk = optionNames(await node("bench/run-sdk.mjs", ["--help"]));
    expect(sdk).toEqual(
      [
        "--scenarios",
        "--duration",
        "--repeat",
        "--warmup",
        "--payload",
        "--subscribers",
        "--sdk-workers",
        "--window",
        "--inflight",
        "--batch",
        "--rate",
        "--latency-subs",
        "--mqtt",
        "--rr-kinds",
        "--rr-payload",
        "--rr-inflight",
        "--rr-conns",
        "--rr-rate",
        "--profile",
        "--out",
        "--start-timeout",
        "--skein-args",
      ].sort(),
    );
    const mqtt = [
      ...["--brokers", "--publishers", "--idle-conns", "--nodelay", "--sdk-out", "--startup-scale"],
      ...["--pin", "--skein-node-args"],
    ];
    expect(all).toEqual([...new Set([...sdk, ...mqtt])].sort());
  });

  it("runs MQTT and SDK scenarios for one second each and writes their JSON results", async () => {
    const mqttOut = path.join(dir, "mqtt.json");
    const sdkOut = path.join(dir, "sdk.json");
    const out = await node("bench/run.mjs", [
      ...["--brokers", "skein,node-relay", "--scenarios", "fanin,latency,sdk-fanout"],
      ...["--duration", "1", "--warmup", "0", "--repeat", "1"],
      ...["--subscribers", "20", "--sdk-workers", "1", "--rate", "500", "--latency-subs", "2"],
      ...["--out", mqttOut, "--sdk-out", sdkOut],
    ]);
    expect(out).toContain("== Targets (Skein)");
    expect(out).toContain("== Targets (SDK door)");

    const mqtt = JSON.parse(fs.readFileSync(mqttOut, "utf8"));
    expect(mqtt.meta.options).toMatchObject({
      brokers: ["skein", "node-relay"],
      scenarios: ["fanin", "latency"],
    });
    const fanin = mqtt.scenarios.fanin;
    expect(fanin.brokers["node-relay"]).toBeUndefined(); // the bare relay runs the latency scenario only
    expect(Object.keys(fanin)).toEqual(["title", "brokers", "ratios"]);
    expect(fanin.brokers.skein.error).toBeUndefined();
    expect(fanin.brokers.skein.msgsPerSec).toBeGreaterThan(0);
    expect(fanin.brokers.skein).toHaveProperty("brokerCpu");
    expect(fanin.brokers.skein).toHaveProperty("loss");
    const latency = mqtt.scenarios.latency.brokers.skein;
    expect(latency.error).toBeUndefined();
    expect(latency.msgsPerSec).toBeGreaterThan(0);
    expect(latency.p99Ms).toBeGreaterThan(0);
    expect(latency.gc).toHaveProperty("scavenges"); // the GC probe of Skein's child
    expect(latency.serverLoop).toHaveProperty("maxMs"); // and its event-loop delay
    expect(latency.subLoop).toHaveProperty("maxMs"); // the load generator's
    const relay = mqtt.scenarios.latency.brokers["node-relay"];
    expect(relay.error).toBeUndefined();
    expect(relay.msgsPerSec).toBeGreaterThan(0); // the floor relays every message
    expect(mqtt.scenarios.latency.ratios).toHaveProperty("Skein/Node relay");
    expect(Array.isArray(mqtt.targets)).toBe(true);

    const sdk = JSON.parse(fs.readFileSync(sdkOut, "utf8"));
    expect(sdk.meta.options).toMatchObject({ scenarios: ["fanout"], duration: 1, repeat: 1 });
    const fanout = sdk.scenarios.fanout;
    for (const door of ["sdk", "mqtt"]) {
      expect(fanout[door].error).toBeUndefined();
      expect(fanout[door].deliveredPerSec).toBeGreaterThan(0);
      expect(fanout[door].publishedPerSec).toBeGreaterThan(0);
      expect(fanout[door]).toHaveProperty("serverCpu");
    }
    expect(sdk.targets.map((t: { target: string }) => t.target)).toEqual([
      "fan-out: SDK >= 0.8x MQTT deliveries/s",
    ]);
  }, 180_000);

  it("runs the storage and security scenarios briefly (anchors not installed are skipped)", async () => {
    const out = path.join(dir, "own.json");
    const stdout = await node("bench/run.mjs", [
      ...["--scenarios", "storage,security", "--duration", "0.5", "--warmup", "0"],
      ...["--startup-scale", "0.001", "--publishers", "2", "--subscribers", "3", "--out", out],
    ]);
    expect(stdout).toContain("== Targets (storage)");
    expect(stdout).toContain("== Targets (security)");
    const { scenarios, targets } = JSON.parse(fs.readFileSync(out, "utf8"));
    const { appends, sync, persistentFanIn, startup, rangeQuery } = scenarios.storage;
    for (const engine of ["memory", "sqlite"]) {
      expect(appends[engine].error).toBeUndefined();
      expect(appends[engine].oneSeries).toBeGreaterThan(0);
      expect(appends[engine].roundRobin).toBeGreaterThan(0);
      expect(persistentFanIn[engine].msgsPerSec).toBeGreaterThan(0);
    }
    // An anchor is measured or skipped (its binary not on PATH), never failed.
    for (const anchor of [appends.redis, appends.jetstream, persistentFanIn.mosquitto]) {
      expect(anchor.error).toBeUndefined();
      if (!anchor.skipped) expect(anchor.oneSeries ?? anchor.msgsPerSec).toBeGreaterThan(0);
    }
    expect(rangeQuery.skein).toBeGreaterThan(0);
    expect(sync.normal.singleP50Ms).toBeGreaterThan(0);
    expect(sync.full.oneSeries).toBeGreaterThan(0);
    expect(startup.error).toBeUndefined();
    expect(startup.startupMs).toBeGreaterThan(0);

    const { cases, connect } = scenarios.security;
    for (const kind of ["fanin", "fanout", "rr"]) {
      for (const side of ["on", "off"]) {
        expect(cases[kind][side].error).toBeUndefined();
        expect(cases[kind][side].msgsPerSec).toBeGreaterThan(0);
      }
    }
    expect(connect.skeinScrypt.connectsPerSec).toBeGreaterThan(0);
    if (!connect.mosquittoPasswd.skipped) expect(connect.mosquittoPasswd.connectsPerSec).toBeGreaterThan(0);
    expect(targets.map((t: { target: string }) => t.target)).toContain("fanin: security on >= 0.9x off");
  }, 300_000);
});
