/**
 * The router's table of pending requests (issue 12 item 18) against a `Map`: random sequences of
 * requests and answers (fast-check), with growth, stray and stale ids, and deletion while visiting.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PendingRequests } from "./pending-requests.js";

interface Entry {
  requestId: number;
}

type Op = { kind: "send" } | { kind: "answer"; pick: number } | { kind: "stray"; id: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: "send" as const }) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: "answer" as const, pick })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.integer({ min: -5, max: 2000 }), fc.double({ noNaN: false }))
      .map((id) => ({ kind: "stray" as const, id })),
  },
);

describe("PendingRequests", () => {
  it("behaves as a Map of ids never used before", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const table = new PendingRequests<Entry>(4);
        const model = new Map<number, Entry>();
        const used = new Set<number>();
        for (const o of ops) {
          if (o.kind === "send") {
            const requestId = table.allocate();
            expect(used.has(requestId)).toBe(false);
            used.add(requestId);
            const entry = { requestId };
            table.add(entry);
            model.set(requestId, entry);
          } else if (o.kind === "answer") {
            const ids = [...model.keys()];
            if (ids.length === 0) continue;
            const id = ids[o.pick % ids.length] as number;
            expect(table.delete(table.get(id) as Entry)).toBe(true);
            model.delete(id);
            expect(table.get(id)).toBeUndefined(); // a late answer finds nothing
          } else {
            expect(table.get(o.id)).toBe(model.get(o.id));
          }
          expect(table.size).toBe(model.size);
        }
        const seen: Entry[] = [];
        table.forEach((e) => {
          seen.push(e);
          table.delete(e);
        });
        expect(new Set(seen)).toEqual(new Set(model.values()));
        expect(table.size).toBe(0);
      }),
    );
  });
});
