import fc from "fast-check";
import { type TopicSelector, parseSelector } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { Core, type FetchOptions } from "./core.js";
import { OrderedTopicIndex } from "./ordered-index.js";
import type { Topic } from "./types.js";

function topic(path: string, id = 0): Topic {
  return { id, path, spec: { type: "string" }, value: undefined, lastActivity: 0 };
}

/** Levels that stress string order: '-' and '.' sort below '/', ' ' and '$' too, astral above all. */
const LEVELS = ["a", "a-b", "a.c", "ab", "b", "", " ", "$x", "é", "😀", "z"];
const pathArb = fc
  .array(fc.constantFrom(...LEVELS), { minLength: 1, maxLength: 4 })
  .map((levels) => levels.join("/"))
  .filter((p) => p.length > 0);

type Op = { add: boolean; path: string };
const opsArb = fc.array(fc.record<Op>({ add: fc.constantFrom(true, true, false), path: pathArb }), {
  maxLength: 300,
});

/** The reference model: a sorted array of the paths present. */
function apply(index: OrderedTopicIndex, ops: readonly Op[]): string[] {
  const present = new Set<string>();
  for (const op of ops) {
    if (op.add) {
      index.insert(topic(op.path));
      present.add(op.path);
    } else {
      expect(index.remove(op.path)).toBe(present.delete(op.path));
    }
  }
  return [...present].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("OrderedTopicIndex against a sorted array", () => {
  it("holds the paths in string order through random inserts and removals", () => {
    fc.assert(
      fc.property(opsArb, fc.constantFrom(2, 4, 8, 512), (ops, chunk) => {
        const index = new OrderedTopicIndex(chunk);
        const expected = apply(index, ops);
        expect([...index].map((t) => t.path)).toEqual(expected);
        expect(index.size).toBe(expected.length);
      }),
      { numRuns: 300 },
    );
  });

  it("collects a range under a prefix, between bounds, up to a limit, either way", () => {
    const bound = fc.option(pathArb, { nil: undefined });
    fc.assert(
      fc.property(
        opsArb,
        fc.constantFrom("", "a", "a/", "a-", "b/", "😀", "z/z"),
        bound,
        bound,
        fc.boolean(),
        fc.integer({ min: 0, max: 12 }),
        fc.constantFrom(2, 4, 512),
        (ops, prefix, after, before, descending, limit, chunk) => {
          const index = new OrderedTopicIndex(chunk);
          const sorted = apply(index, ops);
          const accept = (t: Topic): boolean => t.path.length % 3 !== 1;
          let expected = sorted.filter(
            (p) =>
              p.startsWith(prefix) &&
              (after === undefined || p > after) &&
              (before === undefined || p < before) &&
              accept(topic(p)),
          );
          if (descending) expected.reverse();
          expected = expected.slice(0, limit);
          const got = index.collect(prefix, after, before, descending, limit, accept).map((t) => t.path);
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Fetch as it was before the ordered index: select everything, sort, bound, slice. */
function referenceFetch(
  paths: readonly string[],
  selector: TopicSelector,
  options: FetchOptions,
): { paths: string[]; hasMore: boolean } {
  let out = paths.filter((p) => selector.matches(p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const { after, before } = options;
  if (after !== undefined) out = out.filter((p) => p > after);
  if (before !== undefined) out = out.filter((p) => p < before);
  if (options.first !== undefined && out.length > options.first)
    return { paths: out.slice(0, options.first), hasMore: true };
  if (options.last !== undefined && out.length > options.last) {
    return { paths: out.slice(out.length - options.last), hasMore: true };
  }
  return { paths: out, hasMore: false };
}

const SELECTORS = [
  ">a//",
  ">a/",
  ">a",
  ">a-b//",
  ">a/b",
  ">a/b//",
  ">😀//",
  "?a/b/",
  "?[^]*/a//",
  "#>a//////>b//",
  "?a/[^]*",
  "?(?!\\$)[^]*//",
  "?[^]*/b",
  "*a.*",
  "*a/(a|b).*",
  "*[ab].*",
  "*😀.*",
  "#>a/b//////*z.*",
  "?a-b|a\\.c//",
];

describe("Core.fetch and selectTopics against the reference model", () => {
  it("return the same pages as select-sort-slice, for random trees, selectors and paging", () => {
    const count = fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined });
    const bound = fc.option(pathArb, { nil: undefined });
    fc.assert(
      fc.property(
        fc.uniqueArray(pathArb, { maxLength: 60 }),
        fc.constantFrom(...SELECTORS),
        fc.record({ first: count, last: count, after: bound, before: bound }),
        (paths, expression, options) => {
          const core = new Core({
            limits: { maxTopics: 1000, maxRequestBytes: 1000, removalSweepMs: 1000 },
          });
          for (const p of paths) core.addTopic(p, { type: "string" });
          const selector = parseSelector(expression);
          const got = core.fetch(selector, options);
          expect({ paths: got.topics.map((t) => t.path), hasMore: got.hasMore }).toEqual(
            referenceFetch(paths, selector, options),
          );
          const selected = core.selectTopics(selector).map((t) => t.path);
          expect(selected.sort()).toEqual(paths.filter((p) => selector.matches(p)).sort());
        },
      ),
      { numRuns: 400 },
    );
  });
});
