/**
 * Client control over real sockets (DESIGN §6, §9): an SDK session lists, inspects, changes, closes,
 * subscribes and watches SDK sessions and MQTT.js clients.
 */
import { ANONYMOUS_ADMIN } from "../../server/test/helpers.js";
import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Session, type SessionEvents, type SessionLifecycleEvent, SkeinError } from "../src/index.js";
import {
  FakeClock,
  type SdkFixture,
  codeOf,
  collect,
  connectClient,
  recorder,
  roundTrip,
  startSdkServer,
  waitFor,
} from "./helpers.js";

let f: SdkFixture;
let admin: Session;
const clients: MqttClient[] = [];

async function mqtt5(options: Parameters<typeof connectClient>[1] = {}): Promise<MqttClient> {
  const client = await connectClient(f.server.url(), { protocolVersion: 5, ...options });
  clients.push(client);
  return client;
}

/** The MQTT session of client id `clientId`. */
async function sessionIdOf(clientId: string): Promise<string> {
  const [info] = await admin.clients.list(`$ClientId eq '${clientId}'`);
  if (!info) throw new Error(`no session of ${clientId}`);
  return info.sessionId;
}

beforeEach(async () => {
  f = await startSdkServer(ANONYMOUS_ADMIN);
  admin = await f.connect();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => (c.connected ? c.endAsync() : undefined)));
  await f.close();
});

describe("list and getProperties", () => {
  it("list sessions of both doors with their properties, all or through a filter", async () => {
    const sdk = await f.connect({ properties: { group: "g1", tier: "gold" } });
    await mqtt5({ clientId: "sensor-1", properties: { userProperties: { group: "g1" } } });
    await mqtt5({ clientId: "sensor-2" });
    const all = await admin.clients.list();
    expect(all).toHaveLength(4);
    const mqtt = all.find((s) => s.properties.$ClientId === "sensor-1");
    expect(mqtt?.properties).toMatchObject({ $Transport: "mqtt", $ClientId: "sensor-1", group: "g1" });
    expect(mqtt?.properties.$SessionId).toBe(mqtt?.sessionId);
    const g1 = await admin.clients.list("group eq 'g1'");
    expect(g1.map((s) => s.properties.$Transport).sort()).toEqual(["mqtt", "sdk"]);
    expect(g1.find((s) => s.properties.$Transport === "sdk")?.sessionId).toBe(sdk.sessionId);
    expect(await admin.clients.list("$Transport eq 'mqtt' and not has group")).toEqual([
      expect.objectContaining({ properties: expect.objectContaining({ $ClientId: "sensor-2" }) }),
    ]);
  });

  it("read one session's properties; an unknown session is SESSION_CLOSED", async () => {
    const other = await f.connect({ properties: { tier: "gold" } });
    const properties = await admin.clients.getProperties(other.sessionId);
    expect(properties).toMatchObject({ $SessionId: other.sessionId, $Transport: "sdk", tier: "gold" });
    expect(Object.keys(properties)).toEqual(
      expect.arrayContaining(["$Principal", "$ClientIP", "$Roles", "$StartTime", "$ServerName"]),
    );
    expect(await codeOf(admin.clients.getProperties("0123456789abcdef"))).toBe("SESSION_CLOSED");
  });
});

describe("setProperties", () => {
  it("sets properties of one session, which a filter then sees; $-properties are fixed", async () => {
    const other = await f.connect();
    expect(await admin.clients.setProperties(other.sessionId, { tier: "gold", $Transport: "x" })).toBe(1);
    const gold = await admin.clients.list("tier eq 'gold'");
    expect(gold.map((s) => s.sessionId)).toEqual([other.sessionId]);
    expect(gold[0]?.properties.$Transport).toBe("sdk");
    expect(await admin.clients.setProperties(other.sessionId, { tier: "" })).toBe(1);
    expect(await admin.clients.list("has tier")).toEqual([]);
  });

  it("sets properties of every session a { filter } selects, MQTT sessions included", async () => {
    await f.connect({ properties: { country: "UK" } });
    await mqtt5({ clientId: "uk-device", properties: { userProperties: { country: "UK" } } });
    await f.connect({ properties: { country: "FR" } });
    expect(await admin.clients.setProperties({ filter: "country eq 'UK'" }, { region: "eu-west" })).toBe(2);
    const west = await admin.clients.list("region eq 'eu-west'");
    expect(west.map((s) => s.properties.country)).toEqual(["UK", "UK"]);
    expect((await admin.clients.getProperties(await sessionIdOf("uk-device"))).region).toBe("eu-west");
  });

  it("reads a bare string as a session id, never as a filter", async () => {
    expect(await codeOf(admin.clients.setProperties("all", { x: "1" }))).toBe("SESSION_CLOSED");
    expect(await admin.clients.setProperties({ filter: "all" }, { x: "1" })).toBe(1);
    expect(await admin.clients.setProperties({ sessionId: admin.sessionId }, { y: "1" })).toBe(1);
    expect(await admin.clients.getProperties(admin.sessionId)).toMatchObject({ x: "1", y: "1" });
  });
});

describe("close", () => {
  it("closes an MQTT client with DISCONNECT 0x98 (administrative action)", async () => {
    const device = await mqtt5({ clientId: "to-close" });
    const disconnects: number[] = [];
    device.on("disconnect", (packet) => disconnects.push(packet.reasonCode ?? -1));
    expect(await admin.clients.close(await sessionIdOf("to-close"))).toBe(1);
    await waitFor(() => disconnects.length === 1, "DISCONNECT");
    expect(disconnects).toEqual([0x98]);
    await waitFor(() => !device.connected, "closed connection");
    expect(await admin.clients.list("$ClientId eq 'to-close'")).toEqual([]);
  });

  it("closes every SDK session a filter selects: they end with SESSION_CLOSED", async () => {
    const doomed = await Promise.all([1, 2].map(() => f.connect({ properties: { doomed: "yes" } })));
    const survivor = await f.connect();
    const closed = doomed.map(
      (s) => new Promise<SessionEvents["closed"]>((resolve) => s.once("closed", resolve)),
    );
    expect(await admin.clients.close({ filter: "doomed eq 'yes'" })).toBe(2);
    for (const event of await Promise.all(closed)) expect(event.error?.code).toBe("SESSION_CLOSED");
    expect(doomed.map((s) => s.state)).toEqual(["closed", "closed"]);
    expect(survivor.state).toBe("connected");
    expect(await codeOf(admin.clients.close(doomed[0]!.sessionId))).toBe("SESSION_CLOSED");
  });
});

describe("subscribe and unsubscribe", () => {
  it("subscribes an MQTT client to a selector: it then receives publishes of those topics", async () => {
    const device = await mqtt5({ clientId: "listener" });
    const got = collect(device);
    const id = await sessionIdOf("listener");
    await admin.topics.add("alerts/fire", { type: "string" });
    expect(await admin.clients.subscribe(id, ">alerts//")).toBe(1);
    await admin.set("alerts/fire", "string", "evacuate");
    await waitFor(() => got.length === 1, "publish");
    expect([got[0]?.topic, got[0]?.payload.toString()]).toEqual(["alerts/fire", "evacuate"]);
    expect(await admin.clients.unsubscribe(id, ">alerts//")).toBe(1);
    await admin.set("alerts/fire", "string", "all clear");
    await roundTrip(device); // the update was processed before set() resolved; a PUBLISH would come first
    expect(got).toHaveLength(1);
  });

  it("subscribes SDK sessions a filter selects: their streams receive the topics", async () => {
    const viewer = await f.connect({ properties: { role: "viewer" } });
    const stream = recorder<string>();
    viewer.addStream(">news//", "string", stream);
    await admin.topics.addAndSet("news/today", { type: "string" }, "sunny");
    expect(await admin.clients.subscribe({ filter: "role eq 'viewer'" }, ">news//")).toBe(1);
    await waitFor(() => stream.events.length === 1, "subscription");
    expect(stream.events[0]).toMatchObject({ kind: "subscribe", path: "news/today", value: "sunny" });
  });

  it("checks the selector before sending (INVALID_SELECTOR)", async () => {
    expect(await codeOf(admin.clients.subscribe(admin.sessionId, "no-prefix"))).toBe("INVALID_SELECTOR");
  });
});

describe("onSessionEvent", () => {
  it("reports sessions opened, updated and closed that the filter selects", async () => {
    const events: SessionLifecycleEvent[] = [];
    const watch = await admin.clients.onSessionEvent("group eq 'g1'", (e) => events.push(e));
    const member = await f.connect({ properties: { group: "g1" } });
    await f.connect({ properties: { group: "g2" } });
    const device = await mqtt5({
      clientId: "member-device",
      properties: { userProperties: { group: "g1" } },
    });
    await waitFor(() => events.length === 2, "two opened");
    await admin.clients.setProperties(member.sessionId, { tier: "gold" });
    await waitFor(() => events.length === 3, "updated");
    await member.close();
    await device.endAsync();
    await waitFor(() => events.length === 5, "two closed");
    const deviceId = events[1]!.sessionId;
    expect(events.map((e) => [e.event, e.sessionId])).toEqual([
      ["opened", member.sessionId],
      ["opened", deviceId],
      ["updated", member.sessionId],
      ["closed", member.sessionId],
      ["closed", deviceId],
    ]);
    expect(events[1]?.properties).toMatchObject({ $Transport: "mqtt", $ClientId: "member-device" });
    expect(events[2]?.properties.tier).toBe("gold");

    await watch.close();
    await f.connect({ properties: { group: "g1" } });
    await admin.ping(); // an "opened" event would have been sent before the ping's answer
    expect(events).toHaveLength(5);
  });

  it("is set again when a reconnection starts a new session", async () => {
    await f.close();
    const clock = new FakeClock();
    f = await startSdkServer({ ...ANONYMOUS_ADMIN, sdk: { reconnectTimeoutMs: 50 } }, { clock });
    const watcher = await f.connect({ reconnect: { initialDelayMs: 300, maxDelayMs: 300, timeoutMs: 5000 } });
    const events: SessionLifecycleEvent[] = [];
    await watcher.clients.onSessionEvent("group eq 'g1'", (e) => events.push(e));
    const reconnected = new Promise<SessionEvents["reconnected"]>((resolve) =>
      watcher.once("reconnected", resolve),
    );
    watcher.simulateDrop();
    // The server sees the drop and, its reconnection timeout passed, ends the session before the
    // client's reconnection (300 ms later) can resume it.
    await waitFor(() => f.server.server.metrics.get("sdk_connections") === 0, "the server to see the drop");
    clock.advance(50);
    expect(f.server.server.metrics.get("sdk_sessions")).toBe(0);
    expect((await reconnected).resumed).toBe(false);
    await watcher.ping(); // the watch request went first
    const member = await f.connect({ properties: { group: "g1" } });
    await waitFor(() => events.length === 1, "opened");
    expect(events[0]).toMatchObject({ event: "opened", sessionId: member.sessionId });
  });
});

describe("invalid filters", () => {
  it.each<[string, (filter: string) => Promise<unknown>]>([
    ["list", (filter) => admin.clients.list(filter)],
    ["setProperties", (filter) => admin.clients.setProperties({ filter }, { a: "b" })],
    ["close", (filter) => admin.clients.close({ filter })],
    ["subscribe", (filter) => admin.clients.subscribe({ filter }, ">a")],
    ["onSessionEvent", (filter) => admin.clients.onSessionEvent(filter, () => {})],
  ])(
    "%s refuses an invalid filter with INVALID_FILTER and the position of the problem",
    async (_name, call) => {
      let error: unknown;
      await call("country eq 'UK' and (has tier").catch((e: unknown) => (error = e));
      expect(error).toBeInstanceOf(SkeinError);
      expect((error as SkeinError).code).toBe("INVALID_FILTER");
      expect((error as SkeinError).message).toMatch(/at position 29/);
    },
  );
});
