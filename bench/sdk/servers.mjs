// The servers of the SDK bench, each in its own child process on 127.0.0.1 (so its CPU time is its
// own, read from /proc/<pid>/stat): Skein with both doors on known ports, the bare WebSocket relay
// (relay-server.mjs, the floor for a Node server), and nats-server when it is on PATH. Optionally
// Skein (or the relay) runs under `node --cpu-prof` (profile written when it exits on SIGTERM).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ROOT, freePort } from "../lib/brokers.mjs";
import { RAISE_FDS, canConnect, findBinary, procCpu, procRss } from "../lib/process.mjs";

const SKEIN_CLI = "packages/server/dist/cli.js";
const RELAY_SCRIPT = "bench/sdk/relay-server.mjs";
const live = new Set();

class Server {
  constructor(name, child, ports, dir) {
    Object.assign(this, { name, child, ports, dir, pid: child.pid, output: "", exited: null });
    const keep = (d) => (this.output = (this.output + d).slice(-4000));
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", (code, signal) => {
      this.exited = signal ?? code;
      live.delete(this);
    });
    live.add(this);
  }

  /** The process that does the work: `bash -c ... exec` replaces bash, so the pid is the server's. */
  cpuSeconds() {
    const { user, sys } = this.cpuSplit();
    return user + sys;
  }

  /** User and system (kernel) CPU seconds so far. */
  cpuSplit() {
    return procCpu(this.pid);
  }

  rss() {
    return procRss(this.pid);
  }

  async waitReady(timeoutS) {
    const deadline = Date.now() + timeoutS * 1000;
    for (const port of Object.values(this.ports)) {
      while (!(await canConnect(port))) {
        if (this.exited !== null) {
          const tail = this.output.trim().split("\n").slice(-3).join(" | ");
          throw new Error(`${this.name} exited (${this.exited}) before listening: ${tail}`);
        }
        if (Date.now() > deadline)
          throw new Error(`${this.name} did not listen on ${port} within ${timeoutS} s`);
        await sleep(100);
      }
    }
    return this;
  }

  async stop() {
    if (this.exited === null) {
      this.child.kill("SIGTERM");
      for (let i = 0; i < 100 && this.exited === null; i++) await sleep(100); // a profile takes a while
      if (this.exited === null) this.child.kill("SIGKILL");
      for (let i = 0; i < 20 && this.exited === null; i++) await sleep(100);
    }
    if (this.dir && !this.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function launch(name, cmd, args, ports, dir) {
  const child = spawn("bash", ["-c", RAISE_FDS, name, cmd, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Server(name, child, ports, dir);
}

export const skeinUnavailable = () =>
  fs.existsSync(path.join(ROOT, SKEIN_CLI)) ? null : `${SKEIN_CLI} not found (npm run build)`;

/**
 * Starts Skein: MQTT on `ports.mqtt`, HTTP (the SDK door at /sdk) on `ports.http`.
 * @param opts {startTimeout, skeinArgs, profileDir?}
 */
export async function startSkein(opts) {
  const ports = { mqtt: await freePort(), http: await freePort() };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-bench-sdk-"));
  const nodeArgs = opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : [];
  const args = [
    ...nodeArgs,
    SKEIN_CLI,
    ...["--host", "127.0.0.1", "--mqtt-port", String(ports.mqtt), "--http-port", String(ports.http)],
    ...["--log-level", "warn", "--data-dir", dir],
    ...(opts.skeinArgs ?? []),
  ];
  const server = launch("skein", process.execPath, args, ports, dir);
  try {
    await server.waitReady(opts.startTimeout);
  } catch (err) {
    await server.stop();
    throw err;
  }
  server.sdkUrl = `ws://127.0.0.1:${ports.http}/sdk`;
  return server;
}

/**
 * Starts the bare WebSocket + MessagePack relay (relay-server.mjs): the SDK frames of the raw
 * request-response roles at /sdk on `ports.http`, nothing else.
 * @param opts {startTimeout, profileDir?}
 */
export async function startRelay(opts) {
  const ports = { http: await freePort() };
  const nodeArgs = opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : [];
  const server = launch("relay", process.execPath, [...nodeArgs, RELAY_SCRIPT, String(ports.http)], ports);
  try {
    await server.waitReady(opts.startTimeout);
  } catch (err) {
    await server.stop();
    throw err;
  }
  server.sdkUrl = `ws://127.0.0.1:${ports.http}/sdk`;
  return server;
}

export const natsUnavailable = () => (findBinary("nats-server") ? null : "no nats-server binary on PATH");

export function natsVersion() {
  try {
    return execFileSync(findBinary("nats-server"), ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/** Starts nats-server on 127.0.0.1 and a free port (no JetStream, no monitoring). */
export async function startNats(opts) {
  const port = await freePort();
  const server = launch("nats-server", findBinary("nats-server"), ["-a", "127.0.0.1", "-p", String(port)], {
    client: port,
  });
  try {
    await server.waitReady(opts.startTimeout);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** Kills every server still running (synchronous: safe in 'exit' handlers). */
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
