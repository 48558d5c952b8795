// @ts-check
// The storage part of the bench (issue 9 §4), one run, the same load shape as the other scenarios
// (Node clients in the bench process, 64 awaited in flight, each server pinned to one core):
// - time series appends/s through the SDK (`session.timeseries.append`, resolved once committed) to
//   1 series and round-robin to 1,000 series, Skein on sqlite and on memory; anchors: Redis XADD
//   (AOF, appendfsync everysec) and NATS JetStream acknowledged publishes (file store), when their
//   binaries are on PATH;
// - the commit cost of each storage.sync mode: appends/s at 64 in flight and one append at a time
//   (p50/p99 ms) with sync normal and full;
// - one 10,000-event range query (ms, median of 9 after 5 untimed; the first query's time too) against
//   Redis XRANGE of 10,000 entries, treated alike;
// - QoS 1 fan-in into a topic an offline persistent session subscribes to (every message queued for
//   it), Skein sqlite vs memory vs Mosquitto with `persistence true`;
// - start-up with a data set (100,000 retained topics, 1,000,000 time series events over 1,000
//   series, 1,000 persistent sessions with 100 queued messages each; --startup-scale shrinks it),
//   written once through the sqlite engine's API, then `skein` started on it until it accepts
//   connections.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import mqtt from "mqtt";
import {
  Resp,
  mosquittoUnavailable,
  natsUnavailable,
  redisUnavailable,
  startJetStream,
  startMosquittoWith,
  startRedis,
  startSkeinWith,
  versionOf,
} from "../lib/anchors.mjs";
import { freePort, startServer } from "../lib/child.mjs";
import { pinned } from "../lib/anchors.mjs";
import { int, loadAverage, over, rate, serverCpu, target } from "../lib/load.mjs";
import { percentiles } from "../lib/stats.mjs";

/** @typedef {import("../lib/args.mjs").MqttOptions} MqttOptions */
/** @typedef {import("../lib/types.js").Figures} Figures */

const SERIES = 1000;
const RANGE = 10_000;
const VALUE = Buffer.alloc(8); // an 8-byte value everywhere (a double for Skein)
VALUE.writeDoubleLE(21.5);

/** Skein's bounds here: queues big enough that nothing is dropped in a window. */
const SKEIN_BOUNDS = {
  mqtt: {
    maxQueuedMessages: 10_000_000,
    maxQueuedBytes: 2_000_000_000,
    maxQueuedBytesTotal: 4_000_000_000,
    maxInflight: 1000,
  },
};

/** Server CPU µs per operation, as printed. @param {number | null | undefined} v */
const us = (v) => (v == null ? "- µs CPU" : `${v.toFixed(1)} µs CPU`);

/** @param {unknown} err */
const msg = (err) => (err instanceof Error ? err.message : String(err));

/**
 * A time series of doubles at `path`.
 * @param {any} session
 * @param {string} p
 * @param {number} [count] retained events
 */
const addSeries = (session, p, count = 100_000) =>
  session.topics.add(p, {
    type: "time-series",
    properties: { eventType: "double", retainedRange: { count } },
  });

/**
 * Appends/s through the SDK and a range query, on Skein with `store` (and `sync`).
 * @param {"memory" | "sqlite"} store
 * @param {MqttOptions} opts
 * @param {{ sync?: "normal" | "full", single?: boolean, query?: boolean, roundRobin?: boolean }} what
 */
async function skeinAppends(store, opts, what) {
  const config = what.sync ? { storage: { sync: what.sync } } : {};
  const server = await startSkeinWith({ store, config, startTimeout: opts.startTimeout });
  const { connect } = await import("@skein/sdk");
  /** @type {any} */
  const session = await connect(/** @type {string} */ (server.sdkUrl), {
    reconnect: false,
    heartbeatMs: 0,
    requestTimeoutMs: 60_000,
  });
  /** @type {Figures} */
  const r = {};
  try {
    await addSeries(session, "bench/one");
    const ts = session.timeseries;
    const cpu = serverCpu(server);
    const one = await rate(() => ts.append("bench/one", "double", 21.5), {
      seconds: opts.duration,
      warmupS: opts.warmup,
      onStart: cpu.start,
    });
    r.oneSeries = one.perSec;
    r.oneSeriesCpuUs = cpu.usPer(one.done);
    if (one.errors) r.errors = one.firstError;
    if (what.roundRobin) {
      const paths = Array.from({ length: SERIES }, (_, i) => `bench/rr/${i}`);
      for (let i = 0; i < SERIES; i += 100)
        await Promise.all(paths.slice(i, i + 100).map((p) => addSeries(session, p, 10_000)));
      const rr = await rate((i) => ts.append(paths[i % SERIES], "double", 21.5), {
        seconds: opts.duration,
        warmupS: opts.warmup,
        onStart: cpu.start,
      });
      r.roundRobin = rr.perSec;
      r.roundRobinCpuUs = cpu.usPer(rr.done);
      if (rr.errors) r.errors ??= rr.firstError;
    }
    if (what.single) {
      // One append at a time: the latency of a commit.
      /** @type {number[]} */
      const samples = [];
      await rate(
        async () => {
          const t = performance.now();
          await ts.append("bench/one", "double", 1);
          samples.push(performance.now() - t);
        },
        { seconds: Math.min(opts.duration, 2), inFlight: 1, max: 5000 },
      );
      const p = percentiles(Float64Array.from(samples));
      r.singleP50Ms = p.p50Ms;
      r.singleP99Ms = p.p99Ms;
    }
    if (what.query) {
      await addSeries(session, "bench/range", RANGE * 2);
      await rate((i) => ts.append("bench/range", "double", i), { seconds: 600, max: RANGE });
      const q = ts.rangeQuery().fromStart().limit(RANGE);
      const timed = await timeQueries(async () => {
        const res = await q.selectFrom("bench/range");
        if (res.events.length !== RANGE) throw new Error(`range query returned ${res.events.length} events`);
      });
      r.rangeQueryMs = timed.medianMs;
      r.rangeQueryFirstMs = timed.firstMs;
    }
  } finally {
    await session.close().catch(() => {});
    await server.stop();
  }
  return r;
}

/** Queries run before the timed ones: a running server has its query path compiled (V8 optimises it over the first few). */
const QUERY_WARMUP = 5;
/** Timed queries; the median is reported. */
const QUERY_TIMED = 9;

/**
 * Runs `query` QUERY_WARMUP times, then QUERY_TIMED times timed: the first query's time (cold) and
 * the timed median (warm). Skein and Redis get the same treatment.
 * @param {() => Promise<void>} query
 */
async function timeQueries(query) {
  /** @type {number[]} */
  const times = [];
  let firstMs = NaN;
  for (let k = 0; k < QUERY_WARMUP + QUERY_TIMED; k++) {
    const t = performance.now();
    await query();
    const ms = performance.now() - t;
    if (k === 0) firstMs = ms;
    if (k >= QUERY_WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { firstMs, medianMs: /** @type {number} */ (times[Math.floor(times.length / 2)]) };
}

/** Redis XADD (1 stream and round-robin over 1,000) and XRANGE of 10,000 entries. @param {MqttOptions} opts */
async function redisFigures(opts) {
  const server = await startRedis(opts);
  /** @type {Resp} */
  const redis = await Resp.connect(/** @type {number} */ (server.port));
  const cpu = serverCpu(server);
  try {
    const one = await rate(() => redis.command("XADD", "one", "*", "v", VALUE), {
      seconds: opts.duration,
      warmupS: opts.warmup,
      onStart: cpu.start,
    });
    const oneSeriesCpuUs = cpu.usPer(one.done);
    const rr = await rate((i) => redis.command("XADD", `rr:${i % SERIES}`, "*", "v", VALUE), {
      seconds: opts.duration,
      warmupS: opts.warmup,
      onStart: cpu.start,
    });
    const roundRobinCpuUs = cpu.usPer(rr.done);
    await rate((i) => redis.command("XADD", "range", "*", "v", String(i)), { seconds: 600, max: RANGE });
    const timed = await timeQueries(async () => {
      const res = await redis.command("XRANGE", "range", "-", "+", "COUNT", RANGE);
      if (!Array.isArray(res) || res.length !== RANGE) throw new Error("XRANGE returned a short reply");
    });
    return {
      oneSeries: one.perSec,
      roundRobin: rr.perSec,
      oneSeriesCpuUs,
      roundRobinCpuUs,
      rangeQueryMs: timed.medianMs,
      rangeQueryFirstMs: timed.firstMs,
      errors: one.firstError ?? rr.firstError,
    };
  } finally {
    redis.close();
    await server.stop();
  }
}

/** NATS JetStream acknowledged publishes (file store), 1 subject and round-robin over 1,000. @param {MqttOptions} opts */
async function jetStreamFigures(opts) {
  const server = await startJetStream(opts);
  const { connect } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: `127.0.0.1:${server.port}` });
  try {
    // The stream, through the JetStream API subject (no JetStream client library needed).
    const created = await nc.request(
      "$JS.API.STREAM.CREATE.BENCH",
      JSON.stringify({ name: "BENCH", subjects: ["ts.>"], storage: "file", retention: "limits" }),
      { timeout: 10_000 },
    );
    const reply = JSON.parse(created.string());
    if (reply.error) throw new Error(`stream create: ${reply.error.description}`);
    /** @param {string} subject */
    const publish = async (subject) => {
      const ack = await nc.request(subject, VALUE, { timeout: 10_000 });
      if (ack.data.length === 0 || ack.data[2] !== 0x73 /* {"stream": */) {
        const text = ack.string();
        if (!text.includes('"stream"')) throw new Error(`no publish ack: ${text}`);
      }
    };
    const cpu = serverCpu(server);
    const w = { seconds: opts.duration, warmupS: opts.warmup, onStart: cpu.start };
    const one = await rate(() => publish("ts.one"), w);
    const oneSeriesCpuUs = cpu.usPer(one.done);
    const rr = await rate((i) => publish(`ts.rr.${i % SERIES}`), w);
    return {
      oneSeries: one.perSec,
      roundRobin: rr.perSec,
      oneSeriesCpuUs,
      roundRobinCpuUs: cpu.usPer(rr.done),
      errors: one.firstError ?? rr.firstError,
    };
  } finally {
    await nc.close();
    await server.stop();
  }
}

/**
 * QoS 1 publishes/s (PUBACKs) into `fanin/#`, which an offline persistent session subscribes to.
 * @param {{ port?: number, stop: () => Promise<void>, cpuSeconds: () => number }} broker
 * @param {MqttOptions} opts
 */
async function persistentFanIn(broker, opts) {
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const base = { reconnectPeriod: 0, protocolVersion: /** @type {4} */ (4) };
  const keeper = await mqtt.connectAsync(url, { ...base, clientId: "bench-keeper", clean: false });
  await keeper.subscribeAsync("fanin/#", { qos: 1 });
  await keeper.endAsync();
  const n = Math.min(opts.publishers, 64);
  const pubs = await Promise.all(
    Array.from({ length: n }, (_, i) => mqtt.connectAsync(url, { ...base, clientId: `bench-pub-${i}` })),
  );
  const payload = Buffer.alloc(opts.payload, 7);
  const cpu = serverCpu(broker);
  try {
    const r = await rate((i) => pubs[i % n].publishAsync(`fanin/${i % n}`, payload, { qos: 1 }), {
      seconds: opts.duration,
      warmupS: opts.warmup,
      onStart: cpu.start,
    });
    return { msgsPerSec: r.perSec, cpuUsPerMsg: cpu.usPer(r.done), errors: r.firstError };
  } finally {
    await Promise.all(pubs.map((c) => c.endAsync().catch(() => {})));
    await broker.stop();
  }
}

/**
 * Writes the start-up data set into `dir` through the sqlite engine's API.
 * @param {string} dir
 * @param {number} scale
 */
async function populate(dir, scale) {
  const { SqliteStorage } = await import("../../packages/server/dist/storage/sqlite-store.js");
  const storage = SqliteStorage.open({ dataDir: dir, maxBatchSize: 50_000, maxBatchDelayMs: 0 });
  const counts = {
    retained: Math.round(100_000 * scale),
    events: Math.round(1_000_000 * scale),
    sessions: Math.max(1, Math.round(1000 * scale)),
    queuedPerSession: 100,
  };
  const series = Math.min(SERIES, counts.events) || 1;
  const now = Date.now();
  for (let s = 0; s < series; s++)
    void storage.putTopic({
      path: `data/series/${s}`,
      spec: { type: "time-series", properties: { eventType: "double", retainedRange: { count: 1000 } } },
    });
  for (let i = 0; i < counts.events; i++) {
    const seq = Math.floor(i / series);
    const p = storage.appendEvent(`data/series/${i % series}`, {
      sequence: seq,
      timestamp: now + seq,
      author: "bench",
      value: VALUE,
    });
    if (i % 50_000 === 49_999) await p;
  }
  for (let i = 0; i < counts.retained; i++) {
    const p = storage.putTopic({
      path: `data/retained/${i}`,
      spec: { type: "binary", properties: { retention: "mqtt" } },
      value: { payload: VALUE, qos: 1 },
    });
    if (i % 50_000 === 49_999) await p;
  }
  for (let c = 0; c < counts.sessions; c++) {
    const clientId = `client-${c}`;
    void storage.putSession({ clientId, protocolVersion: 4, expiryIntervalSec: 0xffffffff });
    void storage.putSubscription({
      clientId,
      filter: "data/#",
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    for (let m = 0; m < counts.queuedPerSession; m++) {
      void storage.enqueueMessage({
        clientId,
        messageId: m + 1,
        topic: `data/q/${m}`,
        payload: VALUE,
        qos: 1,
        retain: false,
        state: "queued",
        dup: false,
      });
    }
    if (c % 100 === 99) await storage.flush();
  }
  await storage.close();
  return counts;
}

/**
 * Start-up time: `skein` on the data set until its MQTT and HTTP ports accept connections (polled
 * every 100 ms: the figure is that coarse), median of 3.
 * @param {MqttOptions} opts
 */
export async function startup(opts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-bench-startup-"));
  try {
    const t0 = performance.now();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "skein-bench-empty-"));
    /** Start-up time on `dataDir` (ms) and the server's output (warnings and errors). @param {string} dataDir */
    const startOn = async (dataDir) => {
      const ports = { mqtt: await freePort(), http: await freePort() };
      const [cmd, args] = pinned(process.execPath, [
        "packages/server/dist/cli.js",
        ...["--host", "127.0.0.1", "--mqtt-port", String(ports.mqtt), "--http-port", String(ports.http)],
        ...["--log-level", "warn", "--store", "sqlite", "--data-dir", dataDir],
      ]);
      const t = performance.now();
      const server = await startServer("skein-startup", cmd, args, { ports, startTimeout: 120 });
      const ms = performance.now() - t;
      await server.stop();
      return { ms, output: server.output.trim() };
    };
    let emptyMs;
    try {
      emptyMs = (await startOn(empty)).ms; // node + an empty store: the floor
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    const counts = await populate(dir, opts.startupScale);
    const populateS = (performance.now() - t0) / 1000;
    const dbBytes = fs.statSync(path.join(dir, "skein.db")).size;
    /** @type {number[]} */
    const times = [];
    let output = "";
    for (let k = 0; k < 3; k++) {
      const run = await startOn(dir);
      times.push(run.ms);
      output ||= run.output;
    }
    times.sort((a, b) => a - b);
    return { counts, populateS, dbBytes, startupMs: times[1], startupRunsMs: times, emptyMs, output };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs one part, turning a failure into { error }.
 * @param {string} what
 * @param {() => Promise<Figures>} fn
 * @returns {Promise<Figures>}
 */
async function part(what, fn) {
  try {
    return await fn();
  } catch (err) {
    console.log(`  ${what}: failed: ${msg(err)}`);
    return { error: msg(err) };
  }
}

/** @type {import("../lib/types.js").OwnScenario} */
export default {
  name: "storage",
  suite: "own",
  options: ["duration", "warmup", "publishers", "payload", "start-timeout", "startup-scale"],
  title: (opts) =>
    `storage: time series appends (64 in flight), range query, QoS 1 persistent fan-in, start-up (${opts.duration} s windows)`,
  async run(opts) {
    /** @type {Figures} */
    const r = { loadAverageBefore: loadAverage(), skipped: {}, versions: {} };
    const skip = {
      redis: redisUnavailable(),
      jetstream: natsUnavailable(),
      mosquitto: mosquittoUnavailable(),
    };
    for (const [name, why] of Object.entries(skip)) if (why) r.skipped[name] = why;
    if (!skip.redis) r.versions.redis = versionOf("redis-server", ["--version"]);
    if (!skip.jetstream) r.versions.nats = versionOf("nats-server", ["--version"]);
    for (const [name, why] of Object.entries(r.skipped)) console.log(`  skipping ${name}: ${why}`);

    console.log("  time series appends/s (SDK, 64 in flight)");
    r.appends = {
      memory: await part("memory", () => skeinAppends("memory", opts, { roundRobin: true })),
      sqlite: await part("sqlite", () => skeinAppends("sqlite", opts, { roundRobin: true, query: true })),
      redis: skip.redis ? { skipped: skip.redis } : await part("redis", () => redisFigures(opts)),
      jetstream: skip.jetstream
        ? { skipped: skip.jetstream }
        : await part("jetstream", () => jetStreamFigures(opts)),
    };
    for (const [name, f] of Object.entries(r.appends)) {
      const note = f.skipped ? `skipped (${f.skipped})` : f.error ? `error: ${f.error}` : "";
      console.log(
        `    ${name.padEnd(10)} 1 series ${int(f.oneSeries).padStart(9)}/s (${us(f.oneSeriesCpuUs)})   1,000 series round-robin ${int(f.roundRobin).padStart(9)}/s (${us(f.roundRobinCpuUs)}) ${note}`,
      );
    }
    console.log("  commit cost of storage.sync (sqlite, 1 series)");
    r.sync = {
      normal: await part("sync normal", () => skeinAppends("sqlite", opts, { sync: "normal", single: true })),
      full: await part("sync full", () => skeinAppends("sqlite", opts, { sync: "full", single: true })),
    };
    for (const [name, f] of Object.entries(r.sync))
      console.log(
        `    sync ${name.padEnd(6)} 64 in flight ${int(f.oneSeries).padStart(9)}/s   one at a time p50 ${f.singleP50Ms?.toFixed(2)} ms p99 ${f.singleP99Ms?.toFixed(2)} ms`,
      );
    r.rangeQuery = {
      skein: r.appends.sqlite.rangeQueryMs ?? null,
      redis: r.appends.redis.rangeQueryMs ?? null,
      skeinFirst: r.appends.sqlite.rangeQueryFirstMs ?? null,
      redisFirst: r.appends.redis.rangeQueryFirstMs ?? null,
    };
    console.log(
      `  ${RANGE.toLocaleString("en-US")}-event range query (median of ${QUERY_TIMED} after ${QUERY_WARMUP} untimed): Skein sqlite via SDK ${r.rangeQuery.skein?.toFixed(1)} ms; Redis XRANGE ${r.rangeQuery.redis?.toFixed(1) ?? "-"} ms (first query: ${r.rangeQuery.skeinFirst?.toFixed(1) ?? "-"} ms and ${r.rangeQuery.redisFirst?.toFixed(1) ?? "-"} ms)`,
    );

    console.log("  QoS 1 fan-in into an offline persistent session's subscription (PUBACKs/s)");
    const start = (/** @type {"memory" | "sqlite"} */ store) =>
      startSkeinWith({ store, config: SKEIN_BOUNDS, startTimeout: opts.startTimeout });
    r.persistentFanIn = {
      sqlite: await part("sqlite", async () => persistentFanIn(await start("sqlite"), opts)),
      memory: await part("memory", async () => persistentFanIn(await start("memory"), opts)),
      mosquitto: skip.mosquitto
        ? { skipped: skip.mosquitto }
        : await part("mosquitto", async () =>
            persistentFanIn(
              await startMosquittoWith({ startTimeout: opts.startTimeout, persistence: true }),
              opts,
            ),
          ),
    };
    for (const [name, f] of Object.entries(r.persistentFanIn))
      console.log(
        `    ${name.padEnd(10)} ${int(f.msgsPerSec).padStart(9)}/s (${us(f.cpuUsPerMsg)}) ${f.error ? `error: ${f.error}` : ""}`,
      );

    r.startup = await part("start-up", () => startup(opts));
    if (r.startup.counts) {
      const c = r.startup.counts;
      console.log(
        `  start-up with ${int(c.retained)} retained topics, ${int(c.events)} events, ${int(c.sessions)} sessions x ${c.queuedPerSession} queued` +
          ` (${(r.startup.dbBytes / 1e6).toFixed(0)} MB, written in ${r.startup.populateS.toFixed(1)} s): ` +
          `${int(r.startup.startupMs)} ms to accept connections (median of 3: ${r.startup.startupRunsMs.map(int).join(", ")} ms; ${int(r.startup.emptyMs)} ms on an empty data directory)`,
      );
      if (r.startup.output) console.log(`    server output: ${r.startup.output.slice(-500)}`);
    }
    r.loadAverageAfter = loadAverage();
    console.log(
      `  load average before ${r.loadAverageBefore.join(" ")}, after ${r.loadAverageAfter.join(" ")}`,
    );

    const a = r.appends;
    const f = r.persistentFanIn;
    r.targets = [
      target(
        "sqlite appends >= 1.0x JetStream (1 series)",
        over(a.sqlite.oneSeries, a.jetstream.oneSeries),
        (v) => v >= 1,
      ),
      target(
        "sqlite appends >= 1.0x JetStream (1,000 series)",
        over(a.sqlite.roundRobin, a.jetstream.roundRobin),
        (v) => v >= 1,
      ),
      target(
        "memory appends >= 1.0x Redis XADD (1 series)",
        over(a.memory.oneSeries, a.redis.oneSeries),
        (v) => v >= 1,
      ),
      target(
        "memory appends >= 1.0x Redis XADD (1,000 series)",
        over(a.memory.roundRobin, a.redis.roundRobin),
        (v) => v >= 1,
      ),
      target("range query <= 1.0x XRANGE time", over(r.rangeQuery.skein, r.rangeQuery.redis), (v) => v <= 1),
      target(
        "sqlite persistent fan-in >= 0.7x memory",
        over(f.sqlite.msgsPerSec, f.memory.msgsPerSec),
        (v) => v >= 0.7,
      ),
      target(
        "sqlite persistent fan-in >= 1.0x Mosquitto",
        over(f.sqlite.msgsPerSec, f.mosquitto.msgsPerSec),
        (v) => v >= 1,
      ),
      target(
        "server CPU per append: sqlite <= 1.0x JetStream's per publish (1 series)",
        over(a.sqlite.oneSeriesCpuUs, a.jetstream.oneSeriesCpuUs),
        (v) => v <= 1,
      ),
      target(
        "server CPU per append: memory <= 1.0x Redis's per XADD (1 series)",
        over(a.memory.oneSeriesCpuUs, a.redis.oneSeriesCpuUs),
        (v) => v <= 1,
      ),
      target(
        `start-up < 5 s${opts.startupScale === 1 ? "" : ` (data set x${opts.startupScale})`}`,
        r.startup.startupMs == null ? null : r.startup.startupMs / 1000,
        (v) => v < 5,
        "s",
      ),
    ];
    return r;
  },
};
