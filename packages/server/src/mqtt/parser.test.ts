import mqtt from "mqtt-packet";
import type { IConnectPacket, ISubscribePacket } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { PacketParser } from "./parser.js";

describe("PacketParser", () => {
  it("parses the next packet after a failed one (one parser serves every connection)", () => {
    const parser = new PacketParser();
    // A CONNECT cut short after its flags, then a PINGREQ.
    expect("error" in parser.parse(Buffer.from("100800044d5154540502", "hex"), 5)).toBe(true);
    const next = parser.parse(Buffer.from("c000", "hex"), 4);
    expect("packet" in next && next.packet.cmd).toBe("pingreq");
  });

  it("parses with the version given on each call", () => {
    const parser = new PacketParser();
    // PUBACK with a v5 reason code byte and no properties.
    const v5 = parser.parse(Buffer.from("4003000110", "hex"), 5);
    expect("packet" in v5 && (v5.packet as { reasonCode?: number }).reasonCode).toBe(0x10);
    const v4 = parser.parse(Buffer.from("40020001", "hex"), 4);
    expect("packet" in v4 && v4.packet.cmd).toBe("puback");
  });

  it("keeps every value of a repeated User Property, empty ones too, in order [MQTT-3.1.3-10]", () => {
    const parser = new PacketParser();
    const userProperties = { k: ["", "x", ""], e: "", f: ["", ""] };
    const connect = mqtt.generate(
      {
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 5,
        clientId: "c",
        clean: true,
        keepalive: 30,
        properties: { userProperties },
        will: {
          topic: "w",
          payload: Buffer.from("x"),
          qos: 0,
          retain: false,
          properties: { userProperties },
        },
      },
      { protocolVersion: 5 },
    );
    const parsed = parser.parse(connect, 5);
    const packet = ("packet" in parsed ? parsed.packet : undefined) as IConnectPacket;
    expect(packet.properties?.userProperties).toEqual(userProperties);
    expect(packet.will?.properties?.userProperties).toEqual(userProperties);
    const subscribe = mqtt.generate(
      {
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "a", qos: 0 }],
        properties: { userProperties },
      },
      { protocolVersion: 5 },
    );
    const sub = parser.parse(subscribe, 5);
    expect(
      ("packet" in sub ? (sub.packet as ISubscribePacket) : undefined)?.properties?.userProperties,
    ).toEqual(userProperties);
  });
});
