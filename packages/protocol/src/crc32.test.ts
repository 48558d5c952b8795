import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("crc32", () => {
  it.each<[string, Uint8Array, number]>([
    ["empty", new Uint8Array(0), 0],
    ["check value 123456789", text("123456789"), 0xcbf43926],
    ["one zero byte", Uint8Array.of(0), 0xd202ef8d],
    ["quick brown fox", text("The quick brown fox jumps over the lazy dog"), 0x414fa339],
  ])("%s", (_name, bytes, expected) => {
    expect(crc32(bytes)).toBe(expected);
  });

  it("equals node:zlib crc32 on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        expect(crc32(bytes)).toBe(zlibCrc32(bytes));
      }),
    );
  });

  it("is incremental like zlib: crc32(b, crc32(a)) = crc32(a + b)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ maxLength: 512 }), (a, b) => {
        const ab = new Uint8Array(a.length + b.length);
        ab.set(a);
        ab.set(b, a.length);
        expect(crc32(b, crc32(a))).toBe(crc32(ab));
        expect(crc32(b, crc32(a))).toBe(zlibCrc32(b, zlibCrc32(a)));
      }),
    );
  });
});
