/**
 * The session's state and the events it emits.
 *
 * A drop and a resumption read: `disconnected` → `reconnecting` (one per attempt) → `reconnected`
 * `{ resumed: true }` → `connected`. When the server no longer had the session, `reconnected` says
 * `resumed: false`: it is a new session (new `sessionId`), requests that were waiting failed with
 * `SESSION_NOT_RESUMED`, value streams heard `onUnsubscribe(path, "session-lost")` for every topic,
 * locks are gone, and nothing is selected until the application selects again. When reconnection is
 * off or gives up, or the server ends the session for good, `closed` carries the error.
 *
 * @module
 */
import type { SkeinError } from "@skein/protocol";

/** Where a session is. */
export type SessionState =
  /** Opening its first connection. */
  | "connecting"
  /** Connected; requests flow. */
  | "connected"
  /** The connection dropped; reconnecting. Requests wait and are sent on resumption. */
  | "reconnecting"
  /** Ended: by `close()`, or for good (see the `closed` event's error). */
  | "closed";

/** Payload of `connected`. */
export interface ConnectedEvent {
  /** The session's id. */
  sessionId: string;
  /** True when the connection resumed the session it had. */
  resumed: boolean;
}

/** Payload of `disconnected`. */
export interface DisconnectedEvent {
  /** Why the connection closed. */
  error: SkeinError;
}

/** Payload of `reconnecting`. */
export interface ReconnectingEvent {
  /** The attempt's number, from 1. */
  attempt: number;
  /** How long until the attempt, in ms. */
  delayMs: number;
}

/** Payload of `reconnected`. */
export interface ReconnectedEvent {
  /** True: the same session, nothing lost. False: a new session (see the module description). */
  resumed: boolean;
  /** The session's id now. */
  sessionId: string;
  /** The id before the drop (equal to `sessionId` when resumed). */
  previousSessionId: string;
}

/** Payload of `closed`. */
export interface ClosedEvent {
  /** Why the session ended; undefined after `close()`. */
  error: SkeinError | undefined;
}

/** Events of a session, by name, with their payloads. */
export interface SessionEvents extends Record<string, unknown> {
  /**
   * A connection is established: after every `reconnected` (the first connection is made before
   * `connect()` resolves).
   */
  connected: ConnectedEvent;
  /** The connection dropped; reconnection follows (if enabled). */
  disconnected: DisconnectedEvent;
  /** A reconnection attempt starts after a delay. */
  reconnecting: ReconnectingEvent;
  /** Reconnected: the same session (`resumed: true`) or a new one (`resumed: false`). */
  reconnected: ReconnectedEvent;
  /** The session ended. */
  closed: ClosedEvent;
  /** Something went wrong that does not end the session (e.g. an invalid frame from the server). */
  error: SkeinError;
}
