/**
 * A session: the application's handle on one server session, across reconnections. It composes the
 * link (connection, requests, resumption) with the features (`features/`), and keeps the selected
 * topics that value streams read.
 *
 * @module
 */
import { type SkeinError, type ValueType, parseSelector } from "@skein/protocol";
import { Emitter, type Subscribable } from "./emitter.js";
import type { SessionEvents, SessionState } from "./events.js";
import { ClientsFeature } from "./features/clients.js";
import { ServerFeature } from "./features/server.js";
import { SecurityFeature } from "./features/security.js";
import { type SessionLock, acquireLock } from "./features/locks.js";
import { MessagingFeature } from "./features/messaging.js";
import { type FetchOptions, type FetchResults, fetchTopics } from "./features/fetch.js";
import {
  StreamRegistry,
  type ValueSchema,
  type ValueStream,
  type ValueStreamCallbacks,
} from "./features/streams.js";
import { select, unselect } from "./features/subscriptions.js";
import { TopicsFeature } from "./features/topics.js";
import { TimeSeriesFeature } from "./features/timeseries.js";
import { type UpdateStream, createUpdateStream } from "./features/update-stream.js";
import { type SetOptions, setValue } from "./features/updates.js";
import { Link, type LinkOwner, type PushFrame } from "./link.js";
import type { ResolvedOptions } from "./options.js";
import { TopicState } from "./topic-state.js";
import type { TransportFactory } from "./transport.js";
import { type InputValueOf, type ValueOf, checkValueType } from "./values.js";

/** A Skein session. Create one with `connect`. */
export class Session implements Subscribable<SessionEvents> {
  /** Adding and removing topics. */
  readonly topics: TopicsFeature;
  /** Request-response messaging: request handlers, request streams and sending requests. */
  readonly messaging: MessagingFeature;
  /** Client control: listing, inspecting, changing, closing and watching sessions of both doors. */
  readonly clients: ClientsFeature;
  /** Server control and monitoring: its log level and its own figures. */
  readonly server: ServerFeature;
  /** Time series: appending and editing events, range queries and event streams. */
  readonly timeseries: TimeSeriesFeature;
  /** Security administration: principals, passwords, roles and permissions (docs/security.md). */
  readonly security: SecurityFeature;
  private readonly events = new Emitter<SessionEvents>();
  private readonly link: Link;
  private readonly selected = new TopicState();
  private readonly streams = new StreamRegistry(() => this.selected.all());

  /** @internal Use `connect`. */
  constructor(url: string, options: ResolvedOptions, transport: TransportFactory) {
    const owner: LinkOwner = {
      onPush: (frame) => this.onPush(frame),
      onNewSession: () => {
        this.forgetTopics();
        this.messaging.newSession();
        this.clients.newSession();
      },
      onClosed: () => {
        this.selected.clear();
        this.streams.closeAll();
        this.timeseries.streams.closeAll();
        this.messaging.closed();
        this.clients.closed();
      },
    };
    const report = (error: SkeinError): void => this.events.emit("error", error);
    this.link = new Link(url, options, transport, owner, this.events);
    this.topics = new TopicsFeature(this.link);
    this.messaging = new MessagingFeature(this.link, options.requestTimeoutMs, report);
    this.clients = new ClientsFeature(this.link, report);
    this.server = new ServerFeature(this.link);
    this.timeseries = new TimeSeriesFeature(this.link, () => this.selected.all());
    this.security = new SecurityFeature(this.link);
  }

  /** @internal Opens the first connection. */
  start(): Promise<void> {
    return this.link.start();
  }

  /** The server's id of this session (it changes when a reconnection starts a new session). */
  get sessionId(): string {
    return this.link.sessionId;
  }

  /** Where the session is: connecting, connected, reconnecting or closed. */
  get state(): SessionState {
    return this.link.state;
  }

  /** {@inheritDoc Subscribable.on} */
  on<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** {@inheritDoc Subscribable.once} */
  once<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): () => void {
    return this.events.once(event, listener);
  }

  /** {@inheritDoc Subscribable.off} */
  off<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /**
   * Closes the session cleanly: the server ends it at once (no resumption) and releases its locks.
   * Waiting requests fail with `SESSION_CLOSED`; value streams are closed.
   */
  close(): Promise<void> {
    return this.link.close();
  }

  /**
   * Selects the topics `selector` names, now and later: a topic added afterwards that matches is
   * selected too. Value streams receive only selected topics. Resolves once the server has recorded
   * the selection (the topics follow).
   * @throws SkeinError `INVALID_SELECTOR` (checked before sending), `NOT_AUTHORIZED`
   */
  select(selector: string): Promise<void> {
    return select(this.link, selector);
  }

  /**
   * Removes a selection; streams hear `onUnsubscribe(path, "unselected")` for the topics it held.
   * @throws SkeinError `INVALID_SELECTOR`
   */
  unselect(selector: string): Promise<void> {
    return unselect(this.link, selector);
  }

  /**
   * Adds a typed value stream: it receives the topics of type `type` that the session has selected
   * (see {@link Session.select}) and `selector` matches, those selected already at once. A json stream
   * may check values with a schema (e.g. zod): values it refuses are not delivered but reported to
   * `onError`.
   *
   * @example
   * ```ts
   * await session.select(">sensors//");
   * const stream = session.addStream(">sensors//", "double", {
   *   onValue: (path, _spec, value, old) => console.log(path, old, "->", value),
   *   onUnsubscribe: (path, reason) => console.log(path, reason),
   * });
   * // later
   * stream.close();
   * ```
   * @throws SkeinError `INVALID_SELECTOR`, `INVALID_ARGUMENT` (not a value type)
   */
  addStream<TValue>(
    selector: string,
    type: "json",
    callbacks: ValueStreamCallbacks<TValue>,
    options: { schema: ValueSchema<TValue> },
  ): ValueStream;
  addStream<T extends ValueType>(
    selector: string,
    type: T,
    callbacks: ValueStreamCallbacks<ValueOf[T]>,
  ): ValueStream;
  addStream(
    selector: string,
    type: ValueType,
    callbacks: ValueStreamCallbacks<unknown>,
    options: { schema?: ValueSchema<unknown> } = {},
  ): ValueStream {
    return this.streams.add(parseSelector(selector), checkValueType(type), callbacks, options);
  }

  /**
   * Sets the value of the existing topic `path`. `type` must be the topic's type (else
   * `TOPIC_TYPE_MISMATCH`) and `value` a value of `type` (else `INVALID_ARGUMENT`, before sending):
   * json takes plain JS values, string a string, int64 a bigint, double a number, binary a Uint8Array.
   *
   * @example
   * ```ts
   * await session.set("counters/visits", "int64", 42n);
   * await session.set("config/mode", "string", "auto", { constraint: constraints.noValue() });
   * ```
   * @throws SkeinError `TOPIC_NOT_FOUND`, `TOPIC_TYPE_MISMATCH`, `INVALID_ARGUMENT`, the code of a failed
   *   constraint (`CONSTRAINT_NO_VALUE`, `CONSTRAINT_NO_TOPIC`, `CONSTRAINT_VALUE_MISMATCH`,
   *   `CONSTRAINT_PARTIAL_JSON`, `CONSTRAINT_LOCKED`), `NOT_AUTHORIZED`, `TOO_LARGE` (larger than the
   *   server takes, before sending: see `docs/sdk.md`, Sizes)
   */
  set<T extends ValueType>(
    path: string,
    type: T,
    value: InputValueOf[T],
    options?: SetOptions,
  ): Promise<void> {
    return setValue(this.link, path, type, value, options);
  }

  /**
   * An update stream of topic `path`: repeated `set`s that send deltas when smaller than the value.
   *
   * @example
   * ```ts
   * const stream = session.createUpdateStream("doc/1", "json");
   * await stream.set({ title: "a", body: "…long text…" });
   * await stream.set({ title: "b", body: "…long text…" }); // sends a small delta
   * ```
   * @throws SkeinError `INVALID_PATH`, `INVALID_ARGUMENT` (not a value type), at once
   */
  createUpdateStream<T extends ValueType>(path: string, type: T): UpdateStream<T> {
    return createUpdateStream(this.link, path, type);
  }

  /**
   * Asks for the session lock `name` (see `constraints.locked`). It does not wait for another holder:
   * the handle's `acquired` says whether this session got it. The server releases a session's locks
   * when it closes.
   * @throws SkeinError `INVALID_ARGUMENT` (empty name), `NOT_AUTHORIZED`
   */
  acquireLock(name: string): Promise<SessionLock> {
    return acquireLock(this.link, name);
  }

  /**
   * Fetches the topics `selector` selects (without selecting them), in path order, a page at a time.
   *
   * @example
   * ```ts
   * let after: string | undefined;
   * do {
   *   const page = await session.fetch(">sensors//", { withValues: true, first: 100, after });
   *   for (const t of page.topics) if (t.type === "double") console.log(t.path, t.value);
   *   after = page.hasMore ? page.topics.at(-1)?.path : undefined;
   * } while (after);
   * ```
   * @throws SkeinError `INVALID_SELECTOR`, `INVALID_ARGUMENT`
   */
  fetch(selector: string, options?: FetchOptions): Promise<FetchResults> {
    return fetchTopics(this.link, selector, options);
  }

  /** A round trip to the server; resolves with its duration in ms. */
  async ping(): Promise<number> {
    const start = Date.now();
    await this.link.request({ type: "ping" });
    return Date.now() - start;
  }

  /**
   * @internal Drops the connection as a network failure would (no close handshake), to exercise
   * resumption in tests. In browsers it closes with code 4999 instead.
   */
  simulateDrop(): void {
    this.link.simulateDrop();
  }

  private onPush(frame: PushFrame): void {
    switch (frame.type) {
      case "topic": {
        const known = this.selected.get(frame.tid);
        const topic = this.selected.add(frame.tid, frame.path, frame.spec, frame.value);
        if (!known) {
          this.timeseries.streams.topicAdded(topic);
          return this.streams.topicAdded(topic);
        }
        // A topic announced again (e.g. its specification changed): a new value is delivered as such.
        if (frame.value === undefined) return;
        topic.value = frame.value;
        return this.streams.valueChanged(topic);
      }
      case "v": {
        const topic = this.selected.get(frame.t);
        if (!topic) return;
        topic.value = frame.v;
        return this.streams.valueChanged(topic);
      }
      case "untopic": {
        const topic = this.selected.remove(frame.tid);
        if (!topic) return;
        this.timeseries.streams.topicRemoved(topic, frame.reason);
        return this.streams.topicRemoved(topic, frame.reason);
      }
      case "e": {
        const topic = this.selected.get(frame.t);
        if (topic) this.timeseries.streams.event(topic, frame.e);
        return;
      }
      case "ts_page":
        return this.timeseries.receivePage(frame.id, frame.events);
      case "request":
      case "filter_response":
      case "filter_error":
        return this.messaging.receive(frame);
      case "session_event":
        return this.clients.receive(frame);
    }
  }

  /** The session is new or closed: every topic it had selected is gone. */
  private forgetTopics(): void {
    for (const topic of [...this.selected.all()]) {
      this.timeseries.streams.topicRemoved(topic, "session-lost");
      this.streams.topicRemoved(topic, "session-lost");
    }
    this.selected.clear();
  }
}
