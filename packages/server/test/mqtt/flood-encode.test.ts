// The direct encoders and decoders on the QoS 1 flood path (issue 12, item 6) give the same bytes and
// packets as mqtt-packet's generic ones: PUBLISH without properties, and the 2-byte acknowledgements.
import mqtt from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { encodePublish } from "../../src/mqtt/outbound.js";
import { PacketParser } from "../../src/mqtt/parser.js";
import type { Update } from "../../src/core/types.js";

function update(topic: string, payload: Uint8Array): Update {
  return { topic, payload, qos: 1, retain: false, properties: undefined } as unknown as Update;
}

function libraryParse(bytes: Buffer, protocolVersion: number): Packet {
  const parser = mqtt.parser({ protocolVersion });
  let packet: Packet | undefined;
  parser.on("packet", (p: Packet) => (packet = p));
  parser.parse(bytes);
  return packet as Packet;
}

describe("PUBLISH encoding without properties", () => {
  const topics = ["a", "bench/in/7", "ünï/cødé/✓", "t".repeat(300)];
  const payloads = [0, 1, 100, 127 - 14, 200, 20_000, 2_100_000].map((n) => Buffer.alloc(n, 7));
  for (const protocolVersion of [4, 5]) {
    it(`matches mqtt.generate (version ${protocolVersion})`, () => {
      let cases = 0;
      for (const topic of topics)
        for (const payload of payloads)
          for (const qos of [0, 1, 2] as const)
            for (const retain of [false, true])
              for (const dup of [false, true]) {
                const id = qos > 0 ? 0xbeef : 0;
                const mine = encodePublish(
                  { update: update(topic, payload), qos, retain, subscriptionIds: undefined, messageId: 0 },
                  id,
                  dup,
                  { protocolVersion, now: 0 },
                );
                const theirs = mqtt.generate(
                  { cmd: "publish", topic, payload, qos, retain, dup, messageId: qos > 0 ? id : undefined },
                  { protocolVersion },
                );
                expect(mine.equals(theirs)).toBe(true);
                cases++;
              }
      expect(cases).toBe(topics.length * payloads.length * 12);
    });
  }
});

describe("acknowledgement decoding", () => {
  const parser = new PacketParser();
  for (const protocolVersion of [4, 5]) {
    it(`matches mqtt-packet for PUBACK, PUBREC, PUBREL, PUBCOMP (version ${protocolVersion})`, () => {
      for (const first of [0x40, 0x50, 0x62, 0x70]) {
        const bytes = Buffer.from([first, 2, 0x12, 0x34]);
        const mine = parser.parse(bytes, protocolVersion);
        expect(mine).toEqual({ packet: libraryParse(bytes, protocolVersion) });
      }
    });
  }

  it("leaves other frames to mqtt-packet (a PUBREL with wrong reserved flags is malformed)", () => {
    const bad = parser.parse(Buffer.from([0x60, 2, 0, 1]), 4);
    expect("error" in bad).toBe(true);
    const withReason = parser.parse(Buffer.from([0x40, 3, 0, 1, 0x10]), 5);
    expect(withReason).toEqual({ packet: libraryParse(Buffer.from([0x40, 3, 0, 1, 0x10]), 5) });
  });
});
