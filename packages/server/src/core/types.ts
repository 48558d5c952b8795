/**
 * The core's vocabulary: updates flowing through the topic tree, subscribers and subscription options.
 * Doors translate packets and frames into these and back; nothing here knows of sockets.
 */
import type { TopicSpecification } from "@skein/protocol";
import type { Actor } from "./security/types.js";
import type { SessionHoldings } from "./quotas.js";
import type { TimeSeriesEvent } from "./storage.js";

/** Quality of service of a delivery. */
export type QoS = 0 | 1 | 2;

/** User properties as mqtt-packet and the SDK carry them: name -> value or values. */
export type UserProperties = Record<string, string | string[]>;

/** Metadata an update carries through unchanged (MQTT 5 publish properties, SDK message metadata). */
export interface MessageProperties {
  /** Payload is UTF-8 text. */
  payloadFormatIndicator?: boolean;
  /** MIME type of the payload. */
  contentType?: string;
  /** Where a response should go (request-response). */
  responseTopic?: string;
  /** Correlates a response with its request. */
  correlationData?: Uint8Array;
  /** Application properties, passed through unchanged. */
  userProperties?: UserProperties;
}

/** One update of one topic, as it flows from a publisher to subscribers. */
export interface Update {
  /** The topic path. */
  readonly topic: string;
  /** Payload bytes, never copied on the way through. */
  readonly payload: Uint8Array;
  /** QoS at which it was published. */
  readonly qos: QoS;
  /** The publisher's retain flag. */
  readonly retain: boolean;
  /** Pass-through metadata. */
  readonly properties: MessageProperties | undefined;
  /** Epoch ms after which it must not be delivered (MQTT 5 message expiry), or undefined. */
  readonly expiresAt: number | undefined;
  /** Session that published it (for no-local), or undefined for server-originated updates. */
  readonly origin: string | undefined;
  /**
   * Encodings made for this update, keyed by the door's own variant key, so that an update is encoded
   * once and the same bytes are written to every subscriber that needs that variant.
   */
  encodings?: Map<string, Uint8Array>;
  /** For an event of a time series topic: the event (its metadata reaches SDK subscribers). */
  readonly event?: TimeSeriesEvent;
}

/** The fields {@link copyUpdate} may replace. */
export type UpdateChanges = Partial<Pick<Update, "payload" | "properties" | "expiresAt">>;

/**
 * A copy of `update` with some fields replaced and no encodings (they belong to the original bytes).
 *
 * Built field by field, never as `{ ...update, payload }`: V8 (Node 20) gives an object made by spread
 * a hidden class of its own, outside the transition tree, so the `encodings` the doors add to it later
 * makes a new hidden class for every such update. Hidden classes live in old space, so at a few
 * thousand retained publishes a second they fill it with garbage that only a mark-compact frees: the
 * GC-made latency tail of docs/performance.md. A literal with every field keeps one shared shape.
 */
export function copyUpdate(update: Update, changes: UpdateChanges): Update {
  return {
    topic: update.topic,
    payload: changes.payload ?? update.payload,
    qos: update.qos,
    retain: update.retain,
    properties: "properties" in changes ? changes.properties : update.properties,
    expiresAt: "expiresAt" in changes ? changes.expiresAt : update.expiresAt,
    origin: update.origin,
    encodings: undefined,
  };
}

/** How a subscription wants updates delivered. */
export interface SubscriptionOptions {
  /** Maximum QoS granted. */
  qos: QoS;
  /** Do not deliver the subscriber's own publishes [MQTT-3.8.3-3]. */
  noLocal: boolean;
  /** Keep the publisher's retain flag on forwarded messages [MQTT-3.3.1-12]. */
  retainAsPublished: boolean;
  /** 0: send retained values on subscribe; 1: only for a new subscription; 2: never. */
  retainHandling: 0 | 1 | 2;
  /** MQTT 5 subscription identifier, if any. */
  subscriptionId?: number;
}

/** Something that receives updates: an MQTT session, an SDK session, an internal service. */
export interface Subscriber {
  /** The session id (unique on this server). */
  readonly sessionId: string;
  /** False while the subscriber has no live connection (shared subscriptions prefer live members). */
  readonly online?: boolean;
  /**
   * The session on whose behalf it receives: each delivery is checked against its `read_topic`
   * (DESIGN §7). Undefined for the server's own subscribers, which are not checked.
   */
  readonly actor?: Actor;
  /**
   * The façade's cache of this subscriber's read decisions (undefined until its first checked
   * delivery). Owned by the façade: a subscriber only declares the field, so that its shape is fixed.
   */
  readCache?: ReadCache | undefined;
  /**
   * Delivers one update that matched one or more of this subscriber's subscriptions. Must not throw and
   * must not block: queue, conflate or drop according to the subscriber's own bounds.
   */
  deliver(update: Update, matches: readonly Subscription[]): void;
}

/**
 * Cached `read_topic` decisions of one subscriber, valid for one authorizer version and one actor:
 * the last path asked (fan-out asks the same path of every subscriber, update after update) and
 * every path asked (bounded: see `READ_CACHE_PATHS`).
 */
export interface ReadCache {
  readonly version: number;
  readonly actor: Actor;
  lastPath: string;
  lastAllowed: boolean;
  readonly paths: Map<string, boolean>;
}

/** One subscription held in the index. */
export interface Subscription {
  /** Who subscribed. */
  readonly subscriber: Subscriber;
  /** The MQTT filter it was indexed under (without any `$share/group/` prefix). */
  readonly filter: string;
  /** Shared-subscription group name, if any. */
  readonly shareGroup: string | undefined;
  /** Delivery options. */
  options: SubscriptionOptions;
}

/** A topic as the core holds it. */
export interface Topic {
  /** Server-wide id, unique for the life of the server (never reused). */
  readonly id: number;
  /** Its path. */
  readonly path: string;
  /** Its (normalised) specification. */
  readonly spec: TopicSpecification;
  /** The stored value, as the last update that set it (absent when it has none). */
  value: Update | undefined;
  /** Epoch ms of the last update or subscription touch (for removal policies). */
  lastActivity: number;
  /** The session that created it, while it counts against that session (core/quotas.ts). */
  creator?: SessionHoldings | undefined;
  /** The session that wrote its value last, while the value counts against it (core/quotas.ts). */
  retainer?: SessionHoldings | undefined;
}

/**
 * Bounds on topic paths that both doors apply (configured as `mqtt.maxTopicLength` and
 * `mqtt.maxTopicDepth`, since MQTT names them; an SDK path is held to the same bounds, so that every
 * topic an SDK client makes can be named by an MQTT client).
 */
export interface PathLimits {
  /** Longest topic name or filter (UTF-8 bytes). */
  maxTopicLength: number;
  /** Most levels in a topic name or filter. */
  maxTopicDepth: number;
}
