// @ts-check
// Client child processes of the scale bench (bench/scale/idle-clients.mjs, or idle-sdk-clients.mjs for
// the SDK door): each opens its share of connections from its own loopback source addresses
// (127.0.0.2, 127.0.0.3, ...: `localAddress`, at most PER_ADDRESS per address) so that neither a
// process's descriptors nor an address's ephemeral ports run out.
import { fork } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Connections per loopback source address (an address has ~28,000 ephemeral ports). */
const PER_ADDRESS = 10_000;
/** The next loopback source address 127.0.0.N (shared by every pool of this process). */
let nextAddress = 2;

/** @returns {string} */
function takeAddress() {
  if (nextAddress > 254) nextAddress = 2; // reused after ~250: the earlier connections are closed by then
  return `127.0.0.${nextAddress++}`;
}

/**
 * @typedef {object} OpenOptions
 * @property {number} port the broker's MQTT port
 * @property {string} [url] the SDK door's URL (idle-sdk-clients.mjs)
 * @property {string} prefix client ids are `<prefix>c<child>-<i>`
 * @property {number} concurrency connects in flight per child process
 * @property {string} [topic] the filter every connection subscribes to (default one of its own)
 * @property {number} [keepalive] seconds (default 60)
 * @property {4 | 5} [version] one protocol version for all (default: even 3.1.1, odd 5.0)
 */

export class ClientPool {
  /**
   * @param {number} size child processes
   * @param {"mqtt" | "sdk"} [door]
   */
  constructor(size, door = "mqtt") {
    this.children = Array.from({ length: size }, () =>
      fork(path.join(import.meta.dirname, door === "sdk" ? "idle-sdk-clients.mjs" : "idle-clients.mjs"), [], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: [],
      }),
    );
    /** Connections held after the last open(). */
    this.held = 0;
  }

  /**
   * @param {import("node:child_process").ChildProcess} child
   * @param {object} msg
   * @returns {Promise<any>}
   */
  ask(child, msg) {
    return new Promise((resolve) => {
      child.once("message", resolve);
      child.send(msg);
    });
  }

  /**
   * Opens `more` connections spread over the children; resolves when each has its SUBACK (or failed).
   * @param {number} more
   * @param {OpenOptions} o
   * @returns {Promise<{ connected: number, failed: number, firstError?: string, seconds: number }>}
   */
  async open(more, o) {
    const per = Math.ceil(more / this.children.length);
    const opened = await Promise.all(
      this.children.map((child, k) => {
        const count = Math.min(per, Math.max(0, more - k * per));
        if (count === 0) return { connected: 0, failed: 0, t0: Date.now(), t1: Date.now() };
        const addresses = Array.from({ length: Math.ceil(count / PER_ADDRESS) }, takeAddress);
        return this.ask(child, { cmd: "open", ...o, prefix: `${o.prefix}c${k}`, count, addresses });
      }),
    );
    const seconds = (Math.max(...opened.map((r) => r.t1)) - Math.min(...opened.map((r) => r.t0))) / 1000;
    return {
      connected: opened.reduce((a, r) => a + r.connected, 0),
      failed: opened.reduce((a, r) => a + r.failed, 0),
      firstError: opened.find((r) => r.firstError)?.firstError,
      seconds,
    };
  }

  /** Connections open now (the children count the ones closed on them). @returns {Promise<number>} */
  async count() {
    const snaps = await Promise.all(this.children.map((c) => this.ask(c, { cmd: "snap" })));
    return (this.held = snaps.reduce((a, s) => a + s.open, 0));
  }

  /** Bytes received on every connection after its SUBACK. @returns {Promise<number>} */
  async received() {
    const r = await Promise.all(this.children.map((c) => this.ask(c, { cmd: "bytes" })));
    return r.reduce((a, s) => a + s.received, 0);
  }

  /** Closes every connection and ends the children. */
  async close() {
    for (const c of this.children) if (c.connected) c.send({ cmd: "close" });
    for (let i = 0; i < 30 && this.children.some((c) => c.exitCode === null); i++) await sleep(100);
    for (const c of this.children) if (c.exitCode === null) c.kill("SIGKILL");
  }
}
