// @ts-check
// MQTT wire helpers for the load generator.
// Encoding uses mqtt-packet's generate(), once per template. Receiving does NOT run mqtt-packet's
// parser on the hot path: Framer splits the byte stream on the fixed header (type/flags byte +
// Remaining Length varint) and hands each packet's position to a callback, so counting a PUBLISH
// costs a few byte reads. Control packets (CONNACK, SUBACK, ...) are rare and are decoded in full
// with mqtt-packet's parser by decodeControl().
import mqttPacket from "mqtt-packet";

export const PUBLISH = 3;
export const PUBACK = 4;
export const PINGREQ = Buffer.from([0xc0, 0x00]);

/**
 * @param {object} packet an mqtt-packet packet object
 * @param {number} version
 * @returns {Buffer}
 */
export const encode = (packet, version) =>
  mqttPacket.generate(/** @type {import("mqtt-packet").Packet} */ (packet), {
    protocolVersion: /** @type {3 | 4 | 5} */ (version),
  });

/**
 * @param {string} clientId
 * @param {number} version
 * @param {number} keepalive
 */
export function connectPacket(clientId, version, keepalive) {
  return encode(
    { cmd: "connect", protocolId: "MQTT", protocolVersion: version, clean: true, clientId, keepalive },
    version,
  );
}

/**
 * @param {string} topic
 * @param {number} qos
 * @param {number} version
 */
export function subscribePacket(topic, qos, version) {
  return encode({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos }] }, version);
}

/**
 * @param {string} topic
 * @param {Buffer} payload
 * @param {number} qos
 * @param {number} messageId
 * @param {number} version
 */
export function publishPacket(topic, payload, qos, messageId, version) {
  return encode({ cmd: "publish", topic, payload, qos, messageId, retain: false, dup: false }, version);
}

/**
 * Full decode of one (rare) control packet with mqtt-packet's parser.
 * @param {Buffer} bytes
 * @param {number} version
 * @returns {import("mqtt-packet").Packet | { cmd: "error", error: Error } | null}
 */
export function decodeControl(bytes, version) {
  const parser = mqttPacket.parser({ protocolVersion: /** @type {3 | 4 | 5} */ (version) });
  /** @type {import("mqtt-packet").Packet | { cmd: "error", error: Error } | null} */
  let packet = null;
  parser.on("packet", (p) => (packet = p));
  parser.on("error", (err) => (packet = { cmd: "error", error: err }));
  parser.parse(bytes);
  return packet;
}

/**
 * Splits a TCP byte stream into MQTT packets by fixed header only.
 * onPacket(buf, start, headerLength, remainingLength) is called for every complete packet;
 * buf[start] is the type/flags byte and the body is buf[start + headerLength, + remainingLength).
 */
export class Framer {
  /** @param {(buf: Buffer, start: number, headerLength: number, remainingLength: number) => void} onPacket */
  constructor(onPacket) {
    this.onPacket = onPacket;
    /** @type {Buffer | null} */
    this.rest = null;
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const n = buf.length;
    let i = 0;
    while (i + 2 <= n) {
      let pos = i + 1;
      let len = 0;
      let mul = 1;
      let b = 128;
      while (b > 127 && pos < n) {
        b = buf[pos++];
        len += (b & 127) * mul;
        mul *= 128;
        if (pos - i > 5) throw new Error("malformed Remaining Length");
      }
      if (b > 127 || pos + len > n) break; // incomplete header or body: wait for more bytes
      this.onPacket(buf, i, pos - i, len);
      i = pos + len;
    }
    if (i < n) this.rest = Buffer.from(buf.subarray(i)); // copy: the read buffer is reused
  }
}

/** Offset of the PUBLISH at buf[start] (header length h) past its topic and packet identifier. */
/**
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} h
 */
export function publishPropertiesAt(buf, start, h) {
  let p = start + h;
  p += 2 + ((buf[p] << 8) | buf[p + 1]); // topic
  if (buf[start] & 0x06) p += 2; // packet identifier (QoS > 0)
  return p;
}

/** Offset past the MQTT 5 properties at buf[p] (their length as a Variable Byte Integer, then them). */
/**
 * @param {Buffer} buf
 * @param {number} p
 */
export function skipProperties(buf, p) {
  let len = 0;
  let mul = 1;
  let b = 128;
  while (b > 127) {
    b = buf[p++];
    len += (b & 127) * mul;
    mul *= 128;
  }
  return p + len;
}

/** Offset of the payload of the PUBLISH at buf[start] (header length h); skips MQTT 5 properties. */
/**
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} h
 * @param {number} version
 */
export function publishPayloadOffset(buf, start, h, version) {
  const p = publishPropertiesAt(buf, start, h);
  return version === 5 ? skipProperties(buf, p) : p;
}

/** Packet identifier of a QoS 1/2 PUBLISH at buf[start]. */
/**
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} h
 */
export function publishPacketId(buf, start, h) {
  const p = start + h + 2 + ((buf[start + h] << 8) | buf[start + h + 1]);
  return (buf[p] << 8) | buf[p + 1];
}

/** One buffer holding a PUBACK for every id (written with one socket write). */
/**
 * @param {ArrayLike<number>} ids
 * @param {number} count
 */
export function pubacks(ids, count) {
  const out = Buffer.allocUnsafe(count * 4);
  for (let k = 0; k < count; k++) {
    out[k * 4] = 0x40;
    out[k * 4 + 1] = 2;
    out[k * 4 + 2] = ids[k] >> 8;
    out[k * 4 + 3] = ids[k] & 0xff;
  }
  return out;
}
