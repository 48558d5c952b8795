/**
 * Removal policies run from a timer wheel (issue 11): a topic is looked at when its idle time may have
 * run out, and only then; an update pushes its removal back; a value or a subscriber keeps it. The old
 * sweep looked at every topic of the tree every `removalSweepMs`.
 */
import type { TopicSpecification } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { Core } from "../src/core/core.js";
import { RemovalSchedule } from "../src/core/removals.js";
import { silentLogger } from "../src/core/ports.js";
import type { Subscriber, Topic } from "../src/core/types.js";
import { FakeClock } from "./fake-clock.js";

const IDLE: TopicSpecification = {
  type: "binary",
  properties: { retention: "mqtt", removal: { idleMs: 1_000, onlyWithoutValue: true } },
};
const LONG: TopicSpecification = {
  type: "binary",
  properties: { retention: "mqtt", removal: { idleMs: 60_000, onlyWithoutValue: true } },
};

function topicOf(path: string, spec: TopicSpecification, now: number): Topic {
  return { id: 0, path, spec, value: undefined, lastActivity: now };
}

describe("removal schedule", () => {
  it("looks only at the topics that fall due", () => {
    const clock = new FakeClock(1_000_000);
    const looked: string[] = [];
    const removed: string[] = [];
    const schedule = new RemovalSchedule(
      clock,
      {
        isLive: (t) => (looked.push(t.path), true),
        hasSubscribers: () => false,
        remove: (t) => removed.push(t.path),
      },
      silentLogger,
    );
    for (let i = 0; i < 300; i++) schedule.add(topicOf(`short/${i}`, IDLE, clock.now()));
    for (let i = 0; i < 3000; i++) schedule.add(topicOf(`long/${i}`, LONG, clock.now()));
    clock.advance(999);
    expect(looked).toEqual([]);
    clock.advance(1);
    // Only the 300 that fell due were looked at (and removed, over several timer turns).
    expect(looked).toHaveLength(300);
    expect(removed).toHaveLength(300);
    expect(removed.every((p) => p.startsWith("short/"))).toBe(true);
    expect(schedule.size).toBe(3000);
    clock.advance(59_000);
    expect(removed).toHaveLength(3300);
    expect(schedule.size).toBe(0);
  });

  it("in the core: an update pushes a removal back; a value or a subscriber keeps the topic", () => {
    const clock = new FakeClock(1_000_000);
    const core = new Core({
      clock,
      limits: { maxTopics: 1000, maxRequestBytes: 1 << 20, removalSweepMs: 30_000 },
    });
    core.start();
    const publish = (topic: string, retain: boolean): void => {
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
        { createSpec: () => IDLE },
      );
      expect(result.ok).toBe(true);
    };
    publish("a/updated", false);
    publish("a/idle", false);
    publish("a/retained", true);
    publish("a/watched", false);
    const watcher: Subscriber = { sessionId: "w", online: true, deliver: () => {} };
    core.subscriptions.add("a/watched", undefined, watcher, {
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    clock.advance(900);
    publish("a/updated", false);
    clock.advance(100);
    expect(core.topics.get("a/idle")).toBeUndefined();
    expect(core.topics.get("a/updated")).toBeDefined();
    clock.advance(899);
    expect(core.topics.get("a/updated")).toBeDefined();
    clock.advance(1);
    expect(core.topics.get("a/updated")).toBeUndefined();
    clock.advance(10_000);
    expect(core.topics.get("a/retained")).toBeDefined();
    expect(core.topics.get("a/watched")).toBeDefined();
    // Without its subscriber, the watched topic goes within one more idle time.
    core.subscriptions.remove("a/watched", undefined, watcher);
    clock.advance(1_000);
    expect(core.topics.get("a/watched")).toBeUndefined();
    core.stop();
  });
});
