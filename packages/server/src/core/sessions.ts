/**
 * The registry of every live session of every door, with its properties (DESIGN §6). Request-response,
 * session filters and client control build on it.
 */
import type { ErrorCode, TopicSelector } from "@skein/protocol";
import type { Actor } from "./security/types.js";

/** How a session reached the server. */
export type Transport = "mqtt" | "sdk";

/**
 * A session as the core sees it: its properties and what other sessions may do to it. It is the
 * session's {@link Actor}: the façade passes the handle itself to `authorize()`, so its roles, which
 * security administration changes in place, are always the session's current ones.
 */
export interface SessionHandle extends Actor {
  /** Server-unique session id. */
  readonly sessionId: string;
  /** The authenticated principal; undefined for an anonymous session. */
  readonly principal: string | undefined;
  /** The session's roles (its principal's, kept current by security administration). */
  roles: readonly string[];
  /** The door it came through. */
  readonly transport: Transport;
  /** Fixed (`$`-prefixed) and user properties. */
  readonly properties: Record<string, string>;
  /**
   * Closes the session (the door sends its own goodbye). `code` says why when it is not an
   * administrator's or another session's request (`PRINCIPAL_REMOVED`: SDK goodbye with that code,
   * MQTT 5 DISCONNECT with its reason code 0x87).
   */
  close(reason: string, code?: ErrorCode): void;
  /**
   * Subscribes the session to what a selector selects (client control).
   * @throws SkeinError `INVALID_SELECTOR` when the door cannot express it
   */
  subscribe(selector: TopicSelector): void;
  /** Removes such a subscription. */
  unsubscribe(selector: TopicSelector): void;
  /** What the session is subscribed to now (client control's `getSubscriptions`); none when absent. */
  subscriptions?(): readonly SessionSubscriptionInfo[];
}

/** One subscription of a session, as client control reports it. */
export interface SessionSubscriptionInfo {
  /** MQTT: the topic filter (without any `$share/group/` prefix); SDK: the selector expression. */
  subscription: string;
  /** MQTT: the maximum QoS granted. */
  qos?: 0 | 1 | 2;
  /** MQTT: the group of a shared subscription. */
  shareGroup?: string;
}

/** What happened to a session. */
export type SessionEventKind = "opened" | "updated" | "closed";

/** A listener of session events. */
export type SessionListener = (kind: SessionEventKind, session: SessionHandle) => void;

/** Live sessions by id. */
export class SessionRegistry {
  private readonly sessions = new Map<string, SessionHandle>();
  private readonly listeners = new Set<SessionListener>();
  /** Told when a listener throws (the core counts and logs it); the other listeners still hear. */
  onListenerError: ((err: unknown) => void) | undefined;

  /** Number of live sessions. */
  get size(): number {
    return this.sessions.size;
  }

  add(session: SessionHandle): void {
    this.sessions.set(session.sessionId, session);
    this.emit("opened", session);
  }

  remove(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    this.sessions.delete(sessionId);
    this.emit("closed", session);
  }

  get(sessionId: string): SessionHandle | undefined {
    return this.sessions.get(sessionId);
  }

  all(): IterableIterator<SessionHandle> {
    return this.sessions.values();
  }

  /**
   * Sets user properties of a session (names without `$`; an empty string removes one).
   * Returns false when the session is unknown.
   */
  setProperties(sessionId: string, properties: Readonly<Record<string, string>>): boolean {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    for (const [name, value] of Object.entries(properties)) {
      if (name.startsWith("$")) continue;
      if (value === "") delete session.properties[name];
      else session.properties[name] = value;
    }
    this.emit("updated", session);
    return true;
  }

  /** Listens to sessions opened, updated and closed; returns a function that stops listening. */
  onEvent(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(kind: SessionEventKind, session: SessionHandle): void {
    for (const l of this.listeners) {
      // One listener's throw must not keep the others from hearing, nor fail the session's open or
      // close (e.g. a session watch of another client during a hello): issue 14 §4.
      try {
        l(kind, session);
      } catch (err) {
        this.onListenerError?.(err);
      }
    }
  }
}

/** Random bytes for session ids, drawn from the CSPRNG 4 KiB at a time (one call per 512 ids). */
const idPool = new Uint8Array(4096);
let idPoolAt = idPool.length;
/** The eight byte pairs of the id being made. */
const ID_PARTS: string[] = ["", "", "", "", "", "", "", ""];
/** Hex digits of every byte value. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * A new random session id (16 hex digits). The bytes come from `crypto.getRandomValues` like before, a
 * pool of them at once: one call per session cost a visible share of a CONNECT (issue 11, connect rate).
 */
export function newSessionId(): string {
  if (idPoolAt + 8 > idPool.length) {
    globalThis.crypto.getRandomValues(idPool);
    idPoolAt = 0;
  }
  // One join, not `+=` per byte: the id is then one flat string (32 bytes) held by the session, not
  // a tree of concatenations (about 100 bytes) (issue 11).
  const parts = ID_PARTS;
  for (let i = 0; i < 8; i++) parts[i] = HEX[idPool[idPoolAt + i] as number] as string;
  const s = parts.join("");
  // Used bytes are zeroed: an id is never handed out twice from the same draw.
  idPool.fill(0, idPoolAt, idPoolAt + 8);
  idPoolAt += 8;
  return s;
}
