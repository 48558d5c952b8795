/**
 * MQTT topic filters: validation and matching (MQTT 5 §4.7, MQTT 3.1.1 §4.7).
 *
 * Shared subscriptions (`$share/{group}/{filter}`) are not handled here: the server strips the prefix
 * first and passes the filter that follows.
 *
 * @module
 */
import { MAX_PATH_BYTES } from "./topic-path.js";

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/**
 * Why `filter` is not a valid MQTT topic filter, or `undefined` when it is valid.
 *
 * A filter is at least one character long [MQTT-4.7.3-1]; `#` is the last character and alone in its
 * level [MQTT-4.7.1-2]; `+` is alone in its level [MQTT-4.7.1-3]; it contains no NUL [MQTT-4.7.3-2] and no
 * unpaired surrogate (it must be encodable as UTF-8 [MQTT-1.5.4-1]); and it is at most 65,535 UTF-8 bytes
 * [MQTT-4.7.3-3]. Positions in the message are 0-based UTF-16 offsets.
 *
 * @param filter - the topic filter, without any `$share/{group}/` prefix
 */
export function mqttFilterProblem(filter: string): string | undefined {
  if (typeof filter !== "string" || filter.length === 0) return "topic filter is empty [MQTT-4.7.3-1]";
  let bytes = 0;
  const last = filter.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH) {
      if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || i !== last) {
        return `'#' at position ${i} must be alone in the last level [MQTT-4.7.1-2]`;
      }
    } else if (c === PLUS) {
      if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || (i < last && filter.charCodeAt(i + 1) !== SLASH)) {
        return `'+' at position ${i} must be alone in its level [MQTT-4.7.1-3]`;
      }
    } else if (c === 0) {
      return `NUL character at position ${i} [MQTT-4.7.3-2]`;
    }
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = filter.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return `unpaired surrogate at position ${i} [MQTT-1.5.4-1]`;
      bytes += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return `unpaired surrogate at position ${i} [MQTT-1.5.4-1]`;
    else bytes += 3;
  }
  if (bytes > MAX_PATH_BYTES) return `topic filter is longer than ${MAX_PATH_BYTES} bytes [MQTT-4.7.3-3]`;
  return undefined;
}

/**
 * True when the MQTT topic filter `filter` matches the topic name `topic` (MQTT 5 §4.7).
 *
 * `+` matches exactly one level, which may be empty (`+/finance` matches `/finance`); `#` matches the
 * parent level and any number of child levels (`a/#` matches `a`) [MQTT-4.7.1-2]; a filter whose first
 * level is a wildcard does not match a topic that starts with `$` [MQTT-4.7.2-1]. Levels are compared
 * exactly: nothing is normalised.
 *
 * This is on the publish hot path, so it walks both strings once and allocates nothing.
 *
 * @param filter - a valid topic filter (see {@link mqttFilterProblem}); the result for an invalid one is unspecified
 * @param topic - a topic name
 */
export function matchesMqttFilter(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  if (tl > 0 && fl > 0 && topic.charCodeAt(0) === DOLLAR) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === HASH) return false; // [MQTT-4.7.2-1]
  }
  let fi = 0;
  let ti = 0;
  // Invariant at the top of the loop: fi and ti are each at the start of a level. (Reads stay in
  // bounds: an out-of-range charCodeAt returns NaN and slows V8 down.)
  for (;;) {
    const fc = fi < fl ? filter.charCodeAt(fi) : -1;
    if (fc === HASH) return true; // matches this level and everything below it
    if (fc === PLUS) {
      while (ti < tl && topic.charCodeAt(ti) !== SLASH) ti++;
      fi++;
    } else {
      while (fi < fl) {
        const c = filter.charCodeAt(fi);
        if (c === SLASH) break;
        if (ti >= tl || topic.charCodeAt(ti) !== c) return false;
        fi++;
        ti++;
      }
      if (ti < tl && topic.charCodeAt(ti) !== SLASH) return false;
    }
    // Both are now at the end of a level: at a '/' or at the end of the string.
    if (fi >= fl) return ti >= tl;
    if (ti >= tl) {
      // The topic ended first: only a final '/#' still matches (the parent level) [MQTT-4.7.1-2].
      return fi + 2 === fl && filter.charCodeAt(fi + 1) === HASH;
    }
    fi++;
    ti++;
  }
}
