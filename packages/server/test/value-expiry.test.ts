/**
 * MQTT 5 Message Expiry of retained values runs from a timer wheel (issue 11; `core/value-expiry.ts`):
 * a value is cleared when it expires even if no subscriber ever reads it, so it stops holding memory
 * and its writer's retained quota. Checked against a reference model with random updates, in slices
 * when many expire at once, and end to end through MQTT 5 clients with a fake clock.
 */
import type { TopicSpecification } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { Core } from "../src/core/core.js";
import { DueQueue } from "../src/core/due-queue.js";
import { FakeClock } from "./fake-clock.js";
import { seeded } from "./seeded.js";
import { RawClient } from "./raw-client.js";
import { startSurvivalServer } from "./survival/canaries.js";

const RETAINED: TopicSpecification = { type: "binary", properties: { retention: "mqtt" } };
/** The wheel runs an entry at its time or up to its wake-up spacing later (100 ms). */
const LATE_MS = 100;

function coreAt(clock: FakeClock): Core {
  return new Core({
    clock,
    limits: { maxTopics: 100_000, maxRequestBytes: 1 << 20, removalSweepMs: 30_000 },
  });
}

function publish(core: Core, topic: string, payload: string, expiresAt: number | undefined): void {
  const result = core.publish(
    {
      topic,
      payload: Buffer.from(payload),
      qos: 1,
      retain: true,
      properties: undefined,
      expiresAt,
      origin: undefined,
    },
    { createSpec: () => RETAINED },
  );
  expect(result.ok).toBe(true);
}

describe("value expiry", () => {
  it("clears each value when it expires, and only then, against a model (random updates)", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seeded(seed);
      const clock = new FakeClock(1_000_000);
      const core = coreAt(clock);
      // path -> the value's expiry (Infinity: none); absent: no value.
      const model = new Map<string, number>();
      for (let step = 0; step < 400; step++) {
        const path = `t/${Math.floor(random() * 40)}`;
        const r = random();
        if (r < 0.5) {
          const at = clock.now() + 1 + Math.floor(random() * 5000);
          publish(core, path, `v${step}`, at);
          model.set(path, at);
        } else if (r < 0.65) {
          publish(core, path, `v${step}`, undefined);
          model.set(path, Infinity);
        } else if (r < 0.75) {
          publish(core, path, "", undefined); // an empty retained payload clears [MQTT-3.3.1-6]
          model.delete(path);
        } else if (r < 0.8) {
          core.removeTopic(path);
          model.delete(path);
        } else {
          clock.advance(Math.floor(random() * 1500));
        }
        const now = clock.now();
        for (const [p, at] of model) if (at <= now) model.delete(p); // the model forgets at once
        for (let i = 0; i < 40; i++) {
          const p = `t/${i}`;
          const value = core.topics.get(p)?.value;
          const at = model.get(p);
          if (at !== undefined) expect(value, `seed ${seed} step ${step} ${p}`).toBeDefined();
          // Gone from the model long enough ago: gone from the core too.
          else if (value?.expiresAt !== undefined)
            expect(value.expiresAt, `seed ${seed} step ${step} ${p}`).toBeGreaterThan(now - LATE_MS);
          else expect(value, `seed ${seed} step ${step} ${p}`).toBeUndefined();
        }
        let held = 0;
        let expiring = 0;
        for (let i = 0; i < 40; i++) {
          const value = core.topics.get(`t/${i}`)?.value;
          if (value) held++;
          if (value?.expiresAt !== undefined) expiring++;
        }
        expect(core.quotas.retainedTopics).toBe(held);
        expect(core.valueExpiry.size).toBe(expiring);
      }
      core.stop();
    }
  });

  it("clears many values that expire together over several timer turns", () => {
    const clock = new FakeClock(1_000_000);
    const arm = clock.setTimeout.bind(clock);
    let turns = 0;
    clock.setTimeout = (fn, ms) => {
      if (ms === 0) turns++;
      return arm(fn, ms);
    };
    const core = coreAt(clock);
    const n = 12_000;
    for (let i = 0; i < n; i++) publish(core, `many/${i}`, "x", clock.now() + 2000);
    publish(core, "kept", "x", undefined);
    clock.advance(2000 + LATE_MS);
    expect(core.quotas.retainedTopics).toBe(1);
    expect(core.metrics.get("skein_retained_expired_total")).toBe(n);
    expect(turns).toBeGreaterThanOrEqual(3); // 5,000 a turn at most
    core.stop();
  });

  it("works through a due queue a budget per turn", () => {
    const clock = new FakeClock(0);
    const done: number[] = [];
    let drained = 0;
    const queue = new DueQueue<number>(
      clock,
      10,
      (n) => (done.push(n), n % 2 === 0 ? 5 : 1),
      () => drained++,
    );
    for (let i = 0; i < 25; i++) queue.push(i);
    expect(queue.size).toBe(25);
    clock.advance(0);
    expect(done).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(drained).toBe(1);
    expect(queue.size).toBe(0);
  });
});

describe("value expiry through MQTT 5", () => {
  it("an expired retained message nobody read frees its writer's quota", async () => {
    const clock = new FakeClock();
    const s = await startSurvivalServer({ limits: { maxRetainedTopicsPerSession: 1 } }, { clock });
    try {
      const raw = await RawClient.connected(s.srv.addresses.mqtt!, 5);
      const retained = (topic: string, messageId: number, expiry?: number) =>
        ({
          cmd: "publish",
          topic,
          payload: Buffer.from("v"),
          qos: 1,
          messageId,
          retain: true,
          dup: false,
          ...(expiry ? { properties: { messageExpiryInterval: expiry } } : {}),
        }) as const;
      raw.send(retained("x/short", 1, 5));
      expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 1 });
      raw.send(retained("x/other", 2));
      expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 2, reasonCode: 0x97 });
      clock.advance(5_000 + LATE_MS);
      expect(s.counter("skein_retained_expired_total")).toBe(1);
      raw.send(retained("x/other", 3));
      const ack = await raw.next();
      expect(ack).toMatchObject({ cmd: "puback", messageId: 3 });
      expect((ack as { reasonCode?: number }).reasonCode ?? 0).toBe(0);
      raw.destroy();
    } finally {
      await s.close();
    }
  });
});
