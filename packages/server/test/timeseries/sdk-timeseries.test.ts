/**
 * Time series through the SDK over real sockets (issue 9 §2, docs/timeseries.md): append and edit with
 * their metadata, the semantics table of the three views, builder methods, refused edits, paging of
 * large results in `ts_page` frames, limits, and event streams starting with the subscription range;
 * the same suite with the server's store in memory and in sqlite.
 */
import { type ServerFrameOf, errorCodeNumber } from "@skein/protocol";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Session, type TimeSeriesEvent, connect } from "../../../sdk/src/index.js";
import { startServer, type TestServer, trustClaimedNames } from "../helpers.js";
import { openSession } from "../sdk/raw-sdk.js";

const STORES = ["memory", "sqlite"] as const;

describe.each(STORES)("time series through the SDK, store %s", (store) => {
  let srv: TestServer;
  let session: Session;
  let dataDir: string | undefined;
  const sdkUrl = (): string => `ws://127.0.0.1:${srv.addresses.http}/sdk`;

  beforeEach(async () => {
    dataDir = store === "sqlite" ? mkdtempSync(join(tmpdir(), "skein-ts-sdk-")) : undefined;
    srv = await startServer(dataDir ? { dataDir, storage: { engine: "sqlite" } } : {}, {
      authenticators: [trustClaimedNames],
    });
    session = await connect(sdkUrl(), { principal: "alice", reconnect: false });
  });
  afterEach(async () => {
    await session?.close();
    await srv?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const ts = (eventType: "string" | "double" | "json" | "binary" | "int64", properties = {}) => ({
    type: "time-series" as const,
    properties: { eventType, ...properties },
  });

  /** `seq:value`, with `(o)` for an edit of original o. */
  const show = (e: TimeSeriesEvent<unknown>): string =>
    e.isEdit ? `${e.sequence}:${String(e.value)}(${e.originalSequence})` : `${e.sequence}:${String(e.value)}`;

  describe("append and edit", () => {
    it("answer with the event's metadata: sequences from 0, server time, the principal as author", async () => {
      await session.topics.add("s/a", ts("string"));
      const before = Date.now();
      const a = await session.timeseries.append("s/a", "string", "A");
      const b = await session.timeseries.append("s/a", "string", "B");
      const x = await session.timeseries.edit("s/a", "string", 0, "X");
      expect([a.sequence, b.sequence, x.sequence]).toEqual([0, 1, 2]);
      expect(a.author).toBe("alice");
      expect(a.timestamp).toBeGreaterThanOrEqual(before);
      expect(b.timestamp).toBeGreaterThanOrEqual(a.timestamp);
    });

    it("semantics table: values, all edits, latest edits of 0:A, 1:B, 2:X (edit of 0), 3:Y (edit of 0)", async () => {
      await session.topics.add("s/t", ts("string"));
      await session.timeseries.append("s/t", "string", "A");
      await session.timeseries.append("s/t", "string", "B");
      await session.timeseries.edit("s/t", "string", 0, "X");
      await session.timeseries.edit("s/t", "string", 0, "Y");
      const q = session.timeseries.rangeQuery();
      const values = await q.selectFrom("s/t");
      expect(values.events.map(show)).toEqual(["3:Y(0)", "1:B"]);
      expect(values).toMatchObject({
        selectedCount: 2,
        isComplete: true,
        streamStructure: "VALUE_EVENT_STREAM",
      });
      expect(values.events[0]).toMatchObject({
        sequence: 3,
        isEdit: true,
        originalSequence: 0,
        author: "alice",
      });
      const all = await q.forEdits().selectFrom("s/t");
      expect(all.events.map(show)).toEqual(["0:A", "1:B", "2:X(0)", "3:Y(0)"]);
      expect(all.streamStructure).toBe("EDIT_EVENT_STREAM");
      expect((await q.forEdits().allEdits().selectFrom("s/t")).events.map(show)).toEqual([
        "0:A",
        "1:B",
        "2:X(0)",
        "3:Y(0)",
      ]);
      expect((await q.forEdits().latestEdits().selectFrom("s/t")).events.map(show)).toEqual([
        "0:A",
        "1:B",
        "3:Y(0)",
      ]);
      expect((await q.forValues().editRange().to(2).selectFrom("s/t")).events.map(show)).toEqual([
        "2:X(0)",
        "1:B",
      ]);
    });

    it("refuses an edit of an edit and of an event outside the retained range with INVALID_ARGUMENT", async () => {
      await session.topics.add("s/r", ts("string", { retainedRange: { count: 3 } }));
      for (const v of ["a", "b", "c", "d"]) await session.timeseries.append("s/r", "string", v);
      await expect(session.timeseries.edit("s/r", "string", 0, "z")).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(/outside the retained range/),
      });
      await expect(session.timeseries.edit("s/r", "string", 9, "z")).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
      const edit = await session.timeseries.edit("s/r", "string", 2, "z");
      await expect(session.timeseries.edit("s/r", "string", edit.sequence, "zz")).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(/is an edit/),
      });
    });

    it("refuses appends of the wrong type, to a missing topic and to a topic that is not a time series", async () => {
      await session.topics.add("s/d", ts("double"));
      await session.topics.add("plain", { type: "string" });
      await expect(session.timeseries.append("s/d", "string", "x")).rejects.toMatchObject({
        code: "TOPIC_TYPE_MISMATCH",
      });
      await expect(session.timeseries.append("nope", "double", 1)).rejects.toMatchObject({
        code: "TOPIC_NOT_FOUND",
      });
      await expect(session.timeseries.append("plain", "string", "x")).rejects.toMatchObject({
        code: "TOPIC_TYPE_MISMATCH",
      });
      await expect(session.timeseries.rangeQuery().selectFrom("plain")).rejects.toMatchObject({
        code: "TOPIC_TYPE_MISMATCH",
      });
      await expect(session.timeseries.rangeQuery().as("string").selectFrom("s/d")).rejects.toMatchObject({
        code: "TOPIC_TYPE_MISMATCH",
      });
      // Checked before sending: not a double.
      await expect(session.timeseries.append("s/d", "double", "1" as never)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
    });
  });

  describe("range queries", () => {
    /** Ten doubles 0..9. */
    async function ten(path = "s/ten"): Promise<void> {
      await session.topics.add(path, ts("double"));
      for (let i = 0; i < 10; i++) await session.timeseries.append(path, "double", i);
    }
    const seqs = async (q: { selectFrom(p: string): Promise<{ events: { sequence: number }[] }> }) =>
      (await q.selectFrom("s/ten")).events.map((e) => e.sequence);

    it("builder methods select by sequence, count and time; values decode as the event type", async () => {
      await ten();
      const q = session.timeseries.rangeQuery();
      expect(await seqs(q.fromLast(3))).toEqual([7, 8, 9]);
      expect(await seqs(q.untilLast(7))).toEqual([0, 1, 2]);
      expect(await seqs(q.from(2).next(3))).toEqual([2, 3, 4]);
      expect(await seqs(q.from(5).previous(2))).toEqual([4, 5]);
      expect(await seqs(q.from(4).toStart())).toEqual([0, 1, 2, 3, 4]);
      expect(await seqs(q.fromStart().to(1))).toEqual([0, 1]);
      expect(await seqs(q.from(new Date(0)).to(new Date(8_000_000_000_000)))).toHaveLength(10);
      expect(await seqs(q.fromLastMillis(1_000_000))).toHaveLength(10);
      expect(await seqs(q.untilLastMillis(1_000_000))).toEqual([]);
      expect(await seqs(q.from(0).nextMillis(1_000_000))).toHaveLength(10);
      expect(await seqs(q.from(9).previousMillis(1_000_000))).toHaveLength(10);
      const typed = await q.as("double").fromLast(1).selectFrom("s/ten");
      expect(typed.events[0]?.value).toBe(9);
      const bytes = await q.as("binary").fromLast(1).selectFrom("s/ten");
      expect(new TextDecoder().decode(bytes.events[0]?.value)).toBe("9");
    });

    it("the builder is immutable and checks its arguments before sending", () => {
      const base = session.timeseries.rangeQuery().fromLast(5);
      const limited = base.limit(2);
      expect(base.parameters.limit).toBeUndefined();
      expect(limited.parameters.limit).toBe(2);
      expect(() => base.next(-1)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error);
      expect(() => base.forEdits().editRange()).toThrow(
        expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error,
      );
      expect(() => base.as("nope" as never)).toThrow(
        expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error,
      );
    });

    it("limit returns the last n, selectedCount counts all; beyond the retained range returns what is kept", async () => {
      await ten();
      const r = await session.timeseries.rangeQuery().limit(3).selectFrom("s/ten");
      expect(r.events.map((e) => e.sequence)).toEqual([7, 8, 9]);
      expect(r).toMatchObject({ selectedCount: 10, isComplete: false });
      await session.topics.add("s/kept", ts("int64", { retainedRange: { count: 2 } }));
      for (let i = 0n; i < 5n; i++) await session.timeseries.append("s/kept", "int64", i);
      const kept = await session.timeseries.rangeQuery().from(0).to(100).selectFrom("s/kept");
      expect(kept.events.map((e) => [e.sequence, e.value])).toEqual([
        [3, 3n],
        [4, 4n],
      ]);
      expect((await session.timeseries.rangeQuery().to(1).selectFrom("s/kept")).events).toEqual([]);
    });

    it("a large result arrives in ts_page frames of at most 500 events, then the result with none", async () => {
      await session.topics.add("s/big", ts("int64"));
      const n = 1203;
      await Promise.all(
        Array.from({ length: n }, (_, i) => session.timeseries.append("s/big", "int64", BigInt(i))),
      );
      const r = await session.timeseries.rangeQuery().selectFrom("s/big");
      expect(r.events.map((e) => e.sequence)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(r.events[n - 1]?.value).toBe(BigInt(n - 1));
      // On the wire: pages of 500, 500 and the last 203, then the result with no events (its totals).
      const raw = await openSession(sdkUrl());
      raw.send({ type: "ts_query", id: 7, path: "s/big", query: session.timeseries.rangeQuery().parameters });
      const result = await raw.next("result", (f) => f.id === 7);
      const pages = raw.frames.filter(
        (f): f is ServerFrameOf<"ts_page"> => f.type === "ts_page" && f.id === 7,
      );
      expect(pages.map((p) => p.events.length)).toEqual([500, 500, 203]);
      expect(result.value).toMatchObject({ events: [], selectedCount: n, isComplete: true });
      expect(pages[1]?.events[0]).toMatchObject({ s: 500, a: "alice" });
      raw.ws.close();
    });

    it("pages are cut at about 256 KiB of values, so large events never make one huge frame", async () => {
      await session.topics.add("s/large", ts("binary"));
      const value = new Uint8Array(100 * 1024).fill(7);
      for (let i = 0; i < 6; i++) await session.timeseries.append("s/large", "binary", value);
      const raw = await openSession(sdkUrl());
      raw.send({
        type: "ts_query",
        id: 3,
        path: "s/large",
        query: session.timeseries.rangeQuery().parameters,
      });
      const result = await raw.next("result", (f) => f.id === 3);
      const pages = raw.frames.filter(
        (f): f is ServerFrameOf<"ts_page"> => f.type === "ts_page" && f.id === 3,
      );
      expect([
        ...pages.map((p) => p.events.length),
        (result.value as { events: unknown[] }).events.length,
      ]).toEqual([2, 2, 2, 0]);
      const r = await session.timeseries.rangeQuery().selectFrom("s/large");
      expect(r.events).toHaveLength(6);
      expect(r.events.every((e) => e.value instanceof Uint8Array && e.value.length === value.length)).toBe(
        true,
      );
      raw.ws.close();
    });

    it("a bad query in a ts_query frame is refused with INVALID_ARGUMENT", async () => {
      await ten();
      const raw = await openSession(sdkUrl());
      raw.send({ type: "ts_query", id: 4, path: "s/ten", query: { view: "values" } });
      const error = await raw.next("error", (f) => f.id === 4);
      expect(error.code).toBe(errorCodeNumber("INVALID_ARGUMENT"));
      raw.ws.close();
    });
  });

  describe("event streams", () => {
    it("a new subscriber receives the subscription range, then every new event with its metadata", async () => {
      await session.topics.add("s/live", ts("json", { subscriptionRange: 2 }));
      for (const v of [{ n: 0 }, { n: 1 }, { n: 2 }]) await session.timeseries.append("s/live", "json", v);
      const other = await connect(sdkUrl(), { principal: "bob", reconnect: false });
      try {
        const seen: string[] = [];
        const subscribed = vi.fn();
        other.timeseries.addStream(">s/live", "json", {
          onSubscribe: subscribed,
          onValue: (path, _spec, e, old) =>
            seen.push(
              `${path} ${e.sequence} ${JSON.stringify(e.value)} ${e.author} ${e.isEdit} ${old?.sequence}`,
            ),
        });
        await other.select(">s/live");
        await vi.waitFor(() => expect(seen).toHaveLength(2));
        expect(subscribed).toHaveBeenCalledWith(
          "s/live",
          expect.objectContaining({ type: "time-series" }),
          undefined,
        );
        await session.timeseries.append("s/live", "json", { n: 3 });
        await session.timeseries.edit("s/live", "json", 1, { n: 11 });
        await vi.waitFor(() => expect(seen).toHaveLength(4));
        expect(seen).toEqual([
          's/live 1 {"n":1} alice false undefined',
          's/live 2 {"n":2} alice false 1',
          's/live 3 {"n":3} alice false 2',
          's/live 4 {"n":11} alice true 3',
        ]);
        // A stream added later starts from the newest event this session has.
        const late = vi.fn();
        other.timeseries.addStream(">s/live", "json", { onSubscribe: late });
        expect(late).toHaveBeenCalledWith(
          "s/live",
          expect.anything(),
          expect.objectContaining({ sequence: 4, originalSequence: 1, isEdit: true }),
        );
        // Value streams of the event type do not receive time series topics.
        const values = vi.fn();
        other.addStream(">s/live", "json", { onSubscribe: values });
        expect(values).not.toHaveBeenCalled();
      } finally {
        await other.close();
      }
    });

    it("subscriptionRange 0 sends no past events", async () => {
      await session.topics.add("s/none", ts("string", { subscriptionRange: 0 }));
      await session.timeseries.append("s/none", "string", "old");
      const seen: number[] = [];
      session.timeseries.addStream(">s/none", "string", { onValue: (_p, _s, e) => seen.push(e.sequence) });
      await session.select(">s/none");
      await session.timeseries.append("s/none", "string", "new");
      await vi.waitFor(() => expect(seen).toEqual([1]));
    });
  });
});
