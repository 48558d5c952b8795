/**
 * Request-response messaging (DESIGN §4): handlers registered on message paths, requests routed to
 * the most specific registered path and spread across its handlers, to one session, or to every
 * session a filter selects. Doors adapt their sessions as {@link RequestEndpoint}s; the core only
 * routes, checks types, times out and correlates.
 */
import {
  type Deadline,
  Deadlines,
  type ErrorCode,
  SkeinError,
  VALUE_CODECS,
  type ValueType,
} from "@skein/protocol";
import type { Counter, Metrics } from "./metrics.js";
import { PendingRequests } from "./pending-requests.js";
import type { Clock } from "./ports.js";

/** A request as a handler receives it. */
export interface InboundRequest {
  /** Server-wide id; the endpoint answers with {@link Messaging.respond}. */
  readonly requestId: number;
  /** The message path the request was sent to. */
  readonly path: string;
  /** The type of `payload`. */
  readonly requestType: ValueType;
  /** The type the requester expects back. */
  readonly responseType: ValueType;
  readonly payload: Uint8Array;
  /** Session that sent it (undefined for server-originated requests). */
  readonly fromSessionId: string | undefined;
  /** The requester's session properties the handler asked for. */
  readonly properties: Readonly<Record<string, string>>;
  /** The registration the request was routed to: its kind and registered path. */
  readonly handler: { readonly kind: HandlerKind; readonly path: string };
}

/** Something that can handle requests: an SDK session, an MQTT session subscribed to a request path. */
export interface RequestEndpoint {
  readonly sessionId: string;
  /** Hands a request to the session. Must not throw. */
  deliverRequest(request: InboundRequest): void;
}

/** Where a handler registration applies. */
export type HandlerKind = "path" | "session";

/** A handler's declared types and the requester properties it wants. */
export interface HandlerOptions {
  /** Requests must be of this type (undefined: any). */
  requestType?: ValueType;
  /** The handler's responses are of this type (undefined: whatever the requester asks). */
  responseType?: ValueType;
  /** Requester session properties passed to the handler. */
  sessionProperties?: readonly string[];
}

/** A request to send. */
export interface OutboundRequest {
  path: string;
  /** Declared type of the payload; undefined = untyped bytes (MQTT), checked against the handler's type. */
  requestType: ValueType | undefined;
  responseType: ValueType | undefined;
  payload: Uint8Array;
  fromSessionId: string | undefined;
  timeoutMs: number;
}

/** What a request ends with. */
export type RequestOutcome =
  | { ok: true; payload: Uint8Array; responseType: ValueType }
  | { ok: false; code: ErrorCode; message: string };

/** Told the outcome of a request, exactly once. */
export type OutcomeCallback = (outcome: RequestOutcome) => void;

interface Registration {
  /**
   * Its kind and registered path (requests to paths below it reach it too): what requests routed
   * here carry as their `handler`, one object for all of them.
   */
  handler: InboundRequest["handler"];
  endpoint: RequestEndpoint;
  options: HandlerOptions;
}

interface Pending extends Deadline {
  requestId: number;
  timeoutMs: number;
  callback: OutcomeCallback;
  handlerSessionId: string;
  responseType: ValueType;
  /** Clock time the request was sent to its handler (for the latency histogram). */
  startedAt: number;
}

/** The properties of a request whose handler asked for none. */
const NO_PROPERTIES: Readonly<Record<string, string>> = Object.freeze({});

/** Session lookups messaging needs (the registry provides them). */
export interface SessionDirectory {
  properties(sessionId: string): Readonly<Record<string, string>> | undefined;
}

/** The request-response router. */
export class Messaging {
  /** Path handlers: path -> registrations (requests spread round robin). */
  private readonly byPath = new Map<string, { list: Registration[]; next: number }>();
  /** Session request streams: session -> path -> registration. */
  private readonly bySession = new Map<string, Map<string, Registration>>();
  /** Requests waiting for an answer, by request id (not a `Map`: see pending-requests.ts). */
  private readonly pending = new PendingRequests<Pending>();
  private readonly deadlines: Deadlines<Pending>;
  private readonly requestsCounter: Counter;

  constructor(
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly sessions: SessionDirectory,
    private readonly maxRequestBytes: number,
  ) {
    this.requestsCounter = metrics.counter("messaging_requests_total");
    // One timer for every request's timeout: most are answered long before it.
    this.deadlines = new Deadlines(clock, (p) =>
      this.settle(p, {
        ok: false,
        code: "REQUEST_TIMEOUT",
        message: `no answer within ${p.timeoutMs} ms`,
      }),
    );
  }

  /**
   * Registers `endpoint` for `path`: as a path handler (any requester may reach it) or as a session
   * request stream (reached by sends to this session or to a filter). One per path per session.
   * @throws SkeinError `HANDLER_EXISTS`
   */
  addHandler(kind: HandlerKind, path: string, endpoint: RequestEndpoint, options: HandlerOptions = {}): void {
    if (kind === "session") {
      let paths = this.bySession.get(endpoint.sessionId);
      if (!paths) this.bySession.set(endpoint.sessionId, (paths = new Map()));
      if (paths.has(path))
        throw new SkeinError("HANDLER_EXISTS", `a request stream is already set for ${path}`);
      paths.set(path, { handler: { kind, path }, endpoint, options });
      return;
    }
    let entry = this.byPath.get(path);
    if (!entry) this.byPath.set(path, (entry = { list: [], next: 0 }));
    if (entry.list.some((r) => r.endpoint.sessionId === endpoint.sessionId)) {
      throw new SkeinError("HANDLER_EXISTS", `this session already handles ${path}`);
    }
    entry.list.push({ handler: { kind, path }, endpoint, options });
  }

  /** Removes a registration; true when there was one. */
  removeHandler(kind: HandlerKind, path: string, sessionId: string): boolean {
    if (kind === "session") return this.bySession.get(sessionId)?.delete(path) ?? false;
    const entry = this.byPath.get(path);
    const i = entry ? entry.list.findIndex((r) => r.endpoint.sessionId === sessionId) : -1;
    if (!entry || i < 0) return false;
    entry.list.splice(i, 1);
    if (entry.list.length === 0) this.byPath.delete(path);
    return true;
  }

  /** A session closed: its registrations go, and requests it was handling fail. */
  sessionClosed(sessionId: string): void {
    this.bySession.delete(sessionId);
    for (const [path, entry] of this.byPath) {
      entry.list = entry.list.filter((r) => r.endpoint.sessionId !== sessionId);
      if (entry.list.length === 0) this.byPath.delete(path);
    }
    this.pending.forEach((p) => {
      if (p.handlerSessionId === sessionId) {
        this.finish(p.requestId, {
          ok: false,
          code: "HANDLER_SESSION_CLOSED",
          message: "the handler's session closed",
        });
      }
    });
  }

  /**
   * Sends to the handler of the most specific registered path [DESIGN §4]; `done` is told the outcome
   * (at once when the request cannot be sent).
   */
  sendToPath(request: OutboundRequest, done: OutcomeCallback): void {
    const entry = this.mostSpecific(request.path, (p) => this.byPath.get(p));
    if (!entry || entry.list.length === 0)
      return done(this.fail("NO_HANDLER", `no handler for ${request.path}`));
    const registration = entry.list[entry.next % entry.list.length] as Registration;
    entry.next = (entry.next + 1) % entry.list.length;
    this.dispatch(registration, request, done);
  }

  /** Sends to one session's request stream for the path; `done` is told the outcome. */
  sendToSession(sessionId: string, request: OutboundRequest, done: OutcomeCallback): void {
    const paths = this.bySession.get(sessionId);
    const registration = paths ? this.mostSpecific(request.path, (p) => paths.get(p)) : undefined;
    if (!registration)
      return done(this.fail("NO_HANDLER", `session ${sessionId} has no request stream for ${request.path}`));
    this.dispatch(registration, request, done);
  }

  /**
   * Sends to every session `selects` picks that has a request stream for the path; each outcome is
   * reported to `onOutcome`. Returns how many sessions it was sent to.
   */
  sendToFilter(
    selects: (sessionId: string) => boolean,
    request: OutboundRequest,
    onOutcome: (sessionId: string, outcome: RequestOutcome) => void,
  ): number {
    let n = 0;
    for (const [sessionId, paths] of this.bySession) {
      if (!selects(sessionId)) continue;
      const registration = this.mostSpecific(request.path, (p) => paths.get(p));
      if (!registration) continue;
      n++;
      this.dispatch(registration, request, (outcome) => onOutcome(sessionId, outcome));
    }
    return n;
  }

  /** A handler's answer (or failure) to request `requestId`. Unknown ids (timed out) are ignored. */
  respond(requestId: number, outcome: RequestOutcome, fromSessionId: string): boolean {
    const p = this.pending.get(requestId);
    if (!p || p.handlerSessionId !== fromSessionId) return false;
    if (outcome.ok) {
      if (outcome.payload.length > this.maxRequestBytes) {
        outcome = {
          ok: false,
          code: "TOO_LARGE",
          message: `response larger than ${this.maxRequestBytes} bytes`,
        };
      } else {
        const problem = typeProblem(p.responseType, outcome.payload);
        if (problem) outcome = { ok: false, code: "REQUEST_TYPE_MISMATCH", message: `response: ${problem}` };
        else outcome = { ok: true, payload: outcome.payload, responseType: p.responseType };
      }
    }
    this.finish(requestId, outcome);
    return true;
  }

  /** Stops the timeout timer (shutdown). */
  stop(): void {
    this.deadlines.stop();
  }

  /** Number of requests waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  private dispatch(registration: Registration, request: OutboundRequest, done: OutcomeCallback): void {
    const { options, endpoint } = registration;
    if (request.payload.length > this.maxRequestBytes) {
      return done(this.fail("TOO_LARGE", `request larger than ${this.maxRequestBytes} bytes`));
    }
    const requestType = options.requestType ?? request.requestType ?? "binary";
    // A request of the wrong type is refused before it reaches a handler (DESIGN §4).
    if (
      request.requestType !== undefined &&
      options.requestType !== undefined &&
      request.requestType !== options.requestType
    ) {
      return done(
        this.fail(
          "REQUEST_TYPE_MISMATCH",
          `handler takes ${options.requestType}, not ${request.requestType}`,
        ),
      );
    }
    const problem = typeProblem(requestType, request.payload);
    if (problem) return done(this.fail("REQUEST_TYPE_MISMATCH", `request: ${problem}`));
    const responseType = request.responseType ?? options.responseType ?? "binary";
    if (
      options.responseType !== undefined &&
      request.responseType !== undefined &&
      options.responseType !== request.responseType
    ) {
      return done(
        this.fail(
          "REQUEST_TYPE_MISMATCH",
          `handler answers ${options.responseType}, not ${request.responseType}`,
        ),
      );
    }
    const requestId = this.pending.allocate();
    const properties =
      options.sessionProperties && request.fromSessionId
        ? pick(this.sessions.properties(request.fromSessionId), options.sessionProperties)
        : NO_PROPERTIES;
    this.requestsCounter.value++;
    const pending: Pending = {
      requestId,
      done: false,
      deadline: 0,
      timeoutMs: request.timeoutMs,
      callback: done,
      handlerSessionId: endpoint.sessionId,
      responseType,
      startedAt: this.clock.now(),
    };
    this.pending.add(pending);
    this.deadlines.add(pending, request.timeoutMs);
    endpoint.deliverRequest({
      requestId,
      path: request.path,
      requestType,
      responseType,
      payload: request.payload,
      fromSessionId: request.fromSessionId,
      properties,
      handler: registration.handler,
    });
  }

  private finish(requestId: number, outcome: RequestOutcome): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    p.done = true;
    this.deadlines.trim(p.timeoutMs);
    this.settle(p, outcome);
  }

  /** Tells a request's requester its outcome (the request is done). */
  private settle(p: Pending, outcome: RequestOutcome): void {
    this.pending.delete(p);
    if (!outcome.ok) this.metrics.inc("messaging_request_failures_total", { code: outcome.code });
    this.metrics.requestCompleted(outcome.ok ? "ok" : outcome.code, (this.clock.now() - p.startedAt) / 1000);
    p.callback(outcome);
  }

  private fail(code: ErrorCode, message: string): RequestOutcome {
    this.metrics.inc("messaging_request_failures_total", { code });
    this.metrics.requestCompleted(code);
    return { ok: false, code, message };
  }

  /** The registration of `path` or of its nearest registered ancestor. */
  private mostSpecific<T>(path: string, lookup: (p: string) => T | undefined): T | undefined {
    let p = path;
    for (;;) {
      const found = lookup(p);
      if (found !== undefined) return found;
      const slash = p.lastIndexOf("/");
      if (slash < 0) return undefined;
      p = p.slice(0, slash);
    }
  }
}

function typeProblem(type: ValueType, payload: Uint8Array): string | undefined {
  if (type === "binary") return undefined;
  try {
    VALUE_CODECS[type].fromBytes(payload);
    return undefined;
  } catch (err) {
    return `not a ${type} value: ${SkeinError.from(err).message}`;
  }
}

function pick(
  props: Readonly<Record<string, string>> | undefined,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!props) return out;
  for (const n of names) if (props[n] !== undefined) out[n] = props[n] as string;
  return out;
}
