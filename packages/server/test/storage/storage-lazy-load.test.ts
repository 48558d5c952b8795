/**
 * What start-up reads of kept sessions (issue 9, issue 14), against every engine: a session record
 * keeps its owner (principal and roles, or anonymous); `load()` reads topics and sessions in separate
 * passes and a queue as a summary (counts and bytes of queued messages, in-flight count, last message
 * id) instead of its messages; a sqlite database of schema version 3 migrates to version 4 with its
 * sessions kept, without an owner.
 */
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoadedRecord, LoadOptions, QueuedMessageRecord, Storage } from "../../src/core/storage.js";
import { SqliteStorage } from "../../src/storage/sqlite-store.js";
import { migrate } from "../../src/storage/sqlite-schema.js";
import { ENGINES, type EngineUnderTest, tempDir } from "./engines.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function load(storage: Storage, options?: LoadOptions): Promise<LoadedRecord[]> {
  const out: LoadedRecord[] = [];
  for await (const batch of storage.load(options)) out.push(...batch);
  return out;
}

function message(clientId: string, messageId: number, more: Partial<QueuedMessageRecord> = {}) {
  return {
    clientId,
    messageId,
    topic: "t/ab",
    payload: bytes("0123456789"),
    qos: 1,
    retain: false,
    state: "queued",
    dup: false,
    ...more,
  } satisfies QueuedMessageRecord;
}

for (const [name, make] of Object.entries(ENGINES)) {
  describe(`${name} engine: what start-up reads of kept sessions`, () => {
    let engine: EngineUnderTest;
    beforeEach(() => {
      engine = make();
    });
    afterEach(() => engine.dispose());

    it("keeps a session's owner, a principal with roles or anonymous", async () => {
      const s = engine.storage;
      await s.putSession({
        clientId: "a",
        protocolVersion: 5,
        expiryIntervalSec: 60,
        owner: { principal: "alice", roles: ["readers", "writers"] },
      });
      await s.putSession({ clientId: "b", protocolVersion: 4, expiryIntervalSec: 60, owner: { roles: [] } });
      await s.putSession({ clientId: "c", protocolVersion: 4, expiryIntervalSec: 60 });
      const storage = await engine.reopen();
      const sessions = (await load(storage)).flatMap((r) => (r.kind === "session" ? [r.record] : []));
      expect(sessions).toEqual([
        {
          clientId: "a",
          protocolVersion: 5,
          expiryIntervalSec: 60,
          owner: { principal: "alice", roles: ["readers", "writers"] },
        },
        { clientId: "b", protocolVersion: 4, expiryIntervalSec: 60, owner: { roles: [] } },
        { clientId: "c", protocolVersion: 4, expiryIntervalSec: 60 },
      ]);
    });

    it("reads topics and sessions in separate passes, and a queue as a summary", async () => {
      const s = engine.storage;
      await s.putTopic({ path: "x", spec: { type: "json" } });
      await s.putSession({ clientId: "q", protocolVersion: 5, expiryIntervalSec: 60 });
      await s.putSession({ clientId: "empty", protocolVersion: 5, expiryIntervalSec: 60 });
      await s.putSubscription({
        clientId: "q",
        filter: "t/#",
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      });
      await s.enqueueMessage(message("q", 3, { state: "sent", packetId: 7, dup: true }));
      await s.enqueueMessage(message("q", 4, { state: "released", packetId: 8, dup: true, qos: 2 }));
      await s.enqueueMessage(message("q", 5));
      await s.enqueueMessage(message("q", 9, { payload: bytes("x") }));
      await s.recordIncomingQos2("q", 11);
      const storage = await engine.reopen();

      expect((await load(storage, { sessions: false })).map((r) => r.kind)).toEqual(["topic"]);
      const sessions = await load(storage, { topics: false, messages: "summary" });
      expect(sessions.map((r) => r.kind)).toEqual([
        "session",
        "session",
        "subscription",
        "queue",
        "incomingQos2",
      ]);
      expect(sessions.find((r) => r.kind === "queue")?.record).toEqual({
        clientId: "q",
        queued: 2,
        queuedBytes: 10 + 4 + (1 + 4),
        inflight: 2,
        lastMessageId: 9,
      });
      // The messages themselves, when the session needs them: in order, with their delivery state.
      const queue = await storage.loadSessionMessages("q");
      expect(queue.map((m) => [m.messageId, m.state, m.packetId, m.dup])).toEqual([
        [3, "sent", 7, true],
        [4, "released", 8, true],
        [5, "queued", undefined, false],
        [9, "queued", undefined, false],
      ]);
      expect((await load(storage, { topics: false, messages: false })).map((r) => r.kind)).not.toContain(
        "message",
      );
    });
  });
}

describe("sqlite schema: session owners", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir("skein-owner-migration-");
  });
  afterEach(() => dir.dispose());

  it("migrates a version 3 database: its sessions are kept, without an owner", async () => {
    const file = `${dir.dir}/skein.db`;
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    migrate(db, file, 3);
    db.prepare(
      "INSERT INTO sessions (client_id, protocol, expiry_interval, expires_at, will) VALUES ('old', 5, 60, NULL, NULL)",
    ).run();
    db.close();
    const store = SqliteStorage.open({ dataDir: dir.dir });
    const sessions = (await load(store)).flatMap((r) => (r.kind === "session" ? [r.record] : []));
    expect(sessions).toEqual([{ clientId: "old", protocolVersion: 5, expiryIntervalSec: 60 }]);
    await store.putSession({ ...sessions[0]!, owner: { principal: "alice", roles: ["r"] } });
    const again = (await load(store)).flatMap((r) => (r.kind === "session" ? [r.record] : []));
    expect(again[0]?.owner).toEqual({ principal: "alice", roles: ["r"] });
    await store.close();
  });
});
