/**
 * Time series on the MQTT door (issue 9 §2, docs/mqtt.md, docs/timeseries.md): a PUBLISH appends an
 * event (a payload that does not fit the event type: 0x99 at QoS 1/2, a counted drop at QoS 0);
 * subscribers receive each event with the MQTT 5 User Properties `seq` and `ts`; MQTT 5 range queries
 * through `$timeseries/query/<path>` with Response Topic and Correlation Data, via MQTT.js.
 */
import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Session, connect } from "../../../sdk/src/index.js";
import {
  collect,
  connectClient,
  roundTrip,
  startServer,
  type TestServer,
  trustClaimedNames,
} from "../helpers.js";

let srv: TestServer;
let session: Session;
const clients: MqttClient[] = [];

beforeEach(async () => {
  srv = await startServer({}, { authenticators: [trustClaimedNames] });
  session = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, {
    principal: "alice",
    reconnect: false,
  });
  await session.topics.add("ts/d", { type: "time-series", properties: { eventType: "double" } });
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await session.close();
  await srv.close();
});

async function client(version: 4 | 5, clientId: string): Promise<MqttClient> {
  const c = await connectClient(srv.url(), { protocolVersion: version, clientId });
  clients.push(c);
  return c;
}

/** Reason code of a QoS 1 publish's PUBACK (0 on success). */
async function pubackOf(c: MqttClient, topic: string, payload: string, properties = {}): Promise<number> {
  try {
    const packet = await c.publishAsync(topic, payload, { qos: 1, properties });
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

describe("MQTT publishes append events", () => {
  it.each([4, 5] as const)(
    "MQTT %s: each PUBLISH is one event, authored by the client id",
    async (version) => {
      const device = await client(version, `dev-${version}`);
      await device.publishAsync("ts/d", "1.5", { qos: 1 });
      await device.publishAsync("ts/d", "2.5", { qos: 0, retain: true });
      await device.publishAsync("ts/d", "3.5", { qos: 2 });
      await roundTrip(device);
      const r = await session.timeseries.rangeQuery().as("double").selectFrom("ts/d");
      expect(r.events.map((e) => [e.sequence, e.value, e.author])).toEqual([
        [0, 1.5, `dev-${version}`],
        [1, 2.5, `dev-${version}`],
        [2, 3.5, `dev-${version}`],
      ]);
      // Nothing is retained: an event is not a topic value.
      expect(srv.server.getTopic("ts/d")?.value).toBeUndefined();
    },
  );

  it("a payload that does not fit the event type: PUBACK 0x99, QoS 0 dropped and counted, nothing appended", async () => {
    const device = await client(5, "dev");
    expect(await pubackOf(device, "ts/d", "warm")).toBe(0x99);
    await device.publishAsync("ts/d", "hot", { qos: 0 });
    await roundTrip(device);
    expect(srv.server.metrics.get("mqtt_publishes_refused_total", { reason: "0x99" })).toBe(2);
    expect(await pubackOf(device, "ts/d", "7")).toBe(0);
    const r = await session.timeseries.rangeQuery().selectFrom("ts/d");
    expect(r.events.map((e) => [e.sequence, e.value])).toEqual([[0, 7]]);
  });

  it("MQTT 5 subscribers get every event with User Properties seq and ts, and edit-of for edits", async () => {
    const sub = await client(5, "watcher");
    const got = collect(sub);
    await sub.subscribeAsync("ts/#", { qos: 1 });
    const device = await client(5, "dev");
    await device.publishAsync("ts/d", "1", { qos: 1, properties: { userProperties: { unit: "C" } } });
    const appended = await session.timeseries.append("ts/d", "double", 2);
    await session.timeseries.edit("ts/d", "double", 0, 1.25);
    await vi.waitFor(() => expect(got).toHaveLength(3));
    expect(got.map((m) => [m.topic, m.payload.toString(), m.packet.retain])).toEqual([
      ["ts/d", "1", false],
      ["ts/d", "2", false],
      ["ts/d", "1.25", false],
    ]);
    expect(got[0]?.packet.properties?.userProperties).toMatchObject({ unit: "C", seq: "0" });
    const p1 = got[1]?.packet.properties;
    expect(p1?.userProperties).toEqual({ seq: "1", ts: String(appended.timestamp) });
    expect(p1?.contentType).toBe("text/plain; charset=utf-8");
    expect(got[2]?.packet.properties?.userProperties).toMatchObject({ seq: "2", "edit-of": "0" });
  });

  it("MQTT 3.1.1 subscribers get the values", async () => {
    const sub = await client(4, "old");
    const got = collect(sub);
    await sub.subscribeAsync("ts/d", { qos: 1 });
    await session.timeseries.append("ts/d", "double", 4);
    await vi.waitFor(() => expect(got.map((m) => m.payload.toString())).toEqual(["4"]));
  });
});

describe("MQTT 5 range queries on $timeseries/query/<path>", () => {
  beforeEach(async () => {
    await session.topics.add("ts/s", { type: "time-series", properties: { eventType: "string" } });
    for (const v of ["A", "B"]) await session.timeseries.append("ts/s", "string", v);
    await session.timeseries.edit("ts/s", "string", 0, "X");
    await session.timeseries.edit("ts/s", "string", 0, "Y");
  });

  /** Sends a query and waits for the answer with its correlation data. */
  async function ask(
    c: MqttClient,
    path: string,
    query: unknown,
    correlation: string,
  ): Promise<{ json: unknown; user: Record<string, unknown> | undefined; contentType: string | undefined }> {
    const answered = new Promise<{ payload: Buffer; packet: { properties?: Record<string, unknown> } }>(
      (resolve) =>
        c.on("message", (_topic, payload, packet) => {
          if (packet.properties?.correlationData?.toString() === correlation) resolve({ payload, packet });
        }),
    );
    await c.publishAsync(
      `$timeseries/query/${path}`,
      typeof query === "string" ? query : JSON.stringify(query),
      {
        qos: 1,
        properties: { responseTopic: "answers/me", correlationData: Buffer.from(correlation) },
      },
    );
    const { payload, packet } = await answered;
    return {
      json: payload.length > 0 ? JSON.parse(payload.toString()) : undefined,
      user: packet.properties?.userProperties as Record<string, unknown> | undefined,
      contentType: packet.properties?.contentType as string | undefined,
    };
  }

  async function asker(): Promise<MqttClient> {
    const c = await client(5, "asker");
    await c.subscribeAsync("answers/me", { qos: 1 });
    return c;
  }

  const values = (json: unknown): string[] =>
    (
      json as { events: { sequence: number; value: unknown; isEdit: boolean; originalSequence: number }[] }
    ).events.map((e) =>
      e.isEdit
        ? `${e.sequence}:${String(e.value)}(${e.originalSequence})`
        : `${e.sequence}:${String(e.value)}`,
    );

  it("answers the three views of 0:A, 1:B, 2:X (edit of 0), 3:Y (edit of 0) as JSON", async () => {
    const c = await asker();
    const v = await ask(c, "ts/s", { fromLast: 100, view: "values" }, "1");
    expect(v.contentType).toBe("application/json");
    expect(v.json).toMatchObject({
      path: "ts/s",
      eventType: "string",
      streamStructure: "VALUE_EVENT_STREAM",
      selectedCount: 2,
      isComplete: true,
    });
    expect(values(v.json)).toEqual(["3:Y(0)", "1:B"]);
    expect((v.json as { events: unknown[] }).events[1]).toEqual({
      sequence: 1,
      timestamp: expect.any(Number),
      author: "alice",
      value: "B",
      isEdit: false,
      originalSequence: 1,
    });
    expect(values((await ask(c, "ts/s", { view: "allEdits" }, "2")).json)).toEqual([
      "0:A",
      "1:B",
      "2:X(0)",
      "3:Y(0)",
    ]);
    expect(values((await ask(c, "ts/s", { view: "latestEdits" }, "3")).json)).toEqual([
      "0:A",
      "1:B",
      "3:Y(0)",
    ]);
    expect(values((await ask(c, "ts/s", "", "4")).json)).toEqual(["3:Y(0)", "1:B"]);
    expect(values((await ask(c, "ts/s", { view: "values", editRange: { to: 2 } }, "5")).json)).toEqual([
      "2:X(0)",
      "1:B",
    ]);
    const limited = await ask(c, "ts/s", { view: "allEdits", limit: 1 }, "6");
    expect(values(limited.json)).toEqual(["3:Y(0)"]);
    expect(limited.json).toMatchObject({ selectedCount: 4, isComplete: false });
    expect(values((await ask(c, "ts/s", { from: 1, next: 1 }, "7")).json)).toEqual(["1:B"]);
  });

  it("maps values by event type: int64 as decimal strings, binary as base64, json as itself", async () => {
    await session.topics.add("ts/i", { type: "time-series", properties: { eventType: "int64" } });
    await session.timeseries.append("ts/i", "int64", 2n ** 62n);
    await session.topics.add("ts/b", { type: "time-series", properties: { eventType: "binary" } });
    await session.timeseries.append("ts/b", "binary", Uint8Array.from([0, 255]));
    await session.topics.add("ts/j", { type: "time-series", properties: { eventType: "json" } });
    await session.timeseries.append("ts/j", "json", { a: [1, null] });
    const c = await asker();
    const first = async (path: string, id: string) =>
      ((await ask(c, path, {}, id)).json as { events: { value: unknown }[] }).events[0]?.value;
    expect(await first("ts/i", "i")).toBe(String(2n ** 62n));
    expect(await first("ts/b", "b")).toBe("AP8=");
    expect(await first("ts/j", "j")).toEqual({ a: [1, null] });
  });

  it("answers errors as an empty message with skein-error user properties", async () => {
    const c = await asker();
    const notFound = await ask(c, "ts/none", {}, "e1");
    expect(notFound.json).toBeUndefined();
    expect(notFound.user).toMatchObject({ "skein-error": "TOPIC_NOT_FOUND" });
    expect((await ask(c, "ts/s", "{nope", "e2")).user).toMatchObject({ "skein-error": "INVALID_ARGUMENT" });
    expect((await ask(c, "ts/s", { fromLast: -1 }, "e3")).user).toMatchObject({
      "skein-error": "INVALID_ARGUMENT",
    });
    expect((await ask(c, "ts/s", { sideways: 1 }, "e4")).user).toMatchObject({
      "skein-error": "INVALID_ARGUMENT",
    });
    await session.topics.add("plain", { type: "string" });
    expect((await ask(c, "plain", {}, "e5")).user).toMatchObject({ "skein-error": "TOPIC_TYPE_MISMATCH" });
    expect(
      srv.server.metrics.get("mqtt_timeseries_queries_refused_total", { code: "INVALID_ARGUMENT" }),
    ).toBe(3);
  });

  it("refuses a query without a Response Topic (0x83), with a reserved Response Topic, and other $timeseries/ topics (0x90)", async () => {
    const c = await asker();
    expect(await pubackOf(c, "$timeseries/query/ts/s", "{}")).toBe(0x83);
    expect(await pubackOf(c, "$timeseries/query/ts/s", "{}", { responseTopic: "$timeseries/query/x" })).toBe(
      0x90,
    );
    expect(await pubackOf(c, "$timeseries/query/ts/s", "{}", { responseTopic: "$SYS/x" })).toBe(0x87);
    expect(await pubackOf(c, "$timeseries/append/ts/s", "{}", { responseTopic: "answers/me" })).toBe(0x90);
    // Nothing reached the topic tree.
    expect(srv.server.getTopic("$timeseries/append/ts/s")).toBeUndefined();
  });

  it("an answer holds at most 1000 events: the last selected, isComplete false", async () => {
    await session.topics.add("ts/many", { type: "time-series", properties: { eventType: "int64" } });
    await Promise.all(
      Array.from({ length: 1005 }, (_, i) => session.timeseries.append("ts/many", "int64", BigInt(i))),
    );
    const c = await asker();
    const r = (await ask(c, "ts/many", {}, "m")).json as {
      events: { sequence: number }[];
      selectedCount: number;
      isComplete: boolean;
    };
    expect(r.events).toHaveLength(1000);
    expect(r.events[0]?.sequence).toBe(5);
    expect(r).toMatchObject({ selectedCount: 1005, isComplete: false });
  });
});
