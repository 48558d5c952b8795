/**
 * Quotas against floods of topics and retained values (issue 14 §4): a global cap on the topics
 * holding a value (MQTT's retained messages) and on their payload bytes, and per session caps on the
 * values it holds, their bytes, and the topics it created.
 *
 * What a session holds: a topic it created (SDK `add`, a `set` with a specification, an MQTT publish
 * that created it) counts against it until the topic is removed; a value counts against the session
 * that wrote it last, until it is replaced (then it counts against the writer), cleared (an empty
 * retained MQTT payload) or removed with its topic. Values and topics the server writes or restores
 * at start-up count globally only, and the server is never refused. A session's holdings are kept
 * by session id while it holds anything, connected or not (a resumed session keeps them; a new one
 * starts at zero, the global caps bounding them all).
 *
 * A change is refused only when it makes a usage grow past its cap: replacing a value by one as
 * large or smaller, clearing one and removing topics always work, even above a lowered cap.
 */
import type { Counter, Metrics } from "./metrics.js";
import type { Clock, Logger } from "./ports.js";
import type { Topic } from "./types.js";

/** The caps (configured under `limits`, see docs/security.md "Survival"). */
export interface QuotaLimits {
  /** Topics holding a value, server-wide (`limits.maxRetainedTopics`). */
  maxRetainedTopics: number;
  /** Payload bytes of those values, server-wide (`limits.maxRetainedBytes`). */
  maxRetainedBytes: number;
  /** Values one session holds (`limits.maxRetainedTopicsPerSession`). */
  maxRetainedTopicsPerSession: number;
  /** Payload bytes of the values one session holds (`limits.maxRetainedBytesPerSession`). */
  maxRetainedBytesPerSession: number;
  /** Topics one session created that still exist (`limits.maxTopicsPerSession`). */
  maxTopicsPerSession: number;
}

/** No cap: what a core gets when its host configures none (unit tests). */
export const UNLIMITED_QUOTAS: QuotaLimits = Object.freeze({
  maxRetainedTopics: Infinity,
  maxRetainedBytes: Infinity,
  maxRetainedTopicsPerSession: Infinity,
  maxRetainedBytesPerSession: Infinity,
  maxTopicsPerSession: Infinity,
});

/** The quota a refusal names: the `quota` label of `skein_quota_refusals_total`. */
export type QuotaName =
  | "retained_topics"
  | "retained_bytes"
  | "retained_topics_per_session"
  | "retained_bytes_per_session"
  | "topics_per_session";

/** What one session holds. */
export interface SessionHoldings {
  readonly sessionId: string;
  /** Topics it created that still exist. */
  topics: number;
  /** Topics whose value it wrote last. */
  retained: number;
  /** Payload bytes of those values. */
  retainedBytes: number;
}

/** A refusal: which quota, and the sentence the client is told (with `RATE_LIMITED`). */
export interface QuotaRefusal {
  quota: QuotaName;
  message: string;
}

/** How often a warning is logged per quota at most (ms); every refusal is counted and logged at debug. */
const WARN_INTERVAL_MS = 10_000;

/** The accounting of {@link QuotaLimits}. */
export class Quotas {
  /** Topics holding a value. */
  retainedTopics = 0;
  /** Payload bytes of those values. */
  retainedBytes = 0;
  private readonly holdings = new Map<string, SessionHoldings>();
  private readonly refusals = new Map<QuotaName, Counter>();
  private readonly lastWarned = new Map<QuotaName, number>();
  /** The `skein_retained_bytes` gauge, held at hand: it moves with every retained update. */
  private readonly bytesGauge: Counter;

  constructor(
    private readonly limits: QuotaLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly clock: Clock,
    /** Told of every change of a value that has, or had, an MQTT 5 Message Expiry (core/value-expiry.ts). */
    private readonly expiring: (topic: Topic) => void = () => {},
  ) {
    this.bytesGauge = metrics.counter("skein_retained_bytes");
  }

  /** What `sessionId` holds now (zeros when nothing). */
  holdingsOf(sessionId: string): Readonly<SessionHoldings> {
    return this.holdings.get(sessionId) ?? { sessionId, topics: 0, retained: 0, retainedBytes: 0 };
  }

  /** Sessions holding anything (for tests and monitoring). */
  get sessionsHolding(): number {
    return this.holdings.size;
  }

  // ---- topics created ----

  /** Why `sessionId` may not create one more topic, or undefined when it may (counted and logged). */
  refuseCreate(sessionId: string | undefined): QuotaRefusal | undefined {
    if (sessionId === undefined) return undefined;
    const max = this.limits.maxTopicsPerSession;
    if ((this.holdings.get(sessionId)?.topics ?? 0) < max) return undefined;
    return this.refused(
      "topics_per_session",
      sessionId,
      `a session may hold at most ${max} topics it created (limits.maxTopicsPerSession)`,
    );
  }

  /** Records that `sessionId` (none: the server) created `topic`. */
  created(topic: Topic, sessionId: string | undefined): void {
    if (sessionId === undefined) return;
    const h = this.entry(sessionId);
    h.topics++;
    topic.creator = h;
  }

  /** `topic` was removed: its creator and its value's writer hold it no more. */
  removed(topic: Topic): void {
    this.setValue(topic, undefined, undefined);
    const h = topic.creator;
    if (h === undefined) return;
    topic.creator = undefined;
    h.topics--;
    this.dropIfEmpty(h);
  }

  // ---- values ----

  /**
   * Why `sessionId` may not give `topic` (undefined: a topic it is about to create) a value of
   * `bytes` payload bytes, or undefined when it may. The server (no session) is never refused.
   */
  refuseValue(
    topic: Topic | undefined,
    sessionId: string | undefined,
    bytes: number,
  ): QuotaRefusal | undefined {
    const old = topic?.value;
    const oldBytes = old === undefined ? 0 : old.payload.byteLength;
    const limits = this.limits;
    if (sessionId === undefined) return undefined;
    if (old === undefined && this.retainedTopics >= limits.maxRetainedTopics)
      return this.refused(
        "retained_topics",
        sessionId,
        `the server holds its maximum of ${limits.maxRetainedTopics} retained values (limits.maxRetainedTopics)`,
      );
    if (bytes > oldBytes && this.retainedBytes - oldBytes + bytes > limits.maxRetainedBytes)
      return this.refused(
        "retained_bytes",
        sessionId,
        `the server holds its maximum of ${limits.maxRetainedBytes} bytes of retained values (limits.maxRetainedBytes)`,
      );
    // The common case, a session updating its own value, needs no lookup.
    const holder = topic?.retainer;
    const own = holder !== undefined && holder.sessionId === sessionId;
    const h = own ? holder : this.holdings.get(sessionId);
    if (!own && (h?.retained ?? 0) >= limits.maxRetainedTopicsPerSession)
      return this.refused(
        "retained_topics_per_session",
        sessionId,
        `a session may hold at most ${limits.maxRetainedTopicsPerSession} retained values (limits.maxRetainedTopicsPerSession)`,
      );
    const added = own ? bytes - oldBytes : bytes;
    if (added > 0 && (h?.retainedBytes ?? 0) + added > limits.maxRetainedBytesPerSession)
      return this.refused(
        "retained_bytes_per_session",
        sessionId,
        `a session may hold at most ${limits.maxRetainedBytesPerSession} bytes of retained values (limits.maxRetainedBytesPerSession)`,
      );
    return undefined;
  }

  /**
   * Sets (or clears, with undefined) `topic`'s value, written by `sessionId`, when the quotas allow
   * it: undefined when done, else the refusal (counted and logged; nothing changed).
   */
  change(topic: Topic, value: Topic["value"], sessionId: string | undefined): QuotaRefusal | undefined {
    if (value !== undefined && sessionId !== undefined) {
      const old = topic.value;
      const holder = topic.retainer;
      if (old !== undefined && holder !== undefined && holder.sessionId === sessionId) {
        // The common case, a session replacing its own value: only its bytes move.
        const added = value.payload.byteLength - old.payload.byteLength;
        if (added > 0) {
          const refusal = this.refuseValue(topic, sessionId, value.payload.byteLength);
          if (refusal !== undefined) return refusal;
        }
        topic.value = value;
        if (added !== 0) {
          holder.retainedBytes += added;
          this.bytesGauge.value = this.retainedBytes += added;
        }
        return undefined;
      }
      const refusal = this.refuseValue(topic, sessionId, value.payload.byteLength);
      if (refusal !== undefined) return refusal;
    }
    this.setValue(topic, value, sessionId);
    return undefined;
  }

  /**
   * Sets (or clears, with undefined) `topic`'s value, written by `sessionId` (none: the server), and
   * moves the accounting with it. Every change of a topic's value goes through here.
   */
  setValue(topic: Topic, value: Topic["value"], sessionId: string | undefined): void {
    const old = topic.value;
    // A holder always holds at least this value, so it is still in the map.
    const previous = topic.retainer;
    if (old !== undefined) {
      const bytes = old.payload.byteLength;
      this.retainedTopics--;
      this.retainedBytes -= bytes;
      if (previous !== undefined) {
        previous.retained--;
        previous.retainedBytes -= bytes;
      }
    }
    topic.value = value;
    let next: SessionHoldings | undefined;
    if (value !== undefined) {
      const bytes = value.payload.byteLength;
      this.retainedTopics++;
      this.retainedBytes += bytes;
      if (sessionId !== undefined) {
        next = previous !== undefined && previous.sessionId === sessionId ? previous : this.entry(sessionId);
        next.retained++;
        next.retainedBytes += bytes;
      }
    }
    topic.retainer = next;
    if (previous !== undefined && previous !== next) this.dropIfEmpty(previous);
    this.bytesGauge.value = this.retainedBytes;
    if (old?.expiresAt !== undefined || value?.expiresAt !== undefined) this.expiring(topic);
  }

  private entry(sessionId: string): SessionHoldings {
    let h = this.holdings.get(sessionId);
    if (h === undefined) {
      h = { sessionId, topics: 0, retained: 0, retainedBytes: 0 };
      this.holdings.set(sessionId, h);
    }
    return h;
  }

  /** Forgets a session's holdings once it holds nothing (the map stays as small as what is held). */
  private dropIfEmpty(h: SessionHoldings): void {
    if (h.topics === 0 && h.retained === 0 && this.holdings.get(h.sessionId) === h)
      this.holdings.delete(h.sessionId);
  }

  /** Counts and logs a refusal (a warning at most every {@link WARN_INTERVAL_MS} per quota). */
  private refused(quota: QuotaName, sessionId: string, message: string): QuotaRefusal {
    let counter = this.refusals.get(quota);
    if (counter === undefined)
      this.refusals.set(quota, (counter = this.metrics.counter("skein_quota_refusals_total", { quota })));
    counter.value++;
    const now = this.clock.now();
    const last = this.lastWarned.get(quota);
    if (last === undefined || now - last >= WARN_INTERVAL_MS) {
      this.lastWarned.set(quota, now);
      this.log.warn({ quota, sessionId }, `quota reached: ${message}`);
    } else this.log.debug({ quota, sessionId }, "quota reached");
    return { quota, message };
  }
}
