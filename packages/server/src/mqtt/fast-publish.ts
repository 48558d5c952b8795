/**
 * A decoder for the packet that dominates traffic: PUBLISH without MQTT 5 properties (every 3.1.1
 * PUBLISH, and v5 ones with an empty property list). It reads the frame in place, with the same
 * checks mqtt-packet plus the strict ones of parser.ts make, and gives up (returns undefined) on
 * anything else, which then goes through mqtt-packet. Measured: see docs/performance.md.
 */
import { isUtf8 } from "node:buffer";
import type { IPublishPacket } from "mqtt-packet";

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
  if (protocolVersion === 5) {
    if (i >= end) return new MalformedPublish("Cannot parse properties");
    if (frame[i] !== 0) return undefined; // properties present: mqtt-packet reads them
    i++;
  }
  return {
    cmd: "publish",
    topic,
    payload: frame.subarray(i),
    qos: qos as 0 | 1 | 2,
    dup: (first & 8) !== 0,
    retain: (first & 1) !== 0,
    messageId,
    length,
  };
}
