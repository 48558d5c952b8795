/**
 * An MQTT session: what outlives a connection (subscriptions, messages in flight and queued, the will)
 * [MQTT-4.1.0-1]. It is the subscriber the core delivers to; while offline it queues QoS 1/2 messages
 * up to a bound and counts what it drops. A session that outlives its connection, on a server with a
 * store, tells the core every change of what it must keep across a restart through its
 * {@link DurableSession} (`core/session-store.ts`, docs/durability.md).
 */
import { type TopicSpecification, declaredValueType } from "@skein/protocol";
import type { Core } from "../core/core.js";
import { sessionActor } from "../core/facade.js";
import type { Actor } from "../core/security/types.js";
import type { Timer } from "../core/ports.js";
import type { DurableSession, DurableWill, RestoredMessage, RestoredSession } from "../core/session-store.js";
import type { QoS, ReadCache, Subscriber, Subscription, SubscriptionOptions, Update } from "../core/types.js";
import { Deque } from "./deque.js";
import { InflightWindow, PacketIdSet } from "./inflight.js";
import type { MqttOptions } from "./options.js";

/** One message on its way to the client. */
export interface Outgoing {
  readonly update: Update;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  /**
   * Its id in the kept session's queue on disk; {@link NOT_KEPT} while it is not kept (yet), and
   * {@link TRANSIENT} for a message never to be kept (a request, which dies with its timeout).
   */
  messageId: number;
}

/** Subscriptions to filters under it make the client a request handler (`messaging.ts`). */
const REQUEST_FILTER_PREFIX = "$request/";

/** {@link MqttSession} flags. */
const SLOW = 1;
const CONGESTED = 2;
const ENDED = 4;

/** {@link Outgoing.messageId} of a message not kept (yet). */
export const NOT_KEPT = 0;
/** {@link Outgoing.messageId} of a message never kept across a restart. */
export const TRANSIENT = -1;

/** What a session needs from its live connection. */
export interface SessionLink {
  /** True when a packet may be written now without exceeding the outbound buffer bound. */
  readonly writable: boolean;
  /** True when the outbound buffer is below its high-water mark: paced work (retained replay) may write. */
  readonly replayable: boolean;
  /** The client's Receive Maximum (capped by the server's maxInflight). */
  readonly inflightLimit: number;
  /** Writes a PUBLISH; false when it could not be sent (larger than the client accepts) and was discarded. */
  sendPublish(message: Outgoing, packetId: number, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
}

/**
 * A subscription as the session remembers it: for a filter in the core's index, the index's own
 * record (a second one per subscription would cost 56 bytes, issue 11), which has no `key`.
 */
export interface SessionSubscription {
  /**
   * The filter as subscribed (with any `$share/group/` prefix); when absent, the one
   * {@link subscriptionKey} makes of `filter` and `shareGroup`.
   */
  readonly key?: string | undefined;
  readonly filter: string;
  readonly shareGroup: string | undefined;
  options: SubscriptionOptions;
}

/** The filter as subscribed, with any `$share/{group}/` prefix. */
export function subscriptionKey(sub: SessionSubscription): string {
  return sub.key ?? (sub.shareGroup === undefined ? sub.filter : `$share/${sub.shareGroup}/${sub.filter}`);
}

/** What others read of a session's subscriptions, by filter as subscribed (a `Map`'s reading methods). */
export interface SessionSubscriptions {
  has(key: string): boolean;
  get(key: string): SessionSubscription | undefined;
  readonly size: number;
  /** In the order first made. */
  values(): IterableIterator<SessionSubscription>;
}

/** {@link MqttSession.subscriptions}: made when asked for (a SUBSCRIBE, client control), not kept. */
class SubscriptionsView implements SessionSubscriptions {
  constructor(private readonly session: MqttSession) {}

  has(key: string): boolean {
    return this.session.subscriptionFor(key) !== undefined;
  }

  get(key: string): SessionSubscription | undefined {
    return this.session.subscriptionFor(key);
  }

  get size(): number {
    return this.session.subscriptionCount;
  }

  values(): IterableIterator<SessionSubscription> {
    return this.session.subscriptionList();
  }
}

/** The will of a connection [MQTT-3.1.2-8]. */
export interface Will {
  update: Update;
  delaySec: number;
  /** Message Expiry Interval (s): it runs from the will's publication, not from CONNECT (MQTT 5 §3.1.3.2.4). */
  expirySec?: number;
}

/** What a session asks of its door. */
export interface SessionHooks {
  /** Publish a will (with the door's topic-creation rules), as `actor`: checked again when sent. */
  publish(update: Update, actor: Actor): void;
  /** The session ended; forget it. */
  ended(session: MqttSession): void;
  /**
   * A QoS 1/2 delivery to this online session was queued past the queue's high-water mark: the door
   * slows the publisher (docs/mqtt.md "Flow control").
   */
  congested(session: MqttSession): void;
  /** The session caught up (or went offline, or ended): publishers held for it may go on. */
  relieved(session: MqttSession): void;
  /** Bytes queued across every session of the door (for `mqtt.maxQueuedBytesTotal`). */
  readonly queuedBytesTotal: { value: number };
  /** The core the sessions deliver from (here, not in each session: 8 bytes a session, issue 11). */
  readonly core: Core;
  /** The door's options. */
  readonly options: MqttOptions;
}

/**
 * The part of a restored session's queue still on disk (issue 9: start-up reads a summary, not the
 * messages): what it counts against the queue bounds, and the last message id it holds.
 */
interface UnreadQueue {
  /** Messages not in flight (they count against `mqtt.maxQueuedMessages`). */
  readonly queued: number;
  /** Their bytes, counted in {@link MqttSession.queuedBytes} until they are read. */
  readonly bytes: number;
  /** Messages kept before start-up have ids up to this one; later ones are in memory. */
  readonly lastMessageId: number;
  /** True while the read is under way. */
  loading: boolean;
}

/** Retained values still to be sent for one subscription, pulled as the socket and window allow. */
interface Replay {
  readonly source: Iterator<Update>;
  readonly qos: QoS;
  readonly subscriptionIds: readonly number[] | undefined;
}

/** A PUBLISH or PUBREL waiting for the commit of the state it creates (or for one before it). */
interface WaitingSend {
  /** The connection it is for: dropped if the session has another (or none) by then. */
  readonly link: SessionLink;
  readonly send: (link: SessionLink) => void;
  ready: boolean;
}

/** State of one MQTT session. */
export class MqttSession implements Subscriber {
  /**
   * The session's subscription while it holds exactly one, as most do: in the session itself, without
   * a map (issue 11). Its key is {@link subscriptionKey}.
   */
  private oneSubscription: SessionSubscription | undefined;
  /** All of them, by filter as subscribed, while it holds two or more ({@link oneSubscription} is undefined). */
  private subscriptionMap: Map<string, SessionSubscription> | undefined;
  /**
   * QoS 1/2 messages sent and not yet fully acknowledged, by packet id, with the state of each QoS 2
   * exchange beside it (not in a copy of the message per delivery). Made on the first QoS 1/2 delivery,
   * so idle sessions do not pay for it; a table without per-message allocation (issue 12 item 18).
   */
  private window: InflightWindow<Outgoing> | undefined;
  /** {@link queue}, made on the first message queued (an idle session holds none, issue 11). */
  private queued: Deque<Outgoing> | undefined;
  /** Bytes held by {@link queue} (payload and topic), and by the part of it not read yet. */
  queuedBytes = 0;
  /** What an idle session never uses, made on first use ({@link SessionExtras}). */
  private extras: SessionExtras | undefined;
  link: SessionLink | undefined;
  /** Seconds the session lives on after disconnection (0xFFFFFFFF = forever). */
  expiryIntervalSec = 0;
  will: Will | undefined;
  /** Protocol level of the last connection (kept with the session). */
  protocolVersion: 4 | 5 = 4;
  /** Where the session's changes are kept, while it outlives its connection and a store is attached. */
  durable: DurableSession | undefined;
  /**
   * Who owns the session: the principal that authenticated its last connection (undefined inside:
   * anonymous). Undefined itself while unknown. Another principal may not take the session over.
   */
  owner: { readonly principal: string | undefined } | undefined;
  /** Exchanges completed so far (the door tells a slow consumer from a busy one by this moving). */
  completions = 0;
  /** {@link SLOW}, {@link CONGESTED} and {@link ENDED}: one small integer, not three fields (issue 11). */
  private flags = 0;
  /**
   * Retained values still to be sent, by filter. Here, not in {@link SessionExtras}: every SUBSCRIBE
   * makes one for a moment (whose source may yield nothing), which would make the extras of every session.
   */
  private replays: Map<string, Replay> | undefined;
  /** The session the core checks operations and deliveries against (set at each CONNECT). */
  actor: Actor;
  /** The core's cache of read decisions for deliveries to this session. */
  readCache: ReadCache | undefined = undefined;

  constructor(
    readonly sessionId: string,
    readonly clientId: string,
    /** The door's hooks, with its core and options. */
    private readonly hooks: SessionHooks,
  ) {
    this.actor = sessionActor(sessionId, undefined, clientId);
  }

  private get core(): Core {
    return this.hooks.core;
  }

  private get options(): MqttOptions {
    return this.hooks.options;
  }

  /** Set by the door when this session held publishers back without making progress: it no longer does. */
  get slow(): boolean {
    return (this.flags & SLOW) !== 0;
  }

  set slow(slow: boolean) {
    this.flags = slow ? this.flags | SLOW : this.flags & ~SLOW;
  }

  /** True while the door holds publishers for this session. */
  get congested(): boolean {
    return (this.flags & CONGESTED) !== 0;
  }

  set congested(congested: boolean) {
    this.flags = congested ? this.flags | CONGESTED : this.flags & ~CONGESTED;
  }

  /** True once the session has ended. */
  get ended(): boolean {
    return (this.flags & ENDED) !== 0;
  }

  /** The subscriptions, by filter as subscribed (read only: the session changes them). */
  get subscriptions(): SessionSubscriptions {
    return new SubscriptionsView(this);
  }

  /** The subscription to `key` (the filter as subscribed), if any. */
  subscriptionFor(key: string): SessionSubscription | undefined {
    const many = this.subscriptionMap;
    if (many !== undefined) return many.get(key);
    const one = this.oneSubscription;
    return one !== undefined && subscriptionKey(one) === key ? one : undefined;
  }

  /** How many subscriptions the session holds. */
  get subscriptionCount(): number {
    const many = this.subscriptionMap;
    return many !== undefined ? many.size : this.oneSubscription !== undefined ? 1 : 0;
  }

  /** The subscriptions, in the order first made. */
  subscriptionList(): IterableIterator<SessionSubscription> {
    const many = this.subscriptionMap;
    if (many !== undefined) return many.values();
    const one = this.oneSubscription;
    return (one !== undefined ? [one] : []).values();
  }

  /** Keeps `sub` under `key` (its {@link subscriptionKey}), replacing one with that key. */
  private setSubscription(key: string, sub: SessionSubscription): void {
    const many = this.subscriptionMap;
    if (many !== undefined) {
      many.set(key, sub);
      return;
    }
    const one = this.oneSubscription;
    if (one === undefined || subscriptionKey(one) === key) {
      this.oneSubscription = sub;
      return;
    }
    this.subscriptionMap = new Map([
      [subscriptionKey(one), one],
      [key, sub],
    ]);
    this.oneSubscription = undefined;
  }

  /** Forgets the subscription under `key`; false when there was none. */
  private deleteSubscription(key: string): boolean {
    const many = this.subscriptionMap;
    if (many === undefined) {
      if (this.subscriptionFor(key) === undefined) return false;
      this.oneSubscription = undefined;
      return true;
    }
    if (!many.delete(key)) return false;
    if (many.size === 1) {
      this.oneSubscription = many.values().next().value;
      this.subscriptionMap = undefined;
    }
    return true;
  }

  /** QoS 2 packet ids received and not yet released [MQTT-4.3.3-3]. */
  get incomingQos2(): PacketIdSet {
    // Room for a few ids at first (most clients hold one or two); it grows, rarely, when a client
    // holds more at once, up to the Receive Maximum we announced (v5) or 65535 (3.1.1).
    return (this.x.qos2Ids ??= new PacketIdSet(Math.min(this.options.receiveMaximum, 8)));
  }

  /** Messages waiting for room in the inflight window or on the socket (or for the client to return). */
  get queue(): Deque<Outgoing> {
    return this.queued ?? EMPTY_QUEUE;
  }

  /** The queue, made now if it was not (to push to). */
  private get fillableQueue(): Deque<Outgoing> {
    return (this.queued ??= new Deque<Outgoing>());
  }

  /** The rarely used state, made now if it was not. */
  private get x(): SessionExtras {
    return (this.extras ??= new SessionExtras());
  }

  /**
   * A restored session's queue while it is still on disk: read when the client comes back or when a
   * bound must drop its oldest message. Meanwhile new messages wait behind it in {@link queue}, and
   * nothing is sent (the kept messages go first, under the packet ids they were sent with).
   */
  private get unread(): UnreadQueue | undefined {
    return this.extras?.unread;
  }

  private set unread(unread: UnreadQueue | undefined) {
    if (unread !== undefined || this.extras !== undefined) this.x.unread = unread;
  }

  /** Epoch ms at which a pending delayed will is due (while offline). */
  private get willAt(): number | undefined {
    return this.extras?.willAt;
  }

  private set willAt(at: number | undefined) {
    if (at !== undefined || this.extras !== undefined) this.x.willAt = at;
  }

  /** Epoch ms at which the offline session expires (undefined while online or never). */
  private get expiresAt(): number | undefined {
    return this.extras?.expiresAt;
  }

  private set expiresAt(at: number | undefined) {
    if (at !== undefined || this.extras !== undefined) this.x.expiresAt = at;
  }

  /**
   * Sends waiting for a commit, in order: a kept session's QoS 2 PUBLISH goes out once its packet id
   * is committed, and its PUBREL once the PUBREC is (see {@link sendAfter}). Made on first use.
   */
  private get waitingSends(): WaitingSend[] | undefined {
    return this.extras?.waitingSends;
  }

  private set waitingSends(sends: WaitingSend[] | undefined) {
    if (sends !== undefined || this.extras !== undefined) this.x.waitingSends = sends;
  }

  /** Messages in flight (sent, not yet fully acknowledged). */
  get inflightCount(): number {
    return this.window === undefined ? 0 : this.window.size;
  }

  /** Messages queued (not in flight), those still on disk included. */
  get queuedCount(): number {
    return this.unread === undefined ? this.queue.length : this.queue.length + this.unread.queued;
  }

  get online(): boolean {
    return this.link !== undefined;
  }

  /** Called by the core for every update that matches one or more of this session's subscriptions. */
  deliver(update: Update, matches: readonly Subscription[]): void {
    let qos = -1;
    let retainAsPublished = false;
    let ids: number[] | undefined;
    for (const m of matches) {
      // No Local: never send a client its own publishes on this subscription [MQTT-3.8.3-3].
      if (m.options.noLocal && update.origin === this.sessionId) continue;
      if (m.options.qos > qos) qos = m.options.qos;
      if (m.options.retainAsPublished) retainAsPublished = true;
      if (m.options.subscriptionId !== undefined) (ids ??= []).push(m.options.subscriptionId);
    }
    if (qos < 0) return;
    // Delivered at the lower of the publish QoS and the granted QoS [MQTT-3.8.4-8].
    const delivered = Math.min(qos, update.qos) as QoS;
    // Retain flag: kept only with Retain As Published, else cleared on forwarded messages [MQTT-3.3.1-12].
    this.send({
      update,
      qos: delivered,
      retain: retainAsPublished && update.retain,
      subscriptionIds: ids,
      messageId: NOT_KEPT,
    });
  }

  /** Sends (or queues, or drops) one outgoing message. */
  send(message: Outgoing): void {
    const link = this.link;
    if (message.qos === 0) {
      if (link && link.writable) link.sendPublish(message, 0, false);
      // QoS 0 is at most once: past the outbound bound it is dropped, and slows nobody (DESIGN §6).
      else
        this.core.metrics.inc("mqtt_messages_dropped_total", {
          reason: link ? "slow_consumer" : "offline_qos0",
        });
      return;
    }
    if (
      link &&
      this.queue.length === 0 &&
      this.unread === undefined &&
      this.inflightCount < link.inflightLimit &&
      link.writable
    ) {
      this.transmit(link, message);
      return;
    }
    this.enqueue(message);
    if (link && this.overHighWater()) this.pressure();
  }

  /**
   * Sends the retained values `source` yields for a subscription, paced by the socket and the inflight
   * window (issue 12): they are pulled as room appears, never queued or dropped for lack of room. A new
   * replay for the same filter replaces the one in progress (a repeated SUBSCRIBE asks for them again).
   */
  replay(
    filter: string,
    source: Iterable<Update>,
    qos: QoS,
    subscriptionIds: readonly number[] | undefined,
  ): void {
    (this.replays ??= new Map()).set(filter, { source: source[Symbol.iterator](), qos, subscriptionIds });
  }

  /** Moves queued messages into flight, then retained values, while the window and the socket allow. */
  drain(): void {
    const link = this.link;
    // A queue still being read holds everything back: its messages go first.
    if (!link || this.unread !== undefined) return;
    if (this.queue.length > 0) {
      const now = this.core.clock.now();
      while (this.queue.length > 0 && this.inflightCount < link.inflightLimit && link.writable) {
        const message = this.dequeue();
        // A message whose expiry passed while queued is not sent [MQTT-3.3.2-5].
        if (message.update.expiresAt !== undefined && message.update.expiresAt <= now) {
          this.core.metrics.inc("mqtt_messages_dropped_total", { reason: "expired" });
          this.forget(message);
          continue;
        }
        this.transmit(link, message);
      }
    }
    if (this.replays !== undefined && this.queue.length === 0) this.pumpReplays(link);
    if (this.queue.length === 0) this.slow = false;
    if (this.congested && link.writable && this.belowLowWater()) {
      this.congested = false;
      this.hooks.relieved(this);
    }
  }

  /** Re-sends everything in flight after a reconnect, DUP set on PUBLISH [MQTT-4.4.0-1]. */
  resend(): void {
    const link = this.link;
    // A queue still being read resends once it is read (what was in flight is in it).
    if (!link || this.unread !== undefined) return;
    const window = this.window;
    if (window !== undefined && window.size > 0) {
      // In the order first sent [MQTT-4.6.0-1]; a released QoS 2 message goes on with PUBREL.
      // Behind any send still waiting for its commit (whose old connection it no longer goes to).
      for (const packetId of window.idsInSendOrder()) {
        if (window.released(packetId)) this.sendAfter(link, undefined, (l) => l.sendPubrel(packetId));
        else
          this.sendAfter(link, undefined, (l) =>
            l.sendPublish(window.get(packetId) as Outgoing, packetId, true),
          );
      }
    }
    this.drain();
  }

  /** PUBACK, or PUBREC with an error, or PUBCOMP: the exchange is over. */
  complete(packetId: number): boolean {
    const window = this.window;
    if (this.durable !== undefined && window !== undefined) {
      const message = window.get(packetId);
      if (message !== undefined) this.forget(message);
    }
    const had = window !== undefined && window.delete(packetId);
    if (had) {
      this.completions++;
      this.drain();
    }
    return had;
  }

  /**
   * PUBREC received: releases the message and sends PUBREL [MQTT-4.3.3-4]; false when no QoS 2
   * delivery waits for a PUBREC under `packetId`. A kept session sends PUBREL once the release is
   * committed: the PUBLISH must not be sent again after the PUBREL [MQTT-4.3.3-6], which a restart
   * would do had it not been.
   */
  received(packetId: number): boolean {
    const window = this.window;
    if (window === undefined || !window.release(packetId)) return false;
    const durable = this.durable;
    let commit: Promise<void> | undefined;
    if (durable !== undefined) {
      const id = (window.get(packetId) as Outgoing).messageId;
      if (id > 0) commit = durable.released(id, packetId);
    }
    const link = this.link;
    if (link === undefined) return true;
    if (commit === undefined && !this.sendsWaiting) link.sendPubrel(packetId);
    else this.sendAfter(link, commit, (l) => l.sendPubrel(packetId));
    return true;
  }

  /** True while a send waits in {@link waitingSends} (later ones queue behind it). */
  private get sendsWaiting(): boolean {
    return this.waitingSends !== undefined && this.waitingSends.length > 0;
  }

  /**
   * Writes with `send` on `link` once `commit` (if any) has settled and every send queued before has
   * gone, so that what a kept session sends never runs ahead of what it kept: a QoS 2 PUBLISH goes out
   * once its packet id is committed (a restart sends it again under that id, never another message
   * under it [MQTT-4.3.3-3]), a PUBREL once the PUBREC is. With nothing waiting and nothing to wait
   * for, it writes at once. A send whose connection is gone by then is dropped (the next connection
   * gets what is in flight again, {@link resend}). A failed commit is logged and counted by the store;
   * the send still goes.
   */
  private sendAfter(
    link: SessionLink,
    commit: Promise<void> | undefined,
    send: (link: SessionLink) => void,
  ): void {
    if (commit === undefined && !this.sendsWaiting) return send(link);
    const entry: WaitingSend = { link, send, ready: commit === undefined };
    (this.waitingSends ??= []).push(entry);
    if (commit === undefined) return;
    const settled = (): void => {
      entry.ready = true;
      this.flushWaitingSends();
    };
    commit.then(settled, settled);
  }

  /** Writes the sends at the front of {@link waitingSends} whose commits have settled, in order. */
  private flushWaitingSends(): void {
    const waiting = this.waitingSends;
    if (waiting === undefined) return;
    let i = 0;
    for (; i < waiting.length && waiting[i]!.ready; i++) {
      const entry = waiting[i]!;
      if (entry.link === this.link) entry.send(entry.link);
    }
    waiting.splice(0, i);
  }

  /** A connection has taken this session. */
  attach(link: SessionLink): void {
    this.link = link;
    this.cancelTimers();
    // A reconnection within the will delay cancels the old will [MQTT-3.1.3-9].
    this.will = undefined;
    this.willAt = undefined;
    this.expiresAt = undefined;
    // The queue kept before start-up is read now: the reconnection resends it (then the rest).
    this.readQueue();
  }

  /**
   * The connection's CONNECT is settled (expiry, will): a session that outlives its connection, on a
   * server with a store, is kept from now on (all of it, when it was not kept before); one that does
   * not is forgotten from the disk.
   */
  keep(protocolVersion: 4 | 5): void {
    this.protocolVersion = protocolVersion;
    const store = this.core.sessionStore;
    if (this.expiryIntervalSec === 0 || !store.keeps) {
      this.durable?.remove();
      this.durable = undefined;
      return;
    }
    if (this.durable === undefined) {
      this.durable = store.open(this.clientId);
      this.keepEverything(this.durable);
    } else this.save();
  }

  /**
   * Keeps a subscription (`sub.key` is the filter as subscribed). When the core's index holds it (made
   * just before), the session keeps the index's record instead of `sub` (issue 11).
   */
  addSubscription(sub: SessionSubscription): void {
    const key = subscriptionKey(sub);
    const indexed = this.core.facade.subscriptionOf(sub.filter, sub.shareGroup, this);
    const kept = indexed !== undefined && indexed.options === sub.options && subscriptionKey(indexed) === key;
    this.setSubscription(key, kept ? indexed : sub);
    this.durable?.subscribe(key, sub.options);
  }

  /** Forgets a subscription; false when there was none. */
  removeSubscription(key: string): boolean {
    if (!this.deleteSubscription(key)) return false;
    this.durable?.unsubscribe(key);
    return true;
  }

  /**
   * An incoming QoS 2 id whose PUBREC goes out [MQTT-4.3.3-9]: held until PUBREL. For a kept session,
   * the commit promise the PUBREC waits for.
   */
  recordQos2(packetId: number): Promise<void> | undefined {
    this.incomingQos2.add(packetId);
    return this.durable?.recordQos2(packetId);
  }

  /**
   * PUBREL: releases an incoming QoS 2 id [MQTT-4.3.3-11]. False when it was not held, true when it
   * was and nothing is kept; for a kept session, the commit promise the PUBCOMP waits for.
   */
  releaseQos2(packetId: number): Promise<void> | boolean {
    if (!this.incomingQos2.delete(packetId)) return false;
    return this.durable?.releaseQos2(packetId) ?? true;
  }

  /**
   * Rebuilds the session from what the store kept (start-up, before any listener opens): its
   * subscriptions in the index, its queue, what was in flight under its packet ids, its QoS 2 ids.
   * {@link MqttSession.wake} then starts its offline life, once every kept session is back.
   */
  restore(kept: RestoredSession, subscriptionOf: (key: string) => SessionSubscription | undefined): void {
    const { record } = kept;
    this.durable = kept.durable;
    this.protocolVersion = record.protocolVersion;
    this.expiryIntervalSec = record.expiryIntervalSec;
    const owner = kept.owner;
    if (owner !== undefined) {
      // It still belongs to its principal: deliveries while it is away are checked against it (with
      // its roles as they are now), and no other principal may take it over (connect.ts).
      this.owner = { principal: owner.principal };
      this.actor = {
        sessionId: this.sessionId,
        principal: owner.principal,
        roles: owner.roles,
        clientId: this.clientId,
      };
    }
    for (const { key, options } of kept.subscriptions) {
      const sub = subscriptionOf(key);
      if (sub === undefined) continue;
      sub.options = options;
      this.setSubscription(key, sub);
      // $request/ handlers are registered again when the client comes back (restoreHandlers).
      if (!sub.filter.startsWith(REQUEST_FILTER_PREFIX))
        this.core.facade.restoreSubscription(sub.filter, sub.shareGroup, this, options);
    }
    const queue = kept.queue;
    if (queue !== undefined) {
      // Read when needed; counted against the bounds from now on.
      this.unread = {
        queued: queue.queued,
        bytes: queue.queuedBytes,
        lastMessageId: queue.lastMessageId,
        loading: false,
      };
      this.queuedBytes += queue.queuedBytes;
      this.hooks.queuedBytesTotal.value += queue.queuedBytes;
    }
    for (const id of kept.incomingQos2) this.incomingQos2.add(id);
    const will = kept.will;
    if (will !== undefined)
      this.will = { update: will.update, delaySec: will.delaySec, expirySec: will.expirySec };
  }

  /**
   * Starts the offline life of a restored session: its expiry and delayed will run from their kept
   * deadlines, a deadline that passed while the server was down is honoured now, and a session whose
   * connection was lost with the server (no deadline kept) is disconnected now [MQTT-3.1.2-8].
   */
  wake(kept: RestoredSession): void {
    const { record } = kept;
    const now = this.core.clock.now();
    const will = kept.will;
    if (record.expiresAt === undefined && will?.publishAt === undefined) {
      // Connected when the server stopped without a goodbye: the connection ended then [MQTT-3.1.2-8].
      this.detach(true);
      return;
    }
    if (record.expiresAt !== undefined && record.expiresAt <= now) {
      // Expired while the server was down: it ends now, its will goes out [MQTT-3.1.3-9].
      this.end();
      return;
    }
    this.startTimers(now, record.expiresAt, will?.publishAt);
  }

  /** The server is shutting down: timers stop, the kept state stays on disk for the next start. */
  suspend(): void {
    this.cancelTimers();
    this.replays = undefined;
    this.relieve();
  }

  /**
   * The connection is gone. Publishes the will now or after its delay [MQTT-3.1.3-9] when asked, and
   * starts the expiry countdown (or ends the session at once when its expiry is 0).
   */
  detach(publishWill: boolean): void {
    this.link = undefined;
    // Retained replay belongs to the connection's SUBSCRIBE; an offline session holds nobody back.
    this.replays = undefined;
    this.relieve();
    if (!publishWill) this.will = undefined;
    const expiry = this.expiryIntervalSec;
    const now = this.core.clock.now();
    let willAt: number | undefined;
    if (this.will) {
      const delay = Math.min(this.will.delaySec, expiry);
      if (delay <= 0) this.publishWill();
      else willAt = now + delay * 1000;
    }
    if (expiry === 0) {
      this.end();
      return;
    }
    const expiresAt = expiry === 0xffffffff ? undefined : now + expiry * 1000;
    this.startTimers(now, expiresAt, willAt);
    this.save(expiresAt);
  }

  /** Arms the offline timers: the delayed will at `willAt`, the end at `expiresAt` (epoch ms). */
  private startTimers(now: number, expiresAt: number | undefined, willAt: number | undefined): void {
    const clock = this.core.clock;
    this.expiresAt = expiresAt;
    if (this.will !== undefined && willAt !== undefined) {
      this.willAt = willAt;
      this.x.willTimer = clock.setTimeout(() => this.publishWill(), Math.max(0, willAt - now));
    }
    if (expiresAt !== undefined) {
      const timer = (this.x.expiryTimer = clock.setTimeout(() => this.end(), Math.max(0, expiresAt - now)));
      timer.unref?.();
    }
  }

  /** Ends the session: its delayed will goes out [MQTT-3.1.3-9], its subscriptions are removed. */
  end(): void {
    if (this.ended) return;
    this.flags |= ENDED;
    this.unread = undefined;
    this.cancelTimers();
    this.publishWill();
    this.durable?.remove();
    this.durable = undefined;
    for (const sub of this.subscriptionList())
      this.core.facade.unsubscribe(this.actor, sub.filter, sub.shareGroup, this);
    this.oneSubscription = this.subscriptionMap = undefined;
    this.window = undefined;
    this.hooks.queuedBytesTotal.value -= this.queuedBytes;
    this.queuedBytes = 0;
    this.queue.clear();
    this.replays = undefined;
    this.relieve();
    this.hooks.ended(this);
  }

  /** Publishes the will, if still pending. */
  publishWill(): void {
    const will = this.will;
    const delayed = this.willAt !== undefined;
    this.will = undefined;
    this.willAt = undefined;
    const extras = this.extras;
    if (extras !== undefined && extras.willTimer) {
      this.core.clock.clearTimeout(extras.willTimer);
      extras.willTimer = undefined;
    }
    if (!will) return;
    // A kept offline session no longer has a pending will (an ending session is forgotten anyway).
    if (delayed && !this.ended) this.save(this.expiresAt);
    const expiresAt =
      will.expirySec === undefined ? undefined : this.core.clock.now() + will.expirySec * 1000;
    const update = expiresAt === undefined ? will.update : { ...will.update, expiresAt };
    // Called from socket close and timer paths: a throw is contained there, not thrown into them.
    this.core.containment.run("will", () => this.hooks.publish(update, this.actor));
    this.core.metrics.inc("mqtt_wills_published_total");
  }

  /** Puts a message in flight under an unused packet identifier [MQTT-2.2.1-3] and sends it. */
  private transmit(link: SessionLink, message: Outgoing): void {
    let window = this.window;
    if (window === undefined) window = this.window = new InflightWindow(link.inflightLimit);
    else window.ensureCapacity(link.inflightLimit);
    const packetId = window.add(message);
    const durable = this.durable;
    let commit: Promise<void> | undefined;
    if (durable !== undefined && message.messageId >= 0) {
      let kept: Promise<void> | undefined;
      if (message.messageId === NOT_KEPT) {
        message.messageId = durable.enqueue(
          message.update,
          message.qos,
          message.retain,
          message.subscriptionIds,
          packetId,
        );
        if (message.messageId !== NOT_KEPT) kept = durable.lastEnqueued;
      } else kept = durable.sent(message.messageId, packetId);
      // QoS 2 waits for its packet id on disk (sendAfter); QoS 1 may be sent twice anyway.
      if (message.qos === 2) commit = kept;
    }
    // (No closure on the common path: nothing to wait for.)
    if (commit === undefined && !this.sendsWaiting) this.publish(link, message, packetId);
    else this.sendAfter(link, commit, (l) => this.publish(l, message, packetId));
  }

  /** Writes a message put in flight under `packetId`. */
  private publish(link: SessionLink, message: Outgoing, packetId: number): void {
    // A message too large for the client is discarded as if its exchange had completed [MQTT-3.1.2-25].
    if (link.sendPublish(message, packetId, false)) return;
    this.window?.delete(packetId);
    this.forget(message);
  }

  /** A kept message's delivery is over (completed, dropped or expired): it leaves the disk. */
  private forget(message: Outgoing): void {
    if (message.messageId > 0) this.durable?.done(message.messageId);
  }

  /** Keeps the session's record: its expiry deadline (offline) and its will. */
  private save(expiresAt?: number): void {
    const durable = this.durable;
    if (durable === undefined) return;
    const will = this.will;
    const willAt = this.willAt;
    const owner = this.owner;
    durable.save({
      protocolVersion: this.protocolVersion,
      expiryIntervalSec: this.expiryIntervalSec,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(will ? { will: durableWill(will, willAt) } : {}),
      ...(owner !== undefined && {
        owner:
          owner.principal === undefined
            ? { roles: [...this.actor.roles] }
            : { principal: owner.principal, roles: [...this.actor.roles] },
      }),
    });
  }

  /** Keeps all of a session that was not kept before (a takeover turned it into a persistent one). */
  private keepEverything(durable: DurableSession): void {
    this.save();
    for (const sub of this.subscriptionList()) durable.subscribe(subscriptionKey(sub), sub.options);
    for (const message of this.queue)
      if (message.messageId === NOT_KEPT)
        message.messageId = durable.enqueue(
          message.update,
          message.qos,
          message.retain,
          message.subscriptionIds,
          undefined,
        );
    const window = this.window;
    if (window !== undefined)
      for (const packetId of window.idsInSendOrder()) {
        const message = window.get(packetId) as Outgoing;
        if (message.messageId !== NOT_KEPT) continue;
        message.messageId = durable.enqueue(
          message.update,
          message.qos,
          message.retain,
          message.subscriptionIds,
          packetId,
        );
        if (window.released(packetId)) void durable.released(message.messageId, packetId);
      }
    const qos2Ids = this.extras?.qos2Ids;
    if (qos2Ids !== undefined) for (const id of qos2Ids.ids()) void durable.recordQos2(id);
  }

  /** Pulls retained values while the socket is below its high-water mark and the window has room. */
  private pumpReplays(link: SessionLink): void {
    const replays = this.replays as Map<string, Replay>;
    for (const [filter, replay] of replays) {
      for (;;) {
        if (!link.replayable) return;
        if (replay.qos > 0 && this.inflightCount >= link.inflightLimit) return;
        const next = replay.source.next();
        if (next.done === true) break;
        const update = next.value;
        // Retained values after the SUBACK, retain flag set [MQTT-3.3.1-9], at most the granted QoS.
        const message: Outgoing = {
          update,
          qos: Math.min(update.qos, replay.qos) as QoS,
          retain: true,
          subscriptionIds: replay.subscriptionIds,
          messageId: NOT_KEPT,
        };
        if (message.qos === 0) link.sendPublish(message, 0, false);
        else this.transmit(link, message);
      }
      replays.delete(filter);
    }
    if (replays.size === 0) this.replays = undefined;
  }

  /**
   * Queues a message within the bounds: `mqtt.maxQueuedMessages` and `mqtt.maxQueuedBytes` for this
   * session, `mqtt.maxQueuedBytesTotal` across sessions. Past a bound the drop policy picks the
   * message to drop (the oldest queued, or this one), counted by reason.
   */
  private enqueue(message: Outgoing): void {
    const o = this.options;
    const size = sizeOf(message);
    const total = this.hooks.queuedBytesTotal;
    for (;;) {
      const reason = this.overBound(size);
      if (reason === undefined) break;
      if (o.queueDropPolicy === "drop-oldest" && this.unread !== undefined) {
        // The oldest message is still on disk: it is dropped once read (trimToBounds); this one waits.
        this.readQueue();
        break;
      }
      this.core.metrics.inc("mqtt_messages_dropped_total", { reason });
      if (o.queueDropPolicy === "drop-newest" || this.queue.length === 0) return;
      this.forget(this.dequeue());
    }
    const durable = this.durable;
    if (durable !== undefined && message.messageId === NOT_KEPT)
      message.messageId = durable.enqueue(
        message.update,
        message.qos,
        message.retain,
        message.subscriptionIds,
        undefined,
      );
    this.fillableQueue.push(message);
    this.queuedBytes += size;
    total.value += size;
  }

  /** The bound that a message of `size` bytes would exceed when queued, if any. */
  private overBound(size: number): "queue_full" | "queue_bytes" | "queue_bytes_total" | undefined {
    const o = this.options;
    return this.queuedCount >= o.maxQueuedMessages
      ? "queue_full"
      : this.queuedBytes + size > o.maxQueuedBytes
        ? "queue_bytes"
        : this.hooks.queuedBytesTotal.value + size > o.maxQueuedBytesTotal
          ? "queue_bytes_total"
          : undefined;
  }

  /**
   * Reads the queue kept before start-up (once; again after a failed read). Until it is read nothing
   * is sent and new messages wait behind it.
   */
  private readQueue(): void {
    const unread = this.unread;
    const durable = this.durable;
    if (unread === undefined || unread.loading) return;
    if (durable === undefined) {
      // Nothing kept any more (the store closed, or the session stopped being kept): nothing to read.
      this.read(unread, []);
      return;
    }
    unread.loading = true;
    durable.loadMessages(unread.lastMessageId).then(
      (messages) => this.read(unread, messages),
      (err: unknown) => {
        unread.loading = false;
        this.core.metrics.inc("mqtt_queue_reads_failed_total");
        this.core.log.error(
          { clientId: this.clientId, err: err instanceof Error ? err.message : String(err) },
          "reading a kept session's queue failed; retried when its client comes back",
        );
      },
    );
  }

  /**
   * The kept queue is read: its messages go before those queued since start-up, what was in flight goes
   * back under its packet ids, the byte counts take the real sizes, and the bounds apply.
   */
  private read(unread: UnreadQueue, messages: readonly RestoredMessage[]): void {
    if (this.unread !== unread || this.ended) return;
    this.unread = undefined;
    const total = this.hooks.queuedBytesTotal;
    this.queuedBytes -= unread.bytes;
    total.value -= unread.bytes;
    const later = this.queue.length > 0 ? [...this.queue] : [];
    this.queue.clear();
    for (const m of messages) {
      const message: Outgoing = {
        update: m.update,
        qos: m.qos,
        retain: m.retain,
        subscriptionIds: m.subscriptionIds,
        messageId: m.messageId,
      };
      if (m.state === "queued" || m.packetId === undefined) {
        this.fillableQueue.push(message);
        const size = sizeOf(message);
        this.queuedBytes += size;
        total.value += size;
        continue;
      }
      this.window ??= new InflightWindow(this.options.maxInflight);
      this.window.restore(m.packetId, message, m.state === "released");
    }
    for (const message of later) this.fillableQueue.push(message);
    if (this.options.queueDropPolicy === "drop-oldest") this.trimToBounds();
    this.resend();
  }

  /** Drops the oldest queued messages while the queue exceeds a bound (drop-oldest), counted. */
  private trimToBounds(): void {
    const o = this.options;
    const total = this.hooks.queuedBytesTotal;
    while (this.queue.length > 0) {
      const reason =
        this.queue.length > o.maxQueuedMessages
          ? "queue_full"
          : this.queuedBytes > o.maxQueuedBytes
            ? "queue_bytes"
            : total.value > o.maxQueuedBytesTotal
              ? "queue_bytes_total"
              : undefined;
      if (reason === undefined) return;
      this.core.metrics.inc("mqtt_messages_dropped_total", { reason });
      this.forget(this.dequeue());
    }
  }

  private dequeue(): Outgoing {
    const message = this.queue.shift() as Outgoing;
    const size = sizeOf(message);
    this.queuedBytes -= size;
    this.hooks.queuedBytesTotal.value -= size;
    return message;
  }

  /** Half of a queue bound: past it, publishers are slowed. */
  private overHighWater(): boolean {
    const o = this.options;
    return this.queuedCount * 2 >= o.maxQueuedMessages || this.queuedBytes * 2 >= o.maxQueuedBytes;
  }

  /** A quarter of a queue bound: below it, held publishers go on. */
  private belowLowWater(): boolean {
    const o = this.options;
    return this.queuedCount * 4 < o.maxQueuedMessages && this.queuedBytes * 4 < o.maxQueuedBytes;
  }

  private pressure(): void {
    if (this.slow) return;
    this.congested = true;
    this.hooks.congested(this);
  }

  private relieve(): void {
    if (!this.congested) return;
    this.congested = false;
    this.hooks.relieved(this);
  }

  private cancelTimers(): void {
    const extras = this.extras;
    if (extras === undefined) return;
    if (extras.expiryTimer) this.core.clock.clearTimeout(extras.expiryTimer);
    if (extras.willTimer) this.core.clock.clearTimeout(extras.willTimer);
    extras.expiryTimer = undefined;
    extras.willTimer = undefined;
  }
}

/**
 * What an idle session never uses, apart from {@link MqttSession} and made on its first use: each field
 * of the session itself is 8 bytes on every session (issue 11, docs/performance.md "Scale: connections").
 */
class SessionExtras {
  unread: UnreadQueue | undefined = undefined;
  /** QoS 2 packet ids received and not yet released. */
  qos2Ids: PacketIdSet | undefined = undefined;
  willAt: number | undefined = undefined;
  expiresAt: number | undefined = undefined;
  waitingSends: WaitingSend[] | undefined = undefined;
  willTimer: Timer | undefined = undefined;
  expiryTimer: Timer | undefined = undefined;
}

/** The queue of every session that never queued anything (never pushed to: {@link MqttSession.fillableQueue}). */
const EMPTY_QUEUE = new Deque<Outgoing>();

/** A will as the core keeps it. */
function durableWill(will: Will, publishAt: number | undefined): DurableWill {
  return {
    update: will.update,
    delaySec: will.delaySec,
    ...(will.expirySec !== undefined ? { expirySec: will.expirySec } : {}),
    ...(publishAt !== undefined ? { publishAt } : {}),
  };
}

/** What a queued message counts against the byte bounds: its payload and topic. */
function sizeOf(message: Outgoing): number {
  return message.update.payload.byteLength + message.update.topic.length;
}

/** The type of a topic a publish creates: `application/json` -> json; UTF-8 indicator -> string; else binary. */
export function inferSpec(update: Update, options: MqttOptions): TopicSpecification {
  const props = update.properties;
  return {
    type: declaredValueType(props?.contentType, props?.payloadFormatIndicator) ?? "binary",
    properties: {
      retention: "mqtt",
      removal: { idleMs: options.createdTopicIdleMs, onlyWithoutValue: true },
    },
  };
}
