/**
 * The request side of a session, across its connections: request ids, the outbox of frames not yet
 * known processed, the pending answers and the count of server frames received. The link decides when
 * frames go out; the channel keeps the books that make resumption exact (see `link.ts`).
 *
 * @module
 */
import {
  type ClientFrame,
  type Encoder,
  type ServerFrameOf,
  SkeinError,
  createMsgpackEncoder,
} from "@skein/protocol";
import type { ResolvedOptions } from "./options.js";
import { Outbox, ReceivedCounter } from "./outbox.js";
import { PendingRequests, type ResultDecoder } from "./requests.js";
import { MAX_BATCH_BYTES } from "./transport.js";

/** A request frame without its id (the channel assigns it). */
export type RequestFrame = ClientFrame extends infer F
  ? F extends { id: number }
    ? Omit<F, "id">
    : never
  : never;

/** Per-request options of {@link RequestChannel.request}. */
export interface RequestOptions {
  /** How long this request may wait for its answer while connected, in ms (0: forever). */
  timeoutMs?: number;
  /**
   * Told the request's id before its frame is sent, so that frames the server pushes about the request
   * (`filter_response`, `session_event`) can be matched to it even when they arrive with its result.
   */
  onId?: (id: number) => void;
  /** Turns the result value into what the request resolves with; what it throws fails the request. */
  decode?: ResultDecoder;
}

/** The size limits a version 2 server announces in its `welcome` (see `docs/protocol.md`). */
export interface ServerLimits {
  /** Largest WebSocket message the server processes, in bytes. */
  readonly maxFrameBytes: number;
  /** Largest value of a `send_request` or `respond` frame, in bytes. */
  readonly maxRequestBytes: number;
}

/** The books of one session. */
export class RequestChannel {
  /** Encodes every client frame. */
  readonly encoder: Encoder = createMsgpackEncoder();
  private readonly outbox: Outbox;
  private readonly counter = new ReceivedCounter();
  private readonly requests: PendingRequests;
  /** The session's request timeout (ms, 0: none), for answers that are posted. */
  private readonly requestTimeoutMs: number;
  /** Largest frame to send: the server's announced limit, or less after it refused a frame (1009). */
  private maxFrameBytes = Infinity;
  /** Largest request or response value to send (the server's announced limit). */
  private maxRequestBytes = Infinity;
  /** The server closed the connection with 1009: the first unprocessed frame was too large. */
  private sizeRefused = false;
  /** The limits the server announced in its last welcome (protocol 2), if any. */
  limits: ServerLimits | undefined;

  constructor(options: ResolvedOptions) {
    this.outbox = new Outbox(options.maxPendingRequests);
    this.requests = new PendingRequests(options.requestTimeoutMs);
    this.requestTimeoutMs = options.requestTimeoutMs;
  }

  /** Server frames received (and processed) in this session: `received` of a resuming hello. */
  get received(): number {
    return this.counter.received;
  }

  /**
   * Numbers and keeps a request frame, sends it with `send` when given (the link is connected), and
   * waits for its answer.
   */
  request(
    frame: RequestFrame,
    what: string,
    send: ((bytes: Uint8Array) => void) | undefined,
    options: RequestOptions = {},
  ): Promise<unknown> {
    const id = this.requests.newId();
    let bytes: Uint8Array;
    try {
      bytes = this.keep(id, frame, what);
    } catch (err) {
      return Promise.reject(SkeinError.from(err));
    }
    const answer = this.requests.wait(id, what, options.timeoutMs, options.decode);
    options.onId?.(id);
    send?.(bytes);
    return answer;
  }

  /**
   * As {@link request}, for an answer nobody awaits: `onError` hears a failure (`error` frame, timeout,
   * session gone); a result is dropped. No promise is made.
   */
  post(
    frame: RequestFrame,
    what: string,
    send: ((bytes: Uint8Array) => void) | undefined,
    onError: (err: SkeinError) => void,
  ): void {
    const id = this.requests.newId();
    let bytes: Uint8Array;
    try {
      bytes = this.keep(id, frame, what);
    } catch (err) {
      return onError(SkeinError.from(err));
    }
    this.requests.add(id, what, this.requestTimeoutMs, ignore, onError);
    send?.(bytes);
  }

  /**
   * Gives the frame its id, encodes it and keeps it in the outbox.
   * @throws SkeinError `TOO_LARGE` when the frame, or the value of a request or response, is larger
   *   than the server takes; `RATE_LIMITED` when the outbox is full
   */
  private keep(id: number, frame: RequestFrame, what: string): Uint8Array {
    if (
      (frame.type === "send_request" || frame.type === "respond") &&
      frame.value.length > this.maxRequestBytes
    ) {
      throw new SkeinError(
        "TOO_LARGE",
        `${what}: a value of ${frame.value.length} bytes is larger than the server's limit of ${this.maxRequestBytes} bytes (limits.maxRequestBytes)`,
      );
    }
    // The id is added to the caller's new frame object: copying it (a spread) costs more than the
    // rest of sending a request.
    (frame as RequestFrame & { id: number }).id = id;
    const bytes = this.encoder.encode(frame);
    if (bytes.length > this.maxFrameBytes) {
      throw new SkeinError(
        "TOO_LARGE",
        `${what}: a frame of ${bytes.length} bytes is larger than the server's limit of ${this.maxFrameBytes} bytes`,
      );
    }
    this.outbox.add(id, bytes);
    return bytes;
  }

  /** The limits of a version 2 server's `welcome` (a version 1 server announces none). */
  setLimits(limits: ServerLimits | undefined): void {
    this.limits = limits;
    if (!limits) return;
    this.maxFrameBytes = limits.maxFrameBytes;
    this.maxRequestBytes = limits.maxRequestBytes;
  }

  /**
   * The server closed the connection with 1009 (message too big): it refused the first frame it had not
   * processed. On resumption that frame fails with `TOO_LARGE` instead of being sent again.
   */
  refusedForSize(): void {
    this.sizeRefused = true;
  }

  /** Counts one server frame of `type` (every frame but welcome and goodbye is numbered). */
  count(type: unknown): void {
    this.counter.countFrame(type);
  }

  /** A `result` or `error` arrived: its frame was processed; its request (if still waiting) is answered. */
  answer(frame: ServerFrameOf<"result" | "error">): void {
    this.outbox.processedId(frame.id);
    if (frame.type === "result") this.requests.resolve(frame.id, frame.value);
    else this.requests.reject(frame.id, frame);
  }

  /** The connection dropped: request timers stop while the session waits for resumption. */
  pause(): void {
    this.requests.pause();
  }

  /**
   * The session was resumed and the server had processed `processed` of our frames: returns the rest,
   * to re-send in order. Request timers start again.
   */
  resumed(processed: number): Uint8Array[] {
    this.outbox.processedUpTo(processed);
    if (this.sizeRefused) this.failRefused();
    this.requests.resume();
    return this.outbox.unprocessed().map((entry) => entry.bytes);
  }

  /**
   * Fails the frame the server refused for its size with `TOO_LARGE` and never sends it again (sending
   * it again would be refused again, for ever). A `ping` with the same id takes its place, so the
   * server's numbering and ours stay in step; its answer finds no request and is dropped. Frames as
   * large are refused locally from now on.
   */
  private failRefused(): void {
    this.sizeRefused = false;
    const refused = this.outbox.first();
    if (!refused) return;
    this.outbox.replaceFirst(this.encoder.encode({ type: "ping", id: refused.id }));
    // A frame that large went alone in its message (MAX_BATCH_BYTES): its size is what was refused.
    if (refused.bytes.length >= MAX_BATCH_BYTES) {
      this.maxFrameBytes = Math.min(this.maxFrameBytes, refused.bytes.length - 1);
    }
    this.requests.fail(
      refused.id,
      new SkeinError(
        "TOO_LARGE",
        `the server refused a frame of ${refused.bytes.length} bytes (WebSocket close 1009)`,
      ),
    );
  }

  /** A new session replaced the old one: what waited fails with `SESSION_NOT_RESUMED`; counts restart. */
  newSession(previousSessionId: string): void {
    this.sizeRefused = false;
    this.counter.reset();
    const lost = this.outbox.reset();
    this.requests.failAll(
      new SkeinError("SESSION_NOT_RESUMED", `session ${previousSessionId} was not resumed`),
      lost,
    );
    this.requests.resume();
  }

  /** The session ended: everything waiting fails with `error`. */
  close(error: SkeinError): void {
    this.requests.failAll(error);
    this.outbox.reset();
  }
}

function ignore(): void {}
