/**
 * One handler per client frame type. Each returns the request's result value (or a promise of it) or
 * throws a SkeinError; the connection turns that into a `result` or `error` frame.
 */
import { type ClientFrame, type ClientFrameOf, SkeinError, parseSelector } from "@skein/protocol";
import { crc32 } from "node:zlib";
import type { SdkConnection } from "./connection.js";
import { handleControl, sendRequest } from "./control.js";
import { handleSecurity } from "./security.js";
import { serverStatus } from "./server-status.js";
import type { SdkSession } from "./session.js";
import { appendEvent, queryEvents } from "./timeseries.js";

/** What {@link handleRequest} returns for a request answered later through the connection. */
export const ANSWERED_LATER: unique symbol = Symbol("answered later");

/**
 * Handles one request frame of a live session: returns its result value, a promise of it, or
 * {@link ANSWERED_LATER}; throws a SkeinError for an error.
 */
export function handleRequest(
  conn: SdkConnection,
  session: SdkSession,
  frame: Exclude<ClientFrame, { type: "hello" | "ack" }>,
): unknown {
  const facade = conn.door.core.facade;
  switch (frame.type) {
    case "add_topic":
      return addTopic(conn, session, frame);
    case "remove_topics": {
      const { removed, committed } = facade.removeTopics(session.actor, parseSelector(frame.selector));
      return afterCommit(removed, committed);
    }
    case "set":
      // A set that may create its topic checks the path as add_topic does (no `+`, `#` or NUL).
      if (frame.spec !== undefined) {
        const problem = conn.pathProblem(frame.path);
        if (problem) throw new SkeinError("INVALID_PATH", problem);
      }
      return answerUpdate(
        facade.setValue(session.actor, {
          path: frame.path,
          valueType: frame.valueType,
          value: frame.value,
          constraint: frame.constraint,
          createSpec: frame.spec,
        }),
      );
    case "delta":
      return applyDelta(conn, session, frame);
    case "select":
      // Settles once every selected topic was told (paced by the socket for large selections).
      return session.select(parseSelector(frame.selector));
    case "unselect":
      return session.unselect(parseSelector(frame.selector).expression);
    case "fetch":
      return fetch(conn, session, frame);
    case "lock":
      return facade.acquireLock(session.actor, frame.name);
    case "unlock":
      return facade.releaseLock(session.actor, frame.name);
    case "ping":
      return undefined;
    case "ts_append":
    case "ts_edit":
      return appendEvent(conn, session, frame);
    case "ts_query":
      return queryEvents(conn, session, frame);
    case "server_status":
      return serverStatus(conn, session);
    case "security":
      return handleSecurity(conn, session, frame);
    case "send_request":
      sendRequest(conn, session, frame, conn);
      return ANSWERED_LATER;
    case "add_handler":
    case "remove_handler":
    case "respond":
    case "respond_error":
    case "list_sessions":
    case "get_properties":
    case "get_subscriptions":
    case "set_properties":
    case "close_sessions":
    case "subscribe_sessions":
    case "unsubscribe_sessions":
    case "watch_sessions":
    case "unwatch_sessions":
      return handleControl(conn, session, frame);
    case "log_level":
      // Server control: `control_server` to set the level, `view_server` to read it.
      facade.authorizeServer(session.actor, frame.level === undefined ? "view_server" : "control_server");
      return { level: conn.door.logLevel(frame.level) };
  }
}

/**
 * The answer to a write: at once, or once the write of a persistent topic is committed to the store
 * (the durability contract, docs/durability.md). A failed commit answers with the error.
 */
function afterCommit<T>(answer: T, committed: Promise<void> | undefined): T | Promise<T> {
  return committed === undefined ? answer : committed.then(() => answer);
}

/** The answer to `set` (and `delta`): whether the topic was created, once the value is kept. */
function answerUpdate(r: {
  created: boolean;
  committed: Promise<void> | undefined;
}): { created: boolean } | Promise<{ created: boolean }> {
  return afterCommit({ created: r.created }, r.committed);
}

function addTopic(
  conn: SdkConnection,
  session: SdkSession,
  frame: ClientFrameOf<"add_topic">,
): { created: boolean } | Promise<{ created: boolean }> {
  const problem = conn.pathProblem(frame.path);
  if (problem) throw new SkeinError("INVALID_PATH", problem);
  return answerUpdate(conn.door.core.facade.addTopic(session.actor, frame.path, frame.spec));
}

/** Applies a delta to the current value, when the client's base is still the current value. */
function applyDelta(
  conn: SdkConnection,
  session: SdkSession,
  frame: ClientFrameOf<"delta">,
): { created: boolean } | Promise<{ created: boolean }> {
  const facade = conn.door.core.facade;
  const base = facade.deltaBase(session.actor, frame.path);
  if (crc32(base) !== frame.baseCrc) {
    throw new SkeinError(
      "CONSTRAINT_VALUE_MISMATCH",
      "the value changed since the update stream's last update",
    );
  }
  if (frame.start + frame.deleteCount > base.length)
    throw new SkeinError("INVALID_ARGUMENT", "delta out of range");
  const value = new Uint8Array(base.length - frame.deleteCount + frame.insert.length);
  value.set(base.subarray(0, frame.start), 0);
  value.set(frame.insert, frame.start);
  value.set(base.subarray(frame.start + frame.deleteCount), frame.start + frame.insert.length);
  return answerUpdate(
    facade.setValue(session.actor, { path: frame.path, valueType: frame.valueType, value }),
  );
}

function fetch(conn: SdkConnection, session: SdkSession, frame: ClientFrameOf<"fetch">): unknown {
  const selector = parseSelector(frame.selector);
  const first = frame.first ?? (frame.last === undefined ? conn.door.options.defaultFetchPage : undefined);
  const page = conn.door.core.facade.fetch(session.actor, selector, {
    types: frame.types,
    first,
    last: frame.last,
    after: frame.after,
    before: frame.before,
  });
  return {
    hasMore: page.hasMore,
    topics: page.topics.map((t) => {
      const value = frame.withValues ? t.value?.payload : undefined;
      return { path: t.path, spec: t.spec, ...(value ? { value } : {}) };
    }),
  };
}
