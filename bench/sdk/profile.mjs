// @ts-check
// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, self time per module
// (zod, msgpackr, ws, @skein/protocol, the server, Node internals, GC) and inclusive time of a few
// hot-path functions, as shares of the busy (non-idle) time; and the --profile runs that write them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../lib/child.mjs";
import { rrKind } from "../scenarios/rr.mjs";
import { sdkFanout } from "../scenarios/sdk-fanout.mjs";
import { startSkein } from "./servers.mjs";

const IDLE = new Set(["(idle)", "(program)"]);

/** The module a function belongs to, from its script URL. */
/**
 * @param {string | undefined} url
 * @param {string} fn
 * @returns {string}
 */
export function moduleOf(url, fn) {
  if (fn === "(garbage collector)") return "GC";
  if (!url) return fn.startsWith("(") ? fn : "native/builtin";
  if (url.includes("/node_modules/zod/")) return "zod";
  if (url.includes("/node_modules/msgpackr/")) return "msgpackr";
  if (url.includes("/node_modules/ws/")) return "ws";
  if (url.includes("/node_modules/mqtt-packet/")) return "mqtt-packet";
  if (url.includes("/node_modules/")) return `npm:${url.split("/node_modules/").pop()?.split("/")[0]}`;
  if (url.includes("/packages/protocol/")) return "@skein/protocol";
  if (url.includes("/packages/server/")) return `server:${url.split("/packages/server/dist/").pop()}`;
  if (url.startsWith("node:")) return "node internals";
  return url;
}

/** Functions whose inclusive time is worth a line of its own. */
const INCLUSIVE = [
  "onMessage", // SDK door: one WebSocket message in
  "decodeMessage", // msgpack decode of it
  "checkClientFrame", // zod validation of each frame
  "handleRequest",
  "sendRequest",
  "deliver", // SubscriptionIndex / session delivery
  "deliverRequest",
  "respond",
  "push", // SdkSession.push: encode + replay + send
  "flush", // SdkConnection.flush: ws.send
  "send",
];

/**
 * The summary of the .cpuprofile `file`: busy and wall time, self time per module, inclusive time of
 * INCLUSIVE, and the `top` functions by self time.
 * @param {string} file
 * @param {number} [top]
 */
export function summarise(file, top = 20) {
  /**
   * @typedef {{ id: number, children?: number[],
   *   callFrame: { functionName: string, url: string, lineNumber: number } }} ProfileNode
   */
  /** @type {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} */
  const prof = JSON.parse(fs.readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const self = new Map(); // node id -> µs
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i + 1] ?? 0));
  }
  let busy = 0;
  /** @type {Map<string, { fn: string, module: string, selfUs: number }>} */
  const fns = new Map();
  /** @type {Map<string, number>} */
  const modules = new Map();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = /** @type {ProfileNode} */ (byId.get(id)).callFrame;
    const name = functionName || "(anonymous)";
    if (IDLE.has(name)) continue;
    busy += us;
    const key = `${name} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ""}`.trim();
    const mod = moduleOf(url, name);
    const f = fns.get(key) ?? { fn: key, module: mod, selfUs: 0 };
    f.selfUs += us;
    fns.set(key, f);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
  }
  // Inclusive time: a sample counts once for a function however deep it recurses.
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map(INCLUSIVE.map((n) => [n, 0]));
  for (const [id, us] of self) {
    const seen = new Set();
    /** @type {number | undefined} */
    let n = id;
    for (; n !== undefined; n = parent.get(n)) {
      const name = /** @type {ProfileNode} */ (byId.get(n)).callFrame.functionName;
      if (inclusive.has(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
    }
  }
  /** @param {number} us */
  const pct = (us) => (busy > 0 ? (100 * us) / busy : 0);
  // Server modules are grouped for the summary line; details stay in `modules`.
  /** @type {Map<string, number>} */
  const grouped = new Map();
  for (const [mod, us] of modules) {
    const g = mod.startsWith("server:") ? "server" : mod;
    grouped.set(g, (grouped.get(g) ?? 0) + us);
  }
  return {
    file,
    wallMs: (prof.endTime - prof.startTime) / 1000,
    busyMs: busy / 1000,
    top: [...fns.values()]
      .sort((a, b) => b.selfUs - a.selfUs)
      .slice(0, top)
      .map((f) => ({ fn: f.fn, module: f.module, selfMs: f.selfUs / 1000, pct: pct(f.selfUs) })),
    modules: Object.fromEntries(
      [...grouped.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([m, us]) => [m, { ms: us / 1000, pct: pct(us) }]),
    ),
    serverFiles: Object.fromEntries(
      [...modules.entries()]
        .filter(([m]) => m.startsWith("server:"))
        .sort((a, b) => b[1] - a[1])
        .map(([m, us]) => [m.slice(7), { ms: us / 1000, pct: pct(us) }]),
    ),
    inclusive: Object.fromEntries(
      [...inclusive.entries()].map(([n, us]) => [n, { ms: us / 1000, pct: pct(us) }]),
    ),
  };
}

/**
 * @param {string} label
 * @param {ReturnType<typeof summarise>} s
 */
export function printProfile(label, s) {
  console.log(`\n== Server profile: ${label} (${s.busyMs.toFixed(0)} ms busy of ${s.wallMs.toFixed(0)} ms)`);
  const mods = Object.entries(s.modules)
    .slice(0, 10)
    .map(([m, v]) => `${m} ${v.pct.toFixed(1)}%`);
  console.log(`  self time by module: ${mods.join(", ")}`);
  const incl = Object.entries(s.inclusive)
    .filter(([, v]) => v.pct >= 0.5)
    .map(([n, v]) => `${n} ${v.pct.toFixed(1)}%`);
  console.log(`  inclusive: ${incl.join(", ")}`);
  console.log("  top self time:");
  for (const f of s.top.slice(0, 15)) {
    console.log(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.fn}  [${f.module}]`);
  }
}

/** Runs the SDK case of each `opts.profile` entry with Skein under node --cpu-prof. */
/**
 * @param {import("../lib/args.mjs").SdkOptions} opts
 * @returns {Promise<Record<string, import("../lib/types.js").Figures>>}
 */
export async function runProfiles(opts) {
  /** @type {Record<string, import("../lib/types.js").Figures>} */
  const out = {};
  for (const what of opts.profile) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-prof-"));
    try {
      if (what === "fanout") {
        const server = await startSkein({ ...opts, profileDir: dir });
        try {
          await sdkFanout(server, opts);
        } finally {
          await server.stop();
        }
      } else {
        const fixedRate = what === "rr-rate";
        const r = await rrKind("sdk", opts, {
          profileDir: dir,
          throughputOnly: !fixedRate,
          latencyOnly: fixedRate,
        });
        if (r.error) throw new Error(r.error);
      }
      const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error("the server wrote no profile");
      const keep = path.join(ROOT, "bench/results", `sdk-${what}.cpuprofile`);
      fs.mkdirSync(path.dirname(keep), { recursive: true }); // a fresh checkout has no bench/results
      fs.copyFileSync(path.join(dir, file), keep);
      const summary = summarise(keep);
      out[what] = summary;
      /** @type {Record<string, string>} */
      const titles = {
        fanout: "SDK fan-out",
        rr: "SDK->SDK request-response (64 in flight)",
        "rr-rate": `SDK->SDK request-response (${opts.rrRate} requests/s)`,
      };
      printProfile(titles[what] ?? what, summary);
      console.log(`  (profile kept in ${path.relative(process.cwd(), keep)}; open it in Chrome DevTools)`);
    } catch (e) {
      const err = /** @type {Error} */ (e);
      out[what] = { error: err.message };
      console.log(`\n== Server profile ${what}: error: ${err.message.split("\n")[0]}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
