/**
 * The path a subscription is checked on (`select_topic`): the whole literal levels in front of its
 * first wildcard or pattern. `sensors/+/temp` and `sensors/#` are checked on `sensors`, `+/temp` and
 * `#` on the root (the empty path): to subscribe to a branch, a session needs `select_topic` on the
 * branch. Permission paths are prefixes, so a grant on `sensors` covers every filter under it.
 */
import type { TopicSelector } from "@skein/protocol";

/** The literal levels of an MQTT filter before its first wildcard. */
export function filterScope(filter: string): string {
  const plus = filter.indexOf("+");
  const hash = filter.indexOf("#");
  const first = plus < 0 ? hash : hash < 0 ? plus : Math.min(plus, hash);
  if (first < 0) return filter;
  // Wildcards take a whole level [MQTT-4.7.1-2] [MQTT-4.7.1-3]: the scope ends at the '/' before it.
  return filter.slice(0, Math.max(0, first - 1));
}

/** The paths a selector is checked on: each of its filters' scopes, or its literal prefix's whole levels. */
export function selectorScopes(selector: TopicSelector): readonly string[] {
  const filters = selector.mqttFilters;
  if (filters !== undefined) return filters.map(filterScope);
  const prefix = selector.literalPrefix;
  const slash = prefix.lastIndexOf("/");
  return [slash < 0 ? "" : prefix.slice(0, slash)];
}
