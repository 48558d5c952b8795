/** The test clock itself: timers fire only through advance, in due order, at their own due time. */
import { describe, expect, it } from "vitest";
import { FakeClock } from "./fake-clock.js";

describe("FakeClock", () => {
  it("fires due timers in time order (ties in the order set), each at its own due time", () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    const at = (name: string) => () => fired.push(`${name}@${clock.now()}`);
    clock.setTimeout(at("c"), 30);
    clock.setTimeout(at("a"), 10);
    clock.setTimeout(at("b1"), 20);
    clock.setTimeout(at("b2"), 20);
    clock.advance(19);
    expect(fired).toEqual(["a@1010"]);
    expect(clock.now()).toBe(1019);
    clock.advance(100);
    expect(fired).toEqual(["a@1010", "b1@1020", "b2@1020", "c@1030"]);
    expect(clock.now()).toBe(1119);
    expect(clock.armed()).toBe(0);
  });

  it("fires timers armed by a firing timer within the same step, and not cleared ones", () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimeout(tick, 50);
    };
    clock.setTimeout(tick, 50);
    const cleared = clock.setTimeout(() => fired.push(-1), 60);
    clock.clearTimeout(cleared);
    clock.advance(175);
    expect(fired).toEqual([50, 100, 150]);
    expect(clock.armed(50)).toBe(1);
    expect(cleared.unref?.()).toBe(cleared); // Node-like handles: unref is there and harmless
  });
});
