// @ts-check
// A/B of the storage figures of issue 9 §4 between checkouts, in one run, taking turns: for each
// build root (its server and its SDK), time series appends/s with memory and sqlite (1 series, 1,000
// round-robin) and a 10,000-event range query, with the server's and this process's CPU per operation;
// Redis XADD/XRANGE and JetStream anchors after each round. The load shape of the storage scenario
// (64 in flight, server pinned to CPU 0).
//
//   node bench/storage-ab.mjs --roots=/path/to/baseline,. [--repeat=2] [--seconds=3] [--warmup=1]
//     [--parts=mem1,memrr,sql1,sqlrr,query,redis,js] [--prof=DIR (server --cpu-prof)] [--out=FILE]
//     [--queries=10] [--query-warmup=1]
//
// The range query (Skein) and XRANGE (Redis) each run --query-warmup untimed times, then --queries
// timed times: the median wall time, and the CPU per query over the timed ones (the warm-up left out).
// A freshly started server's first queries run before V8 has optimized the query path (a few times
// slower than later ones), so a larger --query-warmup gives the steady state.
//
// Each root must be built (npm run build) and have its node_modules. Not part of npm run bench.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startServer, freePort, killAll, ROOT } from "./lib/child.mjs";
import { pinned, startRedis, Resp, startJetStream } from "./lib/anchors.mjs";
import { rate, serverCpu, loadAverage } from "./lib/load.mjs";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const roots = (args.roots ?? ROOT).split(",").map((/** @type {string} */ r) => path.resolve(r));
const seconds = Number(args.seconds ?? 3),
  warmupS = Number(args.warmup ?? 1),
  repeat = Number(args.repeat ?? 2);
const parts = (args.parts ?? "mem1,memrr,sql1,sqlrr,query,redis,js").split(",");
const prof = args.prof; // dir: server --cpu-prof
const queries = Number(args.queries ?? 10),
  queryWarmup = Number(args["query-warmup"] ?? 1);
const SERIES = 1000,
  RANGE = 10000;

/**
 * @param {string} root
 * @param {"memory" | "sqlite"} store
 * @param {string} tag
 */
async function startSkein(root, store, tag) {
  const ports = { mqtt: await freePort(), http: await freePort() };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ab-skein-"));
  const node = prof
    ? [process.execPath, "--cpu-prof", `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${tag}.cpuprofile`]
    : [process.execPath];
  const [cmd, a] = pinned(node[0], [
    ...node.slice(1),
    path.join(root, "packages/server/dist/cli.js"),
    "--host",
    "127.0.0.1",
    "--mqtt-port",
    String(ports.mqtt),
    "--http-port",
    String(ports.http),
    "--log-level",
    "warn",
    "--store",
    store,
    "--data-dir",
    dir,
  ]);
  const s = await startServer("skein", cmd, a, { ports, dir, startTimeout: 30, termWaitS: 10 });
  s.sdkUrl = `ws://127.0.0.1:${ports.http}/sdk`;
  return s;
}
/** @param {any} session @param {string} p */
const addSeries = (session, p, count = 100_000) =>
  session.topics.add(p, {
    type: "time-series",
    properties: { eventType: "double", retainedRange: { count } },
  });

/**
 * @param {string} root
 * @param {"memory" | "sqlite"} store
 * @param {{ one?: boolean, rr?: boolean, query?: boolean }} what
 * @param {string} tag
 * @returns {Promise<Record<string, any>>}
 */
async function skein(root, store, what, tag) {
  const server = await startSkein(root, store, tag);
  const { connect } = await import(path.join(root, "packages/sdk/dist/index.js"));
  const session = await connect(server.sdkUrl, { reconnect: false, heartbeatMs: 0, requestTimeoutMs: 60000 });
  const r = {};
  const scpu = serverCpu(server);
  /** @type {NodeJS.CpuUsage | undefined} */
  let c0;
  const cpu = {
    start: () => {
      scpu.start();
      c0 = process.cpuUsage();
    },
    usPer: (/** @type {number} */ n) => scpu.usPer(n) ?? NaN,
    cli: (/** @type {number} */ n) => {
      const u = process.cpuUsage(c0);
      return (u.user + u.system) / n;
    },
  };
  try {
    const ts = session.timeseries;
    if (what.one) {
      await addSeries(session, "bench/one");
      const x = await rate(() => ts.append("bench/one", "double", 21.5), {
        seconds,
        warmupS,
        onStart: cpu.start,
      });
      r.one = x.perSec;
      r.oneCpu = cpu.usPer(x.done);
      r.oneCli = cpu.cli(x.done);
      if (x.errors) r.err = x.firstError;
    }
    if (what.rr) {
      const paths = Array.from({ length: SERIES }, (_, i) => `bench/rr/${i}`);
      for (let i = 0; i < SERIES; i += 100)
        await Promise.all(paths.slice(i, i + 100).map((p) => addSeries(session, p, 10_000)));
      const x = await rate((i) => ts.append(paths[i % SERIES], "double", 21.5), {
        seconds,
        warmupS,
        onStart: cpu.start,
      });
      r.rr = x.perSec;
      r.rrCpu = cpu.usPer(x.done);
      r.rrCli = cpu.cli(x.done);
      if (x.errors) r.err = x.firstError;
    }
    if (what.query) {
      await addSeries(session, "bench/range", RANGE * 2);
      await rate((i) => ts.append("bench/range", "double", i), { seconds: 600, max: RANGE });
      const q = ts.rangeQuery().fromStart().limit(RANGE);
      const times = [];
      for (let k = 0; k < queryWarmup + queries; k++) {
        if (k === queryWarmup) cpu.start();
        const t = performance.now();
        const res = await q.selectFrom("bench/range");
        if (k === 0) r.firstQueryMs = performance.now() - t;
        if (k >= queryWarmup) times.push(performance.now() - t);
        if (res.events.length !== RANGE) throw new Error(`range ${res.events.length}`);
      }
      r.qCpuMs = cpu.usPer(queries) / 1000;
      r.qCliMs = cpu.cli(queries) / 1000;
      times.sort((a, b) => a - b);
      r.queryMs = times[times.length >> 1];
    }
  } finally {
    await session.close().catch(() => {});
    await server.stop();
  }
  return r;
}
async function redis() {
  const server = await startRedis({ startTimeout: 30 });
  const c = await Resp.connect(/** @type {number} */ (server.port));
  const cpu = serverCpu(server);
  const V = Buffer.alloc(8);
  try {
    const one = await rate(() => c.command("XADD", "one", "*", "v", V), {
      seconds,
      warmupS,
      onStart: cpu.start,
    });
    const oneCpu = cpu.usPer(one.done);
    const rr = await rate((i) => c.command("XADD", `rr:${i % SERIES}`, "*", "v", V), {
      seconds,
      warmupS,
      onStart: cpu.start,
    });
    const rrCpu = cpu.usPer(rr.done);
    await rate((i) => c.command("XADD", "range", "*", "v", String(i)), { seconds: 600, max: RANGE });
    const times = [];
    for (let k = 0; k < queryWarmup + queries; k++) {
      if (k === queryWarmup) cpu.start();
      const t = performance.now();
      await c.command("XRANGE", "range", "-", "+", "COUNT", RANGE);
      if (k >= queryWarmup) times.push(performance.now() - t);
    }
    const qCpuMs = (cpu.usPer(queries) ?? NaN) / 1000;
    times.sort((a, b) => a - b);
    return { one: one.perSec, oneCpu, rr: rr.perSec, rrCpu, queryMs: times[times.length >> 1], qCpuMs };
  } finally {
    c.close();
    await server.stop();
  }
}
async function js() {
  const server = await startJetStream({ startTimeout: 30 });
  const { connect } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: `127.0.0.1:${server.port}` });
  const V = Buffer.alloc(8);
  try {
    await nc.request(
      "$JS.API.STREAM.CREATE.BENCH",
      JSON.stringify({ name: "BENCH", subjects: ["ts.>"], storage: "file", retention: "limits" }),
      { timeout: 10000 },
    );
    const cpu = serverCpu(server);
    const pub = (/** @type {string} */ s) => nc.request(s, V, { timeout: 10000 });
    const one = await rate(() => pub("ts.one"), { seconds, warmupS, onStart: cpu.start });
    const oneCpu = cpu.usPer(one.done);
    const rr = await rate((i) => pub(`ts.rr.${i % SERIES}`), { seconds, warmupS, onStart: cpu.start });
    return { one: one.perSec, oneCpu, rr: rr.perSec, rrCpu: cpu.usPer(rr.done) };
  } finally {
    await nc.close();
    await server.stop();
  }
}
const results = [];
console.log("load before", loadAverage().join(" "));
for (let k = 0; k < repeat; k++) {
  for (const root of roots) {
    const name = path.basename(root);
    const row = { k, name };
    if (parts.includes("mem1") || parts.includes("memrr"))
      Object.assign(
        row,
        prefix(
          "mem",
          await skein(
            root,
            "memory",
            { one: parts.includes("mem1"), rr: parts.includes("memrr") },
            `${name}-mem-${k}`,
          ),
        ),
      );
    if (parts.includes("sql1") || parts.includes("sqlrr") || parts.includes("query"))
      Object.assign(
        row,
        prefix(
          "sql",
          await skein(
            root,
            "sqlite",
            { one: parts.includes("sql1"), rr: parts.includes("sqlrr"), query: parts.includes("query") },
            `${name}-sql-${k}`,
          ),
        ),
      );
    console.log(JSON.stringify(row, (key, v) => (typeof v === "number" ? Number(v.toFixed(2)) : v)));
    results.push(row);
  }
  if (parts.includes("redis")) {
    const r = await redis();
    console.log(
      "redis",
      JSON.stringify(r, (key, v) => (typeof v === "number" ? Number(v.toFixed(2)) : v)),
    );
    results.push({ k, name: "redis", ...r });
  }
  if (parts.includes("js")) {
    const r = await js();
    console.log(
      "jetstream",
      JSON.stringify(r, (key, v) => (typeof v === "number" ? Number(v.toFixed(2)) : v)),
    );
    results.push({ k, name: "js", ...r });
  }
}
console.log("load after", loadAverage().join(" "));
/** @param {string} p @param {Record<string, any>} o */
function prefix(p, o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k[0].toUpperCase() + k.slice(1), v]));
}
if (args.out) fs.writeFileSync(args.out, JSON.stringify(results, null, 1));
killAll?.();
process.exit(0);
