/**
 * The small interfaces through which the core reaches the world: logger, clock, metrics and store.
 * Doors and storage engines implement or consume these; the core imports none of them.
 */
import { type TopicSpecification, systemClock as platformClock } from "@skein/protocol";
import type { MessageProperties, QoS, SubscriptionOptions } from "./types.js";

/** Structured logger (pino's shape). */
export interface Logger {
  /** Logs `obj` (structured fields) and `msg` at level debug. */
  debug(obj: object, msg?: string): void;
  /** Logs at level info. */
  info(obj: object, msg?: string): void;
  /** Logs at level warn. */
  warn(obj: object, msg?: string): void;
  /** Logs at level error. */
  error(obj: object, msg?: string): void;
  /** A logger that adds `bindings` to every entry. */
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
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Cancels a timer of {@link Clock.setTimeout}. */
  clearTimeout(timer: Timer): void;
}

/** A timer handle. */
export interface Timer {
  /** Lets the process exit while the timer is armed (Node's timers); absent elsewhere. */
  unref?(): unknown;
}

/** The system clock (the one @skein/protocol's Deadlines and the SDK use). */
export const systemClock: Clock = platformClock;

/** A topic as a store keeps it. */
export interface StoredTopic {
  /** The topic's path. */
  path: string;
  /** Its specification. */
  spec: TopicSpecification;
  /** Its value, if it has one. */
  value?: StoredMessage;
}

/** A message as a store keeps it (a retained value or a queued delivery). */
export interface StoredMessage {
  /** The topic it was published to. */
  topic: string;
  /** The payload (the value's bytes). */
  payload: Uint8Array;
  /** Its QoS. */
  qos: QoS;
  /** Its retain flag. */
  retain: boolean;
  /** Its MQTT 5 properties. */
  properties?: MessageProperties;
  /** Epoch ms after which it is not delivered (MQTT 5 Message Expiry); undefined = never. */
  expiresAt?: number;
}

/** The durable part of an MQTT (or other) persistent session. */
export interface StoredSession {
  /** The MQTT client id. */
  clientId: string;
  /** Seconds the session lives on once disconnected (0xFFFFFFFF = forever). */
  expiryIntervalSec: number;
  /** Its subscriptions. */
  subscriptions: {
    /** The topic filter. */
    filter: string;
    /** The subscription's options (QoS, No Local, ...). */
    options: SubscriptionOptions;
  }[];
  /** Messages queued for delivery while the client is offline. */
  queue: StoredMessage[];
}

/**
 * Where data is kept (DESIGN §8). Writes are fire-and-forget (the store batches them); reads happen at
 * start-up. The memory store keeps nothing across restarts; sqlite and redis stores plug in here.
 */
export interface Store {
  /** A short name for logs (`memory`, `sqlite`, ...). */
  readonly kind: string;
  /** Opens the store (creates files, connects); called once before any other method. */
  open(): Promise<void>;
  /** Writes what is pending and closes the store. */
  close(): Promise<void>;
  /** Persistent topics and their values. */
  loadTopics(): Promise<StoredTopic[]>;
  /** Keeps a topic (and its value), replacing the one at its path. */
  putTopic(topic: StoredTopic): void;
  /** Forgets the topic at `path`. */
  removeTopic(path: string): void;
  /** Persistent sessions. */
  loadSessions(): Promise<StoredSession[]>;
  /** Keeps a session, replacing the one of its client id. */
  putSession(session: StoredSession): void;
  /** Forgets the session of `clientId`. */
  removeSession(clientId: string): void;
}
