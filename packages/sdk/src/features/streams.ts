/**
 * Typed value streams (as in Diffusion): `session.addStream(selector, type, callbacks)` receives the
 * topics that the session has selected (`session.select`, which is separate), that the stream's
 * selector matches and that have the stream's type. The SDK keeps per-topic state from `topic` frames
 * and routes each `v` frame to the streams holding that topic, with the new and the old value.
 *
 * A json stream may check values against a schema (a zod schema, or anything with `safeParse`): a value
 * that fails is not delivered; the stream's `onError` hears of it and `oldValue` stays the last value
 * delivered.
 *
 * @module
 */
import { SkeinError, type TopicSelector, type TopicSpecification, type ValueType } from "@skein/protocol";
import type { SelectedTopic } from "../topic-state.js";
import { type ValueOf, decodeValue } from "../values.js";

/** Why a stream stopped receiving a topic. */
export type UnsubscribeReason =
  /** The session unselected it. */
  | "unselected"
  /** The topic was removed. */
  | "removed"
  /** The session may no longer read it. */
  | "not-permitted"
  /** The connection dropped and the session could not be resumed: a new session selects nothing. */
  | "session-lost";

/** What a value stream is told. Every callback is optional. */
export interface ValueStreamCallbacks<TValue> {
  /** A topic joined the stream, with its current value if it has one. */
  onSubscribe?(path: string, spec: TopicSpecification, value: TValue | undefined): void;
  /** A topic of the stream has a new value; `oldValue` is the last one this stream received. */
  onValue?(path: string, spec: TopicSpecification, newValue: TValue, oldValue: TValue | undefined): void;
  /** A topic left the stream. */
  onUnsubscribe?(path: string, reason: UnsubscribeReason): void;
  /** A value was not delivered: it failed the schema (`PAYLOAD_INVALID`, the schema's error as cause). */
  onError?(error: SkeinError, path: string): void;
  /** The stream was closed (by `close()` or because the session closed). */
  onClose?(): void;
}

/** A schema check that passed. */
export interface SchemaSuccess<TValue> {
  /** True. */
  success: true;
  /** The value (possibly transformed by the schema). */
  data: TValue;
}

/** A schema check that failed. */
export interface SchemaFailure {
  /** False. */
  success: false;
  /** Why (e.g. a ZodError); becomes the `cause` of the `PAYLOAD_INVALID` error `onError` receives. */
  error: unknown;
}

/** A schema checking a json value: a zod schema, or anything with the same `safeParse`. */
export interface ValueSchema<TValue> {
  /** Checks `value`. */
  safeParse(value: unknown): SchemaSuccess<TValue> | SchemaFailure;
}

/** Options of a value stream. */
export interface ValueStreamOptions<TValue> {
  /** For json streams: deliver only values this schema accepts. */
  schema?: ValueSchema<TValue>;
}

/** A registered value stream. */
export interface ValueStream {
  /** The stream's selector expression. */
  readonly selector: string;
  /** The type of topics it receives. */
  readonly type: ValueType;
  /** Stops the stream (its `onClose` is called). The session's selections are unchanged. */
  close(): void;
}

interface StreamEntry {
  readonly selector: TopicSelector;
  readonly type: ValueType;
  readonly callbacks: ValueStreamCallbacks<unknown>;
  readonly schema: ValueSchema<unknown> | undefined;
  /** The last value delivered per topic the stream holds (undefined: none yet). */
  readonly values: Map<number, unknown>;
}

type Decoded = { ok: true; value: unknown } | { ok: false; error: SkeinError };

/** Every value stream of a session, and the routing of topic events to them. */
export class StreamRegistry {
  private readonly streams = new Set<StreamEntry>();
  /** Streams by the tid of the topics they hold: the `v` hot path is one map lookup. */
  private readonly byTid = new Map<number, Set<StreamEntry>>();

  /** @param selected - the topics the session has selected now */
  constructor(private readonly selected: () => Iterable<SelectedTopic>) {}

  /** Registers a stream; it receives the selected topics it matches at once. */
  add<TValue>(
    selector: TopicSelector,
    type: ValueType,
    callbacks: ValueStreamCallbacks<TValue>,
    options: ValueStreamOptions<TValue> = {},
  ): ValueStream {
    const entry: StreamEntry = {
      selector,
      type,
      callbacks: callbacks as ValueStreamCallbacks<unknown>,
      schema: options.schema,
      values: new Map(),
    };
    this.streams.add(entry);
    for (const topic of this.selected()) if (this.matches(entry, topic)) this.subscribe(entry, topic);
    return { selector: selector.expression, type, close: () => this.close(entry) };
  }

  /** A topic was selected: it joins the streams it matches. */
  topicAdded(topic: SelectedTopic): void {
    for (const entry of this.streams) if (this.matches(entry, topic)) this.subscribe(entry, topic);
  }

  /** A topic has a new value (`topic.value`, already replaced): its streams receive it. */
  valueChanged(topic: SelectedTopic): void {
    const entries = this.byTid.get(topic.tid);
    if (!entries || topic.value === undefined) return;
    const decoded = new Map<ValueType, Decoded>();
    for (const entry of entries) {
      const result = this.check(entry, topic, topic.value, decoded);
      if (!result.ok) {
        entry.callbacks.onError?.(result.error, topic.path);
        continue;
      }
      const old = entry.values.get(topic.tid);
      entry.values.set(topic.tid, result.value);
      entry.callbacks.onValue?.(topic.path, topic.spec, result.value, old);
    }
  }

  /** A topic is no longer selected. */
  topicRemoved(topic: SelectedTopic, reason: UnsubscribeReason): void {
    const entries = this.byTid.get(topic.tid);
    if (!entries) return;
    this.byTid.delete(topic.tid);
    for (const entry of entries) {
      entry.values.delete(topic.tid);
      entry.callbacks.onUnsubscribe?.(topic.path, reason);
    }
  }

  /** Closes every stream (the session closed). */
  closeAll(): void {
    for (const entry of [...this.streams]) this.close(entry);
  }

  private matches(entry: StreamEntry, topic: SelectedTopic): boolean {
    return (
      topic.spec.type === entry.type && !entry.values.has(topic.tid) && entry.selector.matches(topic.path)
    );
  }

  private subscribe(entry: StreamEntry, topic: SelectedTopic): void {
    let entries = this.byTid.get(topic.tid);
    if (!entries) this.byTid.set(topic.tid, (entries = new Set()));
    entries.add(entry);
    let value: unknown = undefined;
    if (topic.value !== undefined) {
      const result = this.check(entry, topic, topic.value, new Map());
      if (result.ok) value = result.value;
      else entry.callbacks.onError?.(result.error, topic.path);
    }
    entry.values.set(topic.tid, value);
    entry.callbacks.onSubscribe?.(topic.path, topic.spec, value);
  }

  /** Decodes (once per type per event) and checks a value against the stream's schema. */
  private check(
    entry: StreamEntry,
    topic: SelectedTopic,
    bytes: Uint8Array,
    cache: Map<ValueType, Decoded>,
  ): Decoded {
    let decoded = cache.get(entry.type);
    if (!decoded) {
      try {
        decoded = { ok: true, value: decodeValue(entry.type, bytes) as ValueOf[ValueType] };
      } catch (err) {
        decoded = { ok: false, error: SkeinError.from(err) };
      }
      cache.set(entry.type, decoded);
    }
    if (!decoded.ok || !entry.schema) return decoded;
    const parsed = entry.schema.safeParse(decoded.value);
    if (parsed.success) return { ok: true, value: parsed.data };
    return {
      ok: false,
      error: new SkeinError("PAYLOAD_INVALID", `value of ${topic.path} does not match the stream's schema`, {
        cause: parsed.error,
      }),
    };
  }

  private close(entry: StreamEntry): void {
    if (!this.streams.delete(entry)) return;
    for (const tid of entry.values.keys()) this.byTid.get(tid)?.delete(entry);
    entry.values.clear();
    entry.callbacks.onClose?.();
  }
}
