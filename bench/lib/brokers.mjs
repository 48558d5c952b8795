// Broker targets. Every broker runs in its own child process (so its CPU and RSS are its own),
// on 127.0.0.1 and a free port, with the open-files limit raised for the idle-connection test.
import { execFileSync, fork, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RAISE_FDS, canConnect, findBinary, procCpu, procRss } from "./process.mjs";

export const ROOT = path.resolve(new URL("../..", import.meta.url).pathname);
const live = new Set(); // running children, killed on exit / Ctrl-C

function readJson(file) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
}

const SKEIN_CLI = "packages/server/dist/cli.js";

function mosquittoConfig(port, dir, opts) {
  const file = path.join(dir, "mosquitto.conf");
  const lines = [
    "per_listener_settings false",
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    "persistence false",
    "max_connections -1",
    "max_queued_messages 1000000", // default 1000 (and even 100000 in 2.0.11) drops messages here
    "max_inflight_messages 1000", // default 20 QoS 1 in flight per client would cap QoS 1 delivery
    ...(opts.nodelay ? ["set_tcp_nodelay true"] : []), // default: Nagle on, like Node's net.Server
    "sys_interval 0",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
  ];
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/**
 * Skein gets the same queue and in-flight bounds as Mosquitto below (max_queued_messages,
 * max_inflight_messages), so neither drops QoS 1 messages the other keeps.
 */
function skeinConfig(dir) {
  const file = path.join(dir, "skein.json");
  fs.writeFileSync(file, JSON.stringify({ mqtt: { maxQueuedMessages: 1_000_000, maxInflight: 1000 } }));
  return file;
}

export const BROKERS = {
  skein: {
    label: "Skein",
    unavailable: () =>
      fs.existsSync(path.join(ROOT, SKEIN_CLI)) ? null : `${SKEIN_CLI} not found (npm run build)`,
    version: () => readJson("packages/server/package.json").version,
    command: (port, dir, opts) => [
      process.execPath,
      [
        SKEIN_CLI,
        ...["--host", "127.0.0.1", "--mqtt-port", String(port), "--http-port", "0", "--log-level", "warn"],
        ...["--data-dir", dir, "--config", skeinConfig(dir)],
        ...opts.skeinArgs,
      ],
    ],
  },
  aedes: {
    label: "Aedes",
    unavailable: () => null,
    version: () => readJson("node_modules/aedes/package.json").version,
    command: (port, dir, opts) => [
      process.execPath,
      ["bench/aedes-server.mjs", String(port), ...(opts.nodelay ? ["--nodelay"] : [])],
    ],
  },
  mosquitto: {
    label: "Mosquitto",
    unavailable: () => (findBinary("mosquitto") ? null : "no mosquitto binary on PATH"),
    version() {
      let out;
      try {
        out = execFileSync(findBinary("mosquitto"), ["-h"], { encoding: "utf8", stdio: "pipe" });
      } catch (err) {
        out = String(err.stdout ?? ""); // mosquitto -h exits non-zero
      }
      return /version (\S+)/.exec(out)?.[1] ?? "unknown";
    },
    command: (port, dir, opts) => [findBinary("mosquitto"), ["-c", mosquittoConfig(port, dir, opts)]],
  },
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A running broker child process. */
class Running {
  constructor(name, child, port, dir) {
    Object.assign(this, { name, child, port, dir, pid: child.pid, output: "", exited: null });
    const keep = (d) => (this.output = (this.output + d).slice(-4000));
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", (code, signal) => {
      this.exited = signal ?? code;
      live.delete(this);
    });
    live.add(this);
  }

  /** Resident set size in bytes, from /proc/<pid>/status VmRSS. */
  rss() {
    return procRss(this.pid);
  }

  /** User + system CPU seconds used so far (all threads), from /proc/<pid>/stat. */
  cpuSeconds() {
    const { user, sys } = procCpu(this.pid);
    return user + sys;
  }

  async waitReady(timeoutS) {
    const deadline = Date.now() + timeoutS * 1000;
    while (Date.now() < deadline) {
      if (this.exited !== null) {
        const tail = this.output.trim().split("\n").slice(-3).join(" | ");
        throw new Error(`${this.name} exited (${this.exited}) before listening: ${tail}`);
      }
      if (await canConnect(this.port)) return this;
      await sleep(100);
    }
    throw new Error(`${this.name} did not accept connections on 127.0.0.1:${this.port} within ${timeoutS} s`);
  }

  async stop() {
    if (this.exited === null) {
      this.child.kill("SIGTERM");
      for (let i = 0; i < 30 && this.exited === null; i++) await sleep(100);
      if (this.exited === null) this.child.kill("SIGKILL");
      for (let i = 0; i < 20 && this.exited === null; i++) await sleep(100);
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts broker `name` on a free port and waits until the port accepts connections. */
export async function startBroker(name, opts) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `skein-bench-${name}-`));
  const [cmd, args] = BROKERS[name].command(port, dir, opts);
  // Raise the open-files limit as far as allowed: 10,000 idle connections need 10,000 fds.
  const child = spawn("bash", ["-c", RAISE_FDS, name, cmd, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const broker = new Running(name, child, port, dir);
  try {
    return await broker.waitReady(opts.startTimeout);
  } catch (err) {
    await broker.stop();
    throw err;
  }
}

/** The null sink (null-broker.mjs) used to measure the load generator's own ceiling. */
export async function startNullSink(config) {
  const port = await freePort();
  const child = fork(path.join(ROOT, "bench/null-broker.mjs"), [String(port), JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const sink = new Running("null-sink", child, port, null);
  const ask = (msg) =>
    new Promise((resolve) => {
      child.once("message", resolve);
      child.send(msg);
    });
  sink.counts = () => ask("counts");
  sink.startStreaming = () => ask("start");
  return sink.waitReady(10);
}

/** Kills every broker still running (synchronous: safe in 'exit' handlers). */
export function killAll() {
  for (const b of live) {
    try {
      b.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    if (b.dir) fs.rmSync(b.dir, { recursive: true, force: true });
  }
  live.clear();
}
