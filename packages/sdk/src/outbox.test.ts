import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Outbox, ReceivedCounter } from "./outbox.js";

const b = (n: number) => Uint8Array.of(n);

describe("Outbox", () => {
  it("numbers frames 1, 2, 3 … and keeps them until processed", () => {
    const outbox = new Outbox();
    expect([10, 11, 12].map((id) => outbox.add(id, b(id)).seq)).toEqual([1, 2, 3]);
    outbox.processedId(11);
    expect(outbox.unprocessed().map((e) => e.seq)).toEqual([1, 3]);
    outbox.processedUpTo(1);
    expect(outbox.unprocessed().map((e) => e.id)).toEqual([12]);
    expect(outbox.nextSeq).toBe(4);
  });

  it("re-sends exactly the frames numbered above welcome.processed, in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 60 }),
        fc.array(fc.integer({ min: 1, max: 50 })),
        (count, processed, answered) => {
          const outbox = new Outbox();
          for (let id = 1; id <= count; id++) outbox.add(id, b(id));
          for (const id of answered) outbox.processedId(id);
          outbox.processedUpTo(processed);
          const expected = Array.from({ length: count }, (_, i) => i + 1).filter(
            (seq) => seq > processed && !answered.includes(seq),
          );
          expect(outbox.unprocessed().map((e) => e.seq)).toEqual(expected);
          expect(outbox.size).toBe(expected.length);
        },
      ),
    );
  });

  it("is bounded: RATE_LIMITED past its capacity, room again once processed", () => {
    const outbox = new Outbox(2);
    outbox.add(1, b(1));
    outbox.add(2, b(2));
    expect(() => outbox.add(3, b(3))).toThrow(expect.objectContaining({ code: "RATE_LIMITED" }));
    outbox.processedId(1);
    expect(outbox.add(3, b(3)).seq).toBe(3);
  });

  it("reset forgets every frame, numbers from 1 and returns the ids forgotten", () => {
    const outbox = new Outbox();
    outbox.add(7, b(7));
    outbox.add(8, b(8));
    expect(outbox.reset()).toEqual([7, 8]);
    expect(outbox.size).toBe(0);
    expect(outbox.add(9, b(9)).seq).toBe(1);
  });
});

describe("ReceivedCounter", () => {
  it("counts every server frame but welcome and goodbye", () => {
    const counter = new ReceivedCounter();
    for (const type of ["welcome", "result", "v", "topic", "goodbye", "error", "untopic"])
      counter.countFrame(type);
    expect(counter.received).toBe(5);
    counter.reset();
    expect(counter.received).toBe(0);
  });
});
