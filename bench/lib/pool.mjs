// A group of load-generator workers (worker.mjs) driven with request/reply commands.
import { Worker } from "node:worker_threads";

const WORKER_URL = new URL("./worker.mjs", import.meta.url);

class LoadWorker {
  constructor(config) {
    this.worker = new Worker(WORKER_URL, { workerData: config });
    this.nextId = 1;
    this.pending = new Map();
    this.exitError = null;
    this.worker.on("message", ({ id, ok, error, ...reply }) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (ok) p?.resolve(reply);
      else p?.reject(new Error(error));
    });
    const failAll = (err) => {
      this.exitError = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on("error", failAll);
    this.worker.on("exit", (code) => failAll(new Error(`worker exited (${code})`)));
  }

  call(cmd, args = {}) {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, cmd, ...args });
    });
  }
}

/** Splits `total` connections over `count` workers built by configFor(index, conns, firstConn). */
export class Pool {
  constructor(count, total, configFor) {
    this.workers = [];
    let first = 0;
    for (let w = 0; w < count && first < total; w++) {
      const conns = Math.floor(total / count) + (w < total % count ? 1 : 0);
      this.workers.push(new LoadWorker(configFor(w, conns, first)));
      first += conns;
    }
    this.elu = null;
  }

  all(cmd, args) {
    return Promise.all(this.workers.map((w) => w.call(cmd, args)));
  }

  /** Sums counters across workers; rate helpers divide by each worker's own clock delta. */
  async snap() {
    const snaps = await this.all("snap");
    const sum = (key) => snaps.reduce((a, s) => a + s[key], 0);
    return { snaps, sent: sum("sent"), recv: sum("recv"), acked: sum("acked"), closed: sum("closed") };
  }

  markElu() {
    this.elu = this.workers.map((w) => w.worker.performance.eventLoopUtilization());
  }

  /** Highest event-loop utilisation of any worker since markElu(): near 1.0 = a saturated worker. */
  maxElu() {
    return Math.max(
      ...this.workers.map((w, i) => w.worker.performance.eventLoopUtilization(this.elu[i]).utilization),
    );
  }

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

/** Messages per second between two snapshots, using each worker's own timestamps. */
export function rate(before, after, key) {
  let total = 0;
  after.snaps.forEach((s, i) => {
    const dt = (s.t - before.snaps[i].t) / 1000;
    if (dt > 0) total += (s[key] - before.snaps[i][key]) / dt;
  });
  return total;
}
