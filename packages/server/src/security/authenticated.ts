/**
 * What an accepted authentication (issue 14 §3) does to a session on either door, besides letting it
 * in: the properties it sets ({@link applyAuthentication}) and the end of the session when its
 * credentials expire ({@link armExpiry}). The decision itself is the security model's
 * (`core/security/authentication.ts`); the doors call these once it is made.
 */
import type { Clock, Timer } from "../core/ports.js";

/** What an accepted authentication said about the session. */
export interface AuthenticatedSession {
  /** The principal; undefined for an anonymous session. */
  readonly principal: string | undefined;
  /** The session's roles. */
  readonly roles: readonly string[];
  /** Session properties an authenticator set. */
  readonly properties?: Readonly<Record<string, string>> | undefined;
}

/**
 * Sets the `$Principal`, `$Roles` and user properties an accepted authentication gives a session: the
 * authenticator's properties over the client's own, except names starting with `$` (only the server
 * sets those).
 */
export function applyAuthentication(properties: Record<string, string>, auth: AuthenticatedSession): void {
  for (const [name, value] of Object.entries(auth.properties ?? {})) {
    if (!name.startsWith("$")) properties[name] = value;
  }
  properties.$Principal = auth.principal ?? "";
  properties.$Roles = auth.roles.join(",");
}

/** setTimeout's longest delay (2^31 - 1 ms, ~24.8 days); longer ones are armed in steps. */
const MAX_DELAY_MS = 0x7fffffff;

/**
 * Arms `expired` to run at epoch ms `expiresAt` on `clock` (at once when already past), in steps of at
 * most ~24.8 days so a far expiry does not overflow the timer. Returns a function that disarms it.
 */
export function armExpiry(clock: Clock, expiresAt: number, expired: () => void): () => void {
  let timer: Timer | undefined;
  const arm = (): void => {
    const left = expiresAt - clock.now();
    if (left <= 0) {
      timer = undefined;
      expired();
      return;
    }
    timer = clock.setTimeout(arm, Math.min(left, MAX_DELAY_MS));
    timer.unref?.();
  };
  arm();
  return () => {
    if (timer) clock.clearTimeout(timer);
    timer = undefined;
  };
}
