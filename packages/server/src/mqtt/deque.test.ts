import { describe, expect, it } from "vitest";
import { Deque } from "./deque.js";

describe("Deque", () => {
  it("keeps FIFO order across growth and wrap-around", () => {
    const q = new Deque<number>();
    const model: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the ring wraps while it grows and shrinks.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < (round % 7) + 3; i++) {
        q.push(next);
        model.push(next++);
      }
      for (let i = 0; i < (round % 5) + 1; i++) expect(q.shift()).toBe(model.shift());
      expect(q.length).toBe(model.length);
      expect(q.peek()).toBe(model[0]);
    }
    expect([...q]).toEqual(model);
    while (model.length > 0) expect(q.shift()).toBe(model.shift());
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });

  it("clear empties it", () => {
    const q = new Deque<string>();
    for (let i = 0; i < 3000; i++) q.push(String(i));
    q.clear();
    expect(q.length).toBe(0);
    q.push("a");
    expect([...q]).toEqual(["a"]);
  });
});
