/**
 * Internal: the tokenizer of session filters and the error they raise. Not exported from the package;
 * see `session-filter.ts` for the grammar.
 *
 * @module
 */
import { SkeinError } from "./errors.js";

/** What a token is: a name or keyword, a quoted string, a punctuation mark, or the end of the filter. */
export type TokenKind = "word" | "string" | "(" | ")" | "[" | "]" | "," | "end";

/** A token of a session filter, with its place in the filter text. */
export interface Token {
  readonly kind: TokenKind;
  /** A word as written, the value of a string (escapes resolved), else the punctuation mark or `""`. */
  readonly text: string;
  /** 0-based offset (UTF-16 code units) of the first character. */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
}

/** The keywords, lower-cased; they match case-insensitively and are never property names. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "all",
  "and",
  "or",
  "not",
  "has",
  "hasroles",
  "is",
  "eq",
  "ne",
  "in",
]);

/** A property name: letters, digits, `_`, `.` and `-`, optionally after one leading `$`. */
export const NAME = /^\$?[\p{L}\p{M}\p{N}_.-]+$/u;

const WORD_CHAR = /[$\p{L}\p{M}\p{N}_.-]/u;
const SPACE = /\s/u;
const PUNCTUATION = "()[],";

/** What to write instead of a character people reach for from other languages. */
const HINTS: Readonly<Record<string, string>> = {
  "=": "'eq'",
  "!": "'ne' or 'not'",
  "&": "'and'",
  "|": "'or'",
};

/** Splits a filter into tokens (without the `end` token). Throws `INVALID_FILTER` on a bad character. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = charAt(text, i);
    if (SPACE.test(c)) {
      i += c.length;
    } else if (PUNCTUATION.includes(c)) {
      tokens.push({ kind: c as TokenKind, text: c, start: i, end: i + 1 });
      i++;
    } else if (c === "'" || c === '"') {
      const token = readString(text, i);
      tokens.push(token);
      i = token.end;
    } else if (WORD_CHAR.test(c)) {
      let end = i;
      for (let w = c; WORD_CHAR.test(w); w = charAt(text, end)) end += w.length;
      const word = text.slice(i, end);
      if (!NAME.test(word)) {
        const rule = "letters, digits, '_', '.' and '-', after at most one leading '$'";
        failFilter(text, i, `invalid name ${quoteSource(word)}`, `: a name is ${rule}`);
      }
      tokens.push({ kind: "word", text: word, start: i, end });
      i = end;
    } else {
      const hint = HINTS[c];
      failFilter(text, i, `unexpected character ${quoteSource(c)}`, hint ? ` (use ${hint})` : "");
    }
  }
  return tokens;
}

/** Reads a string literal: `\` makes the next character stand for itself (so `\'`, `\"`, `\\`). */
function readString(text: string, start: number): Token {
  const quote = text.charAt(start);
  let value = "";
  let i = start + 1;
  while (i < text.length) {
    let c = text.charAt(i);
    if (c === quote) return { kind: "string", text: value, start, end: i + 1 };
    if (c === "\\") {
      if (++i === text.length) break;
      c = charAt(text, i); // an escaped emoji stays whole
    }
    value += c;
    i += c.length;
  }
  return failFilter(text, start, "unterminated string", `: no closing ${quote} before the end of the filter`);
}

/** The whole code point at offset `i` (one or two code units), or `""` past the end. */
function charAt(text: string, i: number): string {
  const code = text.codePointAt(i);
  return code === undefined ? "" : String.fromCodePoint(code);
}

/** A short, quoted form of some filter source for a message: `'UK'` stays `'UK'`, a word gets quotes. */
export function quoteSource(source: string): string {
  const clipped = source.length > 24 ? `${source.slice(0, 24)}…` : source;
  return /^['"]/u.test(clipped) ? clipped : `'${clipped}'`;
}

/**
 * Throws `INVALID_FILTER` as `invalid session filter: {lead} at position {n}{tail} (near "…")`, where
 * the context shows up to 20 characters either side of the position, marked with `▶`.
 */
export function failFilter(text: string, position: number, lead: string, tail = ""): never {
  const from = Math.max(0, position - 20);
  const to = Math.min(text.length, position + 20);
  const near =
    (from > 0 ? "…" : "") +
    text.slice(from, position) +
    "▶" +
    text.slice(position, to) +
    (to < text.length ? "…" : "");
  // Control characters (newlines, tabs) would break the one-line message.
  const context = near.replace(/\p{Cc}/gu, " ");
  throw new SkeinError(
    "INVALID_FILTER",
    `invalid session filter: ${lead} at position ${position}${tail} (near "${context}")`,
  );
}
