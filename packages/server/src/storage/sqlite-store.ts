/**
 * The sqlite engine of the {@link Storage} port (DESIGN §8): better-sqlite3 in WAL mode, one file
 * `skein.db` in the data directory, locked against a second server, group-committed.
 *
 * Group commit: a write is queued (a prepared statement and its parameters) and every write queued
 * before the batch closes shares one transaction. The batch closes after `maxBatchDelayMs` (0: at the
 * end of the event-loop turn, through `setImmediate`) or once it holds `maxBatchSize` writes, at the
 * end of the synchronous run that filled it (a microtask): the writes a caller makes together, such as
 * the event a QoS 2 PUBLISH appends and its packet id, are never split between two transactions, which
 * a crash between the two commits would tear apart [MQTT-4.3.3-9]. All the writes of one batch return
 * the same promise, which settles when its transaction has committed, so a write costs no promise and
 * no fsync of its own.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type BetterSqlite3 from "better-sqlite3";
import { type SecurityDocument, parseSecurityDocument } from "../core/security/model.js";
import type {
  DeliveryUpdate,
  EventCount,
  EventRead,
  LoadedRecord,
  LoadOptions,
  QueuedMessageRecord,
  SessionRecord,
  Storage,
  SubscriptionRecord,
  SweepResult,
  TimeSeriesEvent,
  TopicRecord,
} from "../core/storage.js";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.js";
import {
  type EventTuple,
  type MessageTuple,
  type SeriesRow,
  type SessionRow,
  type SubscriptionRow,
  type TopicRow,
  encodeOwner,
  encodeProperties,
  encodeWill,
  eventOf,
  messageOf,
  MESSAGE_COLUMNS,
  sessionOf,
  STATE_CODES,
  subscriptionOf,
  topicOf,
} from "./sqlite-rows.js";
import { checkDatabaseFile, corrupt, migrate, schemaVersion } from "./sqlite-schema.js";
import { StorageOpenError } from "./storage-open-error.js";

/** The database file's name inside the data directory. */
export const DATABASE_FILE = "skein.db";

/** Options of {@link SqliteStorage.open}. */
export interface SqliteStorageOptions {
  /** The data directory (created if missing). */
  readonly dataDir: string;
  /**
   * `normal` (PRAGMA synchronous=NORMAL): a commit survives a crash of the process but the last
   * commits may be lost if the OS crashes or power fails; `full` (synchronous=FULL): every commit is
   * fsynced and survives both. Default `normal`.
   */
  readonly sync?: "normal" | "full";
  /** How long a batch stays open for more writes, in ms; 0 = until the end of this event-loop turn. Default 2. */
  readonly maxBatchDelayMs?: number;
  /**
   * A batch holding this many writes commits at the end of the synchronous run that filled it (so it
   * may hold more: the writes of that run). Default 10,000.
   */
  readonly maxBatchSize?: number;
  /** Told of every successful commit: how long it took (seconds) and how many writes it held (metrics). */
  readonly onCommit?: (seconds: number, writes: number) => void;
}

const LOAD_PAGE = 2000;

/** A row of the per-session queue summary. */
interface QueueSummaryRow {
  client_id: string;
  queued: number;
  queued_bytes: number;
  inflight: number;
  last_id: number;
}

type Params = unknown[];

/** A {@link Storage} kept in an SQLite file. Create with {@link SqliteStorage.open}. */
export class SqliteStorage implements Storage {
  readonly engine = "sqlite";
  /** The database file. */
  readonly file: string;
  private readonly db: BetterSqlite3.Database;
  private readonly lock: DataDirLock;
  private readonly maxBatchDelayMs: number;
  private readonly maxBatchSize: number;
  private readonly onCommit: ((seconds: number, writes: number) => void) | undefined;
  private readonly st: ReturnType<typeof prepareStatements>;
  // Start-up pages through each table by key with row values, `(a, b) > (?, ?)`, which SQLite answers
  // from the primary key; `a > ? OR (a = ? AND b > ?)` made it scan from the start for every page.
  private readonly reads = new Map<string, BetterSqlite3.Statement>();
  private readonly seriesIds = new Map<string, number>();
  private nextSeriesId = 1;

  private stmts: BetterSqlite3.Statement[] = [];
  private params: Params[] = [];
  private batch: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;
  private timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  private closed = false;
  private readonly commitNow = (): void => this.commit();
  /** The open batch is full: its commit is queued as a microtask. */
  private fullCommitQueued = false;
  /**
   * The open batch's transaction has begun (a read ran the writes queued before it, see
   * {@link SqliteStorage.runPendingForRead}); `ran` of its writes have run in it.
   */
  private inTransaction = false;
  private ran = 0;

  private constructor(
    file: string,
    db: BetterSqlite3.Database,
    lock: DataDirLock,
    options: SqliteStorageOptions,
  ) {
    this.file = file;
    this.db = db;
    this.lock = lock;
    this.maxBatchDelayMs = options.maxBatchDelayMs ?? 2;
    this.maxBatchSize = options.maxBatchSize ?? 10_000;
    this.onCommit = options.onCommit;
    this.st = prepareStatements(db);
    for (const row of db.prepare("SELECT id, path FROM series").all() as { id: number; path: string }[]) {
      this.seriesIds.set(row.path, row.id);
      if (row.id >= this.nextSeriesId) this.nextSeriesId = row.id + 1;
    }
  }

  /**
   * Opens (creating if needed) `skein.db` in `options.dataDir`. Throws a {@link StorageOpenError} for a
   * corrupt or truncated file, a newer schema, a foreign database, or a directory another live
   * process holds. Never changes a file it refuses.
   */
  static open(options: SqliteStorageOptions): SqliteStorage {
    const file = join(options.dataDir, DATABASE_FILE);
    try {
      mkdirSync(options.dataDir, { recursive: true });
    } catch (err) {
      throw new StorageOpenError(
        "unreadable",
        file,
        `Skein cannot create its data directory ${options.dataDir}: ${(err as Error).message}. Choose another --data-dir or fix its permissions.`,
        err,
      );
    }
    const lock = lockDataDir(options.dataDir);
    let db: BetterSqlite3.Database | undefined;
    try {
      checkDatabaseFile(file);
      db = new Database(file);
      schemaVersion(db, file); // refuses a foreign or newer database before anything writes to it
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"}`);
      // Checkpoint the WAL every 10,000 pages (about 40 MB) rather than SQLite's 1,000: a commit writes
      // every page it dirtied, and appends spread over many series dirty a page per series, so the
      // default checkpointed every few batches, rewriting the same pages into the database each time
      // (about a quarter of the CPU of an append round-robin over 1,000 series). The WAL file is cut
      // back to 64 MB after a checkpoint if it grew past that.
      db.pragma("wal_autocheckpoint = 10000");
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      migrate(db, file);
      return new SqliteStorage(file, db, lock, options);
    } catch (err) {
      db?.close();
      lock.release();
      if (err instanceof StorageOpenError) throw err;
      throw asOpenError(file, err);
    }
  }

  /**
   * See {@link Storage.load}. Damage that the open did not see (a corrupt page inside a table) stops the
   * load with the same {@link StorageOpenError} (`corrupt`) as a refusal at open.
   */
  async *load(options?: LoadOptions): AsyncIterable<readonly LoadedRecord[]> {
    try {
      yield* this.loadPages(options ?? {});
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) throw asOpenError(this.file, err);
      throw err;
    }
  }

  private async *loadPages(options: LoadOptions): AsyncIterable<readonly LoadedRecord[]> {
    this.commit();
    if (options.topics !== false) yield* this.loadTopicPages();
    if (options.sessions !== false) yield* this.loadSessionPages(options.messages ?? true);
  }

  private *loadTopicPages(): Iterable<readonly LoadedRecord[]> {
    const st = this.st;
    let key = "";
    for (;;) {
      const rows = st.loadTopics.all(key, LOAD_PAGE) as TopicRow[];
      if (rows.length === 0) break;
      key = rows[rows.length - 1]!.path;
      yield rows.map((r) => ({ kind: "topic", record: topicOf(r) }) as const);
    }
    const series = st.loadSeries.all() as SeriesRow[];
    for (let i = 0; i < series.length; i += LOAD_PAGE) {
      yield series.slice(i, i + LOAD_PAGE).map((r) => {
        const nextSequence = r.last_seq === null ? r.first_seq : r.last_seq + 1;
        const record = { path: r.path, firstSequence: Math.min(r.first_seq, nextSequence), nextSequence };
        return {
          kind: "series",
          record: r.last_ts === null ? record : { ...record, lastTimestamp: r.last_ts },
        } as const;
      });
    }
  }

  private *loadSessionPages(messages: boolean | "summary"): Iterable<readonly LoadedRecord[]> {
    const st = this.st;
    let key = "";
    for (;;) {
      const rows = st.loadSessions.all(key, LOAD_PAGE) as SessionRow[];
      if (rows.length === 0) break;
      key = rows[rows.length - 1]!.client_id;
      yield rows.map((r) => ({ kind: "session", record: sessionOf(r) }) as const);
    }
    let client = "";
    let filter = "";
    for (;;) {
      const rows = st.loadSubscriptions.all(client, filter, LOAD_PAGE) as SubscriptionRow[];
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      client = last.client_id;
      filter = last.filter;
      yield rows.map((r) => ({ kind: "subscription", record: subscriptionOf(r) }) as const);
    }
    if (messages === "summary") {
      // One pass over the queue table that reads no payload (length() of a BLOB reads its header).
      const rows = st.queueSummaries.all() as QueueSummaryRow[];
      for (let i = 0; i < rows.length; i += LOAD_PAGE) {
        yield rows.slice(i, i + LOAD_PAGE).map(
          (r) =>
            ({
              kind: "queue",
              record: {
                clientId: r.client_id,
                queued: r.queued,
                queuedBytes: r.queued_bytes,
                inflight: r.inflight,
                lastMessageId: r.last_id,
              },
            }) as const,
        );
      }
    }
    client = "";
    let id = -1;
    while (messages === true) {
      const rows = st.loadMessages.all(client, id, LOAD_PAGE) as MessageTuple[];
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      client = last[0];
      id = last[1];
      yield rows.map((r) => ({ kind: "message", record: messageOf(r) }) as const);
    }
    const qos2 = st.loadQos2.all() as { client_id: string; packet_id: number }[];
    for (let i = 0; i < qos2.length; i += LOAD_PAGE) {
      yield qos2
        .slice(i, i + LOAD_PAGE)
        .map((r) => ({ kind: "incomingQos2", clientId: r.client_id, packetId: r.packet_id }) as const);
    }
  }

  loadSessionMessages(clientId: string): Promise<QueuedMessageRecord[]> {
    this.runPendingForRead();
    return Promise.resolve((this.st.sessionMessages.all(clientId) as MessageTuple[]).map(messageOf));
  }

  putTopic(topic: TopicRecord): Promise<void> {
    const v = topic.value;
    return this.write(this.st.putTopic, [
      topic.path,
      JSON.stringify(topic.spec),
      v ? v.payload : null,
      v ? v.qos : null,
      v?.properties ? encodeProperties(v.properties) : null,
      v?.expiresAt ?? null,
    ]);
  }

  removeTopic(path: string): Promise<void> {
    if (this.closed) return this.closedError();
    const id = this.seriesIds.get(path);
    if (id !== undefined) {
      this.seriesIds.delete(path);
      this.queue(this.st.deleteEvents, [id]);
      this.queue(this.st.deleteSeries, [id]);
    }
    return this.write(this.st.deleteTopic, [path]);
  }

  putSession(session: SessionRecord): Promise<void> {
    return this.write(this.st.putSession, [
      session.clientId,
      session.protocolVersion,
      session.expiryIntervalSec,
      session.expiresAt ?? null,
      session.will ? encodeWill(session.will) : null,
      session.owner ? encodeOwner(session.owner) : null,
    ]);
  }

  removeSession(clientId: string): Promise<void> {
    if (this.closed) return this.closedError();
    const p = [clientId];
    this.queue(this.st.deleteSubscriptions, p);
    this.queue(this.st.deleteMessages, p);
    this.queue(this.st.deleteQos2, p);
    return this.write(this.st.deleteSession, p);
  }

  putSubscription(s: SubscriptionRecord): Promise<void> {
    return this.write(this.st.putSubscription, [
      s.clientId,
      s.filter,
      s.qos,
      s.noLocal ? 1 : 0,
      s.retainAsPublished ? 1 : 0,
      s.retainHandling,
      s.subscriptionId ?? null,
    ]);
  }

  removeSubscription(clientId: string, filter: string): Promise<void> {
    return this.write(this.st.deleteSubscription, [clientId, filter]);
  }

  enqueueMessage(m: QueuedMessageRecord): Promise<void> {
    return this.write(this.st.putMessage, [
      m.clientId,
      m.messageId,
      m.topic,
      m.payload,
      m.qos,
      m.retain ? 1 : 0,
      m.properties ? encodeProperties(m.properties) : null,
      m.subscriptionIds && m.subscriptionIds.length > 0 ? JSON.stringify(m.subscriptionIds) : null,
      m.expiresAt ?? null,
      m.packetId ?? null,
      STATE_CODES[m.state],
      m.dup ? 1 : 0,
    ]);
  }

  updateMessage(clientId: string, messageId: number, u: DeliveryUpdate): Promise<void> {
    return this.write(this.st.updateMessage, [
      STATE_CODES[u.state],
      u.packetId ?? null,
      u.dup ? 1 : 0,
      clientId,
      messageId,
    ]);
  }

  ackMessage(clientId: string, messageId: number): Promise<void> {
    return this.write(this.st.deleteMessage, [clientId, messageId]);
  }

  recordIncomingQos2(clientId: string, packetId: number): Promise<void> {
    return this.write(this.st.putQos2, [clientId, packetId]);
  }

  releaseIncomingQos2(clientId: string, packetId: number): Promise<void> {
    return this.write(this.st.deleteQos2One, [clientId, packetId]);
  }

  appendEvent(path: string, e: TimeSeriesEvent): Promise<void> {
    if (this.closed) return this.closedError();
    let id = this.seriesIds.get(path);
    if (id === undefined) {
      id = this.nextSeriesId++;
      this.seriesIds.set(path, id);
      this.queue(this.st.putSeries, [id, path, e.sequence]);
    }
    return this.write(this.st.putEvent, [
      id,
      e.sequence,
      e.timestamp,
      e.author,
      e.value,
      e.originalSequence ?? null,
    ]);
  }

  trimEvents(path: string, beforeSequence: number): Promise<void> {
    if (this.closed) return this.closedError();
    const id = this.seriesIds.get(path);
    if (id === undefined) return Promise.resolve();
    this.queue(this.st.trimEvents, [id, beforeSequence]);
    return this.write(this.st.trimSeries, [beforeSequence, id]);
  }

  readEvents(path: string, read: EventRead): Promise<TimeSeriesEvent[]> {
    const id = this.seriesIds.get(path);
    if (id === undefined || read.limit <= 0) return Promise.resolve([]);
    this.runPendingForRead();
    const { where, shape: bounds, params } = eventWhere(id, read);
    const shape = read.newestFirst ? `${bounds}n` : bounds;
    const order = read.newestFirst ? "seq DESC" : "seq";
    params.push(read.limit);
    const simple = (): TimeSeriesEvent[] => {
      const stmt = this.readStatement(`e${shape}`, () =>
        this.db
          .prepare(`SELECT seq, ts, author, value, original_seq ${where} ORDER BY ${order} LIMIT ?`)
          .raw(),
      );
      return (stmt.all(...params) as EventTuple[]).map(eventOf);
    };
    if (read.limit < BULK_READ) return Promise.resolve(simple());
    // A large read (a page of a range query) comes back as one row of columns: JSON arrays of the
    // sequences, timestamps, authors, originals and value lengths, and the values as one blob.
    // better-sqlite3 would otherwise make a row array, a Buffer per value and a value per column per
    // event, most of the cost of reading small events (about half the CPU of a 10,000-event query).
    // The values are concatenated as they are stored: `group_concat` copies a blob's bytes (NULs and
    // invalid UTF-8 included, in a UTF-8 database) and the CAST hands them back as a blob, without the
    // `hex`/`unhex` round trip this used to make (a fifth of the statement's CPU).
    // The aggregates see the rows in one pass, so the columns agree; that the pass followed the
    // subquery's order is checked (sequences strictly monotonic, lengths adding up to the blob), with
    // the plain statement as the fallback.
    const originalsOnly =
      read.kind === "originals" && read.originalFrom === undefined && read.originalTo === undefined;
    const columns = this.readStatement(`c${shape}`, () =>
      this.db
        .prepare(
          // A read of originals only leaves their `original_seq` out (all NULL): one aggregate fewer.
          `SELECT json_group_array(seq), json_group_array(ts), json_group_array(author), ${originalsOnly ? "'[]'" : "json_group_array(original_seq)"}, json_group_array(length(value)), CAST(group_concat(value, '') AS BLOB) FROM (SELECT seq, ts, author, value, original_seq ${where} ORDER BY ${order} LIMIT ?)`,
        )
        .raw(),
    );
    const row = columns.get(...params) as ColumnsTuple;
    const seqs = JSON.parse(row[0]) as number[];
    const stamps = JSON.parse(row[1]) as number[];
    const authors = JSON.parse(row[2]) as string[];
    const originals = JSON.parse(row[3]) as (number | null)[];
    const lengths = JSON.parse(row[4]) as number[];
    const blob = row[5] ?? EMPTY;
    const events = new Array<TimeSeriesEvent>(seqs.length);
    const step = read.newestFirst ? -1 : 1;
    let at = 0;
    for (let i = 0; i < seqs.length; i++) {
      const sequence = seqs[i]!;
      if (i > 0 && (sequence - seqs[i - 1]!) * step <= 0) return Promise.resolve(simple());
      // A plain view (what the memory engine gives too): Buffer's subarray costs twice as much.
      const value = new Uint8Array(blob.buffer, blob.byteOffset + at, lengths[i]!);
      at += lengths[i]!;
      const o = originals[i];
      events[i] =
        o === null || o === undefined
          ? { sequence, timestamp: stamps[i]!, author: authors[i]!, value }
          : { sequence, timestamp: stamps[i]!, author: authors[i]!, value, originalSequence: o };
    }
    if (at !== blob.length) return Promise.resolve(simple());
    return Promise.resolve(events);
  }

  countEvents(path: string, read: EventCount): Promise<number> {
    const id = this.seriesIds.get(path);
    if (id === undefined) return Promise.resolve(0);
    this.runPendingForRead();
    const { where, shape, params } = eventWhere(id, read);
    const stmt = this.readStatement(`n${shape}`, () => this.db.prepare(`SELECT count(*) ${where}`).pluck());
    return Promise.resolve(stmt.get(...params) as number);
  }

  private readStatement(shape: string, prepare: () => BetterSqlite3.Statement): BetterSqlite3.Statement {
    let stmt = this.reads.get(shape);
    if (!stmt) {
      stmt = prepare();
      this.reads.set(shape, stmt);
    }
    return stmt;
  }

  findEventByTime(
    path: string,
    timestamp: number,
    side: "atOrAfter" | "before",
  ): Promise<TimeSeriesEvent | undefined> {
    const id = this.seriesIds.get(path);
    if (id === undefined) return Promise.resolve(undefined);
    this.runPendingForRead();
    const row = (side === "atOrAfter" ? this.st.eventAtOrAfter : this.st.eventBefore).get(id, timestamp) as
      EventTuple | undefined;
    return Promise.resolve(row ? eventOf(row) : undefined);
  }

  sweep(now: number): Promise<SweepResult> {
    this.runPendingForRead();
    const st = this.st;
    return Promise.resolve(
      this.db.transaction((): SweepResult => {
        const sessions = st.expiredSessions.pluck().all(now) as string[];
        for (const clientId of sessions) {
          for (const s of [st.deleteSubscriptions, st.deleteMessages, st.deleteQos2, st.deleteSession])
            s.run(clientId);
        }
        const messages = st.deleteExpiredMessages.run(now).changes;
        const values = st.expiredValues.pluck().all(now) as string[];
        for (const path of values) st.clearValue.run(path);
        return { sessions, messages, values };
      })(),
    );
  }

  putSecurity(document: SecurityDocument): Promise<void> {
    return this.write(this.st.putSecurity, [JSON.stringify(document)]);
  }

  loadSecurity(): Promise<SecurityDocument | undefined> {
    this.runPendingForRead();
    const text = this.st.loadSecurity.pluck().get() as string | undefined;
    if (text === undefined) return Promise.resolve(undefined);
    try {
      return Promise.resolve(parseSecurityDocument(text));
    } catch (err) {
      return Promise.reject(
        corrupt(this.file, `its security store is unreadable: ${(err as Error).message}`, err),
      );
    }
  }

  flush(): Promise<void> {
    const pending = this.batch?.promise ?? Promise.resolve();
    this.commit();
    return pending;
  }

  /** Makes a consistent copy of the database at `file` while the store stays in use (online backup). */
  async backup(file: string): Promise<void> {
    this.commit();
    await this.db.backup(file);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const pending = this.flush();
    this.closed = true;
    try {
      await pending;
    } finally {
      this.db.close();
      this.lock.release();
    }
  }

  /** Queues a write into the open batch (opening one) and returns the batch's promise. */
  private write(stmt: BetterSqlite3.Statement, params: Params): Promise<void> {
    if (this.closed) return this.closedError();
    this.queue(stmt, params);
    const batch = this.batch!;
    if (this.ran + this.stmts.length >= this.maxBatchSize && !this.fullCommitQueued) {
      this.fullCommitQueued = true;
      queueMicrotask(this.commitNow);
    }
    return batch.promise;
  }

  /** A write after close is refused (rejected, never thrown). */
  private closedError(): Promise<void> {
    return Promise.reject(new Error(`the store ${this.file} is closed`));
  }

  private queue(stmt: BetterSqlite3.Statement, params: Params): void {
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.batch = { promise, resolve, reject };
      this.timer =
        this.maxBatchDelayMs > 0
          ? setTimeout(this.commitNow, this.maxBatchDelayMs)
          : setImmediate(this.commitNow);
    }
    this.stmts.push(stmt);
    this.params.push(params);
  }

  /** Commits the open batch in one transaction and settles its promise. */
  private commit(): void {
    const batch = this.batch;
    if (!batch) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer as ReturnType<typeof setTimeout>);
      clearImmediate(this.timer as ReturnType<typeof setImmediate>);
      this.timer = undefined;
    }
    this.fullCommitQueued = false;
    const started = this.onCommit ? performance.now() : 0;
    try {
      this.runQueued();
      this.db.exec("COMMIT");
      this.onCommit?.((performance.now() - started) / 1000, this.ran);
      this.endBatch();
      batch.resolve();
    } catch (err) {
      this.fail(batch, err);
    }
  }

  /** Runs the queued writes in the open batch's transaction (beginning it first when it has not). */
  private runQueued(): void {
    if (!this.inTransaction) {
      this.db.exec("BEGIN");
      this.inTransaction = true;
    }
    const stmts = this.stmts;
    const params = this.params;
    this.stmts = [];
    this.params = [];
    for (let i = 0; i < stmts.length; i++) stmts[i]!.run(...params[i]!);
    this.ran += stmts.length;
  }

  private endBatch(): void {
    this.batch = undefined;
    this.inTransaction = false;
    this.ran = 0;
  }

  /** The open batch failed: its transaction is rolled back and its writers are told. */
  private fail(batch: NonNullable<SqliteStorage["batch"]>, err: unknown): void {
    this.stmts = [];
    this.params = [];
    if (this.db.inTransaction) this.db.exec("ROLLBACK");
    this.endBatch();
    batch.reject(err);
  }

  /**
   * A read sees every write made before it. The writes queued so far run now, in the open batch's
   * transaction, which stays open and commits when the batch closes as usual: a read in the middle of
   * a caller's writes (a kept session's queue read while a PUBLISH is fanned out) does not commit the
   * first of them apart from the rest [MQTT-4.3.3-9]. The read runs in that transaction and sees them.
   */
  private runPendingForRead(): void {
    const batch = this.batch;
    if (!batch || this.stmts.length === 0) return;
    try {
      this.runQueued();
    } catch (err) {
      this.fail(batch, err);
    }
  }
}

/**
 * Makes a consistent copy of the database of the data directory `dataDir` at `file`, while a server may
 * be running on it (SQLite online backup through a second, read-only connection; WAL lets it read
 * while the server writes). For `skein backup FILE`.
 */
export async function backupDatabase(dataDir: string, file: string): Promise<void> {
  const source = join(dataDir, DATABASE_FILE);
  checkDatabaseFile(source);
  let db: BetterSqlite3.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw asOpenError(source, err);
  }
  try {
    await db.backup(file);
  } finally {
    db.close();
  }
}

/** The refusal for an error SQLite raised while opening `file`. */
function asOpenError(file: string, err: unknown): StorageOpenError {
  const code = (err as { code?: string }).code ?? "";
  const message = err instanceof Error ? err.message : String(err);
  if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) return corrupt(file, message, err);
  return new StorageOpenError(
    "unreadable",
    file,
    `Skein cannot open its database ${file}: ${message}. Nothing was changed. Check the file and its directory, or restore a backup.`,
    err,
  );
}

/** Prepares every fixed statement of the engine. */
function prepareStatements(db: BetterSqlite3.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    putTopic: p(
      "INSERT OR REPLACE INTO topics (path, spec, value, value_qos, value_props, value_expires) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    deleteTopic: p("DELETE FROM topics WHERE path = ?"),
    putSecurity: p("INSERT OR REPLACE INTO security (id, document) VALUES (1, ?)"),
    loadSecurity: p("SELECT document FROM security WHERE id = 1"),
    clearValue: p(
      "UPDATE topics SET value = NULL, value_qos = NULL, value_props = NULL, value_expires = NULL WHERE path = ?",
    ),
    expiredValues: p("SELECT path FROM topics WHERE value_expires IS NOT NULL AND value_expires <= ?"),
    loadTopics: p("SELECT * FROM topics WHERE path > ? ORDER BY path LIMIT ?"),
    putSession: p(
      "INSERT OR REPLACE INTO sessions (client_id, protocol, expiry_interval, expires_at, will, owner) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    deleteSession: p("DELETE FROM sessions WHERE client_id = ?"),
    expiredSessions: p("SELECT client_id FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ?"),
    loadSessions: p("SELECT * FROM sessions WHERE client_id > ? ORDER BY client_id LIMIT ?"),
    putSubscription: p(
      "INSERT OR REPLACE INTO subscriptions (client_id, filter, qos, no_local, retain_as_published, retain_handling, subscription_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    deleteSubscription: p("DELETE FROM subscriptions WHERE client_id = ? AND filter = ?"),
    deleteSubscriptions: p("DELETE FROM subscriptions WHERE client_id = ?"),
    loadSubscriptions: p(
      "SELECT * FROM subscriptions WHERE (client_id, filter) > (?, ?) ORDER BY client_id, filter LIMIT ?",
    ),
    putMessage: p(
      "INSERT OR REPLACE INTO messages (client_id, message_id, topic, payload, qos, retain, props, subscription_ids, expires_at, packet_id, state, dup) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    updateMessage: p(
      "UPDATE messages SET state = ?, packet_id = ?, dup = ? WHERE client_id = ? AND message_id = ?",
    ),
    deleteMessage: p("DELETE FROM messages WHERE client_id = ? AND message_id = ?"),
    deleteMessages: p("DELETE FROM messages WHERE client_id = ?"),
    deleteExpiredMessages: p(
      "DELETE FROM messages WHERE state = 0 AND expires_at IS NOT NULL AND expires_at <= ?",
    ),
    // Raw rows (arrays, columns in MESSAGE_COLUMNS order): a million of them load faster than objects.
    loadMessages: p(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE (client_id, message_id) > (?, ?) ORDER BY client_id, message_id LIMIT ?`,
    ).raw(),
    // A message is queued (counts against the queue bounds) when not in flight: state 0 or no packet id.
    queueSummaries: p(
      `SELECT client_id,
         sum(state = 0 OR packet_id IS NULL) AS queued,
         sum(CASE WHEN state = 0 OR packet_id IS NULL THEN length(payload) + length(topic) ELSE 0 END) AS queued_bytes,
         sum(state <> 0 AND packet_id IS NOT NULL) AS inflight,
         max(message_id) AS last_id
       FROM messages GROUP BY client_id ORDER BY client_id`,
    ),
    sessionMessages: p(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE client_id = ? ORDER BY message_id`,
    ).raw(),
    putQos2: p("INSERT OR REPLACE INTO incoming_qos2 (client_id, packet_id) VALUES (?, ?)"),
    deleteQos2One: p("DELETE FROM incoming_qos2 WHERE client_id = ? AND packet_id = ?"),
    deleteQos2: p("DELETE FROM incoming_qos2 WHERE client_id = ?"),
    loadQos2: p("SELECT client_id, packet_id FROM incoming_qos2 ORDER BY client_id, packet_id"),
    putSeries: p("INSERT OR REPLACE INTO series (id, path, first_seq) VALUES (?, ?, ?)"),
    deleteSeries: p("DELETE FROM series WHERE id = ?"),
    trimSeries: p("UPDATE series SET first_seq = max(first_seq, ?) WHERE id = ?"),
    loadSeries: p(
      `SELECT path, first_seq,
         (SELECT seq FROM events e WHERE e.series_id = s.id ORDER BY seq DESC LIMIT 1) AS last_seq,
         (SELECT ts FROM events e WHERE e.series_id = s.id ORDER BY seq DESC LIMIT 1) AS last_ts
       FROM series s ORDER BY path`,
    ),
    putEvent: p(
      "INSERT OR REPLACE INTO events (series_id, seq, ts, author, value, original_seq) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    deleteEvents: p("DELETE FROM events WHERE series_id = ?"),
    trimEvents: p("DELETE FROM events WHERE series_id = ? AND seq < ?"),
    eventAtOrAfter: p(
      "SELECT seq, ts, author, value, original_seq FROM events WHERE series_id = ? AND ts >= ? ORDER BY ts, seq LIMIT 1",
    ).raw(),
    eventBefore: p(
      "SELECT seq, ts, author, value, original_seq FROM events WHERE series_id = ? AND ts < ? ORDER BY ts DESC, seq DESC LIMIT 1",
    ).raw(),
  };
}

/** Reads of at least this many events take their values as one blob (see `readEvents`). */
const BULK_READ = 32;
const EMPTY = Buffer.alloc(0);
/** The one row of a large read: JSON arrays of the columns, and the values as one blob. */
type ColumnsTuple = [
  seqs: string,
  stamps: string,
  authors: string,
  originals: string,
  lengths: string,
  values: Buffer | null,
];

/**
 * The `FROM ... WHERE ...` of a read of a series' events, its parameters, and its shape (which bounds
 * are present: the key of its prepared statements).
 */
function eventWhere(id: number, read: EventCount): { where: string; shape: string; params: unknown[] } {
  const params: unknown[] = [id];
  // An original's edits are found through their index (the planner would otherwise walk the
  // primary key over every event from fromSequence on); the few matches are then sorted by seq.
  const byOriginal = read.originalFrom !== undefined || read.originalTo !== undefined;
  let where = `FROM events${byOriginal ? " INDEXED BY events_by_original" : ""} WHERE series_id = ?`;
  let shape = "";
  const bound = (column: string, op: string, value: number | undefined, tag: string): void => {
    if (value === undefined) return;
    where += ` AND ${column} ${op} ?`;
    params.push(value);
    shape += tag;
  };
  bound("seq", ">=", read.fromSequence, "a");
  bound("seq", "<", read.toSequence, "b");
  bound("ts", ">=", read.fromTimestamp, "c");
  bound("ts", "<", read.toTimestamp, "d");
  if (byOriginal) {
    where += " AND original_seq IS NOT NULL";
    bound("original_seq", ">=", read.originalFrom, "e");
    bound("original_seq", "<", read.originalTo, "f");
  } else if (read.kind === "originals") {
    where += " AND original_seq IS NULL";
    shape += "o";
  } else if (read.kind === "edits") {
    where += " AND original_seq IS NOT NULL";
    shape += "x";
  }
  return { where, shape, params };
}
