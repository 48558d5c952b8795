/**
 * An MQTT session: what outlives a connection (subscriptions, messages in flight and queued, the will)
 * [MQTT-4.1.0-1]. It is the subscriber the core delivers to; while offline it queues QoS 1/2 messages
 * up to a bound and counts what it drops.
 */
import { type TopicSpecification, declaredValueType } from "@skein/protocol";
import type { Core } from "../core/core.js";
import type { Timer } from "../core/ports.js";
import type { QoS, Subscriber, Subscription, SubscriptionOptions, Update } from "../core/types.js";
import type { MqttOptions } from "./options.js";

/** One message on its way to the client. */
export interface Outgoing {
  readonly update: Update;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
}

/** A QoS 1/2 message sent and not yet fully acknowledged. */
export interface Inflight extends Outgoing {
  /** `publish`: waiting for PUBACK/PUBREC; `pubrel`: PUBREL sent, waiting for PUBCOMP. */
  state: "publish" | "pubrel";
}

/** What a session needs from its live connection. */
export interface SessionLink {
  /** True when a packet may be written now without exceeding the outbound buffer bound. */
  readonly writable: boolean;
  /** The client's Receive Maximum (capped by the server's maxInflight). */
  readonly inflightLimit: number;
  /** Writes a PUBLISH; false when it could not be sent (larger than the client accepts) and was discarded. */
  sendPublish(message: Outgoing, packetId: number, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
}

/** A subscription as the session remembers it. */
export interface SessionSubscription {
  /** The filter as subscribed (with any `$share/group/` prefix). */
  readonly key: string;
  readonly filter: string;
  readonly shareGroup: string | undefined;
  options: SubscriptionOptions;
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
  /** Publish a will (with the door's topic-creation rules). */
  publish(update: Update): void;
  /** The session ended; forget it. */
  ended(session: MqttSession): void;
}

/** State of one MQTT session. */
export class MqttSession implements Subscriber {
  readonly subscriptions = new Map<string, SessionSubscription>();
  readonly inflight = new Map<number, Inflight>();
  readonly queue: Outgoing[] = [];
  /** QoS 2 packet ids received and not yet released [MQTT-4.3.3-3]. */
  readonly incomingQos2 = new Set<number>();
  link: SessionLink | undefined;
  /** Seconds the session lives on after disconnection (0xFFFFFFFF = forever). */
  expiryIntervalSec = 0;
  will: Will | undefined;
  private willTimer: Timer | undefined;
  private expiryTimer: Timer | undefined;
  private nextPacketId = 1;
  ended = false;

  constructor(
    readonly sessionId: string,
    readonly clientId: string,
    private readonly core: Core,
    private readonly options: MqttOptions,
    private readonly hooks: SessionHooks,
  ) {}

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
    this.send({ update, qos: delivered, retain: retainAsPublished && update.retain, subscriptionIds: ids });
  }

  /** Sends (or queues, or drops) one outgoing message. */
  send(message: Outgoing): void {
    const link = this.link;
    if (message.qos === 0) {
      if (link && link.writable) link.sendPublish(message, 0, false);
      else
        this.core.metrics.inc("mqtt_messages_dropped_total", {
          reason: link ? "slow_consumer" : "offline_qos0",
        });
      return;
    }
    if (link && this.queue.length === 0 && this.inflight.size < link.inflightLimit && link.writable) {
      this.transmit(link, message);
      return;
    }
    this.enqueue(message);
  }

  /** Moves queued messages into flight while the window and the socket allow. */
  drain(): void {
    const link = this.link;
    if (!link) return;
    const now = this.core.clock.now();
    while (this.queue.length > 0 && this.inflight.size < link.inflightLimit && link.writable) {
      const message = this.queue.shift() as Outgoing;
      // A message whose expiry passed while queued is not sent [MQTT-3.3.2-5].
      if (message.update.expiresAt !== undefined && message.update.expiresAt <= now) {
        this.core.metrics.inc("mqtt_messages_dropped_total", { reason: "expired" });
        continue;
      }
      this.transmit(link, message);
    }
  }

  /** Re-sends everything in flight after a reconnect, DUP set on PUBLISH [MQTT-4.4.0-1]. */
  resend(): void {
    const link = this.link;
    if (!link) return;
    for (const [packetId, entry] of this.inflight) {
      if (entry.state === "publish") link.sendPublish(entry, packetId, true);
      else link.sendPubrel(packetId);
    }
    this.drain();
  }

  /** PUBACK, or PUBREC with an error, or PUBCOMP: the exchange is over. */
  complete(packetId: number): boolean {
    const had = this.inflight.delete(packetId);
    if (had) this.drain();
    return had;
  }

  /** PUBREC received: release the message [MQTT-4.3.3-?]. */
  received(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (!entry) return false;
    entry.state = "pubrel";
    return true;
  }

  /** A connection has taken this session. */
  attach(link: SessionLink): void {
    this.link = link;
    this.cancelTimers();
    // A reconnection within the will delay cancels the old will [MQTT-3.1.3-9].
    this.will = undefined;
  }

  /**
   * The connection is gone. Publishes the will now or after its delay [MQTT-3.1.3-9] when asked, and
   * starts the expiry countdown (or ends the session at once when its expiry is 0).
   */
  detach(publishWill: boolean): void {
    this.link = undefined;
    if (!publishWill) this.will = undefined;
    const expiry = this.expiryIntervalSec;
    if (this.will) {
      const delay = Math.min(this.will.delaySec, expiry);
      if (delay <= 0) this.publishWill();
      else this.willTimer = this.core.clock.setTimeout(() => this.publishWill(), delay * 1000);
    }
    if (expiry === 0) {
      this.end();
    } else if (expiry !== 0xffffffff) {
      this.expiryTimer = this.core.clock.setTimeout(() => this.end(), expiry * 1000);
      this.expiryTimer.unref?.();
    }
  }

  /** Ends the session: its delayed will goes out [MQTT-3.1.3-9], its subscriptions are removed. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.cancelTimers();
    this.publishWill();
    for (const sub of this.subscriptions.values())
      this.core.subscriptions.remove(sub.filter, sub.shareGroup, this);
    this.subscriptions.clear();
    this.inflight.clear();
    this.queue.length = 0;
    this.hooks.ended(this);
  }

  /** Publishes the will, if still pending. */
  publishWill(): void {
    const will = this.will;
    this.will = undefined;
    if (this.willTimer) this.core.clock.clearTimeout(this.willTimer);
    this.willTimer = undefined;
    if (!will) return;
    const expiresAt =
      will.expirySec === undefined ? undefined : this.core.clock.now() + will.expirySec * 1000;
    this.hooks.publish(expiresAt === undefined ? will.update : { ...will.update, expiresAt });
    this.core.metrics.inc("mqtt_wills_published_total");
  }

  /** Allocates an unused packet identifier [MQTT-2.2.1-3]. */
  private allocatePacketId(): number {
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  private transmit(link: SessionLink, message: Outgoing): void {
    const packetId = this.allocatePacketId();
    this.inflight.set(packetId, { ...message, state: "publish" });
    // A message too large for the client is discarded as if its exchange had completed [MQTT-3.1.2-25].
    if (!link.sendPublish(message, packetId, false)) this.inflight.delete(packetId);
  }

  private enqueue(message: Outgoing): void {
    if (this.queue.length >= this.options.maxQueuedMessages) {
      this.core.metrics.inc("mqtt_messages_dropped_total", { reason: "queue_full" });
      if (this.options.queueDropPolicy === "drop-newest") return;
      this.queue.shift();
    }
    this.queue.push(message);
  }

  private cancelTimers(): void {
    if (this.expiryTimer) this.core.clock.clearTimeout(this.expiryTimer);
    if (this.willTimer) this.core.clock.clearTimeout(this.willTimer);
    this.expiryTimer = undefined;
    this.willTimer = undefined;
  }
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
