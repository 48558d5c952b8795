/**
 * Requests waiting for their answer: one map from request id to its pending promise (each request gets
 * exactly one `result` or `error`).
 *
 * Timeouts: a request fails with `TIMEOUT` after `timeoutMs` of connected time. While the connection is
 * down and the session waits for resumption, timers are paused ({@link PendingRequests.pause}); on
 * resumption they start again with a full `timeoutMs` ({@link PendingRequests.resume}), since the
 * request has just been re-sent. If the session is not resumed, the caller fails them all.
 *
 * @module
 */
import { SkeinError, type WireError } from "@skein/protocol";

interface Pending {
  resolve(value: unknown): void;
  reject(err: SkeinError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  what: string;
  timeoutMs: number;
}

/** The pending requests of a session. */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private paused = false;

  /**
   * @param timeoutMs - how long a request may wait for its answer while connected (0: forever)
   * @param onTimeout - told the id of a request that timed out
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (id: number) => void = () => {},
  ) {}

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
   * overrides the session's timeout for this request (0: forever).
   */
  wait(id: number, what: string, timeoutMs = this.timeoutMs): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const entry: Pending = { resolve, reject, timer: undefined, what, timeoutMs };
      this.pending.set(id, entry);
      if (!this.paused) this.arm(id, entry);
    });
  }

  /** Delivers a `result`; false when no request waits for `id`. */
  resolve(id: number, value: unknown): boolean {
    const entry = this.take(id);
    entry?.resolve(value);
    return entry !== undefined;
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

  /** The connection is down: stop the clocks. */
  pause(): void {
    this.paused = true;
    for (const entry of this.pending.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  /** The session is back: every waiting request gets a full timeout again. */
  resume(): void {
    this.paused = false;
    for (const [id, entry] of this.pending) this.arm(id, entry);
  }

  private arm(id: number, entry: Pending): void {
    if (entry.timeoutMs <= 0) return;
    entry.timer = setTimeout(() => {
      this.take(id)?.reject(
        new SkeinError("TIMEOUT", `${entry.what} got no answer within ${entry.timeoutMs} ms`),
      );
      this.onTimeout(id);
    }, entry.timeoutMs);
  }

  private take(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    return entry;
  }
}
