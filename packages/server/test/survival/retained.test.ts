/**
 * Survival (issue 14 §4, floods): retained values are capped globally (`limits.maxRetainedTopics`,
 * `limits.maxRetainedBytes`) and per session (`limits.maxRetainedTopicsPerSession`,
 * `limits.maxRetainedBytesPerSession`). A value counts against the session that wrote it last until it
 * is replaced, cleared or removed with its topic. Past a cap: MQTT 5 QoS 1/2 get PUBACK/PUBREC 0x97
 * Quota exceeded; QoS 0 and 3.1.1 are dropped and counted (3.1.1 acknowledged, [MQTT-3.3.5-2]); an SDK
 * `set` or `addAndSet` gets RATE_LIMITED. Updating one's own value within the caps keeps working,
 * and clearing a value (an empty retained payload) frees its place.
 */
import { connect } from "@skein/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { collect, connectClient, roundTrip } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { startSurvivalServer, type SurvivalServer } from "./canaries.js";

let s: SurvivalServer | undefined;
afterEach(async () => s?.close());

const QUOTA_EXCEEDED = 0x97;

/** A retained PUBLISH of a raw client. */
const retained = (topic: string, payload: string, messageId: number, qos: 0 | 1 | 2 = 1) =>
  ({
    cmd: "publish",
    topic,
    payload: Buffer.from(payload),
    qos,
    messageId,
    retain: true,
    dup: false,
  }) as const;

/** The retained values a new MQTT subscriber to `filter` is given, by topic. */
async function retainedUnder(srv: SurvivalServer, filter: string): Promise<Record<string, string>> {
  const reader = await connectClient(srv.srv.url(), { protocolVersion: 5 });
  const seen = collect(reader);
  await reader.subscribeAsync(filter, { qos: 1 });
  await roundTrip(reader);
  await reader.endAsync();
  return Object.fromEntries(seen.map((m) => [m.topic, m.payload.toString()]));
}

describe("retained values per session", () => {
  it("MQTT 5: past the topic cap, PUBACK/PUBREC 0x97; own updates work; clearing frees a place", async () => {
    s = await startSurvivalServer({ limits: { maxRetainedTopicsPerSession: 3 } });
    const raw = await RawClient.connected(s.srv.addresses.mqtt!, 5);
    for (let id = 1; id <= 3; id++) {
      raw.send(retained(`r/${id}`, `v${id}`, id));
      expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: id });
    }
    raw.send(retained("r/4", "v4", 4));
    expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 4, reasonCode: QUOTA_EXCEEDED });
    raw.send(retained("r/4", "v4", 5, 2));
    expect(await raw.next()).toMatchObject({ cmd: "pubrec", messageId: 5, reasonCode: QUOTA_EXCEEDED });
    // Its own value, updated: within the cap.
    raw.send(retained("r/1", "v1-again", 6));
    expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 6 });
    // An empty retained payload clears r/2 [MQTT-3.3.1-6]: room for r/4.
    raw.send(retained("r/2", "", 7));
    expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 7 });
    raw.send(retained("r/4", "v4", 8));
    const ack = await raw.next();
    expect(ack).toMatchObject({ cmd: "puback", messageId: 8 });
    expect((ack as { reasonCode?: number }).reasonCode ?? 0).toBe(0);
    expect(await retainedUnder(s, "r/#")).toEqual({ "r/1": "v1-again", "r/3": "v3", "r/4": "v4" });
    expect(s.counter("skein_quota_refusals_total", { quota: "retained_topics_per_session" })).toBe(2);
    expect(s.counter("mqtt_publishes_refused_total", { reason: "0x97" })).toBe(2);
    raw.destroy();
    await s.canariesAlive();
  });

  it("MQTT 5: past the byte cap, 0x97; a value replaced by a smaller one frees its bytes", async () => {
    s = await startSurvivalServer({ limits: { maxRetainedBytesPerSession: 100 } });
    const client = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await client.publishAsync("b/1", "x".repeat(60), { qos: 1, retain: true });
    await expect(client.publishAsync("b/2", "y".repeat(50), { qos: 1, retain: true })).rejects.toMatchObject({
      code: QUOTA_EXCEEDED,
    });
    await client.publishAsync("b/1", "x".repeat(100), { qos: 1, retain: true }); // its own: 100 in all
    await expect(client.publishAsync("b/1", "x".repeat(101), { qos: 1, retain: true })).rejects.toMatchObject(
      {
        code: QUOTA_EXCEEDED,
      },
    );
    await client.publishAsync("b/1", "x".repeat(10), { qos: 1, retain: true });
    await client.publishAsync("b/2", "y".repeat(50), { qos: 1, retain: true });
    expect(await retainedUnder(s, "b/#")).toEqual({ "b/1": "x".repeat(10), "b/2": "y".repeat(50) });
    expect(s.counter("skein_quota_refusals_total", { quota: "retained_bytes_per_session" })).toBe(2);
    await client.endAsync();
    await s.canariesAlive();
  });

  it("QoS 0 and MQTT 3.1.1 past the cap: dropped and counted, 3.1.1 acknowledged [MQTT-3.3.5-2]", async () => {
    s = await startSurvivalServer({ limits: { maxRetainedTopicsPerSession: 1 } });
    const watcher = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await watcher.subscribeAsync("q/#", { qos: 1 });
    const seen = collect(watcher);
    const v311 = await connectClient(s.srv.url(), { protocolVersion: 4 });
    await v311.publishAsync("q/a", "kept", { qos: 1, retain: true });
    await v311.publishAsync("q/b", "over", { qos: 1, retain: true }); // acknowledged, not kept or sent
    const v5 = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await v5.publishAsync("q/c", "kept", { qos: 1, retain: true });
    await v5.publishAsync("q/d", "over", { qos: 0, retain: true });
    await roundTrip(v311, v5, watcher);
    expect(seen.map((m) => m.topic).sort()).toEqual(["q/a", "q/c"]);
    expect(await retainedUnder(s, "q/#")).toEqual({ "q/a": "kept", "q/c": "kept" });
    expect(v311.connected).toBe(true);
    expect(s.counter("skein_quota_refusals_total", { quota: "retained_topics_per_session" })).toBe(2);
    expect(s.counter("mqtt_publishes_refused_total", { reason: "0x97" })).toBe(2);
    for (const c of [watcher, v311, v5]) await c.endAsync();
    await s.canariesAlive();
  });

  it("SDK: a set or addAndSet past the cap gets RATE_LIMITED and creates no topic", async () => {
    s = await startSurvivalServer({ limits: { maxRetainedTopicsPerSession: 2 } });
    const session = await connect(s.sdkUrl, { reconnect: false });
    await session.topics.addAndSet("sdk/a", { type: "string" }, "a");
    await session.topics.add("sdk/b", { type: "string" });
    await session.set("sdk/b", "string", "b");
    await session.topics.add("sdk/c", { type: "string" }); // a topic without a value holds nothing
    await expect(session.set("sdk/c", "string", "c")).rejects.toMatchObject({ code: "RATE_LIMITED" });
    await expect(session.topics.addAndSet("sdk/d", { type: "string" }, "d")).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
    await session.set("sdk/a", "string", "a2"); // its own value: within the cap
    const page = await session.fetch(">sdk//", { withValues: true });
    expect(page.topics.map((t) => [t.path, t.value])).toEqual([
      ["sdk/a", "a2"],
      ["sdk/b", "b"],
      ["sdk/c", undefined],
    ]);
    // Removing a topic frees its value's place.
    await session.topics.remove(">sdk/b");
    await session.set("sdk/c", "string", "c");
    expect(s.counter("skein_quota_refusals_total", { quota: "retained_topics_per_session" })).toBe(2);
    await session.close();
    await s.canariesAlive();
  });
});

describe("retained values server-wide", () => {
  it("past the global topic and byte caps, every session is refused; the server's own values are not", async () => {
    s = await startSurvivalServer({
      limits: { maxRetainedTopics: 4, maxRetainedBytes: 1000, sysIntervalMs: 0 },
    });
    const a = await connectClient(s.srv.url(), { protocolVersion: 5 });
    const b = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await a.publishAsync("g/a1", "1", { qos: 1, retain: true });
    await a.publishAsync("g/a2", "2", { qos: 1, retain: true });
    await b.publishAsync("g/b1", "3", { qos: 1, retain: true });
    await b.publishAsync("g/b2", "4", { qos: 1, retain: true });
    await expect(b.publishAsync("g/b3", "5", { qos: 1, retain: true })).rejects.toMatchObject({
      code: QUOTA_EXCEEDED,
    });
    const session = await connect(s.sdkUrl, { reconnect: false });
    await expect(session.topics.addAndSet("g/sdk", { type: "string" }, "x")).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
    // Replacing a value with a larger one, past the global bytes.
    await expect(a.publishAsync("g/a1", "z".repeat(1000), { qos: 1, retain: true })).rejects.toMatchObject({
      code: QUOTA_EXCEEDED,
    });
    await a.publishAsync("g/a1", "", { qos: 1, retain: true }); // cleared: one place free
    await b.publishAsync("g/b3", "5", { qos: 1, retain: true });
    expect(s.counter("skein_quota_refusals_total", { quota: "retained_topics" })).toBe(2);
    expect(s.counter("skein_quota_refusals_total", { quota: "retained_bytes" })).toBe(1);
    expect(s.srv.server.metrics.get("skein_retained_bytes")).toBe(4);
    await session.close();
    for (const c of [a, b]) await c.endAsync();
    await s.canariesAlive();
  });
});
