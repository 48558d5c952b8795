/**
 * Decoders for the two packets every new connection sends, CONNECT and SUBSCRIBE, and the encoder of
 * the SUBACK it gets back (issue 11, connect rate: mqtt-packet's parser with its BufferList, and its
 * generator, were about an eighth of a connection's server CPU). Like fast-publish.ts, the decoders
 * read the frame in place and give up (return undefined) on anything but a well-formed packet: a
 * failed check, a truncated field, a string that is not well-formed UTF-8 or holds U+0000
 * [MQTT-1.5.4-1] [MQTT-1.5.4-2], a property not valid for the packet or repeated, trailing bytes,
 * MQTT 3.1 (`MQIsdp`), bridge mode. That packet then goes through mqtt-packet (parser.ts) and gets
 * exactly the answer it got before, error included. What they return is what parser.ts returns for
 * the same frame (same fields, same order, same views of the frame for binary fields):
 * fast-connect.test.ts checks this against the mqtt-packet path on seeded random packets, valid and
 * mutated.
 */
import type { IConnectPacket, ISubscribePacket, ISubscription } from "mqtt-packet";
import { type PropertyTable, at, readBinary, readProperties, readString } from "./wire-read.js";

/** The properties each decoder reads, by identifier (MQTT 5 §2.2.2.2): mqtt-packet's name and type. */
const CONNECT_PROPERTIES: PropertyTable = {
  0x11: ["sessionExpiryInterval", "int32"],
  0x21: ["receiveMaximum", "int16"],
  0x27: ["maximumPacketSize", "int32"],
  0x22: ["topicAliasMaximum", "int16"],
  0x19: ["requestResponseInformation", "byte"],
  0x17: ["requestProblemInformation", "byte"],
  0x26: ["userProperties", "pair"],
  0x15: ["authenticationMethod", "string"],
  0x16: ["authenticationData", "binary"],
};
const WILL_PROPERTIES: PropertyTable = {
  0x01: ["payloadFormatIndicator", "byte"],
  0x02: ["messageExpiryInterval", "int32"],
  0x03: ["contentType", "string"],
  0x08: ["responseTopic", "string"],
  0x09: ["correlationData", "binary"],
  0x18: ["willDelayInterval", "int32"],
  0x26: ["userProperties", "pair"],
};
const SUBSCRIBE_PROPERTIES: PropertyTable = {
  0x0b: ["subscriptionIdentifier", "var"],
  0x26: ["userProperties", "pair"],
};

/** The offset of a frame's Variable Header (after its fixed header), or -1 (never from the framer). */
function bodyStart(frame: Buffer): number {
  for (let i = 1; i <= 4 && i < frame.length; i++) if (((frame[i] as number) & 0x80) === 0) return i + 1;
  return -1;
}

/**
 * Decodes a whole CONNECT frame (MQTT 3.1.1 or 5.0) into parser.ts's packet, or undefined when
 * mqtt-packet must read it (anything unusual or wrong: see the top of this file).
 */
export function decodeConnect(frame: Buffer): IConnectPacket | undefined {
  // Reserved flags of the fixed header are 0 [MQTT-2.2.2-1].
  if (frame[0] !== 0x10) return undefined;
  const start = bodyStart(frame);
  let i = start;
  const end = frame.length;
  // Protocol Name "MQTT" (00 04 M Q T T) [MQTT-3.1.2-1], Protocol Level, Connect Flags, Keep Alive.
  if (i < 0 || i + 10 > end) return undefined;
  if (
    frame[i] !== 0 ||
    frame[i + 1] !== 4 ||
    frame[i + 2] !== 0x4d ||
    frame[i + 3] !== 0x51 ||
    frame[i + 4] !== 0x54 ||
    frame[i + 5] !== 0x54
  )
    return undefined;
  const version = frame[i + 6] as number;
  if (version !== 4 && version !== 5) return undefined;
  const flags = frame[i + 7] as number;
  // The reserved flag is 0 [MQTT-3.1.2-3]; without a will, Will QoS and Will Retain are 0
  // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15].
  if ((flags & 0x01) !== 0) return undefined;
  const hasWill = (flags & 0x04) !== 0;
  if (!hasWill && (flags & 0x38) !== 0) return undefined;
  const keepalive = frame.readUInt16BE(i + 8);
  i += 10;
  let properties: Record<string, unknown> | null = null;
  if (version === 5) {
    const read = readProperties(frame, i, end, CONNECT_PROPERTIES);
    if (read === undefined) return undefined;
    properties = read;
    i = at;
  }
  const clientId = readString(frame, i, end);
  if (clientId === undefined) return undefined;
  i = at;
  let will: IConnectPacket["will"] | undefined;
  if (hasWill) {
    let willProperties: Record<string, unknown> | null = null;
    if (version === 5) {
      const read = readProperties(frame, i, end, WILL_PROPERTIES);
      if (read === undefined) return undefined;
      willProperties = read;
      i = at;
    }
    const topic = readString(frame, i, end);
    if (topic === undefined) return undefined;
    const payload = readBinary(frame, at, end);
    if (payload === undefined) return undefined;
    i = at;
    // mqtt-packet's order of fields (retain, qos, properties, topic, payload).
    will = { retain: (flags & 0x20) !== 0, qos: ((flags >> 3) & 3) as 0 | 1 | 2 } as NonNullable<
      IConnectPacket["will"]
    >;
    if (willProperties !== null) will.properties = willProperties;
    will.topic = topic;
    will.payload = payload;
  }
  let username: string | undefined;
  if ((flags & 0x80) !== 0) {
    username = readString(frame, i, end);
    if (username === undefined) return undefined;
    i = at;
  }
  let password: Buffer | undefined;
  if ((flags & 0x40) !== 0) {
    password = readBinary(frame, i, end);
    if (password === undefined) return undefined;
    i = at;
  }
  // mqtt-packet ignores bytes after the last field: such a packet is left to it.
  if (i !== end) return undefined;
  // mqtt-packet's Packet fields, in its order (cmd, retain, qos, dup, length, topic, payload, then the
  // CONNECT's own in the order it reads them).
  const packet = {
    cmd: "connect",
    retain: false,
    qos: 0,
    dup: false,
    length: end - start,
    topic: null,
    payload: null,
    protocolId: "MQTT",
    protocolVersion: version,
  } as unknown as IConnectPacket;
  if (will !== undefined) packet.will = will;
  packet.clean = (flags & 0x02) !== 0;
  packet.keepalive = keepalive;
  if (properties !== null) packet.properties = properties;
  packet.clientId = clientId;
  if (username !== undefined) packet.username = username;
  if (password !== undefined) packet.password = password;
  return packet;
}

/**
 * Decodes a whole SUBSCRIBE frame, read for `protocolVersion` (the connection's), into parser.ts's
 * packet, or undefined when mqtt-packet must read it (anything unusual or wrong, a SUBSCRIBE without
 * a Topic Filter included).
 */
export function decodeSubscribe(frame: Buffer, protocolVersion: number): ISubscribePacket | undefined {
  // The fixed header's flags are 0010 [MQTT-3.8.1-1].
  if (frame[0] !== 0x82) return undefined;
  const start = bodyStart(frame);
  let i = start;
  const end = frame.length;
  if (i < 0 || i + 2 > end) return undefined;
  const messageId = frame.readUInt16BE(i);
  i += 2;
  const v5 = protocolVersion === 5;
  let properties: Record<string, unknown> | null = null;
  if (v5) {
    const read = readProperties(frame, i, end, SUBSCRIBE_PROPERTIES);
    if (read === undefined) return undefined;
    properties = read;
    i = at;
  }
  // At least one Topic Filter [MQTT-3.8.3-3]: a SUBSCRIBE without one is the handler's to refuse.
  if (i >= end) return undefined;
  const subscriptions: ISubscription[] = [];
  while (i < end) {
    const topic = readString(frame, i, end);
    if (topic === undefined || at >= end) return undefined;
    const options = frame[at] as number;
    i = at + 1;
    // Reserved bits of the Subscription Options are 0 (3.1.1: all but QoS [MQTT-3-8.3-4]; 5.0: bits 7-6
    // [MQTT-3.8.3-5]); QoS 3 [MQTT-3.8.3-4] and Retain Handling 3 are malformed.
    if ((options & (v5 ? 0xc0 : 0xfc)) !== 0 || (options & 3) === 3 || (options & 0x30) === 0x30)
      return undefined;
    const subscription = { topic, qos: (options & 3) as 0 | 1 | 2 } as ISubscription;
    if (v5) {
      subscription.nl = (options & 0x04) !== 0;
      subscription.rap = (options & 0x08) !== 0;
      subscription.rh = ((options >> 4) & 3) as 0 | 1 | 2;
    }
    subscriptions.push(subscription);
  }
  const packet = {
    cmd: "subscribe",
    retain: false,
    qos: 1,
    dup: false,
    length: end - start,
    topic: null,
    payload: null,
    subscriptions,
    messageId,
  } as unknown as ISubscribePacket;
  if (properties !== null) packet.properties = properties;
  return packet;
}

/**
 * A SUBACK: the packet identifier of its SUBSCRIBE, a v5 empty property list, then one return or
 * reason code per Topic Filter [MQTT-3.9.3-1]; the bytes mqtt-packet's generator writes for it.
 */
export function encodeSuback(messageId: number, granted: readonly number[], protocolVersion: number): Buffer {
  const v5 = protocolVersion === 5 ? 1 : 0;
  const remaining = 2 + v5 + granted.length;
  const header = remaining < 128 ? 2 : remaining < 16_384 ? 3 : remaining < 2_097_152 ? 4 : 5;
  const out = Buffer.allocUnsafe(header + remaining);
  out[0] = 0x90;
  let p = 1;
  let n = remaining;
  do {
    out[p++] = (n & 0x7f) | (n > 0x7f ? 0x80 : 0);
    n >>>= 7;
  } while (n > 0);
  out[p++] = messageId >> 8;
  out[p++] = messageId & 0xff;
  if (v5 === 1) out[p++] = 0;
  for (let k = 0; k < granted.length; k++) out[p++] = granted[k] as number;
  return out;
}
