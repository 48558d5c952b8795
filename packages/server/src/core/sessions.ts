/**
 * The registry of every live session of every door, with its properties (DESIGN §6). Request-response,
 * session filters and client control build on it.
 */

/** How a session reached the server. */
export type Transport = "mqtt" | "sdk";

/** A session as the core sees it. */
export interface SessionHandle {
  /** Server-unique session id. */
  readonly sessionId: string;
  /** The door it came through. */
  readonly transport: Transport;
  /** Fixed (`$`-prefixed) and user properties. */
  readonly properties: Record<string, string>;
  /** Closes the session (the door sends its own goodbye). */
  close(reason: string): void;
}

/** Live sessions by id. */
export class SessionRegistry {
  private readonly sessions = new Map<string, SessionHandle>();

  /** Number of live sessions. */
  get size(): number {
    return this.sessions.size;
  }

  add(session: SessionHandle): void {
    this.sessions.set(session.sessionId, session);
  }

  remove(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  get(sessionId: string): SessionHandle | undefined {
    return this.sessions.get(sessionId);
  }

  all(): IterableIterator<SessionHandle> {
    return this.sessions.values();
  }
}

/** A new random session id (hex). */
export function newSessionId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
