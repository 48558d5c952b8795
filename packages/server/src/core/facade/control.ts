/**
 * Helpers of the façade's client-control and messaging operations: which sessions a target names,
 * and what a refusal looks like.
 */
import { type ErrorCode, type Permission, SkeinError, compileSessionFilter } from "@skein/protocol";
import type { SessionHandle, SessionRegistry } from "../sessions.js";

/** Sessions named by id or by a session filter (DESIGN §6). */
export type SessionTarget = { readonly sessionId: string } | { readonly filter: string };

/**
 * The sessions a client-control target names.
 * @throws SkeinError `SESSION_CLOSED` for an unknown session id, the filter's parse error
 */
export function targetSessions(sessions: SessionRegistry, target: SessionTarget): SessionHandle[] {
  if ("sessionId" in target) {
    const s = sessions.get(target.sessionId);
    if (!s) throw new SkeinError("SESSION_CLOSED", `no session ${target.sessionId}`);
    return [s];
  }
  const selects = compileSessionFilter(target.filter);
  return [...sessions.all()].filter((s) => selects(s.properties));
}

/** The error of an operation the acting session may not do. */
export function refusal(permission: Permission, path: string | undefined): SkeinError {
  return new SkeinError(
    REFUSED,
    path === undefined ? `${permission} is not granted` : `${permission} is not granted on '${path}'`,
  );
}

/** The code every permission refusal carries (MQTT 5 reason 0x87, 3.1.1 CONNACK 5). */
export const REFUSED: ErrorCode = "NOT_AUTHORIZED";
