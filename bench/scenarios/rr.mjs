// @ts-check
// Request-response: one responder echoes `--rr-payload`-byte requests; requesters keep
// `--rr-inflight` outstanding (throughput), then send `--rr-rate` requests/s (latency). Kinds
// (`--rr-kinds`): SDK->SDK, MQTT 5->SDK, raw SDK frames, raw frames through a bare WebSocket relay
// (the floor for a Node server), NATS request-reply. Each kind gets a fresh server.
import { drained, measureWindow } from "../lib/measure.mjs";
import { fmtOther, printRounds, printRows } from "../lib/report.mjs";
import { fmtFixed, fmtInt, fmtMs, fmtPct, fmtRatio, percentiles, ratio } from "../lib/stats.mjs";
import { HOST, RR_PATH, median, sdkPool, withServer } from "../sdk/harness.mjs";
import { startNats, startRelay, startSkein } from "../sdk/servers.mjs";

/** @typedef {import("../lib/args.mjs").SdkOptions} SdkOptions */
/** @typedef {import("../lib/child.mjs").ChildServer} ChildServer */
/** @typedef {import("../lib/types.js").Figures} Figures */
/** @typedef {import("../lib/pool.mjs").Pool} Pool */

/** @type {Record<string, { label: string, requester: string, responder: string, server: "skein" | "relay" | "nats" }>} */
const RR = {
  sdk: { label: "SDK -> SDK", requester: "rr-sdk-req", responder: "rr-sdk-resp", server: "skein" },
  mqtt: { label: "MQTT 5 -> SDK", requester: "rr-mqtt-req", responder: "rr-sdk-resp", server: "skein" },
  raw: { label: "raw frames -> raw", requester: "rr-raw-req", responder: "rr-raw-resp", server: "skein" },
  relay: { label: "bare relay (floor)", requester: "rr-raw-req", responder: "rr-raw-resp", server: "relay" },
  nats: { label: "NATS -> NATS", requester: "rr-nats-req", responder: "rr-nats-resp", server: "nats" },
};
/** @param {string} kind */
export const rrLabel = (kind) => RR[kind]?.label ?? kind;

/**
 * @param {string} kind
 * @param {ChildServer} server
 * @param {SdkOptions} opts
 * @param {string} role
 */
function rrConfig(kind, server, opts, role) {
  const common = {
    host: HOST,
    role,
    payload: opts.rrPayload,
    rrPath: RR_PATH,
    subject: RR_PATH.replace("/", "."),
    url: server.sdkUrl,
  };
  if (kind === "nats") return { ...common, port: server.ports.client };
  if (kind === "mqtt" && role === RR[kind].requester) return { ...common, port: server.ports.mqtt };
  return { ...common, port: server.ports.http };
}

/** One request-response window: `rate` 0 = `inflight` outstanding as fast as answers come. */
/**
 * @param {string} kind
 * @param {ChildServer} server
 * @param {SdkOptions} opts
 * @param {Pool} responder
 * @param {number} rate
 */
async function rrWindow(kind, server, opts, responder, rate) {
  const conns = opts.rrConns;
  const workers = Math.min(conns, 2);
  const timed = rate > 0;
  const req = sdkPool(workers, conns, (w, n, first) => ({
    ...rrConfig(kind, server, opts, RR[kind].requester),
    conns: n,
    firstConn: first,
    clientPrefix: `rq${w}_`,
    inflight: Math.max(1, Math.round(opts.rrInflight / conns)),
    rate: timed ? rate / workers : 0,
    latency: timed,
    maxSamples: timed ? Math.ceil(rate * (opts.duration + 1)) : 0,
  }));
  try {
    await req.all("open");
    await req.all("start");
    const m = await measureWindow(server, opts, {
      counter: req,
      pools: [req, responder],
      begin: timed ? () => req.all("record", { on: true }) : undefined,
      end: timed ? () => req.all("record", { on: false }) : undefined,
    });
    await req.all("stop");
    await drained(req);
    const closed = await req.close();
    const out = {
      rtPerSec: m.recvPerSec,
      serverCpu: m.serverCpu,
      serverSysShare: m.serverSysShare,
      serverUsPerRt: m.recvPerSec > 0 ? (m.serverCpu * 1e6) / m.recvPerSec : null,
      generatorCpu: m.generatorCpu,
      requesterElu: Math.max(...m.generatorElu[0]),
      responderElu: Math.max(...m.generatorElu[1]),
      machineCpu: m.machineCpu,
      otherCpu: m.otherCpu,
      errors: m.errors,
      firstError: m.firstError,
    };
    if (timed) {
      const samples = closed.flatMap((r) => Array.from(r.samples ?? []));
      Object.assign(out, percentiles(Float64Array.from(samples)));
    }
    return out;
  } finally {
    await req.close();
  }
}

/** Both windows of one kind (throughput, then latency at a fixed rate) on one fresh server. */
/**
 * @param {string} kind a key of RR
 * @param {import("../lib/args.mjs").SdkOptions} opts
 * @param {{ profileDir?: string, throughputOnly?: boolean, latencyOnly?: boolean }} [how]
 */
export async function rrKind(kind, opts, { profileDir, throughputOnly, latencyOnly } = {}) {
  const start = { nats: startNats, relay: startRelay, skein: startSkein }[RR[kind]?.server ?? "skein"];
  /** @type {(server: ChildServer, atEnd: (() => Promise<unknown>)[]) => Promise<Figures>} */
  const run = async (server, atEnd) => {
    const responder = sdkPool(1, 1, (w, n, first) => ({
      ...rrConfig(kind, server, opts, RR[kind].responder),
      conns: n,
      firstConn: first,
    }));
    atEnd.push(() => responder.close());
    await responder.all("open");
    const result = {};
    if (!latencyOnly) result.throughput = await rrWindow(kind, server, opts, responder, 0);
    if (!throughputOnly) result.latency = await rrWindow(kind, server, opts, responder, opts.rrRate);
    return result;
  };
  return withServer(start, opts, run, profileDir);
}

/**
 * @param {SdkOptions} opts
 * @param {Record<string, string>} skip kind -> why it is skipped
 */
async function run(opts, skip) {
  /** @type {Record<string, Figures[]>} */
  const runs = Object.fromEntries(opts.rrKinds.map((kind) => [kind, []]));
  for (let r = 0; r < opts.repeat; r++) {
    for (const kind of opts.rrKinds) {
      if (skip[kind]) continue;
      runs[kind].push(await rrKind(kind, opts));
    }
  }
  /** @type {Record<string, Figures>} */
  const out = {};
  for (const kind of opts.rrKinds) {
    if (skip[kind]) {
      out[kind] = { error: skip[kind], skipped: true };
      continue;
    }
    const first = runs[kind][0];
    if (first.error) {
      out[kind] = first;
      continue;
    }
    /** @param {string} key */
    const window = (key) => runs[kind].map((x) => x[key] ?? { error: x.error });
    out[kind] = {
      ...first,
      throughput: median(window("throughput"), "rtPerSec"),
      latency: median(window("latency"), "p99Ms"),
    };
  }
  return out;
}
/**
 * @param {SdkOptions} opts
 * @param {Figures} r
 */
function print(opts, r) {
  console.log(
    `\n== Request-response: ${opts.rrPayload}-byte binary requests echoed by one responder; ${opts.rrInflight} in flight` +
      ` over ${opts.rrConns} requester connection(s), then ${opts.rrRate} requests/s for latency`,
  );
  console.log(
    "  SDK: the real @skein/sdk (sendRequest / addRequestHandler); MQTT 5: $request/ + Response Topic + Correlation Data, QoS 0;" +
      " raw: pre-encoded SDK frames over raw WebSocket (server ceiling); bare relay: the same raw frames through a" +
      " bare ws + msgpackr relay in Node, no validation (the floor for a Node WebSocket server on this machine);" +
      " NATS: nats-server + @nats-io/transport-node",
  );
  /** @type {[string, Figures][]} */
  const entries = Object.entries(r).map(([kind, x]) => [rrLabel(kind), x]);
  /** @param {string} key @returns {[string, Figures][]} */
  const pick = (key) => entries.map(([label, x]) => [label, x.error ? x : x[key]]);
  console.log(`  throughput, ${opts.rrInflight} in flight:`);
  printRows(
    [
      ["round trips/s", (x) => fmtInt(x.rtPerSec)],
      ["server CPU", (x) => fmtFixed(x.serverCpu)],
      ["µs CPU/rt", (x) => fmtFixed(x.serverUsPerRt, 1)],
      ["kernel", (x) => fmtPct(x.serverSysShare)],
      ["req ELU", (x) => fmtFixed(x.requesterElu)],
      ["resp ELU", (x) => fmtFixed(x.responderElu)],
      ["gen CPU", (x) => fmtFixed(x.generatorCpu)],
      ["machine CPU", (x) => fmtFixed(x.machineCpu)],
      ["other CPU", (x) => fmtOther(x.otherCpu)],
      ["errors", (x) => String(x.errors ?? 0)],
    ],
    pick("throughput"),
  );
  printRounds(
    entries.map(([label, x]) => [label, x.throughput]),
    fmtInt,
    "round trips/s of each run",
  );
  console.log(
    `  latency at ${opts.rrRate} requests/s` +
      (r.relay ? " (bare relay: the floor for a Node WebSocket server on this machine):" : ":"),
  );
  printRows(
    [
      ["p50 ms", (x) => fmtMs(x.p50Ms)],
      ["p99 ms", (x) => fmtMs(x.p99Ms)],
      ["p99.9 ms", (x) => fmtMs(x.p999Ms)],
      ["max ms", (x) => fmtMs(x.maxMs)],
      ["round trips/s", (x) => fmtInt(x.rtPerSec)],
      ["server CPU", (x) => fmtFixed(x.serverCpu)],
      ["µs CPU/rt", (x) => fmtFixed(x.serverUsPerRt, 1)],
      ["other CPU", (x) => fmtOther(x.otherCpu)],
      ["errors", (x) => String(x.errors ?? 0)],
    ],
    pick("latency").map(([label, x]) => [label, x ?? { error: "not measured", skipped: true }]),
  );
  printRounds(
    entries.map(([label, x]) => [label, x.latency]),
    fmtMs,
    "p99 ms of each run",
  );
  const sdk = r.sdk?.throughput?.rtPerSec;
  const parts = [];
  for (const kind of ["mqtt", "raw", "relay", "nats"]) {
    const v = r[kind]?.throughput?.rtPerSec;
    if (v) parts.push(`SDK->SDK/${rrLabel(kind)} ${fmtRatio(ratio(sdk, v))}`);
  }
  if (parts.length > 0) console.log(`  round trips/s: ${parts.join("; ")}`);
  // The floor: what a Node WebSocket server that only relays frames costs on this machine.
  const relay = r.relay;
  if (relay && !relay.error && r.sdk && !r.sdk.error) {
    const us = ratio(r.sdk.throughput?.serverUsPerRt, relay.throughput?.serverUsPerRt);
    const p99 = ratio(r.sdk.latency?.p99Ms, relay.latency?.p99Ms);
    console.log(`  µs CPU/rt: SDK->SDK/${rrLabel("relay")} ${fmtRatio(us)} (lower is better)`);
    console.log(
      `  p99 at ${opts.rrRate} requests/s: SDK->SDK/${rrLabel("relay")} ${fmtRatio(p99)} (lower is better)`,
    );
  }
}

/**
 * Whether this machine can show a 1 ms p99 at all. A round trip crosses three processes (requester,
 * server, responder); a request meets a late wakeup in one of them with a probability of about
 * 3 x (share of time late + late wakeups/s x 1 ms in flight). Above 1%, the p99 is the machine's.
 */
/** @param {Figures | null | undefined} w the meta's wakeupStalls */
function wakeupNote(w) {
  if (!w) return undefined;
  const share = 3 * (w.lateShare + w.perSecond * 0.001);
  if (share < 0.01) return undefined;
  return (
    `this machine's idle processes wake >= 2 ms late ${w.perSecond.toFixed(1)}/s each: about ` +
    `${(share * 100).toFixed(1)}% of round trips meet such a wakeup, so no server reaches a 1 ms p99 here`
  );
}

/** @type {import("../lib/types.js").SdkScenario} */
export default {
  name: "rr",
  key: "rr",
  suite: "sdk",
  options: ["rr-kinds", "rr-payload", "rr-inflight", "rr-conns", "rr-rate", "repeat"],
  run,
  print,
  targets(r, opts, meta) {
    const checks = [];
    const v = ratio(r.sdk?.throughput?.rtPerSec, r.nats?.throughput?.rtPerSec);
    checks.push({
      target: "request-response: SDK->SDK >= 1.2x NATS round trips/s",
      value: v,
      shown: `${fmtInt(r.sdk?.throughput?.rtPerSec)} vs ${fmtInt(r.nats?.throughput?.rtPerSec)}/s, ${fmtRatio(v)}`,
      pass: v == null ? null : v >= 1.2,
    });
    const us = r.sdk?.throughput?.serverUsPerRt ?? null;
    checks.push({
      target: "request-response: <= 25 µs server CPU per SDK->SDK round trip",
      value: us,
      shown: `${fmtFixed(us, 1)} µs`,
      pass: us == null ? null : us <= 25,
    });
    const p99 = r.sdk?.latency?.p99Ms ?? null;
    checks.push({
      target: `request-response: SDK->SDK p99 <= 1 ms at ${opts.rrRate} requests/s`,
      value: p99,
      shown: `${fmtMs(p99)} ms`,
      pass: p99 == null ? null : p99 <= 1,
      note: wakeupNote(meta.wakeupStalls),
    });
    return checks;
  },
};
