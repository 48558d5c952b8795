// A group of SDK load-generator workers (bench/sdk/worker.mjs) driven with request/reply commands.
// The same protocol as bench/lib/pool.mjs (which is bound to the MQTT worker): {id, cmd} out,
// {id, ok, ...reply} back.
import { Worker } from "node:worker_threads";

const WORKER_URL = new URL("./worker.mjs", import.meta.url);
const CALL_TIMEOUT_MS = 60000; // a command (open: 1,000 handshakes) that takes longer is stuck

class LoadWorker {
  constructor(config) {
    this.worker = new Worker(WORKER_URL, { workerData: config });
    this.nextId = 1;
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

/** Splits `total` connections over `count` workers built by configFor(index, conns, firstConn). */
export class SdkPool {
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

  /** Sums counters across workers; rate() divides by each worker's own clock delta. */
  async snap() {
    const snaps = await this.all("snap");
    const sum = (key) => snaps.reduce((a, s) => a + s[key], 0);
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
    return this.workers.map((w, i) => w.worker.performance.eventLoopUtilization(this.elu[i]).utilization);
  }

  maxElu() {
    return Math.max(...this.elus());
  }

  async close() {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      const replies = await Promise.allSettled(this.workers.map((w) => w.call("close")));
      await Promise.all(this.workers.map((w) => w.worker.terminate()));
      return replies.filter((r) => r.status === "fulfilled").map((r) => r.value);
    })();
    return this.closing;
  }
}
