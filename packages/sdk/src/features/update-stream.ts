/**
 * Update streams (`session.createUpdateStream`): repeated updates of one topic that send `delta`
 * frames instead of full values when the delta is smaller.
 *
 * A `delta { path, valueType, baseCrc, start, deleteCount, insert }` replaces `deleteCount` bytes at
 * `start` of the value whose CRC-32 is `baseCrc`. If the server's current value has another CRC
 * (someone else updated the topic), it answers `CONSTRAINT_VALUE_MISMATCH` and the stream falls back
 * to a full `set`. The stream assumes its own updates succeed and pipelines them: each delta is based on
 * the value the previous update set, and the server applies them in order.
 *
 * @module
 */
import { SkeinError, type ValueType, checkPath, crc32 } from "@skein/protocol";
import { type InputValueOf, checkValueType, encodeValue } from "../values.js";
import { computeDelta, deltaPays } from "./delta.js";
import type { Requester } from "./results.js";

/** An update stream of one topic. */
export interface UpdateStream<T extends ValueType> {
  /** The topic's path. */
  readonly path: string;
  /** The topic's type. */
  readonly type: T;
  /** What the stream has sent so far. */
  readonly stats: Readonly<UpdateStreamStats>;
  /**
   * Sets the topic's value: a delta from the previous value this stream set when that is smaller,
   * otherwise (and for the first update) the full value.
   * @throws SkeinError as `session.set` does
   */
  set(value: InputValueOf[T]): Promise<void>;
}

/** Counts of what an update stream sent (for tests and tuning). */
export interface UpdateStreamStats {
  /** Full `set` frames, including fallbacks. */
  sets: number;
  /** `delta` frames. */
  deltas: number;
  /** Deltas refused because the base value had changed. */
  fallbacks: number;
}

/** @internal Creates an update stream. */
export function createUpdateStream<T extends ValueType>(
  link: Requester,
  path: string,
  type: T,
): UpdateStream<T> {
  const stats: UpdateStreamStats = { sets: 0, deltas: 0, fallbacks: 0 };
  checkPath(path);
  const valueType = checkValueType(type);
  /** The bytes the server should hold after the updates sent so far; undefined when unknown. */
  let base: Uint8Array | undefined;

  const sendSet = async (bytes: Uint8Array): Promise<void> => {
    stats.sets++;
    try {
      await link.request({ type: "set", path, valueType, value: bytes }, `set ${path}`);
    } catch (err) {
      if (base === bytes) base = undefined;
      throw err;
    }
  };

  return {
    path,
    type,
    stats,
    async set(value) {
      // A copy for binary: the caller may reuse (and mutate) the array it gave.
      const encoded = encodeValue(valueType, value);
      const bytes = valueType === "binary" ? encoded.slice() : encoded;
      const previous = base;
      base = bytes;
      if (previous === undefined) return sendSet(bytes);
      const delta = computeDelta(previous, bytes);
      if (!deltaPays(delta, bytes)) return sendSet(bytes);
      stats.deltas++;
      try {
        await link.request(
          { type: "delta", path, valueType, baseCrc: crc32(previous), ...delta },
          `delta ${path}`,
        );
      } catch (err) {
        if (!(err instanceof SkeinError) || err.code !== "CONSTRAINT_VALUE_MISMATCH") {
          if (base === bytes) base = undefined;
          throw err;
        }
        stats.fallbacks++;
        // Only the latest update's fallback matters; an older one must not overwrite a newer value.
        if (base === bytes) return sendSet(bytes);
      }
    },
  };
}
