/**
 * The one list of error codes shared by the server, the SDK and the MQTT door.
 *
 * Each entry names a failure, gives its wire number (stable, never reused), a default message and,
 * where MQTT 5 has a matching reason code, that reason code (used in PUBACK/PUBREC/SUBACK/DISCONNECT).
 * `docs/errors.md` documents every code and lists the retired numbers; a test keeps the two in step.
 *
 * @module
 */
import { MqttReason as R } from "./mqtt-reasons.js";

/**
 * The error-code table: name -> wire number, message and MQTT 5 reason code. Every entry has the same
 * three fields: `code` (the number on the wire, stable and never reused), `message` (the default
 * message of a {@link SkeinError} with this code) and `mqtt` (the MQTT 5 reason code that reports it,
 * named from `MqttReason`).
 */
export const ErrorCodes = {
  // 1xx: generic
  /** An unexpected failure inside the server (or an unknown error number). */
  INTERNAL: { code: 100, message: "Internal server error", mqtt: R.UNSPECIFIED_ERROR },
  /** The peer broke the protocol (an unexpected packet or frame). */
  PROTOCOL_ERROR: { code: 101, message: "Protocol error", mqtt: R.PROTOCOL_ERROR },
  /** Bytes that are not a valid packet or frame. */
  MALFORMED: { code: 102, message: "Malformed packet or frame", mqtt: R.MALFORMED_PACKET },
  /** No protocol version in common. */
  UNSUPPORTED_VERSION: {
    code: 103,
    message: "Unsupported protocol version",
    mqtt: R.UNSUPPORTED_PROTOCOL_VERSION,
  },
  /** A packet, frame, value, request or response over its size limit. */
  TOO_LARGE: { code: 104, message: "Packet, frame or value too large", mqtt: R.PACKET_TOO_LARGE },
  /** A quota or rate limit was exceeded. */
  RATE_LIMITED: { code: 105, message: "Quota or rate limit exceeded", mqtt: R.QUOTA_EXCEEDED },
  /** The server is shutting down. */
  SERVER_SHUTTING_DOWN: { code: 107, message: "Server shutting down", mqtt: R.SERVER_SHUTTING_DOWN },
  /** An argument or frame field that is not valid (SDK calls check before sending). */
  INVALID_ARGUMENT: { code: 108, message: "Invalid argument", mqtt: R.IMPLEMENTATION_SPECIFIC_ERROR },
  /** No answer in time (e.g. an SDK request past `requestTimeoutMs`). */
  TIMEOUT: { code: 109, message: "Timed out", mqtt: R.UNSPECIFIED_ERROR },
  // 2xx: sessions and security
  /** Credentials refused. */
  NOT_AUTHENTICATED: { code: 200, message: "Bad user name or password", mqtt: R.BAD_USER_NAME_OR_PASSWORD },
  /** The principal lacks the permission for the operation. */
  NOT_AUTHORIZED: { code: 201, message: "Not authorised", mqtt: R.NOT_AUTHORIZED },
  /** The session is closed, or closed while the operation was waiting. */
  SESSION_CLOSED: { code: 202, message: "Session closed", mqtt: R.SESSION_TAKEN_OVER },
  /** A reconnection started a new session: what the old one was waiting for is lost. */
  SESSION_NOT_RESUMED: { code: 203, message: "Session could not be resumed", mqtt: R.UNSPECIFIED_ERROR },
  /** Another connection took the session over (same MQTT client id, or an SDK resumption). */
  SESSION_TAKEN_OVER: {
    code: 204,
    message: "Session taken over by another connection",
    mqtt: R.SESSION_TAKEN_OVER,
  },
  /** The client did not read its messages fast enough; its outbound queue filled up. */
  SLOW_CONSUMER: { code: 207, message: "Slow consumer: outbound queue full", mqtt: R.QUOTA_EXCEEDED },
  /** The connection dropped; the SDK is reconnecting and the session may still be resumed. */
  CONNECTION_LOST: {
    code: 208,
    message: "Connection lost; the session may still be resumed",
    mqtt: R.UNSPECIFIED_ERROR,
  },
  /**
   * The session's principal was removed from the security store: the session is closed (SDK: `goodbye`
   * with this code; MQTT 5: DISCONNECT 0x87 Not authorized).
   */
  PRINCIPAL_REMOVED: { code: 209, message: "Principal removed", mqtt: R.NOT_AUTHORIZED },
  /**
   * The credentials the session was let in with expired (a JWT's `exp`): the session is closed (MQTT 5
   * DISCONNECT 0xA0, SDK close 4009).
   */
  CREDENTIALS_EXPIRED: { code: 210, message: "Credentials expired", mqtt: R.MAXIMUM_CONNECT_TIME },
  // 3xx: topics and selectors
  /** A topic or message path that is not valid. */
  INVALID_PATH: { code: 300, message: "Invalid topic path", mqtt: R.TOPIC_NAME_INVALID },
  /** A topic selector (or MQTT topic filter) that is not valid. */
  INVALID_SELECTOR: { code: 301, message: "Invalid topic selector", mqtt: R.TOPIC_FILTER_INVALID },
  /** No topic at that path. */
  TOPIC_NOT_FOUND: { code: 302, message: "No such topic", mqtt: R.TOPIC_NAME_INVALID },
  /** Adding a topic that exists with a different specification. */
  TOPIC_EXISTS_MISMATCH: {
    code: 303,
    message: "Topic exists with a different specification",
    mqtt: R.UNSPECIFIED_ERROR,
  },
  /** A topic specification that is not valid. */
  INVALID_SPECIFICATION: { code: 304, message: "Invalid topic specification", mqtt: R.UNSPECIFIED_ERROR },
  /** A value (or MQTT payload) that does not fit the topic's type. */
  PAYLOAD_INVALID: {
    code: 305,
    message: "Value does not fit the topic type",
    mqtt: R.PAYLOAD_FORMAT_INVALID,
  },
  /** The session holds as many subscriptions or selections as it may. */
  TOO_MANY_SUBSCRIPTIONS: { code: 307, message: "Too many subscriptions", mqtt: R.QUOTA_EXCEEDED },
  /** An SDK update whose declared type is not the topic's type. */
  TOPIC_TYPE_MISMATCH: {
    code: 309,
    message: "Value of a different type than the topic",
    mqtt: R.PAYLOAD_FORMAT_INVALID,
  },
  // 4xx: update constraints
  /** An update's `no-value` constraint failed: the topic has a value. */
  CONSTRAINT_NO_VALUE: {
    code: 400,
    message: "Constraint failed: topic has a value",
    mqtt: R.UNSPECIFIED_ERROR,
  },
  /** An update's `no-topic` constraint failed: the topic exists. */
  CONSTRAINT_NO_TOPIC: { code: 401, message: "Constraint failed: topic exists", mqtt: R.UNSPECIFIED_ERROR },
  /** An update's `value-equals` constraint (or a delta's base) failed: the value differs. */
  CONSTRAINT_VALUE_MISMATCH: {
    code: 402,
    message: "Constraint failed: value differs",
    mqtt: R.UNSPECIFIED_ERROR,
  },
  /** An update's `partial-json` constraint failed: a JSON pointer condition does not hold. */
  CONSTRAINT_PARTIAL_JSON: {
    code: 403,
    message: "Constraint failed: JSON pointer condition",
    mqtt: R.UNSPECIFIED_ERROR,
  },
  /** An update's `locked` constraint failed: the session does not hold the lock. */
  CONSTRAINT_LOCKED: { code: 404, message: "Constraint failed: lock not held", mqtt: R.UNSPECIFIED_ERROR },
  // 5xx: messaging
  /** No handler (or request stream) for the request's path. */
  NO_HANDLER: { code: 500, message: "No handler for the request", mqtt: R.NO_MATCHING_SUBSCRIBERS },
  /** The handler did not answer within the request's timeout. */
  REQUEST_TIMEOUT: { code: 501, message: "Request timed out", mqtt: R.UNSPECIFIED_ERROR },
  /** The handler failed (it threw); the message is the handler's. */
  HANDLER_FAILED: { code: 502, message: "Request handler failed", mqtt: R.UNSPECIFIED_ERROR },
  /** The handler's session closed before it answered. */
  HANDLER_SESSION_CLOSED: {
    code: 503,
    message: "Handler's session closed during the request",
    mqtt: R.UNSPECIFIED_ERROR,
  },
  /** A request or response not of the declared type. */
  REQUEST_TYPE_MISMATCH: {
    code: 504,
    message: "Request or response of the wrong type",
    mqtt: R.PAYLOAD_FORMAT_INVALID,
  },
  /** A session filter that is not valid. */
  INVALID_FILTER: { code: 505, message: "Invalid session filter", mqtt: R.UNSPECIFIED_ERROR },
  /** The session already has a handler (or request stream) for the path. */
  HANDLER_EXISTS: {
    code: 506,
    message: "A handler is already registered for this path",
    mqtt: R.UNSPECIFIED_ERROR,
  },
} as const;

/** Name of an error code, e.g. `"PAYLOAD_INVALID"`. */
export type ErrorCode = keyof typeof ErrorCodes;

/** All error-code names, in table order. */
export const ERROR_CODE_NAMES = Object.keys(ErrorCodes) as ErrorCode[];

const BY_NUMBER = new Map<number, ErrorCode>(
  ERROR_CODE_NAMES.map((name) => [ErrorCodes[name].code, name] as const),
);

/** The wire number of an error code. */
export function errorCodeNumber(code: ErrorCode): number {
  return ErrorCodes[code].code;
}

/** The error code for a wire number, or `INTERNAL` for an unknown number. */
export function errorCodeFromNumber(n: number): ErrorCode {
  return BY_NUMBER.get(n) ?? "INTERNAL";
}

/** The MQTT 5 reason code that reports this error. */
export function mqttReasonCode(code: ErrorCode): number {
  return ErrorCodes[code].mqtt;
}

/** Wire form of an error: its code number and message. */
export interface WireError {
  /** Error code number from {@link ErrorCodes}. */
  code: number;
  /** Human-readable message. */
  message: string;
}

/**
 * The one error class of Skein. Every failure the server reports and every error the SDK raises is a
 * `SkeinError` with a {@link ErrorCode}.
 *
 * @example
 * ```ts
 * try { await session.set("a/b", "int64", 1n); }
 * catch (e) { if (e instanceof SkeinError && e.code === "PAYLOAD_INVALID") { ... } }
 * ```
 */
export class SkeinError extends Error {
  /** What went wrong, from the shared {@link ErrorCodes} table. */
  readonly code: ErrorCode;

  /**
   * @param code - the error code
   * @param message - a message; defaults to the table's message for `code`
   * @param options - standard `cause`
   */
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].message, options);
    this.name = "SkeinError";
    this.code = code;
  }

  /** The error as it travels on the wire. */
  toWire(): WireError {
    return { code: ErrorCodes[this.code].code, message: this.message };
  }

  /** Rebuilds an error received on the wire. */
  static fromWire(wire: WireError): SkeinError {
    return new SkeinError(errorCodeFromNumber(wire.code), wire.message);
  }

  /** Turns anything thrown into a `SkeinError` (unknown throws become `INTERNAL`, with the cause kept). */
  static from(err: unknown): SkeinError {
    if (err instanceof SkeinError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new SkeinError("INTERNAL", message, { cause: err });
  }
}
