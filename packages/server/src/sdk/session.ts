/**
 * An SDK session: its selections, the topics it has been told about, and the numbered frames it has
 * sent (kept for replay). It outlives its connection for the reconnection timeout (DESIGN §6).
 */
import {
  type Encoder,
  type ServerFrame,
  type TopicSelector,
  SkeinError,
  matchesMqttFilter,
} from "@skein/protocol";
import type { Core } from "../core/core.js";
import { sessionActor } from "../core/facade.js";
import type { Actor } from "../core/security/types.js";
import type { Timer } from "../core/ports.js";
import type { InboundRequest, RequestEndpoint } from "../core/messaging.js";
import type { PatternSubscription } from "../core/subscription-index.js";
import type { ReadCache, Subscriber, SubscriptionOptions, Topic, Update } from "../core/types.js";
import type { TimeSeriesEvent } from "../core/storage.js";
import { wireOfEvent } from "./timeseries.js";
import type { SdkOptions } from "./options.js";
import { ReplayBuffer, type ReplayGauges } from "./replay.js";

/** What a session needs from its live connection. */
export interface SdkLink {
  /** Sends encoded frames (batched by the connection). */
  send(frame: Uint8Array): void;
  /** Closes the connection (the session stays, waiting to be resumed, unless ended). */
  close(code: number, reason: string): void;
  /** True while the unsent bytes are below the connection's high-water mark: paced work may send. */
  readonly hasRoom: boolean;
  /** Calls `resume` once, when the unsent bytes have fallen below the high-water mark. */
  whenRoom(resume: () => void): void;
}

/** Topics a selection newly selects, told to the client as its socket drains (issue 12). */
interface Telling {
  readonly topics: readonly Topic[];
  next: number;
  /** Settles the `select` request once every topic was told. */
  readonly done: () => void;
}

/** A selection of at most this many topics is told at once (no pacing needed). */
const TELL_AT_ONCE = 64;

/**
 * One selection of a session, kept small (issue 11: an idle session with one selection). A selection
 * the trie holds keeps only its expression and MQTT filters, not the parsed selector with its closures:
 * a path is selected exactly when one of the filters matches it (the rule of
 * `TopicSelector.mqttFilters`). A regex selection keeps its pattern subscription, whose `matches` is
 * the selector's.
 */
class Selection {
  /** The session's next selection: they form a list, so that one selection needs no container. */
  next: Selection | undefined = undefined;

  constructor(
    /** The selector's expression: the selection's name for `unselect` and the session listings. */
    readonly expression: string,
    /** The distinct MQTT filters subscribed for it (one is held as a string); undefined for a pattern. */
    readonly filters: string | readonly string[] | undefined,
    /** A regex selection's subscription in the index. */
    readonly pattern: PatternSubscription | undefined,
  ) {}

  /** True when this selection selects `path`. */
  matches(path: string): boolean {
    const filters = this.filters;
    if (filters === undefined) return (this.pattern as PatternSubscription).matches(path);
    if (typeof filters === "string") return matchesMqttFilter(filters, path);
    for (const f of filters) if (matchesMqttFilter(f, path)) return true;
    return false;
  }

  /** True when this selection subscribes the MQTT filter `f`. */
  holds(f: string): boolean {
    const filters = this.filters;
    return typeof filters === "string" ? filters === f : filters !== undefined && filters.includes(f);
  }

  /** The MQTT filters this selection subscribes (none for a pattern). */
  filterList(): readonly string[] {
    const filters = this.filters;
    return typeof filters === "string" ? [filters] : (filters ?? []);
  }
}

const SDK_SUBSCRIPTION: SubscriptionOptions = {
  qos: 1,
  noLocal: false,
  retainAsPublished: true,
  retainHandling: 0,
};

/** The update-frame bytes of an update are the same for every session: encoded once. */
const V_FRAME = "sdk:v";
/** The same for the event frame of a time series event. */
const E_FRAME = "sdk:e";

/** State of one SDK session. */
export class SdkSession implements Subscriber, RequestEndpoint {
  /** The first of the session's selections (a list through `next`, in the order they were made). */
  private firstSelection: Selection | undefined;
  /** Topics this session has been told about (`topic` frame sent), by path; made on first use. */
  private selectedMap: Map<string, Topic> | undefined;
  readonly replay: ReplayBuffer;
  /** Client frames processed after hello (counted across connections). */
  processed = 0;
  /** Requests this session sent that wait for their answer (bounded by `maxPendingRequestsPerSession`). */
  pendingRequests = 0;
  link: SdkLink | undefined;
  ended = false;
  private expiryTimer: Timer | undefined;
  /** Session-event watches: request id -> stop function (made on first use). */
  private watchMap: Map<number, () => void> | undefined;
  /** Selections whose topics are still being told, oldest first (made on first use). */
  private tellings: Telling[] | undefined;
  private waitingForRoom = false;
  /**
   * The session the core checks operations and deliveries against (DESIGN §7): its registered handle
   * once open, whose roles security administration keeps current.
   */
  actor: Actor;
  /** The core's cache of read decisions for deliveries to this session. */
  readCache: ReadCache | undefined = undefined;
  /**
   * When the credentials the session was let in with expire (epoch ms, a JWT's `exp`), if they do.
   * Resuming does not authenticate again, so each connection that opens the session arms it anew.
   */
  credentialsExpireAt: number | undefined = undefined;

  constructor(
    readonly sessionId: string,
    readonly token: string,
    readonly properties: Record<string, string>,
    private readonly core: Core,
    private readonly encoder: Encoder,
    private readonly options: SdkOptions,
    private readonly onEnd: (session: SdkSession) => void,
    replayGauges?: ReplayGauges,
  ) {
    this.replay = new ReplayBuffer(options.replayBufferFrames, options.replayBufferBytes, replayGauges);
    this.actor = sessionActor(sessionId, properties.$Principal);
  }

  /** Topics this session has been told about (`topic` frame sent), by path. */
  private get selected(): Map<string, Topic> {
    return (this.selectedMap ??= new Map());
  }

  private get watches(): Map<number, () => void> {
    return (this.watchMap ??= new Map());
  }

  get online(): boolean {
    return this.link !== undefined;
  }

  /** Encodes, numbers, keeps and (when connected) sends a frame. */
  push(frame: ServerFrame): void {
    this.pushEncoded(this.encoder.encode(frame));
  }

  /** Numbers, keeps and sends already-encoded frame bytes. */
  pushEncoded(bytes: Uint8Array): void {
    this.replay.push(bytes);
    this.link?.send(bytes);
  }

  /** Core delivery: a new value of a topic this session selects. */
  deliver(update: Update): void {
    const topic = this.selectedMap?.get(update.topic);
    if (!topic) return;
    if (update.event !== undefined) return this.deliverEvent(topic, update.event, update);
    const cache = (update.encodings ??= new Map());
    let bytes = cache.get(V_FRAME);
    if (!bytes) {
      bytes = this.encoder.encode({ type: "v", t: topic.id, v: update.payload } satisfies ServerFrame);
      cache.set(V_FRAME, bytes);
    }
    this.pushEncoded(bytes);
  }

  /** A time series event: an `e` frame, encoded once for every session (as `v` frames are). */
  private deliverEvent(topic: Topic, event: TimeSeriesEvent, update: Update): void {
    const cache = (update.encodings ??= new Map());
    let bytes = cache.get(E_FRAME);
    if (!bytes) {
      bytes = this.encoder.encode({ type: "e", t: topic.id, e: wireOfEvent(event) } satisfies ServerFrame);
      cache.set(E_FRAME, bytes);
    }
    this.pushEncoded(bytes);
  }

  /** Messaging: a request for one of this session's handlers. */
  deliverRequest(request: InboundRequest): void {
    // The frame writer leaves out an undefined sessionId; properties and handler are shared, read-only.
    this.push({
      type: "request",
      rid: request.requestId,
      path: request.path,
      requestType: request.requestType,
      responseType: request.responseType,
      value: request.payload,
      sessionId: request.fromSessionId,
      properties: request.properties,
      handler: request.handler,
    });
  }

  /** Client control: reports sessions opened, updated and closed that `selects` picks. */
  watchSessions(watchId: number, selects: (properties: Readonly<Record<string, string>>) => boolean): void {
    this.unwatchSessions(watchId);
    const max = this.options.maxSessionWatchesPerSession;
    if (this.watches.size >= max) throw new SkeinError("RATE_LIMITED", `at most ${max} session watches`);
    const stop = this.core.facade.watchSessions(this.actor, (event, s) => {
      if (s.sessionId === this.sessionId || !selects(s.properties)) return;
      this.push({
        type: "session_event",
        id: watchId,
        event,
        sessionId: s.sessionId,
        properties: { ...s.properties },
      });
    });
    this.watches.set(watchId, stop);
  }

  /** Stops a watch; true when there was one. */
  unwatchSessions(watchId: number): boolean {
    const watches = this.watchMap;
    if (!watches) return false;
    const stop = watches.get(watchId);
    stop?.();
    return watches.delete(watchId);
  }

  /**
   * Adds a selection; tells the session about every topic it newly selects (with its value). Many
   * topics are told as the WebSocket drains rather than all at once (which made a large selection a
   * slow consumer); the returned promise settles when all were told, so the `select` answer still
   * follows its topics.
   */
  select(selector: TopicSelector): Promise<void> | undefined {
    let count = 0;
    let last: Selection | undefined;
    for (let s = this.firstSelection; s !== undefined; s = s.next) {
      if (s.expression === selector.expression) return;
      count++;
      last = s;
    }
    if (count >= this.options.maxSelectionsPerSession) {
      throw new SkeinError(
        "TOO_MANY_SUBSCRIPTIONS",
        `at most ${this.options.maxSelectionsPerSession} selections`,
      );
    }
    const facade = this.core.facade;
    // Checked first (select_topic on the selector's scope), before anything is subscribed.
    const topics = facade.selectTopics(this.actor, selector);
    let selection: Selection;
    if (selector.mqttFilters) {
      // Each filter once, while no other selection holds it (no count per filter is kept: a session
      // holds few selections, and an idle one then holds no map for them).
      const filters = selector.mqttFilters.filter((f, i, all) => all.indexOf(f) === i);
      for (const f of filters) {
        if (!this.filterInUse(f)) facade.subscribe(this.actor, f, undefined, this, SDK_SUBSCRIPTION);
      }
      selection = new Selection(
        selector.expression,
        filters.length === 1 ? (filters[0] as string) : Object.freeze(filters),
        undefined,
      );
    } else {
      const pattern: PatternSubscription = {
        subscriber: this,
        filter: selector.expression,
        shareGroup: undefined,
        options: SDK_SUBSCRIPTION,
        matches: selector.matches,
        literalPrefix: selector.literalPrefix,
      };
      facade.subscribePattern(this.actor, selector, pattern);
      selection = new Selection(selector.expression, undefined, pattern);
    }
    if (last === undefined) this.firstSelection = selection;
    else last.next = selection;
    if (topics.length <= TELL_AT_ONCE && this.tellings === undefined) {
      for (const topic of topics) this.tell(topic);
      return undefined;
    }
    return new Promise((done) => {
      (this.tellings ??= []).push({ topics, next: 0, done });
      this.pumpTellings();
    });
  }

  /** The expressions of the session's selections, in the order they were made. */
  selectionExpressions(): string[] {
    const expressions: string[] = [];
    for (let s = this.firstSelection; s !== undefined; s = s.next) expressions.push(s.expression);
    return expressions;
  }

  /** Tells pending selections' topics while the connection has room; resumes when it drains. */
  pumpTellings(): void {
    const link = this.link;
    const tellings = this.tellings;
    if (!link || this.waitingForRoom || tellings === undefined) return;
    while (tellings.length > 0) {
      const telling = tellings[0] as Telling;
      while (telling.next < telling.topics.length) {
        if (!link.hasRoom) {
          this.waitingForRoom = true;
          link.whenRoom(() => {
            this.waitingForRoom = false;
            this.pumpTellings();
          });
          return;
        }
        const topic = telling.topics[telling.next++] as Topic;
        // Skip a topic removed (or a selection dropped) while waiting.
        if (this.core.facade.isCurrent(topic) && this.covers(topic.path)) this.tell(topic);
      }
      tellings.shift();
      telling.done();
    }
    this.tellings = undefined;
  }

  /** Removes a selection; topics no other selection covers are unselected. Returns false when unknown. */
  unselect(expression: string): boolean {
    let before: Selection | undefined;
    let selection = this.firstSelection;
    while (selection !== undefined && selection.expression !== expression) {
      before = selection;
      selection = selection.next;
    }
    if (selection === undefined) return false;
    if (before === undefined) this.firstSelection = selection.next;
    else before.next = selection.next;
    this.release(selection);
    for (const topic of [...(this.selectedMap?.values() ?? [])]) {
      if (!this.covers(topic.path)) this.forget(topic, "unselected");
    }
    return true;
  }

  /** A topic was added to the tree: tell the session when a selection covers it. */
  topicAdded(topic: Topic): void {
    if (this.covers(topic.path) && this.core.facade.mayRead(this.actor, topic.path)) this.tell(topic);
  }

  /** A topic was removed from the tree. */
  topicRemoved(topic: Topic): void {
    if (this.selectedMap?.get(topic.path) === topic) this.forget(topic, "removed");
  }

  /** A connection has taken this session. */
  attach(link: SdkLink): void {
    this.link = link;
    this.waitingForRoom = false;
    if (this.expiryTimer) this.core.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  /** The connection dropped: wait for the reconnection timeout, then end. */
  detach(): void {
    this.link = undefined;
    if (this.ended) return;
    this.expiryTimer = this.core.clock.setTimeout(() => this.end(), this.options.reconnectTimeoutMs);
    this.expiryTimer.unref?.();
  }

  /** Ends the session: selections, locks and registration go. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.expiryTimer) this.core.clock.clearTimeout(this.expiryTimer);
    const filters = new Set<string>();
    for (let s = this.firstSelection; s !== undefined; s = s.next) {
      if (s.pattern) this.core.facade.unsubscribePattern(this.actor, s.pattern);
      for (const f of s.filterList()) filters.add(f);
    }
    this.firstSelection = undefined;
    for (const f of filters) this.core.facade.unsubscribe(this.actor, f, undefined, this);
    this.selectedMap = undefined;
    this.core.facade.releaseLocks(this.actor);
    for (const stop of this.watchMap?.values() ?? []) stop();
    this.watchMap = undefined;
    // Nobody is left to answer: settle the pending selects (their answers go nowhere).
    const tellings = this.tellings ?? [];
    this.tellings = undefined;
    for (const telling of tellings) telling.done();
    this.replay.clear();
    this.core.facade.closeSession(this.sessionId);
    this.onEnd(this);
  }

  private covers(path: string): boolean {
    for (let s = this.firstSelection; s !== undefined; s = s.next) if (s.matches(path)) return true;
    return false;
  }

  private tell(topic: Topic): void {
    if (this.selected.has(topic.path)) return;
    this.selected.set(topic.path, topic);
    const value = topic.value?.payload;
    this.push({
      type: "topic",
      tid: topic.id,
      path: topic.path,
      spec: topic.spec,
      ...(value ? { value } : {}),
    });
    // A time series topic's subscription range follows its topic frame, before any new event.
    for (const event of this.core.facade.subscriptionRange(topic))
      this.push({ type: "e", t: topic.id, e: wireOfEvent(event) });
  }

  private forget(topic: Topic, reason: "unselected" | "removed"): void {
    this.selected.delete(topic.path);
    this.push({ type: "untopic", tid: topic.id, reason });
  }

  /** Unsubscribes what a selection no longer in the session's list held, unless another selection holds it. */
  private release(selection: Selection): void {
    if (selection.pattern) {
      this.core.facade.unsubscribePattern(this.actor, selection.pattern);
      return;
    }
    for (const f of selection.filterList()) {
      if (!this.filterInUse(f)) this.core.facade.unsubscribe(this.actor, f, undefined, this);
    }
  }

  /** True when one of the session's selections subscribes MQTT filter `f`. */
  private filterInUse(f: string): boolean {
    for (let s = this.firstSelection; s !== undefined; s = s.next) if (s.holds(f)) return true;
    return false;
  }
}
