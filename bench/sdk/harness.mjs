// @ts-check
// What the SDK scenarios (bench/scenarios/sdk-fanout.mjs, sdk-latency.mjs, rr.mjs) share: a fresh
// server per measurement, pools of SDK load-generator workers, and the median of repeated runs.
import { Pool } from "../lib/pool.mjs";
import { startSkein } from "./servers.mjs";

/** @typedef {import("../lib/child.mjs").ChildServer} ChildServer */
/** @typedef {import("../lib/types.js").Figures} Figures */
/** @typedef {import("../lib/args.mjs").SdkOptions} SdkOptions */

const SDK_WORKER = new URL("./worker.mjs", import.meta.url);
/**
 * A pool of SDK load-generator workers (bench/sdk/worker.mjs).
 * @param {number} count
 * @param {number} total
 * @param {(w: number, conns: number, first: number) => object} configFor
 */
export const sdkPool = (count, total, configFor) => new Pool(count, total, configFor, SDK_WORKER);

export const HOST = "127.0.0.1";
export const FANOUT_TOPIC = "bench/out";
export const LATENCY_TOPIC = "bench/lat";
export const RR_PATH = "bench/rr";
/** Cores used by other processes above which a run counts as disturbed (report.mjs marks it "!"). */
const QUIET_OTHER_CPU = 0.1;

/**
 * Runs fn(server, atEnd) against a fresh server from start(); errors become { error }. The functions
 * fn pushes to `atEnd` run (in order) before the server stops.
 * @param {(opts: SdkOptions & { profileDir?: string }) => Promise<ChildServer>} start
 * @param {SdkOptions} opts
 * @param {(server: ChildServer, atEnd: (() => Promise<unknown>)[]) => Promise<Figures>} fn
 * @param {string} [profileDir]
 * @returns {Promise<Figures>}
 */
export async function withServer(start, opts, fn, profileDir) {
  /** @type {ChildServer | null} */
  let server = null;
  /** @type {(() => Promise<unknown>)[]} */
  const atEnd = [];
  try {
    server = await start({ ...opts, profileDir });
    const result = await fn(server, atEnd);
    result.serverRssEnd = server.rss();
    return result;
  } catch (err) {
    return {
      error: `${/** @type {Error} */ (err).message}${server?.exited != null ? `\n${server.output}` : ""}`,
    };
  } finally {
    for (const f of atEnd) await f();
    await server?.stop();
  }
}

/**
 * Runs fn(server) against a fresh Skein; errors become { error }.
 * @param {SdkOptions} opts
 * @param {(server: ChildServer) => Promise<Figures>} fn
 */
export const withSkein = (opts, fn) => withServer(startSkein, opts, fn);

/**
 * A Skein of the SDK scenarios as the MQTT load generator's target.
 * @param {ChildServer} server
 */
export const mqttTarget = (server) => ({
  port: server.ports.mqtt,
  pid: server.pid,
  cpuSeconds: () => server.cpuSeconds(),
});

/**
 * The run of median `key` among `runs` (errors left out), with every run's figure in `rounds`.
 * Rounds alternate between the cases compared, so a slow spell of a shared machine hits both.
 * @param {Figures[]} runs
 * @param {string} key
 * @returns {Figures}
 */
export function median(runs, key) {
  let ok = runs.filter((r) => !r.error && r[key] != null);
  if (ok.length === 0) return runs[0];
  // Runs during which other processes were busy are left out while undisturbed ones exist.
  const quiet = ok.filter((r) => !(r.otherCpu > QUIET_OTHER_CPU));
  if (quiet.length > 0) ok = quiet;
  const sorted = [...ok].sort((a, b) => a[key] - b[key]);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], rounds: runs.map((r) => r[key] ?? null) };
}
