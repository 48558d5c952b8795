/**
 * Crash test of retained MQTT publishes (issue 9 §3, docs/durability.md): publishers of both MQTT
 * versions write rising numbers as QoS 1 retained messages, one chain per topic; the server (the built
 * CLI on a sqlite data directory) is killed with SIGKILL after a seeded random number of PUBACKs,
 * started again on the same directory, checked, loaded again, killed again, three times. After each
 * restart the retained value of every topic is its last acknowledged number or a later one that was
 * sent, never an older one (nor older than what an earlier restart showed). The seed is printed;
 * `SKEIN_TEST_SEED` repeats a run.
 */
import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { collect, connectClient, roundTrip, waitFor } from "../helpers.js";
import type { RunningCli } from "../built-cli.js";
import { seeded, testSeed } from "../seeded.js";
import { chains, crashWorkDir, killRounds, loadUntilKilled } from "./crash-harness.js";

const { start, newDir } = crashWorkDir("skein-retained-crash-");
const seed = testSeed("retained-crash");
const KILLS = 3;
const topic = (k: number): string => `crash/r/${k}`;

describe("retained MQTT publishes under SIGKILL (skein CLI, sqlite)", () => {
  it(`keeps every acknowledged retained value, never an older one (seed ${seed})`, async () => {
    const random = seeded(seed);
    const dataDir = newDir();
    const all = chains(16);
    // The lowest value each topic may hold: its last acknowledged one, or what a restart showed.
    const floor = all.map(() => -1);

    /** Reads the retained values after a restart and checks them against what was acknowledged. */
    const check = async (skein: RunningCli, version: 4 | 5): Promise<void> => {
      const reader = await connectClient(skein.mqttUrl, { protocolVersion: version });
      const got = collect(reader);
      await reader.subscribeAsync("crash/r/#", { qos: 1 });
      const expected = floor.filter((v) => v >= 0).length;
      await waitFor(() => got.length >= expected, "the retained values", 15_000);
      await roundTrip(reader);
      // One retained message per topic that has one, and nothing else.
      expect(got.every((m) => m.packet.retain)).toBe(true);
      const retained = new Map(got.map((m) => [m.topic, Number(m.payload.toString())]));
      expect(retained.size).toBe(got.length);
      for (const chain of all) {
        const v = retained.get(topic(chain.index));
        const what = `${topic(chain.index)} (acked ${floor[chain.index]}, sent ${chain.sent})`;
        if (floor[chain.index]! >= 0) expect(v, what).toBeGreaterThanOrEqual(floor[chain.index]!);
        if (v !== undefined) {
          expect(v, what).toBeLessThanOrEqual(chain.sent);
          floor[chain.index] = v;
        }
      }
      await reader.endAsync();
    };

    await killRounds(
      () => start(dataDir),
      KILLS,
      (skein, round) => check(skein, round % 2 === 0 ? 5 : 4),
      async (skein) => {
        const publishers: MqttClient[] = [];
        for (const protocolVersion of [4, 5, 4, 5] as const) {
          const c = await connectClient(skein.mqttUrl, { protocolVersion });
          c.on("error", () => {});
          publishers.push(c);
        }
        await loadUntilKilled(
          skein,
          all,
          50 + Math.floor(random() * 400),
          async (chain, n) => {
            await publishers[chain.index % publishers.length]!.publishAsync(topic(chain.index), String(n), {
              qos: 1,
              retain: true,
            });
            floor[chain.index] = n;
          },
          () => publishers.forEach((c) => c.end(true)),
        );
      },
    );
  }, 90_000);
});
