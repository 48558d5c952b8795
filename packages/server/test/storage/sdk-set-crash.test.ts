/**
 * Crash test of SDK `set`s (issue 9 §3, docs/durability.md): SDK sessions set rising numbers, one
 * chain per persistent topic; the server (the built CLI on a sqlite data directory) is killed with
 * SIGKILL after a seeded random number of resolved `set`s, started again on the same directory,
 * checked, loaded again, killed again, three times. After each restart every topic is there, and its
 * value is the last one whose `set` resolved or a later one that was attempted, never an older one
 * (nor older than what an earlier restart showed). The seed is printed; `SKEIN_TEST_SEED` repeats a
 * run.
 */
import { describe, expect, it } from "vitest";
import type { Session } from "../../../sdk/src/index.js";
import { seeded, testSeed } from "../seeded.js";
import { chains, crashWorkDir, dropWriters, sdkKillRounds, loadUntilKilled } from "./crash-harness.js";

const { start, newDir } = crashWorkDir("skein-sdk-set-crash-");
const seed = testSeed("sdk-set-crash");
const KILLS = 3;
const CHAINS = 16;
const path = (k: number): string => `crash/set/${k}`;

describe("SDK sets under SIGKILL (skein CLI, sqlite)", () => {
  it(`keeps every value whose set resolved, never an older one (seed ${seed})`, async () => {
    const random = seeded(seed);
    const dataDir = newDir();
    const all = chains(CHAINS);
    // The lowest value each topic may hold: its last resolved set, or what a restart showed.
    const floor = all.map(() => -1);

    /** Reads the values after a restart and checks them against what was acknowledged. */
    const check = async (reader: Session): Promise<void> => {
      const { topics } = await reader.fetch("?crash/set//", { withValues: true, first: 100 });
      const values = new Map(topics.map((t) => [t.path, t.value]));
      // Every topic: each was added (and its addition answered) before the load.
      expect([...values.keys()].sort()).toEqual(all.map((c) => path(c.index)).sort());
      for (const chain of all) {
        const value = values.get(path(chain.index));
        const what = `${path(chain.index)} (acked ${floor[chain.index]}, sent ${chain.sent})`;
        if (floor[chain.index]! >= 0) expect(typeof value, what).toBe("bigint");
        if (value === undefined) continue;
        const v = Number(value as bigint);
        expect(v, what).toBeGreaterThanOrEqual(floor[chain.index]!);
        expect(v, what).toBeLessThanOrEqual(chain.sent);
        floor[chain.index] = v;
      }
    };

    await sdkKillRounds(
      () => start(dataDir),
      KILLS,
      check,
      async (sessions, skein, round) => {
        if (round === 0)
          await Promise.all(all.map((c) => sessions[0]!.topics.add(path(c.index), { type: "int64" })));
        await loadUntilKilled(
          skein,
          all,
          50 + Math.floor(random() * 400),
          async (chain, n) => {
            await sessions[chain.index % sessions.length]!.set(path(chain.index), "int64", BigInt(n));
            floor[chain.index] = n;
          },
          () => dropWriters(sessions),
        );
      },
    );
  }, 90_000);
});
