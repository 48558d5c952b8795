/**
 * The order of User Properties. The server must forward them unaltered and in order [MQTT-3.3.2-17]
 * [MQTT-3.3.2-18] (a Will's too [MQTT-3.1.3-10]). mqtt-packet keeps them as an object of name ->
 * value or values, which keeps the order only while each name's pairs are adjacent: `a, a, b` but not
 * `a, b, a`. When names interleave, the parsers remember the pairs in order here, keyed by that object
 * (which travels unchanged from the incoming packet to the update and to every outgoing PUBLISH), and
 * the PUBLISH encoder writes them in that order.
 */

/** User Property pairs in the order they arrived. */
export type UserPropertyPairs = readonly (readonly [string, string])[];

const ORDER = new WeakMap<object, UserPropertyPairs>();

/** Remembers `pairs` for `users` when their names interleave (otherwise the object keeps the order). */
export function rememberOrder(users: object, pairs: UserPropertyPairs): void {
  const done = new Set<string>();
  for (let i = 0; i < pairs.length; i++) {
    const name = (pairs[i] as readonly [string, string])[0];
    if (done.has(name)) {
      ORDER.set(users, pairs);
      return;
    }
    const next = pairs[i + 1];
    if (next !== undefined && next[0] !== name) done.add(name);
  }
}

/** The pairs of `users` in their order of arrival, when it differs from the object's. */
export function orderOf(users: object | undefined): UserPropertyPairs | undefined {
  return users === undefined ? undefined : ORDER.get(users);
}

/** The bytes of User Property pairs (identifier 0x26, then the name and the value, each length-prefixed). */
export function encodeUserProperties(pairs: UserPropertyPairs): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) {
    const n = Buffer.from(name, "utf8");
    const v = Buffer.from(value, "utf8");
    const head = Buffer.allocUnsafe(3);
    head[0] = 0x26;
    head.writeUInt16BE(n.length, 1);
    const vLength = Buffer.allocUnsafe(2);
    vLength.writeUInt16BE(v.length);
    parts.push(head, n, vLength, v);
  }
  return Buffer.concat(parts);
}

/** How many User Properties an object of name -> value or values holds (pairs, not names). */
export function countUserProperties(props: Record<string, string | string[]>): number {
  let n = 0;
  for (const v of Object.values(props)) n += Array.isArray(v) ? v.length : 1;
  return n;
}
