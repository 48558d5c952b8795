/**
 * The session's link to the server: one WebSocket at a time, the handshake, and reconnection with
 * resumption (DESIGN §6). It knows frames, not features: pushed frames (`topic`, `v`, `untopic`, …) go
 * to the session through {@link LinkOwner.onPush}; the books of requests are the {@link RequestChannel}.
 *
 * Connect path: open the transport → send `hello { versions, principal?, password?, properties?,
 * resume? }` → the server answers `welcome` (or closes with a `CloseCodes` code) → frames flow.
 *
 * Resumption: every server frame after `welcome` but `welcome` and `goodbye` is numbered 1, 2, 3, …
 * across the session's connections; the client counts those it has received and processed. Every
 * client frame after `hello` is numbered likewise by the server, and kept in the outbox until known
 * processed (its result/error arrived, or a resuming welcome's `processed` covers it). After a drop
 * (anything but our own close with 1000) the link reconnects with backoff and sends
 * `hello { resume: { sessionId, token, received } }`:
 * - `welcome.resumed = true`: the server replays its frames numbered > received, and
 *   `welcome.processed` says how many of ours it processed: we re-send the rest, in order. Nothing
 *   is lost or duplicated, order is kept.
 * - `welcome.resumed = false`: a new session. Pending requests fail with `SESSION_NOT_RESUMED`, the
 *   owner forgets its topics ({@link LinkOwner.onNewSession}) and `reconnected` says `resumed: false`.
 *
 * @module
 */
import {
  type ClientFrame,
  type FrameCheck,
  PROTOCOL_VERSIONS,
  type ServerFrame,
  type ServerFrameOf,
  SkeinError,
  checkServerFrame,
  decodeMessage,
} from "@skein/protocol";
import { Acknowledger } from "./acks.js";
import { type RequestFrame, type RequestOptions, RequestChannel, type ServerLimits } from "./channel.js";
import { closeOutcome } from "./close-codes.js";
import type { Emitter } from "./emitter.js";
import type { SessionEvents, SessionState } from "./events.js";
import { Heartbeat } from "./heartbeat.js";
import { type ResolvedOptions, backoffDelay } from "./options.js";
import { Reconnector } from "./reconnector.js";
import type { Transport, TransportFactory } from "./transport.js";

export type { RequestFrame, RequestOptions, ServerLimits } from "./channel.js";

/**
 * A frame the server pushes on its own (a topic selected, a value, a topic unselected, and the frames
 * of features the session dispatches), as opposed to the link's own welcome, result, error, goodbye.
 */
export type PushFrame = Exclude<ServerFrame, { type: "welcome" | "result" | "error" | "goodbye" }>;

/** What the link reports to the session that owns it. */
export interface LinkOwner {
  /** A pushed frame arrived (in order, once each, across reconnections). */
  onPush(frame: PushFrame): void;
  /** The connection was replaced by a new session: forget the topics of the old one. */
  onNewSession(): void;
  /** The session closed for good. */
  onClosed(error: SkeinError | undefined): void;
}

/** Close code of a clean close by the application: the server ends the session at once. */
const NORMAL_CLOSURE = 1000;
const CLOSED_BY_APP = "closed by the application";
/** WebSocket close code: a message larger than the peer takes (RFC 6455 §7.4.1). */
const MESSAGE_TOO_BIG = 1009;

/** The link. */
export class Link {
  private readonly channel: RequestChannel;
  private readonly reconnector: Reconnector;
  private readonly heartbeat: Heartbeat;
  private readonly acks: Acknowledger;
  /** The welcomed connection, if any. */
  private transport: Transport | undefined;
  /** The connection of an attempt still waiting for its welcome. */
  private opening: Transport | undefined;
  private stateNow: SessionState = "connecting";
  private session = { id: "", token: "" };
  private closeWaiters: (() => void)[] = [];

  constructor(
    private readonly url: string,
    private readonly options: ResolvedOptions,
    private readonly factory: TransportFactory,
    private readonly owner: LinkOwner,
    private readonly events: Emitter<SessionEvents>,
  ) {
    this.channel = new RequestChannel(options);
    this.reconnector = new Reconnector(options.reconnect, backoffDelay, events, {
      attempt: () => this.open(true),
      giveUp: (error) => this.finish(error),
      isFinal: (error) => error instanceof FinalError,
    });
    this.acks = new Acknowledger(
      () => this.channel.received,
      (received) => {
        if (this.stateNow !== "connected" || !this.transport) return false;
        this.transport.send(this.channel.encoder.encode({ type: "ack", received }));
        return true;
      },
    );
    this.heartbeat = new Heartbeat(
      options.heartbeatMs,
      () => void this.request({ type: "ping" }, "heartbeat ping").catch(() => {}),
      () => this.transport?.terminate(),
    );
  }

  /** Where the link is. */
  get state(): SessionState {
    return this.stateNow;
  }

  /** The limits the server announced in its welcome (protocol 2), if any. */
  get serverLimits(): ServerLimits | undefined {
    return this.channel.limits;
  }

  /** The current session's id. */
  get sessionId(): string {
    return this.session.id;
  }

  /** Opens the first connection; resolves on `welcome`. */
  start(): Promise<void> {
    return this.open(false);
  }

  /**
   * Sends a request and waits for its `result` value or `error`. While the link is reconnecting the
   * frame waits in the outbox and is sent on resumption.
   */
  request(frame: RequestFrame, what: string = frame.type, options?: RequestOptions): Promise<unknown> {
    if (this.stateNow === "closed") return Promise.reject(new SkeinError("SESSION_CLOSED"));
    return this.channel.request(frame, what, this.sender(), options);
  }

  /**
   * Sends a request whose result nobody awaits; `onError` hears its failure. While the link is
   * reconnecting the frame waits in the outbox, as for {@link request}.
   */
  post(frame: RequestFrame, what: string, onError: (err: SkeinError) => void): void {
    if (this.stateNow === "closed") return onError(new SkeinError("SESSION_CLOSED"));
    this.channel.post(frame, what, this.sender(), onError);
  }

  /** Sends on the current connection. */
  private readonly sendNow = (bytes: Uint8Array): void => this.transport?.send(bytes);

  /** How to send a frame now: on the welcomed connection, or not at all while there is none. */
  private sender(): ((bytes: Uint8Array) => void) | undefined {
    return this.stateNow === "connected" && this.transport ? this.sendNow : undefined;
  }

  /** Closes the session: a clean close (1000), so the server ends it at once. */
  async close(): Promise<void> {
    if (this.stateNow === "closed") return;
    const transport = this.transport;
    const closed = transport ? this.waitForClose() : Promise.resolve();
    this.finish(undefined);
    transport?.close(NORMAL_CLOSURE, CLOSED_BY_APP);
    await closed;
  }

  /** @internal Drops the connection as a network failure would (tests of resumption). */
  simulateDrop(): void {
    this.transport?.terminate();
  }

  /** One connection attempt: transport, hello, welcome. Rejects with a FinalError when retrying is futile. */
  private open(resume: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let welcomed = false;
      let goodbye: SkeinError | undefined;
      let transport: Transport | undefined = undefined;
      const timer = setTimeout(() => {
        transport?.terminate();
        reject(
          new SkeinError("TIMEOUT", `no welcome from ${this.url} within ${this.options.connectTimeoutMs} ms`),
        );
      }, this.options.connectTimeoutMs);
      const onWelcome = (frame: ServerFrameOf<"welcome">): void => {
        welcomed = true;
        clearTimeout(timer);
        this.opening = undefined;
        if (this.stateNow === "closed") {
          transport?.close(NORMAL_CLOSURE, CLOSED_BY_APP);
          return reject(new SkeinError("SESSION_CLOSED", CLOSED_BY_APP));
        }
        this.transport = transport;
        this.welcome(frame, resume);
        resolve();
      };
      const handlers = {
        onOpen: () => transport?.send(this.channel.encoder.encode(this.hello(resume))),
        onMessage: (data: Uint8Array) => {
          if (welcomed) this.heartbeat.received();
          for (const check of this.decode(data, transport)) {
            if (welcomed) goodbye = this.receive(check) ?? goodbye;
            else if (check.ok && check.frame.type === "welcome") onWelcome(check.frame);
            else if (check.ok && check.frame.type === "goodbye") goodbye = SkeinError.fromWire(check.frame);
            else transport?.close(4002, "expected welcome");
          }
        },
        onClose: (code: number, reason: string) => {
          clearTimeout(timer);
          if (this.opening === transport) this.opening = undefined;
          const outcome = closeOutcome(code, reason, goodbye);
          if (welcomed) return this.lost(transport, outcome.error, outcome.final, code);
          const error =
            code === 1006 && !goodbye
              ? new SkeinError("SESSION_CLOSED", `cannot connect to ${this.url}`)
              : outcome.error;
          reject(outcome.final ? new FinalError(error) : error);
        },
      };
      try {
        transport = this.opening = this.factory(this.url, handlers);
      } catch (err) {
        clearTimeout(timer);
        reject(new FinalError(new SkeinError("INVALID_ARGUMENT", `cannot open ${this.url}`, { cause: err })));
      }
    });
  }

  private hello(resume: boolean): ClientFrame {
    const { principal, password, properties } = this.options;
    return {
      type: "hello",
      versions: [...PROTOCOL_VERSIONS],
      ...(principal !== undefined && { principal }),
      ...(password !== undefined && { password }),
      ...(properties !== undefined && { properties }),
      ...(resume && {
        resume: { sessionId: this.session.id, token: this.session.token, received: this.channel.received },
      }),
    };
  }

  /**
   * Decodes a message. Bytes that are not MessagePack make the frame count unknowable: the session
   * ends with `PROTOCOL_ERROR` (resuming would replay the same bytes).
   */
  private decode(data: Uint8Array, transport: Transport | undefined): FrameCheck<ServerFrame>[] {
    try {
      return decodeMessage(this.channel.encoder, data).map(checkServerFrame);
    } catch (err) {
      this.finish(
        new SkeinError("PROTOCOL_ERROR", "the server sent a message that is not MessagePack", { cause: err }),
      );
      transport?.close(4000, "invalid message");
      return [];
    }
  }

  private welcome(frame: ServerFrameOf<"welcome">, resuming: boolean): void {
    const previousSessionId = this.session.id;
    this.session = { id: frame.sessionId, token: frame.token };
    this.channel.setLimits(frame.limits);
    this.stateNow = "connected";
    this.heartbeat.start();
    if (resuming && frame.resumed) {
      for (const bytes of this.channel.resumed(frame.processed)) this.transport?.send(bytes);
    } else if (resuming) {
      this.channel.newSession(previousSessionId);
      this.owner.onNewSession();
    }
    // A resuming hello told the server how many frames we had; a new session starts from 0.
    this.acks.known(this.channel.received);
    if (resuming) {
      this.events.emit("reconnected", {
        resumed: frame.resumed,
        sessionId: frame.sessionId,
        previousSessionId,
      });
    }
    this.events.emit("connected", { sessionId: frame.sessionId, resumed: frame.resumed });
  }

  /** Handles one frame after welcome (the dispatcher); returns the error of a goodbye frame. */
  private receive(check: FrameCheck<ServerFrame>): SkeinError | undefined {
    if (!check.ok) {
      // Still a numbered frame (unless it was a welcome or goodbye): count it to stay in step.
      this.channel.count(undefined);
      this.acks.frame();
      this.events.emit(
        "error",
        new SkeinError("PROTOCOL_ERROR", `invalid frame from the server: ${check.problem}`),
      );
      return undefined;
    }
    const frame = check.frame;
    this.channel.count(frame.type);
    if (frame.type !== "welcome" && frame.type !== "goodbye") this.acks.frame();
    switch (frame.type) {
      case "result":
      case "error":
        this.channel.answer(frame);
        return undefined;
      case "goodbye":
        return SkeinError.fromWire(frame);
      case "welcome":
        this.events.emit("error", new SkeinError("PROTOCOL_ERROR", "a second welcome"));
        return undefined;
      default:
        this.owner.onPush(frame);
        return undefined;
    }
  }

  /** The connection of a welcomed session closed. */
  private lost(transport: Transport | undefined, error: SkeinError, final: boolean, code: number): void {
    if (transport !== this.transport) return;
    this.transport = undefined;
    // 1009: the server refused a message for its size. Resuming fails that frame instead of resending it.
    if (code === MESSAGE_TOO_BIG) this.channel.refusedForSize();
    this.heartbeat.stop();
    this.acks.stop();
    for (const wake of this.closeWaiters.splice(0)) wake();
    if (this.stateNow === "closed") return;
    if (final || !this.options.reconnect.enabled) return this.finish(error);
    this.stateNow = "reconnecting";
    this.channel.pause();
    this.events.emit("disconnected", { error });
    this.reconnector.run();
  }

  /** The session ends: fail what waits, tell the owner and the application. */
  private finish(error: SkeinError | undefined): void {
    if (this.stateNow === "closed") return;
    this.stateNow = "closed";
    this.heartbeat.stop();
    this.acks.stop();
    this.reconnector.cancel();
    this.opening?.close(NORMAL_CLOSURE, CLOSED_BY_APP);
    this.channel.close(error ?? new SkeinError("SESSION_CLOSED", "session closed by the application"));
    this.owner.onClosed(error);
    this.events.emit("closed", { error });
  }

  private waitForClose(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** An attempt failed in a way retrying cannot fix (authentication, version, taken over, bad URL). */
export class FinalError extends SkeinError {
  constructor(error: SkeinError) {
    super(error.code, error.message, { cause: error });
  }
}
