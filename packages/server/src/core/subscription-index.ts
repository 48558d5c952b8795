/**
 * The subscription index: a trie of filter levels, so that matching a topic costs the depth of the
 * topic, not the number of subscriptions (DESIGN §10). MQTT filters and SDK selectors that translate to
 * MQTT filters live in the trie; a regex selector hangs in the same trie at the node of the whole levels
 * of its literal prefix, so a topic is tested only against the patterns on its own path down the trie
 * whose prefix it starts with, not against every pattern (issue 11).
 */
import { isSystemPath } from "@skein/protocol";
import type { Subscriber, Subscription, SubscriptionOptions, Update } from "./types.js";

interface SharedGroup {
  members: Subscription[];
  next: number;
}

/**
 * A node of the trie. Its children and its (unshared) subscriptions are each held as nothing, one
 * value, or a map once there are two or more: most nodes of a fleet's topics have one child and most
 * leaves one subscriber, so an idle MQTT connection's subscription costs no map (issue 11: a map with
 * one entry is about 180 bytes). A single child is recognised by its own {@link Node.level}.
 */
class Node {
  /** None, the one child, or a map by level of two or more. */
  private kids: Node | Map<string, Node> | undefined;
  /** The `#` and `+` children, also among the children: kept at hand so a match does not look them up. */
  hash: Node | undefined;
  plus: Node | undefined;
  /** None, the one subscription, or a map by subscriber of two or more. */
  subs: Subscription | Map<Subscriber, Subscription> | undefined;
  shared: Map<string, SharedGroup> | undefined;
  /** Pattern subscriptions whose literal prefix has this node's levels as its whole levels. */
  patterns: Set<PatternSubscription> | undefined;

  /** @param level this node's level under its parent ("" for the root) */
  constructor(readonly level: string) {}

  child(level: string): Node | undefined {
    const kids = this.kids;
    if (kids === undefined) return undefined;
    if (kids instanceof Node) return kids.level === level ? kids : undefined;
    return kids.get(level);
  }

  /** The child at `level`, made when missing. */
  childOrNew(level: string): Node {
    const found = this.child(level);
    if (found !== undefined) return found;
    const child = new Node(level);
    const kids = this.kids;
    if (kids === undefined) this.kids = child;
    else if (kids instanceof Node)
      this.kids = new Map([
        [kids.level, kids],
        [level, child],
      ]);
    else kids.set(level, child);
    if (level === "#") this.hash = child;
    else if (level === "+") this.plus = child;
    return child;
  }

  deleteChild(level: string): void {
    const kids = this.kids;
    if (kids instanceof Node) {
      if (kids.level === level) this.kids = undefined;
    } else if (kids !== undefined) {
      kids.delete(level);
      if (kids.size === 1) this.kids = kids.values().next().value as Node;
    }
    if (level === "#") this.hash = undefined;
    else if (level === "+") this.plus = undefined;
  }

  sub(subscriber: Subscriber): Subscription | undefined {
    const subs = this.subs;
    if (subs === undefined) return undefined;
    if (subs instanceof Map) return subs.get(subscriber);
    return subs.subscriber === subscriber ? subs : undefined;
  }

  /** Adds a subscription of a subscriber that has none here. */
  addSub(subscription: Subscription): void {
    const subs = this.subs;
    if (subs === undefined) this.subs = subscription;
    else if (subs instanceof Map) subs.set(subscription.subscriber, subscription);
    else
      this.subs = new Map([
        [subs.subscriber, subs],
        [subscription.subscriber, subscription],
      ]);
  }

  /** True when `subscriber` had a subscription here. */
  deleteSub(subscriber: Subscriber): boolean {
    const subs = this.subs;
    if (subs === undefined) return false;
    if (!(subs instanceof Map)) {
      if (subs.subscriber !== subscriber) return false;
      this.subs = undefined;
      return true;
    }
    if (!subs.delete(subscriber)) return false;
    if (subs.size === 1) this.subs = subs.values().next().value as Subscription;
    return true;
  }

  hasSubs(): boolean {
    return this.subs !== undefined || (this.shared !== undefined && this.shared.size > 0);
  }

  isEmpty(): boolean {
    return (
      this.kids === undefined && !this.hasSubs() && (this.patterns === undefined || this.patterns.size === 0)
    );
  }
}

/** Visits the unshared subscriptions of `node`. */
function forEachSub(node: Node, visit: (sub: Subscription) => void): void {
  const subs = node.subs;
  if (subs instanceof Map) for (const sub of subs.values()) visit(sub);
  else if (subs !== undefined) visit(subs);
}

/** A subscription whose matching is a predicate on the path (regex selectors). */
export interface PatternSubscription extends Subscription {
  /** True when the path is selected. */
  matches(path: string): boolean;
  /**
   * A prefix of every path it selects (the selector's literal prefix; empty when none): the index tests
   * a topic only against patterns whose prefix the topic starts with. Must not change once added.
   */
  readonly literalPrefix?: string;
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
  private readonly root = new Node("");
  private patternCount = 0;
  private size = 0;
  /** Per-subscription singleton lists, so single matches allocate nothing per update. */
  private readonly single = new WeakMap<Subscription, readonly Subscription[]>();
  /**
   * The delivery check (DESIGN §7): false when `subscriber` may not read `path`, which then gets
   * nothing of it (and a shared group picks another member). Set by the façade; undefined when every
   * session may read everything, so the hot path pays nothing.
   */
  readGate: ((subscriber: Subscriber, path: string) => boolean) | undefined;
  /** {@link SubscriptionIndex.readGate} with throws contained (made once: no allocation per update). */
  private readonly guardedGate = (subscriber: Subscriber, path: string): boolean =>
    this.readGate === undefined || this.mayRead(this.readGate, subscriber, path);
  /** Told when a subscriber's `deliver` throws (the core counts and logs it); the fan-out goes on. */
  onDeliveryError: ((err: unknown, subscriber: Subscriber) => void) | undefined;

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
      const existing = node.sub(subscriber);
      if (existing) {
        existing.options = options;
        return { subscription: existing, isNew: false };
      }
      const subscription: Subscription = { subscriber, filter, shareGroup, options };
      node.addSub(subscription);
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

  /** The subscription of `subscriber` to `filter` (in `shareGroup`), if there is one. */
  find(filter: string, shareGroup: string | undefined, subscriber: Subscriber): Subscription | undefined {
    let node: Node | undefined = this.root;
    for (const level of filter.split("/")) {
      node = node.child(level);
      if (node === undefined) return undefined;
    }
    if (shareGroup === undefined) return node.sub(subscriber);
    return node.shared?.get(shareGroup)?.members.find((m) => m.subscriber === subscriber);
  }

  /** Removes a subscription; true when there was one. */
  remove(filter: string, shareGroup: string | undefined, subscriber: Subscriber): boolean {
    const path: Node[] = [];
    let node: Node | undefined = this.root;
    for (const level of filter.split("/")) {
      path.push(node);
      node = node.child(level);
      if (!node) return false;
    }
    let removed = false;
    if (shareGroup === undefined) {
      removed = node.deleteSub(subscriber);
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
      parent.deleteChild(levels[i] ?? "");
      node = parent;
    }
    return true;
  }

  /** Adds a predicate subscription (a regex selector that no MQTT filter expresses). */
  addPattern(subscription: PatternSubscription): void {
    let node = this.root;
    for (const level of patternLevels(subscription)) node = node.childOrNew(level);
    node.patterns ??= new Set();
    if (node.patterns.has(subscription)) return;
    node.patterns.add(subscription);
    this.size++;
    this.patternCount++;
  }

  /** Removes a predicate subscription. */
  removePattern(subscription: PatternSubscription): boolean {
    const levels = patternLevels(subscription);
    const trail: Node[] = [];
    let node: Node | undefined = this.root;
    for (const level of levels) {
      trail.push(node);
      node = node.child(level);
      if (!node) return false;
    }
    if (!node.patterns?.delete(subscription)) return false;
    this.size--;
    this.patternCount--;
    for (let i = levels.length - 1; i >= 0 && node.isEmpty(); i--) {
      const parent = trail[i] as Node;
      parent.deleteChild(levels[i] as string);
      node = parent;
    }
    return true;
  }

  /**
   * Visits the pattern subscriptions that match `topic` among those held at `nodes` (the nodes on the
   * topic's own path down the trie that hold patterns): only those whose prefix it starts with are tested.
   */
  private matchPatterns(
    topic: string,
    nodes: readonly Node[],
    visit: (pattern: PatternSubscription) => void,
  ): void {
    for (const node of nodes) {
      for (const p of node.patterns as Set<PatternSubscription>) {
        if ((p.literalPrefix === undefined || topic.startsWith(p.literalPrefix)) && p.matches(topic))
          visit(p);
      }
    }
  }

  /**
   * Every subscriber with at least one subscription matching `topic` (shared group members included),
   * once each. The SDK door tells its sessions about a new topic this way: the cost is that of the
   * matching subscriptions, not of all sessions (issue 11).
   */
  subscribersOf(topic: string): ReadonlySet<Subscriber> {
    if (this.size === 0) return NO_SUBSCRIBERS;
    const nodes: Node[] = [];
    const patternNodes: Node[] | undefined = this.patternCount > 0 ? [] : undefined;
    this.collect(this.root, topic.split("/"), 0, isSystemPath(topic), nodes, patternNodes);
    let out: Set<Subscriber> | undefined;
    for (const node of nodes) {
      forEachSub(node, (sub) => (out ??= new Set()).add(sub.subscriber));
      if (node.shared) {
        for (const group of node.shared.values())
          for (const m of group.members) (out ??= new Set()).add(m.subscriber);
      }
    }
    if (patternNodes !== undefined && patternNodes.length > 0) {
      this.matchPatterns(topic, patternNodes, (p) => (out ??= new Set()).add(p.subscriber));
    }
    return out ?? NO_SUBSCRIBERS;
  }

  /**
   * Delivers `update` to every subscriber whose subscriptions match its topic: once per subscriber,
   * with all its matching subscriptions; one member of each matching shared group [MQTT-4.8.2-4].
   * Returns the number of subscribers it was delivered to.
   */
  deliver(update: Update): number {
    const nodes: Node[] = [];
    const patternNodes: Node[] | undefined = this.patternCount > 0 ? [] : undefined;
    this.collect(this.root, update.topic.split("/"), 0, isSystemPath(update.topic), nodes, patternNodes);
    const gate = this.readGate;
    const path = update.topic;
    if (nodes.length === 1 && this.patternCount === 0 && nodes[0]?.shared === undefined) {
      // Common case: one matching filter. Each subscriber appears once; no grouping needed.
      const subs = (nodes[0] as Node).subs;
      if (subs === undefined) return 0;
      if (!(subs instanceof Map)) {
        // One subscriber (the leaf of most device topics).
        if (gate !== undefined && !this.mayRead(gate, subs.subscriber, path)) return 0;
        this.deliverTo(subs.subscriber, update, this.singleton(subs));
        return 1;
      }
      if (gate === undefined) {
        for (const sub of subs.values()) this.deliverTo(sub.subscriber, update, this.singleton(sub));
        return subs.size;
      }
      let n = 0;
      for (const sub of subs.values()) {
        if (!this.mayRead(gate, sub.subscriber, path)) continue;
        this.deliverTo(sub.subscriber, update, this.singleton(sub));
        n++;
      }
      return n;
    }
    const bySubscriber = new Map<Subscriber, Subscription[]>();
    const add = (sub: Subscription | undefined): void => {
      if (sub === undefined || (gate !== undefined && !this.mayRead(gate, sub.subscriber, path))) return;
      const list = bySubscriber.get(sub.subscriber);
      if (list) list.push(sub);
      else bySubscriber.set(sub.subscriber, [sub]);
    };
    for (const node of nodes) {
      forEachSub(node, add);
      if (node.shared)
        for (const group of node.shared.values()) add(pickMember(group, gate && this.guardedGate, path));
    }
    if (patternNodes !== undefined && patternNodes.length > 0)
      this.matchPatterns(update.topic, patternNodes, add);
    for (const [subscriber, subs] of bySubscriber) this.deliverTo(subscriber, update, subs);
    return bySubscriber.size;
  }

  /** The read gate's answer; a gate that throws is told to {@link SubscriptionIndex.onDeliveryError} and reads as no. */
  private mayRead(
    gate: (subscriber: Subscriber, path: string) => boolean,
    subscriber: Subscriber,
    path: string,
  ): boolean {
    try {
      return gate(subscriber, path);
    } catch (err) {
      this.onDeliveryError?.(err, subscriber);
      return false;
    }
  }

  /**
   * One subscriber's delivery: a throw is handed to {@link SubscriptionIndex.onDeliveryError}, so the
   * other subscribers still get the update and the publisher's operation succeeds (issue 14 §4).
   */
  private deliverTo(subscriber: Subscriber, update: Update, subs: readonly Subscription[]): void {
    try {
      subscriber.deliver(update, subs);
    } catch (err) {
      this.onDeliveryError?.(err, subscriber);
    }
  }

  /** True when at least one subscription matches `topic`. */
  hasMatch(topic: string): boolean {
    const nodes: Node[] = [];
    const patternNodes: Node[] | undefined = this.patternCount > 0 ? [] : undefined;
    this.collect(this.root, topic.split("/"), 0, isSystemPath(topic), nodes, patternNodes);
    if (nodes.some((n) => n.hasSubs())) return true;
    if (patternNodes === undefined || patternNodes.length === 0) return false;
    let found = false;
    this.matchPatterns(topic, patternNodes, () => (found = true));
    return found;
  }

  private singleton(sub: Subscription): readonly Subscription[] {
    let list = this.single.get(sub);
    if (!list) this.single.set(sub, (list = [sub]));
    return list;
  }

  private nodeFor(filter: string, create: boolean): Node {
    let node = this.root;
    for (const level of filter.split("/")) {
      const child = create ? node.childOrNew(level) : node.child(level);
      if (!child) return node;
      node = child;
    }
    return node;
  }

  /**
   * Gathers the nodes whose subscriptions match the topic `levels` into `out`, and (when asked) the
   * nodes holding patterns on the topic's path into `patternNodes`. Patterns never hang under a
   * wildcard level, so those are only met on the exact path.
   */
  private collect(
    node: Node,
    levels: string[],
    i: number,
    system: boolean,
    out: Node[],
    patternNodes?: Node[],
  ): void {
    if (patternNodes !== undefined && node.patterns !== undefined && node.patterns.size > 0)
      patternNodes.push(node);
    // '#' and '+' at the first level do not match '$' topics [MQTT-4.7.2-1].
    const wildcardsAllowed = !(i === 0 && system);
    const hash = wildcardsAllowed ? node.hash : undefined;
    // 'a/#' matches 'a' as well as everything below it [MQTT-4.7.1-2].
    if (hash) out.push(hash);
    if (i === levels.length) {
      out.push(node);
      return;
    }
    const plus = wildcardsAllowed ? node.plus : undefined;
    if (plus) this.collect(plus, levels, i + 1, system, out);
    const exact = node.child(levels[i] as string);
    if (exact) this.collect(exact, levels, i + 1, system, out, patternNodes);
  }
}

/**
 * The trie levels a pattern hangs under: the whole levels of its literal prefix (`a/b/c` of `a/b/cd`),
 * up to any level named like a wildcard, which a topic level can never be.
 */
function patternLevels(subscription: PatternSubscription): string[] {
  const levels = (subscription.literalPrefix ?? "").split("/");
  levels.pop(); // the last level of the prefix may be partial
  const wildcard = levels.findIndex((l) => l === "+" || l === "#");
  if (wildcard >= 0) levels.length = wildcard;
  return levels;
}

const NO_SUBSCRIBERS: ReadonlySet<Subscriber> = new Set();

/**
 * One member of a shared group for a delivery: round robin across the members [MQTT-4.8.2-4],
 * preferring connected ones; when none is connected, an offline member's session queues the message.
 * A member that may not read `path` is passed over (the next that may gets it); when none may, the
 * delivery is dropped (undefined), counted by the gate.
 */
function pickMember(
  group: SharedGroup,
  gate: ((subscriber: Subscriber, path: string) => boolean) | undefined,
  path: string,
): Subscription | undefined {
  const n = group.members.length;
  let offline: number | undefined;
  for (let k = 0; k < n; k++) {
    const i = (group.next + k) % n;
    const member = group.members[i] as Subscription;
    if (gate !== undefined && !gate(member.subscriber, path)) continue;
    if (member.subscriber.online !== false) {
      group.next = (i + 1) % n;
      return member;
    }
    offline ??= i;
  }
  if (offline === undefined) return undefined;
  group.next = (offline + 1) % n;
  return group.members[offline] as Subscription;
}
