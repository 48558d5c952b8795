/**
 * Bad input at the session level, over raw sockets: QoS 2 packet identifiers reused, SUBSCRIBE and
 * PUBLISH refusals answered in SUBACK/PUBACK, No Local on a shared subscription, keep alive and
 * connect timeouts; and a property test that random bytes after a valid CONNECT never hurt the server
 * or another client. Each case checks the reason code, the counter and the bystander (see the harness).
 */
import fc from "fast-check";
import mqtt from "mqtt-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Reason } from "../../src/mqtt/reason-codes.js";
import { FakeClock } from "../fake-clock.js";
import { waitFor } from "../helpers.js";
import { RawClient, frame, props, str, u16 } from "../raw-client.js";
import {
  type BadInputCase,
  type BadInputServer,
  LIMITS,
  disconnect,
  protocolError,
  startBadInputServer,
} from "./bad-input-harness.js";

/** A QoS 2 PUBLISH with packet identifier `id`. */
const qos2 = (topic: string, id: number, dup: boolean) =>
  ({
    cmd: "publish",
    topic,
    payload: Buffer.from("once"),
    qos: 2,
    dup,
    retain: false,
    messageId: id,
  }) as const;

/** Starts a QoS 2 exchange and leaves it waiting for PUBREL. */
const awaitingPubrel = (topic: string, id: number) => async (raw: RawClient) => {
  raw.send(qos2(topic, id, false));
  expect(await raw.next()).toMatchObject({ cmd: "pubrec", messageId: id });
};

const refusedPublish = (reason: number) => ({
  name: "mqtt_publishes_refused_total",
  labels: { reason: `0x${reason.toString(16)}` },
});
const refusedFilter = (by: number) => ({
  name: "mqtt_subscriptions_refused_total",
  labels: { reason: "filter_invalid" },
  by,
});
const badFilters = [
  { topic: "a/#/b", qos: 1 },
  { topic: "a+", qos: 1 },
  { topic: "ok/filter", qos: 1 },
] as const;

const CASES: BadInputCase[] = [
  {
    // [MQTT-4.3.3-9]: any PUBLISH with an identifier awaiting PUBREL is acknowledged and not delivered
    // again, DUP 0 included (MQTT.js sends a stored PUBLISH again without DUP).
    name: "a QoS 2 packet identifier reused before PUBREL",
    version: 5,
    setup: awaitingPubrel("reuse/v5", 7),
    bytes: qos2("reuse/v5", 7, false),
    expect: {
      packet: { cmd: "pubrec", messageId: 7, reasonCode: 0 },
      closed: false,
      counted: { name: "mqtt_qos2_duplicates_total", labels: { dup: "0" } },
      delivered: (seen) => expect(seen.filter((m) => m.topic === "reuse/v5")).toHaveLength(1),
    },
  },
  {
    // 3.1.1 [MQTT-4.3.3-2]: any PUBLISH with an identifier awaiting PUBREL is acknowledged, not delivered again.
    name: "a QoS 2 packet identifier reused before PUBREL",
    version: 4,
    setup: awaitingPubrel("reuse/v4", 7),
    bytes: qos2("reuse/v4", 7, false),
    expect: {
      packet: { cmd: "pubrec", messageId: 7 },
      closed: false,
      counted: { name: "mqtt_qos2_duplicates_total", labels: { dup: "0" } },
      delivered: (seen) => expect(seen.filter((m) => m.topic === "reuse/v4")).toHaveLength(1),
    },
  },
  // [MQTT-3.8.3-2] [MQTT-4.7.1-1] [MQTT-4.7.1-2]: invalid filters are refused one by one in SUBACK.
  {
    name: "invalid filters (a/#/b, a+) in SUBSCRIBE",
    version: 5,
    bytes: { cmd: "subscribe", messageId: 3, subscriptions: [...badFilters] },
    expect: {
      packet: {
        cmd: "suback",
        messageId: 3,
        granted: [Reason.TOPIC_FILTER_INVALID, Reason.TOPIC_FILTER_INVALID, 1],
      },
      closed: false,
      counted: refusedFilter(2),
    },
  },
  {
    name: "invalid filters (a/#/b, a+) in SUBSCRIBE",
    version: 4,
    bytes: { cmd: "subscribe", messageId: 3, subscriptions: [...badFilters] },
    expect: {
      packet: { cmd: "suback", messageId: 3, granted: [0x80, 0x80, 1] },
      closed: false,
      counted: refusedFilter(2),
    },
  },
  // [MQTT-3.8.3-2] [MQTT-3.10.3-2]: no Topic Filter at all is a Protocol Error. Regression: the empty
  // SUBACK/UNSUBACK could not be encoded, and the exception took the whole process down.
  ...([5, 4] as const).flatMap((version): BadInputCase[] => {
    const v5 = version === 5;
    const expect = v5
      ? { packet: disconnect(Reason.PROTOCOL_ERROR), closed: true, counted: protocolError("protocol_error") }
      : { closed: true, counted: protocolError("protocol_error") };
    return [
      {
        name: "a SUBSCRIBE without a Topic Filter",
        version,
        bytes: frame(0x82, u16(5), v5 ? props() : Buffer.alloc(0)),
        expect,
      },
      {
        name: "an UNSUBSCRIBE without a Topic Filter",
        version,
        bytes: frame(0xa2, u16(5), v5 ? props() : Buffer.alloc(0)),
        expect,
      },
    ];
  }),
  {
    // [MQTT-3.8.3-4]: No Local on a shared subscription is a Protocol Error.
    name: "No Local on a shared subscription",
    version: 5,
    bytes: { cmd: "subscribe", messageId: 4, subscriptions: [{ topic: "$share/g/a", qos: 0, nl: true }] },
    expect: {
      packet: disconnect(Reason.PROTOCOL_ERROR),
      closed: true,
      counted: protocolError("protocol_error"),
    },
  },
  {
    // [MQTT-3.3.2-4]: a payload declared UTF-8 that is not: PUBACK 0x99, the message is not delivered.
    name: "Payload Format Indicator 1 with an invalid UTF-8 payload at QoS 1",
    version: 5,
    bytes: frame(0x32, str("pfi/bad"), u16(9), props(Buffer.from([0x01, 0x01])), Buffer.from([0xc3, 0x28])),
    expect: {
      packet: { cmd: "puback", messageId: 9, reasonCode: Reason.PAYLOAD_FORMAT_INVALID },
      closed: false,
      counted: refusedPublish(Reason.PAYLOAD_FORMAT_INVALID),
      delivered: (seen) => expect(seen.filter((m) => m.topic === "pfi/bad")).toHaveLength(0),
    },
  },
  {
    // [MQTT-3.1.2-22]: nothing for 1.5 times the keep alive closes the connection (0x8D on v5).
    name: "silence for 1.5 times a keep alive of 1 s",
    version: 5,
    handshake: { keepalive: 1 },
    bytes: [],
    timeMs: 1500,
    expect: {
      packet: disconnect(Reason.KEEP_ALIVE_TIMEOUT),
      closed: true,
      counted: protocolError("keep_alive_timeout"),
    },
  },
  {
    name: "silence for 1.5 times a keep alive of 1 s",
    version: 4,
    handshake: { keepalive: 1 },
    bytes: [],
    timeMs: 1500,
    expect: { closed: true, counted: protocolError("keep_alive_timeout") },
  },
  {
    // A socket that never sends CONNECT is closed after connectTimeoutMs.
    name: "a socket that sends nothing",
    version: 5,
    handshake: false,
    bytes: [],
    timeMs: LIMITS.connectTimeoutMs,
    expect: { closed: true, counted: protocolError("connect_timeout") },
  },
  {
    name: "a CONNECT that never completes",
    version: 5,
    handshake: false,
    bytes: "10 20 00 04",
    timeMs: LIMITS.connectTimeoutMs,
    expect: { closed: true, counted: protocolError("connect_timeout") },
  },
];

describe("bad input at the session level", () => {
  let bad: BadInputServer;
  beforeAll(async () => {
    bad = await startBadInputServer({ clock: new FakeClock() });
  });
  afterAll(async () => bad?.close());

  it.each(CASES.map((c) => [`v${c.version === 5 ? 5 : "3.1.1"}: ${c.name}`, c] as const))(
    "%s",
    async (_name, c) => {
      await bad.run(c);
    },
  );

  it.each([5, 4] as const)(
    "v%i: a re-sent QoS 2 PUBLISH (DUP 1) is acknowledged again and delivered once [MQTT-4.3.3-9]",
    async (version) => {
      const topic = `resend/v${version}`;
      const raw = await RawClient.connected(bad.srv.addresses.mqtt!, version);
      await awaitingPubrel(topic, 11)(raw);
      raw.send(qos2(topic, 11, true));
      expect(await raw.next()).toMatchObject({
        cmd: "pubrec",
        messageId: 11,
        ...(version === 5 && { reasonCode: 0 }),
      });
      raw.send({ cmd: "pubrel", messageId: 11 });
      expect(await raw.next()).toMatchObject({ cmd: "pubcomp", messageId: 11 });
      await bad.bystanderWorks(); // every earlier delivery has arrived by now
      expect(bad.seen.filter((m) => m.topic === topic)).toHaveLength(1);
      expect(raw.ended).toBe(false);
      raw.destroy();
    },
  );

  it("survives random bytes after a valid CONNECT, and so does the bystander", async () => {
    const port = bad.srv.addresses.mqtt!;
    const valid = [
      mqtt.generate(
        {
          cmd: "publish",
          topic: "fuzz/a",
          payload: Buffer.from("p"),
          qos: 1,
          dup: false,
          retain: false,
          messageId: 1,
          properties: { topicAlias: 1, userProperties: { k: "v" }, contentType: "text/plain" },
        },
        { protocolVersion: 5 },
      ),
      mqtt.generate(
        {
          cmd: "subscribe",
          messageId: 2,
          subscriptions: [{ topic: "fuzz/#", qos: 2, nl: true, rap: true, rh: 1 }],
        },
        { protocolVersion: 5 },
      ),
      mqtt.generate(
        { cmd: "unsubscribe", messageId: 3, unsubscriptions: ["fuzz/#"] },
        { protocolVersion: 5 },
      ),
    ];
    // Pure noise, and valid packets with a few bytes overwritten (they get past the framer and deeper).
    const noise = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b));
    const mutated = fc
      .tuple(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([packet, edits]) => {
        const copy = Buffer.from(packet);
        for (const [at, value] of edits) copy[at % copy.length] = value;
        return copy;
      });
    // Valid packets cut short, with a Remaining Length that agrees: past the framer, short inside.
    const truncated = fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([packet, cut]) => {
      const start = packet[1]! < 0x80 ? 2 : 3; // these packets have one or two length bytes
      const body = packet.subarray(start, start + (cut % (packet.length - start)));
      return frame(packet[0]!, body);
    });
    const garbage = fc.array(fc.oneof(noise, mutated, truncated), { minLength: 1, maxLength: 3 });
    const internalErrors = () => bad.srv.server.metrics.total("mqtt_internal_errors_total");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(4, 5), garbage, async (version, chunks) => {
        const raw = await RawClient.connected(port, version);
        for (const chunk of chunks) raw.send(chunk);
        await raw.end(); // the server answers our FIN by closing, whatever state it is in
        expect(internalErrors()).toBe(0); // no handler threw (the connection would have been dropped)
        await bad.bystanderWorks();
      }),
      { numRuns: 200 },
    );
    // Every fuzzing connection is gone (the bystander is the one left); new ones are still accepted.
    await waitFor(() => bad.srv.server.metrics.get("mqtt_connections") === 1, "fuzz connections to close");
    const fresh = await RawClient.connected(port, 5);
    await fresh.ping();
    fresh.destroy();
  });
});
