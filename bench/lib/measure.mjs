// @ts-check
// The measurement procedures of the bench. runThroughput: the throughput procedure shared by the
// fan-in, fan-out, QoS 1 and ceiling scenarios (and the MQTT door of sdk-fanout):
// subscribers connect and subscribe, publishers connect, publishing starts, and after the warm-up
// the delivered messages are counted over the measurement window.
//
// Delivery window: with plain TCP back-pressure a publisher can push far more than a broker
// delivers, and the broker then queues without bound (or drops), so the figure would measure
// overload rather than delivery. Publishers therefore share a credit counter in shared memory:
// at most `window` published messages may be undelivered (counted at the subscribers; for fan-out
// one publish counts as delivered once every subscriber got it). If a broker drops messages the
// counter would never catch up, so when deliveries stop for STALL_MS with the window at least half
// full, the main thread writes the outstanding messages off (counted as `stalls`; lost messages as
// `loss`).
// measureWindow: the window of the SDK scenarios: warm-up, then counters, server CPU
// (/proc/<pid>/stat), the bench process's own CPU (all its worker threads: the load generator),
// worker event-loop utilisation and other processes' CPU over one window.
import { setTimeout as sleep } from "node:timers/promises";
import { machineCpu, otherCpu, stealCpu } from "./cpu.mjs";
import { Pool, rate } from "./pool.mjs";
import { FORGIVEN, RECV, SENT, newShared } from "./shared.mjs";

/**
 * The connections of a throughput run: subscribers (`sub`) and/or publishers (`pub`), each spread
 * over `workers` threads; `window`: the delivery window (messages); `fanout`: deliveries per publish.
 * @typedef {object} ThroughputSpec
 * @property {{ workers: number, conns: number, topic: string, qos: number }} [sub]
 * @property {{ workers: number, conns: number, topics: (i: number) => string, qos: number,
 *   batch?: number, inflight?: number }} [pub]
 * @property {number} [window]
 * @property {number} [fanout]
 */

const STALL_MS = 500;
const KEEPALIVE = 60;
let runCounter = 0;

/**
 * Worker configuration common to every role.
 * @param {{ port?: number }} target
 * @param {{ mqtt: number, payload: number }} opts
 * @param {string} role
 * @param {string} prefix
 * @param {number} w
 * @param {number} conns
 */
export function baseConfig(target, opts, role, prefix, w, conns) {
  return {
    role,
    host: "127.0.0.1",
    port: target.port,
    version: opts.mqtt,
    keepalive: KEEPALIVE,
    payload: opts.payload,
    conns,
    clientPrefix: `${prefix}${w}_`, // short: Aedes allows 23-character client ids
    concurrency: 50,
    rate: 0,
  };
}

/**
 * The fan-out delivery window's safety valve: when deliveries stall for STALL_MS with the window at
 * least half full, the outstanding updates are forgiven so the publisher cannot hang. Used by the SDK
 * bench too.
 */
/**
 * @param {SharedArrayBuffer} buffer
 * @param {number} window
 * @param {number} fanout
 */
export function stallWatch(buffer, window, fanout) {
  const shared = new Int32Array(buffer);
  let lastRecv = -1;
  let since = Date.now();
  /** @type {{ stalls: number, timer: NodeJS.Timeout | undefined }} */
  const state = { stalls: 0, timer: undefined };
  state.timer = setInterval(() => {
    const recv = Atomics.load(shared, RECV);
    if (recv !== lastRecv) {
      lastRecv = recv;
      since = Date.now();
      return;
    }
    const lag = Atomics.load(shared, SENT) - recv / fanout - Atomics.load(shared, FORGIVEN);
    if (lag > window / 2 && Date.now() - since >= STALL_MS) {
      Atomics.add(shared, FORGIVEN, Math.floor(lag));
      state.stalls++;
      since = Date.now();
    }
  }, 50);
  return state;
}

/**
 * @param {any} target running broker (or null sink: then `sink` counts what publishers delivered)
 * @param {{ payload: number, mqtt: number, warmup: number, duration: number }} opts
 * @param {ThroughputSpec} spec
 * @returns {Promise<Record<string, any>>}
 */
export async function runThroughput(target, opts, spec) {
  const tag = (runCounter++ % 36 ** 2).toString(36) + process.pid.toString(36).slice(-3);
  const fanout = spec.fanout ?? 1;
  const shared = spec.window && spec.sub && spec.pub ? newShared() : null;
  const common = { shared, window: spec.window, fanout };
  const pools = [];
  try {
    let subs = null;
    if (spec.sub) {
      const { workers, conns, topic, qos } = spec.sub;
      subs = new Pool(workers, conns, (w, n) => ({
        ...baseConfig(target, opts, "sub", `s${tag}`, w, n),
        ...common,
        topic,
        qos,
      }));
      pools.push(subs);
      await subs.all("open");
    }
    let pubs = null;
    if (spec.pub) {
      const { workers, conns, topics, qos, batch, inflight } = spec.pub;
      pubs = new Pool(workers, conns, (w, n, first) => ({
        ...baseConfig(target, opts, "pub", `p${tag}`, w, n),
        ...common,
        topics: Array.from({ length: n }, (_, i) => topics(first + i)),
        qos,
        batch,
        inflight,
      }));
      pools.push(pubs);
      await pubs.all("open");
      await pubs.all("start");
    }
    await target.startStreaming?.(); // null sink: subscribers are all connected, start sending
    const watch = shared ? stallWatch(shared, spec.window ?? 0, fanout) : null;
    /** @type {{ snap: () => Promise<{ snaps: import("./types.js").Figures[], recv: number }> }} */
    const counter = subs ?? { snap: async () => sinkSnap(await target.counts()) };

    await sleep(opts.warmup * 1000);
    const before = await counter.snap();
    const pubBefore = pubs ? await pubs.snap() : null;
    const cpu0 = target.cpuSeconds();
    const gen0 = process.cpuUsage();
    const machine = machineCpu();
    const steal = stealCpu();
    const other = otherCpu([target.pid]);
    pools.forEach((p) => p.markElu());
    await sleep(opts.duration * 1000);
    const after = await counter.snap();
    const pubAfter = pubs ? await pubs.snap() : null;
    const seconds = (after.snaps[0].t - before.snaps[0].t) / 1000;
    const gen = process.cpuUsage(gen0);
    /** @type {Record<string, any>} */
    const result = {
      msgsPerSec: rate(before, after, "recv"),
      publishedPerSec: pubBefore && pubAfter ? rate(pubBefore, pubAfter, "sent") : null,
      ackedPerSec: pubBefore && pubAfter ? rate(pubBefore, pubAfter, "acked") : null,
      brokerCpu: (target.cpuSeconds() - cpu0) / seconds,
      generatorCpu: (gen.user + gen.system) / 1e6 / seconds,
      generatorMaxElu: Math.max(...pools.map((p) => p.maxElu())),
      machineCpu: machine(),
      stealCpu: steal(),
      otherCpu: other(),
    };

    if (pubs) await pubs.all("stop");
    if (watch) clearInterval(watch.timer);
    if (subs && pubs) {
      const final = await drained(subs);
      const pubEnd = await pubs.snap();
      const published = pubEnd.sent;
      result.ackedTotal = pubEnd.acked;
      result.expected = published * fanout; // whole run, warm-up included
      result.received = final.recv;
      result.loss = Math.max(0, 1 - final.recv / result.expected);
      result.stalls = watch?.stalls ?? 0;
      result.closed = final.closed;
    }
    return result;
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

/** @param {{ t: number, received: number }} counts the null sink's */
function sinkSnap(counts) {
  return { snaps: [{ t: counts.t, recv: counts.received }], recv: counts.received };
}

/** Waits (at most 10 s) until a pool stops receiving, then returns its final counters. */
/** @param {Pool} pool */
export async function drained(pool) {
  let last = await pool.snap();
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const now = await pool.snap();
    if (now.recv === last.recv) return now;
    last = now;
  }
  return last;
}

/** Share of the server's CPU time spent in the kernel (syscalls: socket reads and writes). */
/**
 * @param {{ user: number, sys: number }} a
 * @param {{ user: number, sys: number }} b
 */
function sysShare(a, b) {
  const user = b.user - a.user;
  const sys = b.sys - a.sys;
  return user + sys > 0 ? sys / (user + sys) : null;
}

/**
 * Runs one window. `counter` is the pool whose `recv` is the figure; `pools` are every pool of the
 * generator (their ELU is reported); `extra` pools report their `sent` rate too; `begin` and `end`
 * run as the window opens and closes. Returns rates per second and CPU in cores.
 * @param {any} server a ChildServer
 * @param {{ warmup: number, duration: number }} opts
 * @param {{ counter: Pool, pools: Pool[], extra?: Pool[], begin?: () => Promise<unknown>,
 *   end?: () => Promise<unknown> }} window
 */
export async function measureWindow(server, opts, { counter, pools, extra = [], begin, end }) {
  await sleep(opts.warmup * 1000);
  await begin?.();
  const before = await counter.snap();
  const extraBefore = await Promise.all(extra.map((p) => p.snap()));
  const cpu0 = server.cpuSeconds();
  const split0 = server.cpuSplit?.();
  const gen0 = process.cpuUsage();
  const machine = machineCpu();
  const other = otherCpu([server.pid]);
  pools.forEach((p) => p.markElu());
  await sleep(opts.duration * 1000);
  await end?.();
  const after = await counter.snap();
  const extraAfter = await Promise.all(extra.map((p) => p.snap()));
  const seconds = (after.snaps[0].t - before.snaps[0].t) / 1000;
  const gen = process.cpuUsage(gen0);
  return {
    seconds,
    recvPerSec: rate(before, after, "recv"),
    sentPerSec: rate(before, after, "sent"),
    extraSentPerSec: extraBefore.map((b, i) => rate(b, extraAfter[i], "sent")),
    serverCpu: (server.cpuSeconds() - cpu0) / seconds,
    serverSysShare: split0 ? sysShare(split0, server.cpuSplit()) : null,
    generatorCpu: (gen.user + gen.system) / 1e6 / seconds,
    generatorElu: pools.map((p) => (p.elus ? p.elus() : [p.maxElu()])),
    generatorMaxElu: Math.max(...pools.map((p) => p.maxElu())),
    machineCpu: machine(),
    otherCpu: other(),
    errors: (after.errors ?? 0) - (before.errors ?? 0),
    firstError: after.snaps.map((s) => s.firstError ?? s.firstErrorMessage).find(Boolean) ?? null,
  };
}

/** The CPU figures of a window, as the fan-out and latency results report them. */
/** @param {Awaited<ReturnType<typeof measureWindow>>} m */
export const cpuFigures = (m) => ({
  serverCpu: m.serverCpu,
  serverSysShare: m.serverSysShare,
  generatorCpu: m.generatorCpu,
  generatorMaxElu: m.generatorMaxElu,
  machineCpu: m.machineCpu,
  otherCpu: m.otherCpu,
});
