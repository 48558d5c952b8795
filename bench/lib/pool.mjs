// @ts-check
// A group of load-generator workers driven with request/reply commands: {id, cmd} out,
// {id, ok, ...reply} back. The MQTT generator (worker.mjs) by default; the SDK bench passes its own.
import { Worker } from "node:worker_threads";

const WORKER_URL = new URL("./worker.mjs", import.meta.url);
const CALL_TIMEOUT_MS = 60000; // a command (open: thousands of handshakes) that takes longer is stuck

/**
 * A worker's reply to a command: its counters (snap), samples (close), … as the worker script sends them.
 * @typedef {import("./types.js").Figures} Reply
 */

/**
 * The counters of a pool: each worker's snapshot (`snaps`, with its own clock `t`) and their sums.
 * @typedef {{ snaps: Reply[], sent: number, recv: number, acked: number, errors: number, closed: number }} Snap
 */

class LoadWorker {
  /**
   * @param {object} config the worker's workerData
   * @param {URL} workerUrl
   */
  constructor(config, workerUrl) {
    this.worker = new Worker(workerUrl, { workerData: config });
    this.nextId = 1;
    /** @type {Map<number, { resolve: (r: Reply) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>} */
    this.pending = new Map();
    this.exitError = null;
    this.worker.on("message", ({ id, ok, error, ...reply }) => {
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      clearTimeout(p.timer);
      if (ok) p.resolve(reply);
      else p.reject(new Error(error));
    });
    /** @param {Error} err */
    const failAll = (err) => {
      this.exitError = err;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(err);
      }
      this.pending.clear();
    };
    this.worker.on("error", failAll);
    this.worker.on("exit", (code) => failAll(new Error(`worker exited (${code})`)));
  }

  /**
   * @param {string} cmd
   * @param {object} [args]
   * @returns {Promise<Reply>}
   */
  call(cmd, args = {}) {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker command ${cmd} took more than ${CALL_TIMEOUT_MS / 1000} s`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ id, cmd, ...args });
    });
  }
}

/**
 * Splits `total` connections over `count` workers built by configFor(index, conns, firstConn),
 * each running the worker script at `workerUrl`.
 */
export class Pool {
  /**
   * @param {number} count
   * @param {number} total
   * @param {(w: number, conns: number, first: number) => object} configFor
   * @param {URL} [workerUrl]
   */
  constructor(count, total, configFor, workerUrl = WORKER_URL) {
    this.workers = [];
    let first = 0;
    for (let w = 0; w < count && first < total; w++) {
      const conns = Math.floor(total / count) + (w < total % count ? 1 : 0);
      this.workers.push(new LoadWorker(configFor(w, conns, first), workerUrl));
      first += conns;
    }
    /** @type {import("node:perf_hooks").EventLoopUtilization[] | null} */
    this.elu = null;
    /** @type {Promise<Reply[]> | null} */
    this.closing = null;
  }

  /**
   * Sends `cmd` to every worker.
   * @param {string} cmd
   * @param {object} [args]
   */
  all(cmd, args) {
    return Promise.all(this.workers.map((w) => w.call(cmd, args)));
  }

  /**
   * Sums counters across workers; rate helpers divide by each worker's own clock delta.
   * @returns {Promise<Snap>}
   */
  async snap() {
    const snaps = await this.all("snap");
    /** @param {string} key */
    const sum = (key) => snaps.reduce((a, s) => a + (s[key] ?? 0), 0);
    return {
      snaps,
      sent: sum("sent"),
      recv: sum("recv"),
      acked: sum("acked"),
      errors: sum("errors"),
      closed: sum("closed"),
    };
  }

  markElu() {
    this.elu = this.workers.map((w) => w.worker.performance.eventLoopUtilization());
  }

  /** Event-loop utilisation of each worker since markElu(): near 1.0 = a saturated worker. */
  elus() {
    return this.workers.map(
      (w, i) => w.worker.performance.eventLoopUtilization(/** @type {any} */ (this.elu)[i]).utilization,
    );
  }

  /** Highest event-loop utilisation of any worker since markElu(). */
  maxElu() {
    return Math.max(...this.elus());
  }

  /** Closes every worker (once); resolves to their replies. */
  async close() {
    if (this.closing) return this.closing;
    this.closing = this.closeNow();
    return this.closing;
  }

  async closeNow() {
    const replies = await Promise.allSettled(this.workers.map((w) => w.call("close")));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    return replies.filter((r) => r.status === "fulfilled").map((r) => r.value);
  }
}

/**
 * Messages per second between two snapshots, using each worker's own timestamps.
 * @param {{ snaps: Reply[] }} before
 * @param {{ snaps: Reply[] }} after
 * @param {string} key
 */
export function rate(before, after, key) {
  let total = 0;
  after.snaps.forEach((s, i) => {
    const b = /** @type {Reply} */ (before.snaps[i]);
    const dt = (s.t - b.t) / 1000;
    if (dt > 0) total += (s[key] - b[key]) / dt;
  });
  return total;
}
