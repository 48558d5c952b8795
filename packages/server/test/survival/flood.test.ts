/**
 * Survival (issue 14 §4, item 3): floods past configured rates. Publishes from one session past
 * `limits.publishesPerSecondPerSession` (burst `limits.publishBurstPerSession`): MQTT 5 gets DISCONNECT
 * 0x96 Message rate too high (MQTT 5 §3.14.2.1), 3.1.1 is closed, an SDK update gets RATE_LIMITED and
 * the session stays. Connections from one address past `limits.connectionsPerSecondPerAddress` (burst
 * `limits.connectionBurstPerAddress`) are refused on both doors (a TCP socket closed, a WebSocket
 * upgrade answered 429). The FakeClock refills the buckets; nothing sleeps. Topics one session created
 * that still exist are capped (`limits.maxTopicsPerSession`): past it, a PUBLISH that would create a
 * topic gets 0x97 Quota exceeded and an SDK add or addAndSet RATE_LIMITED (retained values have their
 * own caps: retained.test.ts).
 */
import { errorCodeNumber } from "@skein/protocol";
import { connect } from "@skein/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { connectClient } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { openRaw, openSession } from "../sdk/raw-sdk.js";
import { startSurvivalServer, type SurvivalServer } from "./canaries.js";

let s: SurvivalServer | undefined;
afterEach(async () => s?.close());

const publish = (id: number) =>
  ({
    cmd: "publish",
    topic: "flood/t",
    payload: Buffer.from("x"),
    qos: 1,
    messageId: id,
    retain: false,
    dup: false,
  }) as const;

describe("publish rate per session", () => {
  const limits = { publishesPerSecondPerSession: 10, publishBurstPerSession: 5 };

  it("MQTT 5: past the burst, DISCONNECT 0x96; the rate refills from the clock", async () => {
    const clock = new FakeClock();
    s = await startSurvivalServer({ limits }, { clock });
    const raw = await RawClient.connected(s.srv.addresses.mqtt!, 5);
    for (let id = 1; id <= 5; id++) {
      raw.send(publish(id));
      expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: id });
    }
    clock.advance(100); // one more token at 10 per second
    raw.send(publish(6));
    expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 6 });
    raw.send(publish(7));
    expect(await raw.next()).toMatchObject({ cmd: "disconnect", reasonCode: 0x96 });
    await raw.waitClosed();
    expect(s.counter("mqtt_protocol_errors_total", { reason: "message_rate_too_high" })).toBe(1);
    clock.advance(1000);
    await s.canariesAlive();
  });

  it("MQTT 3.1.1: past the burst, the connection is closed", async () => {
    const clock = new FakeClock();
    s = await startSurvivalServer({ limits }, { clock });
    const raw = await RawClient.connected(s.srv.addresses.mqtt!, 4);
    for (let id = 1; id <= 6; id++) raw.send(publish(id));
    await raw.waitClosed();
    expect(raw.packets.filter((p) => p.cmd === "puback")).toHaveLength(5);
    expect(raw.packets.some((p) => p.cmd === "disconnect")).toBe(false);
    await s.canariesAlive();
  });

  it("SDK: past the burst, RATE_LIMITED; the session stays and may set again later", async () => {
    const clock = new FakeClock();
    s = await startSurvivalServer({ limits }, { clock });
    const raw = await openSession(s.sdkUrl);
    const set = (id: number) =>
      raw.send({
        type: "set",
        id,
        path: "flood/s",
        valueType: "string",
        value: new TextEncoder().encode(String(id)),
        spec: { type: "string" },
      });
    for (let id = 1; id <= 5; id++) {
      set(id);
      await raw.next("result", (r) => r.id === id);
    }
    set(6);
    expect((await raw.next("error", (e) => e.id === 6)).code).toBe(errorCodeNumber("RATE_LIMITED"));
    clock.advance(1000);
    set(7);
    await raw.next("result", (r) => r.id === 7);
    expect(raw.closed).toBeUndefined();
    raw.ws.close();
    await s.canariesAlive();
  });
});

describe("topics created per session", () => {
  it("past limits.maxTopicsPerSession: MQTT 5 0x97, SDK RATE_LIMITED; existing topics still take updates", async () => {
    s = await startSurvivalServer({ limits: { maxTopicsPerSession: 3 } });
    const mqttClient = await connectClient(s.srv.url(), { protocolVersion: 5 });
    for (const t of ["made/1", "made/2", "made/3"]) await mqttClient.publishAsync(t, "x", { qos: 1 });
    await expect(mqttClient.publishAsync("made/4", "x", { qos: 1 })).rejects.toMatchObject({ code: 0x97 });
    await mqttClient.publishAsync("made/1", "again", { qos: 1 }); // exists: no topic created
    const session = await connect(s.sdkUrl, { reconnect: false });
    await session.topics.add("sdk/1", { type: "string" });
    await session.topics.add("sdk/2", { type: "string" });
    await session.topics.addAndSet("sdk/3", { type: "string" }, "3");
    await expect(session.topics.add("sdk/4", { type: "string" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
    await expect(session.topics.addAndSet("sdk/4", { type: "string" }, "4")).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
    await session.set("sdk/1", "string", "1");
    // A topic removed no longer counts against its creator.
    await session.topics.remove(">sdk/2");
    await session.topics.add("sdk/4", { type: "string" });
    // Another session has its own count.
    const other = await connect(s.sdkUrl, { reconnect: false });
    await other.topics.add("made/4", { type: "string" });
    expect(s.counter("skein_quota_refusals_total", { quota: "topics_per_session" })).toBe(3);
    for (const c of [session, other]) await c.close();
    await mqttClient.endAsync();
    await s.canariesAlive();
  });
});

describe("connection rate per address", () => {
  it("both doors: past the burst, TCP sockets are closed and WebSocket upgrades get 429", async () => {
    const clock = new FakeClock();
    // The canaries take two of the four.
    s = await startSurvivalServer(
      { limits: { connectionsPerSecondPerAddress: 1, connectionBurstPerAddress: 4 } },
      { clock },
    );
    const port = s.srv.addresses.mqtt!;
    const first = await RawClient.connected(port, 5);
    const second = await openSession(s.sdkUrl);
    const refused = await RawClient.open(port, 5);
    await refused.waitClosed();
    await expect(openRaw(s.sdkUrl)).rejects.toThrow(/429/);
    expect(s.counter("skein_connections_refused_total", { reason: "connection_rate" })).toBe(2);
    clock.advance(1000);
    const later = await RawClient.connected(port, 5);
    for (const c of [first, later]) c.destroy();
    second.ws.close();
    await s.canariesAlive();
  });
});
