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

  it("leaves v5 publishes with properties to mqtt-packet", () => {
    const bytes = mqtt.generate(
      {
        cmd: "publish",
        topic: "a",
        payload: Buffer.from("x"),
        qos: 0,
        retain: false,
        dup: false,
        properties: { contentType: "t" },
      },
      { protocolVersion: 5 },
    );
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
