/**
 * Internal: the translation between MQTT topic filters and `?` (split-path) selector expressions. Not
 * exported from the package.
 *
 * @module
 */
import { mqttFilterProblem } from "./mqtt-filter.js";

/** What a trailing `/` or `//` adds to a `>` or `?` selector: nothing, descendants only, or descendants too. */
export type Qualifier = "exact" | "descendants" | "branch";

/** The regex syntax characters, which `\` escapes to literals (in RE2 syntax as in JavaScript's `u` mode). */
const SYNTAX_CHARS = "^$\\.*+?()[]{}|";

/**
 * The `?` segment regex that means MQTT `+` below the first level: any segment. It is JavaScript syntax,
 * not RE2: the parser recognises this exact source and matches it without a regex.
 */
export const ANY_SEGMENT = "[^]*";

/**
 * The `?` segment regex that means MQTT `+` at the first level: any segment not starting with `$`
 * [MQTT-4.7.2-1]. RE2 has no lookahead: the parser recognises this exact source and matches it
 * without a regex.
 */
export const ANY_FIRST_SEGMENT = "(?!\\$)[^]*";

/**
 * The `?` expression equivalent to a valid MQTT topic filter: literal levels escaped, `+` as
 * {@link ANY_SEGMENT} (or {@link ANY_FIRST_SEGMENT}), a final `#` as the `//` qualifier.
 */
export function splitPathExpression(filter: string): string {
  const levels = filter.split("/");
  const branch = levels[levels.length - 1] === "#";
  if (branch) levels.pop();
  if (levels.length === 0) levels.push("+"); // '#' alone is '+/#'
  const regexes = levels.map((level, i) =>
    level === "+" ? (i === 0 ? ANY_FIRST_SEGMENT : ANY_SEGMENT) : escapeRegex(level),
  );
  // An empty last segment would read as a qualifier.
  const lastIndex = regexes.length - 1;
  if (regexes[lastIndex] === "") regexes[lastIndex] = "(?:)";
  const expression = `?${regexes.join("/")}${branch ? "//" : ""}`;
  // Keep trailing whitespace from being trimmed away when the expression is parsed.
  const end = expression.charCodeAt(expression.length - 1);
  return /\s/u.test(expression.slice(-1)) ? `${expression.slice(0, -1)}\\x{${end.toString(16)}}` : expression;
}

/**
 * The MQTT filters of a `?` pattern (segment regex sources plus qualifier) when every segment is a
 * literal or a `+` equivalent; otherwise `undefined`.
 */
export function splitPathFilter(sources: readonly string[], qualifier: Qualifier): string[] | undefined {
  const levels: string[] = [];
  for (const [i, source] of sources.entries()) {
    if (source === (i === 0 ? ANY_FIRST_SEGMENT : ANY_SEGMENT)) {
      levels.push("+");
      continue;
    }
    const literal = unescapeLiteral(source);
    // A literal '+' or '#' would read as a wildcard (and can never match a path segment anyway).
    if (literal === undefined || literal.includes("+") || literal.includes("#")) return undefined;
    levels.push(literal);
  }
  const base = levels.join("/");
  const filter = qualifier === "exact" ? base : qualifier === "descendants" ? `${base}/+/#` : `${base}/#`;
  if (mqttFilterProblem(filter) !== undefined) return undefined;
  return [filter === "+/#" ? "#" : filter];
}

/** The literal a regex source stands for, when it is plain characters and escaped syntax characters. */
export function unescapeLiteral(source: string): string | undefined {
  if (source === "(?:)") return ""; // how an empty last segment is written
  let out = "";
  for (let i = 0; i < source.length; i++) {
    let c = source.charAt(i);
    if (c === "\\") {
      c = source.charAt(++i);
      if (c === "" || !SYNTAX_CHARS.includes(c)) return undefined;
    } else if (SYNTAX_CHARS.includes(c)) return undefined;
    out += c;
  }
  return out;
}

function escapeRegex(literal: string): string {
  let out = "";
  for (const c of literal) out += SYNTAX_CHARS.includes(c) ? `\\${c}` : c;
  return out;
}

/**
 * A literal prefix of every string a regex source matches as a whole (fully anchored, RE2 syntax): the
 * leading run of plain and escaped syntax characters, minus a last one that a `?`, `*` or `{` makes
 * optional. It is conservative: a top-level `|`, a group, a class, a flag or any other escape ends it,
 * and it may be empty. The server narrows a regex selector to the topics under this prefix (issue 11).
 */
export function regexLiteralPrefix(source: string): string {
  if (hasTopLevelAlternation(source)) return "";
  let out = "";
  let i = 0;
  while (i < source.length) {
    let c = source.charAt(i);
    let next: number;
    if (c === "\\") {
      c = source.charAt(i + 1);
      if (c === "" || !SYNTAX_CHARS.includes(c)) break;
      next = i + 2;
    } else if (SYNTAX_CHARS.includes(c)) break;
    else {
      // Take a whole code point so a quantifier after an astral character drops all of it.
      c = String.fromCodePoint(source.codePointAt(i) as number);
      next = i + c.length;
    }
    const quantifier = source.charAt(next);
    if (quantifier === "?" || quantifier === "*" || quantifier === "{") break;
    out += c;
    if (quantifier === "+") break;
    i = next;
  }
  return out;
}

/** True when `source` has a `|` outside any group or class (then no prefix is common to all branches). */
function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i);
    if (c === "\\") i++;
    else if (inClass) {
      if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
      // A ']' first in a class (or after '^') is a literal member.
      if (source.charAt(i + 1) === "^") i++;
      if (source.charAt(i + 1) === "]") i++;
    } else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth <= 0) return true;
  }
  return false;
}

/**
 * The literal prefix of every path a `?` pattern matches: its leading literal segments joined by `/`,
 * then the literal prefix of the first segment that is not a literal. When every segment is a literal
 * the prefix is the whole path, followed by `/` when only descendants are selected.
 */
export function splitPathLiteralPrefix(sources: readonly string[], qualifier: Qualifier): string {
  let out = "";
  for (const [i, source] of sources.entries()) {
    const literal =
      source === ANY_SEGMENT || source === ANY_FIRST_SEGMENT ? undefined : unescapeLiteral(source);
    if (literal === undefined) {
      return source === ANY_SEGMENT || source === ANY_FIRST_SEGMENT ? out : out + regexLiteralPrefix(source);
    }
    out += literal;
    if (i < sources.length - 1) out += "/";
  }
  return qualifier === "descendants" ? `${out}/` : out;
}

/** The literal prefix of every path an MQTT topic filter matches (`a/b/+` gives `a/b/`, `a/#` gives `a`). */
export function mqttFilterLiteralPrefix(filter: string): string {
  const levels = filter.split("/");
  let out = "";
  for (const [i, level] of levels.entries()) {
    if (level === "#") return i === 0 ? "" : out.slice(0, -1); // 'a/#' matches 'a' [MQTT-4.7.1-2]
    if (level === "+") return out;
    out += level;
    if (i < levels.length - 1) out += "/";
  }
  return out;
}

/** The longest common prefix of some strings (empty for none). */
export function commonPrefix(values: readonly string[]): string {
  if (values.length === 0) return "";
  let prefix = values[0] as string;
  for (const v of values) {
    let n = 0;
    while (n < prefix.length && n < v.length && prefix.charCodeAt(n) === v.charCodeAt(n)) n++;
    prefix = prefix.slice(0, n);
  }
  // Do not end on half of a surrogate pair.
  const last = prefix.charCodeAt(prefix.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? prefix.slice(0, -1) : prefix;
}
