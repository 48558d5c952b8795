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
});
