// Selector regexes come from untrusted clients: they run on RE2 (linear time), never on a backtracking
// engine (DESIGN §2, issue 12 item 12).
import { describe, expect, it } from "vitest";
import { SkeinError } from "./errors.js";
import { parseSelector, selectorFromMqttFilter } from "./selector.js";

/** Enough a's that a backtracking engine would take minutes on `(a+)+b`: the test would time out. */
const EVIL = "redos/" + "a".repeat(40);

describe("selector regexes run in linear time (RE2)", () => {
  it.each([
    ["*redos/(a+)+b", EVIL],
    ["?redos/(a+)+b", EVIL],
    ["*redos/(a|a)*b", EVIL],
    ["*redos/(a*)*b", EVIL],
    ["#>x////*redos/(a+)+b", EVIL],
  ])("%s against an evil path answers false at once", (expression, path) => {
    const selector = parseSelector(expression);
    expect(selector.matches(path)).toBe(false);
    expect(selector.matches(`${path}b`)).toBe(true);
  });

  it("matches a long evil path (64 KiB) of a nested quantifier", () => {
    const selector = parseSelector("*(x+x+)+y");
    expect(selector.matches("x".repeat(65_535))).toBe(false);
    expect(selector.matches("x".repeat(1000) + "y")).toBe(true);
  });
});

describe("RE2 syntax: what JavaScript has and RE2 lacks is refused when parsed", () => {
  it.each([
    ["*(a)\\1", "backreference"],
    ["?(?=a)a/b", "lookahead"],
    ["*a(?!b)", "negative lookahead"],
    ["*(?<=a)b", "lookbehind"],
    ["?x/[^]*y", "empty negated class inside a larger regex"],
  ])("%s (%s) gives INVALID_SELECTOR naming RE2", (expression) => {
    let error: unknown;
    try {
      parseSelector(expression);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SkeinError);
    expect((error as SkeinError).code).toBe("INVALID_SELECTOR");
    expect((error as SkeinError).message).toContain("RE2 syntax");
  });
});

describe("fast paths keep their meaning", () => {
  it("a literal segment or pattern is compared as a string", () => {
    const split = parseSelector("?a\\.b/c");
    expect(split.matches("a.b/c")).toBe(true);
    expect(split.matches("aXb/c")).toBe(false);
    expect(split.matches("a.bc/c")).toBe(false);
    const full = parseSelector("*a\\.b/c");
    expect(full.matches("a.b/c")).toBe(true);
    expect(full.matches("a.b/cd")).toBe(false);
    expect(full.matches("a.b")).toBe(false);
  });

  it("the MQTT '+' equivalents are still accepted as whole '?' segments", () => {
    const first = parseSelector("?(?!\\$)[^]*/x");
    expect(first.matches("a/x")).toBe(true);
    expect(first.matches("/x")).toBe(true);
    expect(first.matches("$SYS/x")).toBe(false);
    const below = parseSelector("?a/[^]*");
    expect(below.matches("a/$b")).toBe(true);
    expect(below.matches("a/")).toBe(true);
    expect(below.matches("a/b/c")).toBe(false);
  });

  it("an MQTT filter's expression parses back to the same selection", () => {
    for (const filter of ["+/x", "a/+/#", "#", "a b ", "$SYS/+"]) {
      const fromFilter = selectorFromMqttFilter(filter);
      const parsed = parseSelector(fromFilter.expression);
      for (const path of ["a/x", "$SYS/x", "a/b/c", "a b ", "$SYS/load", "x"]) {
        expect(parsed.matches(path), `${filter} ${path}`).toBe(fromFilter.matches(path));
      }
    }
  });
});
