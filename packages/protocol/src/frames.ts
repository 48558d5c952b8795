/**
 * Every frame of the SDK wire protocol, as zod schemas: a discriminated union on `type`, one union per
 * direction. The TypeScript types are inferred from the schemas; neither side redeclares them.
 * `docs/protocol.md` describes the protocol in words.
 *
 * Values travel as the bytes of their topic type (DESIGN §3: json = UTF-8 JSON text, string = UTF-8,
 * int64 and double = decimal text, binary = the bytes), the same bytes an MQTT PUBLISH carries, so the
 * server passes them through and encodes an update once for every subscriber.
 *
 * @module
 */
import { z } from "zod";
import { TOPIC_TYPES, VALUE_TYPES } from "./topic-types.js";

/** Protocol versions this package speaks, newest last. */
export const PROTOCOL_VERSIONS = [1] as const;

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected bytes (MessagePack bin)");
const requestId = z.number().int().nonnegative();
const path = z.string().min(1).max(65535);
const selector = z.string().min(1).max(4096);

/** A topic specification on the wire. */
export const topicSpecificationSchema = z.strictObject({
  type: z.enum(TOPIC_TYPES),
  properties: z
    .strictObject({
      retention: z.enum(["always", "mqtt", "never"]).optional(),
      persistent: z.boolean().optional(),
      validateValues: z.boolean().optional(),
      removal: z
        .strictObject({ idleMs: z.number().positive(), onlyWithoutValue: z.boolean().optional() })
        .optional(),
      owner: z.string().optional(),
      eventType: z.enum(VALUE_TYPES).optional(),
      retainedRange: z
        .strictObject({
          count: z.number().int().positive().optional(),
          durationMs: z.number().positive().optional(),
        })
        .optional(),
      subscriptionRange: z.number().int().nonnegative().optional(),
    })
    .optional(),
});

/** A JSON pointer condition of a partial-JSON constraint. */
const pointerCondition = z.union([
  z.strictObject({ pointer: z.string(), equals: bytes }),
  z.strictObject({ pointer: z.string(), absent: z.literal(true) }),
]);

/** An update constraint (a conjunction when `and` is used). */
export type Constraint =
  | { kind: "no-value" }
  | { kind: "no-topic" }
  | { kind: "value-equals"; value: Uint8Array }
  | { kind: "partial-json"; conditions: z.infer<typeof pointerCondition>[] }
  | { kind: "locked"; lock: string }
  | { kind: "and"; constraints: Constraint[] };

/** Schema of {@link Constraint}. */
export const constraintSchema: z.ZodType<Constraint> = z.lazy(() =>
  z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("no-value") }),
    z.strictObject({ kind: z.literal("no-topic") }),
    z.strictObject({ kind: z.literal("value-equals"), value: bytes }),
    z.strictObject({ kind: z.literal("partial-json"), conditions: z.array(pointerCondition).min(1).max(64) }),
    z.strictObject({ kind: z.literal("locked"), lock: z.string().min(1).max(256) }),
    z.strictObject({ kind: z.literal("and"), constraints: z.array(constraintSchema).min(1).max(16) }),
  ]),
);

/** A session id or a session filter: whom a client-control request is about. */
const sessionTarget = z.union([
  z.strictObject({ sessionId: z.string().max(64) }),
  z.strictObject({ filter: z.string().max(4096) }),
]);

/** Frames a client sends. */
export const clientFrameSchema = z.discriminatedUnion("type", [
  /** First frame: protocol versions the client speaks, credentials, and optionally a session to resume. */
  z.strictObject({
    type: z.literal("hello"),
    versions: z.array(z.number().int().positive()).min(1).max(16),
    principal: z.string().max(256).optional(),
    password: z.string().max(1024).optional(),
    properties: z.record(z.string().max(256), z.string().max(4096)).optional(),
    resume: z
      .strictObject({
        sessionId: z.string().max(64),
        token: z.string().max(256),
        /** How many server frames the client received after its welcome. */
        received: z.number().int().nonnegative(),
      })
      .optional(),
  }),
  z.strictObject({ type: z.literal("add_topic"), id: requestId, path, spec: topicSpecificationSchema }),
  z.strictObject({ type: z.literal("remove_topics"), id: requestId, selector }),
  z.strictObject({
    type: z.literal("set"),
    id: requestId,
    path,
    valueType: z.enum(VALUE_TYPES),
    value: bytes,
    constraint: constraintSchema.optional(),
    /** Create the topic with this specification when it does not exist (addAndSet). */
    spec: topicSpecificationSchema.optional(),
  }),
  z.strictObject({
    type: z.literal("delta"),
    id: requestId,
    path,
    valueType: z.enum(VALUE_TYPES),
    /** CRC-32 of the value the delta applies to. */
    baseCrc: z.number().int().nonnegative(),
    /** Replace `deleteCount` bytes at `start` with `insert`. */
    start: z.number().int().nonnegative(),
    deleteCount: z.number().int().nonnegative(),
    insert: bytes,
  }),
  z.strictObject({ type: z.literal("select"), id: requestId, selector }),
  z.strictObject({ type: z.literal("unselect"), id: requestId, selector }),
  z.strictObject({
    type: z.literal("fetch"),
    id: requestId,
    selector,
    withValues: z.boolean().optional(),
    types: z.array(z.enum(TOPIC_TYPES)).optional(),
    first: z.number().int().positive().max(10_000).optional(),
    last: z.number().int().positive().max(10_000).optional(),
    after: path.optional(),
    before: path.optional(),
  }),
  z.strictObject({ type: z.literal("lock"), id: requestId, name: z.string().min(1).max(256) }),
  z.strictObject({ type: z.literal("unlock"), id: requestId, name: z.string().min(1).max(256) }),
  z.strictObject({ type: z.literal("ping"), id: requestId }),
  // Request-response messaging (DESIGN §4).
  z.strictObject({
    type: z.literal("add_handler"),
    id: requestId,
    /** `path`: any session may reach it; `session`: a request stream reached by sends to this session or a filter. */
    kind: z.enum(["path", "session"]),
    path,
    requestType: z.enum(VALUE_TYPES).optional(),
    responseType: z.enum(VALUE_TYPES).optional(),
    sessionProperties: z.array(z.string().max(256)).max(64).optional(),
  }),
  z.strictObject({
    type: z.literal("remove_handler"),
    id: requestId,
    kind: z.enum(["path", "session"]),
    path,
  }),
  z.strictObject({
    type: z.literal("send_request"),
    id: requestId,
    path,
    requestType: z.enum(VALUE_TYPES),
    responseType: z.enum(VALUE_TYPES),
    value: bytes,
    timeoutMs: z.number().int().positive().max(3_600_000).optional(),
    /** Absent: the path's handler; a session id; or every session a filter selects. */
    target: z
      .union([
        z.strictObject({ sessionId: z.string().max(64) }),
        z.strictObject({ filter: z.string().max(4096) }),
      ])
      .optional(),
  }),
  /** A handler's answer to a `request` frame. */
  z.strictObject({
    type: z.literal("respond"),
    id: requestId,
    rid: z.number().int().nonnegative(),
    value: bytes,
  }),
  z.strictObject({
    type: z.literal("respond_error"),
    id: requestId,
    rid: z.number().int().nonnegative(),
    message: z.string().max(4096),
  }),
  // Client control (DESIGN §6, §9).
  z.strictObject({
    type: z.literal("list_sessions"),
    id: requestId,
    filter: z.string().max(4096).optional(),
  }),
  z.strictObject({ type: z.literal("get_properties"), id: requestId, sessionId: z.string().max(64) }),
  z.strictObject({
    type: z.literal("set_properties"),
    id: requestId,
    target: sessionTarget,
    properties: z.record(z.string().max(256), z.string().max(4096)),
  }),
  z.strictObject({ type: z.literal("close_sessions"), id: requestId, target: sessionTarget }),
  z.strictObject({ type: z.literal("subscribe_sessions"), id: requestId, target: sessionTarget, selector }),
  z.strictObject({ type: z.literal("unsubscribe_sessions"), id: requestId, target: sessionTarget, selector }),
  z.strictObject({
    type: z.literal("watch_sessions"),
    id: requestId,
    filter: z.string().max(4096).optional(),
  }),
  z.strictObject({ type: z.literal("unwatch_sessions"), id: requestId, watch: requestId }),
]);

/** One topic of a fetch result. */
export const fetchedTopicSchema = z.strictObject({
  path,
  spec: topicSpecificationSchema,
  value: bytes.optional(),
});

/** Frames the server sends. */
export const serverFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("welcome"),
    version: z.number().int().positive(),
    sessionId: z.string(),
    /** Secret the client presents to resume this session. */
    token: z.string(),
    /** How long the session outlives a dropped connection. */
    reconnectTimeoutMs: z.number().int().nonnegative(),
    /** True when a session was resumed; false when a new session started. */
    resumed: z.boolean(),
    /** On resumption: how many client frames after hello the server had processed. */
    processed: z.number().int().nonnegative(),
  }),
  z.strictObject({ type: z.literal("result"), id: requestId, value: z.unknown().optional() }),
  z.strictObject({ type: z.literal("error"), id: requestId, code: z.number().int(), message: z.string() }),
  /** A topic now selected by this session: `tid` names it in later `v` frames. */
  z.strictObject({
    type: z.literal("topic"),
    tid: z.number().int().nonnegative(),
    path,
    spec: topicSpecificationSchema,
    value: bytes.optional(),
  }),
  /** A new value of topic `t` (a server-wide topic id). The same bytes go to every subscriber. */
  z.strictObject({ type: z.literal("v"), t: z.number().int().nonnegative(), v: bytes }),
  /** A topic no longer selected (unselected, removed, or no longer permitted). */
  z.strictObject({
    type: z.literal("untopic"),
    tid: z.number().int().nonnegative(),
    reason: z.enum(["unselected", "removed", "not-permitted"]),
  }),
  /** A request for a handler this session registered; answer with `respond` or `respond_error`. */
  z.strictObject({
    type: z.literal("request"),
    rid: z.number().int().nonnegative(),
    path,
    requestType: z.enum(VALUE_TYPES),
    responseType: z.enum(VALUE_TYPES),
    value: bytes,
    /** The requester's session id, and the session properties the handler asked for. */
    sessionId: z.string().optional(),
    properties: z.record(z.string(), z.string()),
  }),
  /** One session's answer to a `send_request` with a filter target (`id` is that request's id). */
  z.strictObject({ type: z.literal("filter_response"), id: requestId, sessionId: z.string(), value: bytes }),
  z.strictObject({
    type: z.literal("filter_error"),
    id: requestId,
    sessionId: z.string(),
    code: z.number().int(),
    message: z.string(),
  }),
  /** A session event for a `watch_sessions` request (`id` is that request's id). */
  z.strictObject({
    type: z.literal("session_event"),
    id: requestId,
    event: z.enum(["opened", "updated", "closed"]),
    sessionId: z.string(),
    properties: z.record(z.string(), z.string()),
  }),
  /** The server is closing the session; `code` is an error code number. */
  z.strictObject({ type: z.literal("goodbye"), code: z.number().int(), message: z.string() }),
]);

/** A frame a client sends. */
export type ClientFrame = z.infer<typeof clientFrameSchema>;
/** A frame the server sends. */
export type ServerFrame = z.infer<typeof serverFrameSchema>;
/** A client frame of one type. */
export type ClientFrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;
/** A server frame of one type. */
export type ServerFrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;
/** A topic specification as it travels. */
export type WireTopicSpecification = z.infer<typeof topicSpecificationSchema>;
/** One topic of a fetch result. */
export type FetchedTopic = z.infer<typeof fetchedTopicSchema>;
/** What a fetch returns. */
export interface FetchResult {
  topics: FetchedTopic[];
  hasMore: boolean;
}

/** WebSocket close codes the SDK door uses (4000-4999 is the application range). */
export const CloseCodes = {
  /** A frame that is not valid MessagePack or not a valid frame, and cannot be tied to a request. */
  INVALID_FRAME: 4000,
  /** No common protocol version. */
  UNSUPPORTED_VERSION: 4001,
  /** The first frame was not hello, or hello came twice. */
  HANDSHAKE: 4002,
  /** Credentials refused. */
  NOT_AUTHENTICATED: 4003,
  /** The client could not keep up with its frames. */
  SLOW_CONSUMER: 4004,
  /** Closed by an administrator or another session. */
  CLOSED_BY_SERVER: 4005,
  /** The server is shutting down. */
  SHUTTING_DOWN: 4006,
  /** The session was resumed by another connection. */
  TAKEN_OVER: 4007,
} as const;
