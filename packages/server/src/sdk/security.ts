/**
 * The SDK's security administration (`security` frames, `session.security`): the request runs as the
 * session's actor, so the store's own authorizer decides (`view_security` to read, `modify_security`
 * to change); the answer goes out once the change is persisted.
 */
import { type ClientFrameOf, SkeinError, type SecurityStoreView } from "@skein/protocol";
import type { SdkConnection } from "./connection.js";
import type { SdkSession } from "./session.js";

/** Handles a `security` frame: the store's view for `get`, nothing for a change. */
export function handleSecurity(
  conn: SdkConnection,
  session: SdkSession,
  frame: ClientFrameOf<"security">,
): Promise<SecurityStoreView | undefined> {
  if (session.ended) return Promise.reject(new SkeinError("SESSION_CLOSED", "the session is closed"));
  return conn.door.core.facade.administerSecurity(session.actor, frame.command);
}
