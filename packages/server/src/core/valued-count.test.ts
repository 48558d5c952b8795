/**
 * The count of topics holding a value (`$SYS/broker/retained messages/count`, the
 * `skein_retained_messages` gauge) is kept by the core as values come and go instead of a walk of every
 * topic at each `$SYS` round and scrape (issue 11: no work that grows with the tree on the event loop).
 * Checked against the walk it replaced (the reference model) after every step of random publishes
 * (retained, not retained, empty retained clears, expiring), expired values found by a subscription,
 * and removals.
 */
import type { TopicSpecification } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { Core } from "./core.js";
import type { Clock, Timer } from "./ports.js";

class FakeClock implements Clock {
  time = 1_000_000;
  now(): number {
    return this.time;
  }
  setTimeout(): Timer {
    return {};
  }
  clearTimeout(): void {}
}

const MQTT_SPEC: TopicSpecification = { type: "binary", properties: { retention: "mqtt" } };
const ALWAYS_SPEC: TopicSpecification = { type: "binary" };

/** The reference: a walk of every topic. */
function walk(core: Core): number {
  let n = 0;
  for (const topic of core.topics.all()) if (topic.value !== undefined) n++;
  return n;
}

/** A small deterministic random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("the count of topics holding a value", () => {
  it("matches a walk of the tree after every publish, clear, expiry and removal", () => {
    const clock = new FakeClock();
    const core = new Core({
      clock,
      limits: { maxTopics: 10_000, maxRequestBytes: 1 << 20, removalSweepMs: 60_000 },
    });
    const next = random(11);
    let expiredSeen = 0;
    for (let step = 0; step < 3000; step++) {
      const path = `v/${Math.floor(next() * 8)}/${Math.floor(next() * 8)}`;
      const op = next();
      if (op < 0.55) {
        const retain = next() < 0.7;
        const empty = next() < 0.25;
        const expiring = next() < 0.2;
        const result = core.publish(
          {
            topic: path,
            payload: empty ? Buffer.alloc(0) : Buffer.from("x"),
            qos: 0,
            retain,
            properties: undefined,
            expiresAt: expiring ? clock.now() + 1000 : undefined,
            origin: undefined,
          },
          { createSpec: () => (path.endsWith("/0") ? ALWAYS_SPEC : MQTT_SPEC) },
        );
        expect(result.ok).toBe(true);
      } else if (op < 0.75) {
        core.removeTopic(path);
      } else if (op < 0.9) {
        // A new subscription reads the retained values of its filter; expired ones are cleared then.
        const before = walk(core);
        for (const value of core.retained(`v/${Math.floor(next() * 8)}/+`)) expect(value).toBeDefined();
        expiredSeen += before - walk(core);
      } else {
        clock.time += 700;
      }
      expect(core.facade.retainedCount()).toBe(walk(core));
    }
    // The run went through every kind of change.
    expect(expiredSeen).toBeGreaterThan(0);
    expect(core.facade.retainedCount()).toBeGreaterThan(0);
  });
});
