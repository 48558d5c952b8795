// @ts-check
// A bare QoS 1 relay in Node (bench broker `node-relay`): the floor of this machine for an MQTT
// server written in Node, measured in the same run as Skein and Mosquitto (see "GC and the QoS 1
// latency tail" in docs/performance.md). Plain `net`, the load generator's framer (lib/mqtt.mjs),
// and just enough MQTT 3.1.1/5 for the bench's clients:
//   CONNECT -> CONNACK; SUBSCRIBE -> SUBACK (QoS at most 1, filters taken as exact topics);
//   PINGREQ -> PINGRESP; PUBLISH QoS 0/1 in -> PUBACK to the publisher (QoS 1) and the message to
//   every subscriber of that exact topic as QoS 1 with the subscriber's own packet id; the
//   subscribers' PUBACKs are read and counted.
// No wildcards, no sessions, no validation, no in-flight bound, no retained messages. The writes of
// one socket read go out as one write per socket (cork/uncork), as Skein batches per turn.
// Usage (started by lib/brokers.mjs): node bench/relay-broker.mjs <port>   (listens on 127.0.0.1)
import net from "node:net";
import { Framer, publishPacketId, pubacks } from "./lib/mqtt.mjs";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node bench/relay-broker.mjs <port>");
  process.exit(2);
}

/**
 * @typedef {{ sock: net.Socket, version: number, nextId: number, unacked: number,
 *   topics: Set<string>, corked: boolean }} Client
 */

/** @type {Map<string, Set<Client>>} exact topic -> its subscribers */
const subscribers = new Map();
/** @type {Client[]} sockets corked during the current read, uncorked at its end */
const corked = [];

/** @param {Client} c */
function cork(c) {
  if (c.corked) return;
  c.corked = true;
  c.sock.cork();
  corked.push(c);
}

function uncorkAll() {
  for (const c of corked) {
    c.corked = false;
    c.sock.uncork();
  }
  corked.length = 0;
}

/** Bytes of a Remaining Length (Variable Byte Integer) of `n`. @param {number} n */
const varintLength = (n) => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4);

/**
 * A QoS 1 PUBLISH of `topic` (UTF-8 bytes) and `payload` for protocol `version`, its packet id at
 * the returned offset (written per subscriber).
 * @param {Buffer} topic
 * @param {Buffer} payload
 * @param {number} version
 * @returns {[Buffer, number]}
 */
function qos1Publish(topic, payload, version) {
  const remaining = 2 + topic.length + 2 + (version === 5 ? 1 : 0) + payload.length;
  const out = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining);
  out[0] = 0x32;
  let p = 1;
  let n = remaining;
  do {
    out[p++] = (n & 127) | (n > 127 ? 128 : 0);
    n >>>= 7;
  } while (n > 0);
  out.writeUInt16BE(topic.length, p);
  p += 2 + topic.copy(out, p + 2);
  const idAt = p;
  p += 2;
  if (version === 5) out[p++] = 0; // no properties
  payload.copy(out, p);
  return [out, idAt];
}

/**
 * Forwards the PUBLISH body of `buf` (topic bytes at [t0, t1), payload at [p0, p1)) to the
 * subscribers of its topic.
 * @param {Buffer} buf
 * @param {number} t0
 * @param {number} t1
 * @param {number} p0
 * @param {number} p1
 */
function forward(buf, t0, t1, p0, p1) {
  const subs = subscribers.get(buf.toString("utf8", t0, t1));
  if (subs === undefined || subs.size === 0) return;
  const topic = buf.subarray(t0, t1);
  const payload = buf.subarray(p0, p1);
  /** @type {[Buffer, number] | null} */
  let v4 = null;
  /** @type {[Buffer, number] | null} */
  let v5 = null;
  for (const c of subs) {
    const template =
      c.version === 5 ? (v5 ??= qos1Publish(topic, payload, 5)) : (v4 ??= qos1Publish(topic, payload, 4));
    const out = Buffer.from(template[0]); // each subscriber its own copy: its own packet id
    out.writeUInt16BE(c.nextId, template[1]);
    c.nextId = c.nextId === 65535 ? 1 : c.nextId + 1;
    c.unacked++;
    cork(c);
    c.sock.write(out);
  }
}

/** @param {net.Socket} sock */
function onConnection(sock) {
  /** @type {Client} */
  const c = { sock, version: 4, nextId: 1, unacked: 0, topics: new Set(), corked: false };
  /** @type {number[]} */
  const acks = [];
  const framer = new Framer((buf, s, h, len) => {
    const body = s + h;
    switch (buf[s] >> 4) {
      case 3: {
        // PUBLISH
        const qos = (buf[s] >> 1) & 3;
        const t0 = body + 2;
        const t1 = t0 + ((buf[body] << 8) | buf[body + 1]);
        let p = t1;
        if (qos > 0) {
          acks.push(publishPacketId(buf, s, h));
          p += 2;
        }
        if (c.version === 5) {
          let n = 0;
          let mul = 1;
          let b = 128;
          while (b > 127) {
            b = buf[p++];
            n += (b & 127) * mul;
            mul *= 128;
          }
          p += n;
        }
        forward(buf, t0, t1, p, body + len);
        break;
      }
      case 4: // PUBACK from a subscriber
        c.unacked--;
        break;
      case 1: // CONNECT: protocol level follows the 6-byte protocol name
        c.version = buf[body + 6];
        cork(c);
        sock.write(Buffer.from(c.version === 5 ? [0x20, 3, 0, 0, 0] : [0x20, 2, 0, 0]));
        break;
      case 8: {
        // SUBSCRIBE: each filter taken as an exact topic, granted at most QoS 1
        const id = [buf[body], buf[body + 1]];
        let p = body + 2;
        if (c.version === 5) p += 1 + buf[p]; // property length (< 128 from the bench's clients)
        /** @type {number[]} */
        const granted = [];
        while (p < body + len) {
          const n = buf.readUInt16BE(p);
          const topic = buf.toString("utf8", p + 2, p + 2 + n);
          granted.push(Math.min(buf[p + 2 + n] & 3, 1));
          p += 3 + n;
          let set = subscribers.get(topic);
          if (set === undefined) subscribers.set(topic, (set = new Set()));
          set.add(c);
          c.topics.add(topic);
        }
        const props = c.version === 5 ? [0] : [];
        cork(c);
        sock.write(Buffer.from([0x90, 2 + props.length + granted.length, ...id, ...props, ...granted]));
        break;
      }
      case 12: // PINGREQ
        cork(c);
        sock.write(Buffer.from([0xd0, 0]));
        break;
      case 14: // DISCONNECT
        sock.end();
        break;
    }
  });
  sock.on("data", (/** @type {Buffer} */ chunk) => {
    framer.push(chunk);
    if (acks.length > 0) {
      cork(c);
      sock.write(pubacks(acks, acks.length));
      acks.length = 0;
    }
    uncorkAll();
  });
  sock.on("close", () => {
    for (const topic of c.topics) subscribers.get(topic)?.delete(c);
  });
  sock.on("error", () => sock.destroy());
}

net.createServer({ noDelay: true }, onConnection).listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
