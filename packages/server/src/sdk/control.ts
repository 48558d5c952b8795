/**
 * Request-response and client-control frames of the SDK door (DESIGN §4, §6). Permission checks come
 * with the security issue; every operation here will then be checked.
 */
import {
  type ClientFrameOf,
  type ErrorCode,
  SkeinError,
  compileSessionFilter,
  errorCodeNumber,
  parseSelector,
} from "@skein/protocol";
import type { RequestOutcome } from "../core/messaging.js";
import type { SessionHandle } from "../core/sessions.js";
import type { SdkConnection } from "./connection.js";
import type { SdkSession } from "./session.js";

type Target = { sessionId: string } | { filter: string };

/** Where the answer to a request frame goes: its `result` or `error` frame. */
export interface Answer {
  /** Answers request `id` with a `result` (carrying `value` unless undefined). */
  result(id: number, value?: unknown): void;
  /** Answers request `id` with an `error`. */
  error(id: number, code: ErrorCode, message: string): void;
}

/** The sessions a client-control target names (a missing session id is an error). */
function targets(conn: SdkConnection, target: Target): SessionHandle[] {
  const sessions = conn.door.core.sessions;
  if ("sessionId" in target) {
    const s = sessions.get(target.sessionId);
    if (!s) throw new SkeinError("SESSION_CLOSED", `no session ${target.sessionId}`);
    return [s];
  }
  const selects = compileSessionFilter(target.filter);
  return [...sessions.all()].filter((s) => selects(s.properties));
}

/**
 * `send_request`: to the path's handler, one session, or every session a filter selects. Answers
 * through `answer` (a request's outcome comes later; a filter target's count at once).
 */
export function sendRequest(
  conn: SdkConnection,
  session: SdkSession,
  frame: ClientFrameOf<"send_request">,
  answer: Answer,
): void {
  const messaging = conn.door.core.messaging;
  const request = {
    path: frame.path,
    requestType: frame.requestType,
    responseType: frame.responseType,
    payload: frame.value,
    fromSessionId: session.sessionId,
    timeoutMs: frame.timeoutMs ?? conn.door.options.requestTimeoutMs,
  };
  const id = frame.id;
  const target = frame.target;
  const done = (outcome: RequestOutcome): void =>
    outcome.ok ? answer.result(id, outcome.payload) : answer.error(id, outcome.code, outcome.message);
  if (!target) return messaging.sendToPath(request, done);
  if ("sessionId" in target) return messaging.sendToSession(target.sessionId, request, done);
  const selects = compileSessionFilter(target.filter);
  const sessions = conn.door.core.sessions;
  const count = messaging.sendToFilter(
    (sessionId) => {
      const s = sessions.get(sessionId);
      return s !== undefined && selects(s.properties);
    },
    request,
    (sessionId, outcome) =>
      session.push(
        outcome.ok
          ? { type: "filter_response", id, sessionId, value: outcome.payload }
          : {
              type: "filter_error",
              id,
              sessionId,
              code: errorCodeNumber(outcome.code),
              message: outcome.message,
            },
      ),
  );
  answer.result(id, count);
}

/** Client control and handler registration frames. */
export function handleControl(
  conn: SdkConnection,
  session: SdkSession,
  frame: ClientFrameOf<
    | "add_handler"
    | "remove_handler"
    | "respond"
    | "respond_error"
    | "list_sessions"
    | "get_properties"
    | "set_properties"
    | "close_sessions"
    | "subscribe_sessions"
    | "unsubscribe_sessions"
    | "watch_sessions"
    | "unwatch_sessions"
  >,
): unknown {
  const core = conn.door.core;
  switch (frame.type) {
    case "add_handler": {
      const problem = conn.pathProblem(frame.path);
      if (problem) throw new SkeinError("INVALID_PATH", problem);
      core.messaging.addHandler(frame.kind, frame.path, session, {
        requestType: frame.requestType,
        responseType: frame.responseType,
        sessionProperties: frame.sessionProperties,
      });
      return undefined;
    }
    case "remove_handler":
      return core.messaging.removeHandler(frame.kind, frame.path, session.sessionId);
    case "respond":
      return core.messaging.respond(
        frame.rid,
        { ok: true, payload: frame.value, responseType: "binary" },
        session.sessionId,
      );
    case "respond_error":
      return core.messaging.respond(
        frame.rid,
        { ok: false, code: frame.tooLarge ? "TOO_LARGE" : "HANDLER_FAILED", message: frame.message },
        session.sessionId,
      );
    case "list_sessions": {
      const selects = frame.filter === undefined ? () => true : compileSessionFilter(frame.filter);
      return [...core.sessions.all()]
        .filter((s) => selects(s.properties))
        .map((s) => ({ sessionId: s.sessionId, properties: { ...s.properties } }));
    }
    case "get_properties": {
      const s = core.sessions.get(frame.sessionId);
      if (!s) throw new SkeinError("SESSION_CLOSED", `no session ${frame.sessionId}`);
      return { ...s.properties };
    }
    case "set_properties": {
      const list = targets(conn, frame.target);
      for (const s of list) core.sessions.setProperties(s.sessionId, frame.properties);
      return list.length;
    }
    case "close_sessions": {
      const list = targets(conn, frame.target);
      for (const s of list) s.close("closed by another session");
      return list.length;
    }
    case "subscribe_sessions": {
      const selector = parseSelector(frame.selector);
      const list = targets(conn, frame.target);
      for (const s of list) s.subscribe(selector);
      return list.length;
    }
    case "unsubscribe_sessions": {
      const selector = parseSelector(frame.selector);
      const list = targets(conn, frame.target);
      for (const s of list) s.unsubscribe(selector);
      return list.length;
    }
    case "watch_sessions":
      session.watchSessions(
        frame.id,
        frame.filter === undefined ? () => true : compileSessionFilter(frame.filter),
      );
      return undefined;
    case "unwatch_sessions":
      return session.unwatchSessions(frame.watch);
  }
}
