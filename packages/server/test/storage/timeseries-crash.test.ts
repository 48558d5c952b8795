/**
 * Crash test of time series appends (issue 9 §3, docs/durability.md): SDK sessions append rising
 * numbers, one chain per persistent series, through `session.timeseries.append`; the server (the built
 * CLI on a sqlite data directory) is killed with SIGKILL after a seeded random number of resolved
 * appends, started again on the same directory, checked, loaded again, killed again, three times.
 * After each restart every series holds events with sequences 0, 1, 2, ... without a gap or a
 * repeat; every event whose append resolved is there with the sequence it was given and its value;
 * no value appears twice (each was sent once), none that was not sent, in the order sent; and what
 * an earlier restart showed is still there as it was. The seed is printed; `SKEIN_TEST_SEED` repeats a
 * run.
 */
import { describe, expect, it } from "vitest";
import type { Session } from "../../../sdk/src/index.js";
import { seeded, testSeed } from "../seeded.js";
import {
  chains,
  crashWorkDir,
  dropWriters,
  expectDense,
  loadUntilKilled,
  sdkKillRounds,
} from "./crash-harness.js";

const { start, newDir } = crashWorkDir("skein-ts-crash-");
const seed = testSeed("timeseries-crash");
const KILLS = 3;
const SERIES = 12;
const path = (k: number): string => `crash/ts/${k}`;

describe("time series appends under SIGKILL (skein CLI, sqlite)", () => {
  it(`keeps every event whose append resolved, with its sequence, sequences contiguous, none twice (seed ${seed})`, async () => {
    const random = seeded(seed);
    const dataDir = newDir();
    const all = chains(SERIES);
    // Per series: the sequence each acknowledged value was given, and the values found at the last check.
    const acked = all.map(() => new Map<number, number>());
    const seen = all.map((): number[] => []);

    /** Reads every series after a restart and checks it against what was acknowledged. */
    const check = async (reader: Session): Promise<void> => {
      for (const chain of all) {
        const k = chain.index;
        const what = `${path(k)} (acked ${chain.acked}, sent ${chain.sent})`;
        const result = await reader.timeseries.rangeQuery().fromStart().as("int64").selectFrom(path(k));
        expect(result.isComplete, what).toBe(true);
        const events = result.events;
        // Sequences from 0, contiguous, no repeat; no edits were made.
        expectDense(events, what, true);
        const values = events.map((e) => Number(e.value));
        // Each value was sent once, in rising order: a repeat or a reordering shows as not rising.
        for (let i = 1; i < values.length; i++) expect(values[i]!, what).toBeGreaterThan(values[i - 1]!);
        if (values.length > 0) expect(values[values.length - 1]!, what).toBeLessThanOrEqual(chain.sent);
        // Every acknowledged event, with its sequence and value.
        for (const [value, sequence] of acked[k]!)
          expect(values[sequence], `${what} #${sequence}`).toBe(value);
        // What an earlier restart showed is still there.
        expect(values.slice(0, seen[k]!.length), what).toEqual(seen[k]);
        seen[k] = values;
      }
    };

    await sdkKillRounds(
      () => start(dataDir),
      KILLS,
      check,
      async (sessions, skein, round) => {
        if (round === 0)
          await Promise.all(
            all.map((c) =>
              sessions[0]!.topics.add(path(c.index), {
                type: "time-series",
                properties: { eventType: "int64" },
              }),
            ),
          );
        await loadUntilKilled(
          skein,
          all,
          50 + Math.floor(random() * 400),
          async (chain, n) => {
            const session = sessions[chain.index % sessions.length]!;
            const { sequence } = await session.timeseries.append(path(chain.index), "int64", BigInt(n));
            acked[chain.index]!.set(n, sequence);
          },
          () => dropWriters(sessions),
        );
      },
    );
  }, 90_000);
});
