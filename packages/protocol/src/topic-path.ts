/**
 * Topic path rules.
 *
 * A topic path is an MQTT topic name: a non-empty UTF-8 string of segments joined by `/`. So that MQTT
 * clients see a spec-compliant broker, paths are not rewritten: `a/b`, `/a/b` and `a//b` are three
 * different topics [MQTT-4.7.1-1]. A path contains no wildcard (`+`, `#`) [MQTT-3.3.2-2] and no NUL
 * character [MQTT-1.5.4-2], and is at most 65,535 UTF-8 bytes [MQTT-4.7.3-3].
 *
 * @module
 */
import { SkeinError } from "./errors.js";

/** The segment separator. */
export const PATH_SEPARATOR = "/";

/** The longest path in UTF-8 bytes [MQTT-4.7.3-3]. */
export const MAX_PATH_BYTES = 65535;

/** Why a path is invalid, or `undefined` when it is valid. */
export function pathProblem(
  path: string,
  maxBytes = MAX_PATH_BYTES,
  maxDepth = Infinity,
): string | undefined {
  if (typeof path !== "string" || path.length === 0) return "path is empty";
  if (utf8Length(path) > maxBytes) return `path is longer than ${maxBytes} bytes`;
  let depth = 1;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2b || c === 0x23) return "path contains a wildcard (+ or #)";
    if (c === 0) return "path contains a NUL character";
    if (c === 0x2f) depth++;
    // Unpaired surrogates cannot be encoded as UTF-8 [MQTT-1.5.4-1].
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = path.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return "path is not valid UTF-16/UTF-8";
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return "path is not valid UTF-16/UTF-8";
  }
  if (depth > maxDepth) return `path is deeper than ${maxDepth} levels`;
  return undefined;
}

/** True when `path` is a valid topic path. */
export function isValidPath(path: string): boolean {
  return pathProblem(path) === undefined;
}

/**
 * Returns `path` when valid.
 * @throws SkeinError `INVALID_PATH`
 */
export function checkPath(path: string): string {
  const problem = pathProblem(path);
  if (problem) throw new SkeinError("INVALID_PATH", `${problem}: ${JSON.stringify(path)}`);
  return path;
}

/** The segments of a path. */
export function pathSegments(path: string): string[] {
  return path.split(PATH_SEPARATOR);
}

/** True for `$`-topics (`$SYS/...`), which leading wildcards do not match [MQTT-4.7.2-1]. */
export function isSystemPath(path: string): boolean {
  return path.charCodeAt(0) === 0x24;
}

/** The branch of the topic tree only the server writes: its monitoring figures (DESIGN §9). */
export const SERVER_RESERVED_PREFIX = "$SYS";

/**
 * The branch of control APIs (Mosquitto's `$CONTROL/dynamic-security/v1`): the doors handle the
 * topics they serve there, each with its own permission check; nothing else is written there.
 */
export const CONTROL_PREFIX = "$CONTROL";

/**
 * True for paths no session writes as topics: `$SYS` and everything under `$SYS/` (the server's own
 * figures), `$CONTROL` and everything under `$CONTROL/` (control APIs, issue 14 §4). The one rule
 * every door applies (through the core) to a client's publish, SDK `set`, topic creation, MQTT Will
 * and MQTT 5 Response Topic; the server's own `$SYS` figures are the only writes there, and a control
 * API's command topic is taken by its door before the core (with its own permission). Other `$`
 * topics are not reserved by this rule (the MQTT door gives `$request/` and `$response/` their own
 * meaning).
 */
export function isReservedForServer(path: string): boolean {
  return (
    path.charCodeAt(0) === 0x24 && (isBranch(path, SERVER_RESERVED_PREFIX) || isBranch(path, CONTROL_PREFIX))
  );
}

/** True for `prefix` itself and every path under `prefix/`. */
function isBranch(path: string, prefix: string): boolean {
  return (
    path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f)
  );
}

/**
 * Length of a string in UTF-8 bytes, without encoding it. A lone surrogate counts as the 3 bytes of
 * U+FFFD, which is what `TextEncoder` writes for it.
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
