import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyDelta, computeDelta, deltaPays } from "./delta.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("byte deltas", () => {
  it.each<[string, string, number, number, string]>([
    ["equal", "abc", 3, 0, ""],
    ["one field changed", '{"a":1,"b":2}', 5, 1, "7"],
    ["appended", "abc", 3, 0, "def"],
    ["prepended", "abc", 0, 0, "x"],
    ["from empty", "", 0, 0, "xyz"],
    ["to empty", "xyz", 0, 3, ""],
    ["repeated bytes", "aaaa", 4, 0, "a"],
  ])("%s", (_name, from, start, deleteCount, insert) => {
    const to = new TextDecoder().decode(applyDelta(text(from), { start, deleteCount, insert: text(insert) }));
    const delta = computeDelta(text(from), text(to));
    expect(delta).toEqual({ start, deleteCount, insert: text(insert) });
  });

  it("applyDelta(from, computeDelta(from, to)) is to", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (from, to) => {
        const delta = computeDelta(from, to);
        expect(applyDelta(from, delta)).toEqual(to);
        expect(delta.start + delta.deleteCount).toBeLessThanOrEqual(from.length);
      }),
    );
  });

  it("pays only when the inserted bytes are well below the value's size", () => {
    const big = new Uint8Array(1000);
    expect(deltaPays({ start: 10, deleteCount: 1, insert: Uint8Array.of(1) }, big)).toBe(true);
    expect(deltaPays({ start: 0, deleteCount: 3, insert: text("abc") }, text("abc"))).toBe(false);
  });
});
