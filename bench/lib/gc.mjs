// @ts-check
// The server's garbage-collection pauses in a measurement window, from the lines gc-probe.mjs wrote
// in the Skein child. A latency tail made by the collector shows here: many mark-compacts, or long
// incremental-marking steps, where a healthy server only scavenges (sub-millisecond pauses).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The preload module to pass as `node --import GC_PROBE ...` (absolute path). */
export const GC_PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), "gc-probe.mjs");

/** The environment variable naming the file gc-probe.mjs writes. */
export const GC_FILE_ENV = "SKEIN_BENCH_GC_FILE";

// perf_hooks constants.NODE_PERFORMANCE_GC_*
/**
 * @typedef {object} GcPauses
 * @property {number} scavenges
 * @property {number} scavengeMaxMs
 * @property {number} markCompacts
 * @property {number} markCompactMaxMs
 * @property {number} incremental
 * @property {number} incrementalMaxMs
 * @property {number} pauses
 * @property {number} totalMs
 * @property {number} maxMs
 * @property {number} perSecond
 */

/** @type {Record<number, string>} */
const KINDS = { 1: "scavenge", 2: "scavenge", 4: "markCompact", 8: "incremental", 16: "weak" };

/**
 * Pauses that started between `fromMs` and `toMs` (epoch ms): per kind the count and the longest
 * pause (ms), plus every pause's total and maximum, and `perSecond` (pauses per second). Null when
 * the file is missing (a broker without the probe).
 */
/**
 * @param {string} file
 * @param {number} fromMs
 * @param {number} toMs
 * @returns {GcPauses | null}
 */
export function gcPauses(file, fromMs, toMs) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  /** @type {GcPauses} */
  const out = {
    scavenges: 0,
    scavengeMaxMs: 0,
    markCompacts: 0,
    markCompactMaxMs: 0,
    incremental: 0,
    incrementalMaxMs: 0,
    pauses: 0,
    totalMs: 0,
    maxMs: 0,
    perSecond: 0,
  };
  for (const line of text.split("\n")) {
    const [at, ms, kind] = line.split(" ").map(Number);
    if (!(at >= fromMs && at < toMs)) continue;
    const name = KINDS[kind];
    if (name === "scavenge" || name === "markCompact" || name === "incremental") {
      const countKey = name === "scavenge" ? "scavenges" : name === "markCompact" ? "markCompacts" : name;
      out[countKey]++;
      const maxKey = /** @type {"scavengeMaxMs" | "markCompactMaxMs" | "incrementalMaxMs"} */ (
        `${name}MaxMs`
      );
      out[maxKey] = Math.max(out[maxKey], ms);
    }
    out.pauses++;
    out.totalMs += ms;
    out.maxMs = Math.max(out.maxMs, ms);
  }
  out.perSecond = out.pauses / ((toMs - fromMs) / 1000);
  return out;
}

/**
 * The event loop's delay in a window, from the lines gc-probe.mjs writes each second
 * (`<gc file>.loop`), and from a load-generator worker (worker.mjs) in the same shape.
 * @typedef {object} LoopDelay
 * @property {number} maxMs the longest delay of the loop (a stall)
 * @property {number} p99Ms the highest per-second p99 of the delay
 * @property {number} stalls2ms seconds whose longest delay was 2 ms or more
 * @property {number} seconds seconds measured
 */

/**
 * The loop delay of the seconds that ended between `fromMs` and `toMs` + 0.5 s (epoch ms), or null
 * when the file is missing.
 * @param {string} file the GC file (its `.loop` companion is read)
 * @param {number} fromMs
 * @param {number} toMs
 * @returns {LoopDelay | null}
 */
export function loopDelay(file, fromMs, toMs) {
  let text;
  try {
    text = fs.readFileSync(`${file}.loop`, "utf8");
  } catch {
    return null;
  }
  /** @type {LoopDelay} */
  const out = { maxMs: 0, p99Ms: 0, stalls2ms: 0, seconds: 0 };
  for (const line of text.split("\n")) {
    const [at, max, p99] = line.split(" ").map(Number);
    if (!(at > fromMs + 500 && at <= toMs + 500)) continue;
    out.seconds++;
    out.maxMs = Math.max(out.maxMs, max);
    out.p99Ms = Math.max(out.p99Ms, p99);
    if (max >= 2) out.stalls2ms++;
  }
  return out;
}
