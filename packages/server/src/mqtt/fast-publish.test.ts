import fc from "fast-check";
import mqtt from "mqtt-packet";
import type { IPublishPacket, Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { MalformedPublish, decodePublish } from "./fast-publish.js";

function slowParse(bytes: Buffer, protocolVersion: number): Packet | Error {
  const parser = mqtt.parser({ protocolVersion });
  let result: Packet | Error = new Error("no packet");
  parser.on("packet", (p: Packet) => (result = p));
  parser.on("error", (e: Error) => (result = e));
  parser.parse(bytes);
  return result;
}

const topicArb = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 20 })
  .filter((t) => !/[+#\0]/.test(t));

describe("decodePublish", () => {
  it("decodes exactly what mqtt-packet decodes (property)", () => {
    fc.assert(
      fc.property(
        topicArb,
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(0, 1, 2),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 65535 }),
        fc.constantFrom(4, 5),
        (topic, payload, qos, retain, dup, messageId, version) => {
          const packet: IPublishPacket = {
            cmd: "publish",
            topic,
            payload: Buffer.from(payload),
            qos: qos as 0 | 1 | 2,
            retain,
            dup: qos > 0 && dup,
            messageId: qos > 0 ? messageId : undefined,
          };
          const bytes = mqtt.generate(packet, { protocolVersion: version });
          const fast = decodePublish(bytes, version) as IPublishPacket;
          const slow = slowParse(bytes, version) as IPublishPacket;
          expect(fast.topic).toBe(slow.topic);
          expect(Buffer.compare(fast.payload as Buffer, slow.payload as Buffer)).toBe(0);
          expect([fast.qos, fast.retain, fast.dup, fast.messageId, fast.length]).toEqual([
            slow.qos,
            slow.retain,
            slow.dup,
            slow.qos > 0 ? slow.messageId : undefined,
            slow.length,
          ]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("decodes v5 properties exactly as mqtt-packet does (property)", () => {
    const str = fc.string({ unit: "grapheme", maxLength: 12 }).filter((t) => !t.includes("\0"));
    const nonEmpty = str.filter((t) => t.length > 0);
    fc.assert(
      fc.property(
        topicArb,
        fc.uint8Array({ maxLength: 50 }),
        fc.constantFrom(0, 1, 2),
        fc.record(
          {
            payloadFormatIndicator: fc.boolean(),
            messageExpiryInterval: fc.integer({ min: 0, max: 0xffffffff }),
            contentType: str,
            responseTopic: topicArb,
            correlationData: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
            topicAlias: fc.integer({ min: 1, max: 65535 }),
            userProperties: fc.dictionary(
              fc.constantFrom("a", "b", "ü", "k"),
              // Non-empty values: mqtt-packet drops a repeated name's earlier empty value (see below).
              fc.oneof(nonEmpty, fc.array(nonEmpty, { minLength: 2, maxLength: 3 })),
              { minKeys: 1 }, // mqtt-packet encodes no packet at all for an empty set
            ),
          },
          { requiredKeys: [] },
        ),
        (topic, payload, qos, properties) => {
          const packet: IPublishPacket = {
            cmd: "publish",
            topic,
            payload: Buffer.from(payload),
            qos: qos as 0 | 1 | 2,
            retain: false,
            dup: false,
            messageId: qos > 0 ? 7 : undefined,
            properties,
          };
          const bytes = mqtt.generate(packet, { protocolVersion: 5 });
          const fast = decodePublish(bytes, 5) as IPublishPacket;
          const slow = slowParse(bytes, 5) as IPublishPacket;
          expect(fast).toBeDefined();
          expect(fast.topic).toBe(slow.topic);
          expect(Buffer.compare(fast.payload as Buffer, slow.payload as Buffer)).toBe(0);
          expect(fast.properties).toEqual(slow.properties);
          expect(fast.length).toBe(slow.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("keeps every value of a repeated User Property, empty ones too [MQTT-3.3.2-18]", () => {
    const properties = { userProperties: { k: ["", "x", ""] } };
    const bytes = mqtt.generate(
      {
        cmd: "publish",
        topic: "a",
        payload: Buffer.from("p"),
        qos: 0,
        retain: false,
        dup: false,
        properties,
      },
      { protocolVersion: 5 },
    );
    // mqtt-packet's own parser would give { k: "" }: it tests the first value for truth.
    expect((decodePublish(bytes, 5) as IPublishPacket).properties).toEqual(properties);
  });

  it.each([
    ["a Subscription Identifier", Buffer.from([0x0b, 0x01])],
    ["a repeated Response Topic", Buffer.from([0x08, 0x00, 0x01, 0x61, 0x08, 0x00, 0x01, 0x62])],
    ["an unknown property", Buffer.from([0x7f, 0x00])],
    ["a string with U+0000", Buffer.from([0x03, 0x00, 0x01, 0x00])],
    ["a string past the properties", Buffer.from([0x03, 0x00, 0x05, 0x61])],
  ])("leaves a v5 publish with %s to mqtt-packet", (_name, props) => {
    const body = Buffer.concat([Buffer.from([0x00, 0x01, 0x61, props.length]), props, Buffer.from("x")]);
    const bytes = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    expect(decodePublish(bytes, 5)).toBeUndefined();
  });

  it.each([
    ["QoS 3", Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])],
    ["topic longer than the packet", Buffer.from([0x30, 0x03, 0x00, 0x05, 0x61])],
    ["NUL in topic", Buffer.from([0x30, 0x04, 0x00, 0x02, 0x61, 0x00])],
    ["ill-formed UTF-8 in topic", Buffer.from([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28])],
    ["missing packet id", Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61])],
  ])("refuses %s as malformed", (_name, bytes) => {
    expect(decodePublish(bytes, 4)).toBeInstanceOf(MalformedPublish);
  });

  it("never throws on random bytes after a PUBLISH header (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.uint8Array({ maxLength: 60 }),
        fc.constantFrom(4, 5),
        (flags, body, v) => {
          const frame = Buffer.concat([Buffer.from([0x30 | flags, body.length]), Buffer.from(body)]);
          const r = decodePublish(frame, v);
          expect(r === undefined || r instanceof MalformedPublish || r.cmd === "publish").toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
