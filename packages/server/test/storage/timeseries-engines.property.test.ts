/**
 * Property test: on random series (originals, edits, equal timestamps, retention) and random range
 * queries, the memory and sqlite engines give the same results, a paged evaluation gives the same
 * events as a whole one, and every result stays inside the kept range and in its view's order.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RangeResultEvent,
  evaluateRangeQuery,
  selectRange,
} from "../../src/core/timeseries/evaluate.js";
import { RangeQuery } from "../../src/core/timeseries/range-query.js";
import { TimeSeriesLog } from "../../src/core/timeseries/series.js";
import { ENGINES, type EngineUnderTest } from "./engines.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
/** Events with their values as text (sqlite gives Buffers, memory the Uint8Arrays it was given). */
const plain = (events: readonly RangeResultEvent[]) => events.map((e) => ({ ...e, value: text(e.value) }));

type Step = { edit: number | undefined; dt: number };
type Call = [method: string, arg: number];

const stepArb: fc.Arbitrary<Step> = fc.record({
  edit: fc.option(fc.nat(30), { nil: undefined }),
  dt: fc.constantFrom(0, 0, 1, 5, 10),
});
const callArb: fc.Arbitrary<Call> = fc.tuple(
  fc.constantFrom(
    "from",
    "fromDate",
    "fromStart",
    "fromLast",
    "fromLastMillis",
    "to",
    "toDate",
    "toStart",
    "next",
    "nextMillis",
    "previous",
    "previousMillis",
    "untilLast",
    "untilLastMillis",
    "limit",
    "editRange",
  ),
  fc.nat(40),
);

function build(view: "values" | "allEdits" | "latestEdits", calls: Call[]): RangeQuery {
  let q = view === "values" ? new RangeQuery().forValues() : new RangeQuery().forEdits();
  for (const [method, n] of calls) {
    switch (method) {
      case "fromDate":
        q = q.from(new Date(1000 + n * 3));
        break;
      case "toDate":
        q = q.to(new Date(1000 + n * 3));
        break;
      case "fromStart":
        q = q.fromStart();
        break;
      case "toStart":
        q = q.toStart();
        break;
      case "editRange":
        q = view === "values" ? q.editRange() : view === "allEdits" ? q.allEdits() : q.latestEdits();
        break;
      default:
        q = (q as unknown as Record<string, (n: number) => RangeQuery>)[method]!.call(q, n);
    }
  }
  return q;
}

describe("time series engines agree (property)", () => {
  let memory: EngineUnderTest;
  let sqlite: EngineUnderTest;
  beforeAll(() => {
    memory = ENGINES.memory!();
    sqlite = ENGINES.sqlite!();
  });
  afterAll(async () => {
    await memory.dispose();
    await sqlite.dispose();
  });

  let run = 0;
  it("memory and sqlite give the same result; pages give the whole", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 0, maxLength: 40 }),
        fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
        fc.constantFrom("values" as const, "allEdits" as const, "latestEdits" as const),
        fc.array(callArb, { maxLength: 4 }),
        fc.integer({ min: 1, max: 7 }),
        async (steps, count, view, calls, pageSize) => {
          const path = `p${run++}`;
          const logs = [memory, sqlite].map(
            (e) =>
              new TimeSeriesLog(path, e.storage, count === undefined ? {} : { retainedRange: { count } }),
          );
          let t = 1000;
          for (const step of steps) {
            t += step.dt;
            for (const log of logs) {
              const original =
                step.edit === undefined ? undefined : step.edit % Math.max(1, log.nextSequence);
              try {
                if (original === undefined) await log.append(bytes(`v${log.nextSequence}`), "a", t).committed;
                else await (await log.edit(original, bytes(`e${log.nextSequence}`), "a", t)).committed;
              } catch {
                // an edit of an edit or of a dropped event: refused alike by both (checked below)
              }
            }
          }
          expect(logs[0]!.nextSequence).toBe(logs[1]!.nextSequence);
          expect(logs[0]!.firstSequence).toBe(logs[1]!.firstSequence);
          const query = build(view, calls).parameters;
          const [a, b] = await Promise.all(logs.map((log) => selectRange(log, query)));
          expect({ ...b!, events: plain(b!.events) }).toEqual({ ...a!, events: plain(a!.events) });
          const paged = [];
          for await (const page of evaluateRangeQuery(logs[1]!, query, pageSize)) paged.push(...page.events);
          expect(plain(paged)).toEqual(plain(b!.events));
          const seqs = a!.events.map((e) => e.sequence);
          for (const s of seqs) expect(s).toBeGreaterThanOrEqual(logs[0]!.firstSequence);
          if (view !== "values") expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
          else {
            const originals = a!.events.map((e) => e.originalSequence);
            expect(originals).toEqual([...originals].sort((x, y) => x - y));
          }
          expect(a!.events.length).toBeLessThanOrEqual(a!.selectedCount);
          expect(a!.isComplete).toBe(a!.events.length === a!.selectedCount);
        },
      ),
      { numRuns: 300, seed: 9 },
    );
  }, 60_000);
});
