/**
 * Options of `connect`, and their defaults.
 *
 * @module
 */
import { SkeinError } from "@skein/protocol";
import type { TransportFactory } from "./transport.js";

/** How the session reconnects after its connection drops. */
export interface ReconnectOptions {
  /** Reconnect at all. Default true. */
  enabled?: boolean;
  /** Delay before the first attempt, in ms; it doubles each attempt (with jitter). Default 100. */
  initialDelayMs?: number;
  /** The longest delay between attempts, in ms. Default 5000. */
  maxDelayMs?: number;
  /**
   * How long to keep trying, in ms, before the session closes with `SESSION_CLOSED`. Default 60000.
   * Past the server's reconnection timeout (`welcome.reconnectTimeoutMs`) an attempt can still connect,
   * but as a new session (`reconnected` with `resumed: false`).
   */
  timeoutMs?: number;
}

/** Options of `connect`. */
export interface ConnectOptions {
  /** The principal to authenticate as; anonymous when absent. */
  principal?: string;
  /** The principal's password. */
  password?: string;
  /** Session properties to set (visible to session filters, DESIGN §6). */
  properties?: Record<string, string>;
  /** Reconnection with resumption, or `false` to close the session when the connection drops. */
  reconnect?: ReconnectOptions | false;
  /** How long a request waits for its answer while connected, in ms (0: forever). Default 30000. */
  requestTimeoutMs?: number;
  /** How long opening a connection and the handshake may take, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** The most requests that may wait for the server at once. Default 10000. */
  maxPendingRequests?: number;
  /**
   * After this many ms without a frame from the server the session pings it; after twice as many it
   * drops the connection and reconnects (0: off). Default 30000.
   */
  heartbeatMs?: number;
  /** A transport instead of the platform's WebSocket (for tests and unusual platforms). */
  transport?: TransportFactory;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  principal: string | undefined;
  password: string | undefined;
  properties: Record<string, string> | undefined;
  reconnect: Required<ReconnectOptions>;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  maxPendingRequests: number;
  heartbeatMs: number;
}

/**
 * Fills in defaults and checks the options.
 * @throws SkeinError `INVALID_ARGUMENT`
 */
export function resolveOptions(options: ConnectOptions): ResolvedOptions {
  const r = options.reconnect === false ? { enabled: false } : (options.reconnect ?? {});
  const resolved: ResolvedOptions = {
    principal: options.principal,
    password: options.password,
    properties: options.properties,
    reconnect: {
      enabled: r.enabled ?? true,
      initialDelayMs: r.initialDelayMs ?? 100,
      maxDelayMs: r.maxDelayMs ?? 5000,
      timeoutMs: r.timeoutMs ?? 60_000,
    },
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    maxPendingRequests: options.maxPendingRequests ?? 10_000,
    heartbeatMs: options.heartbeatMs ?? 30_000,
  };
  const numbers: [string, number][] = [
    ["reconnect.initialDelayMs", resolved.reconnect.initialDelayMs],
    ["reconnect.maxDelayMs", resolved.reconnect.maxDelayMs],
    ["reconnect.timeoutMs", resolved.reconnect.timeoutMs],
    ["requestTimeoutMs", resolved.requestTimeoutMs],
    ["connectTimeoutMs", resolved.connectTimeoutMs],
    ["maxPendingRequests", resolved.maxPendingRequests],
    ["heartbeatMs", resolved.heartbeatMs],
  ];
  for (const [name, value] of numbers) {
    if (!Number.isFinite(value) || value < 0) {
      throw new SkeinError("INVALID_ARGUMENT", `${name} must be a non-negative number`);
    }
  }
  return resolved;
}

/** The delay before reconnection attempt `attempt` (1, 2, …): exponential backoff with ±20% jitter. */
export function backoffDelay(
  attempt: number,
  options: Required<ReconnectOptions>,
  random = Math.random,
): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}
