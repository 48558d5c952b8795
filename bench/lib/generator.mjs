// @ts-check
// Plumbing of both load-generator workers (worker.mjs, bench/sdk/worker.mjs): their configuration,
// the command loop, the publishers' credit in the shared delivery window, and the write loop that
// runs as far as the windows allow, once per event-loop turn.
import { parentPort, workerData } from "node:worker_threads";
import { FORGIVEN, RECV, SENT } from "./shared.mjs";

/** The worker's configuration, and its view of the shared delivery window (or null). */
export const cfg = workerData;
export const shared = cfg.shared ? new Int32Array(cfg.shared) : null;

/** Answers the main thread's {id, cmd, ...args} messages (see pool.mjs) with commands[cmd](args). */
/** @param {Record<string, (args: any) => Promise<object | void> | object | void>} commands */
export function serveCommands(commands) {
  const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort); // a worker thread
  port.on("message", async ({ id, cmd, ...args }) => {
    try {
      port.postMessage({ id, ok: true, ...(await commands[cmd](args)) });
    } catch (err) {
      port.postMessage({ id, ok: false, error: /** @type {Error} */ (err).message });
    }
  });
}

/**
 * How many more messages the publishers may send in the delivery window (measure.mjs) of `shared`
 * (an Int32Array, or null: no window, Infinity), `cfg.window` wide, with `cfg.fanout` receivers.
 */
/**
 * @param {Int32Array | null} shared
 * @param {{ window: number, fanout: number }} cfg
 * @returns {() => number}
 */
export function windowCredit(shared, cfg) {
  if (shared === null) return () => Infinity;
  return () =>
    cfg.window -
    (Atomics.load(shared, SENT) - Atomics.load(shared, RECV) / cfg.fanout - Atomics.load(shared, FORGIVEN));
}

/** What a turn of a Pump did. */
export const WROTE = 1; // wrote something: another turn follows at once
export const WAITING = 0; // waits for an answer or 'drain', which calls schedule()
export const NO_CREDIT = -1; // the delivery window is full: retried after 1 ms

/**
 * Runs turn() in a later turn of the event loop (setImmediate) whenever schedule() is called while
 * active(); turn() returns WROTE, WAITING or NO_CREDIT.
 */
export class Pump {
  /**
   * @param {() => number} turn
   * @param {() => boolean} active
   */
  constructor(turn, active) {
    this.turn = turn;
    this.active = active;
    this.scheduled = false;
    /** @type {NodeJS.Timeout | null} */
    this.creditTimer = null;
    this.run = () => this.pump();
    this.retry = () => {
      this.creditTimer = null;
      this.schedule();
    };
  }

  schedule() {
    if (!this.scheduled && this.active()) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  pump() {
    this.scheduled = false;
    if (!this.active()) return;
    const did = this.turn();
    if (did === WROTE) this.schedule();
    else if (did === NO_CREDIT && this.creditTimer === null) this.creditTimer = setTimeout(this.retry, 1);
  }

  cancel() {
    clearTimeout(this.creditTimer ?? undefined);
  }
}
