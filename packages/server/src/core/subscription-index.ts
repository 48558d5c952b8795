/**
 * The subscription index: a trie of filter levels, so that matching a topic costs the depth of the
 * topic, not the number of subscriptions (DESIGN §10). MQTT filters and SDK selectors that translate to
 * MQTT filters live in the trie; regex selectors go in a short list of patterns that is scanned.
 */
import { isSystemPath } from "@skein/protocol";
import type { Subscriber, Subscription, SubscriptionOptions, Update } from "./types.js";

interface SharedGroup {
  members: Subscription[];
  next: number;
}

class Node {
  readonly children = new Map<string, Node>();
  readonly subs = new Map<Subscriber, Subscription>();
  shared: Map<string, SharedGroup> | undefined;

  isEmpty(): boolean {
    return (
      this.children.size === 0 &&
      this.subs.size === 0 &&
      (this.shared === undefined || this.shared.size === 0)
    );
  }
}

/** A subscription whose matching is a predicate on the path (regex selectors). */
export interface PatternSubscription extends Subscription {
  /** True when the path is selected. */
  matches(path: string): boolean;
}

/** Result of adding a subscription. */
export interface AddResult {
  /** The subscription as held in the index. */
  subscription: Subscription;
  /** False when it replaced an existing subscription with the same filter (retain handling 1). */
  isNew: boolean;
}

/** The index of all subscriptions of all sessions, from both doors. */
export class SubscriptionIndex {
  private readonly root = new Node();
  private readonly patterns = new Set<PatternSubscription>();
  private size = 0;
  /** Per-subscription singleton lists, so single matches allocate nothing per update. */
  private readonly single = new WeakMap<Subscription, readonly Subscription[]>();

  /** Number of subscriptions held. */
  get count(): number {
    return this.size;
  }

  /**
   * Adds (or replaces) the subscription of `subscriber` to `filter`, optionally in a shared group.
   * The filter must already be valid.
   */
  add(
    filter: string,
    shareGroup: string | undefined,
    subscriber: Subscriber,
    options: SubscriptionOptions,
  ): AddResult {
    const node = this.nodeFor(filter, true);
    if (shareGroup === undefined) {
      const existing = node.subs.get(subscriber);
      if (existing) {
        existing.options = options;
        return { subscription: existing, isNew: false };
      }
      const subscription: Subscription = { subscriber, filter, shareGroup, options };
      node.subs.set(subscriber, subscription);
      this.size++;
      return { subscription, isNew: true };
    }
    node.shared ??= new Map();
    let group = node.shared.get(shareGroup);
    if (!group) node.shared.set(shareGroup, (group = { members: [], next: 0 }));
    const existing = group.members.find((m) => m.subscriber === subscriber);
    if (existing) {
      existing.options = options;
      return { subscription: existing, isNew: false };
    }
    const subscription: Subscription = { subscriber, filter, shareGroup, options };
    group.members.push(subscription);
    this.size++;
    return { subscription, isNew: true };
  }

  /** Removes a subscription; true when there was one. */
  remove(filter: string, shareGroup: string | undefined, subscriber: Subscriber): boolean {
    const path: Node[] = [];
    let node: Node | undefined = this.root;
    for (const level of filter.split("/")) {
      path.push(node);
      node = node.children.get(level);
      if (!node) return false;
    }
    let removed = false;
    if (shareGroup === undefined) {
      removed = node.subs.delete(subscriber);
    } else {
      const group = node.shared?.get(shareGroup);
      const i = group ? group.members.findIndex((m) => m.subscriber === subscriber) : -1;
      if (group && i >= 0) {
        group.members.splice(i, 1);
        if (group.members.length === 0) node.shared?.delete(shareGroup);
        removed = true;
      }
    }
    if (!removed) return false;
    this.size--;
    // Prune empty nodes back towards the root.
    const levels = filter.split("/");
    for (let i = levels.length - 1; i >= 0 && node.isEmpty(); i--) {
      const parent = path[i];
      if (!parent) break;
      parent.children.delete(levels[i] ?? "");
      node = parent;
    }
    return true;
  }

  /** Adds a predicate subscription (a regex selector that no MQTT filter expresses). */
  addPattern(subscription: PatternSubscription): void {
    if (!this.patterns.has(subscription)) this.size++;
    this.patterns.add(subscription);
  }

  /** Removes a predicate subscription. */
  removePattern(subscription: PatternSubscription): boolean {
    const had = this.patterns.delete(subscription);
    if (had) this.size--;
    return had;
  }

  /**
   * Delivers `update` to every subscriber whose subscriptions match its topic: once per subscriber,
   * with all its matching subscriptions; one member of each matching shared group [MQTT-4.8.2-4].
   * Returns the number of subscribers it was delivered to.
   */
  deliver(update: Update): number {
    const nodes: Node[] = [];
    this.collect(this.root, update.topic.split("/"), 0, isSystemPath(update.topic), nodes);
    if (nodes.length === 1 && this.patterns.size === 0 && nodes[0]?.shared === undefined) {
      // Common case: one matching filter. Each subscriber appears once; no grouping needed.
      const subs = (nodes[0] as Node).subs;
      for (const sub of subs.values()) sub.subscriber.deliver(update, this.singleton(sub));
      return subs.size;
    }
    const bySubscriber = new Map<Subscriber, Subscription[]>();
    const add = (sub: Subscription): void => {
      const list = bySubscriber.get(sub.subscriber);
      if (list) list.push(sub);
      else bySubscriber.set(sub.subscriber, [sub]);
    };
    for (const node of nodes) {
      for (const sub of node.subs.values()) add(sub);
      if (node.shared) for (const group of node.shared.values()) add(pickMember(group));
    }
    for (const pattern of this.patterns) if (pattern.matches(update.topic)) add(pattern);
    for (const [subscriber, subs] of bySubscriber) subscriber.deliver(update, subs);
    return bySubscriber.size;
  }

  /** True when at least one subscription matches `topic`. */
  hasMatch(topic: string): boolean {
    const nodes: Node[] = [];
    this.collect(this.root, topic.split("/"), 0, isSystemPath(topic), nodes);
    if (nodes.some((n) => n.subs.size > 0 || (n.shared !== undefined && n.shared.size > 0))) return true;
    for (const pattern of this.patterns) if (pattern.matches(topic)) return true;
    return false;
  }

  private singleton(sub: Subscription): readonly Subscription[] {
    let list = this.single.get(sub);
    if (!list) this.single.set(sub, (list = [sub]));
    return list;
  }

  private nodeFor(filter: string, create: boolean): Node {
    let node = this.root;
    for (const level of filter.split("/")) {
      let child = node.children.get(level);
      if (!child) {
        if (!create) return node;
        node.children.set(level, (child = new Node()));
      }
      node = child;
    }
    return node;
  }

  private collect(node: Node, levels: string[], i: number, system: boolean, out: Node[]): void {
    // '#' and '+' at the first level do not match '$' topics [MQTT-4.7.2-1].
    const wildcardsAllowed = !(i === 0 && system);
    const hash = wildcardsAllowed ? node.children.get("#") : undefined;
    // 'a/#' matches 'a' as well as everything below it [MQTT-4.7.1-2].
    if (hash) out.push(hash);
    if (i === levels.length) {
      out.push(node);
      return;
    }
    const plus = wildcardsAllowed ? node.children.get("+") : undefined;
    if (plus) this.collect(plus, levels, i + 1, system, out);
    const exact = node.children.get(levels[i] as string);
    if (exact) this.collect(exact, levels, i + 1, system, out);
  }
}

function pickMember(group: SharedGroup): Subscription {
  // Round robin across the group's members [MQTT-4.8.2-4], preferring connected ones; when none is
  // connected, an offline member's session queues the message.
  const n = group.members.length;
  for (let k = 0; k < n; k++) {
    const member = group.members[(group.next + k) % n] as Subscription;
    if (member.subscriber.online !== false) {
      group.next = (group.next + k + 1) % n;
      return member;
    }
  }
  const member = group.members[group.next % n] as Subscription;
  group.next = (group.next + 1) % n;
  return member;
}
