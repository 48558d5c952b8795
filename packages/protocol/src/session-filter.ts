/**
 * Session filters: select sessions by their properties (DESIGN §6), e.g.
 * `$Principal is 'alice' and (country eq 'UK' or has tier) and not $Transport eq 'mqtt'`.
 *
 * | Form | True when |
 * | --- | --- |
 * | `p is 'v'`, `p eq 'v'` | property `p` is present and equals `v` |
 * | `p ne 'v'` | `p` is missing or differs from `v` (so `ne` is exactly `not ... eq`) |
 * | `p in ['v1', 'v2']` | `p` is present and equals one of the values |
 * | `has p` | `p` is present |
 * | `hasRoles ['r1', 'r2']` | `$Roles` (comma-separated, each name trimmed) holds every listed role |
 * | `all` | always |
 * | `not f`, `f and g`, `f or g`, `(f)` | as in logic; `not` binds tightest, then `and`, then `or` |
 *
 * Rules worth knowing:
 * - Keywords and operators match case-insensitively (`AND`, `Is`, `HASROLES`) and are reserved: none of
 *   `all and or not has hasRoles is eq ne in` can be a property name, in any case.
 * - Property names are case-sensitive: letters, digits, `_`, `.` and `-`, optionally after one leading
 *   `$` (`$Principal`, `user.tier`, `x-y`). Values are compared exactly, case-sensitively.
 * - Strings take single or double quotes; `\` makes the next character stand for itself (`\'`, `\"`,
 *   `\\`; `\n` is just `n`). Lists hold at least one string.
 * - Errors are `SkeinError` `INVALID_FILTER` naming a 0-based position (UTF-16 code units) in the text.
 *   Filters are capped at {@link MAX_SESSION_FILTER_LENGTH} characters and
 *   {@link MAX_SESSION_FILTER_DEPTH} levels of `(` and `not`.
 *
 * @module
 */
import { SkeinError } from "./errors.js";
import {
  KEYWORDS,
  NAME,
  type Token,
  type TokenKind,
  failFilter,
  quoteSource,
  tokenize,
} from "./session-filter-lexer.js";

/**
 * A parsed session filter: a plain, JSON-serialisable tree, discriminated on `kind`. Lists hold at
 * least one value and `and`/`or` at least two operands. Parentheses leave no node of their own, but
 * `a and (b and c)` keeps its inner `and` node, so {@link formatSessionFilter} gives back the grouping.
 */
export type SessionFilter =
  | {
      /** `all`: every session. */
      readonly kind: "all";
    }
  | {
      /** `p is 'v'` or `p eq 'v'`: the property is present and equals the value. */
      readonly kind: "eq";
      /** The property's name. */
      readonly property: string;
      /** The value it must equal. */
      readonly value: string;
    }
  | {
      /** `p ne 'v'`: the property is missing or differs from the value. */
      readonly kind: "ne";
      /** The property's name. */
      readonly property: string;
      /** The value it must not equal. */
      readonly value: string;
    }
  | {
      /** `p in ['v1', 'v2']`: the property is present and equals one of the values. */
      readonly kind: "in";
      /** The property's name. */
      readonly property: string;
      /** The values (at least one). */
      readonly values: readonly [string, ...string[]];
    }
  | {
      /** `has p`: the property is present. */
      readonly kind: "has";
      /** The property's name. */
      readonly property: string;
    }
  | {
      /** `hasRoles ['r1', 'r2']`: `$Roles` holds every listed role. */
      readonly kind: "hasRoles";
      /** The roles (at least one). */
      readonly roles: readonly [string, ...string[]];
    }
  | {
      /** `not f`. */
      readonly kind: "not";
      /** The negated filter. */
      readonly filter: SessionFilter;
    }
  | {
      /** `f and g`: all operands hold. */
      readonly kind: "and";
      /** The operands (at least two). */
      readonly filters: readonly [SessionFilter, SessionFilter, ...SessionFilter[]];
    }
  | {
      /** `f or g`: some operand holds. */
      readonly kind: "or";
      /** The operands (at least two). */
      readonly filters: readonly [SessionFilter, SessionFilter, ...SessionFilter[]];
    };

/** The longest filter text, in UTF-16 code units. */
export const MAX_SESSION_FILTER_LENGTH = 4096;

/** The deepest nesting of `(` and `not` in a filter. */
export const MAX_SESSION_FILTER_DEPTH = 64;

/**
 * Parses a session filter.
 *
 * @example
 * ```ts
 * const filter = parseSessionFilter("$Principal is 'alice' and (country eq 'UK' or has tier)");
 * evaluateSessionFilter(filter, { $Principal: "alice", tier: "gold" }); // true
 * evaluateSessionFilter(filter, { $Principal: "alice", country: "FR" }); // false
 * parseSessionFilter("country eq UK");
 * // throws SkeinError INVALID_FILTER: "invalid session filter: expected a quoted string after 'eq'
 * //   at position 11, found 'UK' (near "country eq ▶UK")"
 * ```
 * @param text - the filter (see the module description for the grammar)
 * @throws SkeinError `INVALID_FILTER` naming the position of the problem
 */
export function parseSessionFilter(text: string): SessionFilter {
  if (typeof text !== "string") throw new SkeinError("INVALID_FILTER", "session filter is not a string");
  if (text.length > MAX_SESSION_FILTER_LENGTH) {
    failFilter(
      text,
      MAX_SESSION_FILTER_LENGTH,
      `filter is longer than ${MAX_SESSION_FILTER_LENGTH} characters`,
    );
  }
  return new Parser(text).parse();
}

/**
 * True when the session with these properties matches the filter. A missing property makes `eq`, `in`
 * and `has` false and `ne` true. Never throws for a filter from {@link parseSessionFilter}.
 *
 * @param filter - a parsed filter
 * @param properties - the session's properties; only own properties count (`has toString` is false)
 */
export function evaluateSessionFilter(
  filter: SessionFilter,
  properties: Readonly<Record<string, string>>,
): boolean {
  switch (filter.kind) {
    case "all":
      return true;
    case "eq":
      return lookup(properties, filter.property) === filter.value;
    case "ne":
      return lookup(properties, filter.property) !== filter.value;
    case "in": {
      const value = lookup(properties, filter.property);
      return value !== undefined && filter.values.includes(value);
    }
    case "has":
      return lookup(properties, filter.property) !== undefined;
    case "hasRoles": {
      const roles = new Set((lookup(properties, "$Roles") ?? "").split(",").map((role) => role.trim()));
      roles.delete(""); // '$Roles' of "" or "a,,b" holds no empty role
      return filter.roles.every((role) => roles.has(role));
    }
    case "not":
      return !evaluateSessionFilter(filter.filter, properties);
    case "and":
      return filter.filters.every((f) => evaluateSessionFilter(f, properties));
    case "or":
      return filter.filters.some((f) => evaluateSessionFilter(f, properties));
  }
}

/**
 * Parses a filter once and returns a test to run against many sessions.
 *
 * @param text - the filter
 * @throws SkeinError `INVALID_FILTER`, as {@link parseSessionFilter}
 */
export function compileSessionFilter(
  text: string,
): (properties: Readonly<Record<string, string>>) => boolean {
  const filter = parseSessionFilter(text);
  return (properties) => evaluateSessionFilter(filter, properties);
}

/**
 * The canonical text of a filter, which {@link parseSessionFilter} turns back into an equal tree:
 * lower-case keywords, `eq` for equality, single-quoted strings (only `'` and `\` escaped), `, ` in
 * lists, and parentheses only where the grouping needs them.
 *
 * @param filter - a filter tree
 * @throws SkeinError `INVALID_FILTER` when a hand-built tree names a property the grammar cannot
 *   write (not a name, or a keyword)
 */
export function formatSessionFilter(filter: SessionFilter): string {
  switch (filter.kind) {
    case "all":
      return "all";
    case "eq":
    case "ne":
      return `${formatName(filter.property)} ${filter.kind} ${formatString(filter.value)}`;
    case "in":
      return `${formatName(filter.property)} in ${formatList(filter.values)}`;
    case "has":
      return `has ${formatName(filter.property)}`;
    case "hasRoles":
      return `hasRoles ${formatList(filter.roles)}`;
    case "not":
      return `not ${formatOperand(filter.filter, ["and", "or"])}`;
    case "and":
      return filter.filters.map((f) => formatOperand(f, ["and", "or"])).join(" and ");
    case "or":
      return filter.filters.map((f) => formatOperand(f, ["or"])).join(" or ");
  }
}

function lookup(properties: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(properties, name) ? properties[name] : undefined;
}

/** Formats an operand, in parentheses when its kind is one of `grouped`. */
function formatOperand(filter: SessionFilter, grouped: readonly SessionFilter["kind"][]): string {
  const text = formatSessionFilter(filter);
  return grouped.includes(filter.kind) ? `(${text})` : text;
}

function formatName(name: string): string {
  if (!NAME.test(name) || KEYWORDS.has(name.toLowerCase())) {
    throw new SkeinError(
      "INVALID_FILTER",
      `property name ${JSON.stringify(name)} cannot be written in a filter`,
    );
  }
  return name;
}

function formatString(value: string): string {
  return `'${value.replace(/['\\]/gu, "\\$&")}'`;
}

function formatList(values: readonly string[]): string {
  return `[${values.map(formatString).join(", ")}]`;
}

/**
 * Recursive descent over the tokens, one method per precedence level:
 * `or` := `and` ("or" `and`)*; `and` := `unary` ("and" `unary`)*; `unary` := "not" `unary` | `primary`;
 * `primary` := "(" `or` ")" | "all" | "has" name | "hasRoles" list | name ("is"|"eq"|"ne") string |
 * name "in" list; `list` := "[" string ("," string)* "]".
 */
class Parser {
  private readonly tokens: readonly Token[];
  private readonly end: Token;
  private index = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
    this.end = { kind: "end", text: "", start: text.length, end: text.length };
  }

  parse(): SessionFilter {
    if (this.tokens.length === 0) failFilter(this.text, 0, "empty filter (use 'all' to match every session)");
    const filter = this.parseOr();
    if (this.peek().kind === ")") this.fail("unexpected ')' with no matching '('");
    if (this.peek().kind !== "end") this.expected("'and', 'or' or the end of the filter");
    return filter;
  }

  private parseOr(): SessionFilter {
    const first = this.parseAnd();
    const rest: SessionFilter[] = [];
    while (this.takeKeyword("or")) rest.push(this.parseAnd());
    return join("or", first, rest);
  }

  private parseAnd(): SessionFilter {
    const first = this.parseUnary();
    const rest: SessionFilter[] = [];
    while (this.takeKeyword("and")) rest.push(this.parseUnary());
    return join("and", first, rest);
  }

  private parseUnary(): SessionFilter {
    if (!isKeyword(this.peek(), "not")) return this.parsePrimary();
    this.open();
    const filter = this.parseUnary();
    this.depth--;
    return { kind: "not", filter };
  }

  private parsePrimary(): SessionFilter {
    if (this.peek().kind === "(") {
      this.open();
      const filter = this.parseOr();
      this.expectPunctuation(")", "'and', 'or' or ')'");
      this.depth--;
      return filter;
    }
    if (this.takeKeyword("all")) return { kind: "all" };
    if (this.takeKeyword("has")) return { kind: "has", property: this.expectName() };
    if (this.takeKeyword("hasroles")) return { kind: "hasRoles", roles: this.expectList() };
    if (!isName(this.peek())) return this.expected("a condition");
    const property = this.next().text;
    const operator = this.peek().kind === "word" ? this.peek().text.toLowerCase() : "";
    switch (operator) {
      case "is":
      case "eq":
        this.next();
        return { kind: "eq", property, value: this.expectString() };
      case "ne":
        this.next();
        return { kind: "ne", property, value: this.expectString() };
      case "in":
        this.next();
        return { kind: "in", property, values: this.expectList() };
      default:
        return this.expected("an operator ('is', 'eq', 'ne' or 'in')");
    }
  }

  private expectName(): string {
    if (!isName(this.peek())) return this.expected("a property name");
    return this.next().text;
  }

  private expectString(): string {
    if (this.peek().kind !== "string") return this.expected("a quoted string");
    return this.next().text;
  }

  private expectList(): [string, ...string[]] {
    this.expectPunctuation("[", "'['");
    const values: [string, ...string[]] = [this.expectString()];
    while (this.peek().kind === ",") {
      this.next();
      values.push(this.expectString());
    }
    this.expectPunctuation("]", "',' or ']'");
    return values;
  }

  private expectPunctuation(kind: TokenKind, what: string): void {
    if (this.peek().kind !== kind) this.expected(what);
    this.next();
  }

  /** Takes a `(` or `not`, one level deeper, failing at it past {@link MAX_SESSION_FILTER_DEPTH}. */
  private open(): void {
    if (++this.depth > MAX_SESSION_FILTER_DEPTH) {
      this.fail(`filter nests deeper than ${MAX_SESSION_FILTER_DEPTH} levels of '(' and 'not'`);
    }
    this.next();
  }

  private peek(): Token {
    return this.tokens[this.index] ?? this.end;
  }

  private next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length) this.index++;
    return token;
  }

  private takeKeyword(keyword: string): boolean {
    if (!isKeyword(this.peek(), keyword)) return false;
    this.next();
    return true;
  }

  /** Fails at the current token: `expected {what} after {previous token} at position N, found {token}`. */
  private expected(what: string): never {
    const previous = this.tokens[this.index - 1];
    const after = previous ? ` after ${this.source(previous)}` : "";
    const found = this.peek();
    const keyword = found.kind === "word" && !isName(found) ? "the keyword " : "";
    const described = found.kind === "end" ? "the end of the filter" : keyword + this.source(found);
    this.fail(`expected ${what}${after}`, `, found ${described}`);
  }

  private fail(lead: string, tail = ""): never {
    failFilter(this.text, this.peek().start, lead, tail);
  }

  /** The token as written, quoted: `'eq'`, `'UK'`, `"UK"`. */
  private source(token: Token): string {
    return quoteSource(this.text.slice(token.start, token.end));
  }
}

function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === "word" && token.text.toLowerCase() === keyword;
}

/** True for a word that is not a keyword. */
function isName(token: Token): boolean {
  return token.kind === "word" && !KEYWORDS.has(token.text.toLowerCase());
}

/** `first` alone, or `first` and `rest` joined by `kind`. */
function join(kind: "and" | "or", first: SessionFilter, rest: readonly SessionFilter[]): SessionFilter {
  const [second, ...more] = rest;
  return second === undefined ? first : { kind, filters: [first, second, ...more] };
}
