/**
 * The core: topics, subscriptions and sessions, and the publish pipeline that joins them. Doors call
 * {@link Core.publish} and {@link Core.subscriptions}; nothing here knows of sockets or packets.
 */
import {
  type ErrorCode,
  type TopicSpecification,
  VALUE_CODECS,
  type ValueType,
  normaliseSpecification,
  SkeinError,
} from "@skein/protocol";
import { type Counter, Metrics } from "./metrics.js";
import { type Clock, type Logger, type Store, type Timer, silentLogger, systemClock } from "./ports.js";
import { SessionRegistry } from "./sessions.js";
import { SubscriptionIndex } from "./subscription-index.js";
import { TopicTree } from "./topic-tree.js";
import type { Topic, Update } from "./types.js";

/** Bounds the core enforces. */
export interface CoreLimits {
  /** Most topics the server holds. */
  maxTopics: number;
  /** How often to look for topics whose removal policy says they should go (ms). */
  removalSweepMs: number;
}

/** What the core is built from. */
export interface CoreOptions {
  limits: CoreLimits;
  store: Store;
  logger?: Logger;
  clock?: Clock;
  metrics?: Metrics;
}

/** How a publish may create its topic when it is missing. */
export interface PublishContext {
  /** Specification for a topic this publish creates when it is missing; undefined = do not create. */
  createSpec?: (update: Update) => TopicSpecification;
}

/** The outcome of a publish. */
export type PublishResult = { ok: true; delivered: number } | { ok: false; code: ErrorCode; message: string };

/** Listener of topic additions and removals (the SDK door tells its sessions). */
export interface TopicListener {
  added?(topic: Topic): void;
  removed?(topic: Topic): void;
}

/** The rooms both doors open onto. */
export class Core {
  readonly topics = new TopicTree();
  readonly subscriptions = new SubscriptionIndex();
  readonly sessions = new SessionRegistry();
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly store: Store;
  private readonly limits: CoreLimits;
  private readonly topicListeners = new Set<TopicListener>();
  private sweepTimer: Timer | undefined;
  private readonly updatesCounter: Counter;

  constructor(options: CoreOptions) {
    this.limits = options.limits;
    this.store = options.store;
    this.log = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? new Metrics();
    this.updatesCounter = this.metrics.counter("skein_updates_total");
  }

  /** Starts background work (removal sweeps). */
  start(): void {
    const sweep = (): void => {
      this.sweepRemovals();
      this.sweepTimer = this.clock.setTimeout(sweep, this.limits.removalSweepMs);
      this.sweepTimer.unref?.();
    };
    this.sweepTimer = this.clock.setTimeout(sweep, this.limits.removalSweepMs);
    this.sweepTimer.unref?.();
  }

  /** Stops background work. */
  stop(): void {
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Registers a topic listener; returns a function that removes it. */
  onTopics(listener: TopicListener): () => void {
    this.topicListeners.add(listener);
    return () => this.topicListeners.delete(listener);
  }

  /**
   * Publishes an update: resolve (or create) its topic, check the payload against the topic's type,
   * apply the topic's retention, then deliver to every matching subscription.
   */
  publish(update: Update, context: PublishContext = {}): PublishResult {
    const topic = this.topics.get(update.topic) ?? this.createForPublish(update, context);
    if ("ok" in topic) return topic;
    const problem = checkPayload(topic, update);
    if (problem) {
      this.metrics.inc("skein_updates_refused_total", { reason: "PAYLOAD_INVALID" });
      return { ok: false, code: "PAYLOAD_INVALID", message: problem };
    }
    applyRetention(topic, update);
    topic.lastActivity = this.clock.now();
    const delivered = this.subscriptions.deliver(update);
    this.updatesCounter.value++;
    return { ok: true, delivered };
  }

  /**
   * Adds a topic. Returns the topic and whether it was created; an existing topic with a different
   * specification is an error.
   * @throws SkeinError `INVALID_SPECIFICATION`, `TOPIC_EXISTS_MISMATCH`, `RATE_LIMITED`
   */
  addTopic(path: string, spec: TopicSpecification): { topic: Topic; created: boolean } {
    const normalised = normaliseSpecification(spec);
    const existing = this.topics.get(path);
    if (existing) {
      if (JSON.stringify(existing.spec) !== JSON.stringify(normalised)) {
        throw new SkeinError("TOPIC_EXISTS_MISMATCH", `topic ${path} exists as ${existing.spec.type}`);
      }
      return { topic: existing, created: false };
    }
    if (this.topics.size >= this.limits.maxTopics) {
      this.metrics.inc("skein_updates_refused_total", { reason: "RATE_LIMITED" });
      throw new SkeinError("RATE_LIMITED", `the server holds its maximum of ${this.limits.maxTopics} topics`);
    }
    const topic: Topic = { path, spec: normalised, value: undefined, lastActivity: this.clock.now() };
    this.topics.add(topic);
    this.metrics.set("skein_topics", this.topics.size);
    for (const l of this.topicListeners) l.added?.(topic);
    return { topic, created: true };
  }

  /** Removes a topic; returns it when there was one. */
  removeTopic(path: string): Topic | undefined {
    const topic = this.topics.remove(path);
    if (!topic) return undefined;
    this.metrics.set("skein_topics", this.topics.size);
    if (topic.spec.properties?.persistent) this.store.removeTopic(path);
    for (const l of this.topicListeners) l.removed?.(topic);
    return topic;
  }

  /** The stored values (retained messages) of topics matching an MQTT filter, skipping expired ones. */
  *retained(filter: string): Generator<Update> {
    const now = this.clock.now();
    for (const topic of this.topics.matchFilter(filter)) {
      const value = topic.value;
      if (!value) continue;
      // An expired retained message is not delivered [MQTT-3.3.2-5].
      if (value.expiresAt !== undefined && value.expiresAt <= now) {
        topic.value = undefined;
        continue;
      }
      topic.lastActivity = now;
      yield value;
    }
  }

  private createForPublish(update: Update, context: PublishContext): Topic | PublishResult {
    const path = update.topic;
    if (!context.createSpec) return { ok: false, code: "TOPIC_NOT_FOUND", message: `no topic ${path}` };
    try {
      return this.addTopic(path, context.createSpec(update)).topic;
    } catch (err) {
      const e = SkeinError.from(err);
      return { ok: false, code: e.code, message: e.message };
    }
  }

  private sweepRemovals(): void {
    const now = this.clock.now();
    let removed = 0;
    for (const topic of [...this.topics.all()]) {
      const removal = topic.spec.properties?.removal;
      if (!removal || now - topic.lastActivity < removal.idleMs) continue;
      if ((removal.onlyWithoutValue ?? true) && topic.value) continue;
      if (this.subscriptions.hasMatch(topic.path)) continue;
      this.removeTopic(topic.path);
      removed++;
    }
    if (removed) this.log.debug({ removed }, "removed idle topics");
  }
}

/** Why the update's payload does not fit the topic's type, or undefined when it does. */
function checkPayload(topic: Topic, update: Update): string | undefined {
  const spec = topic.spec;
  if (spec.properties?.validateValues === false) return undefined;
  // An empty retained publish to an MQTT-retention topic clears the value; nothing to check [MQTT-3.3.1-6].
  if (update.payload.length === 0 && update.retain && spec.properties?.retention === "mqtt") return undefined;
  const type: ValueType = spec.type === "time-series" ? (spec.properties?.eventType ?? "binary") : spec.type;
  if (type === "binary") return undefined;
  try {
    VALUE_CODECS[type].fromBytes(update.payload);
    return undefined;
  } catch (err) {
    return `${topic.path} is a ${type} topic: ${SkeinError.from(err).message}`;
  }
}

/** What an update does to the stored value (DESIGN §3). */
function applyRetention(topic: Topic, update: Update): void {
  switch (topic.spec.properties?.retention ?? "always") {
    case "always":
      topic.value = update;
      return;
    case "mqtt":
      if (!update.retain) return;
      // A retained message with an empty payload clears the retained value [MQTT-3.3.1-6].
      topic.value = update.payload.length === 0 ? undefined : update;
      return;
    case "never":
      return;
  }
}
