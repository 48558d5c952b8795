/**
 * A decoder for the packet that dominates traffic: PUBLISH (every 3.1.1 PUBLISH, and v5 ones with
 * no properties or with the properties a client sends: Payload Format Indicator, Message Expiry
 * Interval, Content Type, Response Topic, Correlation Data, Topic Alias, User Property). It reads
 * the frame in place, with the same checks mqtt-packet plus the strict ones of parser.ts make, and
 * gives up (returns undefined) on anything else, which then goes through mqtt-packet and gets the
 * same answer as before. Measured: see docs/performance.md.
 */
import { isUtf8 } from "node:buffer";
import type { IPublishPacket } from "mqtt-packet";
import { rememberOrder } from "./user-properties.js";
import { at, readString } from "./wire-read.js";

/** A decoding failure: the packet is malformed. */
export class MalformedPublish extends Error {}

/**
 * Decodes a whole PUBLISH frame. Returns the packet, a {@link MalformedPublish}, or undefined when
 * the frame has properties this fast path does not read.
 */
export function decodePublish(
  frame: Buffer,
  protocolVersion: number,
): IPublishPacket | MalformedPublish | undefined {
  const first = frame[0] as number;
  const qos = (first >> 1) & 3;
  // Both QoS bits set is a malformed packet [MQTT-3.3.1-4].
  if (qos === 3) return new MalformedPublish("Packet must not have both QoS bits set to 1");
  let i = 1;
  while (((frame[i] as number) & 0x80) !== 0) i++;
  i++;
  const length = frame.length - i;
  const end = frame.length;
  if (i + 2 > end) return new MalformedPublish("Cannot parse topic");
  const topicLength = frame.readUInt16BE(i);
  i += 2;
  const topicEnd = i + topicLength;
  if (topicEnd > end) return new MalformedPublish("Cannot parse topic");
  // Well-formed UTF-8 without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]; ASCII checked inline.
  let ascii = true;
  for (let k = i; k < topicEnd; k++) {
    const b = frame[k] as number;
    if (b === 0) return new MalformedPublish("String contains U+0000");
    if (b >= 0x80) ascii = false;
  }
  if (!ascii && !isUtf8(frame.subarray(i, topicEnd))) return new MalformedPublish("Malformed UTF-8 string");
  const topic = frame.toString("utf8", i, topicEnd);
  i = topicEnd;
  let messageId: number | undefined;
  if (qos > 0) {
    if (i + 2 > end) return new MalformedPublish("Cannot parse messageId");
    messageId = frame.readUInt16BE(i);
    i += 2;
  }
  let properties: PublishProperties | undefined;
  if (protocolVersion === 5) {
    if (i >= end) return new MalformedPublish("Cannot parse properties");
    if (frame[i] === 0) i++;
    else {
      const read = readProperties(frame, i);
      if (!read) return undefined; // anything unusual: mqtt-packet reads it and reports the problem
      properties = read.properties;
      i = read.end;
    }
  }
  const packet: IPublishPacket = {
    cmd: "publish",
    topic,
    payload: frame.subarray(i),
    qos: qos as 0 | 1 | 2,
    dup: (first & 8) !== 0,
    retain: (first & 1) !== 0,
    messageId,
    length,
  };
  if (properties) packet.properties = properties;
  return packet;
}

type PublishProperties = NonNullable<IPublishPacket["properties"]>;

/**
 * Reads the properties of a v5 PUBLISH at `start` (their length first) into mqtt-packet's shape.
 * Returns undefined for anything but well-formed properties a client may send, each at most once
 * (User Property excepted): a Subscription Identifier, an unknown identifier, a repeated property,
 * a string that is not well-formed UTF-8 or holds U+0000, a field past the end. mqtt-packet then
 * parses the packet and reports the problem as before.
 */
function readProperties(
  frame: Buffer,
  start: number,
): { properties: PublishProperties; end: number } | undefined {
  let i = start;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (shift > 21 || i >= frame.length) return undefined;
    const b = frame[i++] as number;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  const end = i + length;
  if (end > frame.length) return undefined;
  const props: PublishProperties = {};
  let pairs: [string, string][] | undefined;
  while (i < end) {
    const id = frame[i++] as number;
    switch (id) {
      case 0x01: // Payload Format Indicator: 0 or 1, read as a boolean by mqtt-packet (2+: parser.ts)
        if (props.payloadFormatIndicator !== undefined || i + 1 > end || (frame[i] as number) > 1)
          return undefined;
        props.payloadFormatIndicator = frame[i++] !== 0;
        break;
      case 0x02: // Message Expiry Interval
        if (props.messageExpiryInterval !== undefined || i + 4 > end) return undefined;
        props.messageExpiryInterval = frame.readUInt32BE(i);
        i += 4;
        break;
      case 0x23: // Topic Alias
        if (props.topicAlias !== undefined || i + 2 > end) return undefined;
        props.topicAlias = frame.readUInt16BE(i);
        i += 2;
        break;
      case 0x03: // Content Type
      case 0x08: {
        // Response Topic
        const key = id === 0x03 ? "contentType" : "responseTopic";
        if (props[key] !== undefined) return undefined;
        const str = readString(frame, i, end);
        if (str === undefined) return undefined;
        props[key] = str;
        i = at;
        break;
      }
      case 0x09: {
        // Correlation Data
        if (props.correlationData !== undefined || i + 2 > end) return undefined;
        const dataEnd = i + 2 + frame.readUInt16BE(i);
        if (dataEnd > end) return undefined;
        props.correlationData = frame.subarray(i + 2, dataEnd);
        i = dataEnd;
        break;
      }
      case 0x26: {
        // User Property: a name and a value; a repeated name collects its values in an array
        const name = readString(frame, i, end);
        if (name === undefined) return undefined;
        const value = readString(frame, at, end);
        if (value === undefined) return undefined;
        i = at;
        (pairs ??= []).push([name, value]);
        const users = (props.userProperties ??= Object.create(null) as Record<string, string | string[]>);
        const old = users[name];
        if (old === undefined) users[name] = value;
        else if (Array.isArray(old)) old.push(value);
        else users[name] = [old, value];
        break;
      }
      default:
        return undefined;
    }
  }
  if (pairs && props.userProperties) rememberOrder(props.userProperties, pairs);
  return { properties: props, end };
}
