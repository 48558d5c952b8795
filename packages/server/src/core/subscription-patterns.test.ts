import fc from "fast-check";
import { matchesMqttFilter, parseSelector } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { type PatternSubscription, SubscriptionIndex } from "./subscription-index.js";
import type { Subscriber, SubscriptionOptions } from "./types.js";

const OPTIONS: SubscriptionOptions = { qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 };

function subscriber(sessionId: string): Subscriber {
  return { sessionId, online: true, deliver: () => {} };
}

const LEVELS = ["a", "b", "ab", "a-b", "", "$x", "😀"];
const topicArb = fc
  .array(fc.constantFrom(...LEVELS), { minLength: 1, maxLength: 4 })
  .map((l) => l.join("/"))
  .filter((t) => t.length > 0);
const FILTERS = ["a/#", "a/+", "+/b", "#", "a/b", "a-b/#", "$x/#", "+/+/a"];
const PATTERNS = [
  "*a.*",
  "*a/b.*",
  "*ab?.*",
  "*a-b/.+",
  "*(a|b)/.*",
  "*😀.*",
  "*.*b",
  "?a/[ab]+",
  "?a/b//",
  "*$x.*",
];

type Op =
  | { kind: "filter"; add: boolean; who: number; filter: string }
  | { kind: "pattern"; add: boolean; who: number; expression: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("filter" as const),
    add: fc.constantFrom(true, true, false),
    who: fc.integer({ min: 0, max: 5 }),
    filter: fc.constantFrom(...FILTERS),
  }),
  fc.record({
    kind: fc.constant("pattern" as const),
    add: fc.constantFrom(true, true, false),
    who: fc.integer({ min: 0, max: 5 }),
    expression: fc.constantFrom(...PATTERNS),
  }),
);

describe("SubscriptionIndex patterns by literal prefix (issue 11)", () => {
  it("finds the subscribers of a topic exactly as a scan of every subscription would", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 60 }),
        fc.array(topicArb, { maxLength: 20 }),
        (ops, topics) => {
          const index = new SubscriptionIndex();
          const subscribers = [0, 1, 2, 3, 4, 5].map((i) => subscriber(`s${i}`));
          // The reference model: each subscriber's filters and patterns, as plain sets.
          const filters = subscribers.map(() => new Set<string>());
          const patterns = subscribers.map(() => new Map<string, PatternSubscription>());
          for (const op of ops) {
            const who = subscribers[op.who] as Subscriber;
            if (op.kind === "filter") {
              if (op.add) {
                index.add(op.filter, undefined, who, OPTIONS);
                filters[op.who]?.add(op.filter);
              } else {
                expect(index.remove(op.filter, undefined, who)).toBe(filters[op.who]?.delete(op.filter));
              }
              continue;
            }
            const mine = patterns[op.who] as Map<string, PatternSubscription>;
            if (op.add) {
              if (mine.has(op.expression)) continue;
              const selector = parseSelector(op.expression);
              const pattern: PatternSubscription = {
                subscriber: who,
                filter: op.expression,
                shareGroup: undefined,
                options: OPTIONS,
                matches: (p) => selector.matches(p),
                literalPrefix: selector.literalPrefix,
              };
              index.addPattern(pattern);
              mine.set(op.expression, pattern);
            } else {
              const pattern = mine.get(op.expression);
              if (pattern) expect(index.removePattern(pattern)).toBe(true);
              mine.delete(op.expression);
            }
          }
          const held = filters.reduce((n, f) => n + f.size, 0) + patterns.reduce((n, p) => n + p.size, 0);
          expect(index.count).toBe(held);
          for (const topic of topics) {
            const expected = subscribers.filter(
              (_, i) =>
                [...(filters[i] as Set<string>)].some((f) => matchesMqttFilter(f, topic)) ||
                [...(patterns[i] as Map<string, PatternSubscription>).values()].some((p) => p.matches(topic)),
            );
            const got = [...index.subscribersOf(topic)];
            expect(got.map((s) => s.sessionId).sort()).toEqual(expected.map((s) => s.sessionId).sort());
            expect(index.hasMatch(topic)).toBe(expected.length > 0);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
