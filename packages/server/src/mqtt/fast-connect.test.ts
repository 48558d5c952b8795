import fc from "fast-check";
import mqtt from "mqtt-packet";
import type { IConnectPacket, ISubscribePacket, Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { decodeConnect, decodeSubscribe, encodeSuback } from "./fast-connect.js";
import { PacketParser } from "./parser.js";
import { orderOf } from "./user-properties.js";

/** The parser the server uses (fast paths first) and the mqtt-packet path alone, the reference. */
const withFastPaths = new PacketParser();
const reference = new PacketParser(false);

/**
 * A parse outcome as plain data, field order included: packets field by field (Buffers as hex, User
 * Properties with the order of arrival parser.ts remembers), errors as their class and message.
 */
function shape(x: unknown): unknown {
  if (Buffer.isBuffer(x)) return ["buffer", x.toString("hex")];
  if (x instanceof Error) return ["error", x.constructor.name, x.message];
  if (Array.isArray(x)) return x.map(shape);
  if (x !== null && typeof x === "object") {
    const entries: unknown[] = Object.entries(x).map(([k, v]) => [k, shape(v)]);
    const order = orderOf(x);
    if (order) entries.push(["(order)", order]);
    return entries;
  }
  return x;
}

const outcome = (r: { packet: Packet } | { error: Error }): unknown =>
  shape("packet" in r ? r.packet : r.error);

/** Both parsers give the same outcome for `frame`; returns whether the fast path decoded it. */
function same(frame: Buffer, protocolVersion: number): boolean {
  const fast = withFastPaths.parse(frame, protocolVersion);
  const slow = reference.parse(frame, protocolVersion);
  expect(outcome(fast)).toEqual(outcome(slow));
  const decoded =
    frame[0] === 0x10
      ? decodeConnect(frame)
      : frame[0] === 0x82
        ? decodeSubscribe(frame, protocolVersion)
        : undefined;
  if (decoded !== undefined) expect("packet" in slow).toBe(true);
  return decoded !== undefined;
}

/** A Variable Byte Integer. */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return out;
}

/** A frame of `first` and `body` (the Remaining Length recomputed). */
const frameOf = (first: number, body: Buffer | number[]): Buffer =>
  Buffer.concat([Buffer.from([first, ...varint(body.length)]), Buffer.from(body)]);

/** The body of a frame (after its fixed header). */
function bodyOf(frame: Buffer): Buffer {
  let i = 1;
  while (((frame[i] as number) & 0x80) !== 0) i++;
  return frame.subarray(i + 1);
}

const str = fc.string({ unit: "grapheme", maxLength: 12 }).filter((t) => !t.includes("\0"));
const topic = fc.string({ unit: "grapheme", minLength: 1, maxLength: 16 }).filter((t) => !t.includes("\0"));
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const userProperties = fc.dictionary(
  fc.constantFrom("a", "b", "ü", "k", ""),
  // Non-empty values: mqtt-packet's own encoder writes a repeated name's empty value as none.
  fc.oneof(
    str.filter((t) => t.length > 0),
    fc.array(
      str.filter((t) => t.length > 0),
      { minLength: 2, maxLength: 3 },
    ),
  ),
  { minKeys: 1 },
);

const connectProperties = fc.record(
  {
    sessionExpiryInterval: fc.integer({ min: 0, max: 0xffffffff }),
    receiveMaximum: fc.integer({ min: 0, max: 65535 }),
    maximumPacketSize: fc.integer({ min: 0, max: 0xffffffff }),
    topicAliasMaximum: fc.integer({ min: 0, max: 65535 }),
    requestResponseInformation: fc.boolean(),
    requestProblemInformation: fc.boolean(),
    userProperties,
    authenticationMethod: str,
    authenticationData: bytes(20),
  },
  { requiredKeys: [] },
);

const willProperties = fc.record(
  {
    payloadFormatIndicator: fc.boolean(),
    messageExpiryInterval: fc.integer({ min: 0, max: 0xffffffff }),
    contentType: str,
    responseTopic: topic,
    correlationData: bytes(20),
    willDelayInterval: fc.integer({ min: 0, max: 0xffffffff }),
    userProperties,
  },
  { requiredKeys: [] },
);

/** Valid CONNECTs of both versions, with every field and property a client may send. */
const connectArb = fc
  .record({
    version: fc.constantFrom(4, 5),
    clientId: fc.oneof(str, fc.constant("")),
    clean: fc.boolean(),
    keepalive: fc.integer({ min: 0, max: 65535 }),
    username: fc.option(str, { nil: undefined }),
    password: fc.option(bytes(20), { nil: undefined }),
    properties: fc.option(connectProperties, { nil: undefined }),
    will: fc.option(
      fc.record({
        topic,
        payload: bytes(40),
        qos: fc.constantFrom(0, 1, 2),
        retain: fc.boolean(),
        properties: fc.option(willProperties, { nil: undefined }),
      }),
      { nil: undefined },
    ),
  })
  .map((c) => {
    const packet = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: c.version,
      clientId: c.clientId,
      // mqtt-packet writes no CONNECT with an empty client id and clean 0 (mutations make some)
      clean: c.clean || c.clientId === "",
      keepalive: c.keepalive,
    } as IConnectPacket;
    if (c.username !== undefined) packet.username = c.username;
    // (mqtt-packet writes no password without a user name; mutated flags make some)
    if (c.password !== undefined && c.username) packet.password = c.password;
    if (c.version === 5 && c.properties) packet.properties = c.properties;
    if (c.will) {
      const will = { topic: c.will.topic, payload: c.will.payload, qos: c.will.qos, retain: c.will.retain };
      packet.will = c.version === 5 && c.will.properties ? { ...will, properties: c.will.properties } : will;
    }
    return { packet, frame: mqtt.generate(packet, { protocolVersion: c.version }) };
  });

/** Valid SUBSCRIBEs of both versions, with every option and property. */
const subscribeArb = fc
  .record({
    version: fc.constantFrom(4, 5),
    messageId: fc.integer({ min: 1, max: 65535 }),
    subscriptions: fc.array(
      fc.record({
        topic,
        qos: fc.constantFrom(0, 1, 2),
        nl: fc.boolean(),
        rap: fc.boolean(),
        rh: fc.constantFrom(0, 1, 2),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    properties: fc.option(
      fc.record(
        { subscriptionIdentifier: fc.integer({ min: 1, max: 268_435_455 }), userProperties },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
  })
  .map((s) => {
    const packet = {
      cmd: "subscribe",
      messageId: s.messageId,
      subscriptions:
        s.version === 5
          ? s.subscriptions
          : s.subscriptions.map(({ topic: t, qos }) => ({ topic: t, qos: qos as 0 | 1 | 2 })),
    } as ISubscribePacket;
    if (s.version === 5 && s.properties && Object.keys(s.properties).length > 0)
      packet.properties = s.properties;
    return { version: s.version, frame: mqtt.generate(packet, { protocolVersion: s.version }) };
  });

/** A change that makes a valid frame suspicious or wrong, applied to its body (header recomputed). */
const mutation = fc.oneof(
  // a byte changed to one of the values that break things (0: U+0000 or an empty length; 0x80-0xff:
  // bad UTF-8, continuation bits, flags), or any value
  fc.record({
    kind: fc.constant("byte" as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x80, 0xc0, 0xc3, 0xed, 0xff), fc.nat(255)),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
  }),
  // the fixed header's flags (reserved: [MQTT-2.2.2-1], [MQTT-3.8.1-1])
  fc.record({ kind: fc.constant("flags" as const), value: fc.integer({ min: 1, max: 15 }) }),
);

function mutate(frame: Buffer, m: MutationT): Buffer {
  const body = Buffer.from(bodyOf(frame));
  const first = frame[0] as number;
  if (m.kind === "flags") return frameOf((first & 0xf0) | (m.value ^ (first & 0x0f)), body);
  if (body.length === 0) return frame;
  const at = m.at % body.length;
  if (m.kind === "byte") {
    body[at] = m.value;
    return frameOf(first, body);
  }
  if (m.kind === "truncate") return frameOf(first, body.subarray(0, at));
  return frameOf(first, Buffer.concat([body.subarray(0, at), Buffer.from(m.bytes), body.subarray(at)]));
}

type MutationT =
  | { kind: "byte"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "flags"; value: number };

const SEED = { seed: 11_2026, numRuns: 1500 };

describe("decodeConnect", () => {
  it("decodes every valid CONNECT (3.1.1 and 5.0, all fields and properties) as the mqtt-packet path does", () => {
    fc.assert(
      fc.property(connectArb, ({ frame }) => {
        expect(same(frame, 4)).toBe(true);
      }),
      SEED,
    );
  });

  it("gives the mqtt-packet path's outcome (packet or error) for mutated, truncated and malformed CONNECTs", () => {
    let fast = 0;
    fc.assert(
      fc.property(connectArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ frame }, ms) => {
        let f = frame;
        for (const m of ms) f = mutate(f, m as MutationT);
        if (same(f, 4)) fast++;
      }),
      { ...SEED, numRuns: 4000 },
    );
    expect(fast).toBeGreaterThan(0); // some mutations leave a valid CONNECT: the fast path is compared too
  });

  it("gives the mqtt-packet path's outcome for every Connect Flag flipped (reserved [MQTT-3.1.2-3], will, user name)", () => {
    fc.assert(
      fc.property(connectArb, fc.nat(7), fc.constantFrom(4, 5), ({ frame }, bit, level) => {
        const body = Buffer.from(bodyOf(frame));
        body[7] = (body[7] as number) ^ (1 << bit);
        same(frameOf(0x10, body), 4);
        body[6] = level; // and read as the other version
        same(frameOf(0x10, body), 4);
      }),
      SEED,
    );
    // the reserved flag alone, on a CONNECT with nothing after the client id
    const plain = Buffer.from(bodyOf(mqtt.generate({ cmd: "connect", clientId: "c", keepalive: 1 })));
    expect(same(frameOf(0x10, plain), 4)).toBe(true);
    plain[7] = (plain[7] as number) | 1;
    expect(same(frameOf(0x10, plain), 4)).toBe(false);
  });

  it("gives the mqtt-packet path's outcome for hand-made property lists (repeats, unknown ids, bad values)", () => {
    const entries: Buffer[] = [
      Buffer.from([0x11, 0, 0, 0, 10]), // Session Expiry Interval
      Buffer.from([0x11, 0, 0, 0, 0]), // the same, 0 (mqtt-packet overwrites a falsy first value)
      Buffer.from([0x21, 0, 5]), // Receive Maximum
      Buffer.from([0x27, 0, 0, 1, 0]), // Maximum Packet Size
      Buffer.from([0x22, 0, 3]), // Topic Alias Maximum
      Buffer.from([0x19, 1]), // Request Response Information
      Buffer.from([0x17, 0]), // Request Problem Information
      Buffer.from([0x17, 2]), // ... 2: a Protocol Error
      Buffer.from([0x26, 0, 1, 0x61, 0, 0]), // User Property a=""
      Buffer.from([0x26, 0, 1, 0x61, 0, 1, 0x62]), // User Property a=b
      Buffer.from([0x26, 0, 1, 0x62, 0, 1, 0x00]), // User Property b=U+0000
      Buffer.from([0x26, 0, 2, 0xc3, 0x28, 0, 0]), // User Property with bad UTF-8
      Buffer.from([0x15, 0, 2, 0x6d, 0x6d]), // Authentication Method
      Buffer.from([0x16, 0, 1, 0xff]), // Authentication Data
      Buffer.from([0x01, 1]), // Payload Format Indicator: not valid in CONNECT
      Buffer.from([0x02, 0, 0, 0, 1]), // Message Expiry Interval: valid in a will only
      Buffer.from([0x18, 0, 0, 0, 1]), // Will Delay Interval
      Buffer.from([0x0b, 0x81, 0x01]), // Subscription Identifier
      Buffer.from([0x00]), // identifier 0
      Buffer.from([0x7f, 0]), // unknown identifier
    ];
    const list = fc.array(fc.nat(entries.length - 1), { maxLength: 5 });
    fc.assert(
      fc.property(list, list, fc.boolean(), fc.nat(3), (props, willProps, hasWill, cut) => {
        const p = Buffer.concat(props.map((k) => entries[k] as Buffer));
        const w = Buffer.concat(willProps.map((k) => entries[k] as Buffer));
        const body = Buffer.concat([
          Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 5, hasWill ? 0x0e : 0x02, 0, 60]),
          Buffer.from([...varint(p.length)]),
          p,
          Buffer.from([0, 2, 0x69, 0x64]), // client id "id"
          hasWill
            ? Buffer.concat([Buffer.from(varint(w.length)), w, Buffer.from([0, 1, 0x74, 0, 1, 0x70])])
            : Buffer.alloc(0),
        ]);
        same(frameOf(0x10, body.subarray(0, body.length - (cut === 3 ? 1 : 0))), 4);
        // and the same list in a SUBSCRIBE
        const sub = Buffer.concat([
          Buffer.from([0, 7, ...varint(p.length)]),
          p,
          Buffer.from([0, 1, 0x74, 1]),
        ]);
        same(frameOf(0x82, sub.subarray(0, sub.length - (cut === 3 ? 1 : 0))), 5);
      }),
      SEED,
    );
  });

  it("leaves MQTT 3.1, bridge mode and trailing bytes to mqtt-packet, with its outcome", () => {
    const v31 = mqtt.generate(
      { cmd: "connect", protocolId: "MQIsdp", protocolVersion: 3, clientId: "c", clean: true, keepalive: 1 },
      { protocolVersion: 3 },
    );
    expect(same(v31, 4)).toBe(false);
    const body = Buffer.from(bodyOf(mqtt.generate({ cmd: "connect", clientId: "c", keepalive: 1 })));
    body[6] = 0x84; // bridge mode, 3.1.1
    expect(same(frameOf(0x10, body), 4)).toBe(false);
    expect(same(frameOf(0x10, Buffer.concat([body, Buffer.from([1])])), 4)).toBe(false);
  });
});

describe("decodeSubscribe", () => {
  it("decodes every valid SUBSCRIBE (3.1.1 and 5.0, all options and properties) as the mqtt-packet path does", () => {
    fc.assert(
      fc.property(subscribeArb, ({ frame, version }) => {
        expect(same(frame, version)).toBe(true);
      }),
      SEED,
    );
  });

  it("gives the mqtt-packet path's outcome for mutated SUBSCRIBEs (reserved bits, bad QoS, no filter, bad UTF-8)", () => {
    let fast = 0;
    fc.assert(
      fc.property(
        subscribeArb,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(3, 4, 5),
        ({ frame, version }, ms, other) => {
          let f = frame;
          for (const m of ms) f = mutate(f, m as MutationT);
          if (same(f, version)) fast++;
          same(f, other); // read as another version than it was written for
        },
      ),
      { ...SEED, numRuns: 4000 },
    );
    expect(fast).toBeGreaterThan(0);
  });

  it("leaves a SUBSCRIBE without a Topic Filter [MQTT-3.8.3-3] and one with bad options to mqtt-packet", () => {
    for (const version of [4, 5]) {
      const head = version === 5 ? [0, 9, 0] : [0, 9];
      expect(same(frameOf(0x82, head), version)).toBe(false);
      for (const options of version === 5 ? [0x03, 0x30, 0x40, 0x80] : [0x03, 0x04, 0x08, 0x30, 0x80])
        expect(same(frameOf(0x82, [...head, 0, 1, 0x74, options]), version)).toBe(false);
      expect(same(frameOf(0x80, [...head, 0, 1, 0x74, 0]), version)).toBe(false); // [MQTT-3.8.1-1]
      expect(same(frameOf(0x82, [...head, 0, 1, 0x74, 1]), version)).toBe(true);
    }
  });
});

describe("encodeSuback", () => {
  it("writes the bytes mqtt-packet's generator writes", () => {
    const code = fc.constantFrom(0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 65535 }),
        fc.oneof(
          fc.array(code, { minLength: 1, maxLength: 8 }),
          fc.array(code, { minLength: 120, maxLength: 300 }),
        ),
        fc.constantFrom(4, 5),
        (messageId, granted, version) => {
          const codes = version === 5 ? granted : granted.map((g) => (g > 2 ? 0x80 : g));
          const expected = mqtt.generate(
            { cmd: "suback", messageId, granted: codes },
            { protocolVersion: version },
          );
          expect(encodeSuback(messageId, codes, version).toString("hex")).toBe(expected.toString("hex"));
        },
      ),
      SEED,
    );
  });
});
