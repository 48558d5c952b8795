import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { type DeadlineClock, type DeadlineTimer, Deadlines } from "./deadlines.js";

/** A clock moved by hand: timers fire when `advance` passes them. */
class ManualClock implements DeadlineClock {
  time = 1_000_000;
  private timers = new Set<{ at: number; fn: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): DeadlineTimer {
    const t = { at: this.time + ms, fn };
    this.timers.add(t);
    return t as DeadlineTimer;
  }
  clearTimeout(timer: DeadlineTimer): void {
    this.timers.delete(timer as { at: number; fn: () => void });
  }
  get armed(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.delete(due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
  }
}

interface Entry {
  name: string;
  deadline: number;
  done: boolean;
}
const entry = (name: string): Entry => ({ name, deadline: 0, done: false });

describe("Deadlines", () => {
  it("expires entries at their deadline, in order, with one timer for all", () => {
    const clock = new ManualClock();
    const expired: string[] = [];
    const d = new Deadlines<Entry>(clock, (e) => expired.push(`${e.name}@${clock.now() - 1_000_000}`));
    d.add(entry("a"), 100);
    clock.advance(10);
    d.add(entry("b"), 100);
    d.add(entry("c"), 50); // another length: expires first
    expect(clock.armed).toBe(1);
    clock.advance(200);
    expect(expired).toEqual(["c@60", "a@100", "b@110"]);
    expect(clock.armed).toBe(0);
    expect(d.size).toBe(0);
  });

  it("never expires finished entries, and drops them from the heads", () => {
    const clock = new ManualClock();
    const expired: string[] = [];
    const d = new Deadlines<Entry>(clock, (e) => expired.push(e.name));
    const entries = ["a", "b", "c"].map(entry);
    for (const e of entries) d.add(e, 100);
    (entries[0] as Entry).done = true;
    (entries[1] as Entry).done = true;
    d.trim(100);
    expect(d.size).toBe(1);
    clock.advance(100);
    expect(expired).toEqual(["c"]);
    expect((entries[2] as Entry).done).toBe(true);
  });

  it("stays bounded when finished entries pile up behind one that waits", () => {
    const clock = new ManualClock();
    const d = new Deadlines<Entry>(clock, () => {});
    d.add(entry("slow"), 3_600_000);
    for (let i = 0; i < 100_000; i++) {
      const e = entry(String(i));
      d.add(e, 3_600_000);
      e.done = true;
      d.trim(3_600_000);
    }
    expect(d.size).toBeLessThanOrEqual(1024);
  });

  it("stop cancels the timer; a later add arms it again", () => {
    const clock = new ManualClock();
    const expired: string[] = [];
    const d = new Deadlines<Entry>(clock, (e) => expired.push(e.name));
    d.add(entry("a"), 10);
    d.stop();
    expect(clock.armed).toBe(0);
    d.add(entry("b"), 10);
    clock.advance(10);
    expect(expired).toEqual(["a", "b"]);
  });

  it("holds no reference to a finished entry once it has left the head", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const clock = new ManualClock();
    const d = new Deadlines<Entry>(clock, () => {});
    const refs: WeakRef<Entry>[] = [];
    (() => {
      // a and b finish and leave the head; c still waits behind them.
      for (const name of ["a", "b"]) {
        const e = entry(name);
        refs.push(new WeakRef(e));
        d.add(e, 100);
      }
      d.add(entry("c"), 100);
      for (const ref of refs) (ref.deref() as Entry).done = true;
      d.trim(100);
    })();
    await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets are kept for this turn
    gc();
    expect(refs.map((r) => r.deref()?.name)).toEqual([undefined, undefined]);
    expect(d.size).toBe(1);
  });
});
