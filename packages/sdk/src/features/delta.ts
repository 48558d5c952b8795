/**
 * Byte deltas for update streams: one replaced range (`start`, `deleteCount`, `insert`) turning the
 * previous value's bytes into the new ones, found from the common prefix and suffix. Cheap (one pass)
 * and exact for the usual edits of a value: a field changed, an element appended.
 *
 * @module
 */

/** Replace `deleteCount` bytes at `start` with `insert`. */
export interface ByteDelta {
  /** Where the replaced range starts. */
  start: number;
  /** How many bytes it covers in the old value. */
  deleteCount: number;
  /** What replaces them. */
  insert: Uint8Array;
}

/**
 * Roughly how many more bytes a `delta` frame costs than a `set` frame besides the inserted bytes (its
 * extra keys and numbers); a delta is sent only when it is smaller than the full value.
 */
export const DELTA_OVERHEAD_BYTES = 32;

/** The delta from `from` to `to`. */
export function computeDelta(from: Uint8Array, to: Uint8Array): ByteDelta {
  const max = Math.min(from.length, to.length);
  let prefix = 0;
  while (prefix < max && from[prefix] === to[prefix]) prefix++;
  let suffix = 0;
  while (suffix < max - prefix && from[from.length - 1 - suffix] === to[to.length - 1 - suffix]) suffix++;
  return {
    start: prefix,
    deleteCount: from.length - prefix - suffix,
    insert: to.subarray(prefix, to.length - suffix),
  };
}

/** Applies a delta (what the server does). */
export function applyDelta(from: Uint8Array, delta: ByteDelta): Uint8Array {
  const out = new Uint8Array(from.length - delta.deleteCount + delta.insert.length);
  out.set(from.subarray(0, delta.start));
  out.set(delta.insert, delta.start);
  out.set(from.subarray(delta.start + delta.deleteCount), delta.start + delta.insert.length);
  return out;
}

/** True when sending `delta` is cheaper than sending the full `value`. */
export function deltaPays(delta: ByteDelta, value: Uint8Array): boolean {
  return delta.insert.length + DELTA_OVERHEAD_BYTES < value.length;
}
