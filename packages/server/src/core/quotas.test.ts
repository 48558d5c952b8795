/**
 * The accounting of the quotas (core/quotas.ts): a value counts against its last writer, a topic
 * against its creator, both until they go; a session's entry goes once it holds nothing.
 */
import { describe, expect, it } from "vitest";
import { Core } from "./core.js";
import type { Update } from "./types.js";

function newCore(quotas: Record<string, number> = {}): Core {
  return new Core({
    limits: { maxTopics: 1000, maxRequestBytes: 1000, removalSweepMs: 60_000, quotas },
  });
}

const retained = (topic: string, bytes: number, origin: string | undefined): Update => ({
  topic,
  payload: new Uint8Array(bytes),
  qos: 1,
  retain: true,
  properties: undefined,
  expiresAt: undefined,
  origin,
});

const mqttSpec = () => ({ type: "binary" as const, properties: { retention: "mqtt" as const } });

describe("quotas", () => {
  it("moves a value's charge to its last writer, frees it on clearing and removal, forgets empty sessions", () => {
    const core = newCore();
    const q = core.quotas;
    expect(core.publish(retained("a", 10, "s1"), { createSpec: mqttSpec }).ok).toBe(true);
    expect(q.holdingsOf("s1")).toMatchObject({ topics: 1, retained: 1, retainedBytes: 10 });
    expect(core.publish(retained("a", 4, "s2"), {}).ok).toBe(true);
    expect(q.holdingsOf("s1")).toMatchObject({ topics: 1, retained: 0, retainedBytes: 0 });
    expect(q.holdingsOf("s2")).toMatchObject({ topics: 0, retained: 1, retainedBytes: 4 });
    expect([q.retainedTopics, q.retainedBytes]).toEqual([1, 4]);
    expect(core.publish(retained("a", 0, "s2"), {}).ok).toBe(true); // cleared [MQTT-3.3.1-6]
    expect([q.retainedTopics, q.retainedBytes, q.sessionsHolding]).toEqual([0, 0, 1]);
    core.publish(retained("a", 7, "s2"), {});
    core.removeTopic("a");
    expect([q.retainedTopics, q.retainedBytes, q.sessionsHolding]).toEqual([0, 0, 0]);
    expect(core.facade.retainedCount()).toBe(0);
  });

  it("refuses only growth past a cap: a smaller value always fits; the server is never refused", () => {
    const core = newCore({ maxRetainedBytesPerSession: 10, maxRetainedTopics: 1 });
    core.publish(retained("a", 10, "s1"), { createSpec: mqttSpec });
    expect(core.publish(retained("a", 11, "s1"), {})).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(core.publish(retained("a", 3, "s1"), {}).ok).toBe(true);
    // A second topic: the server-wide count is full for sessions, not for the server.
    const refused = core.publish(retained("b", 1, "s1"), { createSpec: mqttSpec });
    expect(refused).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(core.topics.get("b")).toBeUndefined(); // no topic made for a refused value
    expect(core.publish(retained("$SYS/x", 5, undefined), { createSpec: mqttSpec }).ok).toBe(true);
    expect(core.metrics.get("skein_quota_refusals_total", { quota: "retained_topics" })).toBe(1);
    expect(core.metrics.get("skein_quota_refusals_total", { quota: "retained_bytes_per_session" })).toBe(1);
  });
});
