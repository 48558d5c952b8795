/**
 * Bad input at the packet level, over raw sockets: malformed packets, packets out of place, invalid
 * strings and topics, reserved bits, topic aliases, oversize packets, duplicate properties and refused
 * CONNECTs. Each case checks the reason code the spec names, that the problem is counted, and that a
 * well-behaved client connected beforehand keeps working. Session-level cases (QoS 2 identifiers,
 * SUBSCRIBE and PUBLISH refusals, timeouts) and the property test are in bad-input-session.test.ts.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { Reason } from "../../src/mqtt/reason-codes.js";
import { frame, props, str, u16, varint } from "../raw-client.js";
import {
  type BadInputCase,
  type BadInputServer,
  LIMITS,
  disconnect,
  protocolError,
  startBadInputServer,
} from "./bad-input-harness.js";

const v5Publish = (topic: Buffer | string, ...properties: Buffer[]): Buffer =>
  frame(0x30, str(topic), props(...properties), Buffer.from("x"));
const v4Publish = (topic: Buffer | string): Buffer => frame(0x30, str(topic), Buffer.from("x"));
/** A CONNECT's variable header up to the flags: protocol name, level, flags. */
const connectStart = (level: number, flags = 0x02): Buffer =>
  Buffer.concat([str("MQTT"), Buffer.from([level, flags])]);
/** Topic Alias property (0x23). */
const topicAlias = (alias: number): Buffer => Buffer.concat([Buffer.from([0x23]), u16(alias)]);
/** Payload Format Indicator property (0x01). */
const payloadFormat = (value: number): Buffer => Buffer.from([0x01, value]);

const malformed = protocolError("malformed");
const closedMalformed = { packet: disconnect(Reason.MALFORMED_PACKET), closed: true, counted: malformed };
const closedQuietly = (reason: string) => ({ closed: true, counted: protocolError(reason) });

/** Malformed packets [MQTT-4.13.1-1]: v5 gets DISCONNECT 0x81 (CONNACK 0x81 for a CONNECT), 3.1.1 a close. */
const MALFORMED: BadInputCase[] = [
  {
    name: "a truncated CONNECT (no keep alive, no client id)",
    version: 5,
    handshake: false,
    bytes: frame(0x10, connectStart(5)),
    expect: {
      packet: { cmd: "connack", reasonCode: Reason.MALFORMED_PACKET },
      closed: true,
      counted: malformed,
    },
  },
  {
    name: "a truncated CONNECT (no keep alive, no client id)",
    version: 4,
    handshake: false,
    bytes: frame(0x10, connectStart(4)),
    expect: closedQuietly("malformed"),
  },
  {
    // [MQTT-1.5.5-1]: at most four bytes of Remaining Length.
    name: "a Remaining Length with a fifth byte",
    version: 5,
    bytes: "30 ff ff ff ff 7f",
    expect: closedMalformed,
  },
  {
    name: "a Remaining Length with a fifth byte",
    version: 4,
    bytes: "30 ff ff ff ff 7f",
    expect: closedQuietly("malformed"),
  },
  {
    name: "a Remaining Length with a fifth byte, in place of CONNECT",
    version: 5,
    handshake: false,
    bytes: "10 ff ff ff ff 7f",
    expect: closedQuietly("malformed"),
  },
  {
    name: "garbage (packet type 0, junk body)",
    version: 5,
    bytes: "00 03 de ad be",
    expect: closedMalformed,
  },
  {
    name: "garbage (packet type 0, junk body)",
    version: 4,
    bytes: "00 03 de ad be",
    expect: closedQuietly("malformed"),
  },
  {
    name: "a PUBLISH shorter than its topic length",
    version: 5,
    bytes: frame(0x30, u16(40), Buffer.from("short")),
    expect: closedMalformed,
  },
  {
    // Regression: the value read as null, was delivered, and crashed the encoder of every subscriber.
    name: "a User Property whose value runs past the end of the packet",
    version: 5,
    bytes: v5Publish("a", Buffer.concat([Buffer.from([0x26]), str("k"), u16(100)])),
    expect: closedMalformed,
  },
  {
    name: "Correlation Data that runs past the end of the packet",
    version: 5,
    bytes: v5Publish("a", Buffer.concat([Buffer.from([0x09]), u16(100)])),
    expect: closedMalformed,
  },
  // A packet identifier cut short read as -1 and was answered with a broken PUBCOMP.
  { name: "a PUBREL one byte long", version: 5, bytes: "62 01 00", expect: closedMalformed },
  { name: "a PUBREL one byte long", version: 4, bytes: "62 01 00", expect: closedQuietly("malformed") },
  // [MQTT-1.5.4-1]: ill-formed UTF-8 in a string is malformed.
  {
    name: "invalid UTF-8 in a topic",
    version: 5,
    bytes: v5Publish(Buffer.from([0x61, 0xff, 0x62])),
    expect: closedMalformed,
  },
  {
    name: "invalid UTF-8 in a topic",
    version: 4,
    bytes: v4Publish(Buffer.from([0x61, 0xff, 0x62])),
    expect: closedQuietly("malformed"),
  },
  {
    name: "a UTF-16 surrogate encoded in UTF-8 in a topic",
    version: 5,
    bytes: v5Publish(Buffer.from([0x61, 0xed, 0xa0, 0x80])),
    expect: closedMalformed,
  },
  // [MQTT-1.5.4-2]: U+0000 in a string is malformed.
  {
    name: "U+0000 in a topic",
    version: 5,
    bytes: v5Publish(Buffer.from([0x61, 0x00, 0x62])),
    expect: closedMalformed,
  },
  {
    name: "U+0000 in a topic",
    version: 4,
    bytes: v4Publish(Buffer.from([0x61, 0x00])),
    expect: closedQuietly("malformed"),
  },
  // [MQTT-3.3.1-4]: QoS 3 is malformed.
  {
    name: "QoS 3 in PUBLISH",
    version: 5,
    bytes: frame(0x36, str("a"), u16(1), props(), Buffer.from("x")),
    expect: closedMalformed,
  },
  {
    name: "QoS 3 in PUBLISH",
    version: 4,
    bytes: frame(0x36, str("a"), u16(1), Buffer.from("x")),
    expect: closedQuietly("malformed"),
  },
  // [MQTT-2.2.2-1] [MQTT-2.2.2-2] [MQTT-3.8.1-1]: reserved flag bits must be as the table says.
  {
    name: "SUBSCRIBE with flags 0000",
    version: 5,
    bytes: frame(0x80, u16(1), props(), str("a"), Buffer.from([0])),
    expect: closedMalformed,
  },
  {
    name: "SUBSCRIBE with flags 0000",
    version: 4,
    bytes: frame(0x80, u16(1), str("a"), Buffer.from([0])),
    expect: closedQuietly("malformed"),
  },
  // [MQTT-3.6.1-1]
  { name: "PUBREL with flags 0000", version: 5, bytes: frame(0x60, u16(1)), expect: closedMalformed },
  {
    name: "PUBREL with flags 0000",
    version: 4,
    bytes: frame(0x60, u16(1)),
    expect: closedQuietly("malformed"),
  },
  // [MQTT-3.1.2-3]
  {
    name: "CONNECT with the reserved flag set",
    version: 4,
    handshake: false,
    bytes: frame(0x10, connectStart(4, 0x03), u16(0), str("x")),
    expect: closedQuietly("malformed"),
  },
];

/** Packets out of place and invalid values: v5 gets the reason the spec names, 3.1.1 a close. */
const PROTOCOL: BadInputCase[] = [
  // [MQTT-3.1.0-1]: the first packet must be CONNECT; no CONNACK.
  {
    name: "PINGREQ before CONNECT",
    version: 5,
    handshake: false,
    bytes: "c0 00",
    expect: closedQuietly("first_packet_not_connect"),
  },
  {
    name: "PUBLISH before CONNECT",
    version: 4,
    handshake: false,
    bytes: v4Publish("a"),
    expect: closedQuietly("first_packet_not_connect"),
  },
  {
    // An HTTP request sent to the MQTT port announces a length it never sends: judged by its first byte.
    name: "an HTTP request before CONNECT",
    version: 4,
    handshake: false,
    bytes: Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    expect: closedQuietly("first_packet_not_connect"),
  },
  // [MQTT-3.1.0-2]: a second CONNECT is a protocol error.
  {
    name: "a second CONNECT",
    version: 5,
    bytes: { cmd: "connect", protocolVersion: 5, clientId: "again", clean: true, keepalive: 0 },
    expect: {
      packet: disconnect(Reason.PROTOCOL_ERROR),
      closed: true,
      counted: protocolError("protocol_error"),
    },
  },
  {
    name: "a second CONNECT",
    version: 4,
    bytes: { cmd: "connect", protocolVersion: 4, clientId: "again", clean: true, keepalive: 0 },
    expect: closedQuietly("protocol_error"),
  },
  // [MQTT-3.3.2-2]: no wildcards in a topic name.
  ...["a/+", "a/#", "+"].map((topic): BadInputCase => ({
    name: `a wildcard in a PUBLISH topic (${topic})`,
    version: 5,
    bytes: v5Publish(topic),
    expect: {
      packet: disconnect(Reason.TOPIC_NAME_INVALID),
      closed: true,
      counted: protocolError("topic_name_invalid"),
    },
  })),
  {
    name: "a wildcard in a PUBLISH topic (a/#)",
    version: 4,
    bytes: v4Publish("a/#"),
    expect: closedQuietly("topic_name_invalid"),
  },
  // [MQTT-3.3.2-8] [MQTT-3.3.2-9]: Topic Alias 0, or above the Topic Alias Maximum we announced.
  ...[0, LIMITS.topicAliasMaximum + 1].map((alias): BadInputCase => ({
    name: `Topic Alias ${alias}`,
    version: 5,
    bytes: v5Publish("a", topicAlias(alias)),
    expect: {
      packet: disconnect(Reason.TOPIC_ALIAS_INVALID),
      closed: true,
      counted: protocolError("topic_alias_invalid"),
    },
  })),
  {
    // [MQTT-3.3.4-?] §3.3.2.3.4: an empty topic needs an alias the client set before.
    name: "an empty topic with a Topic Alias never set",
    version: 5,
    bytes: v5Publish("", topicAlias(5)),
    expect: {
      packet: disconnect(Reason.PROTOCOL_ERROR),
      closed: true,
      counted: protocolError("protocol_error"),
    },
  },
  {
    // [MQTT-3.3.4-6]: a Subscription Identifier is the server's to send.
    name: "a Subscription Identifier in a client PUBLISH",
    version: 5,
    bytes: v5Publish("a", Buffer.from([0x0b, 0x03])),
    expect: {
      packet: disconnect(Reason.PROTOCOL_ERROR),
      closed: true,
      counted: protocolError("protocol_error"),
    },
  },
  {
    // §2.2.2.2: a property that may appear once appearing twice is a Protocol Error.
    name: "a Payload Format Indicator twice in PUBLISH",
    version: 5,
    bytes: v5Publish("a", payloadFormat(1), payloadFormat(1)),
    expect: {
      packet: disconnect(Reason.PROTOCOL_ERROR),
      closed: true,
      counted: protocolError("protocol_error"),
    },
  },
  {
    name: "a Session Expiry Interval twice in CONNECT",
    version: 5,
    handshake: false,
    bytes: frame(
      0x10,
      connectStart(5),
      u16(0),
      props(Buffer.from([0x11, 0, 0, 0, 1]), Buffer.from([0x11, 0, 0, 0, 2])),
      str("dup-props"),
    ),
    expect: {
      packet: { cmd: "connack", reasonCode: Reason.PROTOCOL_ERROR },
      closed: true,
      counted: protocolError("protocol_error"),
    },
  },
  // [MQTT-3.1.2-24] [MQTT-4.13]: larger than the Maximum Packet Size; only the fixed header is sent.
  {
    name: "a PUBLISH header announcing more than the Maximum Packet Size",
    version: 5,
    bytes: Buffer.concat([Buffer.from([0x30]), varint(LIMITS.maxPacketSize * 2)]),
    expect: {
      packet: disconnect(Reason.PACKET_TOO_LARGE),
      closed: true,
      counted: protocolError("packet_too_large"),
    },
  },
  {
    name: "a PUBLISH header announcing more than the Maximum Packet Size",
    version: 4,
    bytes: Buffer.concat([Buffer.from([0x30]), varint(LIMITS.maxPacketSize * 2)]),
    expect: closedQuietly("packet_too_large"),
  },
];

/** Refused CONNECTs: CONNACK with the reason (3.1.1 return code), then close [MQTT-3.2.2-7]. */
const CONNECT: BadInputCase[] = [
  {
    // [MQTT-3.1.2-2]: an unsupported protocol level gets return code 0x01, then the close.
    name: "protocol level 6",
    version: 4,
    handshake: false,
    bytes: frame(0x10, connectStart(6), u16(0), str("level-6")),
    expect: { packet: { cmd: "connack", returnCode: 1 }, closed: true, counted: malformed },
  },
  ...(
    [
      ["Receive Maximum 0", { receiveMaximum: 0 }, Reason.PROTOCOL_ERROR],
      ["Maximum Packet Size 0", { maximumPacketSize: 0 }, Reason.PROTOCOL_ERROR],
      ["an Authentication Method", { authenticationMethod: "SCRAM-SHA-1" }, Reason.BAD_AUTHENTICATION_METHOD],
    ] as const
  ).map(([what, properties, reasonCode]): BadInputCase => ({
    name: `CONNECT with ${what}`,
    version: 5,
    handshake: false,
    bytes: { cmd: "connect", protocolVersion: 5, clientId: "refused", clean: true, keepalive: 0, properties },
    expect: {
      packet: { cmd: "connack", reasonCode },
      closed: true,
      counted: protocolError(`connect_refused_${reasonCode.toString(16)}`),
    },
  })),
  {
    name: "CONNECT with a will topic containing a wildcard",
    version: 5,
    handshake: false,
    bytes: {
      cmd: "connect",
      protocolVersion: 5,
      clientId: "will-wildcard",
      clean: true,
      keepalive: 0,
      will: { topic: "wills/#", payload: Buffer.from("gone"), qos: 0, retain: false },
    },
    expect: {
      packet: { cmd: "connack", reasonCode: Reason.TOPIC_NAME_INVALID },
      closed: true,
      counted: protocolError("connect_refused_90"),
    },
  },
  {
    // [MQTT-3.1.3-8]: an empty client id with clean session 0 gets return code 0x02.
    name: "an empty client id with clean session 0",
    version: 4,
    handshake: false,
    bytes: frame(0x10, connectStart(4, 0x00), u16(0), str("")),
    expect: {
      packet: { cmd: "connack", returnCode: 2 },
      closed: true,
      counted: protocolError("connect_refused_85"),
    },
  },
];

describe("bad input at the packet level", () => {
  let bad: BadInputServer;
  beforeAll(async () => {
    bad = await startBadInputServer();
  });
  afterAll(async () => bad?.close());

  describe.each([
    ["malformed packets", MALFORMED],
    ["protocol errors", PROTOCOL],
    ["refused CONNECTs", CONNECT],
  ] as const)("%s", (_group, cases) => {
    it.each(cases.map((c) => [`v${c.version === 5 ? 5 : "3.1.1"}: ${c.name}`, c] as const))(
      "%s",
      async (_name, c) => {
        await bad.run(c);
      },
    );
  });
});
