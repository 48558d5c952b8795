/** What the SDK door is configured with (a slice of the server configuration). */
export interface SdkOptions {
  /** The server's name, the `$ServerName` session property. */
  serverName: string;
  /** How long a session outlives a dropped connection, waiting to be resumed (ms). */
  reconnectTimeoutMs: number;
  /** Most server frames kept for replay on resumption, per session. */
  replayBufferFrames: number;
  /** Most bytes of server frames kept for replay, per session. */
  replayBufferBytes: number;
  /** WebSocket send buffer beyond which the client is a slow consumer and is disconnected. */
  maxOutboundBytes: number;
  /** Interval of WebSocket pings that detect dead connections (ms). */
  heartbeatMs: number;
  /** Most topics one fetch returns when the request names no page size. */
  defaultFetchPage: number;
  /** Most selections one session may hold. */
  maxSelectionsPerSession: number;
  /** Most requests one session may have waiting for their answers (issue 14 §4). */
  maxPendingRequestsPerSession: number;
  /** Most session-event watches one session may hold (issue 14 §4). */
  maxSessionWatchesPerSession: number;
  /** Timeout of a request that names none (ms). */
  requestTimeoutMs: number;
  /** A WebSocket that sends no `hello` in this time is closed with `CloseCodes.HANDSHAKE_TIMEOUT` (ms). */
  handshakeTimeoutMs: number;
  /**
   * Largest WebSocket message the door processes (bytes), announced in `welcome.limits.maxFrameBytes`.
   * A message above it (up to the WebSocket bound, {@link oversizeMargin} more) gets `TOO_LARGE` for
   * each request it carries; a larger one closes the connection with 1009.
   */
  maxFrameBytes: number;
  /** Largest request or response value of request-response messaging (bytes), announced in `welcome`. */
  maxRequestBytes: number;
}

/** Room in a frame for everything but a request's value: path, types, id, target (bytes). */
export const REQUEST_FRAME_ROOM = 64 * 1024;

/**
 * The largest frame the SDK door accepts: the configured WebSocket message size, but always room for a
 * request of `maxRequestBytes` (a legal request must never be refused for its frame's size).
 */
export function sdkMaxFrameBytes(maxMessageSize: number, maxRequestBytes: number): number {
  return Math.max(maxMessageSize, maxRequestBytes + REQUEST_FRAME_ROOM);
}

/**
 * How far above `maxFrameBytes` the WebSocket still takes a message, so that an oversize frame is
 * answered with `TOO_LARGE` rather than a 1009 close (a sixteenth, at least 64 KiB).
 */
export function oversizeMargin(maxFrameBytes: number): number {
  return Math.max(64 * 1024, Math.ceil(maxFrameBytes / 16));
}

/** Defaults. */
export const DEFAULT_SDK_OPTIONS: SdkOptions = {
  serverName: "skein",
  reconnectTimeoutMs: 30_000,
  replayBufferFrames: 10_000,
  replayBufferBytes: 16 * 1024 * 1024,
  maxOutboundBytes: 8 * 1024 * 1024,
  heartbeatMs: 30_000,
  defaultFetchPage: 1000,
  maxSelectionsPerSession: 1000,
  maxPendingRequestsPerSession: 1000,
  maxSessionWatchesPerSession: 100,
  requestTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  maxFrameBytes: sdkMaxFrameBytes(1024 * 1024 + 16, 1024 * 1024),
  maxRequestBytes: 1024 * 1024,
};
