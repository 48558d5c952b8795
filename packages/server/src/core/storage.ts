/**
 * The storage port (issue 9, DESIGN §8): the small operations through which the core keeps what it
 * must not forget, and the records they carry. An engine (memory, sqlite) implements {@link Storage};
 * the core imports no engine and no `node:` module.
 *
 * Every write returns a promise that settles once the write is committed (for sqlite: once the
 * transaction that holds it has committed). The core sends a QoS 1 PUBACK, a QoS 2 PUBREC or an SDK
 * answer to a write only after that promise resolves. Engines group writes: all writes queued in one
 * event-loop turn (or within `maxBatchDelayMs`) share one transaction, so awaiting each write costs
 * no fsync of its own.
 *
 * Wired so far: topics and their values (`core/persistence.ts`, docs/durability.md) and time series
 * events (`core/timeseries/topics.ts`), MQTT persistent sessions (`core/session-store.ts`).
 *
 * @module
 */
import type { TopicSpecification } from "@skein/protocol";
import type { SecurityDocument } from "./security/model.js";

/** An ordered list of MQTT 5 User Properties as `[name, value]` pairs; order and repeats are kept. */
export type UserPropertyPairs = readonly (readonly [name: string, value: string])[];

/**
 * MQTT 5 message properties as they are kept with a retained value, a queued message or a will.
 * User Properties are an ordered list of pairs [MQTT-3.3.2-18]: a name may repeat and names may
 * interleave (`a, b, a`), and the order is given back exactly as it was stored.
 */
export interface StoredProperties {
  /** Payload Format Indicator: true when the payload is UTF-8 text. */
  readonly payloadFormatIndicator?: boolean;
  /** Content Type (a MIME type). */
  readonly contentType?: string;
  /** Response Topic. */
  readonly responseTopic?: string;
  /** Correlation Data. */
  readonly correlationData?: Uint8Array;
  /** User Properties in the order they arrived. */
  readonly userProperties?: UserPropertyPairs;
}

/** A topic's value as kept: the bytes of the last update that set it, with what MQTT needs to replay it. */
export interface StoredValue {
  /** The value's bytes (the payload of the update that set it). */
  readonly payload: Uint8Array;
  /** QoS of the update that set it (a retained PUBLISH is replayed at min(this, subscription QoS)). */
  readonly qos: 0 | 1 | 2;
  /** MQTT 5 properties of the retained PUBLISH, if any. */
  readonly properties?: StoredProperties;
  /** Epoch ms after which the value must not be replayed (MQTT 5 Message Expiry); absent = never. */
  readonly expiresAt?: number;
}

/** A topic as kept: its path, its specification and (usually) its value. */
export interface TopicRecord {
  /** The topic path (normalised). */
  readonly path: string;
  /** The topic's specification. */
  readonly spec: TopicSpecification;
  /** Its value; absent when the topic has none (and always absent for time series topics). */
  readonly value?: StoredValue;
}

/** An MQTT session's Will Message, kept so that a will survives a restart of the server. */
export interface WillRecord {
  /** Will Topic. */
  readonly topic: string;
  /** Will Payload. */
  readonly payload: Uint8Array;
  /** Will QoS. */
  readonly qos: 0 | 1 | 2;
  /** Will Retain. */
  readonly retain: boolean;
  /** Will Properties (MQTT 5), User Property order kept. */
  readonly properties?: StoredProperties;
  /** Will Delay Interval in seconds [MQTT-3.1.3-9]; 0 = publish at disconnection. */
  readonly delaySec: number;
  /** Epoch ms at which a pending delayed will is due; absent while the client is connected. */
  readonly publishAt?: number;
  /** Message Expiry Interval of the will in seconds, if any. */
  readonly messageExpirySec?: number;
}

/**
 * Who a kept session belongs to: the principal that authenticated its last connection (absent:
 * anonymous) and the roles it held then. At start-up the session acts as this principal while its
 * client is away (deliveries to it are checked against it), with the principal's roles as the
 * security store has them now (the kept roles serve a principal the store does not know, e.g. one an
 * authenticator let in), and only this principal may take the session over (issue 14).
 */
export interface SessionOwner {
  /** The owning principal; absent for an anonymous session. */
  readonly principal?: string;
  /** The roles the session held when it was last kept. */
  readonly roles: readonly string[];
}

/** The durable part of an MQTT persistent session (its subscriptions and messages are kept apart). */
export interface SessionRecord {
  /** The MQTT Client Identifier (the key). */
  readonly clientId: string;
  /** Protocol level of the last connection: 4 (3.1.1) or 5. */
  readonly protocolVersion: 4 | 5;
  /** Session Expiry Interval in seconds (0xFFFFFFFF = never expires). */
  readonly expiryIntervalSec: number;
  /**
   * Epoch ms at which the session expires. Absent while a connection holds the session (the
   * interval starts at disconnection) and for sessions that never expire.
   */
  readonly expiresAt?: number;
  /** The session's will, if one is pending or registered. */
  readonly will?: WillRecord;
  /** Its owner; absent for a session kept before owners were (schema version 3 and older). */
  readonly owner?: SessionOwner;
}

/**
 * What a session's kept queue holds, without its messages: enough to count the queue against its
 * bounds and to go on numbering its messages at start-up; the messages themselves are read when the
 * session needs them ({@link Storage.loadSessionMessages}).
 */
export interface QueueSummary {
  /** The session's client id. */
  readonly clientId: string;
  /** Messages not in flight (`queued`, or without a packet id): they count against the queue's bounds. */
  readonly queued: number;
  /**
   * Bytes of those messages as the queue bounds count them: payload bytes plus the topic's length.
   * An engine may count a topic's characters where the server counts UTF-16 code units; the server
   * corrects the difference when it reads the messages.
   */
  readonly queuedBytes: number;
  /** Messages in flight (`sent` or `released` with a packet id). */
  readonly inflight: number;
  /** The highest message id kept. */
  readonly lastMessageId: number;
}

/** One subscription of a persistent session. */
export interface SubscriptionRecord {
  /** The session's client id. */
  readonly clientId: string;
  /** The topic filter as subscribed, including any `$share/{group}/` prefix (the key with clientId). */
  readonly filter: string;
  /** Maximum QoS granted. */
  readonly qos: 0 | 1 | 2;
  /** No Local [MQTT-3.8.3-3]. */
  readonly noLocal: boolean;
  /** Retain As Published [MQTT-3.8.3-4]. */
  readonly retainAsPublished: boolean;
  /** Retain Handling: 0, 1 or 2. */
  readonly retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier, if any. */
  readonly subscriptionId?: number;
}

/**
 * Where a queued QoS 1/2 message stands in its session's delivery flow:
 * - `queued`: not sent yet (or not on this connection); no packet id is bound to it;
 * - `sent`: PUBLISH sent with `packetId`, awaiting PUBACK (QoS 1) or PUBREC (QoS 2);
 * - `released`: QoS 2 only: PUBREC received and PUBREL sent, awaiting PUBCOMP. Only the packet id
 *   matters then; on reconnection the server resends PUBREL, not the PUBLISH [MQTT-4.4.0-1].
 */
export type DeliveryState = "queued" | "sent" | "released";

/** A QoS 1/2 message in a persistent session's outgoing queue (queued or in flight). */
export interface QueuedMessageRecord {
  /** The session's client id. */
  readonly clientId: string;
  /**
   * The message's position in its session's queue: assigned by the core, rising per session, never
   * reused while the message is kept. Start-up gives a session's messages back in this order.
   */
  readonly messageId: number;
  /** The PUBLISH topic. */
  readonly topic: string;
  /** Payload bytes. */
  readonly payload: Uint8Array;
  /** Delivery QoS (the minimum of publish and subscription QoS). */
  readonly qos: 1 | 2;
  /** The RETAIN flag to send. */
  readonly retain: boolean;
  /** MQTT 5 properties, User Property order kept. */
  readonly properties?: StoredProperties;
  /** Subscription Identifiers of the matching subscriptions [MQTT-3.3.4-3]. */
  readonly subscriptionIds?: readonly number[];
  /** Epoch ms after which an unsent message is dropped (Message Expiry); absent = never. */
  readonly expiresAt?: number;
  /** Packet identifier once sent; absent while `queued`. */
  readonly packetId?: number;
  /** Delivery state. */
  readonly state: DeliveryState;
  /** DUP flag for the next send: true once the PUBLISH has been sent at least once [MQTT-3.3.1-1]. */
  readonly dup: boolean;
}

/** The part of a queued message that changes as it is delivered. */
export interface DeliveryUpdate {
  /** New delivery state. */
  readonly state: DeliveryState;
  /** Packet identifier bound to the message (absent to unbind it when back to `queued`). */
  readonly packetId?: number;
  /** DUP flag for the next send. */
  readonly dup: boolean;
}

/**
 * One time series event. Sequences start at 0 and rise by one per event, edits included; timestamps
 * are server epoch ms and never decrease along the series.
 */
export interface TimeSeriesEvent {
  /** The event's sequence number in its series. */
  readonly sequence: number;
  /** Server epoch ms at which it was appended. */
  readonly timestamp: number;
  /** Who appended it: the session's principal, or the MQTT client id when anonymous. */
  readonly author: string;
  /** The event value's bytes (encoded by the series' event type). */
  readonly value: Uint8Array;
  /** For an edit: the sequence of the original event it replaces; absent for an original event. */
  readonly originalSequence?: number;
}

/** A time series as start-up finds it: where it begins and ends. Events are read on demand. */
export interface SeriesRecord {
  /** The series' topic path. */
  readonly path: string;
  /** Sequence of the oldest kept event; equal to `nextSequence` when none is kept. */
  readonly firstSequence: number;
  /** Sequence the next event gets. */
  readonly nextSequence: number;
  /** Timestamp of the newest kept event; absent when none is kept. */
  readonly lastTimestamp?: number;
}

/**
 * A read of a series' events: a half-open window of sequences and/or timestamps, filtered and
 * bounded. Every bound is optional; `limit` is required so that no read is unbounded.
 */
export interface EventRead {
  /** Lowest sequence to return (inclusive). */
  readonly fromSequence?: number;
  /** Sequence to stop before (exclusive). */
  readonly toSequence?: number;
  /** Lowest timestamp to return (inclusive). */
  readonly fromTimestamp?: number;
  /** Timestamp to stop before (exclusive). */
  readonly toTimestamp?: number;
  /** `originals`: only events that are not edits; `edits`: only edits; default: every event. */
  readonly kind?: "originals" | "edits";
  /** Only edits of originals with sequences in `[originalFrom, originalTo)` (implies `kind: "edits"`). */
  readonly originalFrom?: number;
  /** See {@link EventRead.originalFrom}. */
  readonly originalTo?: number;
  /** Newest first (then `limit` keeps the newest); default oldest first. */
  readonly newestFirst?: boolean;
  /** At most this many events. */
  readonly limit: number;
}

/** What {@link Storage.countEvents} counts: the events an {@link EventRead} without a limit would read. */
export type EventCount = Omit<EventRead, "limit" | "newestFirst">;

/** One batch of what a store holds, given back at start-up (see {@link Storage.load}). */
export type LoadedRecord =
  | {
      /** A topic. */
      readonly kind: "topic";
      /** The topic. */
      readonly record: TopicRecord;
    }
  | {
      /** A persistent session. */
      readonly kind: "session";
      /** The session. */
      readonly record: SessionRecord;
    }
  | {
      /** A session's subscription. */
      readonly kind: "subscription";
      /** The subscription. */
      readonly record: SubscriptionRecord;
    }
  | {
      /** A queued or in-flight message. */
      readonly kind: "message";
      /** The message. */
      readonly record: QueuedMessageRecord;
    }
  | {
      /** A summary of a session's queued and in-flight messages (with `messages: "summary"`). */
      readonly kind: "queue";
      /** The summary. */
      readonly record: QueueSummary;
    }
  | {
      /** An incoming QoS 2 packet id awaiting PUBREL. */
      readonly kind: "incomingQos2";
      /** The session's client id. */
      readonly clientId: string;
      /** The packet id. */
      readonly packetId: number;
    }
  | {
      /** A time series' extent. */
      readonly kind: "series";
      /** The series. */
      readonly record: SeriesRecord;
    };

/** Options of {@link Storage.load}. */
export interface LoadOptions {
  /** Include topics and time series extents (default true). */
  readonly topics?: boolean;
  /** Include sessions, their subscriptions and incoming QoS 2 ids (default true). */
  readonly sessions?: boolean;
  /**
   * The sessions' queued messages: `true` (default) every message; `false` none; `"summary"` one
   * {@link QueueSummary} per session that has messages, instead of the messages. Only with sessions.
   */
  readonly messages?: boolean | "summary";
}

/** What {@link Storage.sweep} removed. */
export interface SweepResult {
  /** Client ids of the sessions removed (with their subscriptions, messages and QoS 2 ids). */
  readonly sessions: readonly string[];
  /** How many unsent queued messages were removed because their expiry passed. */
  readonly messages: number;
  /** Paths of topics whose value was removed because its expiry passed (the topic itself stays). */
  readonly values: readonly string[];
}

/**
 * The storage port. Writes settle when committed; reads see every write made before them (an engine
 * commits what is pending before it reads). Methods may be called in any order after construction;
 * {@link Storage.close} commits what is pending and releases the store.
 */
export interface Storage {
  /** Engine name for logs and metrics: `memory` or `sqlite`. */
  readonly engine: string;

  /**
   * Everything kept, for start-up, in batches (of at most a few thousand records) so that a large
   * store is never one giant array. Order: topics, series, sessions, subscriptions, messages (per
   * session by `messageId`) or their summaries (per session), incoming QoS 2 ids. Time series events
   * are not loaded: read them with {@link Storage.readEvents}. {@link LoadOptions} leaves parts out:
   * the core reads topics and sessions in two passes (`sessions: false`, then `topics: false`), and a
   * session's queue as a summary, reading its messages when its client comes back
   * ({@link Storage.loadSessionMessages}).
   */
  load(options?: LoadOptions): AsyncIterable<readonly LoadedRecord[]>;
  /**
   * One session's queued and in-flight messages, by `messageId`, as they stand when it is called
   * (writes queued after the call are not seen).
   */
  loadSessionMessages(clientId: string): Promise<QueuedMessageRecord[]>;

  /** Keeps a topic with its specification and value, replacing what was kept at its path. */
  putTopic(topic: TopicRecord): Promise<void>;
  /** Forgets the topic at `path`, its value and (for a time series) all its events. */
  removeTopic(path: string): Promise<void>;

  /** Keeps a session's record (expiry, will), replacing the previous one of its client id. */
  putSession(session: SessionRecord): Promise<void>;
  /** Forgets a session with its subscriptions, queued messages and incoming QoS 2 ids. */
  removeSession(clientId: string): Promise<void>;
  /** Keeps a subscription, replacing the one of the same client id and filter. */
  putSubscription(subscription: SubscriptionRecord): Promise<void>;
  /** Forgets the subscription of `clientId` to `filter`. */
  removeSubscription(clientId: string, filter: string): Promise<void>;

  /** Adds a QoS 1/2 message to a session's queue. */
  enqueueMessage(message: QueuedMessageRecord): Promise<void>;
  /** Records a delivery step (packet id bound, DUP set, QoS 2 released) of a queued message. */
  updateMessage(clientId: string, messageId: number, update: DeliveryUpdate): Promise<void>;
  /** Removes a message once its delivery completed (PUBACK, PUBCOMP) or was abandoned. */
  ackMessage(clientId: string, messageId: number): Promise<void>;

  /** Records an incoming QoS 2 packet id whose PUBREC went out and whose PUBREL has not come yet. */
  recordIncomingQos2(clientId: string, packetId: number): Promise<void>;
  /** Releases an incoming QoS 2 packet id (PUBREL received) [MQTT-4.3.3-10]. */
  releaseIncomingQos2(clientId: string, packetId: number): Promise<void>;

  /**
   * Appends one event (an original, or an edit when `originalSequence` is set) to the series at
   * `path`. The caller assigns the sequence (the next one) and the timestamp; the store does not check
   * the time series rules (`core/timeseries` does).
   */
  appendEvent(path: string, event: TimeSeriesEvent): Promise<void>;
  /** Removes the events of the series at `path` with sequences below `beforeSequence` (retention). */
  trimEvents(path: string, beforeSequence: number): Promise<void>;
  /** Reads events of the series at `path` (see {@link EventRead}); an unknown series reads empty. */
  readEvents(path: string, read: EventRead): Promise<TimeSeriesEvent[]>;
  /** How many events of the series at `path` a read of `count` would return without a limit. */
  countEvents(path: string, count: EventCount): Promise<number>;
  /**
   * The oldest event of `path` with a timestamp at or after `timestamp` (`atOrAfter`) or the newest
   * with one before it (`before`), if any: how time points of a range query become sequences.
   */
  findEventByTime(
    path: string,
    timestamp: number,
    side: "atOrAfter" | "before",
  ): Promise<TimeSeriesEvent | undefined>;

  /**
   * Removes what expired at `now`: sessions whose `expiresAt` passed, unsent (`queued`) messages and
   * topic values whose `expiresAt` passed. Wills due for publication are the core's business (it
   * reads them at load and keeps timers), not the sweep's.
   */
  sweep(now: number): Promise<SweepResult>;

  /**
   * Keeps the security store (principals with password hashes, roles, anonymous access), replacing the
   * one kept. The store is small and changes rarely: it is written whole.
   */
  putSecurity(document: SecurityDocument): Promise<void>;
  /** The security store kept, or undefined when none was ever kept (a first start). */
  loadSecurity(): Promise<SecurityDocument | undefined>;

  /** Commits every pending write now; resolves when done. */
  flush(): Promise<void>;
  /** Commits what is pending and releases the store (closes files, drops the lock). */
  close(): Promise<void>;
}
