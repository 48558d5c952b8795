// The SDK bench scenarios. Each measurement gets a fresh server process.
//   fanout   1 publisher -> N subscribers of one topic, through the SDK door and through the MQTT door
//   latency  fixed-rate updates -> a few subscribers, publish -> receive, both doors
//   rr       request-response: SDK->SDK, MQTT 5->SDK, raw SDK frames, raw frames through a bare
//            WebSocket relay (the floor for a Node server), NATS request-reply
import { baseConfig, drained, runThroughput, stallWatch } from "../lib/measure.mjs";
import { Pool } from "../lib/pool.mjs";

const SDK_WORKER = new URL("./worker.mjs", import.meta.url);
/** A pool of SDK load-generator workers (bench/sdk/worker.mjs). */
const sdkPool = (count, total, configFor) => new Pool(count, total, configFor, SDK_WORKER);
import { newShared } from "../lib/shared.mjs";
import { percentiles } from "../lib/stats.mjs";
import { cpuFigures, measureWindow } from "./measure.mjs";
import { startNats, startRelay, startSkein } from "./servers.mjs";

const HOST = "127.0.0.1";
const FANOUT_TOPIC = "bench/out";
const LATENCY_TOPIC = "bench/lat";
const RR_PATH = "bench/rr";
/** Cores used by other processes above which a run counts as disturbed (report.mjs marks it "!"). */
const QUIET_OTHER_CPU = 0.1;

/**
 * Runs fn(server, atEnd) against a fresh server from start(); errors become { error }. The functions
 * fn pushes to `atEnd` run (in order) before the server stops.
 */
async function withServer(start, opts, fn, profileDir) {
  let server = null;
  const atEnd = [];
  try {
    server = await start({ ...opts, profileDir });
    const result = await fn(server, atEnd);
    result.serverRssEnd = server.rss();
    return result;
  } catch (err) {
    return { error: `${err.message}${server?.exited != null ? `\n${server.output}` : ""}` };
  } finally {
    for (const f of atEnd) await f();
    await server?.stop();
  }
}

/** Runs fn(server) against a fresh Skein; errors become { error }. */
const withSkein = (opts, fn) => withServer(startSkein, opts, fn);

const mqttTarget = (server) => ({
  port: server.ports.mqtt,
  pid: server.pid,
  cpuSeconds: () => server.cpuSeconds(),
});

// ---- fan-out ------------------------------------------------------------------------------

/** SDK door: raw WebSocket subscribers (hello + select), one raw publisher pipelining `set`s. */
export async function sdkFanout(server, opts) {
  const n = opts.subscribers;
  const shared = newShared();
  const base = {
    host: HOST,
    port: server.ports.http,
    wsPath: "/sdk",
    shared,
    window: opts.window,
    fanout: n,
  };
  const pools = [];
  try {
    const pub = sdkPool(1, 1, (w, conns, first) => ({
      ...base,
      role: "sdk-pub",
      conns,
      firstConn: first,
      topic: FANOUT_TOPIC,
      payload: opts.payload,
      batch: opts.batch,
      inflight: opts.inflight,
      rate: 0,
    }));
    pools.push(pub);
    await pub.all("open"); // adds the topic
    const subs = sdkPool(opts.sdkWorkers, n, (w, conns, first) => ({
      ...base,
      role: "sdk-sub",
      conns,
      firstConn: first,
      selector: `>${FANOUT_TOPIC}`,
      concurrency: 50,
    }));
    pools.push(subs);
    await subs.all("open");
    await pub.all("start");
    const watch = stallWatch(shared, opts.window, n);
    const m = await measureWindow(server, opts, { counter: subs, pools, extra: [pub] });
    await pub.all("stop");
    clearInterval(watch.timer);
    const final = await drained(subs);
    const pubFinal = await pub.snap();
    const expected = pubFinal.sent * n;
    return {
      deliveredPerSec: m.recvPerSec,
      publishedPerSec: m.extraSentPerSec[0],
      ...cpuFigures(m),
      loss: Math.max(0, 1 - final.recv / expected),
      stalls: watch.stalls,
      closed: final.closed,
      errors: pubFinal.errors,
      firstError: pubFinal.snaps[0].firstError,
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

/** MQTT door: the MQTT bench's own fan-out procedure (bench/lib/measure.mjs), QoS 0. */
export async function mqttFanout(server, opts) {
  const n = opts.subscribers;
  const r = await runThroughput(mqttTarget(server), opts, {
    sub: { workers: 2, conns: n, topic: FANOUT_TOPIC, qos: 0 },
    pub: { workers: 1, conns: 1, topics: () => FANOUT_TOPIC, qos: 0, batch: opts.batch },
    window: opts.window,
    fanout: n,
  });
  return {
    deliveredPerSec: r.msgsPerSec,
    publishedPerSec: r.publishedPerSec,
    serverCpu: r.brokerCpu,
    generatorCpu: r.generatorCpu,
    generatorMaxElu: r.generatorMaxElu,
    machineCpu: r.machineCpu,
    otherCpu: r.otherCpu,
    loss: r.loss,
    stalls: r.stalls,
    closed: r.closed,
  };
}

/**
 * The run of median `key` among `runs` (errors left out), with every run's figure in `rounds`.
 * Rounds alternate between the cases compared, so a slow spell of a shared machine hits both.
 */
export function median(runs, key) {
  let ok = runs.filter((r) => !r.error && r[key] != null);
  if (ok.length === 0) return runs[0];
  // Runs during which other processes were busy are left out while undisturbed ones exist.
  const quiet = ok.filter((r) => !(r.otherCpu > QUIET_OTHER_CPU));
  if (quiet.length > 0) ok = quiet;
  const sorted = [...ok].sort((a, b) => a[key] - b[key]);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], rounds: runs.map((r) => r[key] ?? null) };
}

export async function fanout(opts) {
  const sdk = [];
  const mqtt = [];
  for (let r = 0; r < opts.repeat; r++) {
    sdk.push(await withSkein(opts, (s) => sdkFanout(s, opts)));
    mqtt.push(await withSkein(opts, (s) => mqttFanout(s, opts)));
  }
  return { sdk: median(sdk, "deliveredPerSec"), mqtt: median(mqtt, "deliveredPerSec") };
}

// ---- latency ------------------------------------------------------------------------------

function maxSamples(rate, subs, opts) {
  return Math.min(5e6, Math.ceil(rate * subs * (opts.duration + 1)));
}

/** SDK door: a raw publisher `set`s a binary topic at a fixed rate, stamped; raw subscribers. */
export async function sdkLatency(server, opts) {
  const base = { host: HOST, port: server.ports.http, wsPath: "/sdk" };
  const pub = sdkPool(1, 1, (w, conns, first) => ({
    ...base,
    role: "sdk-pub",
    conns,
    firstConn: first,
    topic: LATENCY_TOPIC,
    payload: opts.payload,
    batch: 1,
    inflight: 1e9,
    rate: opts.rate,
  }));
  const subs = sdkPool(1, opts.latencySubs, (w, conns, first) => ({
    ...base,
    role: "sdk-sub",
    conns,
    firstConn: first,
    selector: `>${LATENCY_TOPIC}`,
    latency: true,
    maxSamples: maxSamples(opts.rate, opts.latencySubs, opts),
  }));
  return latencyWindow(server, opts, subs, pub, [pub, subs]); // the publisher adds the topic
}

/** MQTT door: the MQTT bench's latency layout (bench/lib/worker.mjs), QoS 0 or 1 end to end. */
export async function mqttLatency(server, opts, qos) {
  const target = mqttTarget(server);
  const subs = new Pool(1, opts.latencySubs, (w, n) => ({
    ...baseConfig(target, opts, "sub", "ls", w, n),
    topic: LATENCY_TOPIC,
    qos,
    latency: true,
    maxSamples: maxSamples(opts.rate, opts.latencySubs, opts),
  }));
  const pubs = new Pool(1, 1, (w, n) => ({
    ...baseConfig(target, opts, "pub", "lp", w, n),
    topics: [LATENCY_TOPIC],
    qos,
    inflight: qos > 0 ? 100 : 1e9, // the worker's fixed-rate loop waits for PUBACKs only at QoS 1
    rate: opts.rate,
  }));
  return latencyWindow(server, opts, subs, pubs, [subs, pubs]);
}

/**
 * One latency window of the pools `subs` and `pub` (opened in the order of `openOrder`): the
 * publisher runs at its fixed rate and the subscribers record latencies over the window.
 */
async function latencyWindow(server, opts, subs, pub, openOrder) {
  try {
    for (const pool of openOrder) await pool.all("open");
    await pub.all("start");
    const m = await measureWindow(server, opts, {
      counter: subs,
      pools: [subs, pub],
      begin: () => subs.all("record", { on: true }),
      end: () => subs.all("record", { on: false }),
    });
    await pub.all("stop");
    const closed = await subs.close();
    return latencyResult(m, closed);
  } finally {
    await Promise.all([subs.close(), pub.close()]);
  }
}

function latencyResult(m, closed) {
  const samples = closed.flatMap((r) => Array.from(r.samples ?? []));
  return {
    ...percentiles(Float64Array.from(samples)),
    deliveredPerSec: m.recvPerSec,
    ...cpuFigures(m),
    samplesDropped: closed.reduce((a, r) => a + (r.dropped ?? 0), 0),
  };
}

export async function latency(opts) {
  const runs = { sdk: [], mqttQos1: [], mqttQos0: [] };
  for (let r = 0; r < opts.repeat; r++) {
    runs.sdk.push(await withSkein(opts, (s) => sdkLatency(s, opts)));
    runs.mqttQos1.push(await withSkein(opts, (s) => mqttLatency(s, opts, 1)));
    runs.mqttQos0.push(await withSkein(opts, (s) => mqttLatency(s, opts, 0)));
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v, "p99Ms")]));
}

// ---- request-response ---------------------------------------------------------------------

const RR = {
  sdk: { label: "SDK -> SDK", requester: "rr-sdk-req", responder: "rr-sdk-resp", server: "skein" },
  mqtt: { label: "MQTT 5 -> SDK", requester: "rr-mqtt-req", responder: "rr-sdk-resp", server: "skein" },
  raw: { label: "raw frames -> raw", requester: "rr-raw-req", responder: "rr-raw-resp", server: "skein" },
  relay: { label: "bare relay (floor)", requester: "rr-raw-req", responder: "rr-raw-resp", server: "relay" },
  nats: { label: "NATS -> NATS", requester: "rr-nats-req", responder: "rr-nats-resp", server: "nats" },
};
export const rrLabel = (kind) => RR[kind].label;

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
export async function rrKind(kind, opts, { profileDir, throughputOnly, latencyOnly } = {}) {
  const start = { nats: startNats, relay: startRelay, skein: startSkein }[RR[kind].server];
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

export async function rr(opts, skip) {
  const runs = Object.fromEntries(opts.rrKinds.map((kind) => [kind, []]));
  for (let r = 0; r < opts.repeat; r++) {
    for (const kind of opts.rrKinds) {
      if (skip[kind]) continue;
      runs[kind].push(await rrKind(kind, opts));
    }
  }
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
    const window = (key) => runs[kind].map((x) => x[key] ?? { error: x.error });
    out[kind] = {
      ...first,
      throughput: median(window("throughput"), "rtPerSec"),
      latency: median(window("latency"), "p99Ms"),
    };
  }
  return out;
}
