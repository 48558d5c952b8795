import { SkeinError } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { type InputValueOf, type ValueType, checkValueType, decodeValue, encodeValue } from "./values.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SkeinError);
    return (err as SkeinError).code;
  }
  throw new Error("expected a SkeinError");
}

describe("typed values", () => {
  it.each<[ValueType, unknown, Uint8Array]>([
    ["json", { a: [1, "x", null] }, text('{"a":[1,"x",null]}')],
    ["json", "s", text('"s"')],
    ["string", "héllo", text("héllo")],
    ["int64", -9223372036854775808n, text("-9223372036854775808")],
    ["double", 2.5, text("2.5")],
    ["binary", Uint8Array.of(0, 255), Uint8Array.of(0, 255)],
  ])("%s %o encodes to its bytes and decodes back", (type, value, bytes) => {
    expect(encodeValue(type, value as InputValueOf[typeof type])).toEqual(bytes);
    expect(decodeValue(type, bytes)).toEqual(value);
  });

  it("decodes int64 as bigint and double as number", () => {
    expect(typeof decodeValue("int64", text("42"))).toBe("bigint");
    expect(typeof decodeValue("double", text("42"))).toBe("number");
  });

  it.each<[ValueType, unknown]>([
    ["int64", 1],
    ["int64", 2n ** 63n],
    ["double", 1n],
    ["string", 5],
    ["binary", "bytes"],
    ["json", undefined],
    ["json", () => 1],
  ])("refuses %s %o with INVALID_ARGUMENT", (type, value) => {
    expect(codeOf(() => encodeValue(type, value as never))).toBe("INVALID_ARGUMENT");
  });

  it("refuses bytes that are no value of the type with PAYLOAD_INVALID", () => {
    expect(codeOf(() => decodeValue("int64", text("1.5")))).toBe("PAYLOAD_INVALID");
    expect(codeOf(() => decodeValue("json", text("{")))).toBe("PAYLOAD_INVALID");
    expect(codeOf(() => decodeValue("string", Uint8Array.of(0xff)))).toBe("PAYLOAD_INVALID");
  });

  it("checks value type names", () => {
    expect(checkValueType("double")).toBe("double");
    expect(codeOf(() => checkValueType("time-series"))).toBe("INVALID_ARGUMENT");
  });
});
