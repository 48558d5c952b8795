// @ts-check
// Load-generator worker thread. One worker drives many MQTT connections in one role:
//   pub  - publishes pre-encoded PUBLISH packets: as fast as TCP back-pressure, the PUBACK window
//          and the shared delivery window allow ("max"), or at a fixed rate with a timestamp ("rate").
//   sub  - subscribes, counts PUBLISH packets by fixed header, PUBACKs QoS 1, records latencies.
//   idle - connects and stays idle (PINGREQ every keepalive/2).
// The main thread drives it with {id, cmd} messages (see pool.mjs) and gets {id, ...} replies.
import { PerformanceObserver, monitorEventLoopDelay } from "node:perf_hooks";
import { Conn, forEachLimited } from "./client.mjs";
import { NO_CREDIT, Pump, WAITING, WROTE, cfg, serveCommands, shared, windowCredit } from "./generator.mjs";
import { PINGREQ, PUBACK, publishPacket, publishPacketId, publishPayloadOffset, pubacks } from "./mqtt.mjs";
import { SENT, RECV, hrMs } from "./shared.mjs";

/**
 * A connection with the generator's counters, and (publishers, set by preEncode before the first
 * write) its pre-encoded PUBLISH packets: `template` with the packet id at `idAt` (-1: QoS 0) and the
 * timestamp at `tsAt` (fixed rate), or a ring of RING packets `ringBuf` at `offsets` (QoS 1), or a
 * batch `batchBuf` (QoS 0).
 * @typedef {Conn & { sent: number, acked: number, ring: number, blocked: boolean, ackIds: number[],
 *   template: Buffer, idAt: number, tsAt: number, ringBuf: Buffer, offsets: number[],
 *   batchBuf: Buffer }} GenConn
 */

/** @type {GenConn[]} */
const conns = [];
let running = false;
let sent = 0;
let recv = 0;
let acked = 0;

// ---- receive side -------------------------------------------------------------------------
let chunkTime = 0; // hrMs() of the chunk being parsed (latency scenario only)
let chunkRecv = 0;
let recording = false;
const samples = cfg.role === "sub" && cfg.latency ? new Float64Array(cfg.maxSamples) : null;
let nSamples = 0;
let dropped = 0;

/**
 * A PUBLISH or PUBACK of connection `c` at buf[start] (header length h).
 * @param {GenConn} c
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} h
 */
function onPacket(c, buf, start, h) {
  if (buf[start] >> 4 === PUBACK) {
    c.acked++;
    acked++;
    if (c.sent - c.acked < cfg.inflight) schedule();
    return;
  }
  recv++;
  if (buf[start] & 0x06) c.ackIds.push(publishPacketId(buf, start, h));
  if (recording) {
    const at = publishPayloadOffset(buf, start, h, cfg.version);
    if (samples !== null && nSamples < samples.length) samples[nSamples++] = chunkTime - buf.readDoubleBE(at);
    else dropped++;
  }
}

function beforeChunk() {
  if (samples !== null) chunkTime = hrMs();
  chunkRecv = recv;
}

/** @param {GenConn} c */
function afterChunk(c) {
  if (c.ackIds.length > 0) {
    c.socket.write(pubacks(c.ackIds, c.ackIds.length));
    c.ackIds.length = 0;
  }
  if (shared !== null && recv !== chunkRecv) Atomics.add(shared, RECV, recv - chunkRecv);
}

// ---- publish side -------------------------------------------------------------------------
const RING = 1024; // QoS 1: packet ids 1..RING pre-encoded back to back; the window is far smaller
const WRITES_PER_TURN = 8;
const credit = windowCredit(shared, cfg);
const pump = new Pump(turn, () => running && cfg.rate === 0);
const schedule = () => pump.schedule();

function turn() {
  let progress = false;
  let creditBlocked = false;
  for (const c of conns) {
    for (let k = 0; k < WRITES_PER_TURN && !c.blocked; k++) {
      let n = cfg.batch;
      if (cfg.qos > 0) n = Math.min(n, cfg.inflight - (c.sent - c.acked), RING - c.ring);
      if (n <= 0) break; // waiting for PUBACKs
      if (credit() < n) {
        creditBlocked = true;
        break;
      }
      const bytes = cfg.qos > 0 ? c.ringBuf.subarray(c.offsets[c.ring], c.offsets[c.ring + n]) : c.batchBuf;
      if (cfg.qos > 0) c.ring = (c.ring + n) % RING;
      c.sent += n;
      sent += n;
      if (shared !== null) Atomics.add(shared, SENT, n);
      progress = true;
      if (!c.socket.write(bytes)) c.blocked = true; // resumed by 'drain'
    }
  }
  return progress ? WROTE : creditBlocked ? NO_CREDIT : WAITING;
}

/**
 * @param {GenConn} c
 * @param {string} topic
 */
function preEncode(c, topic) {
  const payload = Buffer.alloc(cfg.payload, "x");
  if (cfg.rate > 0) {
    c.template = publishPacket(topic, payload, cfg.qos, 1, cfg.version);
    let h = 2;
    while (c.template[h - 1] & 0x80) h++;
    c.idAt = cfg.qos > 0 ? h + 2 + Buffer.byteLength(topic) : -1;
    c.tsAt = publishPayloadOffset(c.template, 0, h, cfg.version);
  } else if (cfg.qos > 0) {
    const packets = [];
    for (let id = 1; id <= RING; id++) packets.push(publishPacket(topic, payload, cfg.qos, id, cfg.version));
    c.ringBuf = Buffer.concat(packets);
    c.offsets = [0];
    for (const p of packets) c.offsets.push(c.offsets[c.offsets.length - 1] + p.length);
  } else {
    c.batchBuf = Buffer.concat(
      Array.from({ length: cfg.batch }, () => publishPacket(topic, payload, 0, 0, cfg.version)),
    );
  }
}

// Fixed rate (latency scenario): one fresh copy of the template per message, timestamped at write.
/** @type {NodeJS.Timeout | null} */
let rateTimer = null;
let rateStart = 0;
function rateTick() {
  const due = Math.floor(((hrMs() - rateStart) * cfg.rate) / 1000);
  for (const c of conns) {
    let n = Math.min(due - c.sent, cfg.inflight - (c.sent - c.acked));
    while (n-- > 0) {
      const bytes = Buffer.from(c.template);
      if (c.idAt >= 0) bytes.writeUInt16BE((c.sent % 65535) + 1, c.idAt);
      bytes.writeDoubleBE(hrMs(), c.tsAt);
      c.socket.write(bytes);
      c.sent++;
      sent++;
    }
  }
}

// ---- this thread's event-loop delay while recording (latency scenario) ------------------------
// The same figures as the brokers' gc-probe.mjs (gc.mjs LoopDelay): a stall of the load generator
// lands in whichever broker's latency is being measured.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
/**
 * The loop's delay, and this thread's own garbage-collection pauses (a worker has its own heap):
 * their count, longest and total (ms).
 * @type {import("./gc.mjs").LoopDelay & { gcPauses: number, gcMaxMs: number, gcTotalMs: number }}
 */
const loop = { maxMs: 0, p99Ms: 0, stalls2ms: 0, seconds: 0, gcPauses: 0, gcMaxMs: 0, gcTotalMs: 0 };
/** @param {import("node:perf_hooks").PerformanceEntry[]} entries */
function onGc(entries) {
  for (const e of entries) {
    loop.gcPauses++;
    loop.gcMaxMs = Math.max(loop.gcMaxMs, e.duration);
    loop.gcTotalMs += e.duration;
  }
}
const gcObserver = new PerformanceObserver((list) => onGc(list.getEntries()));
/** @type {NodeJS.Timeout | null} */
let loopTimer = null;
function foldLoopSecond() {
  const max = loopDelay.max / 1e6;
  if (loopDelay.count === 0) return;
  loop.seconds++;
  loop.maxMs = Math.max(loop.maxMs, max);
  loop.p99Ms = Math.max(loop.p99Ms, loopDelay.percentile(99) / 1e6);
  if (max >= 2) loop.stalls2ms++;
  loopDelay.reset();
}

// ---- connections & commands ---------------------------------------------------------------
async function open() {
  const t0 = hrMs();
  let failed = 0;
  /** @type {string | null} */
  let firstError = null;
  await forEachLimited(cfg.conns, cfg.concurrency, async (i) => {
    const conn = new Conn({
      host: cfg.host,
      port: cfg.port,
      clientId: `${cfg.clientPrefix}${i}`,
      version: cfg.version,
      keepalive: cfg.keepalive,
      onPacket,
      beforeChunk,
      afterChunk,
    });
    const c = /** @type {GenConn} */ (
      Object.assign(conn, {
        sent: 0,
        acked: 0,
        ring: 0,
        blocked: false,
        ackIds: /** @type {number[]} */ ([]),
      })
    );
    try {
      await c.open();
      if (cfg.role === "sub") await c.subscribe(cfg.topic, cfg.qos);
      if (cfg.role === "pub") preEncode(c, cfg.topics[i]);
      c.socket.on("drain", () => {
        c.blocked = false;
        schedule();
      });
      conns.push(c);
    } catch (err) {
      c.close();
      failed++;
      firstError ??= /** @type {Error} */ (err).message;
    }
  });
  if (failed > 0 && cfg.role !== "idle") throw new Error(firstError ?? "connect failed");
  const ping = setInterval(
    () => conns.forEach((c) => c.closed || c.socket.write(PINGREQ)),
    cfg.keepalive * 500,
  );
  ping.unref();
  return { t0, t1: hrMs(), connected: conns.length, failed, firstError };
}

const commands = {
  open,
  start() {
    running = true;
    if (cfg.rate > 0) {
      rateStart = hrMs();
      rateTimer = setInterval(rateTick, 1);
    } else schedule();
  },
  snap: () => ({ t: hrMs(), sent, recv, acked, closed: conns.filter((c) => c.closed).length }),
  /** @param {{ on: boolean }} args */
  record({ on }) {
    recording = on;
    if (on && loopTimer === null) {
      loopDelay.reset();
      loopDelay.enable();
      gcObserver.observe({ entryTypes: ["gc"] });
      loopTimer = setInterval(foldLoopSecond, 1000);
    } else if (!on && loopTimer !== null) {
      clearInterval(loopTimer);
      loopTimer = null;
      foldLoopSecond();
      loopDelay.disable();
      onGc(gcObserver.takeRecords());
      gcObserver.disconnect();
    }
  },
  stop() {
    running = false;
    clearInterval(rateTimer ?? undefined);
  },
  close() {
    running = false;
    clearInterval(rateTimer ?? undefined);
    for (const c of conns) c.close();
    return { samples: samples ? samples.slice(0, nSamples) : null, dropped, loop };
  },
};

serveCommands(commands);
