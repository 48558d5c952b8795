import fc from "fast-check";
import { matchesMqttFilter } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { SubscriptionIndex } from "./subscription-index.js";
import type { Subscriber, Subscription, SubscriptionOptions, Update } from "./types.js";

const OPTIONS: SubscriptionOptions = { qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 };

function recorder(sessionId: string, online = true) {
  const got: { topic: string; filters: string[] }[] = [];
  const subscriber: Subscriber & { got: typeof got } = {
    sessionId,
    online,
    got,
    deliver(update: Update, matches: readonly Subscription[]) {
      got.push({ topic: update.topic, filters: matches.map((m) => m.filter) });
    },
  };
  return subscriber;
}

function update(topic: string): Update {
  return {
    topic,
    payload: new Uint8Array(),
    qos: 0,
    retain: false,
    properties: undefined,
    expiresAt: undefined,
    origin: undefined,
  };
}

describe("SubscriptionIndex", () => {
  it.each([
    ["a/b", "a/b", true],
    ["a/+", "a/b", true],
    ["a/+", "a/b/c", false],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["#", "$SYS/x", false],
    ["+/x", "$SYS/x", false],
    ["$SYS/#", "$SYS/x", true],
    ["+/+", "/finance", true],
    ["/+", "/finance", true],
    ["+", "/finance", false],
  ])("filter %s on topic %s -> %s", (filter, topic, expected) => {
    const index = new SubscriptionIndex();
    const s = recorder("s1");
    index.add(filter, undefined, s, OPTIONS);
    expect(index.deliver(update(topic))).toBe(expected ? 1 : 0);
    expect(index.hasMatch(topic)).toBe(expected);
  });

  it("delivers once per subscriber with every matching subscription", () => {
    const index = new SubscriptionIndex();
    const s = recorder("s1");
    index.add("a/#", undefined, s, OPTIONS);
    index.add("a/+", undefined, s, OPTIONS);
    index.add("a/b", undefined, s, OPTIONS);
    index.deliver(update("a/b"));
    expect(s.got).toHaveLength(1);
    expect(s.got[0]!.filters.sort()).toEqual(["a/#", "a/+", "a/b"]);
  });

  it("replaces a subscription to the same filter and reports it is not new", () => {
    const index = new SubscriptionIndex();
    const s = recorder("s1");
    expect(index.add("a", undefined, s, OPTIONS).isNew).toBe(true);
    expect(index.add("a", undefined, s, { ...OPTIONS, qos: 1 }).isNew).toBe(false);
    expect(index.count).toBe(1);
  });

  it("removes subscriptions and prunes", () => {
    const index = new SubscriptionIndex();
    const s = recorder("s1");
    index.add("a/b/c", undefined, s, OPTIONS);
    expect(index.remove("a/b/c", undefined, s)).toBe(true);
    expect(index.remove("a/b/c", undefined, s)).toBe(false);
    expect(index.count).toBe(0);
    expect(index.deliver(update("a/b/c"))).toBe(0);
  });

  it("spreads a shared group across its members, preferring online ones", () => {
    const index = new SubscriptionIndex();
    const a = recorder("a");
    const b = recorder("b");
    const off = recorder("off", false);
    for (const s of [a, b, off]) index.add("t/+", "g", s, OPTIONS);
    for (let i = 0; i < 10; i++) index.deliver(update(`t/${i}`));
    expect(a.got.length + b.got.length).toBe(10);
    expect(a.got.length).toBe(5);
    expect(off.got).toHaveLength(0);
  });

  it("gives each shared group and each plain subscriber a copy", () => {
    const index = new SubscriptionIndex();
    const a = recorder("a");
    const b = recorder("b");
    const plain = recorder("plain");
    index.add("t", "g1", a, OPTIONS);
    index.add("t", "g2", b, OPTIONS);
    index.add("t", undefined, plain, OPTIONS);
    expect(index.deliver(update("t"))).toBe(3);
  });

  it("matches exactly as the MQTT matcher does (property)", () => {
    const level = fc.constantFrom("a", "b", "", "$s", "c");
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join("/"));
    const filterLevel = fc.constantFrom("a", "b", "", "+", "$s");
    const filter = fc
      .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, "#"] : l).join("/"));
    fc.assert(
      fc.property(fc.array(filter, { minLength: 1, maxLength: 6 }), topic, (filters, t) => {
        const index = new SubscriptionIndex();
        const subs = filters.map((f, i) => {
          const s = recorder(`s${i}`);
          index.add(f, undefined, s, OPTIONS);
          return s;
        });
        index.deliver(update(t));
        filters.forEach((f, i) => expect(subs[i]!.got.length).toBe(matchesMqttFilter(f, t) ? 1 : 0));
      }),
      { numRuns: 300 },
    );
  });
});
