// @ts-check
// The anchors of the storage and security scenarios (bench/scenarios/storage.mjs, security.mjs),
// each a child process on 127.0.0.1, a free port and a temporary directory, pinned to CPU 0 like
// Skein (pinned()): redis-server with AOF (appendfsync everysec), nats-server with JetStream (file
// store), Mosquitto with `persistence true` or a password file. Also Skein itself with a given
// store and configuration, and a small RESP client for Redis (no client library: XADD and XRANGE
// need a few dozen lines, and a library would add its own parsing cost to the anchor's figures).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, startServer } from "./child.mjs";
import { findBinary } from "./process.mjs";

const SKEIN_CLI = "packages/server/dist/cli.js";

/**
 * `cmd args` pinned to CPU 0 (taskset) when taskset is on PATH and the machine has 2+ CPUs, so every
 * server of these scenarios gets one core and the load generator the other.
 * @param {string} cmd
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export function pinned(cmd, args) {
  const taskset = findBinary("taskset");
  return taskset && os.cpus().length > 1 ? [taskset, ["-c", "0", cmd, ...args]] : [cmd, args];
}

/** @param {string} name */
const tmp = (name) => fs.mkdtempSync(path.join(os.tmpdir(), `skein-bench-${name}-`));

/**
 * Starts Skein (MQTT and HTTP/SDK ports) on `dataDir` (a new temporary directory when absent, removed
 * when it stops) with the `config` object as its --config file.
 * @param {{ store: "memory" | "sqlite", config?: object, dataDir?: string, startTimeout: number }} o
 */
export async function startSkeinWith(o) {
  const ports = { mqtt: await freePort(), http: await freePort() };
  const own = o.dataDir ? null : tmp("skein");
  const dir = o.dataDir ?? /** @type {string} */ (own);
  const confDir = own ?? tmp("skein-conf");
  const configFile = path.join(confDir, "bench-config.json");
  fs.writeFileSync(configFile, JSON.stringify(o.config ?? {}));
  const [cmd, args] = pinned(process.execPath, [
    SKEIN_CLI,
    ...["--host", "127.0.0.1", "--mqtt-port", String(ports.mqtt), "--http-port", String(ports.http)],
    ...["--log-level", "warn", "--store", o.store, "--data-dir", dir, "--config", configFile],
  ]);
  const server = await startServer("skein", cmd, args, {
    ports,
    dir: own,
    startTimeout: o.startTimeout,
    termWaitS: 10,
  });
  if (!own) server.child.once("exit", () => fs.rmSync(confDir, { recursive: true, force: true }));
  server.port = ports.mqtt;
  server.sdkUrl = `ws://127.0.0.1:${ports.http}/sdk`;
  return server;
}

/** Why redis-server cannot run here, or null. */
export const redisUnavailable = () => (findBinary("redis-server") ? null : "no redis-server binary on PATH");

/** Why nats-server cannot run here, or null. */
export const natsUnavailable = () => (findBinary("nats-server") ? null : "no nats-server binary on PATH");

/** Why Mosquitto cannot run here, or null. */
export const mosquittoUnavailable = () => (findBinary("mosquitto") ? null : "no mosquitto binary on PATH");

/**
 * The first line `bin args` prints (a version), or "unknown".
 * @param {string} bin
 * @param {string[]} args
 */
export function versionOf(bin, args) {
  try {
    const out = execFileSync(findBinary(bin) ?? bin, args, { encoding: "utf8", stdio: "pipe" });
    return out.trim().split("\n")[0] ?? "unknown";
  } catch (err) {
    const out = String(/** @type {{ stdout?: string }} */ (err).stdout ?? "");
    return /version (\S+)/.exec(out)?.[1] ?? "unknown";
  }
}

/**
 * redis-server with AOF on, fsync every second (the setting Redis recommends), no RDB snapshots.
 * @param {{ startTimeout: number }} opts
 */
export async function startRedis(opts) {
  const port = await freePort();
  const dir = tmp("redis");
  const [cmd, args] = pinned(findBinary("redis-server") ?? "redis-server", [
    ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
    ...["--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "no"],
  ]);
  const server = await startServer("redis", cmd, args, {
    ports: { redis: port },
    dir,
    startTimeout: opts.startTimeout,
  });
  server.port = port;
  return server;
}

/**
 * nats-server with JetStream, its file store in a temporary directory.
 * @param {{ startTimeout: number }} opts
 */
export async function startJetStream(opts) {
  const port = await freePort();
  const dir = tmp("nats-js");
  const [cmd, args] = pinned(findBinary("nats-server") ?? "nats-server", [
    ...["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir],
  ]);
  const server = await startServer("nats-js", cmd, args, {
    ports: { nats: port },
    dir,
    startTimeout: opts.startTimeout,
  });
  server.port = port;
  return server;
}

/**
 * Mosquitto on a free port: `persistence true` (its store in a temporary directory; written at
 * autosave and shutdown, so it does not wait for the disk) or a password file of `users`.
 * @param {{ startTimeout: number, persistence?: boolean, users?: [string, string][] }} opts
 */
export async function startMosquittoWith(opts) {
  const port = await freePort();
  const dir = tmp("mosquitto");
  const lines = [
    "per_listener_settings false",
    `listener ${port} 127.0.0.1`,
    "max_connections -1",
    "max_queued_messages 1000000",
    "max_inflight_messages 1000",
    "sys_interval 0",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    // Run as root, Mosquitto drops to the `mosquitto` user, which cannot read this private temporary
    // directory (its password file, its persistence file): keep the user it was started as.
    ...(process.getuid?.() === 0 ? ["user root"] : []),
  ];
  if (opts.persistence) lines.push("persistence true", `persistence_location ${dir}/`);
  else lines.push("persistence false");
  if (opts.users?.length) {
    const file = path.join(dir, "passwd");
    const bin = findBinary("mosquitto_passwd") ?? "mosquitto_passwd";
    opts.users.forEach(([user, pass], i) =>
      execFileSync(bin, [...(i === 0 ? ["-c"] : []), "-b", file, user, pass], { stdio: "pipe" }),
    );
    lines.push("allow_anonymous false", `password_file ${file}`);
  } else lines.push("allow_anonymous true");
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(conf, lines.join("\n") + "\n");
  const [cmd, args] = pinned(findBinary("mosquitto") ?? "mosquitto", ["-c", conf]);
  const server = await startServer("mosquitto", cmd, args, {
    ports: { mqtt: port },
    dir,
    startTimeout: opts.startTimeout,
  });
  server.port = port;
  return server;
}

/** @typedef {any} RespValue a reply: string, number, null, Buffer, Error or an array of replies */

/**
 * A pipelining RESP2 client on one connection: `command()` writes at once and resolves with the
 * reply, in order. The parser resumes where a partial reply stopped (a large XRANGE reply arrives in
 * many chunks and is parsed once).
 */
export class Resp {
  /** @param {number} port */
  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
      socket.once("error", reject);
      socket.once("connect", () => resolve(new Resp(socket)));
    });
  }

  /** @param {import("node:net").Socket} socket */
  constructor(socket) {
    this.socket = socket;
    /** @type {{ resolve: (v: RespValue) => void, reject: (e: Error) => void }[]} */
    this.waiting = [];
    /** @type {Buffer} */
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    /** @type {{ items: RespValue[], left: number }[]} arrays being filled */
    this.stack = [];
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", (err) => this.failAll(err));
    socket.on("close", () => this.failAll(new Error("redis connection closed")));
  }

  /** @param {Error} err */
  failAll(err) {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  /**
   * @param {(string | Buffer | number)[]} args
   * @returns {Promise<RespValue>}
   */
  command(...args) {
    const parts = [`*${args.length}\r\n`];
    /** @type {(string | Buffer)[]} */
    const out = [];
    for (const a of args) {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
      parts.push(`$${b.length}\r\n`);
      out.push(parts.join(""), b);
      parts.length = 0;
      parts.push("\r\n");
    }
    out.push(parts.join(""));
    this.socket.write(Buffer.concat(out.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)))));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** @param {Buffer} chunk */
  onData(chunk) {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    const b = this.buf;
    for (;;) {
      const eol = b.indexOf("\r\n", this.pos);
      if (eol < 0) return;
      const type = b[this.pos];
      const line = b.toString("latin1", this.pos + 1, eol);
      /** @type {RespValue | undefined} */
      let value;
      let next = eol + 2;
      if (type === 0x2b /* + */) value = line;
      else if (type === 0x2d /* - */) value = new Error(line);
      else if (type === 0x3a /* : */) value = Number(line);
      else if (type === 0x24 /* $ */) {
        const n = Number(line);
        if (n < 0) value = null;
        else {
          if (b.length < next + n + 2) return; // the bulk string is not all here yet
          value = b.subarray(next, next + n);
          next += n + 2;
        }
      } else if (type === 0x2a /* * */) {
        const n = Number(line);
        this.pos = next;
        if (n > 0) {
          this.stack.push({ items: [], left: n });
          continue;
        }
        value = n < 0 ? null : [];
      } else {
        this.failAll(new Error(`bad RESP type ${type}`));
        this.socket.destroy();
        return;
      }
      this.pos = next;
      this.deliver(/** @type {RespValue} */ (value));
    }
  }

  /** @param {RespValue} value */
  deliver(value) {
    for (;;) {
      const top = this.stack.at(-1);
      if (!top) break;
      top.items.push(value);
      if (--top.left > 0) return;
      this.stack.pop();
      value = top.items;
    }
    const w = this.waiting.shift();
    if (!w) return;
    if (value instanceof Error) w.reject(value);
    else w.resolve(value);
  }

  close() {
    this.socket.destroy();
  }
}
