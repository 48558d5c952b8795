/**
 * Topic selectors: the SDK's way to name many topics at once (DESIGN §2).
 *
 * | Expression | Kind | Selects |
 * | --- | --- | --- |
 * | `>a/b` | `path` | exactly the topic `a/b` |
 * | `>a/b/` | `path` | every descendant of `a/b` (an empty child level counts: `a/b/`), not `a/b` itself |
 * | `>a/b//` | `path` | `a/b` and every descendant |
 * | `?re1/re2` | `split-path` | paths of exactly two segments, each matching its regex (fully anchored) |
 * | `?re1/re2/` and `?re1/re2//` | `split-path` | descendants only / the matched paths and their descendants |
 * | `*re` | `full-path` | paths the regex matches as a whole (fully anchored) |
 * | `#sel1////sel2` | `set` | the union of the member selectors |
 *
 * Rules worth knowing:
 * - The expression is trimmed of leading and trailing whitespace; error positions are 0-based offsets
 *   into the trimmed expression. To name a path that ends in whitespace, escape it in a regex (`\x20`).
 * - Paths are MQTT topic names and are never normalised: `a/b`, `/a/b` and `a//b` are different.
 * - A `>` selector cannot name a path ending in an empty segment (such as `a/`), because a trailing `/`
 *   is a qualifier; use `*a/` instead. Likewise the last segment of a `?` pattern cannot be empty:
 *   write `(?:)` to match an empty last segment.
 * - In a `?` pattern every `/` separates segments, so a segment regex cannot contain `/` (it could never
 *   match one anyway). In a set, every run of four or more `/` ends a member: the last four are the
 *   separator and any before them belong to the member (`#>a//////>b` is `>a//` and `>b`).
 * - Regexes use RE2 syntax (https://github.com/google/re2/wiki/Syntax) and are matched by `re2js` in
 *   time linear in the path's length: a selector comes from an untrusted client and must not be able to
 *   stall the server (DESIGN §2). RE2 has no backreferences and no lookaround; such a regex is refused
 *   with `INVALID_SELECTOR`. Two JavaScript-only sources stay accepted as whole `?` segments because
 *   {@link selectorFromMqttFilter} writes them: `[^]*` (any segment) and `(?!\$)[^]*` (any segment not
 *   starting with `$`). Unlike MQTT wildcards, regexes match `$` topics too.
 * - `mqttFilters` is defined for `>` selectors (`>a/b` is `a/b`, `>a/b//` is `a/b/#`, `>a/b/` is
 *   `a/b/+/#`), for `?` patterns whose segments are literals (`\$SYS` counts, as `$SYS`) or the exact
 *   `+` equivalents `[^]*` (`(?!\$)[^]*` at the first level), and for sets whose members all have it.
 * - Expressions are capped at {@link MAX_SELECTOR_LENGTH} characters and each regex at
 *   {@link MAX_SELECTOR_REGEX_LENGTH}, which bounds the size of the compiled automaton.
 * - A regex that is a plain literal (escaped syntax characters allowed) is matched by string comparison.
 *
 * @module
 */
import { RE2JS } from "re2js";
import { SkeinError } from "./errors.js";
import { matchesMqttFilter, mqttFilterProblem } from "./mqtt-filter.js";
import {
  ANY_FIRST_SEGMENT,
  ANY_SEGMENT,
  type Qualifier,
  commonPrefix,
  mqttFilterLiteralPrefix,
  regexLiteralPrefix,
  splitPathExpression,
  splitPathFilter,
  splitPathLiteralPrefix,
  unescapeLiteral,
} from "./selector-syntax.js";
import { pathProblem } from "./topic-path.js";

export { matchesMqttFilter, mqttFilterProblem } from "./mqtt-filter.js";

/** The kinds of selector: `>`, `?`, `*` and `#` expressions. */
export type SelectorKind = "path" | "split-path" | "full-path" | "set";

/** A parsed topic selector. */
export interface TopicSelector {
  /** The expression as given, trimmed of surrounding whitespace. */
  readonly expression: string;
  /** Which kind of selector this is. */
  readonly kind: SelectorKind;
  /** True when this selector selects the topic path `path`. */
  matches(path: string): boolean;
  /**
   * The selector as equivalent MQTT topic filters, when it can be expressed exactly that way (the server
   * puts those in its trie index): a path matches the selector exactly when some filter matches it.
   * `undefined` when it cannot (regexes, apart from literal `?` segments).
   */
  readonly mqttFilters: readonly string[] | undefined;
  /**
   * A prefix of every path this selector selects (possibly empty): the literal characters a `>` path, the
   * literal segments of a `?` pattern or the start of a regex fix. The server looks only at the paths
   * under it (issue 11): `*sensors/room[0-9]+` has the prefix `sensors/room`.
   */
  readonly literalPrefix: string;
}

/** The longest selector expression, in UTF-16 code units (after trimming). */
export const MAX_SELECTOR_LENGTH = 4096;

/** The longest regex source in a `?` segment or a `*` pattern, in UTF-16 code units. */
export const MAX_SELECTOR_REGEX_LENGTH = 1024;

const SLASH = 0x2f;

/**
 * Parses a selector expression.
 *
 * @example
 * ```ts
 * const sel = parseSelector("#>sensors/room1//////?sensors/room[0-9]+/temp");
 * sel.matches("sensors/room1/humidity"); // true
 * sel.matches("sensors/room2/temp");     // true
 * parseSelector(">a/b//").mqttFilters;   // ["a/b/#"]
 * parseSelector("*a.*").mqttFilters;     // undefined: regexes stay out of the trie index
 * ```
 * @param expression - a `>`, `?`, `*` or `#` expression (see the module description)
 * @throws SkeinError `INVALID_SELECTOR` with the position of the problem
 */
export function parseSelector(expression: string): TopicSelector {
  if (typeof expression !== "string") throw new SkeinError("INVALID_SELECTOR", "selector is not a string");
  const text = expression.trim();
  if (text.length > MAX_SELECTOR_LENGTH) {
    fail(
      text.slice(0, 40) + "...",
      MAX_SELECTOR_LENGTH,
      `selector is longer than ${MAX_SELECTOR_LENGTH} characters`,
    );
  }
  return parseMember(text, text, 0);
}

/**
 * The selector that an MQTT topic filter stands for: kind `split-path`, `matches` is exactly MQTT
 * matching ({@link matchesMqttFilter}) and `mqttFilters` is `[filter]`. Its `expression` is the equivalent
 * `?` expression, which {@link parseSelector} accepts as long as it is within the length limits: literal
 * levels are escaped, `+` becomes `[^]*` (`(?!\$)[^]*` at the first level, which skips `$` topics) and
 * a final `#` becomes the `//` qualifier. So `sport/+/#` gives `?sport/[^]*` followed by `//`.
 *
 * @param filter - a topic filter, without any `$share/{group}/` prefix
 * @throws SkeinError `INVALID_SELECTOR` when the filter is not valid (see {@link mqttFilterProblem})
 */
export function selectorFromMqttFilter(filter: string): TopicSelector {
  const problem = mqttFilterProblem(filter);
  if (problem !== undefined) {
    throw new SkeinError(
      "INVALID_SELECTOR",
      `invalid MQTT topic filter ${JSON.stringify(filter)}: ${problem}`,
    );
  }
  const expression = splitPathExpression(filter);
  return makeSelector(expression, "split-path", [filter], mqttFilterLiteralPrefix(filter), (path) =>
    matchesMqttFilter(filter, path),
  );
}

function parseMember(whole: string, text: string, offset: number): TopicSelector {
  switch (text.charAt(0)) {
    case ">":
      return parsePath(whole, text, offset);
    case "?":
      return parseSplitPath(whole, text, offset);
    case "*": {
      if (text.length === 1) fail(whole, offset + 1, "full-path pattern is empty");
      const matches = compileRegex(whole, text.slice(1), offset + 1);
      return makeSelector(text, "full-path", undefined, regexLiteralPrefix(text.slice(1)), (path) =>
        matches(path, 0, path.length),
      );
    }
    case "#":
      return parseSet(whole, text, offset);
    case "":
      return fail(whole, offset, "selector is empty");
    default:
      return fail(whole, offset, "a selector starts with '>', '?', '*' or '#'");
  }
}

/** Splits a trailing qualifier off the body of a `>` or `?` expression. */
function splitQualifier(body: string): [string, Qualifier] {
  if (body.endsWith("//")) return [body.slice(0, -2), "branch"];
  if (body.endsWith("/")) return [body.slice(0, -1), "descendants"];
  return [body, "exact"];
}

function parsePath(whole: string, text: string, offset: number): TopicSelector {
  const [path, qualifier] = splitQualifier(text.slice(1));
  const start = offset + 1;
  if (path.endsWith("/")) {
    fail(
      whole,
      start + path.length - 1,
      "a '>' path cannot end in an empty segment (a trailing '/' is a qualifier); use '*'",
    );
  }
  const problem = pathProblem(path);
  if (problem !== undefined) fail(whole, start + badCharIndex(path), problem);
  const filters = { exact: path, descendants: `${path}/+/#`, branch: `${path}/#` };
  const prefixOf = (p: string): boolean =>
    p.length > path.length && p.charCodeAt(path.length) === SLASH && p.startsWith(path);
  const matches =
    qualifier === "exact"
      ? (p: string) => p === path
      : qualifier === "descendants"
        ? prefixOf
        : (p: string) => p === path || prefixOf(p);
  return makeSelector(
    text,
    "path",
    [filters[qualifier]],
    qualifier === "descendants" ? `${path}/` : path,
    matches,
  );
}

function parseSplitPath(whole: string, text: string, offset: number): TopicSelector {
  const [pattern, qualifier] = splitQualifier(text.slice(1));
  const start = offset + 1;
  if (pattern === "") fail(whole, start, "split-path pattern is empty");
  const sources = pattern.split("/");
  if (sources[sources.length - 1] === "") {
    fail(
      whole,
      start + pattern.length,
      "the last segment of a '?' pattern cannot be empty (a trailing '/' is a qualifier); write (?:)",
    );
  }
  let at = start;
  const segmentMatchers = sources.map((source) => {
    const matcher = compileSegment(whole, source, at);
    at += source.length + 1;
    return matcher;
  });
  const n = segmentMatchers.length;
  const matches = (path: string): boolean => {
    let segments = 1;
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) segments++;
    if (qualifier === "exact" ? segments !== n : qualifier === "descendants" ? segments <= n : segments < n) {
      return false;
    }
    let from = 0;
    for (const segmentMatches of segmentMatchers) {
      let to = path.indexOf("/", from);
      if (to < 0) to = path.length;
      if (!segmentMatches(path, from, to)) return false;
      from = to + 1;
    }
    return true;
  };
  return makeSelector(
    text,
    "split-path",
    splitPathFilter(sources, qualifier),
    splitPathLiteralPrefix(sources, qualifier),
    matches,
  );
}

function parseSet(whole: string, text: string, offset: number): TopicSelector {
  const members: TopicSelector[] = [];
  const body = text.slice(1);
  let start = 0;
  const addMember = (end: number): void => {
    const raw = body.slice(start, end);
    const member = raw.trim();
    if (member === "") fail(whole, offset + 1 + start, "empty set member");
    members.push(parseMember(whole, member, offset + 1 + start + raw.indexOf(member)));
  };
  for (let i = 0; i < body.length;) {
    if (body.charCodeAt(i) !== SLASH) {
      i++;
      continue;
    }
    let j = i;
    while (j < body.length && body.charCodeAt(j) === SLASH) j++;
    if (j - i >= 4) {
      addMember(j - 4);
      start = j;
    }
    i = j;
  }
  addMember(body.length);
  let filters: string[] | undefined = [];
  for (const m of members) {
    if (m.mqttFilters === undefined) {
      filters = undefined;
      break;
    }
    for (const f of m.mqttFilters) if (!filters.includes(f)) filters.push(f);
  }
  const prefix = commonPrefix(members.map((m) => m.literalPrefix));
  return makeSelector(text, "set", filters, prefix, (path) => members.some((m) => m.matches(path)));
}

/** Whether `path.slice(from, to)` matches (without making the slice when it can). */
type RangeMatcher = (path: string, from: number, to: number) => boolean;

const anySegment: RangeMatcher = () => true;
const DOLLAR = 0x24;
const anyFirstSegment: RangeMatcher = (path, from, to) => from === to || path.charCodeAt(from) !== DOLLAR;

/** A `?` segment's matcher: the two MQTT `+` equivalents are recognised, anything else is a regex. */
function compileSegment(whole: string, source: string, position: number): RangeMatcher {
  if (source === ANY_SEGMENT) return anySegment;
  if (source === ANY_FIRST_SEGMENT) return anyFirstSegment;
  return compileRegex(whole, source, position);
}

/**
 * Compiles a regex source to a matcher of the whole range (fully anchored). A plain literal is
 * compared as a string (about as fast as `===`); anything else runs on RE2, in linear time.
 */
function compileRegex(whole: string, source: string, position: number): RangeMatcher {
  if (source.length > MAX_SELECTOR_REGEX_LENGTH) {
    fail(whole, position, `regular expression is longer than ${MAX_SELECTOR_REGEX_LENGTH} characters`);
  }
  const literal = unescapeLiteral(source);
  if (literal !== undefined) {
    const length = literal.length;
    return (path, from, to) => to - from === length && path.startsWith(literal, from);
  }
  let re: RE2JS;
  try {
    // testExact anchors the whole source, so `a)|(b` cannot break out of an anchoring group.
    re = RE2JS.compile(source);
  } catch (err) {
    const problem = err instanceof Error ? err.message : String(err);
    return fail(whole, position, `Invalid regular expression (RE2 syntax): ${problem}`, err);
  }
  return (path, from, to) => re.testExact(from === 0 && to === path.length ? path : path.slice(from, to));
}

/** Index of the first character of `path` that makes it invalid (0 when the whole path is the problem). */
function badCharIndex(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2b || c === 0x23 || c === 0) return i;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = path.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return i;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return 0;
}

function makeSelector(
  expression: string,
  kind: SelectorKind,
  mqttFilters: string[] | undefined,
  literalPrefix: string,
  matches: (path: string) => boolean,
): TopicSelector {
  return Object.freeze({
    expression,
    kind,
    mqttFilters: mqttFilters && Object.freeze(mqttFilters),
    literalPrefix,
    matches,
  });
}

function fail(whole: string, position: number, problem: string, cause?: unknown): never {
  throw new SkeinError(
    "INVALID_SELECTOR",
    `invalid selector ${JSON.stringify(whole)} at position ${position}: ${problem}`,
    {
      cause,
    },
  );
}
