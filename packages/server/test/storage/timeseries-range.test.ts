/**
 * Time series semantics (docs/timeseries.md) as table tests, run against every storage engine: every
 * range query builder method, edits and the three views, empty series, ranges before, after and
 * around the retained range, paging boundaries, and the edit refusals.
 */
import { SkeinError } from "@skein/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  evaluateRangeQuery,
  type RangeResultEvent,
  selectRange,
} from "../../src/core/timeseries/evaluate.js";
import { RangeQuery } from "../../src/core/timeseries/range-query.js";
import { TimeSeriesLog, type TimeSeriesLogOptions } from "../../src/core/timeseries/series.js";
import { ENGINES, type EngineUnderTest } from "./engines.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const q = new RangeQuery();

/** `seq:value`, with `(o)` for an edit of original o. */
function show(e: RangeResultEvent): string {
  return e.isEdit
    ? `${e.sequence}:${text(e.value)}(${e.originalSequence})`
    : `${e.sequence}:${text(e.value)}`;
}

describe.each(Object.keys(ENGINES))("time series: %s", (name) => {
  let engine: EngineUnderTest;
  beforeEach(() => {
    engine = ENGINES[name]!();
  });
  afterEach(() => engine.dispose());

  function log(options: TimeSeriesLogOptions = {}): TimeSeriesLog {
    return new TimeSeriesLog("ts", engine.storage, options);
  }

  /** Ten originals 0..9, value `v<seq>`, at 1000 + 10 × seq ms. */
  async function tenEvents(): Promise<TimeSeriesLog> {
    const series = log();
    const writes = [];
    for (let i = 0; i < 10; i++) writes.push(series.append(bytes(`v${i}`), "alice", 1000 + 10 * i).committed);
    await Promise.all(writes);
    return series;
  }

  const seqs = async (series: TimeSeriesLog, query: RangeQuery): Promise<number[]> =>
    (await selectRange(series, query.parameters)).events.map((e) => e.sequence);
  const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

  const rangeTable: [string, RangeQuery, number[]][] = [
    ["default: the whole series", q, range(0, 9)],
    ["fromStart()", q.fromStart(), range(0, 9)],
    ["from(3)", q.from(3), range(3, 9)],
    ["from(3).to(5): both ends inclusive", q.from(3).to(5), [3, 4, 5]],
    ["from(5).to(3): a span before the anchor selects the same", q.from(5).to(3), [3, 4, 5]],
    ["from(5).to(5)", q.from(5).to(5), [5]],
    ["from(Date) on an event's time includes it", q.from(new Date(1030)), range(3, 9)],
    ["from(Date) between events", q.from(new Date(1035)), range(4, 9)],
    ["to(Date) on an event's time includes it", q.to(new Date(1030)), range(0, 3)],
    ["from(Date).to(Date)", q.from(new Date(1015)).to(new Date(1045)), [2, 3, 4]],
    ["fromLast(3)", q.fromLast(3), [7, 8, 9]],
    ["fromLast(0): nothing", q.fromLast(0), []],
    ["fromLast(n) past the start: everything", q.fromLast(20), range(0, 9)],
    ["fromLastMillis(20): the newest event's time minus 20 ms, inclusive", q.fromLastMillis(20), [7, 8, 9]],
    ["fromLastMillis(0): the newest instant", q.fromLastMillis(0), [9]],
    ["untilLast(3): all but the last 3", q.untilLast(3), range(0, 6)],
    ["untilLast(0): to the end", q.untilLast(0), range(0, 9)],
    ["untilLast(n) past the start: nothing", q.untilLast(20), []],
    ["untilLastMillis(20): all but the last 20 ms", q.untilLastMillis(20), range(0, 6)],
    ["fromLast(3).untilLast(1)", q.fromLast(3).untilLast(1), [7, 8]],
    ["from(4).toStart(): back to the first event", q.from(4).toStart(), range(0, 4)],
    ["fromStart().toStart(): nothing", q.fromStart().toStart(), []],
    ["from(2).next(3)", q.from(2).next(3), [2, 3, 4]],
    ["from(8).next(5): what there is", q.from(8).next(5), [8, 9]],
    ["next(0): nothing", q.from(2).next(0), []],
    ["fromStart().next(2)", q.fromStart().next(2), [0, 1]],
    ["from(5).previous(2): up to the anchor, inclusive", q.from(5).previous(2), [4, 5]],
    ["from(1).previous(5): what there is", q.from(1).previous(5), [0, 1]],
    ["fromLast(3).previous(2): the two before the last three", q.fromLast(3).previous(2), [5, 6]],
    ["fromStart().previous(2): nothing", q.fromStart().previous(2), []],
    ["previous(0): nothing", q.from(5).previous(0), []],
    ["from(Date).previous(2)", q.from(new Date(1035)).previous(2), [2, 3]],
    ["from(2).nextMillis(25): [1020, 1045]", q.from(2).nextMillis(25), [2, 3, 4]],
    ["from(Date 1025).nextMillis(20): [1025, 1045]", q.from(new Date(1025)).nextMillis(20), [3, 4]],
    ["from(2).nextMillis(20): the end is inclusive", q.from(2).nextMillis(20), [2, 3, 4]],
    ["from(6).previousMillis(15): [1045, 1060]", q.from(6).previousMillis(15), [5, 6]],
    ["from(Date 1065).previousMillis(20): [1045, 1065]", q.from(new Date(1065)).previousMillis(20), [5, 6]],
    ["fromLastMillis(30).next(2)", q.fromLastMillis(30).next(2), [6, 7]],
    ["after the end: from(100)", q.from(100), []],
    ["after the end, backwards: from(100).previous(2)", q.from(100).previous(2), [8, 9]],
    ["after the end: from(Date far).toStart()", q.from(new Date(99_999)).toStart(), range(0, 9)],
    ["around the series: from(Date 0).to(Date far)", q.from(new Date(0)).to(new Date(99_999)), range(0, 9)],
    ["to(100)", q.to(100), range(0, 9)],
    ["limit(3): the newest three", q.limit(3), [7, 8, 9]],
    ["from(2).to(4).limit(5)", q.from(2).to(4).limit(5), [2, 3, 4]],
    ["limit(0)", q.limit(0), []],
  ];

  it.each(rangeTable)("%s", async (_name, query, expected) => {
    const series = await tenEvents();
    expect(await seqs(series, query)).toEqual(expected);
  });

  it("limit: selectedCount is what was selected, isComplete whether all was returned", async () => {
    const series = await tenEvents();
    expect(await selectRange(series, q.limit(3).parameters)).toMatchObject({
      selectedCount: 10,
      isComplete: false,
    });
    expect(await selectRange(series, q.limit(10).parameters)).toMatchObject({
      selectedCount: 10,
      isComplete: true,
    });
    expect(await selectRange(series, q.from(8).parameters)).toMatchObject({
      selectedCount: 2,
      isComplete: true,
    });
  });

  describe("edits: 0:A, 1:B, 2:X (edit of 0), 3:Y (edit of 0)", () => {
    async function edited(): Promise<TimeSeriesLog> {
      const series = log();
      await series.append(bytes("A"), "alice", 1).committed;
      await series.append(bytes("B"), "alice", 2).committed;
      await (
        await series.edit(0, bytes("X"), "bob", 3)
      ).committed;
      await (
        await series.edit(0, bytes("Y"), "carol", 4)
      ).committed;
      return series;
    }
    const table: [string, RangeQuery, string[]][] = [
      ["values: the latest edit in place of its original", q.forValues(), ["3:Y(0)", "1:B"]],
      ["all edits", q.forEdits(), ["0:A", "1:B", "2:X(0)", "3:Y(0)"]],
      ["all edits, explicitly", q.forEdits().allEdits(), ["0:A", "1:B", "2:X(0)", "3:Y(0)"]],
      ["latest edits", q.forEdits().latestEdits(), ["0:A", "1:B", "3:Y(0)"]],
      ["values, edit range to(2): edits up to 2 apply", q.forValues().editRange().to(2), ["2:X(0)", "1:B"]],
      ["values, edit range from(3): only events in it", q.forValues().editRange().from(3), ["3:Y(0)"]],
      ["values, edit range from(4): nothing", q.forValues().editRange().from(4), []],
      ["all edits in edit range from(3)", q.forEdits().allEdits().from(3), ["0:A", "1:B", "3:Y(0)"]],
      ["latest edits in edit range to(2)", q.forEdits().latestEdits().to(2), ["0:A", "1:B", "2:X(0)"]],
      ["values from(1): the view range counts originals", q.forValues().from(1), ["1:B"]],
      ["values fromLast(1): the last original", q.forValues().fromLast(1), ["1:B"]],
      ["values fromLast(2)", q.forValues().fromLast(2), ["3:Y(0)", "1:B"]],
      ["values to(0)", q.forValues().to(0), ["3:Y(0)"]],
      ["edits from(1): edits of originals outside the view are not selected", q.forEdits().from(1), ["1:B"]],
      ["edits to(0)", q.forEdits().to(0), ["0:A", "2:X(0)", "3:Y(0)"]],
      ["values limit(1): the last of the result", q.forValues().limit(1), ["1:B"]],
      ["edits limit(2): the newest two", q.forEdits().limit(2), ["2:X(0)", "3:Y(0)"]],
    ];
    it.each(table)("%s", async (_name, query, expected) => {
      const series = await edited();
      expect((await selectRange(series, query.parameters)).events.map(show)).toEqual(expected);
    });

    it("results carry the edit's metadata and the stream structure", async () => {
      const series = await edited();
      const values = await selectRange(series, q.forValues().parameters);
      expect(values.streamStructure).toBe("VALUE_EVENT_STREAM");
      expect({ ...values.events[0]!, value: text(values.events[0]!.value) }).toEqual({
        sequence: 3,
        timestamp: 4,
        author: "carol",
        value: "Y",
        isEdit: true,
        originalSequence: 0,
      });
      expect(values.events[1]).toMatchObject({
        sequence: 1,
        isEdit: false,
        originalSequence: 1,
        author: "alice",
      });
      expect((await selectRange(series, q.forEdits().parameters)).streamStructure).toBe("EDIT_EVENT_STREAM");
    });

    it("refuses an edit of an edit, of an event not yet appended, and of an event no longer kept", async () => {
      const series = await edited();
      await expect(series.edit(2, bytes("Z"), "x", 5)).rejects.toThrow(/it is an edit/);
      await expect(series.edit(4, bytes("Z"), "x", 5)).rejects.toThrow(/outside the retained range/);
      await expect(series.edit(-1, bytes("Z"), "x", 5)).rejects.toBeInstanceOf(SkeinError);
      const short = new TimeSeriesLog("short", engine.storage, { retainedRange: { count: 2 } });
      for (let i = 0; i < 5; i++) await short.append(bytes(`${i}`), "a", i).committed;
      await expect(short.edit(1, bytes("Z"), "x", 9)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await (
        await short.edit(3, bytes("Z"), "x", 9)
      ).committed;
      expect(short.nextSequence).toBe(6);
    });
  });

  describe("empty series", () => {
    const table: [string, RangeQuery][] = [
      ["default", q],
      ["fromLast(5)", q.fromLast(5)],
      ["fromLastMillis(5)", q.fromLastMillis(5)],
      ["from(Date).nextMillis", q.from(new Date(5)).nextMillis(5)],
      ["from(3).previous(2)", q.from(3).previous(2)],
      ["from(3).previousMillis(2)", q.from(3).previousMillis(2)],
      ["untilLastMillis(5)", q.untilLastMillis(5)],
      ["edits", q.forEdits().latestEdits()],
      ["limit", q.limit(3)],
    ];
    it.each(table)("%s selects nothing, without error", async (_name, query) => {
      expect(await selectRange(log(), query.parameters)).toEqual({
        events: [],
        selectedCount: 0,
        isComplete: true,
        streamStructure: query.parameters.view === "values" ? "VALUE_EVENT_STREAM" : "EDIT_EVENT_STREAM",
      });
    });
  });

  describe("retained range", () => {
    it("count: enforced on append; queries before, around and after the kept range return what is kept", async () => {
      const series = log({ retainedRange: { count: 3 } });
      for (let i = 0; i < 6; i++) await series.append(bytes(`v${i}`), "a", 100 + i).committed;
      expect([series.firstSequence, series.nextSequence]).toEqual([3, 6]);
      expect(await seqs(series, q)).toEqual([3, 4, 5]);
      expect(await seqs(series, q.to(1))).toEqual([]);
      expect(await seqs(series, q.from(0).to(3))).toEqual([3]);
      expect(await seqs(series, q.from(1).to(4))).toEqual([3, 4]);
      expect(await seqs(series, q.fromStart().next(1))).toEqual([3]);
      expect(await seqs(series, q.fromLast(10))).toEqual([3, 4, 5]);
      expect(await seqs(series, q.from(4).previous(5))).toEqual([3, 4]);
      expect(await seqs(series, q.from(new Date(0)).to(new Date(102)))).toEqual([]);
      expect(await seqs(series, q.from(9))).toEqual([]);
      expect((await engine.storage.readEvents("ts", { limit: 100 })).map((e) => e.sequence)).toEqual([
        3, 4, 5,
      ]);
    });

    it("count includes edits, and sequences rise by one per event, edits included", async () => {
      const series = log({ retainedRange: { count: 2 } });
      await series.append(bytes("A"), "a", 1).committed;
      const edit = await series.edit(0, bytes("X"), "a", 2);
      expect(edit.event).toMatchObject({ sequence: 1, originalSequence: 0 });
      await series.append(bytes("B"), "a", 3).committed;
      expect(await seqs(series, q.forEdits())).toEqual([2]);
    });

    it("duration: enforced on append over the RAM window, and over the store by the sweep", async () => {
      const series = log({ retainedRange: { durationMs: 100 }, recentWindow: 2 });
      for (const t of [0, 50, 100, 150, 200]) await series.append(bytes(`${t}`), "a", t).committed;
      expect(series.firstSequence).toBe(2); // 0 and 50 are older than 200 - 100
      expect(await seqs(series, q)).toEqual([2, 3, 4]);
      await series.sweep(260);
      expect(await seqs(series, q)).toEqual([4]);
      await series.sweep(1000);
      expect(await seqs(series, q)).toEqual([]);
      expect(series.nextSequence).toBe(5);
      expect((await series.append(bytes("x"), "a", 1000)).event.sequence).toBe(5);
    });
  });

  it("timestamps never decrease along a series", async () => {
    const series = log();
    await series.append(bytes("a"), "a", 100).committed;
    const late = series.append(bytes("b"), "a", 50);
    expect(late.event.timestamp).toBe(100);
    await late.committed;
  });

  it("a restarted series continues from the store, with its recent window", async () => {
    const first = log({ recentWindow: 3 });
    for (let i = 0; i < 5; i++) await first.append(bytes(`v${i}`), "a", i).committed;
    const storage = await engine.reopen();
    let state;
    for await (const batch of storage.load())
      for (const r of batch) if (r.kind === "series") state = r.record;
    const again = new TimeSeriesLog("ts", storage, { recentWindow: 3 }, state);
    await again.warm();
    expect(again.recent().map((e) => e.sequence)).toEqual([2, 3, 4]);
    expect(again.append(bytes("v5"), "a", 9).event.sequence).toBe(5);
    await again.edit(1, bytes("e"), "a", 9);
  });

  describe("large reads and counts (what range queries page through)", () => {
    it("read values of every length (empty ones too) in order, either way, and count what they would read", async () => {
      const series = log();
      const value = (i: number): string => (i % 5 === 0 ? "" : "x".repeat(i % 17) + String(i));
      for (let i = 0; i < 300; i++) {
        if (i % 10 === 9) await series.edit(i - 1, bytes(`e${i}`), "bob", i).catch(() => undefined);
        else void series.append(bytes(value(i)), i % 3 ? "alice" : "zoë", i);
      }
      await series.append(bytes("last"), "a", 1000).committed;
      const all = await engine.storage.readEvents("ts", { limit: 1000 });
      expect(all.map((e) => e.sequence)).toEqual(Array.from({ length: 301 }, (_, i) => i));
      for (const e of all) {
        if (e.originalSequence !== undefined) expect(text(e.value)).toBe(`e${e.sequence}`);
        else if (e.sequence < 300) expect(text(e.value)).toBe(value(e.sequence));
      }
      const newest = await engine.storage.readEvents("ts", {
        kind: "originals",
        newestFirst: true,
        limit: 100,
      });
      const originals = all.filter((e) => e.originalSequence === undefined);
      expect(newest).toEqual(originals.slice(-100).reverse());
      const edits = { originalFrom: 50, originalTo: 250, fromSequence: 60, toSequence: 200 };
      const fromStore = await engine.storage.readEvents("ts", { ...edits, limit: 1000 });
      expect(fromStore.map((e) => e.sequence)).toEqual(
        all
          .filter(
            (e) =>
              e.originalSequence! >= 50 && e.originalSequence! < 250 && e.sequence >= 60 && e.sequence < 200,
          )
          .map((e) => e.sequence),
      );
      expect(await engine.storage.countEvents("ts", edits)).toBe(fromStore.length);
      expect(await engine.storage.countEvents("ts", { kind: "originals" })).toBe(originals.length);
      expect(await engine.storage.countEvents("ts", { fromTimestamp: 10, toTimestamp: 20 })).toBe(10);
      expect(await engine.storage.countEvents("nothing", {})).toBe(0);
      expect(await engine.storage.readEvents("none", { limit: 100 })).toEqual([]);
    });

    it("a limited query counts its selection without reading it: the same totals as counting by selecting", async () => {
      const series = await tenEvents();
      await series.edit(2, bytes("X"), "b", 2000);
      await series.edit(2, bytes("Y"), "b", 2001);
      await series.edit(7, bytes("Z"), "b", 2002);
      for (const query of [
        q,
        q.forEdits(),
        q.forEdits().latestEdits(),
        q.from(3).to(8),
        q.editRange().from(5),
        q.forEdits().allEdits().from(11),
      ]) {
        const whole = await selectRange(series, query.parameters);
        const limited = await selectRange(series, query.limit(2).parameters);
        expect(limited.selectedCount).toBe(whole.events.length);
        expect(limited.events).toEqual(whole.events.slice(-2));
        expect(limited.isComplete).toBe(whole.events.length <= 2);
      }
    });
  });

  describe("paging", () => {
    const pageSizes = async (series: TimeSeriesLog, query: RangeQuery, pageSize: number) => {
      const pages: number[][] = [];
      for await (const page of evaluateRangeQuery(series, query.parameters, pageSize))
        pages.push(page.events.map((e) => e.sequence));
      return pages;
    };
    it("splits at the page size; the last page carries the totals and may be empty", async () => {
      const series = await tenEvents();
      expect(await pageSizes(series, q, 3)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
      expect(await pageSizes(series, q, 5)).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], []]);
      expect(await pageSizes(series, q.limit(4), 3)).toEqual([[6, 7, 8], [9]]);
      expect(await pageSizes(series, q.from(3).to(3), 1)).toEqual([[3], []]);
      const last = [];
      for await (const page of evaluateRangeQuery(series, q.limit(4).parameters, 3)) last.push(page);
      expect(last[last.length - 1]).toMatchObject({ last: true, selectedCount: 10, isComplete: false });
    });

    it("edits spread over many store pages give the same result as one page", async () => {
      const series = log();
      for (let i = 0; i < 7; i++) await series.append(bytes(`o${i}`), "a", i).committed;
      for (const o of [6, 0, 3, 0, 5, 1]) await (await series.edit(o, bytes(`e${o}`), "a", 10)).committed;
      for (const query of [
        q.forValues(),
        q.forEdits(),
        q.forEdits().latestEdits(),
        q.forValues().editRange().from(9),
      ]) {
        const whole = (await selectRange(series, query.parameters)).events.map(show);
        const paged: string[] = [];
        for await (const page of evaluateRangeQuery(series, query.parameters, 2))
          paged.push(...page.events.map(show));
        expect(paged).toEqual(whole);
      }
      expect((await selectRange(series, q.forValues().parameters)).events.map(show)).toEqual([
        "10:e0(0)",
        "12:e1(1)",
        "2:o2",
        "9:e3(3)",
        "4:o4",
        "11:e5(5)",
        "7:e6(6)",
      ]);
      expect((await selectRange(series, q.forEdits().latestEdits().parameters)).events.map(show)).toEqual([
        "0:o0",
        "1:o1",
        "2:o2",
        "3:o3",
        "4:o4",
        "5:o5",
        "6:o6",
        "7:e6(6)",
        "9:e3(3)",
        "10:e0(0)",
        "11:e5(5)",
        "12:e1(1)",
      ]);
    });
  });

  it("the builder refuses negative and fractional counts, and views in the wrong order", () => {
    expect(() => q.fromLast(-1)).toThrow(SkeinError);
    expect(() => q.next(1.5)).toThrow(SkeinError);
    expect(() => q.from(new Date(Number.NaN))).toThrow(SkeinError);
    expect(() => q.forEdits().editRange()).toThrow(SkeinError);
    expect(() => q.forValues().latestEdits()).toThrow(SkeinError);
    const base = q.fromLast(5);
    base.limit(2);
    expect(base.parameters.limit).toBeUndefined();
  });
});
