#!/usr/bin/env node
// @ts-check
/**
 * Scale of topics and selections (issue 11), in-process, with no sockets: it drives the server's core
 * and SDK door classes from `packages/server/dist` directly.
 *
 *   node --expose-gc bench/scale-topics.mjs                      # this checkout (build first)
 *   node --expose-gc bench/scale-topics.mjs --root /tmp/before   # another checkout, to compare
 *   options: --sizes 10000,100000,1000000  --sessions 10000  --selections 10  --seconds 2
 *            --json FILE (the figures as JSON too; `npm run bench -- --scale` runs this and reads them)
 *
 * Prints:
 * - memory per topic (heap and RSS) at the largest size, topics with an 8-byte string value;
 * - fetch of one page of 100 (all topics `*.*`, from the middle with `after` and from the end with
 *   `last`; a branch `>gK//` from its middle) at each size, median ms;
 * - selection of 1,000 topics (`>gK//` through the trie, `*gK/d.*` a regex) at each size, median ms;
 * - topic creation rate with no sessions and with N SDK sessions holding M selections each. The sessions
 *   are made through the SDK door's own `newSession` and `select` (what a hello and a select frame do),
 *   without WebSockets: opening 10,000 sockets would measure the sockets, not the index.
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const { values: args } = parseArgs({
  options: {
    root: { type: "string", default: resolve(import.meta.dirname, "..") },
    sizes: { type: "string", default: "10000,100000,1000000" },
    sessions: { type: "string", default: "10000" },
    selections: { type: "string", default: "10" },
    seconds: { type: "string", default: "2" },
    json: { type: "string" },
  },
});
const root = resolve(args.root);
/**
 * Imports `rel` from the checkout under test (`--root`). Its modules are only known at run time, so the
 * callers cast them to this checkout's types: another checkout must offer what the bench uses.
 * @param {string} rel
 * @returns {Promise<unknown>}
 */
const load = (rel) => import(pathToFileURL(resolve(root, rel)).href);
const { Core } = /** @type {typeof import("../packages/server/dist/core/core.js")} */ (
  await load("packages/server/dist/core/core.js")
);
const { SdkDoor } = /** @type {typeof import("../packages/server/dist/sdk/door.js")} */ (
  await load("packages/server/dist/sdk/door.js")
);
const { parseConfig } = /** @type {typeof import("../packages/server/dist/config.js")} */ (
  await load("packages/server/dist/config.js")
);
const { parseSelector } = /** @type {typeof import("../packages/protocol/dist/index.js")} */ (
  await load("packages/protocol/dist/index.js")
);
/** @typedef {import("../packages/server/dist/core/core.js").Core} Core */
/** @typedef {import("../packages/server/dist/sdk/door.js").SdkDoor} SdkDoor */

const sizes = args.sizes.split(",").map(Number);
const SESSIONS = Number(args.sessions);
const SELECTIONS = Number(args.selections);
const SECONDS = Number(args.seconds);
const gc = globalThis.gc ?? (() => {});
if (!globalThis.gc) console.log("(run with --expose-gc for memory figures)");

function newCore() {
  return new Core({
    // No storage: the core keeps nothing on disk unless one is given (older checkouts took a `store`
    // they never wrote to).
    limits: { maxTopics: 10_000_000, maxRequestBytes: 1 << 20, removalSweepMs: 3_600_000 },
  });
}

const VALUE = Buffer.from("12345678");
/**
 * Topic i: 1,000 topics per group `gK`, so a branch selects 1,000 whatever the size.
 * @param {number} i
 */
const pathOf = (i) => `g${Math.floor(i / 1000)}/d${i}`;

/**
 * Adds topics `from` to `to` (excluded), each retaining an 8-byte string value.
 * @param {Core} core
 * @param {number} from
 * @param {number} to
 */
function addTopics(core, from, to) {
  for (let i = from; i < to; i++) {
    const path = pathOf(i);
    core.addTopic(path, { type: "string" });
    core.publish({
      topic: path,
      payload: VALUE,
      qos: 0,
      retain: true,
      properties: undefined,
      expiresAt: undefined,
      origin: undefined,
    });
  }
}

/**
 * Median ms of `fn`, repeated up to 21 times or about a second.
 * @param {() => unknown} fn
 * @returns {number}
 */
function median(fn) {
  /** @type {number[]} */
  const times = [];
  const until = performance.now() + 1000;
  while (times.length < 21 && (times.length < 3 || performance.now() < until)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** @param {number} x */
const ms = (x) => (x < 0.1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(0));
console.log(`scale-topics: ${root}\n`);

// --- Topics: memory, fetch and selection as the tree grows. ---
const core = newCore();
/**
 * @type {{ n: number, fetchMiddle: number, fetchEnd: number, fetchBranch: number, selectBranch: number,
 *   selectRegex: number, fetchSelection: number }[]}
 */
const rows = [];
let have = 0;
/** @type {{ n: number, heap: number, rss: number } | undefined} */
let memory;
for (const n of sizes) {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  addTopics(core, have, n);
  gc();
  if (n === sizes[sizes.length - 1]) {
    memory = {
      n: n - have,
      heap: (process.memoryUsage().heapUsed - heap0) / (n - have),
      rss: (process.memoryUsage().rss - rss0) / (n - have),
    };
  }
  have = n;
  const all = parseSelector("*.*");
  const middle = pathOf(Math.floor(n / 2));
  const k = Math.floor(n / 2000);
  const branch = parseSelector(`>g${k}//`);
  const regex = parseSelector(`*g${k}/d.*`);
  /**
   * @param {{ topics: readonly unknown[] }} r
   * @param {number} size
   */
  const check = (r, size) => {
    if (r.topics.length !== size) throw new Error(`expected ${size}, got ${r.topics.length}`);
  };
  rows.push({
    n,
    fetchMiddle: median(() => check(core.fetch(all, { first: 100, after: middle }), 100)),
    fetchEnd: median(() => check(core.fetch(all, { last: 100 }), 100)),
    fetchBranch: median(() => check(core.fetch(branch, { first: 100, after: pathOf(k * 1000 + 500) }), 100)),
    selectBranch: median(() => core.selectTopics(branch).length === 1000 || fail("branch")),
    selectRegex: median(() => core.selectTopics(regex).length === 1000 || fail("regex")),
    fetchSelection: median(() => check(core.fetch(branch, { first: 1000 }), 1000)),
  });
}
/**
 * @param {string} what
 * @returns {never}
 */
function fail(what) {
  throw new Error(`${what}: wrong count`);
}

if (memory) {
  console.log(
    `memory per topic (${memory.n.toLocaleString("en")} topics, 8-byte string values): ` +
      `heap ${Math.round(memory.heap)} B, RSS ${Math.round(memory.rss)} B\n`,
  );
}
console.log("topics      fetch 100   fetch 100   fetch 100   select 1000  select 1000  fetch 1000");
console.log(
  "            *.* middle  *.* last    >gK// mid   >gK//        *gK/d.*      >gK//     (median ms)",
);
for (const r of rows) {
  console.log(
    [
      r.n.toLocaleString("en").padEnd(10),
      ms(r.fetchMiddle),
      ms(r.fetchEnd),
      ms(r.fetchBranch),
      ms(r.selectBranch),
      ms(r.selectRegex),
      ms(r.fetchSelection),
    ]
      .map((c, i) => (i === 0 ? c : c.padStart(10)))
      .join("  "),
  );
}

// --- Topic creation with and without SDK sessions. ---
/**
 * A core with an SDK door holding `sessions` sessions of SELECTIONS selections each.
 * @param {number} sessions
 * @returns {{ core: Core, door: SdkDoor, created: number }}
 */
function loadedCore(sessions) {
  const c = newCore();
  const cfg = parseConfig({});
  // The SDK section of the configuration, less its `path` (the door's options have none).
  /** @type {Omit<typeof cfg.sdk, "path"> & { path?: string }} */
  const sdkLimits = { ...cfg.sdk };
  delete sdkLimits.path;
  const silent = {
    child: () => silent,
    trace() {},
    debug() {},
    info() {},
    warn() {},
    error() {},
    fatal() {},
  };
  const door = new SdkDoor(
    c,
    {
      ...sdkLimits,
      maxSelectionsPerSession: Math.max(sdkLimits.maxSelectionsPerSession, SELECTIONS),
      serverName: "bench",
      requestTimeoutMs: 10_000,
      maxFrameBytes: 1 << 20,
      maxRequestBytes: 1 << 20,
    },
    cfg.mqtt,
    silent,
  );
  for (let s = 0; s < sessions; s++) {
    const session = door.newSession(`s${s}`, "token", {}, { principal: undefined, roles: ["anonymous"] });
    // Most selections are branches (the trie), one in five a regex (a pattern with a literal prefix).
    for (let j = 0; j < SELECTIONS; j++) {
      session.select(parseSelector(j % 5 === 4 ? `*fleet/s${s}/r${j}/[0-9]+` : `>fleet/s${s}/k${j}//`));
    }
  }
  return { core: c, door, created: 0 };
}

/**
 * Topics created per second for `seconds`. New topics land in the sessions' branches (fleet/sN/...)
 * outside their selections, or, with `selected`, one in ten inside one (fleet/sN/k0/...), which that
 * session is then told about (a topic frame).
 * @param {{ core: Core, created: number }} target
 * @param {boolean} selected
 * @param {number} seconds
 * @returns {number}
 */
function creationRate(target, selected, seconds) {
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let n = 0;
  while (performance.now() < until) {
    for (let b = 0; b < 100; b++, n++) {
      const i = target.created++;
      // The same paths with or without sessions, so both trees have the same shape.
      const s = i % SESSIONS;
      const path = selected && i % 10 === 0 ? `fleet/s${s}/k0/n${i}` : `fleet/s${s}/m/n${i}`;
      target.core.addTopic(path, { type: "string" });
    }
  }
  return n / ((performance.now() - t0) / 1000);
}

// Both cores live in the same process and take turns, so that load from elsewhere on the machine and
// the garbage collector's cost of the larger heap fall on both alike; the median of the rounds counts.
const ROUNDS = 7;
const plain = loadedCore(0);
const loaded = loadedCore(SESSIONS);
/** @type {{ none: number[], apart: number[], some: number[] }} */
const rates = { none: [], apart: [], some: [] };
// Topics the sessions select are told to them (a frame each, kept for replay): that garbage and its
// collection would spill into the other rounds, so those rounds run after.
for (let r = 0; r < ROUNDS; r++) {
  rates.none.push(creationRate(plain, false, SECONDS / ROUNDS));
  rates.apart.push(creationRate(loaded, false, SECONDS / ROUNDS));
}
for (let r = 0; r < ROUNDS; r++) rates.some.push(creationRate(loaded, true, SECONDS / ROUNDS));
/** @param {number[]} xs */
const mid = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const [none, apart, some] = [mid(rates.none), mid(rates.apart), mid(rates.some)];
/** @param {number} x */
const rate = (x) => `${Math.round(x).toLocaleString("en")}/s`.padStart(10);
console.log(
  `\ntopic creation (median of ${ROUNDS} rounds), ${SESSIONS.toLocaleString("en")} SDK sessions x ${SELECTIONS} selections:\n` +
    `  no sessions:                        ${rate(none)}\n` +
    `  sessions, no new topic selected:    ${rate(apart)} (${(apart / none).toFixed(2)}x)\n` +
    `  sessions, 1 new topic in 10 selected: ${rate(some)} (${(some / none).toFixed(2)}x; each sends a topic frame)`,
);
plain.door.shutdown();
loaded.door.shutdown();
if (args.json) {
  fs.writeFileSync(
    args.json,
    JSON.stringify({
      memory,
      rows,
      creation: { sessions: SESSIONS, selections: SELECTIONS, none, apart, some },
    }),
  );
}
