/**
 * The memory engine of the {@link Storage} port: everything in maps, nothing across restarts. Writes
 * settle at once (there is nothing to commit); reads and sweeps behave exactly like the sqlite engine's,
 * which the shared table tests check.
 *
 * @module
 */
import { type SecurityDocument, parseSecurityDocument } from "../core/security/model.js";
import type {
  DeliveryUpdate,
  EventCount,
  EventRead,
  LoadedRecord,
  LoadOptions,
  QueuedMessageRecord,
  QueueSummary,
  SessionRecord,
  Storage,
  SubscriptionRecord,
  SweepResult,
  TimeSeriesEvent,
  TopicRecord,
} from "../core/storage.js";

/** How many records one batch of {@link MemoryStorage.load} holds. */
const LOAD_BATCH = 1000;

interface SessionEntry {
  record: SessionRecord | undefined;
  readonly subscriptions: Map<string, SubscriptionRecord>;
  readonly messages: Map<number, QueuedMessageRecord>;
  readonly incomingQos2: Set<number>;
}

interface SeriesEntry {
  /** Events, oldest first, sequences rising; those before `head` are trimmed (compacted in bulk). */
  events: TimeSeriesEvent[];
  head: number;
  /** The edit events alone (an index: range queries look up an original's edits), trimmed likewise. */
  edits: TimeSeriesEvent[];
  editHead: number;
  /** Sequence of the oldest kept event (or `nextSequence` when none is kept). */
  firstSequence: number;
  nextSequence: number;
}

const done: Promise<void> = Promise.resolve();

/** A {@link Storage} that keeps everything in memory, for tests and ephemeral servers. */
export class MemoryStorage implements Storage {
  readonly engine = "memory";
  private readonly topics = new Map<string, TopicRecord>();
  /** The security store, as JSON. */
  private security: string | undefined;
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly series = new Map<string, SeriesEntry>();

  async *load(options?: LoadOptions): AsyncIterable<readonly LoadedRecord[]> {
    let batch: LoadedRecord[] = [];
    const add = function* (record: LoadedRecord): Generator<LoadedRecord[]> {
      batch.push(record);
      if (batch.length >= LOAD_BATCH) {
        yield batch;
        batch = [];
      }
    };
    // The same order as the sqlite engine: by key.
    if (options?.topics !== false) {
      for (const path of sortedKeys(this.topics))
        yield* add({ kind: "topic", record: this.topics.get(path)! });
      for (const path of sortedKeys(this.series)) {
        const s = this.series.get(path)!;
        const last = s.events.length > s.head ? s.events[s.events.length - 1] : undefined;
        const record = { path, firstSequence: s.firstSequence, nextSequence: s.nextSequence };
        yield* add({ kind: "series", record: last ? { ...record, lastTimestamp: last.timestamp } : record });
      }
    }
    const clients = options?.sessions === false ? [] : sortedKeys(this.sessions);
    for (const c of clients) {
      const record = this.sessions.get(c)!.record;
      if (record) yield* add({ kind: "session", record });
    }
    for (const c of clients) {
      const subscriptions = this.sessions.get(c)!.subscriptions;
      for (const filter of sortedKeys(subscriptions))
        yield* add({ kind: "subscription", record: subscriptions.get(filter)! });
    }
    const messages = options?.messages ?? true;
    for (const c of messages === true ? clients : []) {
      for (const record of this.sortedMessages(c)) yield* add({ kind: "message", record });
    }
    for (const c of messages === "summary" ? clients : []) {
      const record = this.summary(c);
      if (record) yield* add({ kind: "queue", record });
    }
    for (const c of clients) {
      const ids = [...this.sessions.get(c)!.incomingQos2].sort((a, b) => a - b);
      for (const packetId of ids) yield* add({ kind: "incomingQos2", clientId: c, packetId });
    }
    if (batch.length > 0) yield batch;
  }

  loadSessionMessages(clientId: string): Promise<QueuedMessageRecord[]> {
    return Promise.resolve(this.sortedMessages(clientId));
  }

  /** The summary of a session's queue, as the sqlite engine computes it; undefined when it is empty. */
  private summary(clientId: string): QueueSummary | undefined {
    const messages = this.sessions.get(clientId)!.messages;
    if (messages.size === 0) return undefined;
    let queued = 0;
    let queuedBytes = 0;
    let lastMessageId = 0;
    for (const m of messages.values()) {
      lastMessageId = Math.max(lastMessageId, m.messageId);
      if (m.state !== "queued" && m.packetId !== undefined) continue;
      queued++;
      queuedBytes += m.payload.byteLength + m.topic.length;
    }
    return { clientId, queued, queuedBytes, inflight: messages.size - queued, lastMessageId };
  }

  private sortedMessages(clientId: string): QueuedMessageRecord[] {
    const messages = this.sessions.get(clientId)?.messages;
    return messages ? [...messages.values()].sort((a, b) => a.messageId - b.messageId) : [];
  }

  putTopic(topic: TopicRecord): Promise<void> {
    this.topics.set(topic.path, topic);
    return done;
  }

  removeTopic(path: string): Promise<void> {
    this.topics.delete(path);
    this.series.delete(path);
    return done;
  }

  putSession(session: SessionRecord): Promise<void> {
    this.session(session.clientId).record = session;
    return done;
  }

  removeSession(clientId: string): Promise<void> {
    this.sessions.delete(clientId);
    return done;
  }

  putSubscription(subscription: SubscriptionRecord): Promise<void> {
    this.session(subscription.clientId).subscriptions.set(subscription.filter, subscription);
    return done;
  }

  removeSubscription(clientId: string, filter: string): Promise<void> {
    this.sessions.get(clientId)?.subscriptions.delete(filter);
    return done;
  }

  enqueueMessage(message: QueuedMessageRecord): Promise<void> {
    this.session(message.clientId).messages.set(message.messageId, message);
    return done;
  }

  updateMessage(clientId: string, messageId: number, update: DeliveryUpdate): Promise<void> {
    const messages = this.sessions.get(clientId)?.messages;
    const message = messages?.get(messageId);
    if (messages && message) {
      const { packetId: _old, ...rest } = message;
      messages.set(messageId, { ...rest, ...update });
    }
    return done;
  }

  ackMessage(clientId: string, messageId: number): Promise<void> {
    this.sessions.get(clientId)?.messages.delete(messageId);
    return done;
  }

  recordIncomingQos2(clientId: string, packetId: number): Promise<void> {
    this.session(clientId).incomingQos2.add(packetId);
    return done;
  }

  releaseIncomingQos2(clientId: string, packetId: number): Promise<void> {
    this.sessions.get(clientId)?.incomingQos2.delete(packetId);
    return done;
  }

  appendEvent(path: string, event: TimeSeriesEvent): Promise<void> {
    let s = this.series.get(path);
    if (!s) {
      s = {
        events: [],
        head: 0,
        edits: [],
        editHead: 0,
        firstSequence: event.sequence,
        nextSequence: event.sequence,
      };
      this.series.set(path, s);
    }
    if (s.events.length === s.head) s.firstSequence = event.sequence;
    s.events.push(event);
    if (event.originalSequence !== undefined) s.edits.push(event);
    s.nextSequence = event.sequence + 1;
    return done;
  }

  trimEvents(path: string, beforeSequence: number): Promise<void> {
    const s = this.series.get(path);
    if (s && beforeSequence > s.firstSequence) {
      s.head = lowerBound(s.events, beforeSequence, (e) => e.sequence, s.head);
      // Compact in bulk, not per trim: a count-bounded series trims on every append.
      if (s.head > 1024 && s.head * 2 > s.events.length) {
        s.events = s.events.slice(s.head);
        s.head = 0;
      }
      s.editHead = lowerBound(s.edits, beforeSequence, (e) => e.sequence, s.editHead);
      if (s.editHead > 1024 && s.editHead * 2 > s.edits.length) {
        s.edits = s.edits.slice(s.editHead);
        s.editHead = 0;
      }
      s.firstSequence = Math.min(beforeSequence, s.nextSequence);
    }
    return done;
  }

  readEvents(path: string, read: EventRead): Promise<TimeSeriesEvent[]> {
    const s = this.series.get(path);
    if (!s) return Promise.resolve([]);
    const { events, lo, hi } = spanOf(s, read);
    const out: TimeSeriesEvent[] = [];
    const step = read.newestFirst ? -1 : 1;
    for (let i = read.newestFirst ? hi - 1 : lo; i >= lo && i < hi && out.length < read.limit; i += step) {
      const e = events[i]!;
      if (matchesKind(e, read)) out.push(e);
    }
    return Promise.resolve(out);
  }

  countEvents(path: string, count: EventCount): Promise<number> {
    const s = this.series.get(path);
    if (!s) return Promise.resolve(0);
    const { events, lo, hi } = spanOf(s, count);
    let n = 0;
    for (let i = lo; i < hi; i++) if (matchesKind(events[i]!, count)) n++;
    return Promise.resolve(n);
  }

  findEventByTime(
    path: string,
    timestamp: number,
    side: "atOrAfter" | "before",
  ): Promise<TimeSeriesEvent | undefined> {
    const s = this.series.get(path);
    if (!s) return Promise.resolve(undefined);
    const i = lowerBound(s.events, timestamp, (e) => e.timestamp, s.head);
    return Promise.resolve(side === "atOrAfter" ? s.events[i] : i > s.head ? s.events[i - 1] : undefined);
  }

  sweep(now: number): Promise<SweepResult> {
    const sessions: string[] = [];
    const values: string[] = [];
    let messages = 0;
    for (const [clientId, s] of this.sessions) {
      if (s.record?.expiresAt !== undefined && s.record.expiresAt <= now) {
        this.sessions.delete(clientId);
        sessions.push(clientId);
        continue;
      }
      for (const [id, m] of s.messages) {
        if (m.state === "queued" && m.expiresAt !== undefined && m.expiresAt <= now) {
          s.messages.delete(id);
          messages++;
        }
      }
    }
    for (const [path, t] of this.topics) {
      if (t.value?.expiresAt !== undefined && t.value.expiresAt <= now) {
        this.topics.set(path, { path, spec: t.spec });
        values.push(path);
      }
    }
    return Promise.resolve({ sessions, messages, values });
  }

  putSecurity(document: SecurityDocument): Promise<void> {
    // A copy through JSON, as the sqlite engine keeps it: later changes to the caller's objects are not kept.
    this.security = JSON.stringify(document);
    return done;
  }

  loadSecurity(): Promise<SecurityDocument | undefined> {
    return Promise.resolve(this.security === undefined ? undefined : parseSecurityDocument(this.security));
  }

  flush(): Promise<void> {
    return done;
  }

  close(): Promise<void> {
    return done;
  }

  private session(clientId: string): SessionEntry {
    let s = this.sessions.get(clientId);
    if (!s) {
      s = { record: undefined, subscriptions: new Map(), messages: new Map(), incomingQos2: new Set() };
      this.sessions.set(clientId, s);
    }
    return s;
  }
}

/** A map's keys in code-unit order (SQLite's default BINARY collation for UTF-8 text agrees). */
function sortedKeys(map: ReadonlyMap<string, unknown>): string[] {
  return [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether `e` passes the kind and original-sequence filters of `read`. */
/** The slice of a series' events (or of its edits) within a read's sequence and time bounds. */
function spanOf(s: SeriesEntry, read: EventCount): { events: TimeSeriesEvent[]; lo: number; hi: number } {
  const editsOnly = read.kind === "edits" || read.originalFrom !== undefined || read.originalTo !== undefined;
  const events = editsOnly ? s.edits : s.events;
  const head = editsOnly ? s.editHead : s.head;
  const bySeq = (e: TimeSeriesEvent): number => e.sequence;
  const byTime = (e: TimeSeriesEvent): number => e.timestamp;
  let lo = read.fromSequence === undefined ? head : lowerBound(events, read.fromSequence, bySeq, head);
  let hi = read.toSequence === undefined ? events.length : lowerBound(events, read.toSequence, bySeq, head);
  if (read.fromTimestamp !== undefined)
    lo = Math.max(lo, lowerBound(events, read.fromTimestamp, byTime, head));
  if (read.toTimestamp !== undefined) hi = Math.min(hi, lowerBound(events, read.toTimestamp, byTime, head));
  return { events, lo, hi };
}

function matchesKind(e: TimeSeriesEvent, read: EventCount): boolean {
  const original = e.originalSequence;
  if (read.originalFrom !== undefined || read.originalTo !== undefined) {
    if (original === undefined) return false;
    if (read.originalFrom !== undefined && original < read.originalFrom) return false;
    if (read.originalTo !== undefined && original >= read.originalTo) return false;
    return true;
  }
  if (read.kind === "originals") return original === undefined;
  if (read.kind === "edits") return original !== undefined;
  return true;
}

/** Index (from `from`) of the first element whose key is >= `key` in `items` sorted by `keyOf`. */
function lowerBound<T>(items: readonly T[], key: number, keyOf: (item: T) => number, from = 0): number {
  let lo = from;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyOf(items[mid]!) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
