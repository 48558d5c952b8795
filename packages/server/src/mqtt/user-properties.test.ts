import { describe, expect, it } from "vitest";
import { orderOf, rememberOrder } from "./user-properties.js";

describe("User Property order", () => {
  it("remembers the pairs only when names interleave (the object keeps adjacent ones in order)", () => {
    const adjacent = {};
    rememberOrder(adjacent, [
      ["a", "1"],
      ["a", "2"],
      ["b", "3"],
    ]);
    expect(orderOf(adjacent)).toBeUndefined();
    const interleaved = {};
    const pairs: [string, string][] = [
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ];
    rememberOrder(interleaved, pairs);
    expect(orderOf(interleaved)).toEqual(pairs);
    expect(orderOf(undefined)).toBeUndefined();
  });
});
