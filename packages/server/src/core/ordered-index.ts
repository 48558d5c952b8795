/**
 * An ordered index of topics by path: sorted chunks of at most {@link MAX_CHUNK} topics, themselves in
 * order. Finding a position costs two binary searches (O(log n)), an insert or a removal moves at most
 * one chunk's entries, and a walk from any position costs what it visits: a page of N from anywhere in a
 * tree of 1,000,000 topics is O(log n + N), where a sort per call was O(n log n) (issue 11).
 *
 * Paths compare as JavaScript strings (UTF-16 code units), the order fetch has always used. The paths
 * that start with a prefix are contiguous in that order, so a selector's literal prefix bounds a walk.
 */
import type { Topic } from "./types.js";

/** Most topics in one chunk: small enough that a splice is cheap, large enough to keep chunks few. */
export const MAX_CHUNK = 512;

/** A position: chunk index and offset in the chunk. */
interface Cursor {
  chunk: number;
  offset: number;
}

/** Topics in path order. */
export class OrderedTopicIndex {
  private readonly chunks: Topic[][] = [];
  private count = 0;

  /** @param maxChunk - most topics in a chunk (tests make it small to exercise splits) */
  constructor(private readonly maxChunk = MAX_CHUNK) {}

  /** Number of topics. */
  get size(): number {
    return this.count;
  }

  /** Adds a topic, replacing any at the same path. */
  insert(topic: Topic): void {
    const path = topic.path;
    const chunks = this.chunks;
    if (chunks.length === 0) {
      chunks.push([topic]);
      this.count++;
      return;
    }
    // The chunk to hold it: the last whose first path is not above it (or the first chunk).
    const c = Math.max(0, this.chunkAfter(path) - 1);
    const chunk = chunks[c] as Topic[];
    const at = lowerBound(chunk, path);
    if (at < chunk.length && (chunk[at] as Topic).path === path) {
      chunk[at] = topic;
      return;
    }
    chunk.splice(at, 0, topic);
    this.count++;
    if (chunk.length > this.maxChunk) chunks.splice(c + 1, 0, chunk.splice(this.maxChunk >> 1));
  }

  /** Removes the topic at `path`; true when there was one. */
  remove(path: string): boolean {
    const c = this.chunkAfter(path) - 1;
    const chunk = this.chunks[c];
    if (chunk === undefined) return false;
    const at = lowerBound(chunk, path);
    if (chunk[at]?.path !== path) return false;
    chunk.splice(at, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
    this.count--;
    return true;
  }

  /** The index of the first chunk whose first path is above `path` (chunks.length when none is). */
  private chunkAfter(path: string): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((chunks[mid] as Topic[])[0] as Topic).path <= path) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Up to `limit` topics that `accept` takes among those whose paths start with `prefix` and lie strictly
   * between `after` and `before` (each optional), in path order, or from the end backwards when
   * `descending`. Visits only that range, and stops at the limit.
   */
  collect(
    prefix: string,
    after: string | undefined,
    before: string | undefined,
    descending: boolean,
    limit: number,
    accept: (topic: Topic) => boolean,
  ): Topic[] {
    const out: Topic[] = [];
    if (limit <= 0 || this.count === 0) return out;
    const inRange = (p: string): boolean =>
      p.startsWith(prefix) && (after === undefined || p > after) && (before === undefined || p < before);
    const at = descending
      ? // Just past the last path of the range: the paths below the prefix or in it and below `before`.
        this.firstWhere((p) => p < prefix || (p.startsWith(prefix) && (before === undefined || p < before)))
      : this.firstWhere((p) => p < prefix || (after !== undefined && p <= after));
    const chunks = this.chunks;
    let { chunk: c, offset: o } = at;
    if (descending) {
      for (;;) {
        if (--o < 0) {
          if (--c < 0) break;
          o = (chunks[c] as Topic[]).length - 1;
        }
        const topic = (chunks[c] as Topic[])[o] as Topic;
        if (!inRange(topic.path)) break;
        if (accept(topic) && out.push(topic) >= limit) break;
      }
      return out;
    }
    while (c < chunks.length) {
      const chunk = chunks[c] as Topic[];
      if (o >= chunk.length) {
        c++;
        o = 0;
        continue;
      }
      const topic = chunk[o++] as Topic;
      if (!inRange(topic.path)) break;
      if (accept(topic) && out.push(topic) >= limit) break;
    }
    return out;
  }

  /** Every topic in path order (for tests and diagnostics). */
  *[Symbol.iterator](): Generator<Topic> {
    for (const chunk of this.chunks) yield* chunk;
  }

  /**
   * The position of the first topic whose path `below` rejects. `below` must hold for a leading run of
   * the order and for nothing after it (a down-set), like `p < key`.
   */
  private firstWhere(below: (path: string) => boolean): Cursor {
    const chunks = this.chunks;
    // The first chunk whose first path is not below: the position is in the chunk before it.
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (below(((chunks[mid] as Topic[])[0] as Topic).path)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return { chunk: 0, offset: 0 };
    const chunk = chunks[lo - 1] as Topic[];
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (below((chunk[mid] as Topic).path)) a = mid + 1;
      else b = mid;
    }
    return a === chunk.length && lo < chunks.length ? { chunk: lo, offset: 0 } : { chunk: lo - 1, offset: a };
  }
}

/** The index of the first topic of a sorted chunk whose path is not below `path`. */
function lowerBound(chunk: readonly Topic[], path: string): number {
  let lo = 0;
  let hi = chunk.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((chunk[mid] as Topic).path < path) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
