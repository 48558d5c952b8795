/**
 * Requests waiting for their answer: one map from request id to its pending entry (each request gets
 * exactly one `result` or `error`).
 *
 * Timeouts: a request fails with `TIMEOUT` after `timeoutMs` of connected time. Every deadline lives on
 * one timer ({@link Deadlines}): most requests are answered long before theirs, and a timer per request
 * costs an allocation and a timer-list insertion and removal each. While the connection is down and the
 * session waits for resumption, the clock is stopped ({@link PendingRequests.pause}); on resumption
 * every request gets a full `timeoutMs` again ({@link PendingRequests.resume}), since it has just been
 * re-sent. If the session is not resumed, the caller fails them all.
 *
 * @module
 */
import {
  type Deadline,
  type DeadlineClock,
  Deadlines,
  SkeinError,
  type WireError,
  systemClock,
} from "@skein/protocol";

/** Turns a `result` value into what the caller gets; may throw (the request then fails with it). */
export type ResultDecoder = (value: unknown) => unknown;

interface Pending extends Deadline {
  readonly id: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: SkeinError) => void;
  readonly decode: ResultDecoder | undefined;
  readonly what: string;
  readonly timeoutMs: number;
}

/** The pending requests of a session. */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private deadlines: Deadlines<Pending>;
  private nextId = 1;
  private paused = false;

  /**
   * @param timeoutMs - how long a request may wait for its answer while connected (0: forever)
   * @param clock - time and timers (tests pass a manual clock)
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly clock: DeadlineClock = systemClock,
  ) {
    this.deadlines = this.newDeadlines();
  }

  /** How many requests wait. */
  get size(): number {
    return this.pending.size;
  }

  /** A new request id: unique in the session and increasing. */
  newId(): number {
    return this.nextId++;
  }

  /**
   * Waits for the answer to request `id`; `what` names the request in a timeout message. `timeoutMs`
   * overrides the session's timeout for this request (0: forever); `decode` turns the result value
   * into what the promise resolves with.
   */
  wait(id: number, what: string, timeoutMs = this.timeoutMs, decode?: ResultDecoder): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => this.add(id, what, timeoutMs, resolve, reject, decode));
  }

  /** As {@link wait}, with callbacks instead of a promise (for answers nobody awaits). */
  add(
    id: number,
    what: string,
    timeoutMs: number,
    resolve: (value: unknown) => void,
    reject: (err: SkeinError) => void,
    decode?: ResultDecoder,
  ): void {
    const entry: Pending = { id, resolve, reject, decode, what, timeoutMs, deadline: 0, done: false };
    this.pending.set(id, entry);
    if (!this.paused && timeoutMs > 0) this.deadlines.add(entry, timeoutMs);
  }

  /** Delivers a `result`; false when no request waits for `id`. */
  resolve(id: number, value: unknown): boolean {
    const entry = this.take(id);
    if (!entry) return false;
    if (entry.decode === undefined) {
      entry.resolve(value);
      return true;
    }
    let decoded: unknown;
    try {
      decoded = entry.decode(value);
    } catch (err) {
      entry.reject(SkeinError.from(err));
      return true;
    }
    entry.resolve(decoded);
    return true;
  }

  /** Delivers an `error`; false when no request waits for `id`. */
  reject(id: number, wire: WireError): boolean {
    const entry = this.take(id);
    entry?.reject(SkeinError.fromWire(wire));
    return entry !== undefined;
  }

  /** Fails request `id` with `err` (e.g. it could not be sent). */
  fail(id: number, err: SkeinError): void {
    this.take(id)?.reject(err);
  }

  /** Fails the requests `ids` (or every request) with `err`. */
  failAll(err: SkeinError, ids: Iterable<number> = [...this.pending.keys()]): void {
    for (const id of ids) this.fail(id, err);
  }

  /** The connection is down: stop the clock. */
  pause(): void {
    this.paused = true;
    this.deadlines.stop();
    this.deadlines = this.newDeadlines();
  }

  /** The session is back: every waiting request gets a full timeout again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const entry of this.pending.values()) {
      entry.done = false;
      if (entry.timeoutMs > 0) this.deadlines.add(entry, entry.timeoutMs);
    }
  }

  private newDeadlines(): Deadlines<Pending> {
    return new Deadlines<Pending>(this.clock, (entry) => {
      this.pending.delete(entry.id);
      entry.reject(new SkeinError("TIMEOUT", `${entry.what} got no answer within ${entry.timeoutMs} ms`));
    });
  }

  private take(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    entry.done = true;
    if (entry.timeoutMs > 0 && !this.paused) this.deadlines.trim(entry.timeoutMs);
    return entry;
  }
}
