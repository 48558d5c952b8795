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
import { rangeQueryParametersSchema, wireEventSchema } from "./timeseries.js";
import { TOPIC_TYPES, VALUE_TYPES, topicSpecificationSchema } from "./topic-types.js";
import { securityCommandSchema } from "./security-admin.js";

/**
 * Protocol versions this package speaks, newest last. Version 2 adds `welcome.limits`; a server sends
 * it only when version 2 is chosen, so a version 1 client (whose schema refuses unknown fields) is
 * never sent it.
 */
export const PROTOCOL_VERSIONS = [1, 2] as const;

/** The server's log levels (pino's), least severe first; `silent` writes nothing. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The longest timeout a request may name (one hour): the `timeoutMs` bound of `send_request`. */
export const MAX_REQUEST_TIMEOUT_MS = 3_600_000;

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected bytes (MessagePack bin)");
const requestId = z.number().int().nonnegative();
const path = z.string().min(1).max(65535);
const selector = z.string().min(1).max(4096);

/** A JSON pointer condition of a partial-JSON constraint. */
const pointerCondition = z.union([
  z.strictObject({
    /** An RFC 6901 JSON pointer into the topic's value. */
    pointer: z.string(),
    /** Holds when the pointer selects a value equal to this JSON text. */
    equals: bytes,
  }),
  z.strictObject({
    /** An RFC 6901 JSON pointer into the topic's value. */
    pointer: z.string(),
    /** Holds when the pointer selects nothing. */
    absent: z.literal(true),
  }),
]);

/** An update constraint (a conjunction when `and` is used). */
export type Constraint =
  | {
      /** The topic has no value. */
      kind: "no-value";
    }
  | {
      /** The topic does not exist. */
      kind: "no-topic";
    }
  | {
      /** The topic's value equals `value`. */
      kind: "value-equals";
      /** The value's bytes. */
      value: Uint8Array;
    }
  | {
      /** Every condition on a JSON pointer into a json topic's value holds. */
      kind: "partial-json";
      /** The conditions (1 to 64). */
      conditions: z.infer<typeof pointerCondition>[];
    }
  | {
      /** The session holds lock `lock`. */
      kind: "locked";
      /** The lock's name. */
      lock: string;
    }
  | {
      /** Every one of `constraints` holds. */
      kind: "and";
      /** The constraints (1 to 16). */
      constraints: Constraint[];
    };

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
  z.strictObject({
    /** One session, by id. */
    sessionId: z.string().max(64),
  }),
  z.strictObject({
    /** Every session this session filter selects. */
    filter: z.string().max(4096),
  }),
]);

/** Frames a client sends. */
export const clientFrameSchema = z.discriminatedUnion("type", [
  /** First frame: protocol versions the client speaks, credentials, and optionally a session to resume. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("hello"),
    /** The protocol versions the client speaks. */
    versions: z.array(z.number().int().positive()).min(1).max(16),
    /** The principal to authenticate as; anonymous when absent. */
    principal: z.string().max(256).optional(),
    /** The principal's password. */
    password: z.string().max(1024).optional(),
    /** Session properties to set. */
    properties: z.record(z.string().max(256), z.string().max(4096)).optional(),
    /** The session to resume after a dropped connection. */
    resume: z
      .strictObject({
        /** The session's id, from its `welcome`. */
        sessionId: z.string().max(64),
        /** The session's secret token, from its `welcome`. */
        token: z.string().max(256),
        /** How many server frames the client received after its welcome. */
        received: z.number().int().nonnegative(),
      })
      .optional(),
  }),
  /**
   * Acknowledges the server frames received so far, so the server may drop them from the session's
   * replay buffer. Not a request and not numbered: it has no id, no answer, and is never re-sent.
   */
  z.strictObject({
    /** The frame type. */
    type: z.literal("ack"),
    /** How many server frames the client has received after its welcome (as `resume.received`). */
    received: z.number().int().nonnegative(),
  }),
  /** Adds a topic. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("add_topic"),
    /** The request id. */
    id: requestId,
    /** The topic's path. */
    path,
    /** The topic's specification. */
    spec: topicSpecificationSchema,
  }),
  /** Removes the topics a selector selects. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("remove_topics"),
    /** The request id. */
    id: requestId,
    /** The topic selector. */
    selector,
  }),
  /** Sets a topic's value. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("set"),
    /** The request id. */
    id: requestId,
    /** The topic's path. */
    path,
    /** The type of `value`: the topic's type. */
    valueType: z.enum(VALUE_TYPES),
    /** The value's bytes. */
    value: bytes,
    /** A constraint the update requires. */
    constraint: constraintSchema.optional(),
    /** Create the topic with this specification when it does not exist (addAndSet). */
    spec: topicSpecificationSchema.optional(),
  }),
  /** Changes a range of a topic value's bytes. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("delta"),
    /** The request id. */
    id: requestId,
    /** The topic's path. */
    path,
    /** The topic's type. */
    valueType: z.enum(VALUE_TYPES),
    /** CRC-32 of the value the delta applies to. */
    baseCrc: z.number().int().nonnegative(),
    /** Replace `deleteCount` bytes at `start` with `insert`. */
    start: z.number().int().nonnegative(),
    /** How many bytes to replace. */
    deleteCount: z.number().int().nonnegative(),
    /** The bytes that replace them. */
    insert: bytes,
  }),
  /** Selects the topics a selector selects, now and later. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("select"),
    /** The request id. */
    id: requestId,
    /** The topic selector. */
    selector,
  }),
  /** Removes a selection. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("unselect"),
    /** The request id. */
    id: requestId,
    /** The selector of the selection. */
    selector,
  }),
  /** Reads topics without selecting them, a page at a time. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("fetch"),
    /** The request id. */
    id: requestId,
    /** The topic selector. */
    selector,
    /** Include the topics' values. */
    withValues: z.boolean().optional(),
    /** Only topics of these types. */
    types: z.array(z.enum(TOPIC_TYPES)).optional(),
    /** At most this many topics, the first in path order. */
    first: z.number().int().positive().max(10_000).optional(),
    /** At most this many topics, the last in path order. */
    last: z.number().int().positive().max(10_000).optional(),
    /** Only topics whose path sorts after this one. */
    after: path.optional(),
    /** Only topics whose path sorts before this one. */
    before: path.optional(),
  }),
  /** Acquires a session lock. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("lock"),
    /** The request id. */
    id: requestId,
    /** The lock's name. */
    name: z.string().min(1).max(256),
  }),
  /** Releases a session lock. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("unlock"),
    /** The request id. */
    id: requestId,
    /** The lock's name. */
    name: z.string().min(1).max(256),
  }),
  /** A round trip. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("ping"),
    /** The request id. */
    id: requestId,
  }),
  /**
   * The server's own figures (connections, messages, drops, topics): needs `view_server`; the answer
   * is a {@link ServerStatus}. Read-only; the web console's overview charts it.
   */
  z.strictObject({
    /** The frame type. */
    type: z.literal("server_status"),
    /** The request id. */
    id: requestId,
  }),
  // Request-response messaging (DESIGN §4).
  /** Registers a request handler or a request stream. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("add_handler"),
    /** The request id. */
    id: requestId,
    /** `path`: any session may reach it; `session`: a request stream reached by sends to this session or a filter. */
    kind: z.enum(["path", "session"]),
    /** The message path (requests to paths below it reach it too). */
    path,
    /** The type of requests it takes (absent: any). */
    requestType: z.enum(VALUE_TYPES).optional(),
    /** The type of its responses (absent: what the requester asks). */
    responseType: z.enum(VALUE_TYPES).optional(),
    /** Requester session properties to pass with each request. */
    sessionProperties: z.array(z.string().max(256)).max(64).optional(),
  }),
  /** Removes a request handler or a request stream. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("remove_handler"),
    /** The request id. */
    id: requestId,
    /** Which registration: a path handler or a request stream. */
    kind: z.enum(["path", "session"]),
    /** Its message path. */
    path,
  }),
  /** Sends a request; the result is the response's bytes (or, for a filter target, a count). */
  z.strictObject({
    /** The frame type. */
    type: z.literal("send_request"),
    /** The request id. */
    id: requestId,
    /** The message path. */
    path,
    /** The type of `value`. */
    requestType: z.enum(VALUE_TYPES),
    /** The type of response expected. */
    responseType: z.enum(VALUE_TYPES),
    /** The request's bytes. */
    value: bytes,
    /** How long the handler has to answer, in ms (absent: the server's default). */
    timeoutMs: z.number().int().positive().max(MAX_REQUEST_TIMEOUT_MS).optional(),
    /** Absent: the path's handler; a session id; or every session a filter selects. */
    target: z
      .union([
        z.strictObject({
          /** One session's request stream. */
          sessionId: z.string().max(64),
        }),
        z.strictObject({
          /** The request streams of every session this session filter selects. */
          filter: z.string().max(4096),
        }),
      ])
      .optional(),
  }),
  /** A handler's answer to a `request` frame. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("respond"),
    /** The request id (of this frame). */
    id: requestId,
    /** The `rid` of the `request` frame answered. */
    rid: z.number().int().nonnegative(),
    /** The response's bytes, of the request's response type. */
    value: bytes,
  }),
  /** A handler's failure to answer a `request` frame: the requester gets `HANDLER_FAILED`. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("respond_error"),
    /** The request id (of this frame). */
    id: requestId,
    /** The `rid` of the `request` frame answered. */
    rid: z.number().int().nonnegative(),
    /** Why it failed. */
    message: z.string().max(4096),
    /**
     * Protocol 2: the response was larger than `welcome.limits.maxRequestBytes`, so it was not sent; the
     * requester gets `TOO_LARGE` instead of `HANDLER_FAILED`.
     */
    tooLarge: z.literal(true).optional(),
  }),
  // Time series (issue 9 §2, docs/timeseries.md).
  /** Appends an event to a time series; the result is `{ sequence, timestamp, author }`, once committed. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("ts_append"),
    /** The request id. */
    id: requestId,
    /** The time series topic's path. */
    path,
    /** The type of `value`: the series' event type. */
    valueType: z.enum(VALUE_TYPES),
    /** The value's bytes. */
    value: bytes,
  }),
  /** Appends an edit of event `originalSequence`; the result is the edit's metadata, once committed. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("ts_edit"),
    /** The request id. */
    id: requestId,
    /** The time series topic's path. */
    path,
    /** The type of `value`: the series' event type. */
    valueType: z.enum(VALUE_TYPES),
    /** The sequence of the original event edited. */
    originalSequence: z.number().int().nonnegative(),
    /** The new value's bytes. */
    value: bytes,
  }),
  /**
   * Runs a range query. The result's events arrive in `ts_page` frames carrying this request's id, then
   * the `result` (`{ events, selectedCount, isComplete, streamStructure, eventType }`, its `events` the
   * last page).
   */
  z.strictObject({
    /** The frame type. */
    type: z.literal("ts_query"),
    /** The request id. */
    id: requestId,
    /** The time series topic's path. */
    path,
    /** The query. */
    query: rangeQueryParametersSchema,
    /** The type to read values as: the series' event type (absent: that type), or `binary` (the bytes). */
    valueType: z.enum(VALUE_TYPES).optional(),
  }),
  // Client control (DESIGN §6, §9).
  /** Lists sessions and their properties. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("list_sessions"),
    /** The request id. */
    id: requestId,
    /** Only sessions this session filter selects (absent: all). */
    filter: z.string().max(4096).optional(),
  }),
  /** Reads one session's properties. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("get_properties"),
    /** The request id. */
    id: requestId,
    /** The session's id. */
    sessionId: z.string().max(64),
  }),
  /** Reads one session's subscriptions (MQTT topic filters, SDK selections). */
  z.strictObject({
    /** The frame type. */
    type: z.literal("get_subscriptions"),
    /** The request id. */
    id: requestId,
    /** The session's id. */
    sessionId: z.string().max(64),
  }),
  /** Sets user properties of sessions. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("set_properties"),
    /** The request id. */
    id: requestId,
    /** Whose properties. */
    target: sessionTarget,
    /** The properties to set. */
    properties: z.record(z.string().max(256), z.string().max(4096)),
  }),
  /** Closes sessions. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("close_sessions"),
    /** The request id. */
    id: requestId,
    /** Which sessions. */
    target: sessionTarget,
  }),
  /** Subscribes other sessions to the topics a selector selects. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("subscribe_sessions"),
    /** The request id. */
    id: requestId,
    /** Which sessions. */
    target: sessionTarget,
    /** The topic selector. */
    selector,
  }),
  /** Unsubscribes other sessions. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("unsubscribe_sessions"),
    /** The request id. */
    id: requestId,
    /** Which sessions. */
    target: sessionTarget,
    /** The topic selector. */
    selector,
  }),
  /** Watches sessions open, change and close (`session_event` frames follow). */
  z.strictObject({
    /** The frame type. */
    type: z.literal("watch_sessions"),
    /** The request id; `session_event` frames carry it. */
    id: requestId,
    /** Only sessions this session filter selects (absent: all). */
    filter: z.string().max(4096).optional(),
  }),
  /** Stops a watch. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("unwatch_sessions"),
    /** The request id. */
    id: requestId,
    /** The request id of the `watch_sessions` to stop. */
    watch: requestId,
  }),
  // Server control (DESIGN §9).
  /** Reads the server's log level, and sets it when `level` is given; the result is `{ level }` (now). */
  z.strictObject({
    /** The frame type. */
    type: z.literal("log_level"),
    /** The request id. */
    id: requestId,
    /** The level to set (pino's levels); absent to read it. */
    level: z.enum(LOG_LEVELS).optional(),
  }),
  // Security administration (DESIGN §7, docs/security.md).
  /**
   * Reads or changes the security store: `get` needs `view_security` and returns the store's view
   * (`SecurityStoreView`); every other command needs `modify_security` and answers once persisted.
   */
  z.strictObject({
    /** The frame type. */
    type: z.literal("security"),
    /** The request id. */
    id: requestId,
    /** What to do. */
    command: securityCommandSchema,
  }),
]);

/** One topic of a fetch result. */
export const fetchedTopicSchema = z.strictObject({
  /** The topic's path. */
  path,
  /** The topic's specification. */
  spec: topicSpecificationSchema,
  /** The value's bytes, when asked for and the topic has one. */
  value: bytes.optional(),
});

/** Frames the server sends. */
export const serverFrameSchema = z.discriminatedUnion("type", [
  /** The handshake's answer to `hello`. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("welcome"),
    /** The protocol version chosen. */
    version: z.number().int().positive(),
    /** The session's id. */
    sessionId: z.string(),
    /** Secret the client presents to resume this session. */
    token: z.string(),
    /** How long the session outlives a dropped connection. */
    reconnectTimeoutMs: z.number().int().nonnegative(),
    /** True when a session was resumed; false when a new session started. */
    resumed: z.boolean(),
    /** On resumption: how many client frames after hello the server had processed. */
    processed: z.number().int().nonnegative(),
    /** The server's size limits (protocol version 2 and later), for the client to check before sending. */
    limits: z
      .strictObject({
        /** Largest WebSocket message (one or more frames) the server processes, in bytes. */
        maxFrameBytes: z.number().int().positive(),
        /** Largest request or response value of `send_request` and `respond`, in bytes. */
        maxRequestBytes: z.number().int().positive(),
      })
      .optional(),
  }),
  /** A request succeeded. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("result"),
    /** The request's id. */
    id: requestId,
    /** What it returns, if anything (see each request). */
    value: z.unknown().optional(),
  }),
  /** A request failed. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("error"),
    /** The request's id. */
    id: requestId,
    /** The error code's number (see `ErrorCodes`). */
    code: z.number().int(),
    /** What went wrong. */
    message: z.string(),
  }),
  /** A topic now selected by this session: `tid` names it in later `v` frames. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("topic"),
    /** The server-wide topic id. */
    tid: z.number().int().nonnegative(),
    /** The topic's path. */
    path,
    /** The topic's specification. */
    spec: topicSpecificationSchema,
    /** Its current value's bytes, if it has one. */
    value: bytes.optional(),
  }),
  /** A new value of topic `t` (a server-wide topic id). The same bytes go to every subscriber. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("v"),
    /** The topic id (`tid` of its `topic` frame). */
    t: z.number().int().nonnegative(),
    /** The value's bytes. */
    v: bytes,
  }),
  /** A page of a `ts_query` result (`id` is that request's id); more pages or its `result` follow. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("ts_page"),
    /** The id of the `ts_query`. */
    id: requestId,
    /** The page's events, in result order. */
    events: z.array(wireEventSchema),
  }),
  /** A new event of the time series topic `t`, or one of its subscription range after its `topic` frame. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("e"),
    /** The topic id (`tid` of its `topic` frame). */
    t: z.number().int().nonnegative(),
    /** The event. */
    e: wireEventSchema,
  }),
  /** A topic no longer selected (unselected, removed, or no longer permitted). */
  z.strictObject({
    /** The frame type. */
    type: z.literal("untopic"),
    /** The topic id. */
    tid: z.number().int().nonnegative(),
    /** Why. */
    reason: z.enum(["unselected", "removed", "not-permitted"]),
  }),
  /** A request for a handler this session registered; answer with `respond` or `respond_error`. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("request"),
    /** The server's id of the request, for `respond` and `respond_error`. */
    rid: z.number().int().nonnegative(),
    /** The message path it was sent to. */
    path,
    /** The type of `value`. */
    requestType: z.enum(VALUE_TYPES),
    /** The type the response must have. */
    responseType: z.enum(VALUE_TYPES),
    /** The request's bytes. */
    value: bytes,
    /** The requester's session id, and the session properties the handler asked for. */
    sessionId: z.string().optional(),
    /** The requester's session properties the handler asked for. */
    properties: z.record(z.string(), z.string()),
    /**
     * The registration the server chose: its kind and registered path (a session may have a handler
     * and a request stream that both match the request's path).
     */
    handler: z
      .strictObject({
        /** A path handler or a request stream. */
        kind: z.enum(["path", "session"]),
        /** The registered path. */
        path,
      })
      .optional(),
  }),
  /** One session's answer to a `send_request` with a filter target (`id` is that request's id). */
  z.strictObject({
    /** The frame type. */
    type: z.literal("filter_response"),
    /** The id of the `send_request`. */
    id: requestId,
    /** The session that answered. */
    sessionId: z.string(),
    /** The response's bytes. */
    value: bytes,
  }),
  /** One session's failure to answer a `send_request` with a filter target. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("filter_error"),
    /** The id of the `send_request`. */
    id: requestId,
    /** The session that failed. */
    sessionId: z.string(),
    /** The error code's number. */
    code: z.number().int(),
    /** What went wrong. */
    message: z.string(),
  }),
  /** A session event for a `watch_sessions` request (`id` is that request's id). */
  z.strictObject({
    /** The frame type. */
    type: z.literal("session_event"),
    /** The id of the `watch_sessions` request. */
    id: requestId,
    /** What happened. */
    event: z.enum(["opened", "updated", "closed"]),
    /** The session it happened to. */
    sessionId: z.string(),
    /** The session's properties now. */
    properties: z.record(z.string(), z.string()),
  }),
  /** The server is closing the session; `code` is an error code number. */
  z.strictObject({
    /** The frame type. */
    type: z.literal("goodbye"),
    /** The error code's number. */
    code: z.number().int(),
    /** Why. */
    message: z.string(),
  }),
]);

/** A frame a client sends. */
export type ClientFrame = z.infer<typeof clientFrameSchema>;
/** A frame the server sends. */
export type ServerFrame = z.infer<typeof serverFrameSchema>;
/** A client frame of one type. */
export type ClientFrameOf<T extends ClientFrame["type"]> = Extract<
  ClientFrame,
  {
    /** The frame type. */
    type: T;
  }
>;
/** A server frame of one type. */
export type ServerFrameOf<T extends ServerFrame["type"]> = Extract<
  ServerFrame,
  {
    /** The frame type. */
    type: T;
  }
>;
/** One topic of a fetch result. */
export type FetchedTopic = z.infer<typeof fetchedTopicSchema>;
/** What a fetch returns. */
export interface FetchResult {
  /** The topics, in path order. */
  topics: FetchedTopic[];
  /** True when the page was cut: more topics match. */
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
  /** No `hello` arrived within the server's handshake timeout (`sdk.handshakeTimeoutMs`). */
  HANDSHAKE_TIMEOUT: 4008,
  /** The credentials the session was let in with expired (a JWT's `exp`); the session has ended. */
  CREDENTIALS_EXPIRED: 4009,
} as const;
