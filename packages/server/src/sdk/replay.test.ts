import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReplayBuffer } from "./replay.js";

describe("ReplayBuffer", () => {
  it("keeps the newest frames within the frame and byte bounds, numbered from 1 (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 10 }), { maxLength: 60 }),
        (maxFrames, maxBytes, sizes) => {
          const buffer = new ReplayBuffer(maxFrames, maxBytes);
          const frames = sizes.map((n, i) => new Uint8Array(n).fill(i % 256));
          frames.forEach((f, i) => expect(buffer.push(f)).toBe(i + 1));
          // Reference: the longest suffix within both bounds (at least one frame).
          let kept = 0;
          let bytes = 0;
          for (let i = frames.length - 1; i >= 0; i--) {
            const next = bytes + (frames[i] as Uint8Array).length;
            if (kept >= maxFrames || (kept > 0 && next > maxBytes)) break;
            kept++;
            bytes = next;
          }
          expect(buffer.oldest).toBe(frames.length - kept + 1);
          const from = frames.length - kept;
          expect(buffer.covers(from)).toBe(true);
          if (from > 0) expect(buffer.covers(from - 1)).toBe(false);
          expect(buffer.after(from)).toEqual(frames.slice(from));
          expect(buffer.after(frames.length)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("releases acknowledged frames and keeps the rest in order, growing up to its bound (property)", () => {
    type Op = { push: number } | { release: number };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(
          fc.oneof(
            fc.record({ push: fc.integer({ min: 1, max: 10 }) }),
            fc.record({ release: fc.integer({ min: 0, max: 100 }) }),
          ),
          { maxLength: 150 },
        ),
        (maxFrames, maxBytes, ops: Op[]) => {
          const buffer = new ReplayBuffer(maxFrames, maxBytes);
          // Reference model: the held frames with their numbers.
          let held: { n: number; frame: Uint8Array }[] = [];
          let last = 0;
          for (const op of ops) {
            if ("push" in op) {
              const frame = new Uint8Array(op.push).fill(last % 256);
              expect(buffer.push(frame)).toBe(++last);
              held.push({ n: last, frame });
              if (held.length > maxFrames) held.shift();
              while (held.length > 1 && held.reduce((a, h) => a + h.frame.length, 0) > maxBytes) held.shift();
            } else {
              const received = Math.min(op.release, last); // the server refuses acks beyond `last`
              buffer.release(received);
              held = held.filter((h) => h.n > received);
            }
            expect(buffer.size).toBe(held.length);
            expect(buffer.oldest).toBe(held[0]?.n ?? last + 1);
            const from = (held[0]?.n ?? last + 1) - 1;
            expect(buffer.covers(from)).toBe(true);
            expect(buffer.after(from)).toEqual(held.map((h) => h.frame));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
