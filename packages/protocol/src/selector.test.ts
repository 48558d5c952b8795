import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SkeinError } from "./errors.js";
import { matchesMqttFilter, mqttFilterProblem } from "./mqtt-filter.js";
import {
  MAX_SELECTOR_LENGTH,
  MAX_SELECTOR_REGEX_LENGTH,
  type SelectorKind,
  parseSelector,
  selectorFromMqttFilter,
} from "./selector.js";
import { isValidPath } from "./topic-path.js";

/** Segments to build paths from: `$` names, empty and blank segments, regex characters, non-ASCII. */
const SEGMENTS = ["a", "b", "ab", "", " ", "$", "$SYS", "a.b", "é", "😀", "(x)", "A"];
const pathArb = fc
  .array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 5 })
  .map((segments) => segments.join("/"))
  .filter((p) => p.length > 0);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("parseSelector: matching", () => {
  it.each<[string, string, boolean]>([
    // '>': exactly this path
    [">a/b", "a/b", true],
    [">a/b", "a/b/c", false],
    [">a/b", "a", false],
    [">a/b", "/a/b", false], // paths are never normalised
    [">a/b", "a//b", false],
    [">/a/b", "/a/b", true],
    [">a//b", "a//b", true],
    [">a//b", "a/b", false],
    [">$SYS/x", "$SYS/x", true],
    [">a.b", "a.b", true],
    [">a.b", "aXb", false], // not a regex
    // '>' with '/': descendants only
    [">a/b/", "a/b", false],
    [">a/b/", "a/b/c", true],
    [">a/b/", "a/b/c/d", true],
    [">a/b/", "a/b/", true], // an empty child level is a child
    [">a/b/", "a/bc", false],
    [">a/b/", "a/bc/d", false],
    // '>' with '//': the path and its descendants
    [">a/b//", "a/b", true],
    [">a/b//", "a/b/c", true],
    [">a/b//", "a/b/c/d", true],
    [">a/b//", "a/bc", false],
    [">a/b//", "a", false],
    // '?': one fully-anchored regex per segment, exactly that many segments
    ["?a/b", "a/b", true],
    ["?a/b", "a/b/c", false],
    ["?a/b", "a", false],
    ["?a/.*", "a/anything", true],
    ["?a/.*", "a/", true],
    ["?a/.*", "a/b/c", false],
    ["?a|b/c", "b/c", true], // each segment regex is anchored as a whole
    ["?a|b/c", "ab/c", false],
    ["?sensors/room[0-9]+/temp", "sensors/room12/temp", true],
    ["?sensors/room[0-9]+/temp", "sensors/roomX/temp", false],
    ["?sensors/room[0-9]+/temp", "sensors/room1/temp/x", false],
    ["?b", "ab", false],
    ["?a", "ab", false],
    ["?/a", "/a", true], // an empty first regex matches an empty first segment
    ["?/a", "x/a", false],
    ["?a//b", "a//b", true],
    ["?a/(?:)", "a/", true], // '(?:)' names an empty last segment
    ["?a/(?:)", "a", false],
    ["?\\$SYS/.*", "$SYS/x", true],
    ["?.*", "$SYS", true], // regexes match '$' topics
    ["?.", "😀", true], // 'u' flag: '.' is a code point
    // '?' qualifiers
    ["?a/", "a", false],
    ["?a/", "a/b", true],
    ["?a/", "a/b/c", true],
    ["?a/", "b/c", false],
    ["?a//", "a", true],
    ["?a//", "a/b/c", true],
    ["?a//", "ab", false],
    ["?a|b/x//", "b/x/y", true],
    ["?a|b/x//", "b/y/x", false],
    // '*': the whole path
    ["*a/.*", "a/b/c", true],
    ["*a/.*", "a", false],
    ["*a/.*", "xa/b", false],
    ["*.*", "$SYS/x", true],
    ["*a/[^/]*", "a/b", true],
    ["*a/[^/]*", "a/b/c", false],
    ["*a/", "a/", true], // how to name a path ending in an empty segment
    ["*a|b", "b", true],
    ["*a|b", "ab", false],
    // '#': a union
    ["#>a////>b", "a", true],
    ["#>a////>b", "b", true],
    ["#>a////>b", "c", false],
    ["#>a//////>b", "a/x", true], // '>a//' then '>b'
    ["#>a//////>b", "b", true],
    ["#>a/////>b", "a", false], // '>a/' then '>b'
    ["#>a/////>b", "a/x", true],
    ["#?x/.*////*y.*", "x/1", true],
    ["#?x/.*////*y.*", "y/1/2", true],
    ["#?x/.*////*y.*", "z", false],
    ["#>a//// >b ", "b", true], // members are trimmed
    ["##>a", "a", true],
    // whitespace around the expression
    ["  >a/b  ", "a/b", true],
    ["\t?a/b\n", "a/b", true],
  ])("%j matches %j: %s", (expression, path, expected) => {
    expect(parseSelector(expression).matches(path)).toBe(expected);
  });
});

describe("parseSelector: kind, expression and mqttFilters", () => {
  it.each<[string, SelectorKind, string[] | undefined]>([
    [">a/b", "path", ["a/b"]],
    [">a/b/", "path", ["a/b/+/#"]],
    [">a/b//", "path", ["a/b/#"]],
    [">$SYS", "path", ["$SYS"]],
    [">$SYS//", "path", ["$SYS/#"]],
    [">/a", "path", ["/a"]],
    ["?a/b", "split-path", ["a/b"]],
    ["?a/b/", "split-path", ["a/b/+/#"]],
    ["?a/b//", "split-path", ["a/b/#"]],
    ["?\\$SYS/a\\.b", "split-path", ["$SYS/a.b"]],
    ["?a/[^]*/c", "split-path", ["a/+/c"]],
    ["?(?!\\$)[^]*/c", "split-path", ["+/c"]],
    ["?(?!\\$)[^]*//", "split-path", ["#"]],
    ["?[^]*/c", "split-path", undefined], // '[^]*' at the first level also matches '$' topics, '+' does not
    ["?a/(?:)", "split-path", ["a/"]],
    ["?a/b.", "split-path", undefined],
    ["?a/\\+", "split-path", undefined],
    ["?a/#", "split-path", undefined],
    ["?a/b\\d", "split-path", undefined],
    ["*a/b", "full-path", undefined],
    ["#>a////>b//", "set", ["a", "b/#"]],
    ["#>a////>a", "set", ["a"]],
    ["#>a////*b", "set", undefined],
    ["  >a  ", "path", ["a"]],
  ])("%j is a %s selector with filters %j", (expression, kind, filters) => {
    const selector = parseSelector(expression);
    expect(selector.kind).toBe(kind);
    expect(selector.expression).toBe(expression.trim());
    expect(selector.mqttFilters).toEqual(filters);
  });
});

describe("parseSelector: errors", () => {
  it.each<[string, number, string]>([
    ["", 0, "empty"],
    ["   ", 0, "empty"],
    ["a/b", 0, "starts with"],
    ["  x", 0, "starts with"], // positions count in the trimmed expression
    [">", 1, "path is empty"],
    [">/", 1, "path is empty"],
    [">//", 1, "path is empty"],
    [">a/+/b", 3, "wildcard"],
    [">a/b#", 4, "wildcard"],
    [">a\u0000", 2, "NUL"],
    [">ab\ud800", 3, "UTF"],
    [">a///", 2, "empty segment"],
    [">a/b///", 4, "empty segment"],
    ["?", 1, "empty"],
    ["?/", 1, "empty"],
    ["?//", 1, "empty"],
    ["?a///", 3, "empty"],
    ["?a/(", 3, "Invalid regular expression"],
    ["?a/b/c)", 5, "Invalid regular expression"],
    ["?a/x{2,1}", 3, "Invalid regular expression"], // RE2: a bad repeat count
    ["*", 1, "empty"],
    ["*a)|(b", 1, "Invalid regular expression"], // cannot break out of the anchoring
    ["*[", 1, "Invalid regular expression"],
    ["#", 1, "empty set member"],
    ["#////>a", 1, "empty set member"],
    ["#>a////", 7, "empty set member"],
    ["#>a//// ", 7, "empty set member"],
    ["#>a////  ////>b", 7, "empty set member"],
    ["#>a////x", 7, "starts with"],
    ["#>a//// *(", 9, "Invalid regular expression"],
    ["#>a////>b+", 9, "wildcard"],
    ["##", 2, "empty set member"],
  ])("%j fails at position %i (%s)", (expression, position, message) => {
    const err = thrown(() => parseSelector(expression));
    expect(err).toBeInstanceOf(SkeinError);
    expect((err as SkeinError).code).toBe("INVALID_SELECTOR");
    expect((err as SkeinError).message).toContain(`at position ${position}:`);
    expect((err as SkeinError).message).toContain(message);
  });

  it("rejects a non-string", () => {
    expect(() => parseSelector(42 as unknown as string)).toThrow(SkeinError);
  });

  it("caps the expression and each regex", () => {
    expect(parseSelector(">" + "a".repeat(MAX_SELECTOR_LENGTH - 1)).kind).toBe("path");
    expect(() => parseSelector(">" + "a".repeat(MAX_SELECTOR_LENGTH))).toThrow(/longer than 4096/);
    expect(parseSelector("*" + "a".repeat(MAX_SELECTOR_REGEX_LENGTH)).kind).toBe("full-path");
    expect(() => parseSelector("*" + "a".repeat(MAX_SELECTOR_REGEX_LENGTH + 1))).toThrow(/longer than 1024/);
    expect(() => parseSelector(`?a/${"b".repeat(MAX_SELECTOR_REGEX_LENGTH + 1)}`)).toThrow(
      /position 3: .*longer/,
    );
  });

  it("throws only SkeinError INVALID_SELECTOR on random input, and what parses can match anything", () => {
    const unit = fc.constantFrom(
      ">",
      "?",
      "*",
      "#",
      "/",
      "/",
      "a",
      "$",
      "(",
      ")",
      "[",
      "]",
      "\\",
      "+",
      "|",
      " ",
      "\0",
      "\ud800",
    );
    const expression = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.string({ unit, maxLength: 30 }),
    );
    fc.assert(
      fc.property(expression, pathArb, (e, path) => {
        let selector;
        try {
          selector = parseSelector(e);
        } catch (err) {
          expect(err).toBeInstanceOf(SkeinError);
          expect((err as SkeinError).code).toBe("INVALID_SELECTOR");
          return;
        }
        expect(typeof selector.matches(path)).toBe("boolean");
      }),
      { numRuns: 3000 },
    );
  });
});

describe("parseSelector: properties", () => {
  // '>' cannot name a path that ends in '/' or in whitespace (see the module description).
  const nameable = fc
    .string({ unit: "binary", minLength: 1, maxLength: 20 })
    .filter((p) => isValidPath(p) && !p.endsWith("/") && p.trim() === p);

  it("'>p' selects p and nothing else; '>p//' adds the descendants; '>p/' only the descendants", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          nameable,
          pathArb.filter((p) => !p.endsWith("/") && p.trim() === p),
        ),
        pathArb,
        (p, other) => {
          expect(parseSelector(`>${p}`).matches(p)).toBe(true);
          expect(parseSelector(`>${p}`).matches(other)).toBe(other === p);
          expect(parseSelector(`>${p}//`).matches(p)).toBe(true);
          expect(parseSelector(`>${p}//`).matches(`${p}/${other}`)).toBe(true);
          expect(parseSelector(`>${p}/`).matches(p)).toBe(false);
          expect(parseSelector(`>${p}/`).matches(`${p}/${other}`)).toBe(true);
        },
      ),
    );
  });

  /** Selector expressions whose mqttFilters may or may not be defined. */
  const segmentSource = fc.constantFrom(
    "a",
    "b",
    "",
    "\\$SYS",
    "\\$",
    "[^]*",
    "(?!\\$)[^]*",
    "a|b",
    ".*",
    "é",
    "(?:)",
  );
  const qualifier = fc.constantFrom("", "/", "//");
  const pathSelector = fc.tuple(pathArb, qualifier).map(([p, q]) => `>${p}${q}`);
  const splitSelector = fc
    .tuple(fc.array(segmentSource, { minLength: 1, maxLength: 4 }), qualifier)
    .map(([s, q]) => `?${s.join("/")}${q}`);
  const fullSelector = fc.constantFrom("*a/.*", "*\\$SYS.*", "*[^$].*");
  const single = fc.oneof(pathSelector, splitSelector, fullSelector);
  const anySelector = fc.oneof(
    single,
    fc.array(single, { minLength: 1, maxLength: 3 }).map((m) => `#${m.join("////")}`),
  );

  it("when mqttFilters is defined, some filter matches a path exactly when the selector does", () => {
    let defined = 0;
    fc.assert(
      fc.property(anySelector, fc.array(pathArb, { minLength: 20, maxLength: 20 }), (expression, paths) => {
        let selector;
        try {
          selector = parseSelector(expression);
        } catch {
          return; // e.g. '>a/' paths or an empty last '?' segment
        }
        const filters = selector.mqttFilters;
        if (filters === undefined) return;
        defined++;
        for (const f of filters) expect(mqttFilterProblem(f)).toBeUndefined();
        for (const path of paths) {
          expect(
            filters.some((f) => matchesMqttFilter(f, path)),
            `${expression} on ${path}`,
          ).toBe(selector.matches(path));
        }
      }),
      { numRuns: 2000 },
    );
    expect(defined).toBeGreaterThan(500);
  });
});

describe("selectorFromMqttFilter", () => {
  const LEVELS = ["a", "b", "", " ", "$", "$SYS", "a.b", "(x)", "é", "😀", "+", "+"];
  const filterArb = fc
    .tuple(fc.array(fc.constantFrom(...LEVELS), { maxLength: 5 }), fc.boolean())
    .map(([levels, hash]) => (hash ? [...levels, "#"] : levels).join("/"))
    .filter((f) => f.length > 0);

  it.each<[string, string]>([
    ["a/b", "?a/b"],
    ["sport/+/#", "?sport/[^]*//"],
    ["+/monitor/Clients", "?(?!\\$)[^]*/monitor/Clients"],
    ["#", "?(?!\\$)[^]*//"],
    ["$SYS/#", "?\\$SYS//"],
    ["a/", "?a/(?:)"],
    ["/#", "?(?:)//"],
    ["a.b/(x)", "?a\\.b/\\(x\\)"],
    ["a ", "?a\\x{20}"],
  ])("%j reads as %j", (filter, expression) => {
    const selector = selectorFromMqttFilter(filter);
    expect(selector.kind).toBe("split-path");
    expect(selector.expression).toBe(expression);
    expect(selector.mqttFilters).toEqual([filter]);
  });

  it.each(["", "a/#/b", "a+", "sport/tennis#", "a\u0000"])("rejects %j", (filter) => {
    const err = thrown(() => selectorFromMqttFilter(filter));
    expect(err).toBeInstanceOf(SkeinError);
    expect((err as SkeinError).code).toBe("INVALID_SELECTOR");
  });

  it("matches exactly as MQTT does, and so does its expression", () => {
    fc.assert(
      fc.property(filterArb, fc.array(pathArb, { minLength: 10, maxLength: 10 }), (filter, paths) => {
        const selector = selectorFromMqttFilter(filter);
        const reparsed = parseSelector(selector.expression);
        for (const path of paths) {
          const expected = matchesMqttFilter(filter, path);
          expect(selector.matches(path)).toBe(expected);
          expect(reparsed.matches(path), `${filter} as ${selector.expression} on ${path}`).toBe(expected);
        }
        // The expression maps back to the filter (modulo '#' = '+/#') when it has no regex levels.
        if (reparsed.mqttFilters !== undefined) {
          expect(reparsed.mqttFilters).toEqual([filter === "+/#" ? "#" : filter]);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
