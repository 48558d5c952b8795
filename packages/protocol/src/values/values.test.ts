import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SkeinError } from "../errors.js";
import { VALUE_TYPES, type ValueType } from "../topic-types.js";
import {
  type JsonValue,
  type ValueCodec,
  VALUE_CODECS,
  binaryCodec,
  codecFor,
  doubleCodec,
  int64Codec,
  jsonCodec,
  stringCodec,
  utf8Decode,
  utf8Encode,
} from "./index.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

function payloadInvalid(fn: () => unknown): SkeinError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SkeinError);
    expect((err as SkeinError).code).toBe("PAYLOAD_INVALID");
    return err as SkeinError;
  }
  throw new Error("expected PAYLOAD_INVALID");
}

/** A codec with its value type erased, so one table can hold every type. */
type AnyCodec = ValueCodec<unknown>;
const erase = <T>(codec: ValueCodec<T>): AnyCodec => codec as unknown as AnyCodec;

describe("round trips: toBytes(value) is the bytes, fromBytes(bytes) is the value", () => {
  it.each<[string, AnyCodec, unknown, Uint8Array]>([
    ["json object", erase(jsonCodec), { a: [1, "x", null, true] }, text('{"a":[1,"x",null,true]}')],
    ["json string", erase(jsonCodec), "é", text('"é"')],
    ["json number", erase(jsonCodec), -1.5, text("-1.5")],
    ["json null", erase(jsonCodec), null, text("null")],
    ["json false", erase(jsonCodec), false, text("false")],
    ["json empty array", erase(jsonCodec), [], text("[]")],
    ["string", erase(stringCodec), "héllo 😀", text("héllo 😀")],
    ["empty string", erase(stringCodec), "", bytes()],
    ["string with BOM", erase(stringCodec), "\ufeffx", bytes(0xef, 0xbb, 0xbf, 0x78)], // BOM kept
    ["binary", erase(binaryCodec), bytes(0, 255, 0x80), bytes(0, 255, 0x80)],
    ["empty binary", erase(binaryCodec), bytes(), bytes()],
    ["int64 0", erase(int64Codec), 0n, text("0")],
    ["int64 negative", erase(int64Codec), -42n, text("-42")],
    ["int64 max", erase(int64Codec), 2n ** 63n - 1n, text("9223372036854775807")],
    ["int64 min", erase(int64Codec), -(2n ** 63n), text("-9223372036854775808")],
    ["double", erase(doubleCodec), 1.5, text("1.5")],
    ["double integer", erase(doubleCodec), 3, text("3")],
    ["double exponent", erase(doubleCodec), 1e21, text("1e+21")],
    ["double small", erase(doubleCodec), 5e-324, text("5e-324")],
    ["double -0", erase(doubleCodec), -0, text("-0")],
    ["double Infinity", erase(doubleCodec), Infinity, text("Infinity")],
    ["double -Infinity", erase(doubleCodec), -Infinity, text("-Infinity")],
    ["double NaN", erase(doubleCodec), NaN, text("NaN")],
  ])("%s", (_name, codec, value, encoded) => {
    expect(codec.isValue(value)).toBe(true);
    expect(codec.toBytes(value)).toEqual(encoded);
    expect(codec.fromBytes(encoded)).toEqual(value);
  });
});

describe("lenient reading", () => {
  it.each<[string, AnyCodec, Uint8Array, unknown]>([
    ["json with whitespace", erase(jsonCodec), text(' { "a" : 1 } '), { a: 1 }],
    ["int64 with spaces", erase(int64Codec), text(" 7\n"), 7n],
    ["int64 with plus", erase(int64Codec), text("+7"), 7n],
    ["int64 leading zeros", erase(int64Codec), text("007"), 7n],
    ["double with spaces", erase(doubleCodec), text(" 2.5 "), 2.5],
    ["double leading dot", erase(doubleCodec), text(".5"), 0.5],
    ["double trailing dot", erase(doubleCodec), text("5."), 5],
    ["double exponent", erase(doubleCodec), text("1E3"), 1000],
    ["double plus", erase(doubleCodec), text("+1.5e-3"), 0.0015],
    ["double from integer text", erase(doubleCodec), text("42"), 42],
  ])("%s", (_name, codec, encoded, value) => {
    expect(codec.fromBytes(encoded)).toEqual(value);
  });
});

describe("malformed payloads are PAYLOAD_INVALID", () => {
  it.each<[string, AnyCodec, Uint8Array, string]>([
    ["string: invalid UTF-8", erase(stringCodec), bytes(0xc3, 0x28), "UTF-8"],
    ["string: lone continuation byte", erase(stringCodec), bytes(0x80), "UTF-8"],
    ["string: encoded surrogate", erase(stringCodec), bytes(0xed, 0xa0, 0x80), "UTF-8"],
    ["string: overlong encoding", erase(stringCodec), bytes(0xc0, 0xaf), "UTF-8"],
    ["string: truncated sequence", erase(stringCodec), bytes(0xe2, 0x82), "UTF-8"],
    ["json: invalid UTF-8", erase(jsonCodec), bytes(0x22, 0xff, 0x22), "UTF-8"],
    ["json: bad JSON", erase(jsonCodec), text("{a:1}"), "JSON"],
    ["json: empty", erase(jsonCodec), bytes(), "JSON"],
    ["json: trailing garbage", erase(jsonCodec), text("1 2"), "JSON"],
    ["json: NaN", erase(jsonCodec), text("NaN"), "JSON"],
    ["int64: above range", erase(int64Codec), text("9223372036854775808"), "int64 range"],
    ["int64: below range", erase(int64Codec), text("-9223372036854775809"), "int64 range"],
    ["int64: 21 digits", erase(int64Codec), text("100000000000000000000"), "decimal integer"],
    ["int64: fraction", erase(int64Codec), text("1.5"), "decimal integer"],
    ["int64: exponent", erase(int64Codec), text("1e3"), "decimal integer"],
    ["int64: hex", erase(int64Codec), text("0x10"), "decimal integer"],
    ["int64: empty", erase(int64Codec), bytes(), "decimal integer"],
    ["int64: letters", erase(int64Codec), text("abc"), "decimal integer"],
    ["int64: invalid UTF-8", erase(int64Codec), bytes(0xff), "UTF-8"],
    ["double: letters", erase(doubleCodec), text("abc"), "decimal number"],
    ["double: empty", erase(doubleCodec), bytes(), "decimal number"],
    ["double: hex", erase(doubleCodec), text("0x10"), "decimal number"],
    ["double: two dots", erase(doubleCodec), text("1.2.3"), "decimal number"],
    ["double: lone sign", erase(doubleCodec), text("-"), "decimal number"],
    ["double: lowercase infinity", erase(doubleCodec), text("infinity"), "decimal number"],
    ["double: invalid UTF-8", erase(doubleCodec), bytes(0xff), "UTF-8"],
  ])("%s", (_name, codec, encoded, message) => {
    expect(payloadInvalid(() => codec.fromBytes(encoded)).message).toContain(message);
  });
});

describe("isValue", () => {
  it.each<[ValueType, unknown, boolean]>([
    ["json", { a: 1 }, true],
    ["json", undefined, false],
    ["json", () => 1, false],
    ["json", 1n, false], // JSON.stringify throws on bigint
    ["string", "x", true],
    ["string", 1, false],
    ["binary", bytes(1), true],
    ["binary", [1], false],
    ["int64", 1n, true],
    ["int64", 2n ** 63n, false],
    ["int64", -(2n ** 63n) - 1n, false],
    ["int64", 1, false],
    ["double", 1, true],
    ["double", NaN, true],
    ["double", 1n, false],
  ])("%s accepts %o: %s", (type, value, expected) => {
    expect(codecFor(type).isValue(value)).toBe(expected);
  });

  it("has a codec for every value type", () => {
    expect(Object.keys(VALUE_CODECS).sort()).toEqual([...VALUE_TYPES].sort());
    for (const type of VALUE_TYPES) expect(codecFor(type)).toBe(VALUE_CODECS[type]);
  });

  it("announces UTF-8 for every text type and not for binary", () => {
    expect(binaryCodec.utf8).toBe(false);
    expect(binaryCodec.contentType).toBeUndefined();
    for (const codec of [jsonCodec, stringCodec, int64Codec, doubleCodec]) expect(codec.utf8).toBe(true);
    expect(jsonCodec.contentType).toBe("application/json");
  });
});

describe("utf8", () => {
  it("encodes lone surrogates as U+FFFD (lossy) and decodes strictly", () => {
    expect(utf8Encode("\ud800")).toEqual(bytes(0xef, 0xbf, 0xbd));
    expect(() => utf8Decode(bytes(0xff), "topic name")).toThrow(/topic name is not valid UTF-8/);
  });
});

describe("properties", () => {
  const arbitraries: { [T in ValueType]: fc.Arbitrary<unknown> } = {
    // JSON text cannot carry -0: JSON.stringify(-0) is "0".
    json: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as JsonValue),
    string: fc.string({ unit: "binary" }),
    binary: fc.uint8Array(),
    int64: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    double: fc.double(),
  };

  it.each([...VALUE_TYPES])("%s: fromBytes(toBytes(v)) equals v", (type) => {
    const codec = codecFor(type) as unknown as AnyCodec;
    fc.assert(
      fc.property(arbitraries[type], (value) => {
        expect(codec.isValue(value)).toBe(true);
        expect(codec.fromBytes(codec.toBytes(value))).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it.each([...VALUE_TYPES])("%s: fromBytes on random bytes throws only PAYLOAD_INVALID", (type) => {
    const codec = codecFor(type) as unknown as AnyCodec;
    const numeric = fc.string({ unit: fc.constantFrom(..."0123456789+-.eE InfinityNaN") }).map(text);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), numeric), (payload) => {
        try {
          codec.fromBytes(payload);
        } catch (err) {
          expect(err).toBeInstanceOf(SkeinError);
          expect((err as SkeinError).code).toBe("PAYLOAD_INVALID");
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("UTF-8 at the edges of the short-ASCII fast paths", () => {
  it("round-trips ASCII and non-ASCII strings around the fast paths' length, and refuses bad bytes", () => {
    for (const n of [0, 1, 31, 32, 33, 100]) {
      for (const s of ["a".repeat(n), "é".repeat(n), `${"a".repeat(n)}\u{1F642}`, `\uFEFF${"b".repeat(n)}`]) {
        const bytes = utf8Encode(s);
        expect(Buffer.from(bytes).equals(Buffer.from(s, "utf8"))).toBe(true);
        expect(utf8Decode(bytes)).toBe(s);
      }
    }
    expect(() => utf8Decode(new Uint8Array([0x61, 0xff]))).toThrow(/not valid UTF-8/);
    expect(() => utf8Decode(new Uint8Array([0xc3]))).toThrow(/not valid UTF-8/);
  });
});
