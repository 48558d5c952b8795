/**
 * The packet-id tables of a session (issue 12 item 18) against simple models: a `Map` in insertion
 * order for the in-flight window, a `Set` for the ids a client holds. Random operation sequences
 * (fast-check) cover allocation, wrap-around past 65535, a full window, growth, release and the
 * re-send order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InflightWindow, PacketIdSet } from "./inflight.js";

type WindowOp =
  | { kind: "add" }
  | { kind: "ack"; pick: number }
  | { kind: "release"; pick: number }
  | { kind: "stray"; id: number }
  | { kind: "grow"; limit: number };

const windowOp: fc.Arbitrary<WindowOp> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "add" as const }) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: "ack" as const, pick })) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: "release" as const, pick })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }).map((id) => ({ kind: "stray" as const, id })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 40 }).map((limit) => ({ kind: "grow" as const, limit })),
  },
);

describe("InflightWindow", () => {
  it("behaves as a Map of unused ids in send order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(windowOp, { maxLength: 300 }), (first, ops) => {
        let limit = first;
        const window = new InflightWindow<string>(limit);
        const model = new Map<number, { message: string; released: boolean }>();
        let n = 0;
        for (const op of ops) {
          const held = [...model.keys()];
          switch (op.kind) {
            case "add": {
              if (model.size >= limit) break; // the session never exceeds its limit
              const message = `m${n++}`;
              const id = window.add(message);
              expect(id).toBeGreaterThanOrEqual(1);
              expect(id).toBeLessThanOrEqual(65535);
              expect(model.has(id)).toBe(false); // [MQTT-2.2.1-3]
              model.set(id, { message, released: false });
              break;
            }
            case "ack": {
              if (held.length === 0) break;
              const id = held[op.pick % held.length] as number;
              expect(window.delete(id)).toBe(true);
              model.delete(id);
              break;
            }
            case "release": {
              if (held.length === 0) break;
              const id = held[op.pick % held.length] as number;
              expect(window.release(id)).toBe(true);
              (model.get(id) as { released: boolean }).released = true;
              break;
            }
            case "stray":
              expect(window.has(op.id)).toBe(model.has(op.id));
              if (!model.has(op.id)) {
                expect(window.delete(op.id)).toBe(false);
                expect(window.release(op.id)).toBe(false);
              }
              break;
            case "grow":
              limit = Math.max(limit, op.limit);
              window.ensureCapacity(limit);
              break;
          }
          expect(window.size).toBe(model.size);
        }
        expect(window.idsInSendOrder()).toEqual([...model.keys()]);
        for (const [id, entry] of model) {
          expect(window.get(id)).toBe(entry.message);
          expect(window.released(id)).toBe(entry.released);
        }
      }),
    );
  });

  it("wraps past 65535 without using 0 and keeps send order across the wrap", () => {
    const window = new InflightWindow<number>(4);
    const held: number[] = [];
    let zeros = 0;
    let lost = 0;
    for (let i = 0; i < 70_000; i++) {
      const id = window.add(i);
      if (id === 0) zeros++;
      held.push(id);
      // Keep three in flight, the oldest never acknowledged: ids must skip its busy slot.
      if (held.length === 4 && !window.delete(held.splice(1, 1)[0] as number)) lost++;
    }
    expect([zeros, lost]).toEqual([0, 0]);
    expect(window.idsInSendOrder()).toEqual(held);
    expect(window.get(held[0] as number)).toBe(0);
  });

  it("fills a window of 65535 with every id once", () => {
    const window = new InflightWindow<number>(65_535);
    const seen = new Set<number>();
    for (let i = 0; i < 65_535; i++) seen.add(window.add(i));
    expect(seen.size).toBe(65_535);
    expect(seen.has(0)).toBe(false);
    expect(() => window.add(-1)).toThrow();
    expect(window.delete(300)).toBe(true);
    expect(window.add(-1)).toBe(300);
  });

  it("refuses to add past its capacity", () => {
    const window = new InflightWindow<number>(3);
    for (let i = 0; i < 4; i++) window.add(i);
    expect(() => window.add(4)).toThrow();
  });
});

type SetOp = { kind: "add" | "delete" | "has"; id: number };

/** Ids as clients pick them: mostly near each other, some anywhere, some in steps of a power of two. */
const clientId = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 1, max: 65535 }),
  fc.integer({ min: 1, max: 511 }).map((k) => k * 128),
);

describe("PacketIdSet", () => {
  it("behaves as a Set", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ kind: fc.constantFrom<SetOp["kind"]>("add", "add", "delete", "has"), id: clientId }),
          { maxLength: 500 },
        ),
        (ops) => {
          const set = new PacketIdSet();
          const model = new Set<number>();
          for (const op of ops) {
            if (op.kind === "add") {
              expect(set.add(op.id)).toBe(!model.has(op.id));
              model.add(op.id);
            } else if (op.kind === "delete") {
              expect(set.delete(op.id)).toBe(model.delete(op.id));
            } else {
              expect(set.has(op.id)).toBe(model.has(op.id));
            }
            expect(set.size).toBe(model.size);
          }
          for (const id of model) expect(set.has(id)).toBe(true);
        },
      ),
    );
  });

  it("holds every id once it grows past its table into a bitmap, and empties again", () => {
    const set = new PacketIdSet();
    let refused = 0;
    for (let id = 1; id <= 65535; id++) if (!set.add(id)) refused++;
    expect(set.size).toBe(65535);
    expect(set.has(0)).toBe(false);
    for (let id = 1; id <= 65535; id += 2) if (!set.delete(id)) refused++;
    expect(refused).toBe(0);
    expect(set.has(1)).toBe(false);
    expect(set.has(2)).toBe(true);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.has(2)).toBe(false);
    expect(set.add(2)).toBe(true);
    expect(set.has(2)).toBe(true);
  });
});
