/**
 * MQTT persistent sessions survive a restart (issue 9): a server on a data directory with sqlite, closed
 * and started again on the same directory, still has every persistent session of both MQTT versions:
 * its subscriptions with their options and identifiers (shared ones, and MQTT 5 `$request/` handler
 * subscriptions), its queued QoS 1/2 messages (with their MQTT 5 properties, Subscription Identifiers
 * and the Message Expiry left, the downtime counted [MQTT-3.3.2-6]), what was in
 * flight (resent with DUP and the same packet id [MQTT-4.4.0-1]), released QoS 2 deliveries (PUBREL
 * resent, not the PUBLISH), incoming QoS 2 ids awaiting PUBREL (exactly once across the restart
 * [MQTT-4.3.3-9]), delayed wills and session expiry deadlines, expiry that passed while it was down
 * honoured at start-up and swept from the disk.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { IPublishPacket, Packet } from "mqtt-packet";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStorage } from "../../src/storage/sqlite-store.js";
import { FakeClock } from "../fake-clock.js";
import { connect } from "../../../sdk/src/index.js";
import {
  ANONYMOUS_ADMIN,
  collect,
  connectClient,
  roundTrip,
  startServer,
  waitFor,
  type TestServer,
} from "../helpers.js";
import { RawClient } from "../raw-client.js";
import type { SkeinConfigInput } from "../../src/index.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skein-mqtt-restart-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function sqliteServer(
  dataDir: string,
  clock?: FakeClock,
  config: SkeinConfigInput = {},
): Promise<TestServer> {
  const srv = await startServer(
    { ...config, dataDir, storage: { engine: "sqlite" } },
    clock ? { clock } : {},
  );
  let closed = false;
  cleanup.push(() => (closed ? undefined : srv.close()));
  return { ...srv, close: () => ((closed = true), srv.close()) };
}

/** A client that closes with the test. */
async function client(srv: TestServer, options: IClientOptions): Promise<MqttClient> {
  const c = await connectClient(srv.url(), options);
  cleanup.push(() => c.endAsync(true).catch(() => undefined));
  return c;
}

/** A raw client that is dropped with the test. */
async function raw(srv: TestServer, version: 4 | 5, clientId: string, clean = false): Promise<RawClient> {
  const r = await RawClient.connected(srv.addresses.mqtt as number, version, {
    clientId,
    clean,
    ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
  });
  cleanup.push(() => void r.socket.destroy());
  return r;
}

/** The next packet of `cmd` a raw client receives (others before it are skipped and returned too). */
async function nextOf<C extends Packet["cmd"]>(r: RawClient, cmd: C): Promise<Extract<Packet, { cmd: C }>> {
  for (let i = 0; i < 100; i++) {
    const p = await r.next(5000);
    if (p.cmd === cmd) return p as Extract<Packet, { cmd: C }>;
  }
  throw new Error(`no ${cmd}`);
}

/**
 * Connects an MQTT.js client that collects what it receives from before CONNACK (a resumed session's
 * messages follow the CONNACK at once), closed with the test.
 */
async function resume(
  srv: TestServer,
  options: IClientOptions,
): Promise<{ client: MqttClient; got: ReturnType<typeof collect>; sessionPresent: boolean }> {
  const c = mqtt.connect(srv.url(), { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  cleanup.push(() => c.endAsync(true).catch(() => undefined));
  const got = collect(c);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    c.once("connect", resolve);
    c.once("error", reject);
  });
  return { client: c, got, sessionPresent: connack.sessionPresent };
}

function persistent(version: 4 | 5, clientId: string, expirySec = 600): IClientOptions {
  return version === 5
    ? { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: expirySec } }
    : { protocolVersion: 4, clientId, clean: false };
}

const payloads = (got: ReturnType<typeof collect>): string[] => got.map((m) => m.payload.toString());

for (const version of [4, 5] as const) {
  describe(`MQTT ${version === 5 ? "5" : "3.1.1"} persistent sessions across a restart (sqlite)`, () => {
    it("keeps subscriptions with their options and identifiers", async () => {
      const dataDir = tempDir();
      let srv = await sqliteServer(dataDir);
      const sub = await client(srv, persistent(version, `subs-${version}`));
      await sub.subscribeAsync("s/qos1/#", { qos: 1 });
      if (version === 5) {
        await sub.subscribeAsync("s/own/#", { qos: 1, nl: true });
        await sub.subscribeAsync("s/rap/#", {
          qos: 1,
          rap: true,
          properties: { subscriptionIdentifier: 42 },
        });
      }
      await sub.subscribeAsync("s/gone", { qos: 1 });
      await sub.unsubscribeAsync("s/gone");
      await sub.endAsync();
      await srv.close();

      srv = await sqliteServer(dataDir);
      const { client: back, got, sessionPresent } = await resume(srv, persistent(version, `subs-${version}`));
      expect(sessionPresent).toBe(true);
      const pub = await client(srv, { protocolVersion: version });
      await pub.publishAsync("s/qos1/a", "one", { qos: 2 });
      await pub.publishAsync("s/gone", "not subscribed", { qos: 1 });
      if (version === 5) {
        // No Local: the session's own publish does not come back to it [MQTT-3.8.3-3].
        await back.publishAsync("s/own/x", "own", { qos: 1 });
        await pub.publishAsync("s/own/x", "other", { qos: 1 });
        await pub.publishAsync("s/rap/r", "kept flag", { qos: 1, retain: true });
      }
      await roundTrip(pub, back);
      await waitFor(() => got.length === (version === 5 ? 3 : 1), "the deliveries");
      expect(payloads(got)).toEqual(version === 5 ? ["one", "other", "kept flag"] : ["one"]);
      // Delivered at the granted QoS 1 (published at 2) [MQTT-3.8.4-8].
      expect(got[0]!.packet.qos).toBe(1);
      if (version === 5) {
        // Retain As Published and the Subscription Identifier survived [MQTT-3.3.1-12] [MQTT-3.3.4-3].
        expect(got[2]!.packet.retain).toBe(true);
        expect(got[2]!.packet.properties?.subscriptionIdentifier).toBe(42);
      }
    });

    it("keeps shared subscriptions: the session is a member of its group again [MQTT-4.8.2]", async () => {
      const dataDir = tempDir();
      let srv = await sqliteServer(dataDir);
      const sub = await client(srv, persistent(version, `shared-${version}`));
      await sub.subscribeAsync("$share/g/sh/#", { qos: 1 });
      await sub.endAsync();
      await srv.close();

      srv = await sqliteServer(dataDir);
      const {
        client: back,
        got,
        sessionPresent,
      } = await resume(srv, persistent(version, `shared-${version}`));
      expect(sessionPresent).toBe(true);
      // Another member: the group's messages are spread across the two, not all sent to each.
      const other = await client(srv, { protocolVersion: version });
      const gotOther = collect(other);
      await other.subscribeAsync("$share/g/sh/#", { qos: 1 });
      const pub = await client(srv, { protocolVersion: version });
      const sent = ["1", "2", "3", "4", "5", "6"];
      for (const n of sent) await pub.publishAsync("sh/x", n, { qos: 1 });
      await roundTrip(pub, back, other);
      await waitFor(() => got.length + gotOther.length >= sent.length, "the shared deliveries");
      expect(got.length).toBeGreaterThan(0);
      expect(gotOther.length).toBeGreaterThan(0);
      expect([...payloads(got), ...payloads(gotOther)].sort()).toEqual(sent);
      expect(got.every((m) => m.topic === "sh/x" && m.packet.qos === 1)).toBe(true);
    });

    it("delivers QoS 1 and QoS 2 messages queued while the subscriber was offline, in order", async () => {
      const dataDir = tempDir();
      let srv = await sqliteServer(dataDir);
      const sub = await client(srv, persistent(version, `queued-${version}`));
      await sub.subscribeAsync("q/#", { qos: 2 });
      await sub.endAsync();
      const pub = await client(srv, { protocolVersion: version });
      for (let i = 0; i < 6; i++)
        await pub.publishAsync(`q/${i % 2}`, String(i), { qos: i % 2 === 0 ? 1 : 2 });
      await pub.endAsync();
      await srv.close();

      srv = await sqliteServer(dataDir);
      const { client: back, got } = await resume(srv, persistent(version, `queued-${version}`));
      await waitFor(() => got.length >= 6, "the queued messages");
      await roundTrip(back);
      // In order per topic [MQTT-4.6.0-6] (MQTT.js hands a QoS 2 message over at PUBREL, so the
      // order across the two topics is its own).
      const of = (topic: string): [string, number][] =>
        got.filter((m) => m.topic === topic).map((m) => [m.payload.toString(), m.packet.qos]);
      expect(of("q/0")).toEqual([
        ["0", 1],
        ["2", 1],
        ["4", 1],
      ]);
      expect(of("q/1")).toEqual([
        ["1", 2],
        ["3", 2],
        ["5", 2],
      ]);
      // Delivered once: acknowledged, they leave the disk, and another restart brings nothing back.
      await back.endAsync();
      await srv.close();
      srv = await sqliteServer(dataDir);
      const {
        client: again,
        got: more,
        sessionPresent,
      } = await resume(srv, persistent(version, `queued-${version}`));
      expect(sessionPresent).toBe(true);
      await roundTrip(again);
      expect(more).toHaveLength(0);
    });

    it("resends an in-flight QoS 1 message with DUP and its packet id [MQTT-4.4.0-1]", async () => {
      const dataDir = tempDir();
      let srv = await sqliteServer(dataDir);
      const sub = await raw(srv, version, `inflight-${version}`);
      sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "f/#", qos: 1 }] });
      await nextOf(sub, "suback");
      const pub = await client(srv, { protocolVersion: version });
      await pub.publishAsync("f/a", "unacknowledged", { qos: 1 });
      const first = await nextOf(sub, "publish");
      expect(first.dup).toBe(false);
      await srv.close(); // the subscriber never sent PUBACK

      srv = await sqliteServer(dataDir);
      const back = await raw(srv, version, `inflight-${version}`);
      expect(back.packets[0]).toMatchObject({ cmd: "connack", sessionPresent: true });
      const again = await nextOf(back, "publish");
      expect(again).toMatchObject({ topic: "f/a", qos: 1, dup: true, messageId: first.messageId });
      expect(again.payload.toString()).toBe("unacknowledged");
      back.send({ cmd: "puback", messageId: first.messageId });
      await back.ping();
    });

    it("resends PUBREL, not the PUBLISH, for a QoS 2 delivery whose PUBREC came [MQTT-4.4.0-1]", async () => {
      const dataDir = tempDir();
      let srv = await sqliteServer(dataDir);
      const sub = await raw(srv, version, `released-${version}`);
      sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "r/#", qos: 2 }] });
      await nextOf(sub, "suback");
      const pub = await client(srv, { protocolVersion: version });
      await pub.publishAsync("r/a", "exactly once", { qos: 2 });
      const publish = await nextOf(sub, "publish");
      sub.send({ cmd: "pubrec", messageId: publish.messageId });
      expect(await nextOf(sub, "pubrel")).toMatchObject({ messageId: publish.messageId });
      await srv.close(); // no PUBCOMP

      srv = await sqliteServer(dataDir);
      const back = await raw(srv, version, `released-${version}`);
      const next = await back.next();
      expect(next).toMatchObject({ cmd: "pubrel", messageId: publish.messageId });
      back.send({ cmd: "pubcomp", messageId: publish.messageId });
      await back.ping();
      expect(back.packets.filter((p) => p.cmd === "publish")).toHaveLength(0);
    });

    it("keeps an incoming QoS 2 id until PUBREL: a re-sent PUBLISH is not delivered twice [MQTT-4.3.3-9]", async () => {
      const dataDir = tempDir();
      let srv = await sqliteServer(dataDir);
      const watcher = await client(srv, persistent(version, `watcher-${version}`));
      await watcher.subscribeAsync("x/#", { qos: 2 });
      const got = collect(watcher);
      const pub = await raw(srv, version, `qos2-pub-${version}`);
      const publish: IPublishPacket = {
        cmd: "publish",
        topic: "x/once",
        payload: Buffer.from("once"),
        qos: 2,
        retain: false,
        dup: false,
        messageId: 7,
      };
      pub.send(publish);
      expect(await nextOf(pub, "pubrec")).toMatchObject({ messageId: 7 });
      await waitFor(() => got.length === 1, "the delivery");
      await watcher.endAsync();
      await srv.close(); // the publisher never sent PUBREL

      srv = await sqliteServer(dataDir);
      const { client: back, got: after } = await resume(srv, persistent(version, `watcher-${version}`));
      const again = await raw(srv, version, `qos2-pub-${version}`);
      expect(again.packets[0]).toMatchObject({ cmd: "connack", sessionPresent: true });
      // The client did not see the PUBREC: it sends the PUBLISH again, DUP set.
      again.send({ ...publish, dup: true });
      expect(await nextOf(again, "pubrec")).toMatchObject({ messageId: 7 });
      again.send({ cmd: "pubrel", messageId: 7 });
      expect(await nextOf(again, "pubcomp")).toMatchObject({ messageId: 7 });
      await roundTrip(back);
      expect(after).toHaveLength(0);
      // Released: the id is free again, a new PUBLISH with it is delivered.
      again.send({ ...publish, payload: Buffer.from("new") });
      await nextOf(again, "pubrec");
      await waitFor(() => after.length === 1, "the new message");
      expect(payloads(after)).toEqual(["new"]);
    });

    it("honours a session expiry that passed while the server was down, and sweeps it from the disk", async () => {
      const dataDir = tempDir();
      const t0 = Date.now();
      const config = { mqtt: { persistentSessionExpirySec: 60 } };
      let srv = await sqliteServer(dataDir, new FakeClock(t0), config);
      const sub = await client(srv, persistent(version, `mortal-${version}`, 60));
      await sub.subscribeAsync("m/#", { qos: 1 });
      await sub.endAsync();
      // A session that outlives the downtime (v5, one hour), beside it.
      const keeper = await client(srv, persistent(5, `keeper-${version}`, 3600));
      await keeper.subscribeAsync("m/#", { qos: 1 });
      await keeper.endAsync();
      const pub = await client(srv, { protocolVersion: 5 });
      await pub.publishAsync("m/a", "queued", { qos: 1 });
      await pub.publishAsync("m/b", "expires", { qos: 1, properties: { messageExpiryInterval: 30 } });
      await pub.endAsync();
      await srv.close();

      // Started after the mortal session's expiry: it is ended at start-up and leaves the disk.
      srv = await sqliteServer(dataDir, new FakeClock(t0 + 61_000), config);
      expect(srv.server.metrics.get("mqtt_sessions")).toBe(1);
      await srv.close();
      const store = SqliteStorage.open({ dataDir });
      const clients: string[] = [];
      const messages: string[] = [];
      for await (const batch of store.load())
        for (const r of batch) {
          if (r.kind === "session") clients.push(r.record.clientId);
          if (r.kind === "message") messages.push(`${r.record.clientId}:${r.record.topic}`);
        }
      await store.close();
      expect(clients).toEqual([`keeper-${version}`]);
      // The queued message whose Message Expiry passed was swept too.
      expect(messages).toEqual([`keeper-${version}:m/a`]);

      srv = await sqliteServer(dataDir, new FakeClock(t0 + 62_000), config);
      const mortal = await resume(srv, persistent(version, `mortal-${version}`, 60));
      expect(mortal.sessionPresent).toBe(false);
      const {
        client: kept,
        got: gotKept,
        sessionPresent,
      } = await resume(srv, persistent(5, `keeper-${version}`, 3600));
      expect(sessionPresent).toBe(true);
      await waitFor(() => gotKept.length >= 1, "the kept session's message");
      await roundTrip(kept);
      // The message whose expiry passed while the server was down is not delivered [MQTT-3.3.2-5].
      expect(payloads(gotKept)).toEqual(["queued"]);
    });
  });
}

describe("MQTT 5 wills across a restart (sqlite)", () => {
  /**
   * A persistent MQTT 5 session `clientId` with a will delayed 30 s drops its connection; the server
   * restarts 10 s later with a fake clock, and a watcher subscribes to the will's topic.
   */
  async function willDelayedAcrossRestart(clientId: string) {
    const dataDir = tempDir();
    const t0 = Date.now();
    const before = await sqliteServer(dataDir, new FakeClock(t0));
    const willed = await RawClient.connected(before.addresses.mqtt as number, 5, {
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      will: {
        topic: `w/${clientId}`,
        payload: Buffer.from("gone"),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 30 },
      },
    });
    willed.destroy();
    await willed.closed;
    await waitFor(() => before.server.metrics.get("mqtt_connections") === 0, "the disconnection");
    await before.close();

    const clock = new FakeClock(t0 + 10_000);
    const srv = await sqliteServer(dataDir, clock);
    const watcher = await client(srv, { protocolVersion: 5 });
    const got = collect(watcher);
    await watcher.subscribeAsync("w/#", { qos: 1 });
    return { srv, clock, watcher, got };
  }

  it("publishes a delayed will after the restart when the session did not come back", async () => {
    const { clock, watcher, got } = await willDelayedAcrossRestart("willed");
    clock.advance(19_999);
    await roundTrip(watcher);
    expect(got).toHaveLength(0);
    clock.advance(1); // 30 s after the disconnection
    await waitFor(() => got.length === 1, "the will");
    expect(payloads(got)).toEqual(["gone"]);
  });

  it("does not publish the delayed will when the session comes back within the delay", async () => {
    const { srv, clock, watcher, got } = await willDelayedAcrossRestart("returning");
    const back = await raw(srv, 5, "returning");
    expect(back.packets[0]).toMatchObject({ cmd: "connack", sessionPresent: true });
    clock.advance(60_000);
    await roundTrip(watcher);
    expect(got).toHaveLength(0);
  });

  it("publishes the will of a session that expired while the server was down, at start-up", async () => {
    const dataDir = tempDir();
    const t0 = Date.now();
    let srv = await sqliteServer(dataDir, new FakeClock(t0));
    // A kept watcher: the will published at start-up is queued for it.
    const watcher = await client(srv, persistent(5, "will-watcher", 3600));
    await watcher.subscribeAsync("w/#", { qos: 1 });
    await watcher.endAsync();
    const willed = await RawClient.connected(srv.addresses.mqtt as number, 5, {
      clientId: "expiring",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic: "w/expiring",
        payload: Buffer.from("expired"),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 3600 },
      },
    });
    willed.destroy();
    await willed.closed;
    await waitFor(() => srv.server.metrics.get("mqtt_connections") === 0, "the disconnection");
    await srv.close();

    srv = await sqliteServer(dataDir, new FakeClock(t0 + 120_000));
    const { got } = await resume(srv, persistent(5, "will-watcher", 3600));
    await waitFor(() => got.length === 1, "the will");
    expect(payloads(got)).toEqual(["expired"]);
    const gone = await raw(srv, 5, "expiring");
    expect(gone.packets[0]).toMatchObject({ cmd: "connack", sessionPresent: false });
  });
});

describe("MQTT 5 persistent sessions across a restart: what only MQTT 5 carries (sqlite)", () => {
  it("keeps a queued message's properties and Subscription Identifier; its Message Expiry counts the downtime [MQTT-3.3.2-6]", async () => {
    const dataDir = tempDir();
    const t0 = Date.now();
    let srv = await sqliteServer(dataDir, new FakeClock(t0));
    const sub = await client(srv, persistent(5, "props"));
    await sub.subscribeAsync("p/#", { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await sub.endAsync();
    const properties = {
      payloadFormatIndicator: true,
      contentType: "text/plain",
      responseTopic: "p/replies",
      correlationData: Buffer.from("c-1"),
      userProperties: { a: "1", b: "2" },
    };
    const pub = await client(srv, { protocolVersion: 5 });
    await pub.publishAsync("p/a", "queued", {
      qos: 1,
      properties: { ...properties, messageExpiryInterval: 600 },
    });
    await pub.publishAsync("p/b", "no expiry", { qos: 2, properties });
    await pub.endAsync();
    await srv.close();

    srv = await sqliteServer(dataDir, new FakeClock(t0 + 100_000)); // 100 s later
    const { client: back, got } = await resume(srv, persistent(5, "props"));
    await waitFor(() => got.length === 2, "the queued messages");
    await roundTrip(back);
    for (const m of got) {
      expect(m.packet.properties, m.topic).toMatchObject({ ...properties, subscriptionIdentifier: 9 });
    }
    const byTopic = new Map(got.map((m) => [m.topic, m.packet]));
    // 600 s less the 100 s it waited, the downtime included.
    expect(byTopic.get("p/a")!.properties?.messageExpiryInterval).toBe(500);
    expect(byTopic.get("p/b")!.properties?.messageExpiryInterval).toBeUndefined();
    expect(byTopic.get("p/b")!.qos).toBe(1);
  });

  it("keeps a $request/ handler subscription: the client is a handler again when it comes back", async () => {
    const dataDir = tempDir();
    let srv = await sqliteServer(dataDir, undefined, ANONYMOUS_ADMIN);
    const handler = await client(srv, persistent(5, "handler"));
    await handler.subscribeAsync("$request/svc/ping", { qos: 1 });
    await handler.endAsync();
    await srv.close();

    srv = await sqliteServer(dataDir, undefined, ANONYMOUS_ADMIN);
    const { client: back, sessionPresent } = await resume(srv, persistent(5, "handler"));
    expect(sessionPresent).toBe(true);
    back.on("message", (topic, payload, packet) => {
      const responseTopic = packet.properties?.responseTopic;
      if (topic !== "$request/svc/ping" || !responseTopic) return;
      back.publish(responseTopic, `pong ${payload.toString()}`, {
        qos: 1,
        properties: { correlationData: packet.properties?.correlationData },
      });
    });
    const session = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, { reconnect: false });
    cleanup.push(() => session.close());
    const answer = await session.messaging.sendRequest("svc/ping", "one", {
      requestType: "string",
      responseType: "string",
    });
    expect(answer).toBe("pong one");
  });
});
