/**
 * Request-response messaging (`session.messaging`, DESIGN §4): request handlers on message paths,
 * request streams reached by session id or session filter, and the three ways to send a request.
 * `docs/messaging.md` is the guide.
 *
 * @module
 */
import {
  MAX_REQUEST_TIMEOUT_MS,
  type ServerFrameOf,
  SkeinError,
  VALUE_TYPES,
  type ValueType,
  checkPath,
  parseSessionFilter,
} from "@skein/protocol";
import { type InputValueOf, type ValueOf, checkValueType, decodeValue, encodeValue } from "../values.js";
import { FilterRequests } from "./filter-requests.js";
import {
  type HandlerEntry,
  type HandlerKind,
  type HandlerRegistration,
  HandlerRegistry,
  type RequestHandler,
  type RequestHandlerOptions,
  type RequestStream,
} from "./request-handlers.js";
import { type Requester, numberOf } from "./results.js";

/** Options of {@link MessagingFeature.sendRequest} and {@link MessagingFeature.sendRequestToSession}. */
export interface SendRequestOptions<TRequest extends ValueType, TResponse extends ValueType> {
  /** The type of the request value. */
  requestType: TRequest;
  /** The type of response expected; the handler must answer this type. */
  responseType: TResponse;
  /**
   * How long the handler has to answer, in ms (1 to 3,600,000), else `REQUEST_TIMEOUT`. Default: the
   * session's `requestTimeoutMs` (or the server's default when that is 0).
   */
  timeout?: number;
}

/** Options of {@link MessagingFeature.sendRequestToFilter}. */
export interface SendToFilterOptions<
  TRequest extends ValueType,
  TResponse extends ValueType,
> extends SendRequestOptions<TRequest, TResponse> {
  /** One session's response. */
  onResponse(sessionId: string, response: ValueOf[TResponse]): void;
  /** One session's failure (`REQUEST_TIMEOUT`, `HANDLER_FAILED`, `HANDLER_SESSION_CLOSED`, …). */
  onError?(sessionId: string, error: SkeinError): void;
}

/** How much longer than the request's own timeout the SDK waits for the server's answer. */
const ANSWER_GRACE_MS = 5_000;

/** Request-response messaging. */
export class MessagingFeature {
  private readonly handlers: HandlerRegistry;
  private readonly filterRequests = new FilterRequests();

  /**
   * @internal
   * @param link - sends frames
   * @param defaultTimeoutMs - the session's `requestTimeoutMs` (0: the server's default)
   * @param report - told of failures that belong to no call (the session's `error` event)
   */
  constructor(
    private readonly link: Requester,
    private readonly defaultTimeoutMs: number,
    private readonly report: (error: SkeinError) => void,
  ) {
    this.handlers = new HandlerRegistry(link, report);
  }

  /**
   * Registers a request handler for `path`: requests sent to `path`, or to a path below it that has no
   * more specific handler, reach it. Several sessions may handle one path: requests are spread round
   * robin across them. One handler per path per session. It survives reconnections; if a reconnection
   * starts a new session, it is registered again on the new session.
   *
   * @example
   * ```ts
   * const registration = await session.messaging.addRequestHandler(
   *   "services/echo",
   *   (request, { sessionId }) => ({ echo: request, from: sessionId }),
   *   { requestType: "json", responseType: "json" },
   * );
   * // later
   * await registration.close();
   * ```
   * @throws SkeinError `HANDLER_EXISTS`, `INVALID_PATH`, `INVALID_ARGUMENT` (not a value type),
   *   `NOT_AUTHORIZED`
   */
  async addRequestHandler<TRequest extends ValueType, TResponse extends ValueType>(
    path: string,
    handler: RequestHandler<TRequest, TResponse>,
    options: RequestHandlerOptions<TRequest, TResponse>,
  ): Promise<HandlerRegistration> {
    if (typeof handler !== "function") throw new SkeinError("INVALID_ARGUMENT", "handler must be a function");
    return this.register("path", path, options, {
      call: (_path, request, context) => handler(request as ValueOf[TRequest], context),
      onError: this.report,
      onClose: () => {},
    });
  }

  /**
   * Sets a request stream for `path`: requests sent to this session ({@link sendRequestToSession}) or
   * to a session filter that selects it ({@link sendRequestToFilter}) for `path` or a path below it
   * reach it. One stream per path per session. It survives reconnections; if a reconnection starts a
   * new session, it is set again on the new session.
   *
   * @example
   * ```ts
   * await session.messaging.setRequestStream(
   *   "commands/reboot",
   *   { onRequest: (_path, delayMs) => `rebooting in ${delayMs} ms` },
   *   { requestType: "int64", responseType: "string" },
   * );
   * ```
   * @throws SkeinError `HANDLER_EXISTS`, `INVALID_PATH`, `INVALID_ARGUMENT`, `NOT_AUTHORIZED`
   */
  async setRequestStream<TRequest extends ValueType, TResponse extends ValueType>(
    path: string,
    stream: RequestStream<TRequest, TResponse>,
    options: RequestHandlerOptions<TRequest, TResponse>,
  ): Promise<HandlerRegistration> {
    if (typeof stream?.onRequest !== "function") {
      throw new SkeinError("INVALID_ARGUMENT", "a request stream needs an onRequest callback");
    }
    let closed = false;
    return this.register("session", path, options, {
      call: (p, request, context) => stream.onRequest(p, request as ValueOf[TRequest], context),
      onError: (error) => (stream.onError ? stream.onError(error) : this.report(error)),
      onClose: () => {
        if (closed) return;
        closed = true;
        stream.onClose?.();
      },
    });
  }

  /**
   * Sends a request to the handler of `path` (the most specific registered path at or above it) and
   * resolves with its response.
   *
   * @example
   * ```ts
   * const sum = await session.messaging.sendRequest("calc/add", [1, 2], {
   *   requestType: "json",
   *   responseType: "double",
   *   timeout: 5000,
   * });
   * ```
   * @throws SkeinError `NO_HANDLER`, `REQUEST_TIMEOUT`, `HANDLER_FAILED` (with the handler's message),
   *   `HANDLER_SESSION_CLOSED`, `REQUEST_TYPE_MISMATCH`, `TOO_LARGE`, `INVALID_PATH`,
   *   `INVALID_ARGUMENT` (a value not of `requestType`, a bad timeout), `NOT_AUTHORIZED`
   */
  sendRequest<TRequest extends ValueType, TResponse extends ValueType>(
    path: string,
    request: InputValueOf[TRequest],
    options: SendRequestOptions<TRequest, TResponse>,
  ): Promise<ValueOf[TResponse]> {
    // Not async: one promise per request, the response decoded as its result arrives.
    let built;
    try {
      built = this.requestFrame(path, request, options, undefined);
    } catch (err) {
      return Promise.reject(SkeinError.from(err));
    }
    return this.link.request(built.frame, `request to ${path}`, {
      timeoutMs: built.linkTimeoutMs,
      decode: RESPONSE_DECODERS[options.responseType],
    }) as Promise<ValueOf[TResponse]>;
  }

  /**
   * Sends a request to the request stream session `sessionId` set for `path` (or a path above it) and
   * resolves with its response.
   * @throws SkeinError `NO_HANDLER` (no such stream, or no such session), and as {@link sendRequest}
   */
  async sendRequestToSession<TRequest extends ValueType, TResponse extends ValueType>(
    sessionId: string,
    path: string,
    request: InputValueOf[TRequest],
    options: SendRequestOptions<TRequest, TResponse>,
  ): Promise<ValueOf[TResponse]> {
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64) {
      throw new SkeinError("INVALID_ARGUMENT", "a session id has 1 to 64 characters");
    }
    const { frame, linkTimeoutMs } = this.requestFrame(path, request, options, { sessionId });
    return (await this.link.request(frame, `request to ${sessionId}`, {
      timeoutMs: linkTimeoutMs,
      decode: RESPONSE_DECODERS[options.responseType],
    })) as ValueOf[TResponse];
  }

  /**
   * Sends a request to every session that `filter` selects and that has a request stream for `path`
   * (SDK sessions with {@link setRequestStream}, MQTT clients subscribed to `$request/<path>`).
   * Resolves with how many sessions it was sent to; their answers follow, one call of `onResponse` or
   * `onError` per session. Answers still due when a reconnection starts a new session are lost.
   *
   * @example
   * ```ts
   * const sent = await session.messaging.sendRequestToFilter("group eq 'g1'", "status", "?", {
   *   requestType: "string",
   *   responseType: "json",
   *   onResponse: (sessionId, status) => console.log(sessionId, status),
   *   onError: (sessionId, error) => console.warn(sessionId, error.code),
   * });
   * ```
   * @throws SkeinError `INVALID_FILTER` (with the position of the problem, checked before sending),
   *   `INVALID_PATH`, `INVALID_ARGUMENT`, `NOT_AUTHORIZED`
   */
  async sendRequestToFilter<TRequest extends ValueType, TResponse extends ValueType>(
    filter: string,
    path: string,
    request: InputValueOf[TRequest],
    options: SendToFilterOptions<TRequest, TResponse>,
  ): Promise<number> {
    parseSessionFilter(filter);
    if (typeof options.onResponse !== "function") {
      throw new SkeinError("INVALID_ARGUMENT", "sendRequestToFilter needs an onResponse callback");
    }
    const { frame } = this.requestFrame(path, request, options, { filter });
    const responseType = options.responseType;
    let id: number | undefined;
    try {
      const count = await this.link.request(frame, `request to ${filter}`, {
        onId: (sent) => {
          id = sent;
          this.filterRequests.sent(sent, {
            decode: (bytes) => decodeValue(responseType, bytes),
            onResponse: (sessionId, response) =>
              options.onResponse(sessionId, response as ValueOf[TResponse]),
            onError: (sessionId, error) => options.onError?.(sessionId, error),
          });
        },
      });
      const n = numberOf("sendRequestToFilter", count);
      if (id !== undefined) this.filterRequests.counted(id, n);
      return n;
    } catch (err) {
      if (id !== undefined) this.filterRequests.failed(id);
      throw err;
    }
  }

  /** @internal A frame for this feature arrived. */
  receive(frame: ServerFrameOf<"request" | "filter_response" | "filter_error">): void {
    if (frame.type === "request") this.handlers.handle(frame);
    else this.filterRequests.answer(frame);
  }

  /** @internal A reconnection started a new session: register again, forget answers due. */
  newSession(): void {
    this.filterRequests.clear();
    this.handlers.newSession();
  }

  /** @internal The session closed. */
  closed(): void {
    this.filterRequests.clear();
    this.handlers.closed();
  }

  private register(
    kind: HandlerKind,
    path: string,
    options: RequestHandlerOptions<ValueType, ValueType>,
    callbacks: Pick<HandlerEntry, "call" | "onError" | "onClose">,
  ): Promise<HandlerRegistration> {
    checkPath(path);
    const entry: HandlerEntry = {
      kind,
      path,
      ...typesOf(options),
      sessionProperties: checkNames(options.sessionProperties),
      accepted: false,
      ...callbacks,
    };
    return this.handlers.add(entry);
  }

  /**
   * The `send_request` frame of a request, and how long the SDK waits for its answer.
   * @throws SkeinError `INVALID_PATH`, `INVALID_ARGUMENT`
   */
  private requestFrame<TRequest extends ValueType>(
    path: string,
    request: InputValueOf[TRequest],
    options: SendRequestOptions<TRequest, ValueType>,
    target: { sessionId: string } | { filter: string } | undefined,
  ) {
    checkPath(path);
    const { requestType, responseType } = typesOf(options);
    const timeoutMs = options.timeout ?? (this.defaultTimeoutMs > 0 ? this.defaultTimeoutMs : undefined);
    if (
      timeoutMs !== undefined &&
      (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_REQUEST_TIMEOUT_MS)
    ) {
      throw new SkeinError(
        "INVALID_ARGUMENT",
        `timeout must be an integer from 1 to ${MAX_REQUEST_TIMEOUT_MS} ms`,
      );
    }
    const frame = {
      type: "send_request" as const,
      path,
      requestType,
      responseType,
      value: encodeValue(requestType, request),
      timeoutMs, // undefined: left out of the frame
      // Built here rather than by spreading a frame without it: in V8 an object made by spread with a
      // field added gets a hidden class of its own, then one more for the `id` the channel sets
      // (docs/performance.md "GC and the QoS 1 latency tail").
      target,
    };
    // The server ends the request at its timeout; the SDK's own clock is only a safety net.
    const linkTimeoutMs = timeoutMs === undefined ? 0 : timeoutMs + ANSWER_GRACE_MS;
    return { frame, linkTimeoutMs };
  }
}

function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new SkeinError("PROTOCOL_ERROR", "the response of a request is not bytes");
}

/** Per response type: the result value of a request -> the response (made once, shared). */
const RESPONSE_DECODERS = Object.fromEntries(
  VALUE_TYPES.map((type) => [type, (value: unknown) => decodeValue(type, bytesOf(value))]),
) as Record<ValueType, (value: unknown) => unknown>;

/**
 * The declared request and response types.
 * @throws SkeinError `INVALID_ARGUMENT` when either is missing or not a value type
 */
function typesOf(options: { requestType: ValueType; responseType: ValueType } | undefined): {
  requestType: ValueType;
  responseType: ValueType;
} {
  if (typeof options !== "object" || options === null) {
    throw new SkeinError("INVALID_ARGUMENT", "options with requestType and responseType are required");
  }
  return {
    requestType: checkValueType(options.requestType),
    responseType: checkValueType(options.responseType),
  };
}

function checkNames(names: readonly string[] | undefined): readonly string[] | undefined {
  if (names === undefined) return undefined;
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string" || n.length === 0 || n.length > 256)) {
    throw new SkeinError("INVALID_ARGUMENT", "sessionProperties is a list of property names");
  }
  if (names.length > 64) throw new SkeinError("INVALID_ARGUMENT", "at most 64 sessionProperties");
  return [...names];
}
