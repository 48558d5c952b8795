/**
 * One SDK WebSocket connection: the handshake (version negotiation, new session or resumption), frame
 * decoding and validation at the edge, dispatch to the handlers, and batched sends.
 */
import { randomBytes } from "node:crypto";
import {
  type ClientFrame,
  type ClientFrameOf,
  CloseCodes,
  ErrorCodes,
  type ErrorCode,
  PROTOCOL_VERSIONS,
  type ServerFrame,
  SkeinError,
  checkClientFrame,
  decodeMessage,
  errorCodeNumber,
  pathProblem,
} from "@skein/protocol";
import { type Logger, logsAt } from "../core/ports.js";
import type { WheelEntry } from "../core/timer-wheel.js";
import { applyAuthentication, armExpiry } from "../security/authenticated.js";
import type { TokenBucket } from "../core/rate-limit.js";
import { newSessionId } from "../core/sessions.js";
import type { SdkDoor } from "./door.js";
import type { Answer } from "./control.js";
import { ANSWERED_LATER, handleRequest } from "./handlers.js";
import type { SdkLink, SdkSession } from "./session.js";
import type { SdkWebSocket } from "./websocket.js";
import type { AuthenticationOutcome } from "../core/security/authentication.js";
import type { Credentials } from "../core/security/types.js";

/** An accepted authentication's outcome. */
type Authenticated = Extract<AuthenticationOutcome, { ok: true }>;

/** Frame types that update a topic: they count against the publish rate. */
function isPublish(type: ClientFrame["type"]): boolean {
  return type === "set" || type === "delta" || type === "ts_append" || type === "ts_edit";
}

/** Frames a client may send after its hello before the welcome (while authenticating). */
const MAX_WAITING_FRAMES = 64;

/** A live SDK connection. */
export class SdkConnection implements SdkLink, Answer, WheelEntry {
  state: "handshake" | "authenticating" | "open" | "closed" = "handshake";
  /** The publish rate limiter: null until the first publish, undefined when there is no limit. */
  private publishBucket: TokenBucket | undefined | null = null;
  /** Frames that arrived while the hello was being authenticated (at most MAX_WAITING_FRAMES). */
  private waiting: { value: unknown; oversize: boolean }[] | undefined;
  session: SdkSession | undefined;
  /** The negotiated protocol version (0 before hello). */
  version = 0;
  private logger: Logger | undefined;
  /** Frames to send at the end of this turn (undefined when none: an idle connection holds no array). */
  private pending: Uint8Array[] | undefined;
  /** Bytes in {@link pending}. */
  private pendingBytes = 0;
  /** Paced work waiting for the unsent bytes to fall below the high-water mark. */
  private roomWaiters: (() => void)[] | undefined;
  private flushScheduled = false;
  private alive = true;
  /** WheelEntry: when the door's timer wheel looks at this connection next (NaN while not scheduled). */
  wheelAt = NaN;
  /** Clock time of the next heartbeat ping (or terminate, when the last ping had no pong). */
  private beatAt: number;
  /** Clock time a connection that sent no hello is closed; Infinity once the hello is answered. */
  private handshakeAt: number;
  /** Disarms the close at credential expiry. */
  private disarmExpiry: (() => void) | undefined;

  constructor(
    readonly door: SdkDoor,
    readonly ws: SdkWebSocket,
    readonly remoteAddress: string,
    /** The client certificate the listener verified against `tls.ca`, if any. */
    readonly certificate?: Credentials["certificate"],
  ) {
    // The WebSocket hands its events to this connection (no listeners, no closures per connection).
    ws.connection = this;
    // One entry of the door's timer wheel for the handshake timeout and the heartbeat (no runtime timer
    // per connection): due at the earlier of the two.
    const now = door.core.clock.now();
    this.beatAt = now + door.options.heartbeatMs;
    this.handshakeAt = now + door.options.handshakeTimeoutMs;
    door.timers.schedule(this, Math.min(this.beatAt, this.handshakeAt));
  }

  /** This connection's logger, made on first use (idle connections never pay for it). */
  get log(): Logger {
    return (this.logger ??= this.door.log.child({ remote: this.remoteAddress }));
  }

  /** Logs at level info, without making this connection's logger when the level drops the line. */
  info(obj: object, msg: string): void {
    if (logsAt(this.door.log, "info")) this.log.info(obj, msg);
  }

  /** WebSocket `message`: a throw while handling it closes this connection (1011). */
  handleMessage(data: Buffer, isBinary: boolean): void {
    // Last resort (issue 14 §4): a throw while handling a message (the hello included) closes this
    // connection with 1011, counted and logged, instead of escaping into the WebSocket's emitter.
    try {
      this.onMessage(data, isBinary);
    } catch (err) {
      this.door.core.containment.contained("frame", err);
      this.close(1011, "internal error");
    }
  }

  /** WebSocket `error` (the `close` that follows ends the connection). */
  onError(err: Error): void {
    this.log.debug({ err: err.message }, "websocket error");
  }

  /** WebSocket `pong`: the client is alive. */
  pong(): void {
    this.alive = true;
  }

  /** WheelEntry: the handshake timeout or the heartbeat fell due. */
  wheelDue(now: number): void {
    if (this.state === "closed") return;
    if (now >= this.handshakeAt) {
      this.handshakeAt = Infinity;
      this.handshakeTimedOut();
      if (this.closed) return;
    }
    if (now >= this.beatAt) {
      if (!this.alive) return void this.ws.terminate();
      this.alive = false;
      this.ws.ping();
      this.beatAt = now + this.door.options.heartbeatMs;
    }
    this.door.timers.schedule(this, Math.min(this.beatAt, this.handshakeAt));
  }

  /** SdkLink: queues frame bytes; frames of one event-loop turn go out as one WebSocket message. */
  send(frame: Uint8Array): void {
    if (this.state === "closed") return;
    (this.pending ??= []).push(frame);
    this.pendingBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After this turn's I/O callbacks: frames for this client produced by several incoming
      // messages share one WebSocket message and one write.
      setImmediate(() => this.flush());
    }
  }

  /** SdkLink: unsent bytes (queued here and in the WebSocket) below an eighth of `sdk.maxOutboundBytes`. */
  get hasRoom(): boolean {
    return (
      this.state !== "closed" &&
      this.ws.bufferedAmount + this.pendingBytes < this.door.options.maxOutboundBytes / 8
    );
  }

  /** SdkLink: `resume` runs after a send completes with room again. */
  whenRoom(resume: () => void): void {
    (this.roomWaiters ??= []).push(resume);
    // Nothing queued or in flight would call back: there is room now.
    if (this.hasRoom) this.sent();
  }

  /** Send completion: paced work waiting for room goes on (once per send; no closure per frame). */
  private readonly sent = (): void => {
    const waiters = this.roomWaiters;
    if (waiters === undefined || !this.hasRoom) return;
    this.roomWaiters = undefined;
    for (const resume of waiters) resume();
  };

  /** SdkLink / door: closes the WebSocket with a close code and reason. */
  close(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.flush();
    this.state = "closed";
    this.door.timers.cancel(this);
    this.disarmExpiry?.();
    // Paused while a hello was authenticated: the close handshake needs the client's close frame read
    // (else the close waits for ws's 30 s timeout).
    if (this.ws.isPaused) this.ws.resume();
    this.ws.close(code, reason.slice(0, 120));
    this.ended(closeReason(code));
    this.door.connectionClosed(this, code === 1000);
  }

  /** Counts and logs the end of this connection (one line per connection, with its reason). */
  private ended(reason: string): void {
    this.door.core.metrics.disconnected("sdk", reason);
    this.info({ sessionId: this.session?.sessionId, reason }, "connection closed");
  }

  /** True once closed. */
  get closed(): boolean {
    return this.state === "closed";
  }

  /** Why a topic path is not acceptable here, or undefined. */
  pathProblem(path: string): string | undefined {
    const o = this.door.pathLimits;
    return pathProblem(path, o.maxTopicLength, o.maxTopicDepth);
  }

  private flush(): void {
    this.flushScheduled = false;
    const frames = this.pending;
    if (frames === undefined || this.state === "closed") return;
    // One slow client never slows the others: past the bound it is disconnected (DESIGN §6); its
    // session keeps the frames for resumption.
    if (this.ws.bufferedAmount > this.door.options.maxOutboundBytes) {
      this.pending = undefined;
      this.pendingBytes = 0;
      this.door.core.metrics.inc("sdk_slow_consumers_total");
      this.log.warn({ buffered: this.ws.bufferedAmount }, "slow consumer disconnected");
      this.close(CloseCodes.SLOW_CONSUMER, "slow consumer");
      return;
    }
    this.pending = undefined;
    this.pendingBytes = 0;
    const message = frames.length === 1 ? (frames[0] as Uint8Array) : Buffer.concat(frames);
    const counters = this.door.counters;
    counters.framesSent.value += frames.length;
    counters.bytesSent.value += message.length;
    this.ws.send(message, this.sent);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === "closed") return;
    this.door.counters.bytesReceived.value += data.length;
    if (!isBinary) return this.refuse(CloseCodes.INVALID_FRAME, "frames are binary MessagePack");
    let values: unknown[];
    try {
      values = decodeMessage(this.door.encoder, data);
    } catch {
      return this.refuse(CloseCodes.INVALID_FRAME, "message is not valid MessagePack");
    }
    // Above the announced limit but within the WebSocket's margin: every request it carries is
    // answered TOO_LARGE (and numbered as processed), so the client need not reconnect or resend.
    this.door.counters.framesReceived.value += values.length;
    const oversize = data.length > this.door.options.maxFrameBytes;
    if (oversize) this.oversize(data.length);
    for (const value of values) {
      if (this.closed) return;
      this.onValue(value, oversize);
    }
  }

  /** True when this publish is over the connection's rate (`limits.publishesPerSecondPerSession`). */
  private publishRateExceeded(): boolean {
    if (this.publishBucket === null) this.publishBucket = this.door.core.publishBucket();
    return this.publishBucket !== undefined && !this.publishBucket.take(this.door.core.clock.now());
  }

  /** Counts and logs a message above `maxFrameBytes`. */
  private oversize(bytes: number): void {
    this.door.core.metrics.inc("sdk_oversize_messages_total");
    this.log.warn({ bytes, max: this.door.options.maxFrameBytes }, "sdk message too large: requests refused");
  }

  /** No hello within `handshakeTimeoutMs`: the WebSocket is closed (4008), counted and logged. */
  private handshakeTimedOut(): void {
    // Still handshaking, or authenticating a hello: an authenticator that never answers cannot hold the socket.
    if (this.state !== "handshake" && this.state !== "authenticating") return;
    const timeoutMs = this.door.options.handshakeTimeoutMs;
    this.door.core.metrics.inc("sdk_handshake_timeouts_total");
    this.log.warn({ timeoutMs }, "sdk connection closed: no hello in time");
    this.close(CloseCodes.HANDSHAKE_TIMEOUT, `no hello within ${timeoutMs} ms`);
  }

  private onValue(value: unknown, oversize: boolean): void {
    const checked = checkClientFrame(value);
    if (!checked.ok) {
      this.invalidFrame(checked.problem);
      if (checked.id === undefined || this.state !== "open")
        return this.refuse(CloseCodes.INVALID_FRAME, checked.problem);
      (this.session as SdkSession).processed++;
      return this.reply({
        type: "error",
        id: checked.id,
        code: errorCodeNumber("INVALID_ARGUMENT"),
        message: checked.problem,
      });
    }
    if (this.state === "authenticating") {
      // Frames after a hello that is being authenticated wait for its outcome, within a bound.
      const waiting = (this.waiting ??= []);
      if (waiting.length >= MAX_WAITING_FRAMES)
        return this.refuse(CloseCodes.INVALID_FRAME, "too many frames before the welcome");
      waiting.push({ value, oversize });
      return;
    }
    const frame = checked.frame;
    if (frame.type === "hello") {
      if (this.state !== "handshake") return this.refuse(CloseCodes.HANDSHAKE, "hello sent twice");
      if (oversize) return this.refuse(1009, "message too large");
      return this.hello(frame);
    }
    if (this.state !== "open") return this.refuse(CloseCodes.HANDSHAKE, "the first frame must be hello");
    const session = this.session as SdkSession;
    if (frame.type === "ack") return this.ack(session, frame.received);
    session.processed++;
    const id = frame.id;
    if (oversize) {
      return this.error(id, "TOO_LARGE", `message larger than ${this.door.options.maxFrameBytes} bytes`);
    }
    if (isPublish(frame.type) && this.publishRateExceeded())
      return this.error(id, "RATE_LIMITED", "publish rate above limits.publishesPerSecondPerSession");
    let result: unknown;
    try {
      result = handleRequest(this, session, frame);
    } catch (err) {
      return this.fail(id, err);
    }
    if (result === ANSWERED_LATER) return;
    if (result instanceof Promise) {
      result.then(
        (v: unknown) => this.result(id, v),
        (err: unknown) => this.fail(id, err),
      );
    } else this.result(id, result);
  }

  /** The client has `received` of the session's frames: they leave the replay buffer. */
  private ack(session: SdkSession, received: number): void {
    if (received > session.replay.last) {
      const problem = `ack of ${received} frames, but ${session.replay.last} were sent`;
      this.invalidFrame(problem);
      return this.refuse(CloseCodes.INVALID_FRAME, problem);
    }
    session.replay.release(received);
  }

  /** Counts and logs a frame that is not valid. */
  private invalidFrame(problem: string): void {
    this.door.core.metrics.inc("sdk_invalid_frames_total");
    this.log.warn({ problem }, "invalid frame");
  }

  /** Answer: a `result` frame for request `id`. */
  result(id: number, value?: unknown): void {
    this.reply(value === undefined ? { type: "result", id } : { type: "result", id, value });
  }

  /** Answer: an `error` frame for request `id` (an `INTERNAL` one carries the generic message only). */
  error(id: number, code: ErrorCode, message: string): void {
    if (code === "INTERNAL") return this.internalError(id, message);
    this.door.core.metrics.inc("sdk_request_errors_total", { code });
    this.door.core.metrics.error(code);
    this.reply({ type: "error", id, code: errorCodeNumber(code), message });
  }

  private fail(id: number, err: unknown): void {
    if (err instanceof SkeinError && err.code !== "INTERNAL") this.error(id, err.code, err.message);
    else this.internalError(id, err);
  }

  /**
   * A failure that is the server's own (an unexpected exception): its detail, with the stack, goes to the
   * log; the client gets `INTERNAL` with the table's generic message, never the exception's text, which
   * may name files, internals or other sessions' data.
   */
  private internalError(id: number, detail: unknown): void {
    this.log.error({ err: detail, id }, "request failed");
    this.door.core.metrics.inc("sdk_request_errors_total", { code: "INTERNAL" });
    this.door.core.metrics.error("INTERNAL");
    const message = ErrorCodes.INTERNAL.message;
    this.reply({ type: "error", id, code: errorCodeNumber("INTERNAL"), message });
  }

  /** Result and error frames are numbered session frames (replayed on resumption). */
  private reply(frame: ServerFrame): void {
    this.session?.push(frame);
  }

  private hello(frame: ClientFrameOf<"hello">): void {
    const version = Math.max(
      ...frame.versions.filter((v) => (PROTOCOL_VERSIONS as readonly number[]).includes(v)),
    );
    if (!Number.isFinite(version)) {
      return this.refuse(
        CloseCodes.UNSUPPORTED_VERSION,
        `this server speaks protocol versions ${PROTOCOL_VERSIONS.join(", ")}`,
      );
    }
    const door = this.door;
    // A resumed session was authenticated when it started: its token is its credential.
    const resumed = frame.resume ? door.resume(this, frame.resume) : undefined;
    if (resumed) return this.open(frame, version, resumed, true);
    this.authenticate(frame, (auth) => {
      // Built by assignment from an empty literal, not spread: a spread's result gets a hidden class of
      // its own (about 250 bytes per session); assigned ones share one per set of keys (issue 11).
      // The hello's properties are zod's record, which has no own `__proto__` key.
      const properties: Record<string, string> = {};
      const given = frame.properties;
      if (given !== undefined)
        for (const name of Object.keys(given)) properties[name] = given[name] as string;
      applyAuthentication(properties, auth);
      properties.$ClientIP = this.remoteAddress;
      properties.$Transport = "sdk";
      properties.$StartTime = String(door.core.clock.now());
      const session = door.newSession(newSessionId(), randomBytes(16).toString("hex"), properties, auth);
      session.credentialsExpireAt = auth.expiresAt;
      this.open(frame, version, session, false);
    });
  }

  /**
   * Authenticates the hello's principal and password: at once when nothing needs checking, otherwise
   * asynchronously with frames that arrive meanwhile kept (bounded) and handled after the welcome. A
   * refusal is a `goodbye` (`NOT_AUTHENTICATED`: unknown principal or wrong password, never anonymous
   * instead; `NOT_AUTHORIZED`: anonymous access is off or an authenticator said no), then close 4003.
   */
  private authenticate(frame: ClientFrameOf<"hello">, then: (auth: Authenticated) => void): void {
    const facade = this.door.core.facade;
    const credentials: Credentials = {
      transport: "sdk",
      principal: frame.principal,
      password: frame.password,
      remoteAddress: this.remoteAddress,
      certificate: this.certificate,
    };
    const settle = (outcome: AuthenticationOutcome): void => {
      if (outcome.ok) return then(outcome);
      const code = outcome.reason === "bad_credentials" ? "NOT_AUTHENTICATED" : "NOT_AUTHORIZED";
      this.send(this.door.goodbye(code, ErrorCodes[code].message));
      this.refuse(CloseCodes.NOT_AUTHENTICATED, ErrorCodes[code].message);
    };
    const now = facade.authenticateNow(credentials);
    if (now !== undefined) return settle(now);
    this.state = "authenticating";
    this.ws.pause();
    void facade.authenticate(credentials).then((outcome) => {
      if (this.state !== "authenticating") return;
      this.ws.resume();
      this.state = "handshake";
      try {
        settle(outcome);
      } catch (err) {
        this.log.error({ err }, "hello failed");
        return this.refuse(1011, "internal error");
      }
      const waiting = this.waiting;
      this.waiting = undefined;
      for (const w of waiting ?? []) {
        if (this.closed) return;
        this.onValue(w.value, w.oversize);
      }
    });
  }

  /** Opens (or resumes) `session` on this connection: welcome, replay, pending tellings. */
  private open(frame: ClientFrameOf<"hello">, version: number, session: SdkSession, resumed: boolean): void {
    const door = this.door;
    this.handshakeAt = Infinity;
    this.session = session;
    this.version = version;
    this.state = "open";
    session.attach(this);
    const welcome: ServerFrame = {
      type: "welcome",
      version,
      sessionId: session.sessionId,
      token: session.token,
      reconnectTimeoutMs: door.options.reconnectTimeoutMs,
      resumed,
      processed: session.processed,
      // Version 2: the limits, so the client refuses what is too large before sending it.
      ...(version >= 2 && {
        limits: { maxFrameBytes: door.options.maxFrameBytes, maxRequestBytes: door.options.maxRequestBytes },
      }),
    };
    this.send(door.encoder.encode(welcome));
    if (resumed && frame.resume) {
      for (const bytes of session.replay.after(frame.resume.received)) this.send(bytes);
      session.replay.release(frame.resume.received);
    }
    // Topics of selections still being told when the last connection dropped.
    session.pumpTellings();
    this.door.core.metrics.connected("sdk", "accepted");
    this.info(
      { sessionId: session.sessionId, resumed, principal: session.properties.$Principal || undefined },
      "sdk session open",
    );
    // After the welcome: credentials that expired while the session waited to be resumed end it now.
    if (session.credentialsExpireAt !== undefined) this.expireWithCredentials(session.credentialsExpireAt);
  }

  /**
   * Ends the session when the credentials it was let in with expire (a JWT's `exp`): a `goodbye` with
   * `CREDENTIALS_EXPIRED`, then close 4009; the session cannot be resumed.
   */
  private expireWithCredentials(expiresAt: number): void {
    this.disarmExpiry = armExpiry(this.door.core.clock, expiresAt, () => {
      this.disarmExpiry = undefined;
      const session = this.session;
      this.door.core.metrics.inc("sdk_credentials_expired_total");
      this.log.info({ sessionId: session?.sessionId }, "credentials expired: session closed");
      this.send(this.door.goodbye("CREDENTIALS_EXPIRED", "credentials expired"));
      this.close(CloseCodes.CREDENTIALS_EXPIRED, "credentials expired");
      session?.end();
    });
  }

  private refuse(code: number, reason: string): void {
    this.door.core.metrics.inc("sdk_connections_refused_total", { code: String(code) });
    if (this.state === "handshake") this.door.core.metrics.connected("sdk", closeReason(code));
    this.log.warn({ code, reason }, "sdk connection closed: bad input");
    this.close(code, reason);
  }

  /** WebSocket `close`. */
  onClose(code: number): void {
    this.door.timers.cancel(this);
    this.disarmExpiry?.();
    if (this.state === "closed") return;
    this.state = "closed";
    this.ended(code === 1000 ? "client_disconnect" : "connection_lost");
    // 1000 from the client is a deliberate close: the session ends. Anything else may be resumed.
    this.door.core.containment.run("socket_close", () => this.door.connectionClosed(this, code === 1000));
  }
}

/** WebSocket close code names for logs and metrics (bounded: unknown codes are `other`). */
const CLOSE_REASONS = new Map<number, string>([
  [1000, "normal"],
  [1001, "going_away"],
  [1002, "protocol_error"],
  [1009, "message_too_large"],
  ...Object.entries(CloseCodes).map(([name, code]) => [code, name.toLowerCase()] as [number, string]),
]);

function closeReason(code: number): string {
  return CLOSE_REASONS.get(code) ?? "other";
}
