// @ts-check
// Idle connections: `--idle-conns` clients connect (MQTT CONNECT/CONNACK, keepalive 60 s) from
// several worker threads and stay idle. Reports the time to connect them all and the broker's
// resident memory per connection: (VmRSS after - VmRSS before) / connections.
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { otherCpu } from "../lib/cpu.mjs";
import { baseConfig } from "../lib/measure.mjs";
import { Pool } from "../lib/pool.mjs";

const WORKERS = 4;
const SETTLE_MS = 2000;

/** @type {import("../lib/types.js").MqttScenario} */
export default {
  name: "idle",
  suite: "mqtt",
  options: ["idle-conns", "mqtt"],
  title: (o) => `Idle connections: ${o.idleConns} clients, broker RSS per connection and time to connect`,
  kind: "idle",
  async run(target, opts) {
    const limit = execFileSync("bash", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
    if (limit !== "unlimited" && Number(limit) < opts.idleConns + 500) {
      throw new Error(
        `open-files limit ${limit} is too low for ${opts.idleConns} connections: raise ulimit -n`,
      );
    }
    await sleep(1000); // let the broker settle after start-up
    const rssBefore = target.rss();
    const other = otherCpu([target.pid]);
    const pool = new Pool(WORKERS, opts.idleConns, (w, n) => ({
      ...baseConfig(target, opts, "idle", "i", w, n),
      concurrency: 25,
    }));
    try {
      const opened = await pool.all("open");
      const connected = opened.reduce((a, r) => a + r.connected, 0);
      const seconds = (Math.max(...opened.map((r) => r.t1)) - Math.min(...opened.map((r) => r.t0))) / 1000;
      await sleep(SETTLE_MS);
      const rssAfter = target.rss();
      const { closed } = await pool.snap();
      const failed = opened.reduce((a, r) => a + r.failed, 0);
      return {
        connections: connected - closed,
        failed,
        firstError: opened.find((r) => r.firstError)?.firstError,
        connectSeconds: seconds,
        connectsPerSec: connected / seconds,
        rssBefore,
        rssAfter,
        otherCpu: other(),
        bytesPerConn: connected - closed > 0 ? (rssAfter - rssBefore) / (connected - closed) : null,
      };
    } finally {
      await pool.close();
    }
  },
};
