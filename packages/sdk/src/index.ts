/**
 * `@skein/sdk`: the Skein SDK for Node and browsers. `connect` opens a session over WebSocket +
 * MessagePack; the session adds and removes topics, selects them, streams their typed values, updates
 * them (with constraints, locks and delta update streams) and fetches them; it handles and sends
 * typed requests (`session.messaging`) and controls other sessions of both doors
 * (`session.clients`); and it survives dropped connections by resuming.
 *
 * In Node the transport is the `ws` package; in browsers (the `browser` export condition) the global
 * `WebSocket`. A single-file browser build is `dist/skein-sdk.browser.js`.
 *
 * @packageDocumentation
 */
import { defaultTransport } from "#transport";
import { type ConnectOptions, resolveOptions } from "./options.js";
import { Session } from "./session.js";

/**
 * Opens a session with the server at `url` (the SDK door: `ws(s)://host:port/sdk`). Resolves once the
 * server has welcomed it.
 *
 * @example
 * ```ts
 * import { connect, constraints } from "@skein/sdk";
 *
 * const session = await connect("ws://localhost:8080/sdk", { principal: "alice", password: "secret" });
 * session.on("reconnected", ({ resumed }) => { if (!resumed) console.warn("new session: select again"); });
 *
 * await session.topics.add("sensors/room1/temp", { type: "double" });
 * await session.select(">sensors//");
 * session.addStream(">sensors//", "double", {
 *   onValue: (path, _spec, value) => console.log(path, value),
 * });
 * await session.set("sensors/room1/temp", "double", 21.5, { constraint: constraints.noValue() });
 * await session.close();
 * ```
 * @param url - the server's SDK door
 * @param options - credentials, session properties, reconnection and timeouts
 * @throws SkeinError `NOT_AUTHENTICATED`, `UNSUPPORTED_VERSION`, `TIMEOUT`, `SESSION_CLOSED` (cannot
 *   connect), `INVALID_ARGUMENT`
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Session> {
  const session = new Session(url, resolveOptions(options), options.transport ?? defaultTransport);
  await session.start();
  return session;
}

export { Session } from "./session.js";
export type {
  SessionEvents,
  SessionState,
  ConnectedEvent,
  DisconnectedEvent,
  ReconnectingEvent,
  ReconnectedEvent,
  ClosedEvent,
} from "./events.js";
export type { ConnectOptions, ReconnectOptions } from "./options.js";
export type { Subscribable, Listener, EventMap } from "./emitter.js";
export type { Transport, TransportFactory, TransportHandlers } from "./transport.js";
export type { ValueOf, InputValueOf } from "./values.js";
export {
  constraints,
  type UpdateConstraint,
  type JsonPointerConstraints,
  type LockRef,
} from "./features/constraints.js";
export {
  TopicsFeature,
  type ValueTopicSpecification,
  type AddAndSetOptions,
  type AddTopicResult,
} from "./features/topics.js";
export type {
  ValueStream,
  ValueStreamCallbacks,
  ValueStreamOptions,
  ValueSchema,
  SchemaSuccess,
  SchemaFailure,
  UnsubscribeReason,
} from "./features/streams.js";
export type { SetOptions } from "./features/updates.js";
export type { UpdateStream, UpdateStreamStats } from "./features/update-stream.js";
export type { SessionLock } from "./features/locks.js";
export { MessagingFeature, type SendRequestOptions, type SendToFilterOptions } from "./features/messaging.js";
export { ServerFeature } from "./features/server.js";
export type {
  RequestContext,
  RequestHandler,
  RequestHandlerOptions,
  RequestStream,
  HandlerRegistration,
} from "./features/request-handlers.js";
export {
  ClientsFeature,
  type SessionTarget,
  type SessionInfo,
  type SessionSubscription,
  type SessionLifecycleEvent,
  type SessionEventWatch,
} from "./features/clients.js";
export {
  TimeSeriesFeature,
  RangeQuery,
  type QueryResult,
  type EventMetadata,
  type TimeSeriesEvent,
  type TimeSeriesStream,
  type TimeSeriesStreamCallbacks,
  type StreamStructure,
} from "./features/timeseries.js";
export { SecurityFeature } from "./features/security.js";
export type {
  FetchOptions,
  FetchResults,
  FetchedTypedTopic,
  FetchedValueTopic,
  FetchedTimeSeriesTopic,
  FetchedTopicOf,
} from "./features/fetch.js";
export {
  SkeinError,
  ErrorCodes,
  type ErrorCode,
  type TopicType,
  type ValueType,
  type TopicSpecification,
  type TopicProperties,
  type SubscriptionRange,
  type Retention,
  type RemovalPolicy,
  type JsonValue,
  type SecurityStoreView,
  type ServerStatus,
  type RoleDefinition,
  type RoleDefinitionInput,
  type AnonymousSetting,
  type GlobalPermission,
  type PathPermission,
  type Permission,
} from "@skein/protocol";
