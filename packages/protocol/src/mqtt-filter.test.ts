import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchesMqttFilter, mqttFilterProblem } from "./mqtt-filter.js";

/** The obvious split-based MQTT matcher, to check the hand-rolled one against. */
function referenceMatch(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Levels to build filters and topics from: wildcards, `$` names, empty levels, non-ASCII. */
const LEVELS = ["a", "b", "ab", "", " ", "$", "$SYS", "é", "😀", "A"];
const topicArb = fc
  .array(fc.constantFrom(...LEVELS), { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join("/"))
  .filter((t) => t.length > 0);
const filterArb = fc
  .tuple(fc.array(fc.constantFrom(...LEVELS, "+", "+"), { minLength: 0, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, "#"] : levels).join("/"))
  .filter((f) => f.length > 0);

describe("mqttFilterProblem", () => {
  it.each<[string, boolean]>([
    // MQTT 5 §4.7.1.2
    ["sport/tennis/player1/#", true],
    ["sport/#", true],
    ["#", true],
    ["sport/tennis/#", true],
    ["sport/tennis#", false],
    ["sport/tennis/#/ranking", false],
    // MQTT 5 §4.7.1.3
    ["+", true],
    ["+/tennis/#", true],
    ["sport+", false],
    ["sport/+/player1", true],
    ["/+", true],
    ["+/+", true],
    // more edges
    ["", false],
    ["/", true],
    ["//", true],
    ["a//b", true],
    ["$SYS/#", true],
    ["$share/g/a", true], // not special here: the server strips $share first
    ["#/a", false],
    ["##", false],
    ["a/#/", false],
    ["++", false],
    ["a/++", false],
    ["+a", false],
    ["a+/b", false],
    ["a/+b", false],
    ["+/#", true],
    ["a\u0000b", false],
    ["\ud800", false],
    ["a\udc00", false],
    ["\ud800a", false],
    ["😀/+", true],
    ["Accounts payable", true],
  ])("%j valid: %s", (filter, valid) => {
    expect(mqttFilterProblem(filter) === undefined).toBe(valid);
  });

  it.each<[string, string]>([
    ["", "empty"],
    ["sport/tennis#", "'#' at position 12"],
    ["sport/tennis/#/ranking", "'#' at position 13"],
    ["sport+", "'+' at position 5"],
    ["a/+b", "'+' at position 2"],
    ["a\u0000", "NUL character at position 1"],
    ["ab\ud800", "unpaired surrogate at position 2"],
  ])("%j: says %j", (filter, message) => {
    expect(mqttFilterProblem(filter)).toContain(message);
  });

  it("allows at most 65,535 UTF-8 bytes [MQTT-4.7.3-3]", () => {
    expect(mqttFilterProblem("a".repeat(65535))).toBeUndefined();
    expect(mqttFilterProblem("a".repeat(65536))).toContain("longer than 65535 bytes");
    expect(mqttFilterProblem("é".repeat(32767) + "a")).toBeUndefined();
    expect(mqttFilterProblem("é".repeat(32767) + "ab")).toContain("longer than 65535 bytes");
    expect(mqttFilterProblem("😀".repeat(16383) + "abc")).toBeUndefined();
    expect(mqttFilterProblem("😀".repeat(16384))).toContain("longer than 65535 bytes");
    expect(mqttFilterProblem("a/".repeat(32767) + "#")).toBeUndefined();
  });

  it("accepts exactly the filters whose levels are wildcards alone, '#' last", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "/", "+", "#", "$"), minLength: 1, maxLength: 8 }),
        (filter) => {
          const levels = filter.split("/");
          const valid = levels.every(
            (l, i) =>
              (!l.includes("+") || l === "+") && (!l.includes("#") || (l === "#" && i === levels.length - 1)),
          );
          expect(mqttFilterProblem(filter) === undefined).toBe(valid);
        },
      ),
    );
  });
});

describe("matchesMqttFilter", () => {
  it.each<[string, string, boolean]>([
    // MQTT 5 §4.7.1.2: '#' matches the parent level and any number of children
    ["sport/tennis/player1/#", "sport/tennis/player1", true],
    ["sport/tennis/player1/#", "sport/tennis/player1/ranking", true],
    ["sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true],
    ["sport/tennis/player1/#", "sport/tennis/player2", false],
    ["sport/tennis/player1/#", "sport/tennis/player10", false],
    ["sport/#", "sport", true],
    ["#", "sport/tennis", true],
    ["#", "/", true],
    // MQTT 5 §4.7.1.3: '+' matches exactly one level, which may be empty
    ["sport/tennis/+", "sport/tennis/player1", true],
    ["sport/tennis/+", "sport/tennis/player2", true],
    ["sport/tennis/+", "sport/tennis/player1/ranking", false],
    ["sport/+", "sport", false],
    ["sport/+", "sport/", true],
    ["+/+", "/finance", true],
    ["/+", "/finance", true],
    ["+", "/finance", false],
    ["+", "finance", true],
    ["+/tennis/#", "sport/tennis", true],
    ["sport/+/player1", "sport/tennis/player1", true],
    ["sport/+/player1", "sport/tennis/player2", false],
    // MQTT 5 §4.7.2: leading wildcards do not match '$' topics [MQTT-4.7.2-1]
    ["#", "$SYS/x", false],
    ["#", "$SYS", false],
    ["+", "$SYS", false],
    ["+/monitor/Clients", "$SYS/monitor/Clients", false],
    ["$SYS/#", "$SYS/x", true],
    ["$SYS/#", "$SYS", true],
    ["$SYS/monitor/+", "$SYS/monitor/Clients", true],
    ["a/+", "a/$x", true], // the '$' rule is about the first level only
    ["a/#", "a/$x", true],
    ["+/$x", "b/$x", true],
    // MQTT 5 §4.7.3: case-sensitive, no normalisation
    ["ACCOUNTS", "Accounts", false],
    ["Accounts payable", "Accounts payable", true],
    ["/finance", "finance", false],
    ["finance", "/finance", false],
    ["a//b", "a/b", false],
    ["a//b", "a//b", true],
    ["a/+/b", "a//b", true],
    ["a/b", "a/b/", false],
    ["a/b/", "a/b/", true],
    ["a/b/", "a/b", false],
    ["a/b/#", "a/b/", true],
    ["a/b/+/#", "a/b", false],
    ["a/b/+/#", "a/b/", true],
    ["a/b/+/#", "a/b/c/d", true],
    ["ab", "a", false],
    ["a", "ab", false],
    ["a/bc", "a/b", false],
    ["😀/+", "😀/é", true],
  ])("%j matches %j: %s", (filter, topic, expected) => {
    expect(matchesMqttFilter(filter, topic)).toBe(expected);
    expect(referenceMatch(filter, topic)).toBe(expected);
  });

  it("agrees with the split-based reference on random filters and topics", () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        expect(matchesMqttFilter(filter, topic)).toBe(referenceMatch(filter, topic));
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with the reference on random strings over a small alphabet", () => {
    const unit = fc.constantFrom("a", "b", "/", "$", "+", "#");
    const valid = fc
      .string({ unit, minLength: 1, maxLength: 8 })
      .filter((f) => mqttFilterProblem(f) === undefined);
    fc.assert(
      fc.property(
        valid,
        fc.string({ unit: fc.constantFrom("a", "b", "/", "$"), minLength: 1, maxLength: 8 }),
        (f, t) => {
          expect(matchesMqttFilter(f, t)).toBe(referenceMatch(f, t));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("a filter without wildcards matches only the identical topic", () => {
    fc.assert(
      fc.property(topicArb, topicArb, (a, b) => {
        expect(matchesMqttFilter(a, b)).toBe(a === b);
      }),
    );
  });
});
