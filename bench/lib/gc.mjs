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
