/**
 * Durable MQTT persistent sessions (issue 9, DESIGN §8): the core keeps, through the {@link Storage}
 * port, what a persistent session must not forget across a restart: its record (expiry, will), its
 * subscriptions, its queued and in-flight QoS 1/2 messages with their packet ids and DUP state, and
 * the incoming QoS 2 packet ids awaiting PUBREL. The MQTT door keeps the live, per-connection state
 * and tells the core what changed through the small {@link DurableSession} interface; at start-up
 * it rebuilds its sessions from {@link SessionStore.load}.
 *
 * Start-up reads each session's record, subscriptions and QoS 2 ids, and only a summary of its queue
 * (how many messages, how many bytes, its last message id): the messages themselves are read when the
 * session needs them ({@link DurableSession.loadMessages}: its client comes back, or a queue bound
 * must drop its oldest message), so a store holding many offline queues starts in seconds.
 *
 * Only sessions that outlive their connection are kept (MQTT 5 Session Expiry Interval > 0, 3.1.1
 * clean session 0), and only when a store is attached: clean sessions and QoS 0 never touch the disk.
 *
 * Commits: every write returns the engine's group-commit promise (one per batch). The delivery of a
 * publish to kept sessions writes each queued copy; {@link SessionStore.lastEnqueue} holds the promise
 * of the last such write, which {@link Core.publish} hands back as the publish's `committed`, so the
 * publisher's PUBACK / PUBREC waits until every kept copy is committed (docs/durability.md). The
 * engine commits batches in order, so the last write's promise covers every earlier one.
 *
 * @module
 */
import type { Metrics } from "./metrics.js";
import type { Clock, Logger, Timer } from "./ports.js";
import type { Persistence } from "./persistence.js";
import type {
  DeliveryState,
  QueuedMessageRecord,
  QueueSummary,
  SessionOwner,
  SessionRecord,
  Storage,
  SubscriptionRecord,
  WillRecord,
} from "./storage.js";
import type { QoS, SubscriptionOptions, Update } from "./types.js";

/** A session's will as the door holds it (the update to publish, with its MQTT timing). */
export interface DurableWill {
  /** The will message (its expiry counts from publication, see `expirySec`). */
  readonly update: Update;
  /** Will Delay Interval (s). */
  readonly delaySec: number;
  /** Message Expiry Interval of the will (s), counted from its publication. */
  readonly expirySec?: number;
  /** Epoch ms at which a pending delayed will is due (absent while connected). */
  readonly publishAt?: number;
}

/** The part of a session record the door decides. */
export interface DurableSessionState {
  /** Protocol level of the last connection. */
  readonly protocolVersion: 4 | 5;
  /** Session Expiry Interval (s); 0xFFFFFFFF = never. */
  readonly expiryIntervalSec: number;
  /** Epoch ms at which the offline session expires (absent while connected, or never). */
  readonly expiresAt?: number;
  /** The will, if one is registered or pending. */
  readonly will?: DurableWill;
  /** Who the session belongs to (absent while unknown). */
  readonly owner?: SessionOwner;
}

/** A queued or in-flight message found at start-up. */
export interface RestoredMessage {
  /** Its id in the session's queue (pass it back to {@link DurableSession}). */
  readonly messageId: number;
  /** The message. */
  readonly update: Update;
  /** Delivery QoS. */
  readonly qos: 1 | 2;
  /** The RETAIN flag to send. */
  readonly retain: boolean;
  /** Subscription Identifiers to send. */
  readonly subscriptionIds: readonly number[] | undefined;
  /** Where its delivery stood. */
  readonly state: DeliveryState;
  /** Its packet id when `sent` or `released`. */
  readonly packetId: number | undefined;
}

/** A persistent session found at start-up. */
export interface RestoredSession {
  /** Its record. */
  readonly record: SessionRecord;
  /**
   * Who it belongs to, with the roles to act with while its client is away: the principal's roles as
   * the security store has them now (the kept ones for a principal the store does not know). Absent
   * for a session kept without an owner (before schema version 4).
   */
  readonly owner: SessionOwner | undefined;
  /** Its will, as the door holds one. */
  readonly will: DurableWill | undefined;
  /** Its subscriptions: the filter as subscribed (with any `$share/` prefix) and the options. */
  readonly subscriptions: readonly { readonly key: string; readonly options: SubscriptionOptions }[];
  /**
   * What its kept queue holds (absent when empty); the messages are read with
   * {@link DurableSession.loadMessages}.
   */
  readonly queue: QueueSummary | undefined;
  /** Incoming QoS 2 packet ids awaiting PUBREL. */
  readonly incomingQos2: readonly number[];
  /** The handle through which the session's changes are kept from now on. */
  readonly durable: DurableSession;
}

/** The core's keeper of MQTT persistent sessions. */
export class SessionStore {
  /**
   * The commit promise of the last message enqueued for a kept session. {@link Core.publish} clears
   * it before delivering and reads it after: the publish's acknowledgement waits for it.
   */
  lastEnqueue: Promise<void> | undefined;
  private lastCaught: Promise<void> | undefined;
  private sweepTimer: Timer | undefined;
  private readonly failed = (err: unknown): void => {
    this.metrics.inc("storage_commit_failures_total");
    this.log.error({ err: err instanceof Error ? err.message : String(err) }, "session store commit failed");
  };

  constructor(
    private readonly persistence: Persistence,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The roles a principal holds now (see `SecurityService.currentRoles`); absent: the kept roles. */
    private readonly rolesOf: (principal: string | undefined) => readonly string[] | undefined = () =>
      undefined,
  ) {}

  /** The engine, while one is attached (a detached store writes nothing). */
  get storage(): Storage | undefined {
    return this.persistence.engine;
  }

  /** True when persistent sessions are kept (a store is attached). */
  get keeps(): boolean {
    return this.persistence.engine !== undefined;
  }

  /** The handle of the kept session of `clientId` (a new one starts its message ids at 1). */
  open(clientId: string, nextMessageId = 1): DurableSession {
    return new DurableSession(this, clientId, nextMessageId);
  }

  /**
   * Runs {@link Storage.sweep} now and every `intervalMs`: sessions and unsent messages whose expiry
   * passed go from the disk too (the door ends its sessions by its own timers).
   */
  start(intervalMs: number): void {
    const tick = (): void => {
      // Armed first: a sweep that throws (contained by the core's clock) does not stop the next one.
      this.sweepTimer = this.clock.setTimeout(tick, intervalMs);
      this.sweepTimer.unref?.();
      this.sweep();
    };
    this.sweepTimer = this.clock.setTimeout(tick, intervalMs);
    this.sweepTimer.unref?.();
  }

  /** Stops the sweeps. */
  stop(): void {
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** One sweep of expired sessions and messages off the disk. */
  sweep(): void {
    const storage = this.storage;
    if (storage === undefined) return;
    storage.sweep(this.clock.now()).then((r) => {
      if (r.sessions.length > 0 || r.messages > 0)
        this.log.debug({ sessions: r.sessions.length, messages: r.messages }, "swept expired session state");
    }, this.failed);
  }

  /**
   * Every kept session, with its subscriptions, a summary of its queue and its QoS 2 ids, for the door
   * to rebuild at start-up (before any listener opens). Records of unknown sessions are skipped.
   */
  async load(): Promise<RestoredSession[]> {
    const storage = this.storage;
    if (storage === undefined) return [];
    const byClient = new Map<
      string,
      {
        record: SessionRecord;
        subscriptions: RestoredSession["subscriptions"][number][];
        queue: QueueSummary | undefined;
        incomingQos2: number[];
      }
    >();
    // Topics were read by the core's own load; a queue is read when its session needs it.
    for await (const batch of storage.load({ topics: false, messages: "summary" })) {
      for (const item of batch) {
        switch (item.kind) {
          case "session":
            byClient.set(item.record.clientId, {
              record: item.record,
              subscriptions: [],
              queue: undefined,
              incomingQos2: [],
            });
            break;
          case "subscription":
            byClient.get(item.record.clientId)?.subscriptions.push(subscriptionOf(item.record));
            break;
          case "queue": {
            const s = byClient.get(item.record.clientId);
            if (s) s.queue = item.record;
            break;
          }
          case "incomingQos2":
            byClient.get(item.clientId)?.incomingQos2.push(item.packetId);
            break;
          case "topic":
          case "series":
          case "message":
            break;
        }
      }
    }
    const out: RestoredSession[] = [];
    for (const s of byClient.values()) {
      const owner = s.record.owner;
      out.push({
        record: s.record,
        owner: owner && { ...owner, roles: this.rolesOf(owner.principal) ?? owner.roles },
        will: s.record.will && this.willOf(s.record.will),
        subscriptions: s.subscriptions,
        queue: s.queue,
        incomingQos2: s.incomingQos2,
        durable: this.open(s.record.clientId, (s.queue?.lastMessageId ?? 0) + 1),
      });
    }
    return out;
  }

  /** Notes a write's commit promise: a failure is logged and counted once per batch. */
  watch(commit: Promise<void>): void {
    if (commit === this.lastCaught) return;
    this.lastCaught = commit;
    commit.catch(this.failed);
  }

  /** The record of a will. */
  willRecord(will: DurableWill): WillRecord {
    const u = will.update;
    const properties = u.properties && this.persistence.storedProperties(u.properties);
    return {
      topic: u.topic,
      payload: u.payload,
      qos: u.qos,
      retain: u.retain,
      delaySec: will.delaySec,
      ...(properties ? { properties } : {}),
      ...(will.publishAt !== undefined ? { publishAt: will.publishAt } : {}),
      ...(will.expirySec !== undefined ? { messageExpirySec: will.expirySec } : {}),
    };
  }

  /** The record of a queued message. */
  messageRecord(
    clientId: string,
    messageId: number,
    update: Update,
    qos: 1 | 2,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    packetId: number | undefined,
  ): QueuedMessageRecord {
    const sent = packetId !== undefined;
    // One literal with every field (absent ones undefined): one shape for every record, no spreads on
    // the delivery path.
    return {
      clientId,
      messageId,
      topic: update.topic,
      payload: update.payload,
      qos,
      retain,
      properties: update.properties && this.persistence.storedProperties(update.properties),
      subscriptionIds: subscriptionIds && subscriptionIds.length > 0 ? subscriptionIds : undefined,
      expiresAt: update.expiresAt,
      packetId,
      state: sent ? "sent" : "queued",
      dup: sent,
    };
  }

  private willOf(w: WillRecord): DurableWill {
    return {
      update: {
        topic: w.topic,
        payload: w.payload,
        qos: w.qos,
        retain: w.retain,
        properties: w.properties && this.persistence.propertiesOf(w.properties),
        expiresAt: undefined,
        origin: undefined,
      },
      delaySec: w.delaySec,
      ...(w.messageExpirySec !== undefined ? { expirySec: w.messageExpirySec } : {}),
      ...(w.publishAt !== undefined ? { publishAt: w.publishAt } : {}),
    };
  }

  /**
   * The kept messages of `clientId` with ids up to `lastMessageId` (those kept before start-up; later
   * ones the session holds already), in queue order.
   */
  async messagesOf(clientId: string, lastMessageId: number): Promise<RestoredMessage[]> {
    const storage = this.storage;
    if (storage === undefined) return [];
    const out: RestoredMessage[] = [];
    for (const m of await storage.loadSessionMessages(clientId))
      if (m.messageId <= lastMessageId) out.push(this.messageOf(m));
    return out;
  }

  private messageOf(m: QueuedMessageRecord): RestoredMessage {
    return {
      messageId: m.messageId,
      update: {
        topic: m.topic,
        payload: m.payload,
        qos: m.qos,
        retain: m.retain,
        properties: m.properties && this.persistence.propertiesOf(m.properties),
        expiresAt: m.expiresAt,
        origin: undefined,
      },
      qos: m.qos,
      retain: m.retain,
      subscriptionIds: m.subscriptionIds,
      state: m.state,
      packetId: m.packetId,
    };
  }
}

/**
 * One kept session's writes. Every method queues one write into the engine's open batch and returns
 * nothing the caller must wait for, except where an acknowledgement depends on it (the QoS 2 ids).
 * After the store is detached (the server closing) the methods write nothing.
 */
export class DurableSession {
  constructor(
    private readonly store: SessionStore,
    /** The session's client id (the key of everything it keeps). */
    readonly clientId: string,
    private nextMessageId: number,
  ) {}

  /** Keeps the session's record (replacing the previous one). */
  save(state: DurableSessionState): void {
    const storage = this.store.storage;
    if (storage === undefined) return;
    const record: SessionRecord = {
      clientId: this.clientId,
      protocolVersion: state.protocolVersion,
      expiryIntervalSec: state.expiryIntervalSec,
      ...(state.expiresAt !== undefined ? { expiresAt: state.expiresAt } : {}),
      ...(state.will ? { will: this.store.willRecord(state.will) } : {}),
      ...(state.owner ? { owner: state.owner } : {}),
    };
    this.store.watch(storage.putSession(record));
  }

  /**
   * The messages kept before start-up (ids up to `lastMessageId`), read from the store: the lazily read
   * queue of a restored session, in queue order with their packet ids and delivery state.
   */
  loadMessages(lastMessageId: number): Promise<RestoredMessage[]> {
    return this.store.messagesOf(this.clientId, lastMessageId);
  }

  /** Forgets the session with everything it kept (it ended). */
  remove(): void {
    const storage = this.store.storage;
    if (storage !== undefined) this.store.watch(storage.removeSession(this.clientId));
  }

  /** Keeps a subscription (`key`: the filter as subscribed, with any `$share/{group}/` prefix). */
  subscribe(key: string, options: SubscriptionOptions): void {
    const storage = this.store.storage;
    if (storage === undefined) return;
    const record: SubscriptionRecord = {
      clientId: this.clientId,
      filter: key,
      qos: options.qos,
      noLocal: options.noLocal,
      retainAsPublished: options.retainAsPublished,
      retainHandling: options.retainHandling,
      ...(options.subscriptionId !== undefined ? { subscriptionId: options.subscriptionId } : {}),
    };
    this.store.watch(storage.putSubscription(record));
  }

  /** Forgets a subscription. */
  unsubscribe(key: string): void {
    const storage = this.store.storage;
    if (storage !== undefined) this.store.watch(storage.removeSubscription(this.clientId, key));
  }

  /**
   * Keeps a QoS 1/2 message of the session's queue, `queued`, or `sent` under `packetId` when it goes
   * out at once. Returns its message id (0 when nothing is kept). Its commit promise becomes
   * {@link SessionStore.lastEnqueue}: the publish that caused it is acknowledged after it.
   */
  enqueue(
    update: Update,
    qos: QoS,
    retain: boolean,
    subscriptionIds: readonly number[] | undefined,
    packetId: number | undefined,
  ): number {
    const storage = this.store.storage;
    if (storage === undefined || qos === 0) return 0;
    const id = this.nextMessageId++;
    const record = this.store.messageRecord(
      this.clientId,
      id,
      update,
      qos,
      retain,
      subscriptionIds,
      packetId,
    );
    const commit = storage.enqueueMessage(record);
    this.store.watch(commit);
    this.store.lastEnqueue = commit;
    return id;
  }

  /** The commit promise of the last {@link enqueue} (of any session of the store). */
  get lastEnqueued(): Promise<void> | undefined {
    return this.store.lastEnqueue;
  }

  /**
   * A queued message goes out under `packetId` (a resend after a restart carries DUP [MQTT-4.4.0-1]).
   * Returns the commit promise (undefined when nothing is kept).
   */
  sent(messageId: number, packetId: number): Promise<void> | undefined {
    const storage = this.store.storage;
    if (storage === undefined) return undefined;
    const commit = storage.updateMessage(this.clientId, messageId, { state: "sent", packetId, dup: true });
    this.store.watch(commit);
    return commit;
  }

  /**
   * PUBREC came for a QoS 2 message: from now on PUBREL is what is resent [MQTT-4.4.0-1]. Returns the
   * commit promise (undefined when nothing is kept).
   */
  released(messageId: number, packetId: number): Promise<void> | undefined {
    const storage = this.store.storage;
    if (storage === undefined) return undefined;
    const commit = storage.updateMessage(this.clientId, messageId, {
      state: "released",
      packetId,
      dup: true,
    });
    this.store.watch(commit);
    return commit;
  }

  /** The message's delivery completed (PUBACK, PUBCOMP) or was abandoned (dropped, expired). */
  done(messageId: number): void {
    const storage = this.store.storage;
    if (storage !== undefined) this.store.watch(storage.ackMessage(this.clientId, messageId));
  }

  /**
   * Keeps an incoming QoS 2 packet id whose PUBREC is about to go out [MQTT-4.3.3-9]; the PUBREC waits
   * for the returned commit, so a restart never delivers the message twice.
   */
  recordQos2(packetId: number): Promise<void> | undefined {
    const commit = this.store.storage?.recordIncomingQos2(this.clientId, packetId);
    if (commit !== undefined) this.store.watch(commit);
    return commit;
  }

  /** Releases an incoming QoS 2 packet id (PUBREL came); the PUBCOMP waits for the returned commit. */
  releaseQos2(packetId: number): Promise<void> | undefined {
    const commit = this.store.storage?.releaseIncomingQos2(this.clientId, packetId);
    if (commit !== undefined) this.store.watch(commit);
    return commit;
  }
}

function subscriptionOf(r: SubscriptionRecord): { key: string; options: SubscriptionOptions } {
  return {
    key: r.filter,
    options: {
      qos: r.qos,
      noLocal: r.noLocal,
      retainAsPublished: r.retainAsPublished,
      retainHandling: r.retainHandling,
      ...(r.subscriptionId !== undefined ? { subscriptionId: r.subscriptionId } : {}),
    },
  };
}
