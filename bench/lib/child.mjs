// @ts-check
// A server in a child process, for both benches (brokers and the null sink in brokers.mjs; Skein,
// the bare relay and nats-server in bench/sdk/servers.mjs): on 127.0.0.1 and free ports, under a
// raised open-files limit, its output tail kept, ready once its ports accept connections, its CPU
// and RSS read from /proc, and killed when the bench exits (killAll).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RAISE_FDS, canConnect, procCpu, procRss } from "./process.mjs";

export const ROOT = path.resolve(new URL("../..", import.meta.url).pathname);
const live = new Set(); // running children, killed on exit / Ctrl-C

/**
 * A free TCP port on 127.0.0.1.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A running child process listening on `ports` (name -> port). `dir` (if any) is removed when it
 * stops; `termWaitS`: how long stop() waits after SIGTERM before SIGKILL.
 */
export class ChildServer {
  /**
   * @param {string} name
   * @param {import("node:child_process").ChildProcess} child
   * @param {Record<string, number>} ports
   * @param {string | null} [dir]
   * @param {number} [termWaitS]
   */
  constructor(name, child, ports, dir = null, termWaitS = 3) {
    this.name = name;
    this.child = child;
    this.ports = ports;
    this.dir = dir;
    this.termWaitS = termWaitS;
    this.pid = /** @type {number} */ (child.pid);
    this.output = "";
    /** @type {number | string | null} exit code or signal once exited */
    this.exited = null;
    // Set by the code that starts a particular kind of server:
    /** @type {number | undefined} the MQTT port (brokers, null sink) */
    this.port = undefined;
    /** @type {string | undefined} the SDK door's URL (Skein of the SDK scenarios) */
    this.sdkUrl = undefined;
    /** @type {((fromMs: number, toMs: number) => import("./gc.mjs").GcPauses | null) | undefined} */
    this.gcPauses = undefined;
    /** @type {((fromMs: number, toMs: number) => import("./gc.mjs").LoopDelay | null) | undefined} */
    this.loopDelay = undefined;
    /** @type {(() => Promise<any>) | undefined} the null sink's counters */
    this.counts = undefined;
    /** @type {(() => Promise<any>) | undefined} the null sink: start sending */
    this.startStreaming = undefined;
    /** @param {string} d */
    const keep = (d) => (this.output = (this.output + d).slice(-4000));
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", (code, signal) => {
      this.exited = signal ?? code;
      live.delete(this);
    });
    live.add(this);
  }

  /**
   * User + system CPU seconds used so far (all threads). `bash -c ... exec` replaces bash, so the pid
   * is the server's.
   */
  cpuSeconds() {
    const { user, sys } = this.cpuSplit();
    return user + sys;
  }

  /** User and system (kernel) CPU seconds so far, from /proc/<pid>/stat. */
  cpuSplit() {
    return procCpu(this.pid);
  }

  /** Resident set size in bytes, from /proc/<pid>/status VmRSS. */
  rss() {
    return procRss(this.pid);
  }

  /** @param {number} timeoutS */
  async waitReady(timeoutS) {
    const deadline = Date.now() + timeoutS * 1000;
    for (const port of Object.values(this.ports)) {
      while (!(await canConnect(port))) {
        if (this.exited !== null) {
          const tail = this.output.trim().split("\n").slice(-3).join(" | ");
          throw new Error(`${this.name} exited (${this.exited}) before listening: ${tail}`);
        }
        if (Date.now() > deadline)
          throw new Error(
            `${this.name} did not accept connections on 127.0.0.1:${port} within ${timeoutS} s`,
          );
        await sleep(100);
      }
    }
    return this;
  }

  async stop() {
    if (this.exited === null) {
      this.child.kill("SIGTERM");
      for (let i = 0; i < this.termWaitS * 10 && this.exited === null; i++) await sleep(100);
      if (this.exited === null) this.child.kill("SIGKILL");
      for (let i = 0; i < 20 && this.exited === null; i++) await sleep(100);
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs `cmd args` in ROOT under a raised open-files limit (10,000 idle connections need 10,000
 * fds) and waits until every port of `ports` accepts connections; one that does not is stopped.
 * @param {string} name
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ ports: Record<string, number>, dir?: string | null, startTimeout: number, termWaitS?: number,
 *   env?: Record<string, string> }} options `env`: extra environment variables
 */
export async function startServer(name, cmd, args, { ports, dir, startTimeout, termWaitS, env }) {
  const child = spawn("bash", ["-c", RAISE_FDS, name, cmd, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: env ? { ...process.env, ...env } : process.env,
  });
  const server = new ChildServer(name, child, ports, dir, termWaitS);
  // BENCH_CHILD_LOG=PREFIX: the child's whole standard output also to PREFIX-<name>-<pid>.log (e.g.
  // Skein's `--skein-node-args=--trace-gc-nvp` lines).
  const log = process.env.BENCH_CHILD_LOG;
  if (log) child.stdout?.pipe(fs.createWriteStream(`${log}-${name}-${child.pid}.log`));
  try {
    return await server.waitReady(startTimeout);
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Kills every child still running (synchronous: safe in 'exit' handlers). */
export function killAll() {
  for (const s of live) {
    try {
      s.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    if (s.dir) fs.rmSync(s.dir, { recursive: true, force: true });
  }
  live.clear();
}
