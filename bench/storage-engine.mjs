// @ts-check
// Micro-benchmark of the storage engines alone (issue 9), in one process, without the server or its
// doors: what the engines and the time series core cost, before they are wired into the server.
//
//   npm run build --silent && node bench/storage-engine.mjs [--seconds 2] [--skip-startup | --startup-only]
//
// Prints:
// - time series appends/s (TimeSeriesLog.append, each awaited until committed, 64 in flight) to 1
//   series and round-robin to 1,000 series, memory and sqlite (sync normal, maxBatchDelayMs 2), over
//   1,000,000 (memory) or 300,000 (sqlite) appends or `--seconds`, whichever ends first;
// - a 10,000-event range query (selectRange, values view, whole series) in ms;
// - commit latency of one awaited write at a time per sync mode (p50/p99), and appends/s with 64 in
//   flight per sync mode;
// - start-up: open + load() of a database holding 1,000,000 events (1,000 series), 100,000 retained
//   topics and 10,000 sessions x 100 queued messages, and warming the 1,000 series' RAM windows.
// Not part of npm test. Data goes to a temporary directory that is removed at the end.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { selectRange } from "../packages/server/dist/core/timeseries/evaluate.js";
import { DEFAULT_RANGE_QUERY } from "../packages/server/dist/core/timeseries/range-query.js";
import { TimeSeriesLog } from "../packages/server/dist/core/timeseries/series.js";
import { MemoryStorage } from "../packages/server/dist/storage/memory-store.js";
import { SqliteStorage } from "../packages/server/dist/storage/sqlite-store.js";

/** @typedef {import("../packages/server/dist/core/storage.js").Storage} Storage */
/** @typedef {import("../packages/server/dist/core/storage.js").SeriesRecord} SeriesRecord */
/** @typedef {Parameters<typeof SqliteStorage.open>[0]} SqliteStorageOptions */
/** @typedef {"memory" | "sqlite"} Kind */
/** @typedef {NonNullable<SqliteStorageOptions["sync"]>} Sync */
/**
 * What loading the start-up data set took.
 * @typedef {object} Loaded
 * @property {number} loadMs open + load(), wall clock
 * @property {number} cpuMs open + load(), CPU (user + system)
 * @property {number} warmMs warming every series' window
 * @property {Record<string, number>} counts records loaded, by kind
 */

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf("--seconds") + 1]) || 2;
const skipStartup = args.includes("--skip-startup");
const startupOnly = args.includes("--startup-only");
// --startup-dir DIR: populate the start-up data set there once and keep it (later runs only load it).
const startupDir = args.includes("--startup-dir") ? args[args.indexOf("--startup-dir") + 1] : undefined;
const root = mkdtempSync(join(tmpdir(), "skein-bench-storage-"));
let dirs = 0;
const freshDir = () => join(root, `d${dirs++}`);
const VALUE = new Uint8Array(100).fill(42);
/** @param {number} n */
const fmt = (n) => Math.round(n).toLocaleString("en-US");

/**
 * A fresh engine; sqlite in a new directory of its own.
 * @param {Kind} kind
 * @param {Omit<SqliteStorageOptions, "dataDir">} [options] sqlite only
 * @returns {Storage}
 */
function engine(kind, options = {}) {
  return kind === "memory" ? new MemoryStorage() : SqliteStorage.open({ dataDir: freshDir(), ...options });
}

/**
 * Appends `total` events (or as many as fit in `seconds`), `inFlight` awaited at a time, spread over
 * `seriesCount` series. The memory engine settles in a microtask, so the stop test is a clock read,
 * not a timer.
 * @param {Storage} storage
 * @param {number} seriesCount
 * @param {number} total
 * @param {number} [inFlight]
 * @returns {Promise<number>} appends/s
 */
async function appendRate(storage, seriesCount, total, inFlight = 64) {
  const logs = Array.from(
    { length: seriesCount },
    (_, i) => new TimeSeriesLog(`bench/s${i}`, storage, { recentWindow: 16 }),
  );
  let n = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (n < total && (n & 1023 || performance.now() < deadline)) {
      const log = logs[n++ % seriesCount];
      await log.append(VALUE, "bench", Date.now()).committed;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / ((performance.now() - started) / 1000);
}

/**
 * A 10,000-event range query over one whole series, 7 times.
 * @param {Kind} kind
 * @returns {Promise<{ count: number, median: number, min: number }>} events returned; ms
 */
async function rangeQueryMs(kind) {
  const storage = engine(kind);
  const log = new TimeSeriesLog("bench/range", storage);
  for (let i = 0; i < 10_000; i++) void log.append(VALUE, "bench", 1_000_000 + i);
  await storage.flush();
  /** @type {number[]} */
  const times = [];
  let count = 0;
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    count = (await selectRange(log, DEFAULT_RANGE_QUERY)).events.length;
    times.push(performance.now() - t);
  }
  await storage.close();
  times.sort((a, b) => a - b);
  return { count, median: times[3], min: times[0] };
}

/**
 * Latency of one awaited sqlite write at a time.
 * @param {Sync} sync
 * @returns {Promise<{ p50: number, p99: number }>} ms
 */
async function commitLatency(sync) {
  const storage = engine("sqlite", { sync, maxBatchDelayMs: 0 });
  /** @type {number[]} */
  const times = [];
  for (let i = 0; i < 400; i++) {
    const t = performance.now();
    await storage.putTopic({
      path: `lat/${i}`,
      spec: { type: "binary" },
      value: { payload: VALUE, qos: 1 },
    });
    times.push(performance.now() - t);
  }
  await storage.close();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)], p99: times[Math.floor(times.length * 0.99)] };
}

/**
 * Populates the start-up data set (unless `--startup-dir` holds it already), then loads it twice.
 * @returns {Promise<{ populateS: number, size: number, full: Loaded, lazy: Loaded }>}
 */
async function startup() {
  const dataDir = startupDir ?? freshDir();
  const populateS = existsSync(join(dataDir, "skein.db")) ? 0 : await populate(dataDir);
  const size = statSync(join(dataDir, "skein.db")).size;

  const full = await load(dataDir, true);
  const lazy = await load(dataDir, false);
  return { populateS, size, full, lazy };
}

/**
 * Opens and loads `dataDir` (with or without the queued messages), then warms every series' window.
 * @param {string} dataDir
 * @param {boolean} messages
 * @returns {Promise<Loaded>}
 */
async function load(dataDir, messages) {
  const cpu = process.cpuUsage();
  const t1 = performance.now();
  const storage = SqliteStorage.open({ dataDir });
  /** @type {Record<string, number>} */
  const counts = {};
  /** @type {SeriesRecord[]} */
  const series = [];
  for await (const batch of storage.load({ messages })) {
    for (const r of batch) {
      counts[r.kind] = (counts[r.kind] ?? 0) + 1;
      if (r.kind === "series") series.push(r.record);
    }
  }
  const loadMs = performance.now() - t1;
  const used = process.cpuUsage(cpu);
  const t2 = performance.now();
  for (const record of series)
    await new TimeSeriesLog(record.path, storage, { recentWindow: 64 }, record).warm();
  const warmMs = performance.now() - t2;
  await storage.close();
  return { loadMs, cpuMs: (used.user + used.system) / 1000, warmMs, counts };
}

/**
 * Writes the start-up data set into `dataDir`; returns the seconds it took.
 * @param {string} dataDir
 * @returns {Promise<number>}
 */
async function populate(dataDir) {
  const storage = SqliteStorage.open({ dataDir, maxBatchSize: 50_000, maxBatchDelayMs: 0 });
  const t0 = performance.now();
  const SERIES = 1000;
  const EVENTS = 1_000_000;
  const now = Date.now();
  for (let i = 0; i < EVENTS; i++) {
    const s = i % SERIES;
    const seq = Math.floor(i / SERIES);
    const p = storage.appendEvent(`data/series/${s}`, {
      sequence: seq,
      timestamp: now + seq,
      author: "bench",
      value: VALUE,
    });
    if (i % 50_000 === 49_999) await p;
  }
  for (let i = 0; i < 100_000; i++) {
    const p = storage.putTopic({
      path: `data/retained/${i}`,
      spec: { type: "binary", properties: { retention: "mqtt" } },
      value: { payload: VALUE, qos: 1, properties: { userProperties: [["k", "v"]] } },
    });
    if (i % 50_000 === 49_999) await p;
  }
  for (let c = 0; c < 10_000; c++) {
    const clientId = `client-${c}`;
    void storage.putSession({ clientId, protocolVersion: 5, expiryIntervalSec: 3600 });
    void storage.putSubscription({
      clientId,
      filter: "data/#",
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    for (let m = 0; m < 100; m++) {
      void storage.enqueueMessage({
        clientId,
        messageId: m,
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
  return (performance.now() - t0) / 1000;
}

try {
  console.log(`storage engine micro-benchmark (node ${process.version}; ${seconds} s per rate)`);
  for (const kind of startupOnly ? [] : /** @type {Kind[]} */ (["memory", "sqlite"])) {
    for (const seriesCount of [1, 1000]) {
      const storage = engine(kind);
      const rate = await appendRate(storage, seriesCount, kind === "memory" ? 1_000_000 : 300_000);
      await storage.close();
      console.log(
        `appends/s ${kind.padEnd(6)} ${String(seriesCount).padStart(4)} series, 64 in flight: ${fmt(rate)}`,
      );
    }
  }
  for (const kind of startupOnly ? [] : /** @type {Kind[]} */ (["memory", "sqlite"])) {
    const r = await rangeQueryMs(kind);
    console.log(
      `range query ${kind.padEnd(6)} ${fmt(r.count)} events: median ${r.median.toFixed(1)} ms (min ${r.min.toFixed(1)} ms)`,
    );
  }
  for (const maxBatchDelayMs of startupOnly ? [] : [0, 2]) {
    const storage = engine("sqlite", { maxBatchDelayMs });
    const rate = await appendRate(storage, 1, 300_000);
    await storage.close();
    console.log(
      `appends/s sqlite    1 series, 64 in flight, maxBatchDelayMs ${maxBatchDelayMs}: ${fmt(rate)}`,
    );
  }
  for (const sync of startupOnly ? [] : /** @type {Sync[]} */ (["normal", "full"])) {
    const lat = await commitLatency(sync);
    const storage = engine("sqlite", { sync });
    const rate = await appendRate(storage, 1, 300_000);
    await storage.close();
    console.log(
      `sync ${sync.padEnd(6)}: one write at a time p50 ${lat.p50.toFixed(3)} ms p99 ${lat.p99.toFixed(3)} ms; appends/s at 64 in flight ${fmt(rate)}`,
    );
  }
  if (!skipStartup) {
    const s = await startup();
    /** @param {Record<string, number>} c */
    const what = (c) =>
      Object.entries(c)
        .map(([k, v]) => `${fmt(v)} ${k}`)
        .join(", ");
    console.log(
      `start-up data set: ${s.populateS ? `populated in ${s.populateS.toFixed(1)} s` : "existing"}, ${(s.size / 1e6).toFixed(0)} MB`,
    );
    for (const [name, r] of /** @type {[string, Loaded][]} */ ([
      ["everything", s.full],
      ["without queued messages", s.lazy],
    ])) {
      console.log(
        `start-up, ${name}: open + load ${fmt(r.loadMs)} ms (${fmt(r.cpuMs)} ms CPU; ${what(r.counts)}); warming 1,000 series windows ${fmt(r.warmMs)} ms`,
      );
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
