/**
 * Request-response and client-control frames of the SDK door (DESIGN §4, §6). Every operation goes
 * through the core's façade, which checks the session's permission first (DESIGN §7).
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
import type { SdkConnection } from "./connection.js";
import type { SdkSession } from "./session.js";

/** Where the answer to a request frame goes: its `result` or `error` frame. */
export interface Answer {
  /** Answers request `id` with a `result` (carrying `value` unless undefined). */
  result(id: number, value?: unknown): void;
  /** Answers request `id` with an `error`. */
  error(id: number, code: ErrorCode, message: string): void;
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
  const facade = conn.door.core.facade;
  const actor = session.actor;
  const request = {
    path: frame.path,
    requestType: frame.requestType,
    responseType: frame.responseType,
    payload: frame.value,
    timeoutMs: frame.timeoutMs ?? conn.door.options.requestTimeoutMs,
  };
  const id = frame.id;
  const target = frame.target;
  const max = conn.door.options.maxPendingRequestsPerSession;
  // Requests waiting for their answers are bounded per session (issue 14 §4).
  if (session.pendingRequests >= max)
    return answer.error(id, "RATE_LIMITED", `at most ${max} requests waiting for answers`);
  let settled = false;
  const done = (outcome: RequestOutcome): void => {
    if (!settled) session.pendingRequests--;
    settled = true;
    return outcome.ok ? answer.result(id, outcome.payload) : answer.error(id, outcome.code, outcome.message);
  };
  try {
    if (!target || "sessionId" in target) session.pendingRequests++;
    if (!target) return facade.sendToPath(actor, request, done);
    if ("sessionId" in target) return facade.sendToSession(actor, target.sessionId, request, done);
  } catch (err) {
    // Refused before it was sent (NOT_AUTHORIZED): the request's error frame.
    if (!settled) session.pendingRequests--;
    settled = true;
    const e = SkeinError.from(err);
    return answer.error(id, e.code, e.message);
  }
  const selects = compileSessionFilter(target.filter);
  const count = facade.sendToFilter(actor, selects, request, (sessionId, outcome) =>
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
    | "get_subscriptions"
    | "set_properties"
    | "close_sessions"
    | "subscribe_sessions"
    | "unsubscribe_sessions"
    | "watch_sessions"
    | "unwatch_sessions"
  >,
): unknown {
  const facade = conn.door.core.facade;
  const actor = session.actor;
  switch (frame.type) {
    case "add_handler": {
      const problem = conn.pathProblem(frame.path);
      if (problem) throw new SkeinError("INVALID_PATH", problem);
      facade.addHandler(actor, frame.kind, frame.path, session, {
        requestType: frame.requestType,
        responseType: frame.responseType,
        sessionProperties: frame.sessionProperties,
      });
      return undefined;
    }
    case "remove_handler":
      return facade.removeHandler(actor, frame.kind, frame.path);
    case "respond":
      return facade.respond(actor, frame.rid, { ok: true, payload: frame.value, responseType: "binary" });
    case "respond_error":
      return facade.respond(actor, frame.rid, {
        ok: false,
        code: frame.tooLarge ? "TOO_LARGE" : "HANDLER_FAILED",
        message: frame.message,
      });
    case "list_sessions":
      return facade.listSessions(
        actor,
        frame.filter === undefined ? () => true : compileSessionFilter(frame.filter),
      );
    case "get_properties":
      return facade.sessionProperties(actor, frame.sessionId);
    case "get_subscriptions":
      return facade.sessionSubscriptions(actor, frame.sessionId);
    case "set_properties":
      return facade.setSessionProperties(actor, frame.target, frame.properties);
    case "close_sessions":
      return facade.closeSessions(actor, frame.target, "closed by another session");
    case "subscribe_sessions":
      return facade.subscribeSessions(actor, frame.target, parseSelector(frame.selector));
    case "unsubscribe_sessions":
      return facade.unsubscribeSessions(actor, frame.target, parseSelector(frame.selector));
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
