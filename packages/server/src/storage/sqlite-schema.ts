/**
 * The sqlite engine's schema: numbered migrations recorded in a `schema_version` table, and the checks
 * that refuse a file that is not a healthy Skein database of a version this server knows. Nothing is
 * ever wiped: every refusal names the file and what to do.
 *
 * @module
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import type BetterSqlite3 from "better-sqlite3";
import { StorageOpenError } from "./storage-open-error.js";

/**
 * The migrations, in order: `MIGRATIONS[i]` takes a database from version `i` to `i + 1`. Never edit
 * one that has shipped; add the next.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the tables.
  `CREATE TABLE topics (
     path TEXT PRIMARY KEY,
     spec TEXT NOT NULL,
     value BLOB,
     value_qos INTEGER,
     value_props TEXT,
     value_expires INTEGER
   ) WITHOUT ROWID;
   CREATE TABLE sessions (
     client_id TEXT PRIMARY KEY,
     protocol INTEGER NOT NULL,
     expiry_interval INTEGER NOT NULL,
     expires_at INTEGER,
     will TEXT
   ) WITHOUT ROWID;
   CREATE TABLE subscriptions (
     client_id TEXT NOT NULL,
     filter TEXT NOT NULL,
     qos INTEGER NOT NULL,
     no_local INTEGER NOT NULL,
     retain_as_published INTEGER NOT NULL,
     retain_handling INTEGER NOT NULL,
     subscription_id INTEGER,
     PRIMARY KEY (client_id, filter)
   ) WITHOUT ROWID;
   CREATE TABLE messages (
     client_id TEXT NOT NULL,
     message_id INTEGER NOT NULL,
     topic TEXT NOT NULL,
     payload BLOB NOT NULL,
     qos INTEGER NOT NULL,
     retain INTEGER NOT NULL,
     props TEXT,
     subscription_ids TEXT,
     expires_at INTEGER,
     packet_id INTEGER,
     state INTEGER NOT NULL,
     dup INTEGER NOT NULL,
     PRIMARY KEY (client_id, message_id)
   ) WITHOUT ROWID;
   CREATE TABLE incoming_qos2 (
     client_id TEXT NOT NULL,
     packet_id INTEGER NOT NULL,
     PRIMARY KEY (client_id, packet_id)
   ) WITHOUT ROWID;
   CREATE TABLE series (
     id INTEGER PRIMARY KEY,
     path TEXT NOT NULL UNIQUE,
     first_seq INTEGER NOT NULL
   );
   CREATE TABLE events (
     series_id INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     ts INTEGER NOT NULL,
     author TEXT NOT NULL,
     value BLOB NOT NULL,
     original_seq INTEGER,
     PRIMARY KEY (series_id, seq)
   ) WITHOUT ROWID;
   CREATE INDEX events_by_time ON events (series_id, ts);`,
  // 2: find an original's edits without scanning the series, and expired messages without scanning
  // every queue.
  `CREATE INDEX events_by_original ON events (series_id, original_seq, seq) WHERE original_seq IS NOT NULL;
   CREATE INDEX messages_by_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;
   CREATE INDEX sessions_by_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;`,
  // 3: the security store (principals, roles, anonymous access), one JSON document (issue 14).
  `CREATE TABLE security (id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL);`,
  // 4: who a kept session belongs to (principal and roles, JSON), so that it keeps its owner across a
  // restart (issue 9, issue 14). Sessions kept before have none (NULL).
  `ALTER TABLE sessions ADD COLUMN owner TEXT;`,
];

/** The schema version this server writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const SQLITE_MAGIC = "SQLite format 3\0";

/**
 * Refuses a file whose SQLite header is not one, or that is shorter than its header says (a
 * truncated copy). Cheap: reads 100 bytes. A missing or empty file passes (a new database).
 */
export function checkDatabaseFile(file: string): void {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new StorageOpenError(
      "unreadable",
      file,
      `Skein cannot read its database ${file}: ${(err as Error).message}. Check the file's permissions.`,
      err,
    );
  }
  if (size === 0) return;
  const header = Buffer.alloc(100);
  const fd = openSync(file, "r");
  let read: number;
  try {
    read = readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (read < 16 || header.toString("latin1", 0, 16) !== SQLITE_MAGIC) {
    throw corrupt(file, "it is not an SQLite database");
  }
  if (read < 100) throw truncated(file, `it is ${size} bytes, shorter than an SQLite header`);
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0)
    throw corrupt(file, `its header names a page size of ${rawPageSize}`);
  const pages = header.readUInt32BE(28);
  // The in-header page count is valid when the change counter equals "version valid for" (SQLite 3.7+).
  const counterValid = header.readUInt32BE(24) === header.readUInt32BE(92);
  if (size % pageSize !== 0 || (counterValid && pages * pageSize > size)) {
    throw truncated(file, `it is ${size} bytes but its header says ${pages} pages of ${pageSize} bytes`);
  }
}

/** The refusal for a corrupt database. */
export function corrupt(file: string, what: string, cause?: unknown): StorageOpenError {
  return new StorageOpenError(
    "corrupt",
    file,
    `Skein cannot open its database ${file}: the file is corrupt (${what}). Nothing was changed. Move the file aside (with its -wal and -shm files) and restore a backup, or start with an empty data directory.`,
    cause,
  );
}

function truncated(file: string, what: string): StorageOpenError {
  return new StorageOpenError(
    "truncated",
    file,
    `Skein cannot open its database ${file}: the file is truncated (${what}). Nothing was changed. Restore the complete file or a backup, or move it aside to start empty.`,
  );
}

/**
 * The schema version of an open database (0: empty, a new database), reading only: refuses a database
 * that is not Skein's or that a newer Skein wrote. Call it before anything that writes (even the
 * switch to WAL, which rewrites the header of a rollback-journal database).
 */
export function schemaVersion(db: BetterSqlite3.Database, file: string): number {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  let found = 0;
  if (tables.includes("schema_version")) {
    const row = db.prepare("SELECT version FROM schema_version").pluck().get();
    found = typeof row === "number" ? row : 0;
  } else if (tables.length > 0) {
    throw new StorageOpenError(
      "foreign",
      file,
      `Skein cannot use ${file}: it is an SQLite database but not Skein's (no schema_version table). Nothing was changed. Move it aside or choose another --data-dir.`,
    );
  }
  if (found > SCHEMA_VERSION) {
    throw new StorageOpenError(
      "newer-schema",
      file,
      `Skein cannot open its database ${file}: it was written by a newer Skein (schema version ${found}; this server knows up to ${SCHEMA_VERSION}). Nothing was changed. Run the newer Skein, or restore a backup made by this version.`,
    );
  }
  return found;
}

/**
 * Brings the database to {@link SCHEMA_VERSION}: creates it when empty, runs the missing migrations in
 * one transaction, refuses a newer version or a database that is not Skein's. `upTo` stops early (for
 * tests that build an old database). Returns the version found before migrating (0: new).
 */
export function migrate(db: BetterSqlite3.Database, file: string, upTo = SCHEMA_VERSION): number {
  const found = schemaVersion(db, file);
  if (found < upTo) {
    db.transaction(() => {
      if (found === 0) db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      for (let v = found; v < upTo; v++) db.exec(MIGRATIONS[v]!);
      db.prepare("DELETE FROM schema_version").run();
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(upTo);
    })();
  }
  return found;
}
