/**
 * The sqlite engine on its own: start-up refusals (corrupt file, truncated file, newer schema, foreign
 * database, a directory another process holds), migrations from schema version 1, group commit,
 * online backup, and a crash test: a child process writing under load is killed with SIGKILL at
 * seeded random points and every write it saw acknowledged is there after a reopen.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LOCK_FILE } from "../../src/storage/data-dir-lock.js";
import { MIGRATIONS, SCHEMA_VERSION, migrate } from "../../src/storage/sqlite-schema.js";
import { DATABASE_FILE, SqliteStorage, backupDatabase } from "../../src/storage/sqlite-store.js";
import { StorageOpenError } from "../../src/storage/storage-open-error.js";
import { loadAll, tempDir } from "./engines.js";

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
const CHILD = join(ROOT, "packages/server/test/fixtures/storage-child.mjs");
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

let dir: ReturnType<typeof tempDir>;
let dbFile: string;
beforeEach(() => {
  dir = tempDir("skein-sqlite-");
  dbFile = join(dir.dir, DATABASE_FILE);
});
afterEach(() => dir.dispose());

/** A store with some data, closed. */
async function populated(): Promise<void> {
  const store = SqliteStorage.open({ dataDir: dir.dir });
  for (let i = 0; i < 2000; i++)
    void store.putTopic({
      path: `t/${i}`,
      spec: { type: "string" },
      value: { payload: bytes(`value ${i}`.repeat(10)), qos: 0 },
    });
  await store.close();
}

/** The refusal `open` throws. */
function refusal(): StorageOpenError {
  try {
    SqliteStorage.open({ dataDir: dir.dir })
      .close()
      .catch(() => {});
  } catch (err) {
    expect(err).toBeInstanceOf(StorageOpenError);
    return err as StorageOpenError;
  }
  throw new Error("the store opened");
}

describe("start-up refusals: one line naming the file and what to do, never a wipe", () => {
  it("creates the data directory and the database when missing", async () => {
    const nested = join(dir.dir, "a", "b");
    const store = SqliteStorage.open({ dataDir: nested });
    await store.putTopic({ path: "x", spec: { type: "json" } });
    await store.close();
    expect(statSync(join(nested, DATABASE_FILE)).size).toBeGreaterThan(0);
  });

  it("refuses a file that is not an SQLite database", () => {
    writeFileSync(
      dbFile,
      "this is not a database, it is a text file that someone put here by mistake".repeat(50),
    );
    const err = refusal();
    expect(err.reason).toBe("corrupt");
    expect(err.message).toContain(dbFile);
    expect(err.message).toMatch(/restore a backup/);
    expect(err.message).not.toContain("\n");
    expect(readFileSync(dbFile, "utf8")).toMatch(/^this is not a database/);
  });

  it("refuses a database whose pages are overwritten with garbage", async () => {
    await populated();
    const size = statSync(dbFile).size;
    const fd = openSync(dbFile, "r+");
    // page 1 past the header (the schema) and a stretch of the middle
    writeSync(fd, Buffer.alloc(3000, 0xa5), 0, 3000, 100);
    writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, Math.floor(size / 2));
    closeSync(fd);
    const err = refusal();
    expect(err.reason).toBe("corrupt");
    expect(err.message).toContain(dbFile);
    expect(statSync(dbFile).size).toBe(size);
  });

  it("stops the load of a database with a corrupt page inside a table", async () => {
    await populated();
    const size = statSync(dbFile).size;
    const fd = openSync(dbFile, "r+");
    writeSync(fd, Buffer.alloc(Math.floor(size / 2), 0x5a), 0, Math.floor(size / 2), Math.floor(size / 4));
    closeSync(fd);
    let err: unknown;
    try {
      const store = SqliteStorage.open({ dataDir: dir.dir });
      try {
        await loadAll(store);
      } finally {
        await store.close();
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageOpenError);
    expect((err as StorageOpenError).reason).toBe("corrupt");
    expect((err as StorageOpenError).message).toContain(dbFile);
  });

  it("refuses a truncated database", async () => {
    await populated();
    const size = statSync(dbFile).size;
    truncateSync(dbFile, Math.floor(size / 2) + 100);
    const err = refusal();
    expect(err.reason).toBe("truncated");
    expect(err.message).toContain(dbFile);
    expect(err.message).toMatch(/truncated/);
    truncateSync(dbFile, 4096 * 2);
    expect(refusal().reason).toBe("truncated");
    writeFileSync(dbFile, readFileSync(dbFile).subarray(0, 50));
    expect(refusal().reason).toBe("truncated");
  });

  it("refuses a database written by a newer schema version", async () => {
    await populated();
    const db = new Database(dbFile);
    db.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION + 1);
    db.close();
    const err = refusal();
    expect(err.reason).toBe("newer-schema");
    expect(err.message).toContain(dbFile);
    expect(err.message).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}`));
  });

  it("refuses an SQLite database that is not Skein's", () => {
    const db = new Database(dbFile);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
    db.close();
    const before = readFileSync(dbFile);
    const err = refusal();
    expect(err.reason).toBe("foreign");
    expect(readFileSync(dbFile).equals(before)).toBe(true); // not even switched to WAL
    const again = new Database(dbFile);
    expect(again.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()).toEqual([
      "customers",
    ]);
    again.close();
  });

  it("refuses a data directory it cannot create, naming it", () => {
    writeFileSync(join(dir.dir, "file"), "x");
    let err: unknown;
    try {
      SqliteStorage.open({ dataDir: join(dir.dir, "file", "data") });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageOpenError);
    expect((err as StorageOpenError).message).toContain(join(dir.dir, "file", "data"));
  });

  it("refuses a second store on the same directory in the same process, and frees it on close", async () => {
    const first = SqliteStorage.open({ dataDir: dir.dir });
    expect(refusal().reason).toBe("locked");
    await first.close();
    await SqliteStorage.open({ dataDir: dir.dir }).close();
  });

  it("takes over a lock left by a process that is gone", async () => {
    writeFileSync(join(dir.dir, LOCK_FILE), "2147483646\n");
    const store = SqliteStorage.open({ dataDir: dir.dir });
    expect(readFileSync(join(dir.dir, LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
    await store.close();
  });
});

describe("across processes", () => {
  beforeAll(() => {
    // The child runs the build output: build it fresh.
    execFileSync("npx", ["tsc", "-b"], { cwd: ROOT, stdio: "pipe" });
  }, 120_000);

  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });

  /** Starts the child; resolves once it printed "ready", with a line reader. */
  function child(
    mode: "hold" | "load",
    dataDir: string,
    onLine: (line: string) => void = () => {},
  ): Promise<ChildProcess> {
    const c = spawn(process.execPath, [CHILD, mode, dataDir], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(c);
    let stderr = "";
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      let rest = "";
      c.stdout!.on("data", (d: Buffer) => {
        const lines = (rest + d.toString()).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          if (line === "ready") resolve(c);
          else onLine(line);
        }
      });
      c.once("exit", (code) => reject(new Error(`child exited (${code}) before it was ready: ${stderr}`)));
    });
  }

  function killed(c: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  }

  it("refuses a directory another running process holds, naming its pid", async () => {
    const holder = await child("hold", dir.dir);
    const err = refusal();
    expect(err.reason).toBe("locked");
    expect(err.message).toContain(`pid ${holder.pid}`);
    expect(err.message).toContain(dir.dir);
    await killed(holder);
    // SIGKILL left the lock file behind; its owner is gone, so the next open takes it over.
    await SqliteStorage.open({ dataDir: dir.dir }).close();
  });

  it("keeps every acknowledged write through SIGKILL at seeded random points", async () => {
    let seed = 0x5eed;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const acked = { e: new Set<number>(), m: new Set<number>(), t: new Set<number>() };
    for (let round = 0; round < 3; round++) {
      const killAt = 200 + Math.floor(random() * 3000);
      let seen = 0;
      let reached!: () => void;
      const enough = new Promise<void>((r) => (reached = r));
      const c = await child("load", dir.dir, (line) => {
        const [kind, n] = line.split(" ") as ["e" | "m" | "t", string];
        acked[kind].add(Number(n));
        if (++seen === killAt) reached();
      });
      await Promise.race([enough, new Promise<void>((r) => c.once("exit", () => r()))]);
      await killed(c);
      expect(seen).toBeGreaterThanOrEqual(killAt);

      const store = SqliteStorage.open({ dataDir: dir.dir });
      const events = new Set(
        (await store.readEvents("crash/series", { limit: 1_000_000 })).map((e) => e.sequence),
      );
      const { records } = await loadAll(store);
      const messages = new Set(records.flatMap((r) => (r.kind === "message" ? [r.record.messageId] : [])));
      const topics = new Set(
        records.flatMap((r) => (r.kind === "topic" ? [Number(r.record.path.split("/")[2])] : [])),
      );
      for (const n of acked.e) expect(events.has(n), `event ${n}`).toBe(true);
      for (const n of acked.m) expect(messages.has(n), `message ${n}`).toBe(true);
      for (const n of acked.t) expect(topics.has(n), `topic ${n}`).toBe(true);
      // the next round's child starts over at 0: clear what this one wrote
      await store.removeTopic("crash/series");
      await store.removeSession("c");
      for (const n of topics) void store.removeTopic(`crash/topic/${n}`);
      await store.close();
      acked.e.clear();
      acked.m.clear();
      acked.t.clear();
    }
  }, 60_000);
});

describe("schema migrations", () => {
  it("migrates a version 1 database to the current version, keeping its data", async () => {
    const db = new Database(dbFile);
    db.pragma("journal_mode = WAL");
    expect(migrate(db, dbFile, 1)).toBe(0);
    db.prepare("INSERT INTO series (id, path, first_seq) VALUES (1, 'old/series', 0)").run();
    db.prepare(
      "INSERT INTO events (series_id, seq, ts, author, value, original_seq) VALUES (1, 0, 5, 'a', x'41', NULL), (1, 1, 6, 'a', x'42', 0)",
    ).run();
    db.prepare("INSERT INTO topics (path, spec) VALUES ('old/topic', '{\"type\":\"json\"}')").run();
    db.close();

    const store = SqliteStorage.open({ dataDir: dir.dir });
    const { records } = await loadAll(store);
    expect(records.map((r) => r.kind)).toEqual(["topic", "series"]);
    expect(
      (await store.readEvents("old/series", { originalFrom: 0, originalTo: 1, limit: 10 })).map(
        (e) => e.sequence,
      ),
    ).toEqual([1]);
    await store.close();
    const after = new Database(dbFile, { readonly: true });
    expect(after.prepare("SELECT version FROM schema_version").pluck().get()).toBe(SCHEMA_VERSION);
    expect(
      after
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'events_by_original'")
        .pluck()
        .get(),
    ).toBe("events_by_original");
    after.close();
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });
});

describe("group commit, sync modes and backup", () => {
  it("writes of one turn share one transaction and one promise; each settles after its commit", async () => {
    const store = SqliteStorage.open({ dataDir: dir.dir, maxBatchDelayMs: 0 });
    const a = store.putTopic({ path: "a", spec: { type: "json" } });
    const b = store.putTopic({ path: "b", spec: { type: "json" } });
    expect(a).toBe(b);
    const reader = new Database(dbFile, { readonly: true });
    expect(reader.prepare("SELECT count(*) FROM topics").pluck().get()).toBe(0);
    await a;
    expect(reader.prepare("SELECT count(*) FROM topics").pluck().get()).toBe(2);
    const c = store.putTopic({ path: "c", spec: { type: "json" } });
    expect(c).not.toBe(a);
    await c;
    reader.close();
    await store.close();
  });

  it("a write after close is rejected, not thrown", async () => {
    const store = SqliteStorage.open({ dataDir: dir.dir });
    await store.close();
    await expect(store.putTopic({ path: "late", spec: { type: "json" } })).rejects.toThrow(/closed/);
    await expect(store.removeSession("c")).rejects.toThrow(/closed/);
    await expect(
      store.appendEvent("s", { sequence: 0, timestamp: 0, author: "a", value: bytes("x") }),
    ).rejects.toThrow(/closed/);
  });

  /**
   * A second, read-only connection to the data directory's database and what it sees committed: the
   * events and the QoS 2 packet ids (writes of the store's open batch are not visible to it).
   */
  function committedCounts() {
    const reader = new Database(join(dir.dir, DATABASE_FILE), { readonly: true });
    const count = (table: string): number =>
      (reader.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const committed = (): { events: number; ids: number } => ({
      events: count("events"),
      ids: count("incoming_qos2"),
    });
    return { reader, committed };
  }

  it("a batch at its size limit commits once the synchronous run that filled it ends, never between two of its writes", async () => {
    const store = SqliteStorage.open({ dataDir: dir.dir, maxBatchDelayMs: 1000, maxBatchSize: 2 });
    const { reader, committed } = committedCounts();
    try {
      // What a QoS 2 PUBLISH of a kept session into a persistent series writes at once: its event (with
      // its series, the batch is full) and its packet id. Committed apart, a crash between the two
      // commits would keep the event without the id, and the PUBLISH sent again would be appended again
      // [MQTT-4.3.3-9].
      const event = store.appendEvent("s", { sequence: 0, timestamp: 0, author: "a", value: bytes("x") });
      const id = store.recordIncomingQos2("c", 1);
      expect(id).toBe(event);
      expect(committed()).toEqual({ events: 0, ids: 0 });
      await event; // well before maxBatchDelayMs
      expect(committed()).toEqual({ events: 1, ids: 1 });
      const later = store.putTopic({ path: "p", spec: { type: "json" } });
      expect(later).not.toBe(event);
      await store.close();
      await later;
    } finally {
      reader.close();
    }
  });

  it("a read between two writes of one run sees them and commits neither apart from the other", async () => {
    const store = SqliteStorage.open({ dataDir: dir.dir, maxBatchDelayMs: 1000 });
    const { reader, committed } = committedCounts();
    try {
      // A QoS 2 PUBLISH fanned out: its event, a store read on the way (a kept session's queue, read
      // lazily), then its packet id. The read must see the event without committing it alone: a crash
      // after that commit would keep the event without the id [MQTT-4.3.3-9].
      const event = store.appendEvent("s", { sequence: 0, timestamp: 0, author: "a", value: bytes("x") });
      const seen = await store.readEvents("s", { limit: 10 });
      expect(seen.map((e) => e.sequence)).toEqual([0]);
      expect(committed()).toEqual({ events: 0, ids: 0 });
      const id = store.recordIncomingQos2("c", 1);
      expect(id).toBe(event);
      expect(committed()).toEqual({ events: 0, ids: 0 });
      await store.flush();
      await event;
      expect(committed()).toEqual({ events: 1, ids: 1 });
      await store.close();
    } finally {
      reader.close();
    }
  });

  it("sync full and normal both commit; close flushes what is pending", async () => {
    for (const sync of ["full", "normal"] as const) {
      const store = SqliteStorage.open({ dataDir: dir.dir, sync });
      void store.putTopic({ path: sync, spec: { type: "json" } });
      await store.close();
    }
    const store = SqliteStorage.open({ dataDir: dir.dir });
    expect((await loadAll(store)).records.map((r) => r.kind === "topic" && r.record.path)).toEqual([
      "full",
      "normal",
    ]);
    await store.close();
  });

  it("backs up a database in use to a file that opens as a Skein store with the same data", async () => {
    const store = SqliteStorage.open({ dataDir: dir.dir });
    for (let i = 0; i < 100; i++)
      void store.appendEvent("s", { sequence: i, timestamp: i, author: "a", value: bytes(`${i}`) });
    await store.flush();
    const copyDir = tempDir("skein-backup-");
    try {
      await backupDatabase(dir.dir, join(copyDir.dir, DATABASE_FILE));
      await store.appendEvent("s", { sequence: 100, timestamp: 100, author: "a", value: bytes("late") });
      const copy = SqliteStorage.open({ dataDir: copyDir.dir });
      expect((await copy.readEvents("s", { limit: 1000 })).length).toBe(100);
      await copy.close();
      await store.backup(join(copyDir.dir, "second.db"));
      const second = new Database(join(copyDir.dir, "second.db"), { readonly: true });
      expect(second.prepare("SELECT count(*) FROM events").pluck().get()).toBe(101);
      second.close();
    } finally {
      await store.close();
      copyDir.dispose();
    }
  });

  it("a large read gives back any bytes as stored: NULs, invalid UTF-8, empty values, both orders", async () => {
    const store = SqliteStorage.open({ dataDir: dir.dir });
    // 100 events: reads of 32 or more take the one-row path (the values as one concatenated blob).
    const values = Array.from({ length: 100 }, (_, i) =>
      Uint8Array.from({ length: i % 7 }, (_, j) => [0, 0xff, 0xc3, 0x80, 0xfe, i, j][(i + j) % 7]!),
    );
    for (let i = 0; i < values.length; i++)
      void store.appendEvent("bin", { sequence: i, timestamp: 1000 + i, author: "a", value: values[i]! });
    await store.flush();
    const up = await store.readEvents("bin", { limit: 100 });
    expect(up.map((e) => Buffer.from(e.value).toString("hex"))).toEqual(
      values.map((v) => Buffer.from(v).toString("hex")),
    );
    const down = await store.readEvents("bin", { newestFirst: true, fromSequence: 10, limit: 50 });
    expect(down.map((e) => e.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => 99 - i));
    expect(down.map((e) => Buffer.from(e.value).toString("hex"))).toEqual(
      values
        .slice(50)
        .reverse()
        .map((v) => Buffer.from(v).toString("hex")),
    );
    await store.close();
  });

  it("backupDatabase refuses a data directory without a healthy database", async () => {
    writeFileSync(dbFile, "garbage".repeat(100));
    await expect(backupDatabase(dir.dir, join(dir.dir, "copy.db"))).rejects.toBeInstanceOf(StorageOpenError);
  });
});
