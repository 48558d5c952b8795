import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SkeinError } from "./errors.js";
import { checkPath, isSystemPath, isValidPath, pathProblem, pathSegments, utf8Length } from "./topic-path.js";

/** Any UTF-16 code unit, so lone surrogates turn up as well as pairs. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

describe("pathProblem", () => {
  it.each<[string, string | undefined]>([
    ["a", undefined],
    ["a/b/c", undefined],
    ["/a", undefined], // leading, trailing and doubled separators are distinct topics [MQTT-4.7.1-1]
    ["a/", undefined],
    ["a//b", undefined],
    ["/", undefined],
    [" ", undefined],
    ["$SYS/broker", undefined],
    ["Accounts payable", undefined],
    ["😀/é/中", undefined],
    ["a\nb", undefined],
    ["", "empty"],
    ["a/+", "wildcard"],
    ["+", "wildcard"],
    ["a/#", "wildcard"],
    ["a#b", "wildcard"],
    ["a\u0000b", "NUL"],
    ["\ud800", "UTF"],
    ["a\ud800b", "UTF"],
    ["\udc00a", "UTF"],
    ["\udc00\ud800", "UTF"], // a pair the wrong way round
  ])("%j: %s", (path, problem) => {
    const actual = pathProblem(path);
    if (problem === undefined) expect(actual).toBeUndefined();
    else expect(actual).toContain(problem);
    expect(isValidPath(path)).toBe(problem === undefined);
  });

  it("allows at most 65,535 UTF-8 bytes [MQTT-4.7.3-3]", () => {
    expect(pathProblem("a".repeat(65535))).toBeUndefined();
    expect(pathProblem("a".repeat(65536))).toContain("longer than 65535 bytes");
    expect(pathProblem("é".repeat(32767) + "a")).toBeUndefined();
    expect(pathProblem("é".repeat(32768))).toContain("longer than 65535 bytes");
    expect(pathProblem("😀".repeat(16384))).toContain("longer than 65535 bytes");
  });

  it("honours maxBytes and maxDepth", () => {
    expect(pathProblem("abcd", 4)).toBeUndefined();
    expect(pathProblem("abcde", 4)).toContain("longer than 4 bytes");
    expect(pathProblem("a/b/c", undefined, 3)).toBeUndefined();
    expect(pathProblem("a/b/c/d", undefined, 3)).toContain("deeper than 3 levels");
    expect(pathProblem("//", undefined, 2)).toContain("deeper");
  });

  it("rejects a non-string", () => {
    expect(pathProblem(undefined as unknown as string)).toBe("path is empty");
  });

  it("accepts exactly the strings with no wildcard, NUL or lone surrogate", () => {
    fc.assert(
      fc.property(fc.string({ unit: codeUnit, minLength: 1, maxLength: 10 }), (path) => {
        // In u mode \p{Cs} matches only a lone surrogate (a pair is read as one code point).
        const expected = !/\p{Cs}|[+#]/u.test(path) && !path.includes("\u0000");
        expect(pathProblem(path) === undefined).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("checkPath", () => {
  it("returns a valid path and throws INVALID_PATH otherwise", () => {
    expect(checkPath("a/b")).toBe("a/b");
    expect(() => checkPath("a/+")).toThrow(SkeinError);
    try {
      checkPath("a/+");
    } catch (err) {
      expect((err as SkeinError).code).toBe("INVALID_PATH");
      expect((err as SkeinError).message).toContain('"a/+"');
    }
  });
});

describe("pathSegments and isSystemPath", () => {
  it.each<[string, string[]]>([
    ["a", ["a"]],
    ["a/b", ["a", "b"]],
    ["/a", ["", "a"]],
    ["a/", ["a", ""]],
    ["a//b", ["a", "", "b"]],
  ])("%j has segments %j", (path, segments) => {
    expect(pathSegments(path)).toEqual(segments);
  });

  it.each<[string, boolean]>([
    ["$SYS/x", true],
    ["$", true],
    ["a/$SYS", false],
    ["/$SYS", false],
    ["", false],
  ])("%j is a $ topic: %s", (path, expected) => {
    expect(isSystemPath(path)).toBe(expected);
  });
});

describe("utf8Length", () => {
  const encoder = new TextEncoder();

  it.each([
    ["", 0],
    ["a", 1],
    ["é", 2],
    ["中", 3],
    ["😀", 4],
    ["\ud800", 3], // lone surrogates count as U+FFFD, as TextEncoder writes them
    ["\ud800é", 5],
    ["\ud800\u4e2d", 6],
    ["\udc00\ud800", 6],
  ])("%j is %i bytes", (s, n) => {
    expect(utf8Length(s)).toBe(n);
  });

  it("equals the TextEncoder length for any string, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: codeUnit })), (s) => {
        expect(utf8Length(s)).toBe(encoder.encode(s).length);
      }),
      { numRuns: 3000 },
    );
  });
});
