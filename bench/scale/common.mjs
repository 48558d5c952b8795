// @ts-check
// Shared by the parts of the scale bench (bench/scale/run.mjs): the open-files ceiling, tables, a
// small raw MQTT client for the bench process itself, broker CPU, and a Skein configuration file.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt-packet";
import { setTimeout as sleep } from "node:timers/promises";
import { killAll } from "../lib/child.mjs";
import { installCleanup, procCpu, reexecWithMoreFds } from "../lib/process.mjs";

/** Descriptors a broker keeps for itself (listeners, files, pipes). */
const RESERVED_FDS = 200;

/**
 * The open-files limit a broker runs under (bench/lib/process.mjs RAISE_FDS: 65,536 or the hard
 * limit) and the connections one process can hold under it.
 * @returns {{ limit: number, connections: number }}
 */
export function fdCap() {
  const hard = execFileSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
  const limit = Math.min(hard === "unlimited" ? 1_048_576 : Number(hard) || 1_048_576, 65_536);
  return { limit, connections: limit - RESERVED_FDS };
}

/**
 * Prints a Markdown table (numbers right-aligned).
 * @param {string[]} head
 * @param {string[][]} rows
 */
export function printTable(head, rows) {
  const numeric = head.map((_, i) => i > 0 && rows.every((r) => /^[-0-9.,]/.test(r[i] ?? "")));
  console.log("");
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${numeric.map((n) => (n ? "---:" : "---")).join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log("");
}

/** CPU seconds (user + system) a process used so far. @param {number} pid */
export function cpuOf(pid) {
  const { user, sys } = procCpu(pid);
  return user + sys;
}

/**
 * Writes a Skein configuration file into a temporary directory and returns its path.
 * @param {object} config
 */
export function skeinConfigFile(config) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-bench-scale-"));
  const file = path.join(dir, "skein.json");
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

/** A raw MQTT connection of the bench process (publisher, subscriber of many filters). */
export class RawClient {
  /**
   * Connects and waits for the CONNACK.
   * @param {number} port
   * @param {string} clientId
   * @param {{ version?: 4 | 5, keepalive?: number, localAddress?: string }} [o]
   * @returns {Promise<RawClient>}
   */
  static async connect(port, clientId, o = {}) {
    const c = new RawClient(port, o.version ?? 4, o.localAddress);
    c.socket.write(
      c.encode({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: c.version,
        clean: true,
        clientId,
        keepalive: o.keepalive ?? 0,
      }),
    );
    const connack = await c.next("connack");
    if ((connack.returnCode ?? connack.reasonCode ?? 0) !== 0)
      throw new Error(`CONNACK ${JSON.stringify(connack)}`);
    return c;
  }

  /**
   * @param {number} port
   * @param {4 | 5} version
   * @param {string} [localAddress]
   */
  constructor(port, version, localAddress) {
    this.version = version;
    this.socket = net.connect({ port, host: "127.0.0.1", localAddress });
    this.socket.setNoDelay(true);
    this.parser = mqtt.parser({ protocolVersion: version });
    /** PUBLISH packets received. */
    this.publishes = 0;
    /** @type {Map<string, ((p: any) => void)[]>} */
    this.waiting = new Map();
    /** @type {((p: any) => void) | undefined} called for each SUBACK */
    this.onSuback = undefined;
    this.closed = false;
    this.socket.on("data", (d) => this.parser.parse(d));
    this.socket.on("error", () => {});
    this.socket.on("close", () => (this.closed = true));
    this.parser.on("packet", (/** @type {any} */ p) => {
      if (p.cmd === "publish") this.publishes++;
      else if (p.cmd === "suback" && this.onSuback) this.onSuback(p);
      else this.waiting.get(p.cmd)?.shift()?.(p);
    });
  }

  /** @param {object} packet */
  encode(packet) {
    return mqtt.generate(/** @type {import("mqtt-packet").Packet} */ (packet), {
      protocolVersion: this.version,
    });
  }

  /**
   * The next packet of kind `cmd` (within 60 s).
   * @param {string} cmd
   * @returns {Promise<any>}
   */
  next(cmd) {
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(cmd) ?? [];
      this.waiting.set(cmd, list);
      const timer = setTimeout(() => reject(new Error(`no ${cmd} within 60 s`)), 60_000);
      list.push((p) => {
        clearTimeout(timer);
        resolve(p);
      });
    });
  }

  /**
   * Writes bytes, waiting for 'drain' when the socket's buffer is full.
   * @param {Buffer} bytes
   */
  async write(bytes) {
    if (!this.socket.write(bytes)) await new Promise((resolve) => this.socket.once("drain", resolve));
  }

  /** A PINGREQ and its PINGRESP: every packet sent before it has been read by the broker. */
  async ping() {
    const pong = this.next("pingresp");
    this.socket.write(Buffer.from([0xc0, 0x00]));
    await pong;
  }

  /**
   * Subscribes to `filters` (QoS 0), `perPacket` filters per SUBSCRIBE and at most `window`
   * SUBSCRIBEs unanswered; resolves with the filters refused (reason code >= 0x80).
   * @param {string[]} filters
   * @param {number} [perPacket]
   * @param {number} [window]
   * @returns {Promise<number>}
   */
  subscribeMany(filters, perPacket = 100, window = 16) {
    return new Promise((resolve, reject) => {
      let sent = 0;
      let acked = 0;
      let refused = 0;
      let id = 0;
      const packets = Math.ceil(filters.length / perPacket);
      const send = () => {
        while (sent < packets && sent - acked < window) {
          const slice = filters.slice(sent * perPacket, (sent + 1) * perPacket);
          id = (id % 65_535) + 1;
          this.socket.write(
            this.encode({
              cmd: "subscribe",
              messageId: id,
              subscriptions: slice.map((topic) => ({ topic, qos: 0 })),
            }),
          );
          sent++;
        }
      };
      const timer = setInterval(() => {
        if (this.closed) {
          clearInterval(timer);
          reject(new Error(`connection closed after ${acked} of ${packets} SUBACKs`));
        }
      }, 500);
      this.onSuback = (/** @type {{ granted: number[] }} */ p) => {
        acked++;
        refused += p.granted.filter((g) => g >= 0x80).length;
        if (acked === packets) {
          clearInterval(timer);
          this.onSuback = undefined;
          resolve(refused);
        } else send();
      };
      if (packets === 0) {
        clearInterval(timer);
        resolve(0);
      } else send();
    });
  }

  close() {
    this.socket.destroy();
  }
}

/**
 * Waits until `read()` stops growing (polled every 200 ms, at most `maxMs`) or reaches `want`.
 * @param {() => Promise<number> | number} read
 * @param {number} want
 * @param {number} [maxMs]
 * @returns {Promise<number>}
 */
export async function settle(read, want, maxMs = 5000) {
  const until = Date.now() + maxMs;
  let last = await read();
  while (last < want && Date.now() < until) {
    await sleep(200);
    const now = await read();
    if (now === last && now > 0) break;
    last = now;
  }
  return last;
}

/**
 * Runs `tick(n)` every `everyMs` for `seconds`, with n the messages due since the last tick at
 * `perSecond` (fractions carried over), so a low rate still spreads over the window.
 * @param {number} perSecond
 * @param {number} seconds
 * @param {(n: number) => Promise<void> | void} tick
 * @param {number} [everyMs]
 * @returns {Promise<number>} messages sent
 */
export async function paced(perSecond, seconds, tick, everyMs = 10) {
  const t0 = performance.now();
  let sent = 0;
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= seconds) break;
    const due = Math.floor(elapsed * perSecond) + 1 - sent;
    if (due > 0) {
      await tick(due);
      sent += due;
    }
    await sleep(everyMs);
  }
  return sent;
}

/**
 * Runs `main` when the module at `filename` (its `import.meta.filename`) is the script node was
 * started with: under the raised open-files limit (the process runs itself again once to get it), with
 * the broker children killed on exit; exits 0, or 1 after printing the error.
 * @param {string} filename
 * @param {() => Promise<unknown>} main
 */
export function runAsScript(filename, main) {
  if (!process.argv[1] || filename !== path.resolve(process.argv[1])) return;
  if (reexecWithMoreFds(fdCap().limit)) return;
  installCleanup(killAll, "servers");
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      killAll();
      process.exit(1);
    },
  );
}
