/**
 * Crash test of time series edits (issue 9 §3, docs/timeseries.md "Edits", docs/durability.md): each
 * persistent series starts with 100 original events; then SDK sessions edit them, one chain of rising
 * numbers per series through `session.timeseries.edit` (each edit of an original picked by its number,
 * most of them outside the RAM window of recent events, so read from the store), while another chain
 * appends to the same series. The server (the built CLI on a sqlite data directory) is killed with
 * SIGKILL after a seeded random number of resolved edits and appends, started again on the same
 * directory, checked, loaded again, killed again, three times.
 *
 * After each restart, in the "all edits" view of every series: sequences run from 0 without a gap or a
 * repeat; every edit and append whose promise resolved is there with the sequence it was given, the
 * edit naming its original; every value is whole (a long string whose every byte is known) and was
 * sent once, in the order sent; one whose promise did not resolve is there whole or not at all. The
 * "values" view shows each original as its latest edit (the edit's sequence, `originalSequence` the
 * original's), at least as late as its last acknowledged edit, or the original itself when it has
 * none. What an earlier restart showed is still there as it was. The seed is printed;
 * `SKEIN_TEST_SEED` repeats a run.
 */
import { describe, expect, it } from "vitest";
import type { Session } from "../../../sdk/src/index.js";
import { seeded, testSeed } from "../seeded.js";
import {
  type Chain,
  type SeenEvent,
  chains,
  crashWorkDir,
  dropWriters,
  expectDense,
  loadUntilKilled,
  sdkKillRounds,
  seenEvent,
} from "./crash-harness.js";

const { start, newDir } = crashWorkDir("skein-ts-edit-crash-");
const seed = testSeed("timeseries-edit-crash");
const KILLS = 3;
const SERIES = 6;
/** Original events of each series before the load: sequences 0..ORIGINALS-1. */
const ORIGINALS = 100;
const path = (k: number): string => `crash/tse/${k}`;
/** A value: its kind (o: original, a: appended, e: edit), series and number, padded so that a torn write would show. */
const valueOf = (kind: "o" | "a" | "e", k: number, n: number): string =>
  `${kind}:${k}:${n}:${"v".repeat(64 + ((n * 7) % 97))}`;
/** The original that edit number `n` edits. */
const targetOf = (n: number): number => (n * 37) % ORIGINALS;

/** An event as the checks compare it. */
type Seen = SeenEvent;

describe("time series edits under SIGKILL (skein CLI, sqlite)", () => {
  it(`keeps every edit whose promise resolved, as the latest value of its original, nothing torn (seed ${seed})`, async () => {
    const random = seeded(seed);
    const dataDir = newDir();
    // Chains 0..SERIES-1 edit series k; chains SERIES..2*SERIES-1 append to series k - SERIES.
    const all = chains(2 * SERIES);
    const edits = all.slice(0, SERIES);
    const appends = all.slice(SERIES);
    // Per chain: the sequence each acknowledged number was given.
    const acked = all.map(() => new Map<number, number>());
    const seen = edits.map((): Seen[] => []);

    /** Reads every series after a restart and checks it against what was acknowledged. */
    const check = async (reader: Session): Promise<void> => {
      for (let k = 0; k < SERIES; k++) {
        const edit = edits[k]!;
        const append = appends[k]!;
        const what = `${path(k)} (edits sent ${edit.sent}, appends sent ${append.sent})`;
        const q = reader.timeseries.rangeQuery().as("string");
        const result = await q.forEdits().fromStart().selectFrom(path(k));
        expect(result.isComplete, what).toBe(true);
        const events: Seen[] = result.events.map(seenEvent);
        // Sequences from 0, contiguous, no repeat.
        expectDense(events, what, false);
        // Every value whole: the value of the kind and number it names, in its series.
        const named = events.map((e) => {
          const [kind, , n] = e.value.split(":");
          return { kind: kind as "o" | "a" | "e", n: Number(n) };
        });
        expect(
          events.map((e) => e.value),
          what,
        ).toEqual(named.map((v) => valueOf(v.kind, k, v.n)));
        // The first ORIGINALS are the originals, as appended before the load.
        expect(
          named.slice(0, ORIGINALS).map((v) => `${v.kind}${v.n}`),
          what,
        ).toEqual(Array.from({ length: ORIGINALS }, (_, i) => `o${i}`));
        // Originals are originals; edits are of the original their number picks.
        for (const [i, e] of events.entries()) {
          const v = named[i]!;
          expect(e.isEdit, `${what} #${e.sequence}`).toBe(v.kind === "e");
          expect(e.originalSequence, `${what} #${e.sequence}`).toBe(
            v.kind === "e" ? targetOf(v.n) : e.sequence,
          );
        }
        // Each chain's numbers: sent once, in order; every acknowledged one at its sequence.
        for (const [kind, chain] of [
          ["e", edit],
          ["a", append],
        ] as const) {
          const mine = events.filter((_, i) => named[i]!.kind === kind);
          const numbers = mine.map((e) => Number(e.value.split(":")[2]));
          for (let i = 1; i < numbers.length; i++)
            expect(numbers[i]!, `${what} ${kind}`).toBeGreaterThan(numbers[i - 1]!);
          if (numbers.length > 0) expect(numbers.at(-1)!, `${what} ${kind}`).toBeLessThanOrEqual(chain.sent);
          for (const [n, sequence] of acked[chain.index]!)
            expect(events[sequence]?.value, `${what} ${kind} ${n} at #${sequence}`).toBe(valueOf(kind, k, n));
        }
        // The values view: each original as its latest edit, or itself.
        const latest = new Map<number, Seen>();
        for (const e of events) if (e.isEdit) latest.set(e.originalSequence, e);
        const expected = events.filter((e) => !e.isEdit).map((e) => latest.get(e.sequence) ?? e);
        const values = await q.forValues().fromStart().selectFrom(path(k));
        expect(values.isComplete, what).toBe(true);
        expect(
          values.events.map((e) => ({
            sequence: e.sequence,
            timestamp: e.timestamp,
            value: e.value,
            isEdit: e.isEdit,
            originalSequence: e.originalSequence,
          })),
          `${what} values`,
        ).toEqual(expected);
        // ... at least as late as the last acknowledged edit of each original.
        const lastAcked = new Map<number, number>();
        for (const n of [...acked[edit.index]!.keys()].sort((a, b) => a - b)) lastAcked.set(targetOf(n), n);
        for (const [original, n] of lastAcked) {
          const shown = latest.get(original);
          expect(shown, `${what} original ${original}`).toBeDefined();
          expect(Number(shown!.value.split(":")[2]), `${what} original ${original}`).toBeGreaterThanOrEqual(
            n,
          );
        }
        // What an earlier restart showed is still there, as it was.
        expect(events.slice(0, seen[k]!.length), what).toEqual(seen[k]);
        seen[k] = events;
      }
    };

    await sdkKillRounds(
      () => start(dataDir),
      KILLS,
      check,
      async (sessions, skein, round) => {
        if (round === 0) {
          const s = sessions[0]!;
          for (let k = 0; k < SERIES; k++)
            await s.topics.add(path(k), { type: "time-series", properties: { eventType: "string" } });
          // One session's appends are handled in the order sent: sequences 0..ORIGINALS-1.
          const given = await Promise.all(
            Array.from({ length: SERIES * ORIGINALS }, (_, i) =>
              s.timeseries.append(
                path(i % SERIES),
                "string",
                valueOf("o", i % SERIES, Math.floor(i / SERIES)),
              ),
            ),
          );
          expect(given.map((g) => g.sequence)).toEqual(
            Array.from({ length: SERIES * ORIGINALS }, (_, i) => Math.floor(i / SERIES)),
          );
        }
        await loadUntilKilled(
          skein,
          all,
          50 + Math.floor(random() * 350),
          async (chain: Chain, n) => {
            const session = sessions[chain.index % sessions.length]!;
            const { sequence } =
              chain.index < SERIES
                ? await session.timeseries.edit(
                    path(chain.index),
                    "string",
                    targetOf(n),
                    valueOf("e", chain.index, n),
                  )
                : await session.timeseries.append(
                    path(chain.index - SERIES),
                    "string",
                    valueOf("a", chain.index - SERIES, n),
                  );
            acked[chain.index]!.set(n, sequence);
          },
          () => dropWriters(sessions),
        );
      },
    );
  }, 90_000);
});
