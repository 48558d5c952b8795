/**
 * Encodes outgoing PUBLISH packets. An update is encoded once per variant (protocol version, QoS,
 * retain, DUP) and the same bytes go to every subscriber of that variant (DESIGN §10); for QoS 1/2
 * only the two packet-identifier bytes differ, patched into a copy.
 */
import mqtt from "mqtt-packet";
import type { IPublishPacket } from "mqtt-packet";
import { type Update, copyUpdate } from "../core/types.js";
import type { Outgoing } from "./session.js";
import { encodeVarint } from "./framer.js";
import { type UserPropertyPairs, encodeUserProperties, orderOf } from "./user-properties.js";

// mqtt-packet builds a table of 65,536 two-byte Buffers (about 6 MB of heap) on its first encode, to
// save one 2-byte allocation per number it writes. Skein encodes its frequent packets itself (PUBLISH
// here, the fast acks), so the table would cost every server 6 MB for little (issue 11, memory).
mqtt.writeToStream.cacheNumbers = false;

/** Per-connection facts the encoding depends on. */
export interface EncodeContext {
  protocolVersion: number;
  /** Topic alias to use for this topic on this connection, and whether the client already knows it. */
  alias?: { alias: number; known: boolean };
  /** Epoch ms now (for the remaining Message Expiry Interval). */
  now: number;
}

/** The PUBLISH bytes for one message to one client. */
export function encodePublish(message: Outgoing, packetId: number, dup: boolean, ctx: EncodeContext): Buffer {
  const { update } = message;
  const v5 = ctx.protocolVersion === 5;
  const shareable =
    !v5 ||
    (message.subscriptionIds === undefined && ctx.alias === undefined && update.expiresAt === undefined);
  if (!shareable) return generate(message, packetId, dup, ctx);
  const key = `${v5 ? 5 : 4}${message.qos}${message.retain ? 1 : 0}${dup ? 1 : 0}`;
  const cache = (update.encodings ??= new Map());
  let bytes = cache.get(key) as Buffer | undefined;
  if (!bytes) {
    bytes = generate(message, message.qos > 0 ? 1 : 0, dup, ctx);
    cache.set(key, bytes);
  }
  if (message.qos === 0) return bytes;
  const copy = Buffer.allocUnsafe(bytes.length);
  bytes.copy(copy);
  copy.writeUInt16BE(packetId, packetIdOffset(copy));
  return copy;
}

function generate(message: Outgoing, packetId: number, dup: boolean, ctx: EncodeContext): Buffer {
  const { update } = message;
  const v5 = ctx.protocolVersion === 5;
  if (
    !v5 ||
    (ctx.alias === undefined &&
      message.subscriptionIds === undefined &&
      update.expiresAt === undefined &&
      noProperties(update.properties))
  ) {
    return encodePlain(update.topic, update.payload, message.qos, message.retain, dup, packetId, v5);
  }
  let order: UserPropertyPairs | undefined;
  const packet: IPublishPacket = {
    cmd: "publish",
    topic: ctx.alias?.known ? "" : update.topic,
    payload: asBuffer(update.payload),
    qos: message.qos,
    retain: message.retain,
    dup,
    messageId: message.qos > 0 ? packetId : undefined,
  };
  if (ctx.protocolVersion === 5) {
    const p = update.properties;
    const props: NonNullable<IPublishPacket["properties"]> = {};
    if (p?.payloadFormatIndicator !== undefined) props.payloadFormatIndicator = p.payloadFormatIndicator;
    if (p?.contentType !== undefined) props.contentType = p.contentType;
    if (p?.responseTopic !== undefined) props.responseTopic = p.responseTopic;
    if (p?.correlationData !== undefined) props.correlationData = asBuffer(p.correlationData);
    // Names that interleave (a, b, a) are written in their order after the rest (see user-properties.ts).
    order = orderOf(p?.userProperties);
    if (p?.userProperties !== undefined && !order) props.userProperties = p.userProperties;
    if (update.expiresAt !== undefined) {
      // The remaining lifetime, not the original interval [MQTT-3.3.2-6].
      props.messageExpiryInterval = Math.max(0, Math.ceil((update.expiresAt - ctx.now) / 1000));
    }
    if (message.subscriptionIds !== undefined) {
      props.subscriptionIdentifier =
        message.subscriptionIds.length === 1
          ? (message.subscriptionIds[0] as number)
          : [...message.subscriptionIds];
    }
    if (ctx.alias) props.topicAlias = ctx.alias.alias;
    if (Object.keys(props).length > 0) packet.properties = props;
  }
  const bytes = mqtt.generate(packet, { protocolVersion: ctx.protocolVersion });
  return order ? appendProperties(bytes, message.qos > 0, encodeUserProperties(order)) : bytes;
}

/** Whether a message has none of the properties a PUBLISH carries (so a v5 one has an empty list). */
function noProperties(p: Update["properties"]): boolean {
  return (
    p === undefined ||
    (p.payloadFormatIndicator === undefined &&
      p.contentType === undefined &&
      p.responseTopic === undefined &&
      p.correlationData === undefined &&
      p.userProperties === undefined)
  );
}

/**
 * A PUBLISH without properties (3.1.1, or v5 with an empty property list), written directly: one per
 * message, and mqtt-packet's generic encoder costs several times as much (MQTT 5 §3.3, 3.1.1 §3.3).
 * The same bytes as `mqtt.generate` (outbound-encode.test.ts compares them).
 */
function encodePlain(
  topic: string,
  payload: Uint8Array,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
  v5: boolean,
): Buffer {
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.byteLength;
  let header = 2;
  for (let n = remaining; n >= 0x80; n = Math.floor(n / 0x80)) header++;
  const bytes = Buffer.allocUnsafe(header + remaining);
  bytes[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  let i = 1;
  let n = remaining;
  while (n >= 0x80) {
    bytes[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  bytes[i++] = n;
  bytes[i++] = topicLength >> 8;
  bytes[i++] = topicLength & 0xff;
  i += bytes.write(topic, i, topicLength, "utf8");
  if (qos > 0) {
    bytes[i++] = packetId >> 8;
    bytes[i++] = packetId & 0xff;
  }
  if (v5) bytes[i++] = 0;
  bytes.set(payload, i);
  return bytes;
}

/** A v5 PUBLISH with `extra` property bytes added at the end of its property list. */
function appendProperties(bytes: Buffer, hasPacketId: boolean, extra: Buffer): Buffer {
  const start = bodyStart(bytes);
  const lengthAt = packetIdOffset(bytes) + (hasPacketId ? 2 : 0);
  let p = lengthAt;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[p++] as number;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  const propsEnd = p + length;
  const body = Buffer.concat([
    bytes.subarray(start, lengthAt),
    encodeVarint(length + extra.length),
    bytes.subarray(p, propsEnd),
    extra,
    bytes.subarray(propsEnd),
  ]);
  return Buffer.concat([bytes.subarray(0, 1), encodeVarint(body.length), body]);
}

/** A Buffer view of bytes (mqtt-packet needs Buffers; the core and the SDK door may hand Uint8Arrays). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Offset of the variable header: after the first byte and the Remaining Length. */
function bodyStart(bytes: Buffer): number {
  let i = 1;
  while (((bytes[i] as number) & 0x80) !== 0) i++;
  return i + 1;
}

/** Offset of the packet identifier: after the fixed header and the topic name. */
function packetIdOffset(bytes: Buffer): number {
  const start = bodyStart(bytes);
  return start + 2 + bytes.readUInt16BE(start);
}

/**
 * Bytes of an update as it would be stored: the payload is copied when it is a view into a larger
 * buffer (a socket read chunk that a small retained value would otherwise keep alive). The copy gets
 * a backing store of its own (`allocUnsafeSlow`), not a slice of Node's 8 KB Buffer pool, which a
 * retained value would pin in the same way for as long as the topic keeps it.
 */
export function ownPayload(update: Update): Update {
  const p = update.payload;
  if (p.byteOffset === 0 && p.byteLength === p.buffer.byteLength) return update;
  const own = Buffer.allocUnsafeSlow(p.byteLength);
  own.set(p);
  return copyUpdate(update, { payload: own });
}
