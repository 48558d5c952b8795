import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { clientFrameSchema, serverFrameSchema } from "./frames.js";
import { MSGPACK_OPTIONS, checkClientFrame, checkServerFrame, createMsgpackEncoder } from "./codec.js";
import { type PageEvent, encodeTsPage, hotClientFrame, hotServerFrame, writeHotFrame } from "./hot-frames.js";
import { VALUE_TYPES } from "./topic-types.js";

const packr = new Packr(MSGPACK_OPTIONS);
const decode = (bytes: Uint8Array): unknown => packr.unpack(bytes);

/** The frame as it comes out of MessagePack: keys with undefined values dropped, bytes as Uint8Array. */
const bytesText = new TextDecoder("latin1");

function normal(value: unknown): unknown {
  // Bytes as one string: equal exactly when the bytes are, and compared at once (an element-wise
  // comparison of 64 KiB values took seconds on a loaded machine).
  if (value instanceof Uint8Array) return { $bytes: bytesText.decode(value) };
  if (Array.isArray(value)) return value.map(normal);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normal(v);
    return out;
  }
  return value;
}

// ---- arbitraries: valid frames, and frames with one thing wrong ---------------------------------
const id = fc.nat({ max: 0xffffffff });
const badId = fc.constantFrom(-1, 1.5, Number.NaN, Infinity, 2 ** 53, "1", null);
const path = fc.oneof(
  fc.stringMatching(/^[a-z0-9/_-]{1,40}$/),
  fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }),
);
const badPath = fc.constantFrom("", 7, null, "x".repeat(65536));
const valueType = fc.constantFrom(...VALUE_TYPES);
const badValueType = fc.constantFrom("time-series", "JSON", "", 3);
const BIG = new Uint8Array(70000).fill(9); // past bin16: the bin32 header
const bytes = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 20 },
  { arbitrary: fc.constant(BIG), weight: 1 },
);
const badBytes = fc.constantFrom("bytes", [1, 2], null, 5);
const timeout = fc.integer({ min: 1, max: 3_600_000 });
/** Sequences and timestamps span the safe integers: past 32 bits they are written as float64. */
const count = fc.oneof(fc.nat({ max: 0xffffffff }), fc.maxSafeNat());
const time = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 }), fc.maxSafeInteger());
const wireEvent = fc.record(
  { s: count, t: time, a: fc.string({ maxLength: 30 }), v: fc.uint8Array({ maxLength: 40 }), o: count },
  { requiredKeys: ["s", "t", "a", "v"] },
);
const badTimeout = fc.constantFrom(0, -5, 1.5, 3_600_001, "10");
const props = fc.dictionary(
  fc.string({ maxLength: 10 }).filter((k) => k !== "__proto__"),
  fc.string({ maxLength: 20 }),
  { maxKeys: 5 },
);

const validClient = fc.oneof(
  fc.record(
    {
      type: fc.constant("send_request"),
      id,
      path,
      requestType: valueType,
      responseType: valueType,
      value: bytes,
      timeoutMs: timeout,
    },
    { requiredKeys: ["type", "id", "path", "requestType", "responseType", "value"] },
  ),
  fc.record({ type: fc.constant("respond"), id, rid: id, value: bytes }),
  fc.record({ type: fc.constant("set"), id, path, valueType, value: bytes }),
  fc.record({ type: fc.constant("ping"), id }),
  fc.record({ type: fc.constant("ts_append"), id, path, valueType, value: bytes }),
  fc.record({ type: fc.constant("ts_edit"), id, path, valueType, originalSequence: count, value: bytes }),
);

const validServer = fc.oneof(
  fc.record(
    {
      type: fc.constant("result"),
      id,
      value: fc.oneof(
        bytes,
        fc.boolean(),
        id,
        fc.record({ sequence: count, timestamp: time, author: fc.string({ maxLength: 40 }) }),
        fc.record({
          events: fc.array(wireEvent, { maxLength: 20 }),
          selectedCount: count,
          isComplete: fc.boolean(),
          streamStructure: fc.constantFrom("VALUE_EVENT_STREAM", "EDIT_EVENT_STREAM"),
          eventType: valueType,
        }),
      ),
    },
    { requiredKeys: ["type", "id"] },
  ),
  fc.record({
    type: fc.constant("error"),
    id,
    code: fc.integer({ min: -1000, max: 100000 }),
    message: fc.string(),
  }),
  fc.record({ type: fc.constant("v"), t: id, v: bytes }),
  fc.record({ type: fc.constant("ts_page"), id, events: fc.array(wireEvent, { maxLength: 40 }) }),
  fc.record(
    {
      type: fc.constant("request"),
      rid: id,
      path,
      requestType: valueType,
      responseType: valueType,
      value: bytes,
      sessionId: fc.string({ maxLength: 64 }),
      properties: props,
      handler: fc.record({ kind: fc.constantFrom("path", "session"), path }),
    },
    { requiredKeys: ["type", "rid", "path", "requestType", "responseType", "value", "properties"] },
  ),
);

/** A valid frame with one field replaced by a bad value, or an unknown key added. */
function spoil(frame: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const bad: Record<string, fc.Arbitrary<unknown>> = {
    id: badId,
    rid: badId,
    t: badId,
    path: badPath,
    requestType: badValueType,
    responseType: badValueType,
    valueType: badValueType,
    value: badBytes,
    v: badBytes,
    timeoutMs: badTimeout,
    code: fc.constantFrom(1.5, "5"),
    message: fc.constantFrom(5, null),
    properties: fc.constantFrom(null, [], { a: 1 }, "x"),
    handler: fc.constantFrom(
      null,
      { kind: "x", path: "a" },
      { kind: "path" },
      { kind: "path", path: "a", z: 1 },
    ),
    sessionId: fc.constantFrom(5, null),
    originalSequence: fc.constantFrom(-1, 1.5, 2 ** 53, "3", null),
    events: fc.constantFrom(
      null,
      [{ s: 1, t: 2, a: "x" }],
      [{ s: -1, t: 2, a: "x", v: new Uint8Array(1) }],
      [{ s: 1, t: 2.5, a: "x", v: new Uint8Array(1) }],
      [{ s: 1, t: 2, a: 3, v: new Uint8Array(1) }],
      [{ s: 1, t: 2, a: "x", v: new Uint8Array(1), o: 1.5 }],
      [{ s: 1, t: 2, a: "x", v: new Uint8Array(1), z: 1 }],
      [{ s: 1, t: 2 ** 53, a: "x", v: "bytes" }],
    ),
  };
  return frame.chain((f) =>
    fc.oneof(
      fc
        .constantFrom(...Object.keys(f).filter((k) => k !== "type" && bad[k]))
        .chain((k) => (bad[k] as fc.Arbitrary<unknown>).map((v) => ({ ...f, [k]: v }))),
      fc.constantFrom("extra", "target", "constraint", "spec").map((k) => ({ ...f, [k]: { x: 1 } })),
    ),
  );
}

describe("hot frame checks agree with the zod schemas", () => {
  const sides = [
    { side: "client", valid: validClient, hot: hotClientFrame, schema: clientFrameSchema },
    { side: "server", valid: validServer, hot: hotServerFrame, schema: serverFrameSchema },
  ] as const;

  for (const { side, valid, hot, schema } of sides) {
    it(`accept every valid hot ${side} frame, as zod does`, () => {
      fc.assert(
        fc.property(valid, (frame) => {
          expect(hot(frame)).toBe(frame);
          expect(schema.safeParse(frame).success).toBe(true);
        }),
      );
    });

    it(`never accept a ${side} frame zod refuses (spoiled frames)`, () => {
      fc.assert(
        fc.property(spoil(valid), (frame) => {
          if (hot(frame) !== undefined) expect(schema.safeParse(frame).success).toBe(true);
        }),
        { numRuns: 2000 },
      );
    });
  }

  it("leave frames they do not cover to zod, which still reports the problem", () => {
    const withTarget = {
      type: "send_request",
      id: 1,
      path: "a",
      requestType: "binary",
      responseType: "binary",
      value: new Uint8Array(1),
      target: { sessionId: "s" },
    };
    expect(hotClientFrame(withTarget)).toBeUndefined();
    expect(checkClientFrame(withTarget).ok).toBe(true);
    const bad = { type: "respond", id: 1, rid: -1, value: new Uint8Array(1) };
    expect(hotClientFrame(bad)).toBeUndefined();
    const checked = checkClientFrame(bad);
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.problem).toContain("rid");
      expect(checked.id).toBe(1);
    }
    expect(checkServerFrame({ type: "result", id: 2, value: { hasMore: false, topics: [] } }).ok).toBe(true);
    expect(
      hotClientFrame(Object.assign(Object.create({ inherited: 1 }), { type: "ping", id: 1 })),
    ).toBeUndefined();
    expect(hotClientFrame(null)).toBeUndefined();
    expect(hotClientFrame([1])).toBeUndefined();
  });
});

describe("hot frame writer", () => {
  it("writes every valid hot frame as MessagePack that decodes to the frame", () => {
    fc.assert(
      fc.property(fc.oneof(validClient, validServer), (frame) => {
        const bytes = writeHotFrame(frame);
        expect(bytes).toBeDefined();
        expect(normal(decode(bytes as Uint8Array))).toEqual(normal(frame));
      }),
    );
  });

  it("writes the same bytes msgpackr would for ASCII frames in the same key order", () => {
    const frame = { type: "respond", id: 300, rid: 70000, value: new Uint8Array([1, 2, 3]) };
    expect(Buffer.from(writeHotFrame(frame) as Uint8Array)).toEqual(Buffer.from(packr.pack(frame)));
    const result = { type: "result", id: 5, value: true };
    expect(Buffer.from(writeHotFrame(result) as Uint8Array)).toEqual(Buffer.from(packr.pack(result)));
    const appended = {
      type: "result",
      id: 6,
      value: { sequence: 2 ** 40, timestamp: 1764678000000, author: "a" },
    };
    expect(Buffer.from(writeHotFrame(appended) as Uint8Array)).toEqual(Buffer.from(packr.pack(appended)));
    const event = { s: 70000, t: 1764678000000, a: "anonymous", v: new Uint8Array([1]) };
    for (const n of [0, 3, 16, 300, 70000]) {
      const events = Array.from({ length: n }, (_, i) => (i % 7 === 3 ? { ...event, o: i, t: -i } : event));
      const page = { type: "ts_page", id: 7, events };
      // Compared with equals(): toEqual on megabytes takes seconds.
      expect(Buffer.from(writeHotFrame(page) as Uint8Array).equals(packr.pack(page))).toBe(true);
      const answer = {
        type: "result",
        id: 8,
        value: {
          events,
          selectedCount: n * 2,
          isComplete: false,
          streamStructure: "EDIT_EVENT_STREAM",
          eventType: "json",
        },
      };
      expect(Buffer.from(writeHotFrame(answer) as Uint8Array).equals(packr.pack(answer))).toBe(true);
    }
  });

  it("writes a ts_page straight from the server's events as writeHotFrame writes its wire frame", () => {
    const wireOf = (e: PageEvent): Record<string, unknown> =>
      e.isEdit
        ? { s: e.sequence, t: e.timestamp, a: e.author, v: e.value, o: e.originalSequence }
        : { s: e.sequence, t: e.timestamp, a: e.author, v: e.value };
    const pageEvent = fc.tuple(wireEvent, fc.boolean()).map(([w, edit]): PageEvent => ({
      sequence: w.s,
      timestamp: w.t,
      author: w.a,
      value: w.v,
      isEdit: edit && w.o !== undefined,
      originalSequence: w.o ?? w.s,
    }));
    fc.assert(
      fc.property(id, fc.array(pageEvent, { maxLength: 40 }), fc.nat(5), (pageId, events, cut) => {
        const from = Math.min(cut, events.length);
        const hot = encodeTsPage(pageId, events, from, events.length);
        const frame = { type: "ts_page", id: pageId, events: events.slice(from).map(wireOf) };
        expect(Buffer.from(hot).equals(Buffer.from(writeHotFrame(frame) as Uint8Array))).toBe(true);
      }),
    );
    const big: PageEvent = {
      sequence: 2 ** 40,
      timestamp: -1,
      author: "a",
      value: new Uint8Array(300),
      isEdit: true,
      originalSequence: 2 ** 33,
    };
    const events = Array.from({ length: 70000 }, (_, i) => (i % 5 === 0 ? big : { ...big, isEdit: false }));
    const frame = { type: "ts_page", id: 1, events: events.map(wireOf) };
    expect(Buffer.from(encodeTsPage(1, events, 0, events.length)).equals(packr.pack(frame))).toBe(true);
    // Authors that repeat, change and come back (the writer reuses a repeated author's bytes).
    const authors = ["a", "a", "bé", "bé", "a", "c".repeat(40), "bé"];
    const mixed = authors.map((author, i): PageEvent => ({
      ...big,
      sequence: i,
      timestamp: 2 ** 33 + i,
      author,
    }));
    expect(
      Buffer.from(encodeTsPage(2, mixed, 0, mixed.length)).equals(
        Buffer.from(writeHotFrame({ type: "ts_page", id: 2, events: mixed.map(wireOf) }) as Uint8Array),
      ),
    ).toBe(true);
    expect(() => encodeTsPage(1, [{ ...big, sequence: 1.5 }], 0, 1)).toThrow(RangeError);
  });

  it("leaves undefined fields out, in both writers (plain MessagePack, no extension types)", () => {
    const encoder = createMsgpackEncoder();
    const hot = {
      type: "send_request",
      id: 1,
      path: "a",
      requestType: "binary",
      responseType: "binary",
      value: new Uint8Array(1),
      timeoutMs: undefined,
    };
    const cold = { ...hot, target: { sessionId: "s" } };
    for (const frame of [hot, cold]) {
      const bytes = encoder.encode(frame);
      expect(Buffer.from(bytes).includes(Buffer.from([0xd4, 0x00, 0x00]))).toBe(false);
      expect(Object.keys(decode(bytes) as object)).not.toContain("timeoutMs");
    }
  });

  it("leaves frames it does not cover to msgpackr", () => {
    expect(writeHotFrame({ type: "result", id: 1, value: { a: 1 } })).toBeUndefined();
    const answer = {
      events: [],
      selectedCount: 0,
      isComplete: true,
      streamStructure: "x",
      eventType: "json",
    };
    const { events, ...rest } = answer;
    expect(writeHotFrame({ type: "result", id: 1, value: { ...rest, events } })).toBeUndefined();
    expect(
      writeHotFrame({ type: "result", id: 1, value: { ...answer, events: [{ s: 1 }] } }),
    ).toBeUndefined();
    expect(writeHotFrame({ type: "result", id: -1 })).toBeUndefined();
    expect(writeHotFrame({ type: "result", id: 2 ** 40 })).toBeUndefined();
    expect(
      writeHotFrame({ type: "set", id: 1, path: "a", valueType: "json", value: new Uint8Array(1), spec: {} }),
    ).toBeUndefined();
    expect(writeHotFrame({ type: "welcome" })).toBeUndefined();
    const encoder = createMsgpackEncoder();
    const welcome = { type: "result", id: 1, value: { created: true } };
    expect(decode(encoder.encode(welcome))).toEqual(welcome);
  });

  it("never overwrites bytes it has handed out (frames outlive many later writes)", () => {
    const kept = Array.from({ length: 3000 }, (_, i) => ({
      frame: { type: "v", t: i, v: new Uint8Array(100).fill(i & 0xff) },
      bytes: new Uint8Array(0) as Uint8Array,
    }));
    for (const k of kept) k.bytes = writeHotFrame(k.frame) as Uint8Array;
    const big = { type: "v", t: 1, v: new Uint8Array(200_000).fill(7) };
    expect(normal(decode(writeHotFrame(big) as Uint8Array))).toEqual(normal(big));
    for (const k of kept) expect(normal(decode(k.bytes))).toEqual(normal(k.frame));
  });

  it("starts a new chunk for a frame that does not fit what is left (big values after small ones)", () => {
    for (let i = 0; i < 20; i++) {
      writeHotFrame({ type: "v", t: i, v: new Uint8Array(200) });
      const big = { type: "result", id: 65536, value: new Uint8Array(65536 + i).fill(9) };
      expect(normal(decode(writeHotFrame(big) as Uint8Array))).toEqual(normal(big));
    }
  });

  it("writes non-ASCII strings as UTF-8", () => {
    const frame = {
      type: "request",
      rid: 1,
      path: "zürich/温度/🙂",
      requestType: "string",
      responseType: "json",
      value: new Uint8Array(0),
      properties: { ключ: "значение" },
    };
    expect(normal(decode(writeHotFrame(frame) as Uint8Array))).toEqual(normal(frame));
  });
});
