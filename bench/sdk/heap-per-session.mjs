#!/usr/bin/env node
// @ts-check
/**
 * Heap bytes per idle SDK session, by constructor (issue 11's SDK memory target).
 *
 *   node --expose-gc bench/sdk/heap-per-session.mjs [--sessions 2500] [--dist packages/server/dist] [--top 40]
 *
 * Starts Skein in this process (memory store, log level warn, as bench/sdk/servers.mjs starts it),
 * opens `--sessions` idle SDK sessions with one selection `>scale/<id>//` each from a second process
 * (bench/scale/idle-sdk-clients.mjs, the clients of `bench/scale/connections.mjs --door sdk`), and
 * takes two heap snapshots after full collections: one before the sessions and one with them. It
 * prints the difference per session grouped by constructor (objects by their constructor's name,
 * closures, strings, arrays and hidden V8 structures by their kind), largest first. `--dist` loads
 * another build (e.g. a copy of main's in packages/server/dist-before).
 */
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import { ROOT } from "../lib/child.mjs";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "2500" },
    dist: { type: "string", default: "packages/server/dist" },
    top: { type: "string", default: "40" },
    detailed: { type: "boolean", default: false },
  },
});
const sessions = Number(values.sessions);
const detailed = values.detailed;
const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
if (!gc) throw new Error("run with node --expose-gc");

const { createServer } = await import(pathToFileURL(path.resolve(ROOT, values.dist, "index.js")).href);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-heap-"));
const server = createServer({
  host: "127.0.0.1",
  logLevel: "warn",
  dataDir,
  storage: { engine: "memory" },
  mqtt: { port: 0, tlsPort: false },
  http: { port: 0, tlsPort: false },
});
const addresses = await server.listen();
const url = `ws://127.0.0.1:${addresses.http}/sdk`;

/** Constructor -> [count, bytes] of one heap snapshot. */
function takeSnapshot() {
  for (let i = 0; i < 3; i++) gc?.();
  return v8.writeHeapSnapshot(path.join(dataDir, `s-${Date.now()}.heapsnapshot`));
}

/**
 * Constructor -> [count, bytes] of a heap snapshot file (read after both were taken, so that the
 * reading's own strings are in neither).
 * @param {string} file
 */
function byConstructor(file) {
  const snap = JSON.parse(fs.readFileSync(file, "utf8"));
  fs.rmSync(file);
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const nf = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = meta.node_types[typeAt];
  const edgeFields = meta.edge_fields;
  const ef = edgeFields.length;
  const edgeTypeAt = edgeFields.indexOf("type");
  const edgeNameAt = edgeFields.indexOf("name_or_index");
  const toAt = edgeFields.indexOf("to_node");
  const edgeTypes = meta.edge_types[edgeTypeAt];
  const edgeCountAt = fields.indexOf("edge_count");
  const nodes = snap.nodes;
  const edges = snap.edges;
  // The first retainer of each node (by a non-weak edge): arrays and hidden structures are named after it.
  /** @type {Int32Array} */
  const owner = new Int32Array(nodes.length / nf).fill(-1);
  /** @type {string[]} */
  const ownerEdge = [];
  for (let i = 0, e = 0; i < nodes.length; i += nf) {
    const n = nodes[i + edgeCountAt];
    for (let k = 0; k < n; k++, e += ef) {
      const et = edgeTypes[edges[e + edgeTypeAt]];
      if (et === "weak" || et === "shortcut") continue;
      const to = edges[e + toAt] / nf;
      if (owner[to] !== -1) continue;
      owner[to] = i / nf;
      ownerEdge[to] =
        et === "element" || et === "hidden" ? `[${et}]` : String(snap.strings[edges[e + edgeNameAt]]);
    }
  }
  /** Generic containers and V8's own structures: named after what holds them (two levels up). */
  const GENERIC = new Set(["Object", "Array", "Map", "Set", "WeakMap", "system / Context"]);
  const label = (/** @type {number} */ j) => {
    const type = types[nodes[j * nf + typeAt]];
    const name = String(snap.strings[nodes[j * nf + nameAt]]);
    if (type === "object" || type === "native") return name;
    if (type.endsWith("string") || type === "number") return `(${type})`;
    return `(${type}) ${name.slice(0, 30)}`;
  };
  const generic = (/** @type {number} */ j) => {
    const type = types[nodes[j * nf + typeAt]];
    return (
      (type !== "object" && type !== "native") || GENERIC.has(String(snap.strings[nodes[j * nf + nameAt]]))
    );
  };
  /** @type {Map<string, [number, number]>} */
  const groups = new Map();
  for (let i = 0; i < nodes.length; i += nf) {
    const j = i / nf;
    let key = label(j);
    if (detailed) {
      for (let k = j, up = 0; up < 3 && generic(k) && owner[k] >= 0; up++) {
        key += ` <- ${label(owner[k])}.${ownerEdge[k]}`;
        k = owner[k];
      }
    }
    const g = groups.get(key) ?? [0, 0];
    g[0]++;
    g[1] += nodes[i + sizeAt];
    groups.set(key, g);
  }
  return groups;
}

// Warm up: a few sessions opened and closed, so that code and caches made on first use are in both.
const warm = fork(path.join(ROOT, "bench/scale/idle-sdk-clients.mjs"), [], { stdio: "inherit" });
await openIn(warm, 20, "warm");
warm.send({ cmd: "close" });
await new Promise((resolve) => warm.once("exit", resolve));
await new Promise((resolve) => setTimeout(resolve, 1000));

const beforeFile = takeSnapshot();
const rss0 = process.memoryUsage().rss;
const heap0 = process.memoryUsage().heapUsed;
const clients = fork(path.join(ROOT, "bench/scale/idle-sdk-clients.mjs"), [], { stdio: "inherit" });
const opened = await openIn(clients, sessions, "s");
await new Promise((resolve) => setTimeout(resolve, 2000));
const afterFile = takeSnapshot();
const rss1 = process.memoryUsage().rss;
const heap1 = process.memoryUsage().heapUsed;

const before = byConstructor(beforeFile);
const after = byConstructor(afterFile);
/** @type {[string, number, number][]} */
const rows = [];
let total = 0;
for (const [key, [count, bytes]] of after) {
  const [c0, b0] = before.get(key) ?? [0, 0];
  const d = bytes - b0;
  total += d;
  if (Math.abs(d) >= opened * 2) rows.push([key, (count - c0) / opened, d / opened]);
}
rows.sort((a, b) => b[2] - a[2]);
console.log(
  `${opened} sessions (${values.dist}): heap ${(total / opened).toFixed(0)} B per session in the snapshot`,
);
console.log(
  `heapUsed +${((heap1 - heap0) / opened).toFixed(0)} B, RSS +${((rss1 - rss0) / opened).toFixed(0)} B per session`,
);
console.log("| constructor | count per session | bytes per session |");
console.log("| --- | ---: | ---: |");
for (const [key, count, bytes] of rows.slice(0, Number(values.top))) {
  console.log(`| ${key} | ${count.toFixed(2)} | ${bytes.toFixed(0)} |`);
}
clients.send({ cmd: "close" });
await server.close();
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);

/**
 * @param {import("node:child_process").ChildProcess} child
 * @param {number} count
 * @param {string} prefix
 * @returns {Promise<number>}
 */
function openIn(child, count, prefix) {
  return new Promise((resolve, reject) => {
    child.once("message", (/** @type {any} */ m) => {
      if (m.failed) console.error(`${m.failed} sessions failed: ${m.firstError}`);
      resolve(m.connected);
    });
    child.once("error", reject);
    child.send({ cmd: "open", url, count, prefix, concurrency: 50 });
  });
}
