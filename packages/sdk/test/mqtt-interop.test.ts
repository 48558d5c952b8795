/** Both doors onto one topic tree: SDK updates reach MQTT v5 subscribers, MQTT publishes reach SDK streams. */
import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Session } from "../src/index.js";
import { type SdkFixture, collect, connectClient, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
let session: Session;
let mqtt: MqttClient;
beforeEach(async () => {
  f = await startSdkServer();
  session = await f.connect();
  mqtt = await connectClient(f.server.url(), { protocolVersion: 5 });
});
afterEach(async () => {
  await mqtt.endAsync();
  await f.close();
});

describe("SDK -> MQTT", () => {
  it.each<
    [string, "json" | "string" | "int64" | "double" | "binary", unknown, string, string | undefined, boolean]
  >([
    ["json", "json", { a: [1, 2] }, '{"a":[1,2]}', "application/json", true],
    ["string", "string", "héllo", "héllo", "text/plain; charset=utf-8", true],
    ["int64", "int64", -42n, "-42", "text/plain; charset=utf-8", true],
    ["double", "double", 2.5, "2.5", "text/plain; charset=utf-8", true],
    ["binary", "binary", Uint8Array.of(1, 2, 3), "\u0001\u0002\u0003", undefined, false],
  ])(
    "an SDK set of a %s topic reaches an MQTT v5 subscriber with the mapped payload",
    async (_n, type, value, text, contentType, utf8) => {
      const path = `interop/${type}`;
      await session.topics.add(path, { type });
      const got = collect(mqtt);
      await mqtt.subscribeAsync(path, { qos: 1 });
      await session.set(path, type, value as never);
      await waitFor(() => got.length === 1, "MQTT message");
      const message = got[0]!;
      expect(message.payload.toString("utf8")).toBe(text);
      expect(message.packet.properties?.contentType).toBe(contentType);
      expect(Boolean(message.packet.properties?.payloadFormatIndicator)).toBe(utf8);
    },
  );
});

describe("MQTT -> SDK", () => {
  it("an MQTT publish reaches an SDK stream as a typed value", async () => {
    await session.topics.add("m/n", { type: "int64" });
    await session.select(">m//");
    const stream = recorder<bigint>();
    session.addStream(">m//", "int64", stream);
    await waitFor(() => stream.events.length === 1, "subscription");
    await mqtt.publishAsync("m/n", "17", { qos: 1 });
    await waitFor(() => stream.events.length === 2, "value");
    expect(stream.events[1]).toEqual({ kind: "value", path: "m/n", value: 17n, old: undefined });
  });

  it("a payload that does not fit the topic type is refused with PUBACK 0x99 and changes nothing", async () => {
    await session.topics.addAndSet("m/d", { type: "double" }, 1.5);
    await session.select(">m/d");
    const stream = recorder<number>();
    session.addStream(">m/d", "double", stream);
    await waitFor(() => stream.events.length === 1, "subscription");
    await expect(mqtt.publishAsync("m/d", "not a number", { qos: 1 })).rejects.toMatchObject({ code: 0x99 });
    expect(mqtt.connected).toBe(true);
    await session.ping(); // a value would have been sent before the ping's answer
    expect(stream.events).toHaveLength(1);
    expect((await session.fetch(">m/d", { withValues: true })).topics[0]).toMatchObject({ value: 1.5 });
  });

  it("topics created by MQTT publishes appear in fetch and streams with their inferred type", async () => {
    await session.select(">auto//");
    const json = recorder<unknown>();
    const strings = recorder<string>();
    const binary = recorder<Uint8Array>();
    session.addStream(">auto//", "json", json);
    session.addStream(">auto//", "string", strings);
    session.addStream(">auto//", "binary", binary);
    await mqtt.publishAsync("auto/j", '{"on":true}', {
      qos: 1,
      retain: true,
      properties: { contentType: "application/json" },
    });
    await mqtt.publishAsync("auto/s", "plain", {
      qos: 1,
      retain: true,
      properties: { payloadFormatIndicator: true },
    });
    await mqtt.publishAsync("auto/b", Buffer.from([0xff, 0]), { qos: 1, retain: true });
    const result = await session.fetch(">auto//", { withValues: true });
    expect(result.topics.map((t) => [t.path, t.type, t.value])).toEqual([
      ["auto/b", "binary", Uint8Array.of(0xff, 0)],
      ["auto/j", "json", { on: true }],
      ["auto/s", "string", "plain"],
    ]);
    // Each stream holds exactly the topic of its type, with its value (announced with the topic, or
    // as a value right after it).
    const latest = <T>(events: typeof json.events | typeof strings.events | typeof binary.events) =>
      events.flatMap((e) => ("value" in e && e.value !== undefined ? [[e.path, e.value as T]] : []));
    await waitFor(
      () => latest(json.events).length + latest(strings.events).length + latest(binary.events).length === 3,
      "a value in each stream",
    );
    expect(latest(json.events)).toEqual([["auto/j", { on: true }]]);
    expect(latest(strings.events)).toEqual([["auto/s", "plain"]]);
    expect(latest(binary.events)).toEqual([["auto/b", Uint8Array.of(0xff, 0)]]);
    const kinds = [...json.events, ...strings.events, ...binary.events].map((e) => e.kind);
    expect(kinds.every((k) => k === "subscribe" || k === "value")).toBe(true);
  });
});
