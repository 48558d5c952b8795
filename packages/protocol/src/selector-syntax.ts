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
