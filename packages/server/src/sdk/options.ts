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
  /** Timeout of a request that names none (ms). */
  requestTimeoutMs: number;
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
  requestTimeoutMs: 30_000,
};
