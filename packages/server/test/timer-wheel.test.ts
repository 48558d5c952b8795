/**
 * The timer wheel (issue 11) against a simple reference model: every scheduled entry runs exactly once
 * unless cancelled or rescheduled, never before its due time, and at most `spacingMs` after it (the
 * wheel wakes at most once per spacing); with a quiet wheel, exactly at its due time.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TimerWheel, type WheelEntry } from "../src/core/timer-wheel.js";
import { FakeClock } from "./fake-clock.js";

class Entry implements WheelEntry {
  wheelAt = NaN;
  fired: number[] = [];
  constructor(readonly name: number) {}
  wheelDue(now: number): void {
    this.fired.push(now);
  }
}

describe("TimerWheel", () => {
  it("runs an entry exactly at its due time when nothing else is due, on one clock timer", () => {
    const clock = new FakeClock(1_000_000);
    const wheel = new TimerWheel<Entry>(clock, 1000, 100);
    const a = new Entry(1);
    const b = new Entry(2);
    wheel.schedule(a, clock.now() + 1500);
    wheel.schedule(b, clock.now() + 90_000);
    expect(clock.armed()).toBe(1);
    clock.advance(1499);
    expect(a.fired).toEqual([]);
    clock.advance(1);
    expect(a.fired).toEqual([1_001_500]);
    clock.advance(88_499);
    expect(b.fired).toEqual([]);
    clock.advance(1);
    expect(b.fired).toEqual([1_090_000]);
    expect(wheel.size).toBe(0);
    expect(clock.armed()).toBe(0);
  });

  it("forgets a cancelled entry and moves a rescheduled one, and disarms when empty", () => {
    const clock = new FakeClock(0);
    const wheel = new TimerWheel<Entry>(clock, 1000, 100);
    const a = new Entry(1);
    wheel.schedule(a, 500);
    wheel.cancel(a);
    expect(clock.armed()).toBe(0);
    wheel.schedule(a, 700);
    wheel.schedule(a, 2_000_000); // more than one turn of the wheel away
    clock.advance(1_999_999);
    expect(a.fired).toEqual([]);
    clock.advance(1);
    expect(a.fired).toEqual([2_000_000]);
  });

  it("runs an entry not yet due in the current slot on time when one that ran scheduled itself later", () => {
    const clock = new FakeClock(0);
    const wheel = new TimerWheel<WheelEntry>(clock, 1000, 100);
    const b = new Entry(2);
    const a: WheelEntry = {
      wheelAt: NaN,
      wheelDue: (now) => wheel.schedule(a, now + 30_000),
    };
    wheel.schedule(a, 200);
    wheel.schedule(b, 400); // same slot, due after a has run and rescheduled itself
    clock.advance(400);
    expect(b.fired).toEqual([400]);
  });

  it("lets an entry schedule itself again when it runs (a keep alive pushed back by traffic)", () => {
    const clock = new FakeClock(0);
    const wheel = new TimerWheel<WheelEntry>(clock, 1000, 100);
    const runs: number[] = [];
    const entry: WheelEntry = {
      wheelAt: NaN,
      wheelDue(now) {
        runs.push(now);
        if (runs.length < 3) wheel.schedule(entry, now + 1500);
      },
    };
    wheel.schedule(entry, 1500);
    clock.advance(10_000);
    expect(runs).toEqual([1500, 3000, 4500]);
  });

  it("does not run an entry that one running before it in the same wake-up cancelled or moved", () => {
    const clock = new FakeClock(0);
    const wheel = new TimerWheel<WheelEntry>(clock, 1000, 100);
    const runs: string[] = [];
    const victim: WheelEntry = { wheelAt: NaN, wheelDue: () => runs.push("victim") };
    const moved: WheelEntry = { wheelAt: NaN, wheelDue: (now) => runs.push(`moved@${now}`) };
    const first: WheelEntry = {
      wheelAt: NaN,
      wheelDue() {
        runs.push("first");
        wheel.cancel(victim);
        wheel.schedule(moved, 5000);
      },
    };
    wheel.schedule(first, 1000);
    wheel.schedule(victim, 1000);
    wheel.schedule(moved, 1000);
    clock.advance(10_000);
    expect(runs).toEqual(["first", "moved@5000"]);
    expect(wheel.size).toBe(0);
  });

  it("matches the reference model (property)", () => {
    type Op =
      | { kind: "schedule"; entry: number; delay: number }
      | { kind: "cancel"; entry: number }
      | { kind: "advance"; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant("schedule" as const),
        entry: fc.integer({ min: 0, max: 9 }),
        delay: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 600_000 })),
      }),
      fc.record({ kind: fc.constant("cancel" as const), entry: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 400_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const spacing = 100;
        const clock = new FakeClock(1_700_000_000_123);
        const wheel = new TimerWheel<Entry>(clock, 1000, spacing);
        const entries = Array.from({ length: 10 }, (_, i) => new Entry(i));
        // Reference: the due time of each scheduled entry.
        const due = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === "schedule") {
            wheel.schedule(entries[o.entry]!, clock.now() + o.delay);
            due.set(o.entry, clock.now() + o.delay);
          } else if (o.kind === "cancel") {
            wheel.cancel(entries[o.entry]!);
            due.delete(o.entry);
          } else {
            const end = clock.now() + o.ms;
            for (const e of entries) e.fired = [];
            clock.advance(o.ms);
            for (const e of entries) {
              const at = due.get(e.name);
              if (at !== undefined && at + spacing <= end) {
                // Due (and past the spacing) within the step: ran once, not early, not too late.
                expect(e.fired).toHaveLength(1);
                expect(e.fired[0]).toBeGreaterThanOrEqual(at);
                expect(e.fired[0]! - at).toBeLessThanOrEqual(spacing);
                due.delete(e.name);
              } else if (at === undefined || at > end) {
                expect(e.fired).toEqual([]);
              } else if (e.fired.length > 0) {
                expect(e.fired).toHaveLength(1);
                expect(e.fired[0]).toBeGreaterThanOrEqual(at);
                due.delete(e.name);
              }
            }
          }
          expect(wheel.size).toBe(due.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
