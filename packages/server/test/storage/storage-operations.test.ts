/**
 * The storage port's operations, one table of tests run against every engine (memory and sqlite):
 * what is put is loaded back exactly (User Property order included), replaced, removed and swept; the
 * sqlite engine also keeps it across a reopen.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  QueuedMessageRecord,
  SessionRecord,
  Storage,
  SubscriptionRecord,
  TopicRecord,
} from "../../src/core/storage.js";
import { ENGINES, type EngineUnderTest, loadAll } from "./engines.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const retained: TopicRecord = {
  path: "sensors/room1/temp",
  spec: { type: "binary", properties: { retention: "mqtt" } },
  value: {
    payload: bytes("21.5"),
    qos: 1,
    properties: {
      payloadFormatIndicator: true,
      contentType: "text/plain",
      responseTopic: "replies/x",
      correlationData: new Uint8Array([0, 1, 2, 255]),
      // interleaved and repeated names: the order must come back as it went in [MQTT-3.3.2-18]
      userProperties: [
        ["a", "1"],
        ["b", "2"],
        ["a", "3"],
        ["a", ""],
      ],
    },
    expiresAt: 5_000,
  },
};

const session: SessionRecord = {
  clientId: "c1",
  protocolVersion: 5,
  expiryIntervalSec: 3600,
  expiresAt: 10_000,
  will: {
    topic: "wills/c1",
    payload: bytes("gone"),
    qos: 2,
    retain: true,
    delaySec: 30,
    publishAt: 9_000,
    messageExpirySec: 60,
    properties: { userProperties: [["k", "v"]] },
  },
};

const sub: SubscriptionRecord = {
  clientId: "c1",
  filter: "$share/g/sensors/+/temp",
  qos: 2,
  noLocal: true,
  retainAsPublished: true,
  retainHandling: 2,
  subscriptionId: 7,
};

function message(messageId: number, extra: Partial<QueuedMessageRecord> = {}): QueuedMessageRecord {
  return {
    clientId: "c1",
    messageId,
    topic: "t",
    payload: bytes(`m${messageId}`),
    qos: 1,
    retain: false,
    state: "queued",
    dup: false,
    ...extra,
  };
}

/** Normalises loaded bytes (Buffer vs Uint8Array) so that engines compare equal. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return Object.fromEntries(entries.map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

describe.each(Object.keys(ENGINES))("storage operations: %s", (name) => {
  let engine: EngineUnderTest;
  let storage: Storage;
  beforeEach(() => {
    engine = ENGINES[name]!();
    storage = engine.storage;
  });
  afterEach(() => engine.dispose());

  it("keeps a topic with its retained value and MQTT 5 properties, in User Property order", async () => {
    await storage.putTopic(retained);
    await storage.putTopic({ path: "plain", spec: { type: "json" } });
    const { records } = await loadAll(storage);
    expect(plain(records)).toEqual(
      plain([
        { kind: "topic", record: { path: "plain", spec: { type: "json" } } },
        { kind: "topic", record: retained },
      ]),
    );
  });

  it("replaces and removes topics", async () => {
    await storage.putTopic(retained);
    await storage.putTopic({ ...retained, value: { payload: bytes("22"), qos: 0 } });
    let { records } = await loadAll(storage);
    expect(records).toHaveLength(1);
    expect(records[0]!.kind === "topic" && text(records[0]!.record.value!.payload)).toBe("22");
    await storage.removeTopic(retained.path);
    ({ records } = await loadAll(storage));
    expect(records).toEqual([]);
  });

  it("keeps a session with its will, subscriptions, queued messages and incoming QoS 2 ids", async () => {
    await storage.putSession(session);
    await storage.putSubscription(sub);
    await storage.putSubscription({
      ...sub,
      filter: "a/#",
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
      subscriptionId: undefined,
    });
    await storage.enqueueMessage(
      message(2, {
        qos: 2,
        properties: {
          userProperties: [
            ["x", "1"],
            ["y", "2"],
            ["x", "3"],
          ],
        },
        subscriptionIds: [7, 9],
      }),
    );
    await storage.enqueueMessage(message(1, { expiresAt: 7_000, retain: true }));
    await storage.recordIncomingQos2("c1", 10);
    await storage.recordIncomingQos2("c1", 11);
    await storage.releaseIncomingQos2("c1", 10);
    const { records } = await loadAll(storage);
    const kinds = records.map((r) => r.kind);
    expect(kinds).toEqual(["session", "subscription", "subscription", "message", "message", "incomingQos2"]);
    expect(plain(records[0])).toEqual(plain({ kind: "session", record: session }));
    const subs = records
      .filter((r) => r.kind === "subscription")
      .map((r) => r.kind === "subscription" && r.record);
    expect(plain(subs)).toEqual(
      plain([
        {
          clientId: "c1",
          filter: "$share/g/sensors/+/temp",
          qos: 2,
          noLocal: true,
          retainAsPublished: true,
          retainHandling: 2,
          subscriptionId: 7,
        },
        {
          clientId: "c1",
          filter: "a/#",
          qos: 0,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ]),
    );
    const messages = records.flatMap((r) => (r.kind === "message" ? [r.record] : []));
    expect(messages.map((m) => m.messageId)).toEqual([1, 2]);
    expect(plain(messages[1]!.properties)).toEqual({
      userProperties: [
        ["x", "1"],
        ["y", "2"],
        ["x", "3"],
      ],
    });
    expect(messages[1]!.subscriptionIds).toEqual([7, 9]);
    expect(messages[0]!.expiresAt).toBe(7_000);
    expect(records[5]).toEqual({ kind: "incomingQos2", clientId: "c1", packetId: 11 });
  });

  it("leaves queued messages out of the load on request, and reads one session's queue in order", async () => {
    await storage.putSession(session);
    for (const id of [3, 1, 2])
      await storage.enqueueMessage(message(id, { packetId: id === 1 ? 4 : undefined }));
    await storage.enqueueMessage({ ...message(9), clientId: "other" });
    const loaded = [];
    for await (const batch of storage.load({ messages: false })) loaded.push(...batch.map((r) => r.kind));
    expect(loaded).toEqual(["session"]);
    const queue = await storage.loadSessionMessages("c1");
    expect(queue.map((m) => [m.messageId, m.packetId])).toEqual([
      [1, 4],
      [2, undefined],
      [3, undefined],
    ]);
    expect(plain(queue[1])).toEqual(plain(message(2)));
    expect(await storage.loadSessionMessages("nobody")).toEqual([]);
  });

  it("records delivery steps: packet id, DUP and the QoS 2 release; ack removes", async () => {
    await storage.enqueueMessage(message(1, { qos: 2 }));
    await storage.enqueueMessage(message(2));
    await storage.updateMessage("c1", 1, { state: "sent", packetId: 5, dup: true });
    await storage.updateMessage("c1", 2, { state: "sent", packetId: 6, dup: true });
    await storage.updateMessage("c1", 1, { state: "released", packetId: 5, dup: true });
    await storage.updateMessage("c1", 2, { state: "queued", dup: false });
    let messages = (await loadAll(storage)).records.flatMap((r) => (r.kind === "message" ? [r.record] : []));
    expect(messages.map((m) => [m.messageId, m.state, m.packetId, m.dup])).toEqual([
      [1, "released", 5, true],
      [2, "queued", undefined, false],
    ]);
    await storage.ackMessage("c1", 1);
    messages = (await loadAll(storage)).records.flatMap((r) => (r.kind === "message" ? [r.record] : []));
    expect(messages.map((m) => m.messageId)).toEqual([2]);
  });

  it("removes a subscription, and a session with everything it owns", async () => {
    await storage.putSession(session);
    await storage.putSubscription(sub);
    await storage.removeSubscription("c1", sub.filter);
    expect((await loadAll(storage)).records.map((r) => r.kind)).toEqual(["session"]);
    await storage.putSubscription(sub);
    await storage.enqueueMessage(message(1));
    await storage.recordIncomingQos2("c1", 3);
    await storage.putSession({ ...session, clientId: "other", will: undefined });
    await storage.removeSession("c1");
    const { records } = await loadAll(storage);
    expect(plain(records)).toEqual(
      plain([
        {
          kind: "session",
          record: { clientId: "other", protocolVersion: 5, expiryIntervalSec: 3600, expiresAt: 10_000 },
        },
      ]),
    );
  });

  it("sweeps expired sessions, unsent expired messages and expired values", async () => {
    await storage.putTopic(retained); // value expires at 5,000
    await storage.putSession(session); // expires at 10,000
    await storage.putSession({ clientId: "keep", protocolVersion: 4, expiryIntervalSec: 0xffffffff });
    await storage.enqueueMessage({ ...message(1, { expiresAt: 4_000 }), clientId: "keep" });
    await storage.enqueueMessage({
      ...message(2, { expiresAt: 4_000, state: "sent", packetId: 1, dup: true }),
      clientId: "keep",
    });
    await storage.enqueueMessage({ ...message(3, { expiresAt: 6_000 }), clientId: "keep" });
    expect(await storage.sweep(4_000)).toEqual({ sessions: [], messages: 1, values: [] });
    expect(await storage.sweep(5_000)).toEqual({ sessions: [], messages: 0, values: [retained.path] });
    expect(await storage.sweep(10_000)).toEqual({ sessions: ["c1"], messages: 1, values: [] });
    const { records } = await loadAll(storage);
    expect(records.map((r) => (r.kind === "message" ? r.record.messageId : r.kind))).toEqual([
      "topic",
      "session",
      2,
    ]);
    expect(records[0]!.kind === "topic" && records[0]!.record.value).toBeUndefined();
  });

  it("appends, reads, finds by time and trims events; a series' extent loads", async () => {
    const ev = (sequence: number, timestamp: number, originalSequence?: number) => ({
      sequence,
      timestamp,
      author: "alice",
      value: bytes(`v${sequence}`),
      ...(originalSequence !== undefined && { originalSequence }),
    });
    await storage.appendEvent("ts", ev(0, 100));
    await storage.appendEvent("ts", ev(1, 100));
    await storage.appendEvent("ts", ev(2, 200, 0));
    await storage.appendEvent("ts", ev(3, 300));
    await storage.appendEvent("ts", ev(4, 300, 1));
    const seqs = async (read: Parameters<Storage["readEvents"]>[1]) =>
      (await storage.readEvents("ts", read)).map((e) => e.sequence);
    expect(await seqs({ limit: 100 })).toEqual([0, 1, 2, 3, 4]);
    expect(await seqs({ limit: 2 })).toEqual([0, 1]);
    expect(await seqs({ limit: 2, newestFirst: true })).toEqual([4, 3]);
    expect(await seqs({ fromSequence: 1, toSequence: 4, limit: 100 })).toEqual([1, 2, 3]);
    expect(await seqs({ fromTimestamp: 200, toTimestamp: 300, limit: 100 })).toEqual([2]);
    expect(await seqs({ kind: "originals", limit: 100 })).toEqual([0, 1, 3]);
    expect(await seqs({ kind: "edits", limit: 100 })).toEqual([2, 4]);
    expect(await seqs({ originalFrom: 1, originalTo: 2, limit: 100 })).toEqual([4]);
    expect(await seqs({ limit: 0 })).toEqual([]);
    expect(await storage.readEvents("missing", { limit: 10 })).toEqual([]);
    const [e2] = await storage.readEvents("ts", { fromSequence: 2, limit: 1 });
    expect({ ...e2!, value: text(e2!.value) }).toEqual({
      sequence: 2,
      timestamp: 200,
      author: "alice",
      value: "v2",
      originalSequence: 0,
    });
    expect((await storage.findEventByTime("ts", 150, "atOrAfter"))?.sequence).toBe(2);
    expect((await storage.findEventByTime("ts", 300, "atOrAfter"))?.sequence).toBe(3);
    expect((await storage.findEventByTime("ts", 301, "atOrAfter"))?.sequence).toBeUndefined();
    expect((await storage.findEventByTime("ts", 300, "before"))?.sequence).toBe(2);
    expect((await storage.findEventByTime("ts", 100, "before"))?.sequence).toBeUndefined();
    await storage.trimEvents("ts", 2);
    expect(await seqs({ limit: 100 })).toEqual([2, 3, 4]);
    let { records } = await loadAll(storage);
    expect(records).toEqual([
      { kind: "series", record: { path: "ts", firstSequence: 2, nextSequence: 5, lastTimestamp: 300 } },
    ]);
    await storage.trimEvents("ts", 5);
    ({ records } = await loadAll(storage));
    expect(records).toEqual([{ kind: "series", record: { path: "ts", firstSequence: 5, nextSequence: 5 } }]);
    await storage.appendEvent("ts", ev(5, 400));
    expect(await seqs({ limit: 100 })).toEqual([5]);
    await storage.removeTopic("ts");
    expect(await seqs({ limit: 100 })).toEqual([]);
    expect((await loadAll(storage)).records).toEqual([]);
  });

  it("trims a long series step by step and reads what is left", async () => {
    for (let i = 0; i < 5000; i++)
      void storage.appendEvent("long", { sequence: i, timestamp: i, author: "a", value: bytes(`${i}`) });
    for (let cut = 500; cut <= 4000; cut += 500) await storage.trimEvents("long", cut);
    const seqs = (await storage.readEvents("long", { limit: 10_000 })).map((e) => e.sequence);
    expect([seqs.length, seqs[0], seqs[seqs.length - 1]]).toEqual([1000, 4000, 4999]);
    expect((await storage.findEventByTime("long", 10, "before"))?.sequence).toBeUndefined();
    expect((await storage.findEventByTime("long", 10, "atOrAfter"))?.sequence).toBe(4000);
    expect(
      (await storage.readEvents("long", { toSequence: 4002, limit: 10 })).map((e) => e.sequence),
    ).toEqual([4000, 4001]);
  });

  it("gives a large store back in bounded batches", async () => {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 5000; i++)
      writes.push(storage.enqueueMessage({ ...message(i), clientId: `c${i % 7}` }));
    await Promise.all(writes);
    const { records, batches } = await loadAll(storage);
    expect(records).toHaveLength(5000);
    expect(batches).toBeGreaterThan(1);
    for (let c = 0; c < 7; c++) {
      const ids = records.flatMap((r) =>
        r.kind === "message" && r.record.clientId === `c${c}` ? [r.record.messageId] : [],
      );
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  });

  it("keeps everything across a reopen", async () => {
    await storage.putTopic(retained);
    await storage.putSession(session);
    await storage.putSubscription(sub);
    await storage.enqueueMessage(message(1, { state: "sent", packetId: 9, dup: true }));
    await storage.recordIncomingQos2("c1", 4);
    await storage.appendEvent("ts", { sequence: 0, timestamp: 1, author: "a", value: bytes("x") });
    const before = plain((await loadAll(storage)).records);
    storage = await engine.reopen();
    expect(plain((await loadAll(storage)).records)).toEqual(before);
    expect((await storage.readEvents("ts", { limit: 10 })).map((e) => text(e.value))).toEqual(["x"]);
  });
});
