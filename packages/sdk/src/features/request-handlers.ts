/**
 * The session's side of request handling: the request handlers and request streams it has
 * registered, and what happens to a `request` frame (decode, call, encode, `respond` or
 * `respond_error`).
 *
 * Registrations are kept locally from the moment they are sent, so a request that arrives together
 * with the `add_handler` result finds its handler. The server keeps registrations while the session
 * lives (a resumed reconnection changes nothing); when a reconnection starts a new session, every
 * registration the server had accepted is sent again ({@link HandlerRegistry.newSession}).
 *
 * @module
 */
import { type ServerFrameOf, SkeinError, type ValueType } from "@skein/protocol";
import { type InputValueOf, type ValueOf, decodeValue, encodeValue } from "../values.js";
import type { Requester } from "./results.js";

/** What a handler is told about a request besides its value. */
export interface RequestContext {
  /** The requester's session id (`""` when the server itself sent the request). */
  readonly sessionId: string;
  /** The path the request was sent to: the registered path or a path below it. */
  readonly path: string;
  /** The requester's session properties the handler asked for (`sessionProperties`). */
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * A request handler: returns the response (or a promise of it). Whatever it throws (or a response that
 * is not a value of the response type) fails the request: the requester gets `HANDLER_FAILED` with the
 * thrown error's message.
 */
export type RequestHandler<TRequest extends ValueType, TResponse extends ValueType> = (
  request: ValueOf[TRequest],
  context: RequestContext,
) => InputValueOf[TResponse] | Promise<InputValueOf[TResponse]>;

/**
 * A request stream: receives the requests sent to this session (by session id or by a session filter)
 * for its path or a path below it.
 */
export interface RequestStream<TRequest extends ValueType, TResponse extends ValueType> {
  /** Answers one request, as a {@link RequestHandler} does; `path` is the path it was sent to. */
  onRequest(
    path: string,
    request: ValueOf[TRequest],
    context: RequestContext,
  ): InputValueOf[TResponse] | Promise<InputValueOf[TResponse]>;
  /**
   * Something went wrong outside a request: the stream could not be registered again on a new session
   * (it is then closed), or an answer could not be sent.
   */
  onError?(error: SkeinError): void;
  /** The stream is closed: by its registration's `close()`, by the session closing, or after a failure. */
  onClose?(): void;
}

/** The declared types of a handler or stream, and the requester properties it wants. */
export interface RequestHandlerOptions<TRequest extends ValueType, TResponse extends ValueType> {
  /** The type of the requests it takes; a request of another type is refused before it is called. */
  requestType: TRequest;
  /** The type of its responses; requesters must ask for this type. */
  responseType: TResponse;
  /** Requester session properties to pass in {@link RequestContext.properties} (e.g. `$Principal`). */
  sessionProperties?: readonly string[];
}

/** A registered handler or request stream. */
export interface HandlerRegistration {
  /** The registered path. */
  readonly path: string;
  /** Removes the registration (a stream hears `onClose`). Resolves once the server has removed it. */
  close(): Promise<void>;
}

/** Where a registration applies: `path` (any requester) or `session` (a request stream). */
export type HandlerKind = "path" | "session";

/** One registration, as this side keeps it. */
export interface HandlerEntry {
  /** A request handler (`path`) or a request stream (`session`). */
  readonly kind: HandlerKind;
  /** The registered path. */
  readonly path: string;
  /** The declared request type: requests are decoded as this. */
  readonly requestType: ValueType;
  /** The declared response type: responses are encoded as this. */
  readonly responseType: ValueType;
  /** Requester properties the handler asked for. */
  readonly sessionProperties: readonly string[] | undefined;
  /** Calls the application's handler or stream. */
  call(path: string, request: unknown, context: RequestContext): unknown;
  /** Reports an error outside a request. */
  onError(error: SkeinError): void;
  /** The registration is gone. */
  onClose(): void;
  /** True once the server has accepted it (in this or an earlier session). */
  accepted: boolean;
}

/** Errors meaning "the session that had this is gone": nothing to report. */
const GONE = new Set(["SESSION_CLOSED", "SESSION_NOT_RESUMED"]);
/** The longest message a `respond_error` frame carries. */
const MAX_ERROR_MESSAGE = 4096;

/** The registrations of a session. */
export class HandlerRegistry {
  private readonly entries = {
    path: new Map<string, HandlerEntry>(),
    session: new Map<string, HandlerEntry>(),
  };

  /**
   * @param link - sends frames
   * @param report - told of failures that belong to no registration (the session's `error` event)
   */
  constructor(
    private readonly link: Requester,
    private readonly report: (error: SkeinError) => void,
  ) {}

  /**
   * Registers `entry` with the server; resolves with its registration once accepted.
   * @throws SkeinError `HANDLER_EXISTS` (this session has one for the path), `INVALID_PATH`, …
   */
  async add(entry: HandlerEntry): Promise<HandlerRegistration> {
    const map = this.entries[entry.kind];
    if (map.has(entry.path)) {
      const what = entry.kind === "path" ? "a request handler" : "a request stream";
      throw new SkeinError("HANDLER_EXISTS", `this session already has ${what} for ${entry.path}`);
    }
    map.set(entry.path, entry);
    try {
      await this.register(entry);
    } catch (err) {
      if (map.get(entry.path) === entry) map.delete(entry.path);
      throw err;
    }
    return { path: entry.path, close: () => this.remove(entry) };
  }

  /**
   * A `request` frame: finds its registration, calls it and sends the answer. A handler that answers
   * at once (no promise) is answered in the same turn, with no promise made on the way.
   */
  handle(frame: ServerFrameOf<"request">): void {
    const entry = frame.handler
      ? this.lookup(frame.handler.kind, frame.handler.path)
      : (this.mostSpecific("path", frame.path) ?? this.mostSpecific("session", frame.path));
    if (!entry) return this.respondError(frame.rid, `no handler for ${frame.path} in this session`);
    let response: unknown;
    try {
      const request = decodeValue(entry.requestType, frame.value);
      const context = { sessionId: frame.sessionId ?? "", path: frame.path, properties: frame.properties };
      response = entry.call(frame.path, request, context);
    } catch (err) {
      return this.respondError(frame.rid, messageOf(err), entry);
    }
    if (isThenable(response)) {
      response.then(
        (value) => this.respond(frame.rid, entry, value),
        (err: unknown) => this.respondError(frame.rid, messageOf(err), entry),
      );
    } else this.respond(frame.rid, entry, response);
  }

  /** Sends a handler's response, or the error it makes when it is not a value of the response type. */
  private respond(rid: number, entry: HandlerEntry, response: unknown): void {
    let value: Uint8Array;
    try {
      value = encodeResponse(entry.responseType, response);
    } catch (err) {
      return this.respondError(rid, messageOf(err), entry);
    }
    this.send({ type: "respond", rid, value }, entry);
  }

  /** A new session replaced the old one: registers again what the server had accepted. */
  newSession(): void {
    for (const map of Object.values(this.entries)) {
      for (const entry of map.values()) {
        // One never accepted is still being added by its caller, who gets SESSION_NOT_RESUMED.
        if (!entry.accepted) continue;
        this.register(entry).catch((err: unknown) => {
          const error = SkeinError.from(err);
          // Gone: the session closed, or yet another new session registers it again.
          if (GONE.has(error.code) || map.get(entry.path) !== entry) return;
          map.delete(entry.path);
          entry.onError(error);
          entry.onClose();
        });
      }
    }
  }

  /** The session closed: every registration is gone. */
  closed(): void {
    for (const map of Object.values(this.entries)) {
      const gone = [...map.values()];
      map.clear();
      for (const entry of gone) entry.onClose();
    }
  }

  private async register(entry: HandlerEntry): Promise<void> {
    await this.link.request(
      {
        type: "add_handler",
        kind: entry.kind,
        path: entry.path,
        requestType: entry.requestType,
        responseType: entry.responseType,
        ...(entry.sessionProperties && { sessionProperties: [...entry.sessionProperties] }),
      },
      `add ${entry.kind === "path" ? "handler" : "request stream"} ${entry.path}`,
    );
    entry.accepted = true;
  }

  private async remove(entry: HandlerEntry): Promise<void> {
    const map = this.entries[entry.kind];
    if (map.get(entry.path) !== entry) return;
    map.delete(entry.path);
    entry.onClose();
    try {
      await this.link.request({ type: "remove_handler", kind: entry.kind, path: entry.path });
    } catch (err) {
      if (!(err instanceof SkeinError && GONE.has(err.code))) throw err;
    }
  }

  private lookup(kind: HandlerKind, path: string): HandlerEntry | undefined {
    return this.entries[kind].get(path);
  }

  /** The registration of `path` or of its nearest registered ancestor (the server's rule). */
  private mostSpecific(kind: HandlerKind, path: string): HandlerEntry | undefined {
    for (let p = path; ; p = p.slice(0, p.lastIndexOf("/"))) {
      const entry = this.lookup(kind, p);
      if (entry || !p.includes("/")) return entry;
    }
  }

  private respondError(rid: number, message: string, entry?: HandlerEntry, tooLarge = false): void {
    const text = message.slice(0, MAX_ERROR_MESSAGE);
    this.send(
      tooLarge
        ? { type: "respond_error", rid, message: text, tooLarge }
        : { type: "respond_error", rid, message: text },
      entry,
    );
  }

  /** Sends an answer; a failure (other than the session being gone) is reported, never thrown. */
  private send(
    frame:
      | { type: "respond"; rid: number; value: Uint8Array }
      | { type: "respond_error"; rid: number; message: string; tooLarge?: true },
    entry: HandlerEntry | undefined,
  ): void {
    this.link.post(frame, "answer to a request", (error) => {
      if (GONE.has(error.code)) return;
      // A response too large to send: the requester must still hear an answer, not wait for its
      // timeout: TOO_LARGE from a server that announced its limits (protocol 2), else HANDLER_FAILED
      // with this message. The handler hears TOO_LARGE.
      if (error.code === "TOO_LARGE" && frame.type === "respond") {
        this.respondError(frame.rid, error.message, undefined, this.link.serverLimits !== undefined);
      }
      if (entry) entry.onError(error);
      else this.report(error);
    });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * The bytes of a handler's response.
 * @throws SkeinError `INVALID_ARGUMENT` when it is not a value of `type`
 */
function encodeResponse(type: ValueType, response: unknown): Uint8Array {
  try {
    return encodeValue(type, response as InputValueOf[ValueType]);
  } catch (err) {
    throw new SkeinError("INVALID_ARGUMENT", `invalid response: ${messageOf(err)}`, { cause: err });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
