/**
 * Restart (issue 9): what a server on a data directory acknowledged is there when a new server starts
 * on the same directory. Persistent SDK topics and values (`persistent` is the default), retained MQTT
 * values of both versions with their QoS and MQTT 5 properties (interleaved User Properties in order
 * [MQTT-3.3.2-18]) and the Message Expiry left, the downtime counted [MQTT-3.3.2-6]; removals and
 * cleared retained values stay gone; non-persistent topics are not kept.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IPublishPacket } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../../sdk/src/index.js";
import { FakeClock } from "../fake-clock.js";
import { connectClient, startServer, type TestServer } from "../helpers.js";
import { RawClient, frame, props, str, u16 } from "../raw-client.js";
import { pairsOfPublish } from "../mqtt/publish-bytes.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const PAIRS: [string, string][] = [
  ["a", "1"],
  ["b", "2"],
  ["a", "3"],
];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skein-restart-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function sqliteServer(dataDir: string, clock?: FakeClock): Promise<TestServer> {
  const srv = await startServer({ dataDir, storage: { engine: "sqlite" } }, clock ? { clock } : {});
  let closed = false;
  cleanup.push(() => (closed ? undefined : srv.close()));
  return { ...srv, close: () => ((closed = true), srv.close()) };
}

describe("restart on the same data directory (sqlite)", () => {
  it("keeps SDK topics and values, and forgets removed and non-persistent ones", async () => {
    const dataDir = tempDir();
    let srv = await sqliteServer(dataDir);
    let session = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, { reconnect: false });
    await session.topics.add("sdk/empty", { type: "double" });
    await session.topics.addAndSet("sdk/text", { type: "string" }, "first");
    await session.set("sdk/text", "string", "second");
    await session.topics.addAndSet("sdk/json", { type: "json" }, { a: [1, 2] });
    await session.topics.addAndSet("sdk/gone", { type: "string" }, "x");
    expect(await session.topics.remove(">sdk/gone")).toBe(1);
    await session.topics.addAndSet(
      "sdk/volatile",
      { type: "string", properties: { persistent: false } },
      "v",
    );
    await session.close();
    await srv.close();

    srv = await sqliteServer(dataDir);
    session = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, { reconnect: false });
    cleanup.push(() => session.close());
    const { topics } = await session.fetch("?sdk//", { withValues: true });
    expect(topics.map((t) => [t.path, t.type, t.value])).toEqual([
      ["sdk/empty", "double", undefined],
      ["sdk/json", "json", { a: [1, 2] }],
      ["sdk/text", "string", "second"],
    ]);
  });

  it("keeps retained MQTT values of 3.1.1 and 5, User Properties in order, and forgets cleared ones", async () => {
    const dataDir = tempDir();
    let srv = await sqliteServer(dataDir);
    const v4 = await connectClient(srv.url(), { protocolVersion: 4 });
    await v4.publishAsync("m/v4", "three-one-one", { qos: 1, retain: true });
    await v4.publishAsync("m/cleared", "soon gone", { qos: 1, retain: true });
    await v4.publishAsync("m/cleared", "", { qos: 1, retain: true });
    await v4.publishAsync("m/live", "not retained", { qos: 1 });
    await v4.endAsync();
    // MQTT 5, QoS 1, retained, Content Type and interleaved User Properties a=1, b=2, a=3.
    const raw = await RawClient.connected(srv.addresses.mqtt as number, 5);
    const users = PAIRS.map(([n, v]) => Buffer.concat([Buffer.from([0x26]), str(n), str(v)]));
    raw.send(
      frame(
        0x33,
        str("m/v5"),
        u16(7),
        props(Buffer.from([0x03]), str("text/plain"), ...users),
        Buffer.from("five"),
      ),
    );
    const puback = await raw.next();
    expect(puback).toMatchObject({ cmd: "puback", messageId: 7 });
    raw.socket.destroy();
    await srv.close();

    srv = await sqliteServer(dataDir);
    const sub = await RawClient.connected(srv.addresses.mqtt as number, 5);
    cleanup.push(() => void sub.socket.destroy());
    const chunks: Buffer[] = [];
    sub.socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "m/v5", qos: 0 }] });
    expect((await sub.next()).cmd).toBe("suback");
    const retained = await sub.next();
    expect(retained).toMatchObject({ cmd: "publish", topic: "m/v5", retain: true });
    expect(retained.cmd === "publish" && retained.payload.toString()).toBe("five");
    expect(retained.cmd === "publish" && retained.properties?.contentType).toBe("text/plain");
    expect(pairsOfPublish(Buffer.concat(chunks))).toEqual(PAIRS);

    const reader = await connectClient(srv.url(), { protocolVersion: 4 });
    cleanup.push(() => reader.endAsync());
    const got: [string, string][] = [];
    reader.on("message", (topic, payload) => got.push([topic, payload.toString()]));
    await reader.subscribeAsync("m/#", { qos: 1 });
    await expect.poll(() => got.length).toBe(2);
    expect(got.sort()).toEqual([
      ["m/v4", "three-one-one"],
      ["m/v5", "five"],
    ]);
    expect(srv.server.getTopic("m/cleared")).toBeUndefined();
  });

  it("keeps a retained message's QoS and MQTT 5 properties; its Message Expiry counts the downtime [MQTT-3.3.2-6]", async () => {
    const dataDir = tempDir();
    const t0 = Date.now();
    let srv = await sqliteServer(dataDir, new FakeClock(t0));
    const v5 = await connectClient(srv.url(), { protocolVersion: 5 });
    const properties = {
      payloadFormatIndicator: true,
      contentType: "text/plain",
      responseTopic: "k/replies",
      correlationData: Buffer.from([0, 1, 2]),
      userProperties: { u: "v" },
    };
    await v5.publishAsync("k/q1", "one", {
      qos: 1,
      retain: true,
      properties: { ...properties, messageExpiryInterval: 600 },
    });
    await v5.publishAsync("k/q0", "zero", { qos: 0, retain: true });
    await v5.publishAsync("k/q2", "two", { qos: 2, retain: true });
    await v5.endAsync();
    await srv.close();

    srv = await sqliteServer(dataDir, new FakeClock(t0 + 100_000)); // 100 s later
    for (const protocolVersion of [4, 5] as const) {
      const reader = await connectClient(srv.url(), { protocolVersion });
      cleanup.push(() => reader.endAsync());
      const got = new Map<string, IPublishPacket>();
      reader.on("message", (topic, _payload, packet) => got.set(topic, packet));
      await reader.subscribeAsync("k/#", { qos: 2 });
      await expect.poll(() => got.size).toBe(3);
      // Each at the QoS it was published with (the subscription allows 2) [MQTT-3.3.1-9].
      expect([...got].map(([t, p]) => [t, p.payload.toString(), p.qos, p.retain]).sort()).toEqual([
        ["k/q0", "zero", 0, true],
        ["k/q1", "one", 1, true],
        ["k/q2", "two", 2, true],
      ]);
      if (protocolVersion === 5) {
        // 600 s less the 100 s it was kept, the downtime included.
        expect(got.get("k/q1")!.properties).toEqual({ ...properties, messageExpiryInterval: 500 });
        expect(got.get("k/q0")!.properties ?? {}).toEqual({});
      }
    }
  });

  it("does not restore a retained value whose Message Expiry passed while the server was down [MQTT-3.3.2-5]", async () => {
    const dataDir = tempDir();
    const t0 = Date.now();
    let srv = await sqliteServer(dataDir, new FakeClock(t0));
    const v5 = await connectClient(srv.url(), { protocolVersion: 5 });
    const expiring = { qos: 1 as const, retain: true, properties: { messageExpiryInterval: 60 } };
    await v5.publishAsync("e/short", "gone by then", expiring);
    await v5.publishAsync("e/long", "still here", {
      ...expiring,
      properties: { messageExpiryInterval: 3600 },
    });
    await v5.endAsync();
    await srv.close();

    srv = await sqliteServer(dataDir, new FakeClock(t0 + 120_000)); // two minutes later
    // (Checked before any subscription: replaying retained values drops expired ones too.)
    expect(srv.server.getTopic("e/short")?.value).toBeUndefined();
    expect(srv.server.getTopic("e/long")?.value).toBeDefined();
    const reader = await connectClient(srv.url(), { protocolVersion: 5 });
    cleanup.push(() => reader.endAsync());
    const got: string[] = [];
    reader.on("message", (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await reader.subscribeAsync("e/#", { qos: 1 });
    await expect.poll(() => got.length).toBe(1);
    expect(got).toEqual(["e/long=still here"]);
  });
});
