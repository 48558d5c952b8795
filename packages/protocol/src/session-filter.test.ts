import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SkeinError } from "./errors.js";
import {
  MAX_SESSION_FILTER_DEPTH,
  MAX_SESSION_FILTER_LENGTH,
  type SessionFilter,
  compileSessionFilter,
  evaluateSessionFilter,
  formatSessionFilter,
  parseSessionFilter,
} from "./session-filter.js";

type Properties = Record<string, string>;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

function matches(filter: string, properties: Properties): boolean {
  return evaluateSessionFilter(parseSessionFilter(filter), properties);
}

const ALICE: Properties = {
  $SessionId: "s1",
  $Principal: "alice",
  $ClientIP: "10.0.0.1",
  $Transport: "sdk",
  $Roles: "admin, ops,viewer",
  $StartTime: "1700000000000",
  $ServerName: "skein-1",
  country: "UK",
  "user.tier": "gold",
  "x-y": "1",
};
const BOB_MQTT: Properties = { $Principal: "bob", $Transport: "mqtt", $ClientId: "c1", country: "FR" };
const EMPTY: Properties = {};

describe("evaluateSessionFilter", () => {
  it.each<[string, Properties, boolean]>([
    ["all", EMPTY, true],
    ["all", ALICE, true],
    // is / eq / ne
    ["$Principal is 'alice'", ALICE, true],
    ["$Principal eq 'alice'", ALICE, true],
    ["$Principal eq 'Alice'", ALICE, false], // values are case-sensitive
    ["$Principal eq 'bob'", ALICE, false],
    ["$Principal ne 'bob'", ALICE, true],
    ["$Principal ne 'alice'", ALICE, false],
    ["user.tier eq 'gold'", ALICE, true],
    ["x-y eq '1'", ALICE, true],
    ["Country eq 'UK'", ALICE, false], // names are case-sensitive
    // a missing property: eq and in are false, ne is true
    ["tier eq 'gold'", EMPTY, false],
    ["tier eq ''", EMPTY, false],
    ["tier ne 'gold'", EMPTY, true],
    ["tier in ['gold', '']", EMPTY, false],
    ["not tier eq 'gold'", EMPTY, true],
    ["$Principal eq ''", { $Principal: "" }, true], // present but empty is present
    ["has $Principal", { $Principal: "" }, true],
    // in
    ["country in ['UK', 'FR']", ALICE, true],
    ["country in ['UK', 'FR']", BOB_MQTT, true],
    ["country in ['DE']", ALICE, false],
    ["country in ['uk']", ALICE, false],
    // has
    ["has country", ALICE, true],
    ["has tier", ALICE, false],
    ["has $ClientId", BOB_MQTT, true],
    ["has $ClientId", ALICE, false],
    // hasRoles: every listed role, names trimmed on the session side
    ["hasRoles ['admin']", ALICE, true],
    ["hasRoles ['admin', \"ops\"]", ALICE, true],
    ["hasRoles ['ops', 'viewer', 'admin']", ALICE, true],
    ["hasRoles ['admin', 'root']", ALICE, false],
    ["hasRoles ['adm']", ALICE, false],
    ["hasRoles ['Admin']", ALICE, false],
    ["hasRoles ['admin']", BOB_MQTT, false], // no $Roles
    ["hasRoles ['']", { $Roles: "" }, false],
    ["hasRoles ['']", { $Roles: "a,,b" }, false],
    ["hasRoles [' admin']", ALICE, false],
    // not, and, or, parentheses
    ["not $Transport eq 'mqtt'", ALICE, true],
    ["not $Transport eq 'mqtt'", BOB_MQTT, false],
    ["not not has country", ALICE, true],
    ["not all", ALICE, false],
    ["has country and has tier", ALICE, false],
    ["has country or has tier", ALICE, true],
    ["has tier or has nothing", ALICE, false],
    // the example
    ["$Principal is 'alice' and (country eq 'UK' or has tier) and not $Transport eq 'mqtt'", ALICE, true],
    [
      "$Principal is 'alice' and (country eq 'UK' or has tier) and not $Transport eq 'mqtt'",
      { ...ALICE, country: "FR" },
      false,
    ],
    [
      "$Principal is 'alice' and (country eq 'UK' or has tier) and not $Transport eq 'mqtt'",
      { ...ALICE, country: "FR", tier: "" },
      true,
    ],
    [
      "$Principal is 'alice' and (country eq 'UK' or has tier) and not $Transport eq 'mqtt'",
      { ...ALICE, $Transport: "mqtt" },
      false,
    ],
  ])("%s on %j is %s", (filter, properties, expected) => {
    expect(matches(filter, properties)).toBe(expected);
    expect(compileSessionFilter(filter)(properties)).toBe(expected);
  });

  it("counts only own properties, never inherited ones", () => {
    expect(matches("has toString", EMPTY)).toBe(false);
    expect(matches("constructor ne 'x'", EMPTY)).toBe(true);
    expect(matches("has __proto__", EMPTY)).toBe(false);
    const own = JSON.parse('{"__proto__":"x","toString":"y"}') as Properties;
    expect(matches("__proto__ eq 'x' and toString in ['y']", own)).toBe(true);
    expect(matches("has a", Object.assign(Object.create(null) as Properties, { a: "1" }))).toBe(true);
  });

  it("compiles once and evaluates many times", () => {
    const isAdmin = compileSessionFilter("hasRoles ['admin'] and not $Transport eq 'mqtt'");
    expect([ALICE, BOB_MQTT, EMPTY].map(isAdmin)).toEqual([true, false, false]);
    expect(() => compileSessionFilter("has")).toThrow(SkeinError);
  });
});

describe("parseSessionFilter: precedence", () => {
  it.each<[string, string]>([
    // and binds tighter than or
    ["has a or has b and has c", "has a or (has b and has c)"],
    ["has a and has b or has c", "(has a and has b) or has c"],
    ["has a and has b or has c and has d", "(has a and has b) or (has c and has d)"],
    // not binds tightest
    ["not a eq 'x' and b eq 'y'", "(not a eq 'x') and b eq 'y'"],
    ["not has a or has b", "(not has a) or has b"],
    ["not not has a and has b", "(not (not has a)) and has b"],
    ["has a and not has b or has c", "(has a and (not has b)) or has c"],
    // parentheses override, and a redundant pair leaves no trace
    ["((has a))", "has a"],
    ["(has a or has b) and has c", "(has a or has b) and has c"],
    ["not (has a and has b)", "not (has a and has b)"],
  ])("%s reads as %s", (text, grouped) => {
    expect(parseSessionFilter(text)).toEqual(parseSessionFilter(grouped));
  });

  it("keeps chains flat and explicit grouping nested", () => {
    const a = { kind: "has", property: "a" } as const;
    const b = { kind: "has", property: "b" } as const;
    const c = { kind: "has", property: "c" } as const;
    expect(parseSessionFilter("has a and has b and has c")).toEqual({ kind: "and", filters: [a, b, c] });
    expect(parseSessionFilter("has a and (has b and has c)")).toEqual({
      kind: "and",
      filters: [a, { kind: "and", filters: [b, c] }],
    });
    expect(parseSessionFilter("has a or has b and has c")).toEqual({
      kind: "or",
      filters: [a, { kind: "and", filters: [b, c] }],
    });
  });

  it.each<[string, Properties, boolean]>([
    ["has a or has b and has c", { a: "" }, true], // a or (b and c)
    ["has a and has b or has c", { c: "" }, true], // (a and b) or c
    ["(has a or has b) and has c", { a: "" }, false],
    ["not a eq 'x' and b eq 'y'", { a: "z", b: "y" }, true], // (not a='x') and b='y'
    ["not a eq 'x' and b eq 'y'", { a: "x", b: "z" }, false], // not (a='x' and b='y') would be true
    ["not (a eq 'x' and b eq 'y')", { a: "x", b: "z" }, true],
  ])("%s on %j is %s", (filter, properties, expected) => {
    expect(matches(filter, properties)).toBe(expected);
  });
});

describe("parseSessionFilter: syntax", () => {
  it.each<[string, string]>([
    ["A IS 'x'", "A eq 'x'"],
    ["a Eq 'x'", "a eq 'x'"],
    ["a NE 'x'", "a ne 'x'"],
    ["a In ['x']", "a in ['x']"],
    ["HAS a", "has a"],
    ["HASROLES ['x']", "hasRoles ['x']"],
    ["hasroles ['x']", "hasRoles ['x']"],
    ["ALL", "all"],
    ["NOT has a AND has b OR has c", "not has a and has b or has c"],
    // whitespace is free between tokens, and optional where the tokens are not words
    ["  has a  ", "has a"],
    ["\thas\na\r\nand\u00a0has b", "has a and has b"],
    ["(has a)and(has b)", "has a and has b"],
    ["a eq'x'and b in['y','z']", "a eq 'x' and b in ['y', 'z']"],
    // words that start like keywords are names
    ["order eq 'x'", "order eq 'x'"],
    ["has android and has notes or has isbn", "has android and has notes or has isbn"],
    ["has hash", "has hash"],
    // names
    ["$Principal eq 'x'", "$Principal eq 'x'"],
    ["has user.tier", "has user.tier"],
    ["has x-y", "has x-y"],
    ["has _1 and has 2fa and has é and has $.x-", "has _1 and has 2fa and has é and has $.x-"],
  ])("%j formats as %j", (text, canonical) => {
    expect(formatSessionFilter(parseSessionFilter(text))).toBe(canonical);
  });

  it.each<[string, string]>([
    [`a eq 'UK'`, "UK"],
    [`a eq "UK"`, "UK"],
    [`a eq ''`, ""],
    [`a eq ""`, ""],
    [`a eq 'it\\'s'`, "it's"],
    [`a eq "it's"`, "it's"],
    [`a eq 'say "hi"'`, `say "hi"`],
    [`a eq "say \\"hi\\""`, `say "hi"`],
    [`a eq 'back\\\\slash'`, "back\\slash"],
    [`a eq '\\\\'`, "\\"],
    [`a eq '\\n\\x\\ '`, "nx "], // any other escaped character stands for itself
    [`a eq '\\😀'`, "😀"],
    [`a eq 'and or not ( ) [ ] ,'`, "and or not ( ) [ ] ,"],
    [`a eq 'line\nbreak'`, "line\nbreak"],
  ])("%s has the value %j", (text, value) => {
    expect(parseSessionFilter(text)).toEqual({ kind: "eq", property: "a", value });
  });

  it("formats strings with single quotes, escaping only ' and \\", () => {
    expect(formatSessionFilter({ kind: "eq", property: "a", value: `it's "x" \\` })).toBe(
      `a eq 'it\\'s "x" \\\\'`,
    );
  });

  it("gives a plain, JSON-serialisable tree", () => {
    const filter = parseSessionFilter("$Principal is 'alice' and (country in ['UK'] or not hasRoles ['x'])");
    expect(JSON.parse(JSON.stringify(filter))).toEqual(filter);
  });

  it("refuses to format a property name the grammar cannot write", () => {
    for (const property of ["", "a b", "a$b", "$", "and", "HasRoles", "a'b"]) {
      const err = thrown(() => formatSessionFilter({ kind: "has", property }));
      expect(err).toBeInstanceOf(SkeinError);
      expect((err as SkeinError).code).toBe("INVALID_FILTER");
    }
  });
});

describe("parseSessionFilter: errors", () => {
  it.each<[string, number, string]>([
    // empty input
    ["", 0, "empty filter"],
    ["   ", 0, "empty filter"],
    // unterminated string
    ["a eq 'x", 5, "unterminated string"],
    ['a eq "x\\"', 5, "unterminated string"],
    ["a eq 'x\\", 5, "unterminated string"],
    // missing operand
    ["a eq 'x' and", 12, "expected a condition after 'and' at position 12, found the end of the filter"],
    ["a eq 'x' or", 11, "expected a condition after 'or'"],
    ["not", 3, "expected a condition after 'not'"],
    ["and has a", 0, "expected a condition at position 0, found the keyword 'and'"],
    ["has a or or has b", 9, "expected a condition after 'or' at position 9, found the keyword 'or'"],
    ["()", 1, "expected a condition after '(' at position 1, found ')'"],
    ["has", 3, "expected a property name after 'has'"],
    ["has and", 4, "expected a property name after 'has' at position 4, found the keyword 'and'"],
    ["has 'x'", 4, "expected a property name after 'has' at position 4, found 'x'"],
    ["a eq", 4, "expected a quoted string after 'eq' at position 4, found the end of the filter"],
    ["country eq UK", 11, "expected a quoted string after 'eq' at position 11, found 'UK'"],
    [
      "$Principal is 'alice' and (country eq UK or has tier)",
      38,
      "expected a quoted string after 'eq' at position 38, found 'UK' (near \"…ce' and (country eq ▶UK or has tier)\")",
    ],
    // unknown operator
    [
      "a like 'x'",
      2,
      "expected an operator ('is', 'eq', 'ne' or 'in') after 'a' at position 2, found 'like'",
    ],
    ["a", 1, "expected an operator ('is', 'eq', 'ne' or 'in') after 'a'"],
    ["a has 'x'", 2, "found the keyword 'has'"],
    ["a = 'x'", 2, "unexpected character '=' at position 2 (use 'eq')"],
    ["a != 'x'", 2, "unexpected character '!' at position 2 (use 'ne' or 'not')"],
    ["has a && has b", 6, "unexpected character '&' at position 6 (use 'and')"],
    ["has a @", 6, "unexpected character '@'"],
    ["has a 😀", 6, "unexpected character '😀'"],
    ["a$b eq 'x'", 0, "invalid name 'a$b'"],
    ["$$a eq 'x'", 0, "invalid name '$$a'"],
    ["$ eq 'x'", 0, "invalid name '$'"],
    // trailing tokens
    ["all all", 4, "expected 'and', 'or' or the end of the filter after 'all' at position 4"],
    [
      "a eq 'x' b eq 'y'",
      9,
      "expected 'and', 'or' or the end of the filter after 'x' at position 9, found 'b'",
    ],
    ["a eq 'x' 'y'", 9, "found 'y'"],
    // in without a list
    ["a in 'UK'", 5, "expected '[' after 'in' at position 5, found 'UK'"],
    ["a in", 4, "expected '[' after 'in'"],
    ["a in []", 6, "expected a quoted string after '[' at position 6, found ']'"],
    ["a in ['UK'", 10, "expected ',' or ']' after 'UK' at position 10, found the end of the filter"],
    ["a in ['UK' 'FR']", 11, "expected ',' or ']' after 'UK' at position 11, found 'FR'"],
    ["a in ['UK',]", 11, "expected a quoted string after ',' at position 11, found ']'"],
    ["a in [UK]", 6, "found 'UK'"],
    ["hasRoles admin", 9, "expected '[' after 'hasRoles' at position 9, found 'admin'"],
    ["hasRoles []", 10, "expected a quoted string after '['"],
    // unbalanced parentheses
    ["(has a", 6, "expected 'and', 'or' or ')' after 'a' at position 6, found the end of the filter"],
    ["((has a)", 8, "expected 'and', 'or' or ')' after ')' at position 8"],
    ["has a)", 5, "unexpected ')' with no matching '(' at position 5"],
    ["(has a))", 7, "unexpected ')' with no matching '('"],
    [")", 0, "expected a condition at position 0, found ')'"],
    ["(has a]", 6, "expected 'and', 'or' or ')' after 'a' at position 6, found ']'"],
  ])("%j fails at %i", (text, position, message) => {
    const err = thrown(() => parseSessionFilter(text));
    expect(err).toBeInstanceOf(SkeinError);
    expect((err as SkeinError).code).toBe("INVALID_FILTER");
    expect((err as SkeinError).message).toMatch(/^invalid session filter: /u);
    expect((err as SkeinError).message).toContain(`at position ${position}`);
    expect((err as SkeinError).message).toContain(message);
  });

  it("shows the filter near the problem on one line", () => {
    const err = thrown(() => parseSessionFilter("x\n eq 'y' @")) as SkeinError;
    expect(err.message).toBe(
      `invalid session filter: unexpected character '@' at position 10 (near "x  eq 'y' ▶@")`,
    );
  });

  it("rejects what is not a string", () => {
    const err = thrown(() => parseSessionFilter(42 as unknown as string));
    expect(err).toBeInstanceOf(SkeinError);
    expect((err as SkeinError).code).toBe("INVALID_FILTER");
  });

  it(`caps the length at ${MAX_SESSION_FILTER_LENGTH} characters`, () => {
    const longest = "all" + " ".repeat(MAX_SESSION_FILTER_LENGTH - 3);
    expect(parseSessionFilter(longest)).toEqual({ kind: "all" });
    const err = thrown(() => parseSessionFilter(longest + " ")) as SkeinError;
    expect(err.code).toBe("INVALID_FILTER");
    expect(err.message).toContain(`longer than ${MAX_SESSION_FILTER_LENGTH} characters at position 4096`);
  });

  it(`caps nesting of '(' and 'not' at ${MAX_SESSION_FILTER_DEPTH} levels`, () => {
    const parens = (n: number): string => "(".repeat(n) + "has a" + ")".repeat(n);
    const nots = (n: number): string => "not ".repeat(n) + "has a";
    expect(parseSessionFilter(parens(MAX_SESSION_FILTER_DEPTH))).toEqual({ kind: "has", property: "a" });
    expect(evaluateSessionFilter(parseSessionFilter(nots(MAX_SESSION_FILTER_DEPTH)), { a: "" })).toBe(true);
    expect(parseSessionFilter("not (".repeat(32) + "has a" + ")".repeat(32))).toBeDefined();
    const cases: [string, number][] = [
      [parens(MAX_SESSION_FILTER_DEPTH + 1), 64],
      [nots(MAX_SESSION_FILTER_DEPTH + 1), 256],
      ["not (".repeat(33) + "has a" + ")".repeat(33), 32 * 5],
    ];
    for (const [text, position] of cases) {
      const err = thrown(() => parseSessionFilter(text)) as SkeinError;
      expect(err.code).toBe("INVALID_FILTER");
      expect(err.message).toContain(`deeper than ${MAX_SESSION_FILTER_DEPTH} levels`);
      expect(err.message).toContain(`at position ${position}`);
    }
    // a long flat chain is not nesting
    expect(parseSessionFilter(Array(400).fill("has a").join(" or "))).toMatchObject({ kind: "or" });
  });
});

/** Names to build filters and sessions from: `$` names, `.` and `-`, keyword prefixes, non-ASCII, proto keys. */
const NAMES = [
  "a",
  "b",
  "$Principal",
  "$Transport",
  "$Roles",
  "country",
  "user.tier",
  "x-y",
  "_1",
  "2fa",
  "é",
  "Tier",
  "order",
  "notes",
  "__proto__",
  "toString",
];
/** Values with quotes, backslashes, keywords, spaces and astral characters. */
const VALUES = ["", "x", "UK", "it's", 'say "hi"', "back\\slash", "\\", "'", "and", " a ", "😀", "admin"];
const ROLES = ["admin", "ops", " admin", "", "viewer"];

const nameArb = fc.constantFrom(...NAMES);
const valueArb = fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 6 }));
const listArb = fc.array(valueArb, { minLength: 1, maxLength: 3 }) as fc.Arbitrary<[string, ...string[]]>;
const operandsArb = (node: fc.Arbitrary<SessionFilter>) =>
  fc.array(node, { minLength: 2, maxLength: 4 }) as fc.Arbitrary<
    [SessionFilter, SessionFilter, ...SessionFilter[]]
  >;

const { filter: filterArb } = fc.letrec<{ filter: SessionFilter }>((tie) => ({
  filter: fc.oneof(
    { maxDepth: 6, depthSize: "small", withCrossShrink: true },
    fc.oneof(
      fc.constant<SessionFilter>({ kind: "all" }),
      fc.record({ kind: fc.constantFrom("eq" as const, "ne" as const), property: nameArb, value: valueArb }),
      fc.record({ kind: fc.constant("in" as const), property: nameArb, values: listArb }),
      fc.record({ kind: fc.constant("has" as const), property: nameArb }),
      fc.record({
        kind: fc.constant("hasRoles" as const),
        roles: fc.array(fc.constantFrom(...ROLES), { minLength: 1, maxLength: 3 }) as fc.Arbitrary<
          [string, ...string[]]
        >,
      }),
    ),
    fc.record({ kind: fc.constant("not" as const), filter: tie("filter") }),
    fc.record({ kind: fc.constantFrom("and" as const, "or" as const), filters: operandsArb(tie("filter")) }),
  ),
}));

const propertiesArb: fc.Arbitrary<Properties> = fc
  .tuple(
    fc.dictionary(fc.oneof(nameArb, fc.string({ maxLength: 4 })), valueArb, { maxKeys: 8 }),
    fc.option(fc.array(fc.constantFrom(...ROLES), { maxLength: 4 }).map((roles) => roles.join(","))),
  )
  .map(([properties, roles]) => (roles === null ? properties : { ...properties, $Roles: roles }));

/** Fragments that make random text look like a filter often enough to reach deep into the parser. */
const FRAGMENTS = [
  "(",
  ")",
  "[",
  "]",
  ",",
  "'",
  '"',
  "\\",
  " ",
  "and",
  "OR",
  "not",
  "has",
  "hasRoles",
  "in",
  "eq",
  "Is",
  "ne",
  "all",
  "a",
  "$Principal",
  "'x'",
  '"y"',
  "$",
  "=",
  "😀",
  "\ud800",
  "\n",
];
/** A valid filter with a few characters cut out or replaced, to hit the errors a person makes. */
const damagedArb = fc
  .tuple(filterArb.map(formatSessionFilter), fc.nat(), fc.nat({ max: 3 }), fc.constantFrom("", ...FRAGMENTS))
  .map(([text, at, cut, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + cut);
  });
const filterishArb = fc.oneof(
  damagedArb,
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 20 }).map((parts) => parts.join("")),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 20 }).map((parts) => parts.join(" ")),
);

describe("session filters: properties", () => {
  it("format then parse gives an equal tree", () => {
    fc.assert(
      fc.property(filterArb, (filter) => {
        expect(parseSessionFilter(formatSessionFilter(filter))).toEqual(filter);
      }),
      { numRuns: 1000 },
    );
  });

  it("format then parse evaluates the same on any session", () => {
    fc.assert(
      fc.property(filterArb, fc.array(propertiesArb, { minLength: 1, maxLength: 5 }), (filter, sessions) => {
        const compiled = compileSessionFilter(formatSessionFilter(filter));
        for (const properties of sessions) {
          expect(compiled(properties)).toBe(evaluateSessionFilter(filter, properties));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("ne is exactly not eq, and in is an or of eq", () => {
    fc.assert(
      fc.property(nameArb, valueArb, listArb, propertiesArb, (name, value, values, properties) => {
        const ne = evaluateSessionFilter({ kind: "ne", property: name, value }, properties);
        const eq = evaluateSessionFilter({ kind: "eq", property: name, value }, properties);
        expect(ne).toBe(!eq);
        const inList = evaluateSessionFilter({ kind: "in", property: name, values }, properties);
        const anyEq = values.some((v) =>
          evaluateSessionFilter({ kind: "eq", property: name, value: v }, properties),
        );
        expect(inList).toBe(anyEq);
      }),
    );
  });

  it("parse throws nothing but INVALID_FILTER, at a position inside the text", () => {
    fc.assert(
      fc.property(filterishArb, (text) => {
        let filter: SessionFilter;
        try {
          filter = parseSessionFilter(text);
        } catch (err) {
          expect(err).toBeInstanceOf(SkeinError);
          expect((err as SkeinError).code).toBe("INVALID_FILTER");
          const position = Number(/at position (\d+)/u.exec((err as SkeinError).message)?.[1]);
          expect(position).toBeGreaterThanOrEqual(0);
          expect(position).toBeLessThanOrEqual(text.length);
          return;
        }
        // What parses is canonical after one format.
        expect(parseSessionFilter(formatSessionFilter(filter))).toEqual(filter);
      }),
      { numRuns: 3000 },
    );
  });

  it("evaluation never throws", () => {
    fc.assert(
      fc.property(
        fc.oneof(filterishArb, filterArb.map(formatSessionFilter)),
        propertiesArb,
        (text, properties) => {
          let filter: SessionFilter;
          try {
            filter = parseSessionFilter(text);
          } catch {
            return;
          }
          expect(typeof evaluateSessionFilter(filter, properties)).toBe("boolean");
        },
      ),
      { numRuns: 2000 },
    );
  });
});
