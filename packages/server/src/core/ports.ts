/**
 * The small interfaces through which the core reaches the world: logger, clock, metrics and store.
 * Doors and storage engines implement or consume these; the core imports none of them.
 */
import type { TopicSpecification } from "@skein/protocol";
import type { MessageProperties, QoS, SubscriptionOptions } from "./types.js";

/** Structured logger (pino's shape). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/** Time and timers, injected so tests and the core stay deterministic. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

/** A timer handle. */
export interface Timer {
  unref?(): unknown;
}

/** The system clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

/** A topic as a store keeps it. */
export interface StoredTopic {
  path: string;
  spec: TopicSpecification;
  value?: StoredMessage;
}

/** A message as a store keeps it (a retained value or a queued delivery). */
export interface StoredMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
  expiresAt?: number;
}

/** The durable part of an MQTT (or other) persistent session. */
export interface StoredSession {
  clientId: string;
  /** Epoch ms at which the session expires once disconnected; undefined = never. */
  expiryIntervalSec: number;
  subscriptions: { filter: string; options: SubscriptionOptions }[];
  queue: StoredMessage[];
}

/**
 * Where data is kept (DESIGN §8). Writes are fire-and-forget (the store batches them); reads happen at
 * start-up. The memory store keeps nothing across restarts; sqlite and redis stores plug in here.
 */
export interface Store {
  /** A short name for logs (`memory`, `sqlite`, ...). */
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Persistent topics and their values. */
  loadTopics(): Promise<StoredTopic[]>;
  putTopic(topic: StoredTopic): void;
  removeTopic(path: string): void;
  /** Persistent sessions. */
  loadSessions(): Promise<StoredSession[]>;
  putSession(session: StoredSession): void;
  removeSession(clientId: string): void;
}
