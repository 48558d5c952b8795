/**
 * Client control (`session.clients`, DESIGN §6, §9): list sessions of both doors, read and set their
 * properties, close them, subscribe them to topics, and watch sessions open, change and close.
 * `docs/messaging.md` is the guide; `docs/session-filters.md` describes filters.
 *
 * @module
 */
import { type ServerFrameOf, SkeinError, parseSelector, parseSessionFilter } from "@skein/protocol";
import { rethrowLater } from "../emitter.js";
import { type Requester, numberOf } from "./results.js";

/**
 * Whom a client-control call is about: one session, by its id (a string, or `{ sessionId }`), or every
 * session a session filter selects (`{ filter }`). A bare string is always a session id, never a
 * filter: `"all"` names a session called `all`, `{ filter: "all" }` every session.
 */
export type SessionTarget =
  | string
  | {
      /** The session's id. */
      sessionId: string;
    }
  | {
      /** A session filter (`docs/session-filters.md`). */
      filter: string;
    };

/** A session and its properties (fixed `$`-properties and user properties). */
export interface SessionInfo {
  /** The session's id. */
  sessionId: string;
  /** Its properties, e.g. `$Transport`, `$Principal`, `$ClientId` (MQTT) and user properties. */
  properties: Record<string, string>;
}

/** One subscription of a session, as {@link ClientsFeature.getSubscriptions} reports it. */
export interface SessionSubscription {
  /** MQTT: the topic filter (without any `$share/group/` prefix); SDK: the selector expression. */
  subscription: string;
  /** MQTT: the maximum QoS granted (absent for an SDK selection). */
  qos?: 0 | 1 | 2;
  /** MQTT: the group of a shared subscription (absent otherwise). */
  shareGroup?: string;
}

/** What {@link ClientsFeature.onSessionEvent} reports. */
export interface SessionLifecycleEvent extends SessionInfo {
  /** `opened`: a session started; `updated`: its properties changed; `closed`: it ended. */
  event: "opened" | "updated" | "closed";
}

/** A watch of session events. */
export interface SessionEventWatch {
  /** Stops the watch. Resolves once the server has stopped it. */
  close(): Promise<void>;
}

interface Watch {
  filter: string | undefined;
  listener: (event: SessionLifecycleEvent) => void;
  /** The id of the `watch_sessions` request the server knows it by in this session. */
  id: number | undefined;
  /** True once the server has accepted it (in this or an earlier session). */
  accepted: boolean;
  closed: boolean;
}

/** Errors meaning "the session that had this is gone". */
const GONE = new Set(["SESSION_CLOSED", "SESSION_NOT_RESUMED"]);

/** Client control. */
export class ClientsFeature {
  private readonly watches = new Map<number, Watch>();
  private readonly all = new Set<Watch>();

  /**
   * @internal
   * @param report - told of failures that belong to no call (the session's `error` event)
   */
  constructor(
    private readonly link: Requester,
    private readonly report: (error: SkeinError) => void,
  ) {}

  /**
   * Lists the sessions `filter` selects (every session when absent), of both doors.
   *
   * @example
   * ```ts
   * for (const { sessionId, properties } of await session.clients.list("$Transport eq 'mqtt'")) {
   *   console.log(sessionId, properties.$ClientId);
   * }
   * ```
   * @throws SkeinError `INVALID_FILTER` (checked before sending), `NOT_AUTHORIZED`
   */
  async list(filter?: string): Promise<SessionInfo[]> {
    if (filter !== undefined) parseSessionFilter(filter);
    const value = await this.link.request(
      { type: "list_sessions", ...(filter !== undefined && { filter }) },
      "list sessions",
    );
    if (!Array.isArray(value) || !value.every(isSessionInfo)) throw unexpected("list", value);
    return value;
  }

  /**
   * The properties of session `sessionId`.
   * @throws SkeinError `SESSION_CLOSED` (no such session), `NOT_AUTHORIZED`
   */
  async getProperties(sessionId: string): Promise<Record<string, string>> {
    const value = await this.link.request({ type: "get_properties", sessionId: checkId(sessionId) });
    if (!isProperties(value)) throw unexpected("getProperties", value);
    return value;
  }

  /**
   * The subscriptions of session `sessionId`, of either door: an MQTT session's topic filters with the
   * QoS granted and the group of a shared subscription (`$share/group/filter` reports `filter` and
   * `group`); an SDK session's selections, as selector expressions. Subscriptions made by
   * {@link ClientsFeature.subscribe} are included. Needs `view_session`.
   *
   * @example
   * ```ts
   * for (const { subscription, qos, shareGroup } of await session.clients.getSubscriptions(id)) {
   *   console.log(subscription, qos, shareGroup);
   * }
   * ```
   * @throws SkeinError `SESSION_CLOSED` (no such session), `NOT_AUTHORIZED`
   */
  async getSubscriptions(sessionId: string): Promise<SessionSubscription[]> {
    const value = await this.link.request({ type: "get_subscriptions", sessionId: checkId(sessionId) });
    if (!Array.isArray(value) || !value.every(isSubscription)) throw unexpected("getSubscriptions", value);
    return value;
  }

  /**
   * Sets user properties of a session or of every session a filter selects; resolves with how many
   * sessions it changed. Names starting with `$` are fixed and ignored; an empty string removes a
   * property. Session filters and watches see the new values at once.
   *
   * @example
   * ```ts
   * await session.clients.setProperties(otherSessionId, { tier: "gold" });
   * await session.clients.setProperties({ filter: "country eq 'UK'" }, { region: "eu" });
   * ```
   * @throws SkeinError `SESSION_CLOSED` (no such session), `INVALID_FILTER`, `NOT_AUTHORIZED`
   */
  async setProperties(target: SessionTarget, properties: Record<string, string>): Promise<number> {
    if (typeof properties !== "object" || properties === null || !isProperties(properties)) {
      throw new SkeinError("INVALID_ARGUMENT", "properties map names to string values");
    }
    const frame = { type: "set_properties" as const, target: wireTarget(target), properties };
    return numberOf("setProperties", await this.link.request(frame));
  }

  /**
   * Closes a session or every session a filter selects; resolves with how many. An MQTT client is
   * sent DISCONNECT with reason 0x98 (administrative action); an SDK session closes with
   * `SESSION_CLOSED`.
   * @throws SkeinError `SESSION_CLOSED` (no such session), `INVALID_FILTER`, `NOT_AUTHORIZED`
   */
  async close(target: SessionTarget): Promise<number> {
    const frame = { type: "close_sessions" as const, target: wireTarget(target) };
    return numberOf("close", await this.link.request(frame));
  }

  /**
   * Subscribes a session (or every session a filter selects) to the topics `selector` selects, as if
   * it had subscribed itself; resolves with how many sessions. An MQTT client receives PUBLISHes of
   * those topics; the selector must then be expressible as MQTT filters (`>path`, `>path//`, `#` sets
   * of those), else `INVALID_SELECTOR`.
   * @throws SkeinError `INVALID_SELECTOR`, `SESSION_CLOSED`, `INVALID_FILTER`, `NOT_AUTHORIZED`
   */
  async subscribe(target: SessionTarget, selector: string): Promise<number> {
    parseSelector(selector);
    const frame = { type: "subscribe_sessions" as const, target: wireTarget(target), selector };
    return numberOf("subscribe", await this.link.request(frame));
  }

  /**
   * Removes what {@link subscribe} added; resolves with how many sessions it was applied to.
   * @throws SkeinError `INVALID_SELECTOR`, `SESSION_CLOSED`, `INVALID_FILTER`, `NOT_AUTHORIZED`
   */
  async unsubscribe(target: SessionTarget, selector: string): Promise<number> {
    parseSelector(selector);
    const frame = { type: "unsubscribe_sessions" as const, target: wireTarget(target), selector };
    return numberOf("unsubscribe", await this.link.request(frame));
  }

  /**
   * Watches the sessions `filter` selects (every session when `undefined`): `listener` hears each one
   * that opens, whose properties change, or that closes (this session's own events excepted). An
   * `updated` or `closed` session is reported when it matches the filter with its properties at that
   * moment. The watch survives reconnections; if a reconnection starts a new session, it is set again.
   *
   * @example
   * ```ts
   * const watch = await session.clients.onSessionEvent("group eq 'g1'", ({ event, sessionId }) =>
   *   console.log(event, sessionId),
   * );
   * // later
   * await watch.close();
   * ```
   * @throws SkeinError `INVALID_FILTER` (checked before sending), `NOT_AUTHORIZED`
   */
  async onSessionEvent(
    filter: string | undefined,
    listener: (event: SessionLifecycleEvent) => void,
  ): Promise<SessionEventWatch> {
    if (filter !== undefined) parseSessionFilter(filter);
    if (typeof listener !== "function")
      throw new SkeinError("INVALID_ARGUMENT", "listener must be a function");
    const watch: Watch = { filter, listener, id: undefined, accepted: false, closed: false };
    this.all.add(watch);
    try {
      await this.start(watch);
    } catch (err) {
      this.forget(watch);
      throw err;
    }
    return { close: () => this.stop(watch) };
  }

  /** @internal A `session_event` frame arrived. */
  receive(frame: ServerFrameOf<"session_event">): void {
    const watch = this.watches.get(frame.id);
    if (!watch || watch.closed) return;
    const { event, sessionId, properties } = frame;
    try {
      watch.listener({ event, sessionId, properties });
    } catch (err) {
      rethrowLater(err);
    }
  }

  /** @internal A reconnection started a new session: the server forgot the watches; set them again. */
  newSession(): void {
    this.watches.clear();
    for (const watch of this.all) {
      // One never accepted is still being started by its caller, who gets SESSION_NOT_RESUMED.
      if (!watch.accepted) continue;
      watch.id = undefined;
      this.start(watch).catch((err: unknown) => {
        const error = SkeinError.from(err);
        // Gone: the session closed, or yet another new session sets it again.
        if (GONE.has(error.code) || watch.closed) return;
        this.forget(watch);
        this.report(error);
      });
    }
  }

  /** @internal The session closed. */
  closed(): void {
    for (const watch of this.all) watch.closed = true;
    this.all.clear();
    this.watches.clear();
  }

  private async start(watch: Watch): Promise<void> {
    const { filter } = watch;
    await this.link.request(
      { type: "watch_sessions", ...(filter !== undefined && { filter }) },
      "watch sessions",
      {
        onId: (id) => {
          watch.id = id;
          this.watches.set(id, watch);
        },
      },
    );
    watch.accepted = true;
  }

  private async stop(watch: Watch): Promise<void> {
    if (watch.closed) return;
    const id = watch.id;
    this.forget(watch);
    if (id === undefined) return;
    try {
      await this.link.request({ type: "unwatch_sessions", watch: id });
    } catch (err) {
      if (!(err instanceof SkeinError && GONE.has(err.code))) throw err;
    }
  }

  private forget(watch: Watch): void {
    watch.closed = true;
    this.all.delete(watch);
    if (watch.id !== undefined && this.watches.get(watch.id) === watch) this.watches.delete(watch.id);
  }
}

/**
 * The wire form of a target.
 * @throws SkeinError `INVALID_FILTER`, `INVALID_ARGUMENT`
 */
function wireTarget(target: SessionTarget): { sessionId: string } | { filter: string } {
  if (typeof target === "string") return { sessionId: checkId(target) };
  if (typeof target === "object" && target !== null) {
    if ("filter" in target && typeof target.filter === "string") {
      parseSessionFilter(target.filter);
      return { filter: target.filter };
    }
    if ("sessionId" in target) return { sessionId: checkId(target.sessionId) };
  }
  throw new SkeinError("INVALID_ARGUMENT", "a target is a session id or { filter }");
}

function checkId(sessionId: unknown): string {
  if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64) {
    throw new SkeinError("INVALID_ARGUMENT", "a session id has 1 to 64 characters");
  }
  return sessionId;
}

function isProperties(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

function isSessionInfo(value: unknown): value is SessionInfo {
  const v = value as Partial<SessionInfo> | null;
  return typeof v === "object" && v !== null && typeof v.sessionId === "string" && isProperties(v.properties);
}

function isSubscription(value: unknown): value is SessionSubscription {
  const v = value as Partial<SessionSubscription> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.subscription === "string" &&
    (v.qos === undefined || v.qos === 0 || v.qos === 1 || v.qos === 2) &&
    (v.shareGroup === undefined || typeof v.shareGroup === "string")
  );
}

function unexpected(what: string, value: unknown): SkeinError {
  return new SkeinError("PROTOCOL_ERROR", `unexpected result of ${what}: ${JSON.stringify(value)}`);
}
