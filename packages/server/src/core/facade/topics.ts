/**
 * The façade's topic operations (see ../facade.ts): updates, topic management, fetch, subscriptions,
 * and what a subscriber is given (retained values, selected topics), each checked first.
 */
import { type Permission, SkeinError, type TopicSelector, type TopicSpecification } from "@skein/protocol";
import type { Core, FetchOptions, PublishContext, PublishResult, TopicUpdateRequest } from "../core.js";
import type { Actor } from "../security/types.js";
import type { AddResult, PatternSubscription } from "../subscription-index.js";
import type { Subscriber, Subscription, SubscriptionOptions, Topic, Update } from "../types.js";
import { FacadeBase } from "./base.js";
import { REFUSED, refusal } from "./control.js";
import { filterScope, selectorScopes } from "./scope.js";

/** What a topic listener of the façade is told: the topic and the subscribers whose filters match it. */
export interface TopicEvents {
  added?(topic: Topic, subscribers: ReadonlySet<Subscriber>): void;
  removed?(topic: Topic, subscribers: ReadonlySet<Subscriber>): void;
}

/** An SDK `set` (or a delta's result) as the façade takes it: the acting session is the actor. */
export type SetRequest = Omit<TopicUpdateRequest, "sessionId">;

/** Topics, updates, subscriptions and what subscribers are given. */
export class TopicFacade extends FacadeBase {
  // ---- topics and updates ----

  /**
   * A door's publish (MQTT PUBLISH, a will): `update_topic` on its path, and `modify_topic` when it
   * would create the topic. A refusal is a failed result (no throw on the hot path).
   */
  publish(actor: Actor, update: Update, context: PublishContext): PublishResult {
    if (this.gate !== undefined) {
      const path = update.topic;
      let denied: Permission | undefined;
      if (!this.allows(actor, "update_topic", path)) denied = "update_topic";
      else if (
        context.createSpec !== undefined &&
        this.core.topics.get(path) === undefined &&
        !this.allows(actor, "modify_topic", path)
      )
        denied = "modify_topic";
      if (denied !== undefined) return { ok: false, code: REFUSED, message: refusal(denied, path).message };
    }
    return this.core.publish(update, context);
  }

  /** True when `actor` may publish to `path` (an MQTT will at CONNECT; checked again when sent). */
  mayPublish(actor: Actor, path: string): boolean {
    return this.gate === undefined || this.allows(actor, "update_topic", path);
  }

  /** The specification of the topic `actor` is about to update (`update_topic`), if it exists. */
  publishedSpec(actor: Actor, path: string): TopicSpecification | undefined {
    if (this.gate !== undefined) this.check(actor, "update_topic", path);
    return this.core.topics.get(path)?.spec;
  }

  /** Adds a topic (`modify_topic`). See {@link Core.addTopic}. */
  addTopic(actor: Actor, path: string, spec: TopicSpecification): ReturnType<Core["addTopic"]> {
    this.check(actor, "modify_topic", path);
    return this.core.addTopic(path, spec, actor.sessionId);
  }

  /**
   * Removes the topics a selector selects: `modify_topic` on the selector's scope, and each topic the
   * session may not modify is left alone.
   */
  removeTopics(actor: Actor, selector: TopicSelector): ReturnType<Core["removeTopics"]> {
    for (const scope of selectorScopes(selector)) this.check(actor, "modify_topic", scope);
    if (this.gate === undefined) return this.core.removeTopics(selector);
    return this.core.removeTopics(selector, (t) => this.allows(actor, "modify_topic", t.path));
  }

  /** Sets a topic's value (`update_topic`; `modify_topic` too when it creates the topic). */
  setValue(actor: Actor, request: SetRequest): ReturnType<Core["updateTopic"]> {
    this.check(actor, "update_topic", request.path);
    if (request.createSpec !== undefined && this.core.topics.get(request.path) === undefined)
      this.check(actor, "modify_topic", request.path);
    return this.core.updateTopic({ ...request, sessionId: actor.sessionId });
  }

  /**
   * The current value of a topic a delta applies to (`update_topic`).
   * @throws SkeinError `TOPIC_NOT_FOUND`
   */
  deltaBase(actor: Actor, path: string): Uint8Array {
    this.check(actor, "update_topic", path);
    const topic = this.core.topics.get(path);
    if (!topic) throw new SkeinError("TOPIC_NOT_FOUND", `no topic ${path}`);
    return topic.value?.payload ?? EMPTY;
  }

  /**
   * A page of topics (`select_topic` on the selector's scope); topics the session may not read are
   * not in it (they are skipped, not counted against the page).
   */
  fetch(actor: Actor, selector: TopicSelector, options: FetchOptions): ReturnType<Core["fetch"]> {
    for (const scope of selectorScopes(selector)) this.check(actor, "select_topic", scope);
    const gate = this.gate;
    if (gate === undefined) return this.core.fetch(selector, options);
    return this.core.fetch(selector, { ...options, readable: (t) => this.mayRead(actor, t.path) });
  }

  /**
   * Appends an event to a time series, or edits one (`update_topic` on its path). `committed` settles
   * once the event is kept.
   */
  appendEvent(
    actor: Actor,
    request: Omit<Parameters<Core["appendEvent"]>[0], "sessionId">,
  ): ReturnType<Core["appendEvent"]> {
    this.check(actor, "update_topic", request.path);
    return this.core.appendEvent({ ...request, sessionId: actor.sessionId });
  }

  /**
   * A range query over a time series (`read_topic` on its path). The results are the series' own
   * events: the one check covers them.
   */
  queryEvents(actor: Actor, ...query: Parameters<Core["queryEvents"]>): ReturnType<Core["queryEvents"]> {
    this.check(actor, "read_topic", query[0]);
    return this.core.queryEvents(...query);
  }

  /**
   * The events a new subscriber of a time series topic receives first; unchecked here: it is given
   * only with the topic's delivery, which the read gate checks.
   */
  subscriptionRange(topic: Topic): ReturnType<Core["subscriptionRange"]> {
    return this.core.subscriptionRange(topic);
  }

  // ---- subscriptions and delivery ----

  /**
   * Puts back a subscription the store kept for a persistent session (start-up): unchecked, it was
   * checked when it was made; what it delivers is checked by the read gate.
   */
  restoreSubscription(
    filter: string,
    shareGroup: string | undefined,
    subscriber: Subscriber,
    options: SubscriptionOptions,
  ): void {
    this.core.subscriptions.add(filter, shareGroup, subscriber, options);
  }

  /**
   * The index's record of a subscription `subscriber` made (a door keeps it rather than a copy of its
   * own, issue 11); unchecked: a lookup of the subscriber's own subscription.
   */
  subscriptionOf(
    filter: string,
    shareGroup: string | undefined,
    subscriber: Subscriber,
  ): Subscription | undefined {
    return this.core.subscriptions.find(filter, shareGroup, subscriber);
  }

  /** Subscribes `subscriber` to an MQTT filter (`select_topic` on its scope). */
  subscribe(
    actor: Actor,
    filter: string,
    shareGroup: string | undefined,
    subscriber: Subscriber,
    options: SubscriptionOptions,
  ): AddResult {
    this.check(actor, "select_topic", filterScope(filter));
    return this.core.subscriptions.add(filter, shareGroup, subscriber, options);
  }

  /** Removes a subscription of the session's own: undoing one's own subscription needs no permission. */
  unsubscribe(
    _actor: Actor,
    filter: string,
    shareGroup: string | undefined,
    subscriber: Subscriber,
  ): boolean {
    return this.core.subscriptions.remove(filter, shareGroup, subscriber);
  }

  /** Adds a pattern subscription for a selector no MQTT filter expresses (`select_topic` on its scope). */
  subscribePattern(actor: Actor, selector: TopicSelector, pattern: PatternSubscription): void {
    for (const scope of selectorScopes(selector)) this.check(actor, "select_topic", scope);
    this.core.subscriptions.addPattern(pattern);
  }

  /** Removes a pattern subscription of the session's own (needs no permission, as {@link unsubscribe}). */
  unsubscribePattern(_actor: Actor, pattern: PatternSubscription): boolean {
    return this.core.subscriptions.removePattern(pattern);
  }

  /**
   * The topics a selector selects now (`select_topic` on its scope), without those the session may
   * not read: what an SDK `select` tells the client.
   */
  selectTopics(actor: Actor, selector: TopicSelector): Topic[] {
    for (const scope of selectorScopes(selector)) this.check(actor, "select_topic", scope);
    const topics = this.core.selectTopics(selector);
    return this.gate === undefined ? topics : topics.filter((t) => this.mayRead(actor, t.path));
  }

  /** The retained values for a new subscription to `filter`, without those the session may not read. */
  retained(actor: Actor, filter: string): Iterable<Update> {
    const values = this.core.retained(filter);
    return this.gate === undefined ? values : this.readable(actor, values);
  }

  /** True while `topic` is still the topic at its path (not removed or replaced): a lookup, no check. */
  isCurrent(topic: Topic): boolean {
    return this.core.topics.get(topic.path) === topic;
  }

  /**
   * Tells `listener` of topics added and removed, with the subscribers whose subscriptions match
   * (the SDK door tells its sessions; each checks `read_topic` through {@link mayRead}). No actor:
   * the door listens for all its sessions. Returns a function that stops it.
   */
  onTopics(listener: TopicEvents): () => void {
    const subscriptions = this.core.subscriptions;
    return this.core.onTopics({
      added: (topic) => listener.added?.(topic, subscriptions.subscribersOf(topic.path)),
      removed: (topic) => listener.removed?.(topic, subscriptions.subscribersOf(topic.path)),
    });
  }

  /**
   * Delivers a message the server routes for a session: an MQTT request's response to its Response
   * Topic. The requester was checked when it sent; each subscriber's `read_topic` is checked per
   * delivery as always.
   */
  deliverMessage(update: Update): number {
    return this.core.subscriptions.deliver(update);
  }

  /** The server's own publish (`$SYS/` figures): the server is no session and is not checked. */
  serverPublish(update: Update, context: PublishContext): PublishResult {
    return this.core.publish(update, context);
  }

  /** Sizes for monitoring (`$SYS/`): no session asks, nothing is checked. */
  counts(): { topics: number; subscriptions: number } {
    return { topics: this.core.topics.size, subscriptions: this.core.subscriptions.count };
  }

  /**
   * Topics holding a value (MQTT's retained messages), for monitoring: the count the retained quotas
   * keep (core/quotas.ts), no walk of the tree.
   */
  retainedCount(): number {
    return this.core.quotas.retainedTopics;
  }

  private *readable(actor: Actor, values: Iterable<Update>): Generator<Update> {
    for (const value of values) if (this.mayRead(actor, value.topic)) yield value;
  }
}

const EMPTY = new Uint8Array(0);
