/**
 * Packets the spec calls malformed or a protocol error that were once accepted (issue 12, items 13-16):
 * a Will QoS of 3, a 3.1.1 password without a user name, packet identifier 0, and one-byte properties
 * other than 0 or 1. Each must close the connection (v5: with the reason code), be counted, and leave a
 * well-behaved client alone. Raw sockets, so the exact bytes go out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Reason } from "../../src/mqtt/reason-codes.js";
import { RawClient, frame, props, str, u16 } from "../raw-client.js";
import {
  type BadInputCase,
  type BadInputServer,
  disconnect,
  protocolError,
  startBadInputServer,
} from "./bad-input-harness.js";

/** A CONNECT's variable header up to the keep alive: protocol name, level, flags, keep alive 60. */
const connectHead = (level: number, flags: number): Buffer =>
  Buffer.concat([str("MQTT"), Buffer.from([level, flags]), u16(60)]);
const x = Buffer.from("x");

const closedQuietly = (reason: string): BadInputCase["expect"] => ({
  closed: true,
  counted: protocolError(reason),
});
const connackThenClose = (reasonCode: number, label: string): BadInputCase["expect"] => ({
  packet: { cmd: "connack", reasonCode },
  closed: true,
  counted: protocolError(label),
});
const disconnected = (reasonCode: number, label: string): BadInputCase["expect"] => ({
  packet: disconnect(reasonCode),
  closed: true,
  counted: protocolError(label),
});

const CONNECT_CASES: BadInputCase[] = [
  {
    // [MQTT-3.1.2-14]: Will QoS 3. The bytes of the issue: will flag, QoS bits 11, clean session.
    name: "a Will QoS of 3",
    version: 4,
    handshake: false,
    bytes: "10 17 00 04 4d 51 54 54 04 1e 00 3c 00 02 63 31 00 04 66 7a 2f 77 00 01 78",
    expect: closedQuietly("malformed"),
  },
  {
    // MQTT 5 §3.1.2.6: "A value of 3 (0x03) is a Malformed Packet."
    name: "a Will QoS of 3",
    version: 5,
    handshake: false,
    bytes: frame(0x10, connectHead(5, 0x1e), props(), str("c1"), props(), str("fz/w"), str("x")),
    expect: connackThenClose(Reason.MALFORMED_PACKET, "malformed"),
  },
  {
    // [MQTT-3.1.2-22]: the bytes of the issue, password flag (0x40) without the user name flag (0x80).
    name: "a password without a user name",
    version: 4,
    handshake: false,
    bytes: "10 11 00 04 4d 51 54 54 04 42 00 3c 00 02 63 32 00 01 70",
    expect: closedQuietly("protocol_error"),
  },
  {
    // MQTT 5 §3.1.2.11.7: Request Problem Information other than 0 or 1 is a Protocol Error.
    name: "Request Problem Information 2",
    version: 5,
    handshake: false,
    bytes: frame(0x10, connectHead(5, 0x02), props(Buffer.from([0x17, 2])), str("c3")),
    expect: connackThenClose(Reason.PROTOCOL_ERROR, "protocol_error"),
  },
  {
    // MQTT 5 §3.1.2.11.6: likewise Request Response Information.
    name: "Request Response Information 2",
    version: 5,
    handshake: false,
    bytes: frame(0x10, connectHead(5, 0x02), props(Buffer.from([0x19, 2])), str("c4")),
    expect: connackThenClose(Reason.PROTOCOL_ERROR, "protocol_error"),
  },
  {
    // §3.1.3.2.3: a Will's Payload Format Indicator is 0 or 1.
    name: "a Will Payload Format Indicator of 2",
    version: 5,
    handshake: false,
    bytes: frame(
      0x10,
      connectHead(5, 0x06),
      props(),
      str("c5"),
      props(Buffer.from([0x01, 2])),
      str("w/t"),
      str("x"),
    ),
    expect: connackThenClose(Reason.PROTOCOL_ERROR, "protocol_error"),
  },
  {
    // §2.2.2.2: a property not valid for its packet type (Will Delay Interval belongs in the Will's).
    name: "a Will Delay Interval among the CONNECT properties",
    version: 5,
    handshake: false,
    bytes: frame(0x10, connectHead(5, 0x02), props(Buffer.from([0x18, 0, 0, 0, 5])), str("c7")),
    expect: connackThenClose(Reason.MALFORMED_PACKET, "malformed"),
  },
  {
    // A server-only property (Maximum QoS, a CONNACK property) in CONNECT.
    name: "a Maximum QoS property in CONNECT",
    version: 5,
    handshake: false,
    bytes: frame(0x10, connectHead(5, 0x02), props(Buffer.from([0x24, 1])), str("c8")),
    expect: connackThenClose(Reason.MALFORMED_PACKET, "malformed"),
  },
  {
    name: "a Session Expiry Interval among the Will Properties",
    version: 5,
    handshake: false,
    bytes: frame(
      0x10,
      connectHead(5, 0x06),
      props(),
      str("c9"),
      props(Buffer.from([0x11, 0, 0, 0, 5])),
      str("w/t"),
      str("x"),
    ),
    expect: connackThenClose(Reason.MALFORMED_PACKET, "malformed"),
  },
];

/** Packet identifier 0 [MQTT-2.3.1-1] (5.0: [MQTT-2.2.1-3]): each packet type that carries one. */
function zeroIdCases(version: 4 | 5): BadInputCase[] {
  const v5 = version === 5;
  const p = v5 ? [props()] : [];
  const expectClosed = v5
    ? disconnected(Reason.PROTOCOL_ERROR, "protocol_error")
    : closedQuietly("protocol_error");
  return [
    // The fast PUBLISH decoder (fast-publish.ts) reads these.
    { name: "a QoS 1 PUBLISH", bytes: frame(0x32, str("a"), u16(0), ...p, x) },
    { name: "a QoS 2 PUBLISH", bytes: frame(0x34, str("a"), u16(0), ...p, x) },
    // mqtt-packet reads the rest.
    { name: "a SUBSCRIBE", bytes: frame(0x82, u16(0), ...p, str("a"), Buffer.from([1])) },
    { name: "an UNSUBSCRIBE", bytes: frame(0xa2, u16(0), ...p, str("a")) },
    { name: "a PUBACK", bytes: frame(0x40, u16(0)) },
    { name: "a PUBREC", bytes: frame(0x50, u16(0)) },
    { name: "a PUBREL", bytes: frame(0x62, u16(0)) },
    { name: "a PUBCOMP", bytes: frame(0x70, u16(0)) },
  ].map((c) => ({ ...c, name: `${c.name} with packet identifier 0`, version, expect: expectClosed }));
}

const PUBLISH_CASES: BadInputCase[] = [
  ...zeroIdCases(4),
  ...zeroIdCases(5),
  {
    // §3.3.2.3.2: the Payload Format Indicator is 0 or 1 (mqtt-packet read 2 as true).
    name: "a PUBLISH with Payload Format Indicator 2",
    version: 5,
    bytes: frame(0x30, str("a"), props(Buffer.from([0x01, 2])), x),
    expect: disconnected(Reason.PROTOCOL_ERROR, "protocol_error"),
  },
  {
    // §2.2.2.2: a Session Expiry Interval is not a PUBLISH property (the fast decoder hands it over).
    name: "a PUBLISH with a Session Expiry Interval",
    version: 5,
    bytes: frame(0x30, str("a"), props(Buffer.from([0x11, 0, 0, 0, 5])), x),
    expect: disconnected(Reason.MALFORMED_PACKET, "malformed"),
  },
  {
    name: "a SUBSCRIBE with a Topic Alias",
    version: 5,
    bytes: frame(0x82, u16(1), props(Buffer.from([0x23]), u16(1)), str("a"), Buffer.from([1])),
    expect: disconnected(Reason.MALFORMED_PACKET, "malformed"),
  },
];

describe("malformed CONNECT, packet identifier 0 and one-byte properties", () => {
  let bad: BadInputServer;
  beforeAll(async () => {
    bad = await startBadInputServer();
  });
  afterAll(async () => bad.close());

  it.each(CONNECT_CASES.map((c) => [`${c.name} (v${c.version})`, c] as const))(
    "closes on %s",
    async (_name, c) => bad.run(c),
  );

  it.each(PUBLISH_CASES.map((c) => [`${c.name} (v${c.version})`, c] as const))(
    "closes on %s",
    async (_name, c) => bad.run(c),
  );

  it("accepts a password without a user name in MQTT 5 (§3.1.2.9 allows it)", async () => {
    const raw = await RawClient.open(bad.srv.addresses.mqtt!, 5);
    try {
      raw.send(frame(0x10, connectHead(5, 0x42), props(), str("c6"), str("p")));
      expect(await raw.next()).toMatchObject({ cmd: "connack", reasonCode: 0 });
      await raw.ping();
    } finally {
      raw.destroy();
    }
  });

  it("accepts the properties each packet may carry (DISCONNECT with Session Expiry, PUBACK with a Reason String)", async () => {
    const raw = await RawClient.connected(bad.srv.addresses.mqtt!, 5, {
      properties: { sessionExpiryInterval: 10 },
    });
    try {
      raw.send(frame(0x40, u16(9), Buffer.from([0x10]), props(Buffer.from([0x1f]), str("fine"))));
      await raw.ping();
      raw.send(frame(0xe0, Buffer.from([0x00]), props(Buffer.from([0x11, 0, 0, 0, 0]))));
      await raw.waitClosed();
      expect(raw.packets.filter((p) => p.cmd === "disconnect")).toEqual([]);
    } finally {
      raw.destroy();
    }
  });

  it("keeps Payload Format Indicator 0 and 1 working on both decoders", async () => {
    const raw = await RawClient.connected(bad.srv.addresses.mqtt!, 5);
    try {
      for (const indicator of [0, 1]) {
        raw.send(frame(0x32, str("pfi/ok"), u16(7 + indicator), props(Buffer.from([0x01, indicator])), x));
        expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 7 + indicator, reasonCode: 0 });
      }
    } finally {
      raw.destroy();
    }
  });
});
