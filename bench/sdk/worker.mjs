// @ts-check
// SDK load-generator worker thread. One worker drives one role over many connections:
//   sdk-sub    raw WebSocket sessions (hello + select): counts `v` frames by scanning the MessagePack
//              structure (no decode, no allocation), records latencies from a timestamp in the value.
//   sdk-pub    one raw WebSocket session that `set`s a binary topic: pipelined (at most `inflight`
//              sets without a result, and the shared delivery window) or at a fixed rate, stamped.
//   rr-sdk-req / rr-sdk-resp   the real SDK (`connect` from @skein/sdk): sendRequest / addRequestHandler.
//   rr-raw-req / rr-raw-resp   the same requests over raw WebSocket sessions with pre-encoded frames
//              (what the server can do when its clients cost little), against Skein or against the
//              bare relay (relay-server.mjs).
//   rr-mqtt-req  MQTT 5 requesters: PUBLISH to $request/<path> with Response Topic + Correlation Data.
//   rr-nats-req / rr-nats-resp  NATS request-reply (@nats-io/transport-node).
// Requesters run "max" (`inflight` requests outstanding per connection, as fast as answers come) or
// at a fixed `rate` (requests/s over all the worker's connections, each stamped for latency).
// The main thread drives it with {id, cmd} messages (see pool.mjs): open, start, stop, snap, record,
// close. Every loop stops on `stop`/`close`; the main thread bounds each window in time.
import crypto from "node:crypto";
import { Conn, forEachLimited } from "../lib/client.mjs";
import {
  NO_CREDIT,
  Pump,
  WAITING,
  WROTE,
  cfg,
  serveCommands,
  shared,
  windowCredit,
} from "../lib/generator.mjs";
import { encode as mqttEncode, publishPropertiesAt, skipProperties } from "../lib/mqtt.mjs";
import { RECV, SENT, hrMs } from "../lib/shared.mjs";
import { TEMPLATE_ID_BASE, decodeFrame, encoder, idTemplate, scanFrames } from "./frames.mjs";
import { WsConn } from "./wsraw.mjs";

/**
 * A connection of this worker's role: a RawSession, an @skein/sdk client, an MQTT Conn or a NATS
 * connection (the roles below know which).
 * @typedef {any} RoleConn
 */
/**
 * A requester MQTT connection with its pre-encoded request and its answers pending a send.
 * @typedef {Conn & { want: number, seq: number, template: { bytes: Buffer, seqAt: number } }} MqttRequester
 */
/**
 * What a role does: open connection i, start sending, close a connection.
 * @typedef {{ open: (i: number) => Promise<RoleConn>, start?: () => void, close?: (c: RoleConn) => unknown }} Role
 */

/** @type {RoleConn[]} */
const conns = [];
let running = false;
let sent = 0;
let recv = 0;
let acked = 0;
let errors = 0;
/** @type {string | null} */
let firstError = null;

// ---- latency samples ----------------------------------------------------------------------
let recording = false;
const samples = cfg.latency ? new Float64Array(cfg.maxSamples) : null;
let nSamples = 0;
let dropped = 0;
/** @param {number} ms */
function sample(ms) {
  if (!recording) return;
  if (samples !== null && nSamples < samples.length) samples[nSamples++] = ms;
  else dropped++;
}

/** @param {unknown} err */
function noteError(err) {
  errors++;
  firstError ??= /** @type {Error | undefined} */ (err)?.message ?? String(err);
}

// ---- raw SDK sessions ---------------------------------------------------------------------
/** A raw WebSocket SDK session: hello/welcome, and requests with small ids answered by result. */
class RawSession {
  /**
   * @param {number} i
   * @param {((tid: number, buf: Buffer, s: number, e: number) => void) | null} onV
   * @param {((frame: any) => void) | null} onFrame
   */
  constructor(i, onV, onFrame) {
    this.i = i;
    /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
    this.pending = new Map(); // small request id -> {resolve, reject}
    this.nextId = 1;
    this.onV = onV;
    this.onFrame = onFrame; // (frame) for frames the handshake does not consume
    this.chunkV = 0;
    /** @type {(() => void) | undefined} sends what the chunk just read asked for */
    this.flush = undefined;
    /** requests to send at the next flush (raw requester) */
    this.want = 0;
    /** the socket's buffer is full: wait for 'drain' (raw publisher) */
    this.blocked = false;
    /** @type {{ resolve: (frame: any) => void, reject: (err: Error) => void } | null} */
    this.welcomed = null;
    this.ws = new WsConn({
      host: cfg.host,
      port: cfg.port,
      path: cfg.wsPath ?? "/sdk",
      onMessage: (c, buf, start, end) => {
        this.chunkV += scanFrames(buf, start, end, this.onV, (b, s, e) => this.other(decodeFrame(b, s, e)));
      },
      beforeChunk: () => {
        chunkTime = hrMs();
        this.chunkV = 0;
      },
      afterChunk: () => {
        if (this.chunkV > 0) {
          recv += this.chunkV;
          if (shared !== null) Atomics.add(shared, RECV, this.chunkV);
        }
        this.flush?.();
      },
    });
    this.ws.onClose = (err) => this.welcomed?.reject(err);
  }

  async open() {
    await this.ws.open();
    const welcome = new Promise((resolve, reject) => (this.welcomed = { resolve, reject }));
    this.ws.send(encoder.encode({ type: "hello", versions: [1] }));
    await welcome;
    this.welcomed = null;
    return this;
  }

  /**
   * @param {object} frame
   * @returns {Promise<any>}
   */
  request(frame) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(encoder.encode({ ...frame, id }));
    });
  }

  /** @param {any} frame */
  other(frame) {
    if (frame.type === "welcome") return this.welcomed?.resolve(frame);
    if ((frame.type === "result" || frame.type === "error") && frame.id < TEMPLATE_ID_BASE) {
      const p = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      if (frame.type === "result") p?.resolve(frame.value);
      else p?.reject(new Error(`${frame.code}: ${frame.message}`));
      return;
    }
    this.onFrame?.(frame);
  }
}

let chunkTime = 0; // hrMs() when the chunk being parsed was read

// ---- sdk-sub ------------------------------------------------------------------------------
/**
 * @param {number} tid
 * @param {Buffer} buf
 * @param {number} s
 */
function onVLatency(tid, buf, s) {
  sample(chunkTime - buf.readDoubleBE(s));
}

/** @param {number} i */
async function openSub(i) {
  const session = new RawSession(i, cfg.latency ? onVLatency : null, null);
  await session.open();
  await session.request({ type: "select", selector: cfg.selector });
  return session;
}

// ---- sdk-pub ------------------------------------------------------------------------------
/** @type {{ bytes: Buffer, idAt: number, valueAt?: number } | null} */
let pubTemplate = null;
let nextSetId = TEMPLATE_ID_BASE;
const credit = windowCredit(shared, cfg);
const pump = new Pump(turn, () => running && cfg.rate === 0);
const schedule = () => pump.schedule();

/** `n` set frames in one message, ids patched (and the value stamped when timing). */
/**
 * @param {number} n
 * @param {boolean} stamp
 */
function setBatch(n, stamp) {
  const { bytes, idAt, valueAt = 0 } = /** @type {NonNullable<typeof pubTemplate>} */ (pubTemplate);
  const len = bytes.length;
  const out = Buffer.allocUnsafe(len * n);
  for (let k = 0; k < n; k++) {
    bytes.copy(out, k * len);
    out.writeUInt32BE(nextSetId++ >>> 0, k * len + idAt);
    if (nextSetId > 0xfffffff0) nextSetId = TEMPLATE_ID_BASE;
    if (stamp) out.writeDoubleBE(hrMs(), k * len + valueAt);
  }
  return out;
}

const WRITES_PER_TURN = 8;
function turn() {
  const c = conns[0];
  let progress = false;
  let creditBlocked = false;
  for (let k = 0; k < WRITES_PER_TURN && !c.blocked; k++) {
    const n = Math.min(cfg.batch, cfg.inflight - (sent - acked));
    if (n <= 0) break; // waiting for results
    if (credit() < n) {
      creditBlocked = true;
      break;
    }
    sent += n;
    if (shared !== null) Atomics.add(shared, SENT, n);
    progress = true;
    if (!c.ws.send(setBatch(n, false))) c.blocked = true;
  }
  return progress ? WROTE : creditBlocked ? NO_CREDIT : WAITING;
}

/** @param {number} i */
async function openPub(i) {
  const session = new RawSession(i, null, (frame) => {
    // results of the pipelined sets (ids >= TEMPLATE_ID_BASE)
    if (frame.type === "result") acked++;
    else if (frame.type === "error") {
      acked++;
      noteError(new Error(`set failed: ${frame.code} ${frame.message}`));
    }
    if (sent - acked < cfg.inflight) schedule();
  });
  await session.open();
  await session.request({ type: "add_topic", path: cfg.topic, spec: { type: "binary" } });
  const marker = crypto.randomBytes(cfg.payload);
  const t = idTemplate({ type: "set", path: cfg.topic, valueType: "binary", value: marker });
  t.valueAt = t.bytes.indexOf(marker);
  pubTemplate = t;
  session.blocked = false;
  session.ws.socket.on("drain", () => {
    session.blocked = false;
    schedule();
  });
  return session;
}

// ---- fixed-rate senders (sdk-pub with rate, every requester with rate) ----------------------
/** @type {NodeJS.Timeout | null} */
let rateTimer = null;
let rateStart = 0;
const RATE_MAX_OUTSTANDING = 2000; // a fixed-rate sender never has more unanswered than this
/** @param {(c: RoleConn) => void} sendOne */
function startRate(sendOne) {
  rateStart = hrMs();
  rateTimer = setInterval(() => {
    if (!running) return;
    const due = Math.floor(((hrMs() - rateStart) * cfg.rate) / 1000);
    const answered = cfg.role === "sdk-pub" ? acked : recv;
    let n = Math.min(due - sent, RATE_MAX_OUTSTANDING - (sent - answered));
    let i = sent;
    while (n-- > 0) sendOne(conns[i++ % conns.length]);
  }, 1);
}

// ---- rr-sdk: the real SDK -----------------------------------------------------------------
const RR_OPTS = { requestType: "binary", responseType: "binary", timeout: 10000 };
/** @type {typeof import("@skein/sdk") | null} */
let sdk = null;
async function loadSdk() {
  sdk ??= await import("@skein/sdk");
  return sdk;
}

async function openSdkSession() {
  const { connect } = await loadSdk();
  return connect(cfg.url, { reconnect: false, heartbeatMs: 0, requestTimeoutMs: 15000 });
}

/** @param {RoleConn} session */
const sdkRequest = (session) => session.messaging.sendRequest(cfg.rrPath, requestPayload, RR_OPTS);

/**
 * Starts a requester whose request(conn) sends one request and returns the promise of its answer:
 * at the fixed `rate`, each request timed, or `inflight` lanes on every connection.
 */
/** @param {(c: RoleConn) => Promise<unknown>} request */
function startRequests(request) {
  if (cfg.rate > 0) return startRate((c) => timedRequest(c, request));
  for (const c of conns) {
    for (let k = 0; k < cfg.inflight; k++) void lane(() => request(c));
  }
}

/**
 * Starts a requester of pre-encoded requests, sendBatch(conn, n) sending n at once: one at a time at
 * the fixed `rate`, or `inflight` on every connection (each read's answers send as many again).
 */
/** @param {(c: RoleConn, n: number) => void} sendBatch */
function startBatches(sendBatch) {
  if (cfg.rate > 0) return startRate((c) => sendBatch(c, 1));
  for (const c of conns) sendBatch(c, cfg.inflight);
}

/** One request, its round trip sampled. */
/**
 * @param {RoleConn} c
 * @param {(c: RoleConn) => Promise<unknown>} request
 */
function timedRequest(c, request) {
  const t0 = hrMs();
  sent++;
  request(c).then(
    () => {
      recv++;
      sample(hrMs() - t0);
    },
    (err) => {
      recv++;
      noteError(err);
    },
  );
}

/** One of `inflight` lanes of a connection: the next request leaves when the previous is answered. */
/** @param {() => Promise<unknown>} sendAwait */
async function lane(sendAwait) {
  while (running) {
    sent++;
    try {
      await sendAwait();
    } catch (err) {
      noteError(err);
      if (errors > 1000) return; // broken: stop rather than spin
    }
    recv++;
  }
}

const requestPayload = new Uint8Array(crypto.randomBytes(cfg.payload ?? 64));

// ---- rr-raw: pre-encoded SDK frames over raw WebSocket sessions -----------------------------
/** @type {{ bytes: Buffer, idAt: number } | null} */
let rawTemplate = null;
const RING = 1 << 16;
const sendTimes = new Float64Array(RING);

/**
 * @param {RawSession} session
 * @param {number} n
 */
function rawSendBatch(session, n) {
  const { bytes, idAt } = /** @type {NonNullable<typeof rawTemplate>} */ (rawTemplate);
  const len = bytes.length;
  const out = Buffer.allocUnsafe(len * n);
  const now = hrMs();
  for (let k = 0; k < n; k++) {
    bytes.copy(out, k * len);
    const id = nextSetId++;
    if (nextSetId > 0xfffffff0) nextSetId = TEMPLATE_ID_BASE;
    out.writeUInt32BE(id >>> 0, k * len + idAt);
    sendTimes[id & (RING - 1)] = now;
  }
  sent += n;
  session.ws.send(out);
}

/** @param {RawSession} session */
function rawRequesterFrame(session) {
  return (/** @type {any} */ frame) => {
    if (frame.type !== "result" && frame.type !== "error") return;
    if (frame.type === "error") noteError(new Error(`${frame.code}: ${frame.message}`));
    recv++;
    sample(hrMs() - sendTimes[frame.id & (RING - 1)]);
    if (cfg.rate === 0 && running) session.want++;
  };
}

/** @param {number} i */
async function openRawRequester(i) {
  const session = new RawSession(i, null, null);
  session.onFrame = rawRequesterFrame(session);
  session.want = 0;
  // Answers of one read go out as the next batch of requests, in one message.
  session.flush = () => {
    if (session.want > 0) {
      rawSendBatch(session, session.want);
      session.want = 0;
    }
  };
  await session.open();
  rawTemplate ??= idTemplate({
    type: "send_request",
    path: cfg.rrPath,
    requestType: "binary",
    responseType: "binary",
    value: requestPayload,
  });
  return session;
}

/** Raw responder: answers each `request` frame with a `respond` echoing its value, batched per read. */
/** @param {number} i */
async function openRawResponder(i) {
  const session = new RawSession(i, null, null);
  /** @type {Uint8Array[]} */
  let out = [];
  session.onFrame = (frame) => {
    if (frame.type === "request") {
      recv++;
      out.push(encoder.encode({ type: "respond", id: nextSetId++, rid: frame.rid, value: frame.value }));
      if (nextSetId > 0xfffffff0) nextSetId = TEMPLATE_ID_BASE;
    } else if (frame.type === "error") noteError(new Error(`${frame.code}: ${frame.message}`));
  };
  session.flush = () => {
    if (out.length === 0) return;
    sent += out.length;
    session.ws.send(out.length === 1 ? out[0] : Buffer.concat(out));
    out = [];
  };
  await session.open();
  await session.request({
    type: "add_handler",
    kind: "path",
    path: cfg.rrPath,
    requestType: "binary",
    responseType: "binary",
  });
  return session;
}

// ---- rr-mqtt: MQTT 5 requesters -----------------------------------------------------------
// PUBLISH $request/<path>, QoS 0, Response Topic bench/rr-reply/<client>, Correlation Data = 4-byte
// sequence number (patched into a pre-encoded packet). The answer is a PUBLISH to the response topic
// carrying the same Correlation Data; its properties are walked to find it.

/** Offset of the Correlation Data bytes in a v5 PUBLISH at buf[start] (header length h), or -1. */
/**
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} h
 */
function correlationAt(buf, start, h) {
  let p = publishPropertiesAt(buf, start, h);
  const end = skipProperties(buf, p);
  while (buf[p++] & 0x80); // the properties' length
  while (p < end) {
    const id = buf[p++];
    switch (id) {
      case 0x09: // correlation data
        return p + 2;
      case 0x01: // payload format indicator
        p += 1;
        break;
      case 0x02: // message expiry
        p += 4;
        break;
      case 0x23: // topic alias
        p += 2;
        break;
      case 0x03: // content type
      case 0x08: // response topic
        p += 2 + ((buf[p] << 8) | buf[p + 1]);
        break;
      case 0x26: // user property: two strings
        p += 2 + ((buf[p] << 8) | buf[p + 1]);
        p += 2 + ((buf[p] << 8) | buf[p + 1]);
        break;
      case 0x0b: // subscription identifier (varint)
        while (buf[p++] & 0x80);
        break;
      default:
        return -1;
    }
  }
  return -1;
}

/**
 * @param {MqttRequester} c
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} h
 */
function onMqttAnswer(c, buf, start, h) {
  if (buf[start] >> 4 !== 3) return;
  const at = correlationAt(buf, start, h);
  recv++;
  if (at < 0) return noteError(new Error("answer without correlation data"));
  const seq = buf.readUInt32BE(at);
  sample(chunkTime - sendTimes[seq & (RING - 1)]);
  if (cfg.rate === 0 && running) c.want++;
}

/**
 * @param {MqttRequester} c
 * @param {number} n
 */
function mqttSendBatch(c, n) {
  const { bytes, seqAt } = c.template;
  const len = bytes.length;
  const out = Buffer.allocUnsafe(len * n);
  const now = hrMs();
  for (let k = 0; k < n; k++) {
    bytes.copy(out, k * len);
    const seq = c.seq++ >>> 0;
    out.writeUInt32BE(seq, k * len + seqAt);
    sendTimes[seq & (RING - 1)] = now;
  }
  sent += n;
  c.socket.write(out);
}

/** @param {number} i */
async function openMqttRequester(i) {
  const clientId = `${cfg.clientPrefix}${i}`;
  const c = new Conn({
    host: cfg.host,
    port: cfg.port,
    clientId,
    version: 5,
    keepalive: 60,
    onPacket: /** @type {(c: Conn, buf: Buffer, start: number, h: number) => void} */ (onMqttAnswer),
    beforeChunk: () => (chunkTime = hrMs()),
    afterChunk: (/** @type {MqttRequester} */ conn) => {
      if (conn.want > 0) {
        mqttSendBatch(conn, conn.want);
        conn.want = 0;
      }
    },
  });
  const replyTopic = `bench/rr-reply/${clientId}`;
  await c.open();
  await c.subscribe(replyTopic, 0);
  const marker = Buffer.from([0xfe, 0xdc, 0xba, 0x98]);
  const bytes = mqttEncode(
    {
      cmd: "publish",
      topic: `$request/${cfg.rrPath}`,
      payload: Buffer.from(requestPayload),
      qos: 0,
      retain: false,
      dup: false,
      properties: { responseTopic: replyTopic, correlationData: marker },
    },
    5,
  );
  Object.assign(c, { want: 0, seq: i << 20, template: { bytes, seqAt: bytes.indexOf(marker) } });
  return c;
}

// ---- rr-nats ------------------------------------------------------------------------------
async function openNats() {
  const { connect } = await import("@nats-io/transport-node");
  return connect({ servers: `127.0.0.1:${cfg.port}`, noEcho: true });
}

/** @param {RoleConn} nc */
const natsRequest = (nc) => nc.request(cfg.subject, requestPayload, { timeout: 10000 });

// ---- roles --------------------------------------------------------------------------------
/** @type {Record<string, Role>} */
const ROLES = {
  "sdk-sub": { open: openSub },
  "sdk-pub": {
    open: openPub,
    start() {
      if (cfg.rate > 0) {
        startRate((s) => {
          sent++;
          s.ws.send(setBatch(1, true));
        });
      } else schedule();
    },
    close: (s) => s.ws.end(),
  },
  "rr-sdk-req": {
    open: () => openSdkSession(),
    start: () => startRequests(sdkRequest),
    close: (s) => s.close().catch(() => {}),
  },
  "rr-sdk-resp": {
    async open() {
      const s = await openSdkSession();
      await s.messaging.addRequestHandler(
        cfg.rrPath,
        (/** @type {Uint8Array} */ request) => {
          recv++;
          return request; // echo
        },
        { requestType: "binary", responseType: "binary" },
      );
      return s;
    },
    close: (s) => s.close().catch(() => {}),
  },
  "rr-raw-req": {
    open: openRawRequester,
    start: () => startBatches(rawSendBatch),
    close: (s) => s.ws.end(),
  },
  "rr-raw-resp": { open: openRawResponder, close: (s) => s.ws.end() },
  "rr-mqtt-req": {
    open: openMqttRequester,
    start: () => startBatches(mqttSendBatch),
    close: (c) => c.close(),
  },
  "rr-nats-req": {
    open: () => openNats(),
    start: () => startRequests(natsRequest),
    close: (nc) => nc.close().catch(() => {}),
  },
  "rr-nats-resp": {
    async open() {
      const nc = await openNats();
      nc.subscribe(cfg.subject, {
        callback: (/** @type {Error | null} */ err, /** @type {any} */ msg) => {
          if (err) return noteError(err);
          recv++;
          msg.respond(msg.data);
        },
      });
      await nc.flush();
      return nc;
    },
    close: (nc) => nc.close().catch(() => {}),
  },
};

const role = ROLES[cfg.role];
if (!role) throw new Error(`unknown role ${cfg.role}`);

const commands = {
  async open() {
    const t0 = hrMs();
    let failed = 0;
    /** @type {string | null} */
    let first = null;
    await forEachLimited(cfg.conns, cfg.concurrency ?? 50, async (i) => {
      try {
        conns.push(await role.open((cfg.firstConn ?? 0) + i));
      } catch (err) {
        failed++;
        first ??= /** @type {Error} */ (err).message;
      }
    });
    if (failed > 0) throw new Error(`${failed} of ${cfg.conns} ${cfg.role} connections failed: ${first}`);
    return { t0, t1: hrMs(), connected: conns.length };
  },
  start() {
    running = true;
    role.start?.();
  },
  snap: () => ({
    t: hrMs(),
    sent,
    recv,
    acked,
    errors,
    firstError,
    closed: conns.filter((c) => c.closed || c.ws?.closed).length,
  }),
  /** @param {{ on: boolean }} args */
  record({ on }) {
    recording = on;
  },
  stop() {
    running = false;
    clearInterval(rateTimer ?? undefined);
  },
  async close() {
    running = false;
    clearInterval(rateTimer ?? undefined);
    pump.cancel();
    await Promise.allSettled(conns.map((c) => role.close?.(c) ?? c.ws?.end?.()));
    return { samples: samples ? samples.slice(0, nSamples) : null, dropped, errors, firstError };
  },
};

serveCommands(commands);
