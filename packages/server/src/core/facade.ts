/**
 * The one choke point of DESIGN §7 (issue 14 §1): the doors reach the core only through this façade.
 * Every operation takes the acting session ({@link Actor}) first and asks the one
 * {@link Authorizer.authorize} before it acts; a refusal is a `NOT_AUTHORIZED` {@link SkeinError}
 * (thrown, or the failed result of a hot-path operation), counted in
 * `skein_operations_refused_total{permission}` and logged. Deliveries are checked too: a session
 * without `read_topic` on a path receives nothing from it (live updates, retained values, fetch
 * results, `$share` deliveries; time series queries through {@link Facade.authorizeTimeSeries}).
 *
 * A few methods check nothing, each for a stated reason (a session undoing its own registration,
 * answering a request it was given, or the server acting for itself); the façade test lists them.
 */
import { type Permission, SkeinError, type TopicSelector, type TopicSpecification } from "@skein/protocol";
import type { Core, FetchOptions, PublishContext, PublishResult, TopicUpdateRequest } from "./core.js";
import type { Counter } from "./metrics.js";
import type {
  HandlerKind,
  HandlerOptions,
  OutboundRequest,
  OutcomeCallback,
  RequestEndpoint,
  RequestOutcome,
} from "./messaging.js";
import type { Actor, Authorizer } from "./security/types.js";
import { allowAll } from "./security/types.js";
import type { SessionHandle, SessionListener } from "./sessions.js";
import type { AddResult, PatternSubscription } from "./subscription-index.js";
import type { Subscriber, SubscriptionOptions, Topic, Update } from "./types.js";
import { REFUSED, type SessionTarget, refusal, targetSessions } from "./facade/control.js";
import { ReadGate } from "./facade/read-gate.js";
import { filterScope, selectorScopes } from "./facade/scope.js";

export type { SessionTarget } from "./facade/control.js";

/** Roles of a session until authentication assigns real ones (issue 14 §2: the anonymous role). */
export const ANONYMOUS_ROLES: readonly string[] = Object.freeze(["anonymous"]);

/**
 * The actor of a session opened before authentication exists: the principal it claims (MQTT user
 * name, SDK hello principal), the anonymous role. The security model replaces this with the
 * authenticated principal and its roles.
 */
export function sessionActor(sessionId: string, principal: string | undefined, clientId?: string): Actor {
  return { sessionId, principal: principal || undefined, roles: ANONYMOUS_ROLES, clientId };
}

/** What a topic listener of the façade is told: the topic and the subscribers whose filters match it. */
export interface TopicEvents {
  added?(topic: Topic, subscribers: ReadonlySet<Subscriber>): void;
  removed?(topic: Topic, subscribers: ReadonlySet<Subscriber>): void;
}

/** An SDK `set` (or a delta's result) as the façade takes it: the acting session is the actor. */
export type SetRequest = Omit<TopicUpdateRequest, "sessionId">;

/** The doors' only way into the core. */
export class Facade {
  private authorizer: Authorizer = allowAll;
  /** Undefined while the authorizer is {@link allowAll}: nothing is checked per delivery then. */
  private gate: ReadGate | undefined;
  private readonly refusedDeliveries: Counter;

  constructor(
    private readonly core: Core,
    authorizer: Authorizer = allowAll,
  ) {
    this.refusedDeliveries = core.metrics.counter("skein_deliveries_refused_total");
    this.useAuthorizer(authorizer);
  }

  /** Puts `authorizer` in charge of every check from now on (the security model at start-up). */
  useAuthorizer(authorizer: Authorizer): void {
    this.authorizer = authorizer;
    const gate = authorizer === allowAll ? undefined : new ReadGate(authorizer);
    this.gate = gate;
    const refused = this.refusedDeliveries;
    this.core.subscriptions.readGate =
      gate === undefined
        ? undefined
        : (subscriber, path) => {
            const actor = subscriber.actor;
            if (actor === undefined || gate.mayDeliver(subscriber, actor, path)) return true;
            refused.value++;
            return false;
          };
  }

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
    return this.core.addTopic(path, spec);
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
   * Checks a time series operation (hook for the time series frames): `update_topic` to append or
   * edit, `read_topic` to query. Query results are the series' own: one check covers them.
   */
  authorizeTimeSeries(actor: Actor, path: string, operation: "append" | "edit" | "query"): void {
    this.check(actor, operation === "query" ? "read_topic" : "update_topic", path);
  }

  // ---- subscriptions and delivery ----

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

  /** The delivery check: true when `actor` may read `path` (cached; always true under allowAll). */
  mayRead(actor: Actor, path: string): boolean {
    const gate = this.gate;
    if (gate === undefined || gate.mayRead(actor, path)) return true;
    this.refusedDeliveries.value++;
    return false;
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
  counts(): { topics: number; subscriptions: number; retained: number } {
    // The retained count walks the tree: monitoring reads it once per interval or scrape.
    let retained = 0;
    for (const topic of this.core.topics.all()) if (topic.value !== undefined) retained++;
    return { topics: this.core.topics.size, subscriptions: this.core.subscriptions.count, retained };
  }

  // ---- request-response (DESIGN §4) ----

  /** Registers a handler (`register_handler`). @throws SkeinError `HANDLER_EXISTS`, `NOT_AUTHORIZED` */
  addHandler(
    actor: Actor,
    kind: HandlerKind,
    path: string,
    endpoint: RequestEndpoint,
    options?: HandlerOptions,
  ): void {
    this.check(actor, "register_handler");
    this.core.messaging.addHandler(kind, path, endpoint, options);
  }

  /** Removes the session's own handler registration (needs no permission). */
  removeHandler(actor: Actor, kind: HandlerKind, path: string): boolean {
    return this.core.messaging.removeHandler(kind, path, actor.sessionId);
  }

  /** Answers a request the session was given (it was checked when it registered; no permission). */
  respond(actor: Actor, requestId: number, outcome: RequestOutcome): boolean {
    return this.core.messaging.respond(requestId, outcome, actor.sessionId);
  }

  /** Sends to the path's handler (`send_to_message_handler` on the path). */
  sendToPath(actor: Actor, request: ActorRequest, done: OutcomeCallback): void {
    this.check(actor, "send_to_message_handler", request.path);
    this.core.messaging.sendToPath(withSender(actor, request), done);
  }

  /** Sends to one session's request stream (`send_to_session` on the path). */
  sendToSession(actor: Actor, sessionId: string, request: ActorRequest, done: OutcomeCallback): void {
    this.check(actor, "send_to_session", request.path);
    this.core.messaging.sendToSession(sessionId, withSender(actor, request), done);
  }

  /** Sends to every session a filter selects (`send_to_session` on the path); returns how many. */
  sendToFilter(
    actor: Actor,
    filter: (properties: Readonly<Record<string, string>>) => boolean,
    request: ActorRequest,
    onOutcome: (sessionId: string, outcome: RequestOutcome) => void,
  ): number {
    this.check(actor, "send_to_session", request.path);
    const sessions = this.core.sessions;
    const selects = (id: string): boolean => {
      const s = sessions.get(id);
      return s !== undefined && filter(s.properties);
    };
    return this.core.messaging.sendToFilter(selects, withSender(actor, request), onOutcome);
  }

  // ---- sessions and client control (DESIGN §6) ----

  /** Registers a door's session with the core (its own opening: nothing to check). */
  openSession(handle: SessionHandle): void {
    this.core.sessions.add(handle);
  }

  /** Unregisters a session that ended (its own ending: nothing to check). */
  closeSession(sessionId: string): void {
    this.core.sessions.remove(sessionId);
  }

  /** Sessions and their properties (`view_session`), those a filter selects when given. */
  listSessions(
    actor: Actor,
    selects: (properties: Readonly<Record<string, string>>) => boolean,
  ): { sessionId: string; properties: Record<string, string> }[] {
    this.check(actor, "view_session");
    const out: { sessionId: string; properties: Record<string, string> }[] = [];
    for (const s of this.core.sessions.all())
      if (selects(s.properties)) out.push({ sessionId: s.sessionId, properties: { ...s.properties } });
    return out;
  }

  /** One session's properties (`view_session`). @throws SkeinError `SESSION_CLOSED` */
  sessionProperties(actor: Actor, sessionId: string): Record<string, string> {
    this.check(actor, "view_session");
    return { ...targetSessions(this.core.sessions, { sessionId })[0]?.properties };
  }

  /** Sets user properties of the target sessions (`modify_session`); returns how many. */
  setSessionProperties(actor: Actor, target: SessionTarget, properties: Record<string, string>): number {
    this.check(actor, "modify_session");
    const list = targetSessions(this.core.sessions, target);
    for (const s of list) this.core.sessions.setProperties(s.sessionId, properties);
    return list.length;
  }

  /** Closes the target sessions (`modify_session`); returns how many. */
  closeSessions(actor: Actor, target: SessionTarget, reason: string): number {
    this.check(actor, "modify_session");
    const list = targetSessions(this.core.sessions, target);
    for (const s of list) s.close(reason);
    return list.length;
  }

  /**
   * Subscribes the target sessions to a selector (`modify_session`); what they then receive is
   * checked against their own `read_topic`. Returns how many.
   */
  subscribeSessions(actor: Actor, target: SessionTarget, selector: TopicSelector): number {
    this.check(actor, "modify_session");
    const list = targetSessions(this.core.sessions, target);
    for (const s of list) s.subscribe(selector);
    return list.length;
  }

  /** Unsubscribes the target sessions from a selector (`modify_session`); returns how many. */
  unsubscribeSessions(actor: Actor, target: SessionTarget, selector: TopicSelector): number {
    this.check(actor, "modify_session");
    const list = targetSessions(this.core.sessions, target);
    for (const s of list) s.unsubscribe(selector);
    return list.length;
  }

  /** Listens to sessions opened, updated and closed (`view_session`); returns a function that stops. */
  watchSessions(actor: Actor, listener: SessionListener): () => void {
    this.check(actor, "view_session");
    return this.core.sessions.onEvent(listener);
  }

  // ---- locks ----

  /**
   * Takes a named lock (for `locked` update constraints). Lock names are checked as paths:
   * `update_topic` on the name, as a lock guards updates.
   */
  acquireLock(actor: Actor, name: string): boolean {
    this.check(actor, "update_topic", name);
    return this.core.locks.acquire(name, actor.sessionId);
  }

  /** Releases a lock the session holds (its own: no permission). */
  releaseLock(actor: Actor, name: string): boolean {
    return this.core.locks.release(name, actor.sessionId);
  }

  /** Releases every lock the session holds (it ended: no permission). */
  releaseLocks(actor: Actor): void {
    this.core.locks.releaseAll(actor.sessionId);
  }

  // ---- server control and security administration (hooks) ----

  /**
   * Checks a server-control operation (`view_server` / `control_server`). Hook for the SDK's server
   * operations: call it first, then act.
   */
  authorizeServer(actor: Actor, permission: "view_server" | "control_server"): void {
    this.check(actor, permission);
  }

  /**
   * Checks a security-store operation (`view_security` to read, `modify_security` to change). Hook
   * for the security administration of issue 14 §3: every such operation calls it first.
   */
  authorizeSecurity(actor: Actor, permission: "view_security" | "modify_security"): void {
    this.check(actor, permission);
  }

  // ---- the check ----

  /** @throws SkeinError `NOT_AUTHORIZED` unless `actor` holds `permission` (on `path`). */
  private check(actor: Actor, permission: Permission, path?: string): void {
    if (!this.allows(actor, permission, path)) throw refusal(permission, path);
  }

  /** Asks the authorizer; a refusal is counted and logged. */
  private allows(actor: Actor, permission: Permission, path?: string): boolean {
    if (this.authorizer.authorize(actor, permission, path)) return true;
    this.core.metrics.inc("skein_operations_refused_total", { permission });
    this.core.log.debug(
      { sessionId: actor.sessionId, principal: actor.principal, permission, path },
      "operation refused",
    );
    return false;
  }

  private *readable(actor: Actor, values: Iterable<Update>): Generator<Update> {
    for (const value of values) if (this.mayRead(actor, value.topic)) yield value;
  }
}

/** A request as a door hands it over: the sender is the actor. */
export type ActorRequest = Omit<OutboundRequest, "fromSessionId">;

function withSender(actor: Actor, request: ActorRequest): OutboundRequest {
  return {
    path: request.path,
    requestType: request.requestType,
    responseType: request.responseType,
    payload: request.payload,
    fromSessionId: actor.sessionId,
    timeoutMs: request.timeoutMs,
  };
}

const EMPTY = new Uint8Array(0);
