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
  it("finds the record add made, plain and shared, and nothing once it is removed", () => {
    const idx = new SubscriptionIndex();
    const a = recorder("a");
    const b = recorder("b");
    const plain = idx.add("d/1/cmd", undefined, a, OPTIONS).subscription;
    const shared = idx.add("d/+/cmd", "g", b, OPTIONS).subscription;
    idx.add("d/1/cmd", undefined, b, OPTIONS);
    expect(idx.find("d/1/cmd", undefined, a)).toBe(plain);
    expect(idx.find("d/+/cmd", "g", b)).toBe(shared);
    expect(idx.find("d/+/cmd", "g", a)).toBeUndefined();
    expect(idx.find("d/+/cmd", undefined, b)).toBeUndefined();
    expect(idx.find("d/1", undefined, a)).toBeUndefined();
    expect(idx.find("d/1/cmd/x", undefined, a)).toBeUndefined();
    idx.remove("d/1/cmd", undefined, a);
    expect(idx.find("d/1/cmd", undefined, a)).toBeUndefined();
    expect(idx.find("d/1/cmd", undefined, b)?.subscriber).toBe(b);
  });

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

  it("agrees with a reference model over adds and removes of several subscribers (property)", () => {
    // Nodes hold no subscription, one, or a map of two or more (and the same for children); the
    // sequences below move nodes between those forms in every order and check each step against a
    // plain list of what is subscribed.
    // Few filters, so that several subscribers often share one.
    const level = fc.constantFrom("a", "b", "+");
    const filter = fc
      .tuple(fc.array(level, { minLength: 1, maxLength: 2 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, "#"] : l).join("/"));
    const op = fc.record({
      add: fc.boolean(),
      filter,
      who: fc.integer({ min: 0, max: 3 }),
      group: fc.constantFrom(undefined, "g"),
    });
    const topics = ["a", "b", "a/a", "a/b", "b/a", "a/a/b"];
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 40, size: "max" }), (ops) => {
        const index = new SubscriptionIndex();
        const subscribers = [0, 1, 2, 3].map((i) => recorder(`s${i}`));
        /** Reference: "filter|group|who" of every subscription held. */
        const model = new Set<string>();
        for (const o of ops) {
          const key = `${o.filter}|${o.group ?? ""}|${o.who}`;
          const s = subscribers[o.who]!;
          if (o.add) {
            expect(index.add(o.filter, o.group, s, OPTIONS).isNew).toBe(!model.has(key));
            model.add(key);
          } else {
            expect(index.remove(o.filter, o.group, s)).toBe(model.delete(key));
          }
          expect(index.count).toBe(model.size);
          for (const t of topics) {
            for (const r of subscribers) r.got.length = 0;
            const held = [...model].map((k) => k.split("|"));
            const plain = held.filter(([f, g]) => g === "" && matchesMqttFilter(f!, t));
            const groups = held.filter(([f, g]) => g !== "" && matchesMqttFilter(f!, t));
            index.deliver(update(t));
            expect(index.hasMatch(t)).toBe(plain.length + groups.length > 0);
            // Every plain subscription is delivered to its subscriber, with its filter.
            subscribers.forEach((r, i) => {
              const want = plain.filter(([, , w]) => w === String(i)).map(([f]) => f);
              const got = r.got.flatMap((g) => g.filters);
              for (const f of want) expect(got).toContain(f);
            });
            // Each subscriber gets the update at most once; each matching shared group reaches one member.
            const delivered = subscribers.filter((r) => r.got.length > 0).length;
            expect(subscribers.every((r) => r.got.length <= 1)).toBe(true);
            const groupFilters = new Set(groups.map(([f]) => f));
            const plainWho = new Set(plain.map(([, , w]) => w));
            expect(delivered).toBeGreaterThanOrEqual(plainWho.size);
            expect(delivered).toBeLessThanOrEqual(plainWho.size + groupFilters.size);
            expect(delivered > 0).toBe(plain.length + groups.length > 0);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
