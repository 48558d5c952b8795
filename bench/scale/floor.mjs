#!/usr/bin/env node
// @ts-check
/**
 * What an idle MQTT connection costs a Node server, part by part (issue 11; "Scale: connections" in
 * docs/performance.md). Starts one server in a child process under bench/scale/mem-probe.mjs, opens
 * idle connections step by step from the scale bench's client processes (bench/scale/pool.mjs: one
 * CONNECT with keep alive 60 and one SUBSCRIBE each, half 3.1.1 and half 5.0), and after each step
 * and two full GCs in the server prints, per connection since the first step: RSS, V8 heap used and
 * committed (heapUsed, heapTotal), `external`, and the resident memory outside V8's heap split into the
 * main malloc arena (`[heap]`) and other anonymous mappings.
 *
 *   node bench/scale/floor.mjs --server bare --steps 0,10000,19000
 *   node bench/scale/floor.mjs --server skein --steps 0,3000 --snapshots /tmp/snaps   # + heap snapshots
 *   MALLOC_ARENA_MAX=1 node bench/scale/floor.mjs --server relay --node-args="--max-semi-space-size=1"
 *   FLOOR_REGIONS=1 node bench/scale/floor.mjs --server skein   # + which anonymous mappings grew
 *
 * Servers: `bare` (bench/scale/bare-server.mjs: one shared `data` listener, fixed answers), `bare-nodelay`,
 * `bare-pause` (stops reading after the SUBACK), `relay` (bench/relay-broker.mjs, the `node-relay`
 * broker), `skein` (packages/server/dist/cli.js, or BENCH_SKEIN_CLI). Heap snapshots (MEM_PROBE_SNAPSHOTS)
 * are summarised per constructor with bench/scale/heap-summary.mjs.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, startServer } from "../lib/child.mjs";
import { ClientPool } from "./pool.mjs";
import { runAsScript } from "./common.mjs";

const SKEIN_CLI = process.env.BENCH_SKEIN_CLI ?? "packages/server/dist/cli.js";

/** @type {Record<string, (port: number, dir: string) => string[]>} */
const SERVERS = {
  bare: (port) => ["bench/scale/bare-server.mjs", String(port)],
  "bare-nodelay": (port) => ["bench/scale/bare-server.mjs", String(port), "--nodelay"],
  "bare-pause": (port) => ["bench/scale/bare-server.mjs", String(port), "--pause"],
  relay: (port) => ["bench/relay-broker.mjs", String(port)],
  skein: (port, dir) => [
    SKEIN_CLI,
    ...["--host", "127.0.0.1", "--mqtt-port", String(port), "--http-port", "0", "--log-level", "warn"],
    ...["--store", "memory", "--data-dir", dir],
  ],
};

/**
 * @param {{ server: string, steps: number[], nodeArgs: string[], snapshots?: string, clients: number }} o
 */
async function run(o) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-floor-"));
  const probeFile = path.join(dir, "mem.jsonl");
  const env = { MEM_PROBE_FILE: probeFile, ...(o.snapshots ? { MEM_PROBE_SNAPSHOTS: o.snapshots } : {}) };
  const args = [
    "--expose-gc",
    "--import",
    "./bench/scale/mem-probe.mjs",
    ...o.nodeArgs,
    ...SERVERS[o.server](port, dir),
  ];
  const server = await startServer(o.server, process.execPath, args, {
    ports: { mqtt: port },
    dir,
    startTimeout: 20,
    env,
  });
  const pool = new ClientPool(o.clients);
  /** @type {any[]} */
  const rows = [];
  try {
    await sleep(1000);
    let held = 0;
    for (const total of o.steps) {
      if (total > held) {
        await pool.open(total - held, { port, prefix: `f${total}`, concurrency: 50 });
        await sleep(3000);
        held = await pool.count();
      }
      const before = fs.existsSync(`${probeFile}.done`) ? fs.statSync(`${probeFile}.done`).size : 0;
      /** @type {import("node:child_process").ChildProcess} */ (server.child).kill("SIGWINCH");
      for (let i = 0; i < 600; i++) {
        if (fs.existsSync(`${probeFile}.done`) && fs.statSync(`${probeFile}.done`).size > before) break;
        await sleep(100);
      }
      const line = JSON.parse(fs.readFileSync(probeFile, "utf8").trim().split("\n").at(-1) ?? "{}");
      rows.push({ held, ...line });
    }
  } finally {
    await pool.close();
    await server.stop();
  }
  print(o.server, rows);
}

/** @param {string} name @param {any[]} rows */
function print(name, rows) {
  const [base] = rows;
  const kb = (/** @type {number} */ b) => (b / 1024).toFixed(2);
  console.log(
    `\n${name} (${process.env.MALLOC_ARENA_MAX ? `MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX}` : "glibc defaults"})`,
  );
  console.log(
    "| connections | RSS | heapUsed | heapTotal | external | RSS outside V8 heap | of it [heap] (malloc) | other anon | file |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows.slice(1)) {
    const n = r.held - base.held;
    const d = (/** @type {(x: any) => number} */ f) => kb((f(r) - f(base)) / n);
    console.log(
      `| ${r.held} | ${d((x) => x.mem.rss)} | ${d((x) => x.mem.heapUsed)} | ${d((x) => x.mem.heapTotal)} | ` +
        `${d((x) => x.mem.external)} | ${d((x) => x.mem.rss - x.mem.heapTotal)} | ${d((x) => x.smaps.brkHeap * 1024)} | ` +
        `${d((x) => x.smaps.anon * 1024)} | ${d((x) => x.smaps.file * 1024)} |`,
    );
  }
  for (const r of rows) {
    const sp = Object.entries(r.spaces)
      .filter(([, v]) => /** @type {any} */ (v).size > 0)
      .map(
        ([k, v]) =>
          `${k.replace("_space", "")} ${(v.size / 1048576).toFixed(1)}/${(v.used / 1048576).toFixed(1)}`,
      );
    console.log(`  at ${r.held}: V8 spaces MB committed/used: ${sp.join(", ")}`);
  }
  // FLOOR_REGIONS=1: which anonymous mappings (grouped by size) grew, first step to last.
  if (process.env.FLOOR_REGIONS) {
    const last = rows.at(-1);
    for (const [k, [c, kb]] of Object.entries(last.regions)) {
      const [c0, kb0] = base.regions[k] ?? [0, 0];
      if (Math.abs(kb - kb0) > 256)
        console.log(`  anon mappings of ${k}: ${c0} -> ${c}, resident ${kb0} -> ${kb} kB`);
    }
  }
  console.log(
    `(KB per connection since ${base.held} connections; RSS at ${base.held}: ${(base.mem.rss / 1048576).toFixed(1)} MB)`,
  );
}

runAsScript(import.meta.filename, () => {
  const { values } = parseArgs({
    options: {
      server: { type: "string", default: "bare" },
      steps: { type: "string", default: "0,10000,19000" },
      "node-args": { type: "string", default: "" },
      snapshots: { type: "string" },
      clients: { type: "string", default: "4" },
    },
    strict: true,
  });
  return run({
    server: values.server,
    steps: values.steps.split(",").map(Number),
    nodeArgs: values["node-args"].split(" ").filter(Boolean),
    snapshots: values.snapshots,
    clients: Number(values.clients),
  });
});
