import { describe, expect, it } from "vitest";
import { SkeinError } from "./errors.js";
import { RangeQuery } from "./range-query.js";
import { parseJsonRangeQuery, rangeQueryParametersSchema } from "./timeseries.js";

const q = new RangeQuery();

describe("parseJsonRangeQuery: the JSON form of a range query is the builder's", () => {
  it.each<[string, unknown, RangeQuery]>([
    ["empty: values of everything", {}, q],
    ["fromLast + view values", { fromLast: 100, view: "values" }, q.forValues().fromLast(100)],
    ["allEdits", { view: "allEdits" }, q.forEdits()],
    ["latestEdits", { view: "latestEdits" }, q.forEdits().latestEdits()],
    ["from sequence, next", { from: 3, next: 2 }, q.from(3).next(2)],
    [
      "from ISO date, to time object",
      { from: "1970-01-01T00:00:01Z", to: { time: 5000 } },
      q.from(new Date(1000)).to(new Date(5000)),
    ],
    [
      "span before anchor in the object is still applied after it",
      { previous: 2, fromLast: 3 },
      q.fromLast(3).previous(2),
    ],
    ["fromStart, toStart", { fromStart: true, toStart: true }, q.fromStart().toStart()],
    ["millis", { fromLastMillis: 10, untilLastMillis: 5 }, q.fromLastMillis(10).untilLastMillis(5)],
    ["nextMillis, previousMillis", { from: 1, nextMillis: 7 }, q.from(1).nextMillis(7)],
    ["untilLast", { untilLast: 4 }, q.untilLast(4)],
    ["values editRange", { editRange: { to: 2 } }, q.forValues().editRange().to(2)],
    ["allEdits edit range", { view: "allEdits", editRange: { from: 3 } }, q.forEdits().allEdits().from(3)],
    [
      "latestEdits edit range",
      { view: "latestEdits", editRange: { previousMillis: 3 } },
      q.forEdits().latestEdits().previousMillis(3),
    ],
    ["limit", { fromLast: 10, limit: 3 }, q.fromLast(10).limit(3)],
  ])("%s", (_name, json, expected) => {
    expect(parseJsonRangeQuery(json)).toEqual(expected.parameters);
  });

  it.each<[string, unknown]>([
    ["not an object", [1]],
    ["null", null],
    ["unknown key", { sideways: 1 }],
    ["unknown view", { view: "all" }],
    ["negative count", { fromLast: -1 }],
    ["fraction", { next: 1.5 }],
    ["two anchors", { from: 1, fromLast: 2 }],
    ["two spans", { to: 1, next: 2 }],
    ["bad date", { from: "yesterday" }],
    ["fromStart not true", { fromStart: 1 }],
    ["editRange not an object", { editRange: 3 }],
    ["unknown editRange key", { editRange: { limit: 3 } }],
  ])("refuses %s with INVALID_ARGUMENT", (_name, json) => {
    expect(() => parseJsonRangeQuery(json)).toThrow(SkeinError);
    try {
      parseJsonRangeQuery(json);
    } catch (err) {
      expect((err as SkeinError).code).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("rangeQueryParametersSchema", () => {
  it("accepts what the builder makes", () => {
    for (const query of [
      q,
      q.forEdits().latestEdits().from(new Date(5)).nextMillis(3).limit(2),
      q.forValues().editRange().fromLast(1).untilLast(0),
      q.from(2).previous(1),
    ]) {
      expect(rangeQueryParametersSchema.safeParse(query.parameters).success).toBe(true);
    }
  });

  it("refuses what the builder never makes", () => {
    for (const bad of [
      { view: "values" },
      { ...q.parameters, view: "some" },
      { ...q.parameters, limit: -1 },
      { ...q.parameters, viewRange: { anchor: { kind: "last", count: 1.5 }, span: { kind: "start" } } },
      { ...q.parameters, viewRange: { anchor: { kind: "next", count: 1 }, span: { kind: "start" } } },
      { ...q.parameters, extra: 1 },
    ]) {
      expect(rangeQueryParametersSchema.safeParse(bad).success).toBe(false);
    }
  });
});
