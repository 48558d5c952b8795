/**
 * Crash test of MQTT publishes into time series (issue 9 §3, docs/timeseries.md "From MQTT",
 * docs/durability.md): MQTT.js publishers of both MQTT versions write rising numbers into persistent
 * time series topics, one chain per series, each publish an appended event; the server (the built CLI
 * on a sqlite data directory) is killed with SIGKILL after a seeded random number of acknowledgements,
 * started again on the same directory, checked, loaded again, killed again, three times.
 *
 * - QoS 1 publishers (3.1.1 and 5, clean sessions) are dropped at each kill and never send again what
 *   they had in flight: after a restart every PUBACK'd publish is an event, each value once, in the
 *   order sent, and only a publish that was not acknowledged may be missing.
 * - QoS 2 publishers with kept sessions (3.1.1, and 5 with a Session Expiry Interval) stay the same
 *   MQTT.js clients across the kills: they reconnect to the restarted server and send again what they
 *   had in flight (the PUBLISH, or the PUBREL where its PUBREC came, some of them already committed
 *   with their PUBREC unseen) [MQTT-4.4.0-1]. Once every publish is PUBCOMP'd, every value sent is an
 *   event exactly once [MQTT-4.3.3-9]. MQTT.js 5.16 sends a stored PUBLISH again with DUP 0 (against
 *   [MQTT-3.3.1-1]); the server acknowledges it as a duplicate all the same (docs/mqtt.md).
 *
 * Every series' sequences run from 0 without a gap or a repeat, every value is whole (a long string
 * whose every byte is known), and what an earlier restart showed is still there as it was. The
 * series are read through the SDK and through MQTT 5 (`$timeseries/query/<path>`), which must agree.
 * The seed is printed; `SKEIN_TEST_SEED` repeats a run.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { connect, type Session } from "../../../sdk/src/index.js";
import { deafenable } from "../deaf-stream.js";
import { connectClient, waitFor } from "../helpers.js";
import type { RunningCli } from "../built-cli.js";
import { seeded, testSeed } from "../seeded.js";
import {
  type Chain,
  type SeenEvent,
  chains,
  crashWorkDir,
  expectDense,
  killRounds,
  loadUntilKilled,
  seenEvent,
} from "./crash-harness.js";

const { start, newDir } = crashWorkDir("skein-mqtt-ts-crash-");
const seed = testSeed("mqtt-timeseries-crash");
const KILLS = 3;
/** Chains per publisher: 2 x (QoS 1 v4, QoS 1 v5, QoS 2 v4 kept, QoS 2 v5 kept). */
const SERIES = 8;
const path = (k: number): string => `crash/mts/${k}`;
/** The value of number `n` in series `k`: long enough that a torn write would show. */
const valueOf = (k: number, n: number): string => `${k}:${n}:${"v".repeat(64 + ((n * 7) % 97))}`;

/** One publisher and the chains it writes. */
interface Publisher {
  readonly version: 4 | 5;
  readonly qos: 1 | 2;
  /** Kept session, same client across kills (QoS 2), or a clean one dropped at each kill (QoS 1). */
  readonly kept: boolean;
  client?: MqttClient;
  /** Kept: its connection drops what the server sends (set just before a kill). */
  deaf?: boolean;
  /** Kept: the server sent something it dropped. */
  heard?: boolean;
  /** Kept: its publishes not acknowledged yet. */
  inflight?: number;
}

/** An event as both doors show it. */
type Seen = SeenEvent;

describe("MQTT publishes into time series under SIGKILL (skein CLI, sqlite)", () => {
  it(`keeps every acknowledged QoS 1/2 publish as one event, sequences dense, QoS 2 resends once (seed ${seed})`, async () => {
    const random = seeded(seed);
    const dataDir = newDir();
    const all = chains(SERIES);
    const publishers: Publisher[] = [
      { version: 4, qos: 1, kept: false },
      { version: 5, qos: 1, kept: false },
      { version: 4, qos: 2, kept: true },
      { version: 5, qos: 2, kept: true },
    ];
    const publisherOf = (chain: Chain): Publisher => publishers[chain.index % publishers.length]!;
    // Per chain: the numbers acknowledged; the numbers in flight at a kill and never sent again.
    const acked = all.map(() => new Set<number>());
    const unacked = all.map(() => new Set<number>());
    // QoS 2 publishes in flight at a kill: their clients send them again after the restart.
    let resent: { chain: Chain; n: number; done: Promise<void> }[] = [];
    const failures: string[] = [];
    const seen = all.map((): Seen[] => []);
    // The port the kept publishers connect to (they reconnect to each restarted server).
    let port = 0;

    /**
     * The outcome of a QoS 2 publish sent again after a restart: no error. A PUBLISH whose id the
     * server kept gets PUBREC 0x00 and is not appended again; a PUBREL whose id was released already
     * (committed, killed before its PUBCOMP went out) gets PUBCOMP 0x00 (docs/mqtt.md).
     */
    const afterResend = (what: string, err: unknown): void => {
      if (err !== undefined) failures.push(`${what} (sent again): ${String(err)}`);
    };

    /** Waits (bounded) for the kept publishers to complete what they had in flight at the kill. */
    const completeResends = async (): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`resends not completed: ${resent.length}`)), 15_000);
      });
      try {
        await Promise.race([Promise.all(resent.map((r) => r.done)), late]);
      } finally {
        clearTimeout(timer);
      }
      for (const { chain, n } of resent) acked[chain.index]!.add(n);
      resent = [];
    };

    /** Runs `{}` (every value) on `$timeseries/query/<path>` for each series, over MQTT 5. */
    const queryOverMqtt = async (skein: RunningCli): Promise<Seen[][]> => {
      const asker = await connectClient(skein.mqttUrl, { protocolVersion: 5 });
      try {
        const answers = new Map<string, Buffer>();
        asker.on("message", (_t, payload, packet) => {
          const id = packet.properties?.correlationData?.toString();
          if (id !== undefined) answers.set(id, payload);
        });
        await asker.subscribeAsync("crash/mts-answers", { qos: 1 });
        const out: Seen[][] = [];
        for (const chain of all) {
          const id = String(chain.index);
          await asker.publishAsync(`$timeseries/query/${path(chain.index)}`, "{}", {
            qos: 1,
            properties: { responseTopic: "crash/mts-answers", correlationData: Buffer.from(id) },
          });
          for (let i = 0; !answers.has(id) && i < 3000; i++) await new Promise((r) => setTimeout(r, 5));
          const answer = answers.get(id);
          expect(answer?.length, `MQTT answer for ${path(chain.index)}`).toBeGreaterThan(0);
          const json = JSON.parse(answer!.toString()) as { isComplete: boolean; events: Seen[] };
          expect(json.isComplete, path(chain.index)).toBe(true);
          out.push(
            json.events.map(({ sequence, timestamp, value, isEdit, originalSequence }) => ({
              sequence,
              timestamp,
              value,
              isEdit,
              originalSequence,
            })),
          );
        }
        return out;
      } finally {
        await asker.endAsync(true);
      }
    };

    /** After a restart: completes the resends, reads every series and checks it. */
    const check = async (skein: RunningCli): Promise<void> => {
      port = skein.listening.mqtt as number;
      await completeResends();
      expect(failures).toEqual([]);
      const reader = await connect(skein.sdkUrl, { reconnect: false });
      const overMqtt = await queryOverMqtt(skein);
      try {
        for (const chain of all) {
          const k = chain.index;
          const { qos, kept } = publisherOf(chain);
          const what = `${path(k)} QoS ${qos}${kept ? " kept" : ""} (sent ${chain.sent})`;
          const result = await reader.timeseries.rangeQuery().fromStart().as("string").selectFrom(path(k));
          expect(result.isComplete, what).toBe(true);
          const events: Seen[] = result.events.map(seenEvent);
          // Both doors show the same events.
          expect(overMqtt[k], what).toEqual(events);
          // Sequences from 0, contiguous, no repeat; no edits were made.
          expectDense(events, what, true);
          // Every value whole: the value of the number it names.
          const numbers = events.map((e) => Number(e.value.split(":")[1]));
          expect(
            events.map((e) => e.value),
            what,
          ).toEqual(numbers.map((n) => valueOf(k, n)));
          if (kept) {
            // QoS 2 with resends: everything sent, each exactly once, in order.
            expect(numbers, what).toEqual(Array.from({ length: chain.sent + 1 }, (_, i) => i));
          } else {
            // QoS 1, nothing sent again: in the order sent, none twice; missing only if unacknowledged.
            for (let i = 1; i < numbers.length; i++)
              expect(numbers[i]!, what).toBeGreaterThan(numbers[i - 1]!);
            const present = new Set(numbers);
            for (let n = 0; n <= chain.sent; n++)
              if (!present.has(n)) expect(unacked[k]!.has(n), `${what}: ${n} is missing`).toBe(true);
            for (const n of acked[k]!) expect(present.has(n), `${what}: acknowledged ${n}`).toBe(true);
          }
          // What an earlier restart showed is still there, as it was.
          expect(events.slice(0, seen[k]!.length), what).toEqual(seen[k]);
          seen[k] = events;
        }
      } finally {
        await reader.close();
      }
    };

    /** A kept publisher's client: MQTT.js reconnecting to whichever server runs now, resending. */
    const keptClient = (p: Publisher): MqttClient => {
      const options: IClientOptions = {
        clientId: `crash-mts-kept-${p.version}`,
        protocolVersion: p.version,
        clean: false,
        reconnectPeriod: 50,
        connectTimeout: 5000,
        ...(p.version === 5 && { properties: { sessionExpiryInterval: 3600 } }),
      };
      const client = new mqtt.MqttClient(
        () =>
          deafenable(
            port,
            () => p.deaf === true,
            () => (p.heard = true),
          ),
        options,
      );
      client.on("error", () => {}); // refused connections while the server is down
      return client;
    };

    try {
      await killRounds(
        () => start(dataDir),
        KILLS,
        check,
        async (skein, round) => {
          port = skein.listening.mqtt as number;
          if (round === 0) {
            const session: Session = await connect(skein.sdkUrl, { reconnect: false });
            await Promise.all(
              all.map((c) =>
                session.topics.add(path(c.index), {
                  type: "time-series",
                  properties: { eventType: "string" },
                }),
              ),
            );
            await session.close();
          }
          for (const p of publishers) {
            if (p.kept) {
              p.client ??= keptClient(p);
              if (!p.client.connected)
                await new Promise<void>((resolve) => p.client!.once("connect", () => resolve()));
            } else {
              p.client = await connectClient(skein.mqttUrl, { protocolVersion: p.version });
              p.client.on("error", () => {});
            }
          }
          await loadUntilKilled(
            skein,
            all,
            40 + Math.floor(random() * 360),
            async (chain, n) => {
              const p = publisherOf(chain);
              const publish = p.client!.publishAsync(path(chain.index), valueOf(chain.index, n), {
                qos: p.qos,
              });
              if (!p.kept) {
                try {
                  await publish;
                } catch (err) {
                  unacked[chain.index]!.add(n);
                  throw err;
                }
              } else {
                const what = `${path(chain.index)} ${n}`;
                p.inflight = (p.inflight ?? 0) + 1;
                const outcome = publish.then(
                  () => undefined,
                  (err: unknown) => err,
                );
                void outcome.then(() => p.inflight!--);
                const first = await Promise.race([outcome.then(() => true), skein.exited.then(() => false)]);
                if (!first) {
                  resent.push({ chain, n, done: outcome.then((err) => afterResend(what, err)) });
                  throw new Error("killed before PUBCOMP: sent again after the restart");
                }
                const err = await outcome;
                if (err !== undefined) failures.push(`${what}: ${String(err)}`);
              }
              acked[chain.index]!.add(n);
            },
            () => publishers.filter((p) => !p.kept).forEach((p) => p.client?.end(true)),
            // The kept publishers stop hearing the server; the kill comes once it sent each something
            // more (a PUBREC after its commit, or a PUBCOMP) that they will not have seen: they send
            // those PUBLISHes (or PUBRELs) again after the restart.
            async () => {
              const kept = publishers.filter((p) => p.kept);
              for (const p of kept) p.deaf = true;
              const done = (p: Publisher): boolean => p.heard === true || p.inflight === 0;
              await waitFor(() => kept.every(done), "the server's answers while deaf").catch(() => undefined);
            },
          );
          for (const p of publishers) p.deaf = p.heard = false;
        },
      );
    } finally {
      await Promise.all(publishers.map((p) => p.client?.endAsync(true).catch(() => undefined)));
    }
  }, 90_000);
});
