/**
 * Removals run in slices (issue 12 item 18: no periodic stall). Removing 100,000 idle topics in one
 * timer turn held the event loop for 0.7-1.2 s; now each turn of the removal wheel (`removals.ts`,
 * issue 11) does a bounded share and goes on at the next turn. Driven by a manual clock: no timing, no sleeps.
 */
import type { TopicSpecification } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { Core } from "./core.js";
import type { Clock, Timer } from "./ports.js";
import type { Subscriber } from "./types.js";

interface ManualTimer extends Timer {
  fn: () => void;
  at: number;
  cancelled: boolean;
}

/** A clock whose timers run only when the test says so, one at a time, earliest first. */
class ManualClock implements Clock {
  time = 1_000_000;
  private timers: ManualTimer[] = [];
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const timer: ManualTimer = { fn, at: this.time + ms, cancelled: false };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(timer: Timer): void {
    (timer as ManualTimer).cancelled = true;
  }
  /** Advances to the earliest pending timer and runs it; false when there is none. */
  runNext(): boolean {
    this.timers = this.timers.filter((t) => !t.cancelled);
    if (this.timers.length === 0) return false;
    const next = this.timers.reduce((a, b) => (b.at < a.at ? b : a));
    this.timers.splice(this.timers.indexOf(next), 1);
    this.time = Math.max(this.time, next.at);
    next.fn();
    return true;
  }
}

const SWEEP_MS = 30_000;
const IDLE_SPEC: TopicSpecification = {
  type: "binary",
  properties: { retention: "mqtt", removal: { idleMs: 1_000, onlyWithoutValue: true } },
};

function publish(core: Core, topic: string, retain: boolean): void {
  const result = core.publish(
    {
      topic,
      payload: Buffer.from("x"),
      qos: 0,
      retain,
      properties: undefined,
      expiresAt: undefined,
      origin: undefined,
    },
    { createSpec: () => IDLE_SPEC },
  );
  expect(result.ok).toBe(true);
}

describe("the removal sweep", () => {
  it("removes many idle topics over several turns, never all in one, and keeps the others", () => {
    const clock = new ManualClock();
    const core = new Core({
      clock,
      limits: { maxTopics: 100_000, maxRequestBytes: 1 << 20, removalSweepMs: SWEEP_MS },
    });
    const idle = 2_000;
    for (let i = 0; i < idle; i++) publish(core, `idle/${i % 50}/${i}`, false);
    publish(core, "kept/retained", true); // has a value
    publish(core, "kept/watched", false); // has a subscriber
    const watcher: Subscriber = { sessionId: "w", online: true, deliver: () => {} };
    core.subscriptions.add("kept/watched", undefined, watcher, {
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    core.start();

    const turns: number[] = []; // topics removed by each timer turn of the sweep
    let before = core.topics.size;
    while (core.topics.size > 2 && turns.length < 10_000 && clock.runNext()) {
      turns.push(before - core.topics.size);
      before = core.topics.size;
    }
    expect(core.topics.size).toBe(2);
    expect(core.topics.get("kept/retained")).toBeDefined();
    expect(core.topics.get("kept/watched")).toBeDefined();
    expect(turns.reduce((a, b) => a + b, 0)).toBe(idle);
    expect(Math.max(...turns)).toBeLessThan(idle / 4);
    core.stop();
  });
});
