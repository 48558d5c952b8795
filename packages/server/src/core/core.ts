/**
 * The core: topics, subscriptions and sessions, and the publish pipeline that joins them. Doors call
 * {@link Core.publish} and {@link Core.subscriptions}; nothing here knows of sockets or packets.
 */
import {
  type Constraint,
  type ErrorCode,
  type RangeQueryParameters,
  type TopicSelector,
  type TopicType,
  type TopicSpecification,
  VALUE_CODECS,
  type ValueType,
  isReservedForServer,
  normaliseSpecification,
  SkeinError,
  valueTypeOf,
} from "@skein/protocol";
import { type Counter, Metrics } from "./metrics.js";
import { Containment } from "./containment.js";
import { type RateLimit, TokenBucket } from "./rate-limit.js";
import { type QuotaLimits, type QuotaRefusal, Quotas, UNLIMITED_QUOTAS } from "./quotas.js";
import { type Clock, type Logger, silentLogger, systemClock } from "./ports.js";
import { RemovalSchedule } from "./removals.js";
import { ValueExpiry } from "./value-expiry.js";
import { Persistence, type UserPropertyOrder } from "./persistence.js";
import type { Storage } from "./storage.js";
import { SessionRegistry } from "./sessions.js";
import { SessionStore } from "./session-store.js";
import { checkConstraint } from "./constraints.js";
import { LockRegistry } from "./locks.js";
import { Messaging } from "./messaging.js";
import { SecurityService, type SecurityOptions } from "./security/service.js";
import { SubscriptionIndex } from "./subscription-index.js";
import { TopicTree, rangeOf } from "./topic-tree.js";
import { type AppendedEvent, TimeSeriesTopics } from "./timeseries/topics.js";
import type { RangeResultPage } from "./timeseries/evaluate.js";
import type { TimeSeriesEvent } from "./storage.js";
import type { Topic, Update } from "./types.js";
import { Facade } from "./facade.js";
import type { Authorizer } from "./security/types.js";

/** Bounds the core enforces. */
export interface CoreLimits {
  /** Most topics the server holds. */
  maxTopics: number;
  /** Largest request or response payload (bytes). */
  maxRequestBytes: number;
  /**
   * How often the time series and kept-session sweeps run (ms). Removal policies do not use it: a
   * topic is looked at when its idle time may have run out (`core/removals.ts`).
   */
  removalSweepMs: number;
  /** Most locks one session may hold (`sdk.maxLocksPerSession`); default: no bound. */
  maxLocksPerSession?: number;
  /** Publishes per session (`limits.publishesPerSecondPerSession`); undefined: no limit. */
  publishRate?: RateLimit;
  /** Caps on retained values and on the topics a session creates (core/quotas.ts); default: none. */
  quotas?: Partial<QuotaLimits>;
}

/** What the core is built from. */
export interface CoreOptions {
  limits: CoreLimits;
  /** Where the MQTT door remembers interleaved User Property order (kept with stored values). */
  userPropertyOrder?: UserPropertyOrder;
  logger?: Logger;
  clock?: Clock;
  metrics?: Metrics;
  /**
   * The one permission check of every operation and delivery (DESIGN §7), asked through
   * {@link Core.facade}; default {@link allowAll}.
   */
  authorizer?: Authorizer;
  /** Security: bind host, password hasher, authenticators, initial store (default: anonymous may do what the loopback default allows). */
  security?: SecurityOptions;
}

/** How a publish may create its topic when it is missing. */
export interface PublishContext {
  /** Specification for a topic this publish creates when it is missing; undefined = do not create. */
  createSpec?: (update: Update) => TopicSpecification;
}

/** The outcome of a publish. */
export type PublishResult =
  | {
      ok: true;
      delivered: number;
      /**
       * When the update changed a kept (persistent) topic: settles once the change is committed. A
       * door acknowledges the update only then (docs/durability.md); undefined: nothing to wait for.
       */
      committed: Promise<void> | undefined;
    }
  | { ok: false; code: ErrorCode; message: string };

/** An update of a topic's value by a session. */
export interface TopicUpdateRequest {
  path: string;
  valueType: ValueType;
  value: Uint8Array;
  sessionId: string;
  constraint?: Constraint;
  /** Create the topic with this specification when it is missing. */
  createSpec?: TopicSpecification;
}

/** Paging and filtering of {@link Core.fetch}. */
export interface FetchOptions {
  types?: readonly TopicType[];
  first?: number;
  last?: number;
  after?: string;
  before?: string;
  /** Topics the fetching session may read (the façade's `read_topic` check); default: all. */
  readable?: (topic: Topic) => boolean;
}

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
  /**
   * A new session's publish rate limiter (`limits.publishesPerSecondPerSession`), or undefined when
   * publishes are not limited: a door asks once per session and calls `take(clock.now())` per publish.
   */
  publishBucket(): TokenBucket | undefined {
    const rate = this.limits.publishRate;
    return rate === undefined ? undefined : new TokenBucket(rate, this.clock.now());
  }

  /** Counts and logs exceptions contained at a boundary (timers, deliveries, session events). */
  readonly containment: Containment;
  /** What is kept through the storage engine (persistent topics and values). */
  readonly persistence: Persistence;
  /** MQTT persistent sessions kept through the storage engine (`core/session-store.ts`). */
  readonly sessionStore: SessionStore;
  private readonly limits: CoreLimits;
  private readonly topicListeners = new Set<TopicListener>();
  /** Topics with a removal policy, each looked at when its idle time may have run out (issue 11). */
  private readonly removals: RemovalSchedule;
  /** Topics whose value has an MQTT 5 Message Expiry, each cleared when it expires (issue 11). */
  readonly valueExpiry: ValueExpiry;
  private readonly updatesCounter: Counter;
  private nextTopicId = 1;
  /** The commit promise of the last removal of a kept topic (see {@link Core.removeTopics}). */
  private lastRemoval: Promise<void> | undefined;
  /** Named locks held by sessions (update constraints). */
  readonly locks: LockRegistry;
  /** Request-response routing. */
  readonly messaging: Messaging;
  /** The doors' only way in: every operation checked by the authorizer (DESIGN §7). */
  readonly facade: Facade;
  /** Time series topics: their event logs, appends, edits and range queries. */
  readonly timeseries: TimeSeriesTopics;
  /** Security: the store, `security.authorizer` (the one permission check), authentication, administration. */
  readonly security: SecurityService;
  /** Caps on retained values and topics created, globally and per session (issue 14 §4). */
  readonly quotas: Quotas;

  constructor(options: CoreOptions) {
    this.limits = options.limits;
    this.locks = new LockRegistry(options.limits.maxLocksPerSession);
    this.persistence = new Persistence(options.userPropertyOrder);
    this.log = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new Metrics();
    this.containment = new Containment(this.metrics, this.log);
    // Every timer of the server runs through the core's clock: none can throw out of its timer.
    this.clock = this.containment.guardClock(options.clock ?? systemClock);
    this.subscriptions.onDeliveryError = (err) => this.containment.contained("delivery", err);
    this.sessions.onListenerError = (err) => this.containment.contained("session_event", err);
    this.updatesCounter = this.metrics.counter("skein_updates_total");
    this.valueExpiry = new ValueExpiry(this.clock, {
      isLive: (topic) => this.topics.get(topic.path) === topic,
      clear: (topic) => this.expireValue(topic),
    });
    this.quotas = new Quotas(
      { ...UNLIMITED_QUOTAS, ...options.limits.quotas },
      this.metrics,
      this.log,
      this.clock,
      (topic) => this.valueExpiry.valueSet(topic),
    );
    this.removals = new RemovalSchedule(
      this.clock,
      {
        isLive: (topic) => this.topics.get(topic.path) === topic,
        hasSubscribers: (path) => this.subscriptions.hasMatch(path),
        remove: (topic) => void this.removeTopic(topic.path),
      },
      this.log,
    );
    this.timeseries = new TimeSeriesTopics(this.clock, this.log, this.metrics, (t) =>
      this.persistence.keeps(t),
    );
    // A kept session acts as its owner with the roles the security store gives it at start-up.
    this.sessionStore = new SessionStore(this.persistence, this.clock, this.metrics, this.log, (p) =>
      this.security.currentRoles(p),
    );
    this.security = new SecurityService(
      options.security ?? {},
      this.sessions,
      this.clock,
      this.metrics,
      this.log,
    );
    this.messaging = new Messaging(
      this.clock,
      this.metrics,
      { properties: (id) => this.sessions.get(id)?.properties },
      this.limits.maxRequestBytes,
    );
    // A closed session's handlers go, and requests it was handling fail (DESIGN §4); its locks go too.
    this.sessions.onEvent((kind, session) => {
      if (kind !== "closed") return;
      this.messaging.sessionClosed(session.sessionId);
    });
    // The security store decides, unless a host injected its own check (tests do).
    this.facade = new Facade(this, options.authorizer ?? this.security.authorizer);
  }

  /**
   * Starts background work: the time series and kept-session sweeps every `removalSweepMs`. Removal
   * policies need no sweep: each topic with one is looked at when its idle time may have run out
   * (`core/removals.ts`, from the moment the topic is added).
   */
  start(): void {
    this.timeseries.start(this.limits.removalSweepMs);
    this.sessionStore.start(this.limits.removalSweepMs);
  }

  /** Stops background work. */
  stop(): void {
    this.removals.stop();
    this.valueExpiry.stop();
    this.timeseries.stop();
    this.sessionStore.stop();
    this.messaging.stop();
  }

  /** Registers a topic listener; returns a function that removes it. */
  onTopics(listener: TopicListener): () => void {
    this.topicListeners.add(listener);
    return () => this.topicListeners.delete(listener);
  }

  /**
   * Publishes an update: resolve (or create) its topic, check the payload against the topic's type,
   * apply the topic's retention, then deliver to every matching subscription. An update from a session
   * (`origin` set) to a path only the server writes is refused with `NOT_AUTHORIZED`.
   */
  publish(update: Update, context: PublishContext = {}): PublishResult {
    if (update.origin !== undefined && isReservedForServer(update.topic)) {
      const e = this.reservedPath(update.topic);
      return { ok: false, code: e.code, message: e.message };
    }
    const topic = this.topics.get(update.topic) ?? this.createForPublish(update, context);
    if ("ok" in topic) return topic;
    const problem = checkPayload(topic, update);
    if (problem) {
      this.metrics.inc("skein_updates_refused_total", { reason: "PAYLOAD_INVALID" });
      return { ok: false, code: "PAYLOAD_INVALID", message: problem };
    }
    // A publish to a time series appends an event (DESIGN §3).
    if (topic.spec.type === "time-series") return this.publishEvent(topic, update);
    let committed: Promise<void> | undefined;
    const effect = retentionOf(topic.spec, update.retain, update.payload.length);
    if (effect !== "unchanged") {
      // A value that would take a session or the server past a retained quota is refused whole.
      const value = effect === "set" ? update : undefined;
      const refusal = this.quotas.change(topic, value, update.origin);
      if (refusal !== undefined) return this.quotaRefused(refusal);
      committed = this.persistence.changed(topic);
    }
    topic.lastActivity = this.clock.now();
    // Copies queued for kept MQTT sessions are committed before the publish is acknowledged
    // (docs/durability.md); the engine commits in order, so the last one's promise covers them all.
    const kept = this.sessionStore;
    kept.lastEnqueue = undefined;
    const delivered = this.subscriptions.deliver(update);
    const queued = kept.lastEnqueue;
    if (queued !== undefined) committed = laterOf(committed, queued);
    this.updatesCounter.value++;
    return { ok: true, delivered, committed };
  }

  /**
   * Adds a topic. Returns the topic and whether it was created; an existing topic with a different
   * specification is an error. Paths only the server writes (`$SYS/...`) are refused: the server's own
   * topics there are made by its publishes.
   * `committed` settles once a new persistent topic is committed to the store (undefined otherwise).
   * `sessionId` is the session adding it (none: the server), whose topics created are capped
   * (`limits.maxTopicsPerSession`).
   * @throws SkeinError `NOT_AUTHORIZED`, `INVALID_SPECIFICATION`, `TOPIC_EXISTS_MISMATCH`, `RATE_LIMITED`
   */
  addTopic(
    path: string,
    spec: TopicSpecification,
    sessionId?: string,
  ): { topic: Topic; created: boolean; committed: Promise<void> | undefined } {
    if (isReservedForServer(path)) throw this.reservedPath(path);
    const { topic, created } = this.insertTopic(path, spec, sessionId);
    return { topic, created, committed: created ? this.persistence.changed(topic) : undefined };
  }

  /**
   * Start-up: takes `storage` as the store of persistent topics and restores the topics it keeps,
   * with their values, before any door opens. Resolves with how many topics were restored.
   */
  async restore(storage: Storage): Promise<number> {
    this.persistence.attach(storage);
    this.timeseries.attachDurable(storage);
    const n = await this.persistence.load(
      storage,
      this.clock.now(),
      ({ path, spec, value }) => {
        this.quotas.setValue(this.insertTopic(path, spec).topic, value, undefined);
      },
      (series) => this.timeseries.restored(series),
    );
    await this.timeseries.warm((path) => this.topics.get(path));
    return n;
  }

  /** The error for a client's write to a path only the server writes, counted and logged. */
  private reservedPath(path: string): SkeinError {
    this.metrics.inc("skein_updates_refused_total", { reason: "NOT_AUTHORIZED" });
    this.log.debug({ path }, "write to a server-reserved path refused");
    return new SkeinError("NOT_AUTHORIZED", `only the server writes ${path}`);
  }

  /** A refusal by a quota: `RATE_LIMITED` (MQTT 0x97 Quota exceeded), counted as a refused update too. */
  private quotaRefused(refusal: QuotaRefusal): { ok: false; code: ErrorCode; message: string } {
    this.metrics.inc("skein_updates_refused_total", { reason: "RATE_LIMITED" });
    return { ok: false, code: "RATE_LIMITED", message: refusal.message };
  }

  /**
   * Checks that a value of `bytes` payload bytes that `sessionId` gives a topic of `spec` it is about
   * to create fits the retained quotas (a topic over quota is not created either).
   * @throws SkeinError `RATE_LIMITED`
   */
  private checkNewValue(
    spec: TopicSpecification,
    sessionId: string | undefined,
    bytes: number,
    retain: boolean,
  ): void {
    if (retentionOf(spec, retain, bytes) !== "set") return;
    const refusal = this.quotas.refuseValue(undefined, sessionId, bytes);
    if (refusal !== undefined) throw new SkeinError("RATE_LIMITED", this.quotaRefused(refusal).message);
  }

  /**
   * Adds the topic at `path`, or finds it with an equal specification; `sessionId` is the session
   * creating it (none: the server, start-up).
   * @throws SkeinError `TOPIC_EXISTS_MISMATCH`, `RATE_LIMITED` (`limits.maxTopics`, `limits.maxTopicsPerSession`)
   */
  private insertTopic(
    path: string,
    spec: TopicSpecification,
    sessionId?: string,
  ): { topic: Topic; created: boolean } {
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
    const refusal = this.quotas.refuseCreate(sessionId);
    if (refusal !== undefined) {
      const { message } = this.quotaRefused(refusal);
      throw new SkeinError("RATE_LIMITED", message);
    }
    const topic: Topic = {
      id: this.nextTopicId++,
      path,
      spec: normalised,
      value: undefined,
      lastActivity: this.clock.now(),
      creator: undefined,
      retainer: undefined,
    };
    this.topics.add(topic);
    this.quotas.created(topic, sessionId);
    this.removals.add(topic);
    this.metrics.set("skein_topics", this.topics.size);
    for (const l of this.topicListeners) l.added?.(topic);
    return { topic, created: true };
  }

  /** Removes a topic; returns it when there was one. */
  removeTopic(path: string): Topic | undefined {
    const topic = this.topics.remove(path);
    if (!topic) return undefined;
    this.quotas.removed(topic);
    this.metrics.set("skein_topics", this.topics.size);
    this.lastRemoval = this.persistence.removed(topic);
    if (topic.spec.type === "time-series") this.timeseries.removed(topic);
    for (const l of this.topicListeners) l.removed?.(topic);
    // Subscribers that see updates only (MQTT) get an empty update marking the removal.
    this.subscriptions.deliver({
      topic: path,
      payload: EMPTY,
      qos: 0,
      retain: false,
      properties: { userProperties: { "skein-event": "topic-removed" } },
      expiresAt: undefined,
      origin: undefined,
    });
    return topic;
  }

  /**
   * Updates a topic's value on behalf of a session (the SDK's `set`): checks the constraint, creates the
   * topic from `createSpec` when it is missing, checks the value against the topic type, then publishes
   * it. The update carries the content type and payload format of its type, so MQTT 5 subscribers see
   * them (DESIGN §3).
   * `committed` settles once the new value of a persistent topic is committed (undefined otherwise).
   * @throws SkeinError `NOT_AUTHORIZED` (a path only the server writes), `TOPIC_NOT_FOUND`,
   * `TOPIC_TYPE_MISMATCH`, `PAYLOAD_INVALID`, a constraint's code
   */
  updateTopic(request: TopicUpdateRequest): { created: boolean; committed: Promise<void> | undefined } {
    if (isReservedForServer(request.path)) throw this.reservedPath(request.path);
    let topic = this.topics.get(request.path);
    if (request.constraint) checkConstraint(request.constraint, topic, request.sessionId, this.locks);
    let created = false;
    if (!topic) {
      const spec = request.createSpec;
      if (!spec) throw new SkeinError("TOPIC_NOT_FOUND", `no topic ${request.path}`);
      // A value over quota creates no topic either.
      this.checkNewValue(spec, request.sessionId, request.value.byteLength, true);
      topic = this.insertTopic(request.path, spec, request.sessionId).topic;
      created = true;
    }
    const type = valueTypeOf(topic.spec);
    if (type !== request.valueType) {
      throw new SkeinError(
        "TOPIC_TYPE_MISMATCH",
        `${topic.path} is a ${type} topic, not ${request.valueType}`,
      );
    }
    const codec = VALUE_CODECS[type];
    const update: Update = {
      topic: topic.path,
      payload: request.value,
      qos: 1,
      retain: true,
      properties: codec.contentType
        ? { contentType: codec.contentType, payloadFormatIndicator: codec.utf8 || undefined }
        : undefined,
      expiresAt: undefined,
      origin: request.sessionId,
    };
    const result = this.publish(update);
    if (!result.ok) throw new SkeinError(result.code, result.message);
    return { created, committed: result.committed };
  }

  /**
   * Appends an event to the time series at `path` on behalf of a session (the SDK's `append`), or an
   * edit of `originalSequence`, and delivers it. The author is the session's principal, else its MQTT
   * client id, else empty. `committed` settles once the event is kept: answer only then.
   * @throws SkeinError `NOT_AUTHORIZED` (a path only the server writes), `TOPIC_NOT_FOUND`,
   *   `TOPIC_TYPE_MISMATCH` (not a time series, or not of `valueType`), `PAYLOAD_INVALID`,
   *   `INVALID_ARGUMENT` (an edit of an event outside the retained range, or of an edit)
   */
  async appendEvent(request: {
    path: string;
    valueType: ValueType;
    value: Uint8Array;
    sessionId: string;
    originalSequence?: number;
  }): Promise<{ event: TimeSeriesEvent; committed: Promise<void> }> {
    if (isReservedForServer(request.path)) throw this.reservedPath(request.path);
    const topic = this.timeSeriesTopic(request.path, request.valueType);
    try {
      if (topic.spec.properties?.validateValues !== false)
        VALUE_CODECS[request.valueType].fromBytes(request.value);
    } catch (err) {
      this.metrics.inc("skein_updates_refused_total", { reason: "PAYLOAD_INVALID" });
      throw err;
    }
    const author = this.authorOf(request.sessionId);
    const appended =
      request.originalSequence === undefined
        ? this.timeseries.append(topic, request.value, author)
        : await this.timeseries.edit(topic, request.originalSequence, request.value, author);
    this.deliverEvent(topic, appended);
    return appended;
  }

  /**
   * Runs a range query over the time series at `path`, in pages (docs/timeseries.md).
   * @throws SkeinError `TOPIC_NOT_FOUND`, `TOPIC_TYPE_MISMATCH` (not a time series; or `valueType` is
   *   neither its event type nor `binary`)
   */
  queryEvents(
    path: string,
    query: RangeQueryParameters,
    valueType?: ValueType,
    pageSize?: number,
  ): { eventType: ValueType; pages: AsyncGenerator<RangeResultPage> } {
    const topic = this.timeSeriesTopic(path, valueType === "binary" ? undefined : valueType);
    const pages = this.timeseries.query(topic, query, pageSize);
    return { eventType: valueTypeOf(topic.spec), pages: this.timedQuery(pages) };
  }

  /** The pages of a range query, observed in `skein_timeseries_query_duration_seconds` once read. */
  private async *timedQuery(pages: AsyncGenerator<RangeResultPage>): AsyncGenerator<RangeResultPage> {
    const started = this.clock.now();
    try {
      yield* pages;
    } finally {
      this.metrics.timeSeriesQueried((this.clock.now() - started) / 1000);
    }
  }

  /** The newest events of a time series topic that a new subscriber receives (its subscription range). */
  subscriptionRange(topic: Topic): readonly TimeSeriesEvent[] {
    return topic.spec.type === "time-series" ? this.timeseries.subscriptionRange(topic) : [];
  }

  /** A publish to a time series topic: one appended event, acknowledged once committed. */
  private publishEvent(topic: Topic, update: Update): PublishResult {
    let appended: AppendedEvent;
    try {
      appended = this.timeseries.append(topic, update.payload, this.authorOf(update.origin), update);
    } catch (err) {
      const e = SkeinError.from(err);
      return { ok: false, code: e.code, message: e.message };
    }
    const kept = this.sessionStore;
    kept.lastEnqueue = undefined;
    const delivered = this.deliverEvent(topic, appended);
    // A non-persistent series is kept in memory: nothing to wait for; copies queued for kept MQTT
    // sessions are, as for any publish.
    let committed = this.persistence.keeps(topic) ? appended.committed : undefined;
    if (kept.lastEnqueue !== undefined) committed = laterOf(committed, kept.lastEnqueue);
    return { ok: true, delivered, committed };
  }

  private deliverEvent(topic: Topic, appended: AppendedEvent): number {
    topic.lastActivity = this.clock.now();
    this.updatesCounter.value++;
    return this.subscriptions.deliver(appended.update);
  }

  /** The time series topic at `path`, whose event type is `valueType` when given. */
  private timeSeriesTopic(path: string, valueType: ValueType | undefined): Topic {
    const topic = this.topics.get(path);
    if (!topic) throw new SkeinError("TOPIC_NOT_FOUND", `no topic ${path}`);
    if (topic.spec.type !== "time-series")
      throw new SkeinError("TOPIC_TYPE_MISMATCH", `${path} is a ${topic.spec.type} topic, not a time series`);
    const eventType = valueTypeOf(topic.spec);
    if (valueType !== undefined && valueType !== eventType)
      throw new SkeinError(
        "TOPIC_TYPE_MISMATCH",
        `${path} is a time series of ${eventType}, not ${valueType}`,
      );
    return topic;
  }

  /** A time series event's author: the session's principal, else its MQTT client id, else empty. */
  private authorOf(sessionId: string | undefined): string {
    const p = sessionId === undefined ? undefined : this.sessions.get(sessionId)?.properties;
    return p?.$Principal || p?.$ClientId || "";
  }

  /**
   * Removes every topic a selector selects, except those only the server writes (and those
   * `mayRemove` refuses, when given): how many, and a
   * promise that settles once the removals of kept topics are committed (undefined when none was kept;
   * the engine commits in order, so the last removal's promise covers them all).
   */
  removeTopics(
    selector: TopicSelector,
    mayRemove?: (topic: Topic) => boolean,
  ): { removed: number; committed: Promise<void> | undefined } {
    let n = 0;
    let committed: Promise<void> | undefined;
    for (const topic of this.selectTopics(selector)) {
      if (isReservedForServer(topic.path)) continue;
      if (mayRemove !== undefined && !mayRemove(topic)) continue;
      this.lastRemoval = undefined;
      if (!this.removeTopic(topic.path)) continue;
      n++;
      committed = this.lastRemoval ?? committed;
    }
    this.lastRemoval = undefined;
    return { removed: n, committed };
  }

  /**
   * The topics a selector selects: through the trie when it translates to MQTT filters, otherwise among
   * the topics under its literal prefix only (issue 11).
   */
  selectTopics(selector: TopicSelector): Topic[] {
    const filters = selector.mqttFilters;
    if (filters === undefined) {
      const range = { exact: undefined, prefix: selector.literalPrefix };
      return this.topics.collect(range, undefined, undefined, false, Infinity, (t) =>
        selector.matches(t.path),
      );
    }
    const found = new Map<string, Topic>();
    for (const f of filters) for (const t of this.topics.matchFilter(f)) found.set(t.path, t);
    return [...found.values()];
  }

  /**
   * A page of the topics a selector selects, in path order: `after`/`before` bound the paths
   * (exclusive), `first`/`last` take that many from the start or the end. It walks the ordered index
   * from the page's start within the selector's range ({@link rangeOf}) and stops one past the page, so it costs
   * O(log n) plus the topics it passes over, not a sort of the whole selection (issue 11).
   */
  fetch(selector: TopicSelector, options: FetchOptions): { topics: Topic[]; hasMore: boolean } {
    const { types, after, before, first, last, readable } = options;
    const range = rangeOf(selector);
    const accept = (t: Topic): boolean =>
      selector.matches(t.path) &&
      (!types || types.includes(t.spec.type)) &&
      (readable === undefined || readable(t));
    if (first !== undefined) {
      const topics = this.topics.collect(range, after, before, false, first + 1, accept);
      if (topics.length > first) {
        topics.length = first;
        return { topics, hasMore: true };
      }
      // All of the selection is here: `last` still applies to it.
      if (last === undefined || topics.length <= last) return { topics, hasMore: false };
      return { topics: topics.slice(topics.length - last), hasMore: true };
    }
    if (last !== undefined) {
      const topics = this.topics.collect(range, after, before, true, last + 1, accept);
      const hasMore = topics.length > last;
      if (hasMore) topics.length = last;
      return { topics: topics.reverse(), hasMore };
    }
    return { topics: this.topics.collect(range, after, before, false, Infinity, accept), hasMore: false };
  }

  /** The stored values (retained messages) of topics matching an MQTT filter, skipping expired ones. */
  *retained(filter: string): Generator<Update> {
    const now = this.clock.now();
    for (const topic of this.topics.matchFilter(filter)) {
      const value = topic.value;
      if (!value) continue;
      // An expired retained message is not delivered [MQTT-3.3.2-5].
      if (value.expiresAt !== undefined && value.expiresAt <= now) {
        this.expireValue(topic);
        continue;
      }
      topic.lastActivity = now;
      yield value;
    }
  }

  /**
   * Clears `topic`'s value, whose Message Expiry passed: when the wheel reaches it
   * (`core/value-expiry.ts`), or when a read finds it first. The store's sweep drops it from disk.
   */
  private expireValue(topic: Topic): void {
    this.quotas.setValue(topic, undefined, undefined);
    this.metrics.inc("skein_retained_expired_total");
  }

  private createForPublish(update: Update, context: PublishContext): Topic | PublishResult {
    const path = update.topic;
    if (!context.createSpec) return { ok: false, code: "TOPIC_NOT_FOUND", message: `no topic ${path}` };
    try {
      const spec = context.createSpec(update);
      // A value over quota creates no topic either.
      this.checkNewValue(spec, update.origin, update.payload.byteLength, update.retain);
      return this.insertTopic(path, spec, update.origin).topic;
    } catch (err) {
      const e = SkeinError.from(err);
      return { ok: false, code: e.code, message: e.message };
    }
  }
}

const EMPTY = new Uint8Array(0);

/**
 * What an update (`retain` flag, `payloadBytes`) does to the stored value of a topic of `spec`
 * (DESIGN §3): sets it, clears it, or leaves it alone.
 */
function retentionOf(
  spec: TopicSpecification,
  retain: boolean,
  payloadBytes: number,
): "set" | "clear" | "unchanged" {
  if (spec.type === "time-series") return "unchanged";
  switch (spec.properties?.retention ?? "always") {
    case "always":
      return "set";
    case "mqtt":
      if (!retain) return "unchanged";
      // A retained message with an empty payload clears the retained value [MQTT-3.3.1-6].
      return payloadBytes === 0 ? "clear" : "set";
    case "never":
      return "unchanged";
  }
}

/** A promise that settles once both commits have (one when they are the same batch's). */
function laterOf(a: Promise<void> | undefined, b: Promise<void>): Promise<void> {
  if (a === undefined || a === b) return b;
  return Promise.all([a, b]).then(() => undefined);
}

/** Why the update's payload does not fit the topic's type, or undefined when it does. */
function checkPayload(topic: Topic, update: Update): string | undefined {
  const spec = topic.spec;
  if (spec.properties?.validateValues === false) return undefined;
  // An empty retained publish to an MQTT-retention topic clears the value; nothing to check [MQTT-3.3.1-6].
  if (update.payload.length === 0 && update.retain && spec.properties?.retention === "mqtt") return undefined;
  const type = valueTypeOf(spec);
  if (type === "binary") return undefined;
  try {
    VALUE_CODECS[type].fromBytes(update.payload);
    return undefined;
  } catch (err) {
    return `${topic.path} is a ${type} topic: ${SkeinError.from(err).message}`;
  }
}
