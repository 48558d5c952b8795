/**
 * What a closed WebSocket means for the session: the error to report, and whether reconnecting could
 * help. Close codes come from `CloseCodes` in `frames.ts`; a `goodbye` frame sent just before the
 * close carries the server's error code and says it better.
 *
 * @module
 */
import { CloseCodes, type ErrorCode, SkeinError } from "@skein/protocol";

/** How the session reacts to a close. */
export interface CloseOutcome {
  /** The error the application is told. */
  readonly error: SkeinError;
  /** True when the session ends (no reconnection, whatever the options). */
  readonly final: boolean;
}

const FINAL: Record<number, ErrorCode> = {
  [CloseCodes.INVALID_FRAME]: "PROTOCOL_ERROR",
  [CloseCodes.UNSUPPORTED_VERSION]: "UNSUPPORTED_VERSION",
  [CloseCodes.HANDSHAKE]: "PROTOCOL_ERROR",
  [CloseCodes.NOT_AUTHENTICATED]: "NOT_AUTHENTICATED",
  [CloseCodes.CLOSED_BY_SERVER]: "SESSION_CLOSED",
  [CloseCodes.TAKEN_OVER]: "SESSION_TAKEN_OVER",
  [CloseCodes.CREDENTIALS_EXPIRED]: "CREDENTIALS_EXPIRED",
};

/**
 * Codes after which the session tries to reconnect: the server may still hold it (or, shutting down,
 * come back; a resumption then fails and the application hears `resumed: false`).
 */
const RETRY: Record<number, ErrorCode> = {
  [CloseCodes.SLOW_CONSUMER]: "SLOW_CONSUMER",
  [CloseCodes.SHUTTING_DOWN]: "SERVER_SHUTTING_DOWN",
  [CloseCodes.HANDSHAKE_TIMEOUT]: "TIMEOUT",
};

/**
 * Reads a close code (and the `goodbye` frame received before it, if any).
 * @param code - the WebSocket close code (1006: dropped without a close handshake)
 * @param reason - the close reason
 * @param goodbye - the error of a `goodbye` frame received on this connection
 */
export function closeOutcome(code: number, reason: string, goodbye?: SkeinError): CloseOutcome {
  const finalCode = FINAL[code];
  if (finalCode) return { error: goodbye ?? new SkeinError(finalCode, reason || undefined), final: true };
  const retryCode = RETRY[code];
  if (retryCode) return { error: goodbye ?? new SkeinError(retryCode, reason || undefined), final: false };
  const what =
    code === 1006 ? "connection lost" : `connection closed (${code}${reason ? `: ${reason}` : ""})`;
  return { error: goodbye ?? new SkeinError("CONNECTION_LOST", what), final: false };
}
