/**
 * The one choke point of DESIGN §7 (issue 14 §1): the doors reach the core only through this façade.
 * Every operation takes the acting session ({@link Actor}) first and asks the one
 * `Authorizer.authorize()` before it acts; a refusal is a `NOT_AUTHORIZED` `SkeinError`
 * (thrown, or the failed result of a hot-path operation), counted in
 * `skein_operations_refused_total{permission}` and logged. Deliveries are checked too: a session
 * without `read_topic` on a path receives nothing from it (live updates, retained values, fetch
 * results, `$share` deliveries; time series queries through {@link TopicFacade.authorizeTimeSeries}).
 *
 * A few methods check nothing, each for a stated reason (a session undoing its own registration,
 * answering a request it was given, or the server acting for itself); the façade test lists them.
 */
import type { SecurityCommand, SecurityStoreView, TopicSelector } from "@skein/protocol";
import type {
  HandlerKind,
  HandlerOptions,
  OutboundRequest,
  OutcomeCallback,
  RequestEndpoint,
  RequestOutcome,
} from "./messaging.js";
import type { AuthenticationOutcome } from "./security/authentication.js";
import type { Actor, Credentials } from "./security/types.js";
import type { SessionHandle, SessionListener, SessionSubscriptionInfo } from "./sessions.js";
import { type SessionTarget, targetSessions } from "./facade/control.js";
import { TopicFacade } from "./facade/topics.js";

export type { SessionTarget } from "./facade/control.js";
export type { SetRequest, TopicEvents } from "./facade/topics.js";

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

/**
 * The doors' only way into the core: its topic operations ({@link TopicFacade}), request-response,
 * sessions and client control, locks, and the hooks of server control and security administration.
 */ export class Facade extends TopicFacade {
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

  /**
   * One session's subscriptions (`view_session`): MQTT topic filters with their QoS and share group,
   * SDK selector expressions. @throws SkeinError `SESSION_CLOSED`
   */
  sessionSubscriptions(actor: Actor, sessionId: string): SessionSubscriptionInfo[] {
    this.check(actor, "view_session");
    const session = targetSessions(this.core.sessions, { sessionId })[0];
    return session?.subscriptions ? [...session.subscriptions()] : [];
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

  // ---- authentication ----

  /**
   * Authenticates a door's CONNECT or SDK hello at once when nothing needs checking (see
   * `SecurityService.authenticateNow`); undefined: call {@link authenticate}. No session acts yet:
   * authentication is what makes one, so nothing is checked (failed logins are counted and slowed
   * down per address by the security service).
   */
  authenticateNow(credentials: Credentials): AuthenticationOutcome | undefined {
    return this.core.security.authenticateNow(credentials);
  }

  /** Authenticates asynchronously: configured authenticators, then the store. Never rejects. */
  authenticate(credentials: Credentials): Promise<AuthenticationOutcome> {
    return this.core.security.authenticate(credentials);
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

  /**
   * Reads the security store (`view_security`) or changes it (`modify_security`); a change applies to
   * open sessions at once and resolves once persisted.
   * @throws SkeinError `NOT_AUTHORIZED`, `INVALID_ARGUMENT`
   */
  administerSecurity(actor: Actor, command: SecurityCommand): Promise<SecurityStoreView | undefined> {
    this.check(actor, command.op === "get" ? "view_security" : "modify_security");
    return this.core.security.execute(actor, command);
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
