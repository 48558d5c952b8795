// @ts-check
// The load shape of the storage and security scenarios: `inFlight` awaited operations at a time from
// the bench process (Node clients), for a warm-up and then a measurement window, each server pinned
// to one core (anchors.mjs pinned()).
import os from "node:os";
import { performance } from "node:perf_hooks";

/**
 * Runs `op(i)` with `inFlight` calls awaited at a time: `warmupS` seconds unmeasured, then `seconds`
 * measured. Returns operations completed per second in the window and the errors seen.
 * @param {(i: number) => Promise<unknown>} op `i` counts up from 0 over the whole run
 * @param {{ seconds: number, warmupS?: number, inFlight?: number, max?: number, onStart?: () => void }} o
 *   `max`: stop after this many operations in the window; `onStart`: called as the window opens
 * @returns {Promise<{ perSec: number, done: number, errors: number, elapsedS: number, firstError?: string }>}
 */
export async function rate(op, { seconds, warmupS = 0, inFlight = 64, max = Infinity, onStart }) {
  let i = 0;
  let done = 0;
  let errors = 0;
  /** @type {string | undefined} */
  let firstError;
  let measuring = warmupS <= 0;
  if (measuring) onStart?.();
  let windowStart = performance.now();
  const warmEnd = windowStart + warmupS * 1000;
  let end = warmEnd + seconds * 1000;
  const lane = async () => {
    for (;;) {
      const now = performance.now();
      if (!measuring && now >= warmEnd) {
        measuring = true;
        onStart?.();
        windowStart = now;
        end = now + seconds * 1000;
      }
      if (now >= end || done >= max) return;
      const counted = measuring;
      try {
        await op(i++);
        if (counted) done++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        if (errors > 1000) return;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsed = (performance.now() - windowStart) / 1000;
  return { perSec: done / Math.max(elapsed, 1e-9), done, errors, elapsedS: elapsed, firstError };
}

/** The load average now (1, 5, 15 minutes), for the record: this machine is shared. */
export const loadAverage = () => os.loadavg().map((n) => Number(n.toFixed(2)));

/**
 * `a / b`, or null when either is missing.
 * @param {number | null | undefined} a
 * @param {number | null | undefined} b
 */
export const over = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

/**
 * A target line: `pass` null when a figure is missing.
 * @param {string} target
 * @param {number | null} value
 * @param {(v: number) => boolean} ok
 * @param {string} [unit] how the value shows ("x" ratio by default)
 * @returns {import("./types.js").Target}
 */
export function target(target, value, ok, unit = "x") {
  const shown =
    value == null ? "no figure" : unit === "x" ? `${value.toFixed(2)}x` : `${value.toFixed(2)} ${unit}`;
  return { target, value, pass: value == null ? null : ok(value), shown };
}

/** @param {number | null | undefined} n */
export const int = (n) => (n == null ? "-" : Math.round(n).toLocaleString("en-US"));

/**
 * The server's CPU time over the window (from /proc): robust to the other load of a shared machine,
 * where the rates follow whatever else runs.
 * @param {{ cpuSeconds: () => number }} server
 */
export function serverCpu(server) {
  let at = 0;
  return {
    start: () => void (at = server.cpuSeconds()),
    /** CPU µs per operation since start(). @param {number} ops */
    usPer: (ops) => (ops > 0 ? ((server.cpuSeconds() - at) * 1e6) / ops : null),
  };
}
