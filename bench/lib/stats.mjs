// @ts-check
// Percentiles and number formatting.

/**
 * Latency summary (values in ms) of a Float64Array of samples; sorts it in place.
 * @param {Float64Array} samples
 */
export function percentiles(samples) {
  if (samples.length === 0)
    return { samples: 0, p50Ms: null, p90Ms: null, p99Ms: null, p999Ms: null, maxMs: null, meanMs: null };
  samples.sort();
  /** @param {number} q */
  const at = (q) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)];
  let sum = 0;
  for (const v of samples) sum += v;
  return {
    samples: samples.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: samples[samples.length - 1],
    meanMs: sum / samples.length,
  };
}

/** @typedef {number | null | undefined} Num */

/** @param {Num} n */
export const fmtInt = (n) => (n == null ? "-" : Math.round(n).toLocaleString("en-US"));
/** @param {Num} n */
export const fmtMs = (n) => (n == null ? "-" : n < 10 ? n.toFixed(3) : n.toFixed(1));
/** @param {Num} n @param {number} [d] */
export const fmtFixed = (n, d = 2) => (n == null ? "-" : n.toFixed(d));
/** @param {Num} n */
export const fmtPct = (n) => (n == null ? "-" : `${(n * 100).toFixed(n > 0 && n < 0.001 ? 3 : 1)}%`);
/** @param {Num} n */
export function fmtBytes(n) {
  if (n == null) return "-";
  if (Math.abs(n) >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return Math.abs(n) >= 10240 ? `${(n / 1024).toFixed(1)} KB` : `${Math.round(n)} B`;
}
/** a / b, or null when either is missing or b is 0. @param {Num} a @param {Num} b */
export const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);
/** @param {Num} r */
export const fmtRatio = (r) => (r == null ? "n/a" : `${r.toFixed(2)}x`);
