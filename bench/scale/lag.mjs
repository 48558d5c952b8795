// @ts-check
/**
 * Event-loop lag of a loaded Skein (issue 11): the server holds `topics` retained topics and
 * `connections` idle MQTT connections while its sweeps and timer wheels run, and reports its own
 * event-loop delay.
 *
 * The figures are the server's: `/metrics` exports prom-client's default collectors, whose
 * `nodejs_eventloop_lag_{p50,p99,max}_seconds` come from `perf_hooks.monitorEventLoopDelay` (a 10 ms
 * timer) and are reset at each scrape. So a scrape opens a window and the next one reads it. What the
 * histogram records is the time between two turns of that timer, the 10 ms included (an idle server
 * reports p50 10 ms); the bench prints the lag as that minus the 10 ms (`*Ms`), the raw figures too
 * (`raw*Ms` in the JSON):
 *
 * 1. load: `topics` retained QoS 0 publishes (`lag/g<K>/d<I>`, 1,000 per group, 8-byte payloads) from
 *    two connections;
 * 2. connect: `connections` idle connections (keep alive `keepalive` s, a PINGREQ every half of it, one
 *    subscription each) from the client processes;
 * 3. steady: `seconds` with everything held: keep-alive entries of the timer wheel come due and are
 *    pushed back by the PINGREQs (spread over the keep alive, as independent devices send them), the
 *    removal wheel, the time-series and kept-session sweeps (every second here: `limits.removalSweepMs`
 *    1000) and the $SYS publisher (every 10 s, the default) run.
 *
 * The scrape itself (rendering every metric) runs on the event loop too, once per window. Beside each
 * window: the server's event-loop utilisation over it (`skein_eventloop_utilization_ratio`, computed
 * between scrapes) and the lag a control process saw in the same window (lag-control.mjs: an idle Node
 * process with the same monitor), which is what the machine's scheduling alone costs when it is shared;
 * and the server's longest garbage-collection pause in it (bench/lib/gc-probe.mjs, preloaded).
 */
import { fork } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startSkein } from "../sdk/servers.mjs";
import { GC_FILE_ENV, GC_PROBE, gcPauses } from "../lib/gc.mjs";
import { ClientPool } from "./pool.mjs";
import { RawClient, printTable, skeinConfigFile } from "./common.mjs";

/**
 * @typedef {object} LagWindow
 * @property {string} phase
 * @property {number} seconds
 * @property {number} p50Ms lag beyond the 10 ms timer
 * @property {number} p99Ms
 * @property {number} maxMs
 * @property {number} rawP99Ms as exported (the 10 ms timer included)
 * @property {number} rawMaxMs
 * @property {number} utilization the server's event-loop utilisation over the window (0..1)
 * @property {number} controlP99Ms lag p99 of the idle control process in the same window
 * @property {number} controlMaxMs
 * @property {number | null} gcMaxMs the server's longest GC pause in the window
 * @property {number | null} markCompacts the server's full collections in the window
 * @property {number} gcOver20 the server's GC pauses of 20 ms or more in the window
 * @property {number} topics skein_topics at its end
 * @property {number} connections at its end
 * @property {number} rssMB
 */

/**
 * @param {string} text Prometheus exposition
 * @param {string} name
 */
function metric(text, name) {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * GC pauses of at least `ms` that started between two epoch-ms instants (gc-probe.mjs's lines).
 * @param {string} file
 * @param {number} fromMs
 * @param {number} toMs
 * @param {number} ms
 */
function longPauses(file, fromMs, toMs, ms) {
  let n = 0;
  try {
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      const [at, pause] = line.split(" ").map(Number);
      if (at >= fromMs && at < toMs && pause >= ms) n++;
    }
  } catch {
    // no probe output
  }
  return n;
}

/** prom-client's monitorEventLoopDelay resolution (its default eventLoopMonitoringPrecision), ms. */
const RESOLUTION_MS = 10;

/** Lag in ms from a recorded interval in seconds. @param {number} seconds */
const lag = (seconds) => Math.max(0, seconds * 1000 - RESOLUTION_MS);

/**
 * @param {{ topics: number, connections: number, seconds: number, keepalive: number, clients: number,
 *   concurrency: number, startTimeout: number, skeinArgs: string[], profileDir?: string }} o `profileDir`: the
 *   server runs with --cpu-prof and writes its profile there when it stops
 * @returns {Promise<{ windows: LagWindow[], topicsPerSec: number, bytesPerTopic: number, scrapeMs: number }>}
 */
export async function runLag(o) {
  console.log(
    `Event-loop lag of Skein (its /metrics, monitorEventLoopDelay, less its 10 ms timer): ${o.topics.toLocaleString("en")} retained topics, ` +
      `${o.connections.toLocaleString("en")} idle connections (keep alive ${o.keepalive} s), sweeps every second, ` +
      `$SYS every 10 s`,
  );
  const config = skeinConfigFile({
    // Two connections publish every topic: the per-session retained and creation quotas are raised to match.
    limits: {
      maxTopics: o.topics + 100_000,
      maxTopicsPerSession: o.topics,
      maxRetainedTopicsPerSession: o.topics,
      removalSweepMs: 1000,
    },
  });
  // The GC probe is preloaded through NODE_OPTIONS (startSkein's command line has no room for it);
  // the client processes forked later do not get it.
  const gcFile = path.join(path.dirname(config), "gc.log");
  const saved = { options: process.env.NODE_OPTIONS, file: process.env[GC_FILE_ENV] };
  process.env.NODE_OPTIONS = `${saved.options ?? ""} --import ${GC_PROBE}`.trim();
  process.env[GC_FILE_ENV] = gcFile;
  /** @type {import("../lib/child.mjs").ChildServer} */
  let server;
  try {
    server = await startSkein({
      startTimeout: o.startTimeout,
      skeinArgs: ["--config", config, ...o.skeinArgs],
      profileDir: o.profileDir,
    });
  } finally {
    if (saved.options === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved.options;
    if (saved.file === undefined) delete process.env[GC_FILE_ENV];
    else process.env[GC_FILE_ENV] = saved.file;
  }
  const port = server.ports.mqtt;
  const pool = new ClientPool(o.clients);
  const control = fork(path.join(import.meta.dirname, "lag-control.mjs"), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: [],
  });
  /** @returns {Promise<{ p50Ms: number, p99Ms: number, maxMs: number }>} */
  const readControl = () =>
    new Promise((resolve) => {
      control.once("message", resolve);
      control.send("read");
    });
  /** @type {LagWindow[]} */
  const windows = [];
  /** @type {RawClient[]} */
  const publishers = [];
  let opened = performance.now();
  let openedAt = Date.now();
  let scrapeMs = 0;
  /** Closes the window opened by the previous scrape. @param {string} phase */
  const scrape = async (phase) => {
    const t0 = performance.now();
    const res = await globalThis.fetch(`http://127.0.0.1:${server.ports.http}/metrics`);
    const text = await res.text();
    scrapeMs = performance.now() - t0;
    const c = await readControl();
    const gc = gcPauses(gcFile, openedAt, Date.now());
    /** @type {LagWindow} */
    const w = {
      phase,
      seconds: (t0 - opened) / 1000,
      p50Ms: lag(metric(text, "nodejs_eventloop_lag_p50_seconds")),
      p99Ms: lag(metric(text, "nodejs_eventloop_lag_p99_seconds")),
      maxMs: lag(metric(text, "nodejs_eventloop_lag_max_seconds")),
      rawP99Ms: metric(text, "nodejs_eventloop_lag_p99_seconds") * 1000,
      rawMaxMs: metric(text, "nodejs_eventloop_lag_max_seconds") * 1000,
      utilization: metric(text, "skein_eventloop_utilization_ratio"),
      controlP99Ms: Math.max(0, c.p99Ms - RESOLUTION_MS),
      controlMaxMs: Math.max(0, c.maxMs - RESOLUTION_MS),
      gcMaxMs: gc?.maxMs ?? null,
      markCompacts: gc?.markCompacts ?? null,
      gcOver20: longPauses(gcFile, openedAt, Date.now(), 20),
      topics: metric(text, "skein_topics"),
      connections: pool.held,
      rssMB: server.rss() / 1048576,
    };
    opened = performance.now();
    openedAt = Date.now();
    if (phase) {
      windows.push(w);
      console.log(
        `  ${phase}: ${w.seconds.toFixed(1)} s, lag p50 ${w.p50Ms.toFixed(1)} ms, p99 ${w.p99Ms.toFixed(1)} ms, ` +
          `max ${w.maxMs.toFixed(1)} ms (control p99 ${w.controlP99Ms.toFixed(1)} ms), ` +
          `busy ${(w.utilization * 100).toFixed(0)}%, longest GC pause ${w.gcMaxMs?.toFixed(1) ?? "-"} ms ` +
          `(${w.markCompacts ?? "-"} full, ${w.gcOver20} of 20 ms or more); ${w.topics.toLocaleString("en")} topics, ` +
          `${w.connections.toLocaleString("en")} connections, RSS ${w.rssMB.toFixed(0)} MB (scrape ${scrapeMs.toFixed(0)} ms)`,
      );
    }
    return w;
  };
  try {
    await scrape(""); // the first scrape compiles its code: not part of a window
    await sleep(2000);
    await scrape("idle, empty");
    const rss0 = server.rss();
    // 1. Topics.
    for (let p = 0; p < 2; p++) publishers.push(await RawClient.connect(port, `lag-pub-${p}`));
    const payload = Buffer.from("12345678");
    const t0 = performance.now();
    await Promise.all(
      publishers.map(async (pub, p) => {
        const BATCH = 1000;
        for (let i = p * BATCH; i < o.topics; i += 2 * BATCH) {
          const packets = [];
          for (let j = i; j < Math.min(i + BATCH, o.topics); j++)
            packets.push(
              pub.encode({
                cmd: "publish",
                topic: `lag/g${Math.floor(j / 1000)}/d${j}`,
                payload,
                qos: 0,
                retain: true,
              }),
            );
          await pub.write(Buffer.concat(packets));
        }
        await pub.ping();
      }),
    );
    const topicsPerSec = o.topics / ((performance.now() - t0) / 1000);
    const loaded = await scrape("loading topics");
    const bytesPerTopic = (loaded.rssMB * 1048576 - rss0) / o.topics;
    console.log(
      `  ${Math.round(topicsPerSec).toLocaleString("en")} retained topics/s, ${Math.round(bytesPerTopic)} B of RSS per topic`,
    );
    // 2. Connections.
    const r = await pool.open(o.connections, {
      port,
      prefix: "lag",
      concurrency: o.concurrency,
      keepalive: o.keepalive,
    });
    await pool.count();
    if (r.failed > 0) console.log(`  ${r.failed} connections failed (${r.firstError})`);
    await scrape("opening connections");
    // 3. Steady.
    await sleep(o.seconds * 1000);
    await pool.count();
    await scrape("steady");
    return { windows, topicsPerSec, bytesPerTopic, scrapeMs };
  } finally {
    for (const p of publishers) p.close();
    control.kill();
    await pool.close();
    await server.stop();
    fs.rmSync(path.dirname(config), { recursive: true, force: true });
    printLag(windows);
  }
}

/** @param {LagWindow[]} windows */
export function printLag(windows) {
  printTable(
    [
      "phase",
      "seconds",
      "topics",
      "connections",
      "RSS",
      "busy",
      "lag p50",
      "lag p99",
      "lag max",
      "p99 as exported",
      "control p99 / max",
      "longest GC pause",
    ],
    windows.map((w) => [
      w.phase,
      w.seconds.toFixed(1),
      w.topics.toLocaleString("en"),
      w.connections.toLocaleString("en"),
      `${w.rssMB.toFixed(0)} MB`,
      `${(w.utilization * 100).toFixed(0)}%`,
      `${w.p50Ms.toFixed(1)} ms`,
      `${w.p99Ms.toFixed(1)} ms`,
      `${w.maxMs.toFixed(1)} ms`,
      `${w.rawP99Ms.toFixed(1)} ms`,
      `${w.controlP99Ms.toFixed(1)} / ${w.controlMaxMs.toFixed(1)} ms`,
      w.gcMaxMs === null ? "-" : `${w.gcMaxMs.toFixed(1)} ms (${w.gcOver20} >= 20 ms)`,
    ]),
  );
}
