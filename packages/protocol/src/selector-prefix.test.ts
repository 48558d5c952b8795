import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSelector, selectorFromMqttFilter } from "./selector.js";
import { regexLiteralPrefix } from "./selector-syntax.js";

describe("literal prefix of a selector (issue 11)", () => {
  it.each([
    [">a/b", "a/b"],
    [">a/b//", "a/b"],
    [">a/b/", "a/b/"],
    ["?a/b", "a/b"],
    ["?a/b//", "a/b"],
    ["?a/b/", "a/b/"],
    ["?sensors/room[0-9]+", "sensors/room"],
    ["?sensors/[^]*/temp", "sensors/"],
    ["?(?!\\$)[^]*/temp", ""],
    ["?\\$SYS/broker", "$SYS/broker"],
    ["*sensors/room[0-9]+", "sensors/room"],
    ["*sensors/room1?", "sensors/room"],
    ["*ab*c", "a"],
    ["*ab{2}", "a"],
    ["*ab+c", "ab"],
    ["*a\\.b.*", "a.b"],
    ["*a|b", ""],
    ["*a(b|c)d", "a"],
    ["*a[|]b", "a"],
    ["*(?i)abc", ""],
    ["*\\d+", ""],
    ["*😀*x", ""],
    ["*x😀+", "x😀"],
    ["#>a/b//////>a/c", "a/"],
    ["#>a/b//////*x.*", ""],
  ])("%s has the prefix %j", (expression, prefix) => {
    expect(parseSelector(expression).literalPrefix).toBe(prefix);
  });

  it.each([
    ["a/b", "a/b"],
    ["a/#", "a"],
    ["a/+/c", "a/"],
    ["#", ""],
    ["+/x", ""],
    ["/+", "/"],
  ])("MQTT filter %s has the prefix %j", (filter, prefix) => {
    expect(selectorFromMqttFilter(filter).literalPrefix).toBe(prefix);
  });

  // Every path a selector matches starts with its prefix: random regexes over a small alphabet.
  const atom = fc.constantFrom("a", "b", "/", ".", "[ab]", "\\.", "(a|b)", "(?:ab)", "[^/]", "x", "😀");
  const quantifier = fc.constantFrom("", "", "", "*", "+", "?", "{0,2}", "{1}");
  const regex = fc.array(fc.tuple(atom, quantifier), { minLength: 1, maxLength: 6 }).chain((parts) =>
    fc.boolean().map((alt) => {
      const body = parts.map(([a, q]) => a + q).join("");
      return alt ? `${body}|a${body}` : body;
    }),
  );
  const path = fc
    .array(fc.constantFrom("a", "b", "/", ".", "x", "😀"), { maxLength: 8 })
    .map((cs) => cs.join(""));

  it("is a prefix of every path a regex selector matches", () => {
    fc.assert(
      fc.property(regex, fc.array(path, { maxLength: 30 }), (source, paths) => {
        const selector = parseSelector(`*${source}`);
        expect(selector.literalPrefix).toBe(regexLiteralPrefix(source));
        for (const p of paths) {
          if (selector.matches(p)) expect(p.startsWith(selector.literalPrefix)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("is a prefix of every path a split-path selector matches", () => {
    const segment = fc.constantFrom("a", "b", "ab", "a.*", "[ab]+", "[^]*", "x?", "(?:)");
    const qualifier = fc.constantFrom("", "/", "//");
    const seg = fc.array(fc.constantFrom("a", "b", "x", ""), { maxLength: 3 }).map((c) => c.join(""));
    const splitPath = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        qualifier,
        fc.array(splitPath, { maxLength: 40 }),
        (segments, q, paths) => {
          const selector = parseSelector(`?${segments.join("/")}${q}`);
          for (const p of paths) {
            if (selector.matches(p)) expect(p.startsWith(selector.literalPrefix)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
