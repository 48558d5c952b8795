/**
 * What the core keeps through the {@link Storage} port (issue 9, DESIGN §8): persistent topics with
 * their values, written when they change and loaded at start-up. Each write returns the engine's
 * commit promise (one per group-committed batch, shared by every write of the batch), which the doors
 * wait on before they acknowledge a write of a persistent topic; non-persistent topics never reach
 * this module and never wait.
 *
 * Which topics are kept: those whose specification says `persistent` (the default of SDK-created
 * topics), except the server's own `$SYS` topics. A topic with `mqtt` retention (every topic an MQTT
 * publish created) is kept only while it holds a retained value: clearing the value forgets it.
 *
 * Time series events are kept through `timeseries/topics.ts`; start-up hands it their extents.
 *
 * @module
 */
import { type TopicSpecification, isReservedForServer } from "@skein/protocol";
import type { SeriesRecord, StoredProperties, Storage, TopicRecord, UserPropertyPairs } from "./storage.js";
import type { MessageProperties, Topic, Update, UserProperties } from "./types.js";

/**
 * Where the order of interleaved User Properties is remembered (the MQTT door keeps it beside the
 * name -> values object, see `mqtt/user-properties.ts`); injected so that the core imports no door.
 */
export interface UserPropertyOrder {
  /** The pairs of `users` in their order of arrival, when the object alone does not keep it. */
  orderOf(users: object): UserPropertyPairs | undefined;
  /** Remembers the order of `pairs` for the object `users` built from them. */
  remember(users: object, pairs: UserPropertyPairs): void;
}

/** A topic found in the store at start-up. */
export interface RestoredTopic {
  /** Its path. */
  readonly path: string;
  /** Its specification. */
  readonly spec: TopicSpecification;
  /** Its value as an update (retained), if it has one that has not expired. */
  readonly value: Update | undefined;
}

/** The core's link to its storage engine. */
export class Persistence {
  private storage: Storage | undefined;

  /** @param order Where interleaved User Property order is kept (absent: the object's order). */
  constructor(private readonly order?: UserPropertyOrder) {}

  /** The engine in use, once attached. */
  get engine(): Storage | undefined {
    return this.storage;
  }

  /** Writes go to `storage` from now on. */
  attach(storage: Storage): void {
    this.storage = storage;
  }

  /** Stops writing (the server is closing; the caller closes the engine). */
  detach(): void {
    this.storage = undefined;
  }

  /** True when changes of `topic` are kept. */
  keeps(topic: Topic): boolean {
    return (
      this.storage !== undefined &&
      topic.spec.properties?.persistent === true &&
      !isReservedForServer(topic.path)
    );
  }

  /**
   * Keeps `topic` as it is now (after its value changed, or when it was added); a topic with `mqtt`
   * retention and no value is forgotten instead. Returns the commit promise, or undefined when the
   * topic is not kept.
   */
  changed(topic: Topic): Promise<void> | undefined {
    const storage = this.storage;
    if (storage === undefined || !this.keeps(topic)) return undefined;
    if (topic.value === undefined && topic.spec.properties?.retention === "mqtt")
      return storage.removeTopic(topic.path);
    return storage.putTopic(this.recordOf(topic));
  }

  /** Forgets a removed topic; returns the commit promise, or undefined when it was not kept. */
  removed(topic: Topic): Promise<void> | undefined {
    return this.keeps(topic) ? this.storage?.removeTopic(topic.path) : undefined;
  }

  /**
   * Reads every kept topic from `storage` and hands it to `restore`, skipping values whose MQTT 5
   * Message Expiry passed [MQTT-3.3.2-5], and every time series' extent to `series`. Returns how many
   * topics were restored.
   */
  async load(
    storage: Storage,
    now: number,
    restore: (topic: RestoredTopic) => void,
    series?: (record: SeriesRecord) => void,
  ): Promise<number> {
    let n = 0;
    for await (const batch of storage.load({ sessions: false })) {
      for (const item of batch) {
        if (item.kind === "series") series?.(item.record);
        if (item.kind !== "topic") continue;
        const { path, spec, value } = item.record;
        const live = value !== undefined && (value.expiresAt === undefined || value.expiresAt > now);
        restore({
          path,
          spec,
          value: live
            ? {
                topic: path,
                payload: value.payload,
                qos: value.qos,
                retain: true,
                properties: value.properties && this.propertiesOf(value.properties),
                expiresAt: value.expiresAt,
                origin: undefined,
              }
            : undefined,
        });
        n++;
      }
    }
    return n;
  }

  private recordOf(topic: Topic): TopicRecord {
    const value = topic.value;
    if (value === undefined) return { path: topic.path, spec: topic.spec };
    const properties = value.properties && this.storedProperties(value.properties);
    return {
      path: topic.path,
      spec: topic.spec,
      value: {
        payload: value.payload,
        qos: value.qos,
        ...(properties ? { properties } : {}),
        ...(value.expiresAt !== undefined ? { expiresAt: value.expiresAt } : {}),
      },
    };
  }

  /** `p` as kept (User Property order from the door's record of it), or undefined when empty. */
  storedProperties(p: MessageProperties): StoredProperties | undefined {
    const out: {
      -readonly [K in keyof StoredProperties]: StoredProperties[K];
    } = {};
    if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
    if (p.contentType !== undefined) out.contentType = p.contentType;
    if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
    if (p.correlationData !== undefined) out.correlationData = p.correlationData;
    if (p.userProperties !== undefined)
      out.userProperties = this.order?.orderOf(p.userProperties) ?? pairsOf(p.userProperties);
    return Object.keys(out).length > 0 ? out : undefined;
  }

  /** Kept properties back as message properties (User Property order remembered for the door). */
  propertiesOf(p: StoredProperties): MessageProperties {
    const out: MessageProperties = {};
    if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
    if (p.contentType !== undefined) out.contentType = p.contentType;
    if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
    if (p.correlationData !== undefined) out.correlationData = p.correlationData;
    if (p.userProperties !== undefined) {
      const users: UserProperties = {};
      for (const [name, value] of p.userProperties) {
        const had = users[name];
        users[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
      }
      this.order?.remember(users, p.userProperties);
      out.userProperties = users;
    }
    return out;
  }
}

/** The pairs of a name -> value or values object, in the object's order. */
function pairsOf(users: UserProperties): UserPropertyPairs {
  const pairs: [string, string][] = [];
  for (const [name, v] of Object.entries(users)) {
    if (Array.isArray(v)) for (const one of v) pairs.push([name, one]);
    else pairs.push([name, v]);
  }
  return pairs;
}
