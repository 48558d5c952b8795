/**
 * Survival (issue 14 §4, item 1): random and mutated input over real sockets. Valid CONNECT, PUBLISH
 * and SUBSCRIBE packets of both MQTT versions are mutated (bytes flipped, set, inserted, removed, the
 * packet cut short) and sent to the MQTT door; random bytes, random MessagePack, deeply nested values,
 * huge maps and mutated frames go to the SDK door. After every case the offender's connection is
 * finished (closed by the server, or by us once the server has answered), and the canaries, an MQTT
 * session and an SDK session, still get their messages; unhandled errors fail the run (vitest reports
 * them).
 */
import mqttPacket, { type Packet } from "mqtt-packet";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createMsgpackEncoder } from "@skein/protocol";
import { RawClient } from "../raw-client.js";
import { waitFor } from "../helpers.js";
import { startSurvivalServer, type SurvivalServer } from "./canaries.js";

/** Cases per property: bounded so the file runs in seconds. */
const RUNS = 200;
/** Per-test time limit: 200 cases over real sockets on a loaded machine. */
const TIMEOUT_MS = 180_000;

let s: SurvivalServer;
beforeAll(async () => {
  // Small limits so that mutated lengths often cross them.
  // Small limits so that mutated lengths often cross them; no failed-login slow-down, since mutated
  // CONNECTs with credentials fail on loopback, where every case comes from (throttle.test.ts covers it).
  s = await startSurvivalServer({
    mqtt: { maxPacketSize: 4096, connectTimeoutMs: 2000 },
    security: { failedLoginDelayMs: 0 },
  });
});
afterAll(async () => s?.close());

/** Valid packets of one protocol version, as bytes. */
function validPackets(protocolVersion: 4 | 5): Buffer[] {
  const v5 = protocolVersion === 5;
  const packets: Packet[] = [
    {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion,
      clientId: "fuzz",
      clean: true,
      keepalive: 30,
      username: "u",
      password: Buffer.from("p"),
      will: {
        topic: "fuzz/will",
        payload: Buffer.from("gone"),
        qos: 1,
        retain: false,
        ...(v5 ? { properties: { willDelayInterval: 1, contentType: "text/plain" } } : {}),
      },
      ...(v5 ? { properties: { sessionExpiryInterval: 10, receiveMaximum: 5, topicAliasMaximum: 4 } } : {}),
    },
    {
      cmd: "publish",
      topic: "fuzz/a/b",
      payload: Buffer.from('{"x":1}'),
      qos: 1,
      messageId: 7,
      retain: true,
      dup: false,
      ...(v5
        ? {
            properties: {
              topicAlias: 1,
              contentType: "application/json",
              userProperties: { k: "v" },
              responseTopic: "fuzz/r",
              correlationData: Buffer.from("c"),
              messageExpiryInterval: 5,
            },
          }
        : {}),
    },
    {
      cmd: "publish",
      topic: "fuzz/q2",
      payload: Buffer.from("two"),
      qos: 2,
      messageId: 9,
      retain: false,
      dup: false,
    },
    {
      cmd: "subscribe",
      messageId: 3,
      subscriptions: [
        { topic: "fuzz/#", qos: 2, ...(v5 ? { nl: true, rap: true, rh: 1 } : {}) },
        { topic: "$share/g/fuzz/+", qos: 1 },
      ],
      ...(v5 ? { properties: { subscriptionIdentifier: 12, userProperties: { a: "b" } } } : {}),
    },
    { cmd: "unsubscribe", messageId: 4, unsubscriptions: ["fuzz/#"] },
  ];
  return packets.map((p) => mqttPacket.generate(p, { protocolVersion }));
}

/** One edit of a byte string. */
type Mutation =
  | { kind: "set"; at: number; byte: number }
  | { kind: "flip"; at: number; bit: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "remove"; at: number; count: number }
  | { kind: "cut"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant("remove" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
);

/** Applies the mutations in order (positions taken modulo the current length). */
function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    switch (m.kind) {
      case "set":
        out[at] = m.byte;
        break;
      case "flip":
        out[at] = out[at]! ^ (1 << m.bit);
        break;
      case "insert":
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case "remove":
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
        break;
      case "cut":
        out = out.subarray(0, at);
        break;
    }
  }
  return out;
}

/**
 * Sends `bytes` on a fresh MQTT socket, then a PINGREQ, and finishes the connection: the server either
 * closes it or answers the ping (so it has read everything before), then we close it.
 */
async function sendMqtt(version: 4 | 5, bytes: readonly Buffer[]): Promise<void> {
  const raw = await RawClient.open(s.srv.addresses.mqtt!, version);
  try {
    for (const b of bytes) raw.send(b);
    raw.send(Buffer.from([0xc0, 0x00]));
    // A mutated length may leave the server waiting for more bytes: our FIN ends that wait.
    raw.socket.end();
    await raw.waitClosed(5000);
  } finally {
    raw.destroy();
  }
}

describe("mutated MQTT packets", () => {
  for (const version of [4, 5] as const) {
    it(
      `MQTT ${version === 4 ? "3.1.1" : "5.0"}: a mutated packet, before or after a valid CONNECT, harms no one`,
      async () => {
        const valid = validPackets(version);
        const [connect, ...others] = valid as [Buffer, ...Buffer[]];
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 0, max: valid.length - 1 }),
            fc.array(mutation, { minLength: 1, maxLength: 4 }),
            fc.boolean(),
            async (which, mutations, connectFirst) => {
              const target = valid[which]!;
              const bad = mutate(target, mutations);
              await sendMqtt(version, connectFirst && which !== 0 ? [connect, bad] : [bad, ...others]);
              await s.canariesAlive();
            },
          ),
          { numRuns: RUNS },
        );
      },
      TIMEOUT_MS,
    );
  }

  it(
    "random bytes after a valid CONNECT harm no one",
    async () => {
      const connect = validPackets(5)[0]!;
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
          await sendMqtt(5, [connect, Buffer.from(bytes)]);
          await s.canariesAlive();
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});

const encoder = createMsgpackEncoder();
/** A plain msgpackr, for values the frame encoder would not write. */
const packr = new Packr({ useRecords: false });

/** A MessagePack array nested `depth` deep (fixarray of one element, `depth` times, then nil). */
function nested(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]);
}

/** A map32 header announcing `count` entries, followed by only `present` of them. */
function hugeMapHeader(count: number, present: number): Buffer {
  const header = Buffer.alloc(5);
  header[0] = 0xdf;
  header.writeUInt32BE(count, 1);
  const entries = Array.from({ length: present }, (_, i) => packr.pack(`k${i}`).toString("hex") + "01");
  return Buffer.concat([header, Buffer.from(entries.join(""), "hex")]);
}

/** A real map with 50,000 keys (about 490 KB). */
const HUGE_MAP = packr.pack(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i])));

/** Valid frames to mutate. */
const VALID_FRAMES: unknown[] = [
  { type: "hello", versions: [1, 2] },
  { type: "select", id: 1, selector: ">fuzz//" },
  { type: "add_topic", id: 2, path: "fuzz/t", specification: { type: "json" } },
  { type: "set", id: 3, path: "fuzz/t", valueType: "json", value: { a: 1 } },
  { type: "add_handler", id: 4, kind: "path", path: "fuzz/h", requestType: "json", responseType: "json" },
];

/** An SDK message: bytes, or text (a WebSocket text message). */
type SdkMessage = Uint8Array | string;

/** Large messages are reported by their kind and size, not byte by byte. */
function named(kind: string): (bytes: Buffer) => Buffer {
  return (bytes) => {
    if (bytes.length < 256) return bytes;
    const label = `${kind} (${bytes.length} bytes)`;
    return Object.assign(bytes, { [fc.toStringMethod]: () => label });
  };
}

const sdkMessage: fc.Arbitrary<SdkMessage> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.string({ maxLength: 64 }),
  fc.anything({ maxDepth: 4 }).map((v) => packr.pack(v)),
  fc
    .record({
      type: fc.constantFrom("hello", "set", "select", "add_topic", "request", "fetch", "lock", "nope"),
      id: fc.oneof(fc.nat(), fc.double(), fc.string()),
      path: fc.oneof(fc.string(), fc.constant("a/+/#\u0000"), fc.constant("$SYS/x")),
      value: fc.anything({ maxDepth: 3 }),
    })
    .map((v) => packr.pack(v)),
  fc.integer({ min: 1, max: 200_000 }).map((depth) => named("nested")(nested(depth))),
  fc.integer({ min: 0, max: 2000 }).map((n) => named("map32 header")(hugeMapHeader(0xffffffff, n))),
  fc.integer({ min: 0, max: 3 }).map(() => named("50,000-key map")(HUGE_MAP)),
  fc
    .tuple(
      fc.integer({ min: 0, max: VALID_FRAMES.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
    )
    .map(([i, m]) => new Uint8Array(mutate(Buffer.from(encoder.encode(VALID_FRAMES[i]!)), m))),
);

/** Opens the SDK door, optionally says hello, sends the messages, then closes (or sees the server close). */
async function sendSdk(hello: boolean, messages: readonly SdkMessage[]): Promise<void> {
  const ws = new WebSocket(s.sdkUrl);
  let closed = false;
  ws.on("close", () => (closed = true));
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  try {
    if (hello) ws.send(encoder.encode({ type: "hello", versions: [1, 2] }));
    for (const m of messages) if (!closed) ws.send(m);
    // The close handshake is answered after every message before it was handled.
    if (!closed) ws.close(1000);
    await waitFor(() => closed, "the SDK connection to close", 10_000);
  } finally {
    ws.terminate();
  }
}

describe("random SDK frames", () => {
  it(
    "random bytes, random MessagePack, deep nesting, huge maps and mutated frames harm no one",
    async () => {
      const errorsBefore = s.counter("sdk_invalid_frames_total");
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(sdkMessage, { minLength: 1, maxLength: 3 }),
          async (hello, messages) => {
            await sendSdk(hello, messages);
            await s.canariesAlive();
          },
        ),
        { numRuns: RUNS },
      );
      expect(s.counter("sdk_invalid_frames_total")).toBeGreaterThan(errorsBefore);
    },
    TIMEOUT_MS,
  );
});
