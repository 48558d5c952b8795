import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SmallMap } from "./small-map.js";

describe("SmallMap", () => {
  it("behaves as a Map over any sequence of sets, deletes and clears (property)", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("set" as const),
        key: fc.integer({ min: 0, max: 3 }),
        value: fc.integer(),
      }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40, size: "max" }), (ops) => {
        const small = new SmallMap<number, number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === "set") {
            small.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.kind === "delete") {
            expect(small.delete(o.key)).toBe(model.delete(o.key));
          } else {
            small.clear();
            model.clear();
          }
          expect(small.size).toBe(model.size);
          for (const k of [0, 1, 2, 3]) {
            expect(small.has(k)).toBe(model.has(k));
            expect(small.get(k)).toBe(model.get(k));
          }
          expect(new Set(small.values())).toEqual(new Set(model.values()));
          expect(new Set(small.keys())).toEqual(new Set(model.keys()));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("holds an entry whose value is undefined", () => {
    const m = new SmallMap<string, undefined>();
    m.set("a", undefined);
    expect(m.has("a")).toBe(true);
    expect(m.size).toBe(1);
    expect([...m.keys()]).toEqual(["a"]);
  });
});
