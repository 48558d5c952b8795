/**
 * The topic tree: every topic by path (a map for lookups), a trie of path segments, so that the topics
 * matching a filter (retained values for a new subscription) are found without a scan, and an ordered
 * index, so that a page of topics in path order (fetch) or the topics under a prefix (regex selectors)
 * cost what they return, not the size of the tree (issue 11).
 */
import { type TopicSelector, isSystemPath } from "@skein/protocol";
import { OrderedTopicIndex } from "./ordered-index.js";
import type { Topic } from "./types.js";

/**
 * Where in path order the topics a selector selects lie: at most one exact path, then the paths that
 * start with a prefix (the exact path, when both are set, is the prefix without its final '/').
 */
export interface TopicRange {
  /** A path selected on its own (`a/b` of `>a/b//`). */
  readonly exact: string | undefined;
  /** Every other selected path starts with this (undefined: there are none). */
  readonly prefix: string | undefined;
}

/**
 * The narrowest {@link TopicRange} of a selector: from its MQTT filter when it has exactly one with a
 * literal first level (`a/b/#` is `a/b` and the block `a/b/`, not the siblings `a/bc` that share the
 * prefix `a/b`), otherwise its literal prefix.
 */
export function rangeOf(selector: TopicSelector): TopicRange {
  const filters = selector.mqttFilters;
  if (filters?.length === 1) {
    const filter = filters[0] as string;
    const levels = filter.split("/");
    const w = levels.findIndex((l) => l === "+" || l === "#");
    if (w < 0) return { exact: filter, prefix: undefined };
    if (w > 0) {
      const base = levels.slice(0, w).join("/");
      return { exact: levels[w] === "#" ? base : undefined, prefix: `${base}/` };
    }
  }
  return { exact: undefined, prefix: selector.literalPrefix };
}

class TreeNode {
  readonly children = new Map<string, TreeNode>();
  topic: Topic | undefined;
}

/** All topics of the server. */
export class TopicTree {
  private readonly byPath = new Map<string, Topic>();
  private readonly root = new TreeNode();
  private readonly ordered = new OrderedTopicIndex();

  /** Number of topics. */
  get size(): number {
    return this.byPath.size;
  }

  /** The topic at `path`, if any. */
  get(path: string): Topic | undefined {
    return this.byPath.get(path);
  }

  /** Adds a topic (replacing any at the same path). */
  add(topic: Topic): void {
    let node = this.root;
    for (const level of topic.path.split("/")) {
      let child = node.children.get(level);
      if (!child) node.children.set(level, (child = new TreeNode()));
      node = child;
    }
    node.topic = topic;
    this.byPath.set(topic.path, topic);
    this.ordered.insert(topic);
  }

  /** Removes the topic at `path`; returns it. */
  remove(path: string): Topic | undefined {
    const topic = this.byPath.get(path);
    if (!topic) return undefined;
    this.byPath.delete(path);
    this.ordered.remove(path);
    const levels = path.split("/");
    const trail: TreeNode[] = [this.root];
    let node = this.root;
    for (const level of levels) {
      node = node.children.get(level) as TreeNode;
      trail.push(node);
    }
    node.topic = undefined;
    for (let i = levels.length; i > 0; i--) {
      const n = trail[i] as TreeNode;
      if (n.topic || n.children.size > 0) break;
      (trail[i - 1] as TreeNode).children.delete(levels[i - 1] as string);
    }
    return topic;
  }

  /** Every topic, in insertion order. */
  all(): IterableIterator<Topic> {
    return this.byPath.values();
  }

  /**
   * Up to `limit` topics that `accept` takes, among those in `range` that lie strictly between `after`
   * and `before` (each optional), in path order (from the end backwards when `descending`). Costs
   * O(log n) plus the topics it visits in the range.
   */
  collect(
    range: TopicRange,
    after: string | undefined,
    before: string | undefined,
    descending: boolean,
    limit: number,
    accept: (topic: Topic) => boolean,
  ): Topic[] {
    if (limit <= 0) return [];
    const exact = range.exact === undefined ? undefined : this.byPath.get(range.exact);
    const head =
      exact !== undefined &&
      (after === undefined || exact.path > after) &&
      (before === undefined || exact.path < before) &&
      accept(exact)
        ? exact
        : undefined;
    if (range.prefix === undefined) return head ? [head] : [];
    // The exact path sorts before every path of the prefix block (it is the block's prefix minus '/').
    const rest = limit - (head ? 1 : 0);
    const block = rest > 0 ? this.ordered.collect(range.prefix, after, before, descending, rest, accept) : [];
    if (head) {
      if (descending) block.push(head);
      else block.unshift(head);
    }
    return block;
  }

  /** The topics matching an MQTT filter (with the `$` rule of [MQTT-4.7.2-1]). */
  *matchFilter(filter: string): Generator<Topic> {
    const levels = filter.split("/");
    if (!levels.includes("+") && !levels.includes("#")) {
      const t = this.byPath.get(filter);
      if (t) yield t;
      return;
    }
    yield* walk(this.root, levels, 0);
  }
}

function* walk(node: TreeNode, levels: string[], i: number): Generator<Topic> {
  if (i === levels.length) {
    if (node.topic) yield node.topic;
    return;
  }
  const level = levels[i] as string;
  if (level === "#") {
    // 'a/#' also matches 'a' [MQTT-4.7.1-2].
    if (node.topic && i > 0) yield node.topic;
    yield* descendants(node, i === 0);
    return;
  }
  if (level === "+") {
    for (const [name, child] of node.children) {
      if (i === 0 && name.startsWith("$")) continue;
      yield* walk(child, levels, i + 1);
    }
    return;
  }
  const child = node.children.get(level);
  if (child) yield* walk(child, levels, i + 1);
}

function* descendants(node: TreeNode, atRoot: boolean): Generator<Topic> {
  for (const [name, child] of node.children) {
    if (atRoot && isSystemPath(name)) continue;
    if (child.topic) yield child.topic;
    yield* descendants(child, false);
  }
}
