/**
 * The MQTT door under an Authorizer that refuses (issue 14 §1-2), over real sockets: SUBSCRIBE
 * refused per filter (v5 SUBACK 0x87, 3.1.1 0x80 [MQTT-3.9.3]), PUBLISH refused (v5 PUBACK 0x87,
 * QoS 0 dropped and counted), wills refused at CONNECT (v5 CONNACK 0x87, 3.1.1 return code 5) and
 * when sent, and deliveries checked: no live or retained message from a path the subscriber may not
 * read, and a `$share` group passes over a member that may not read.
 */
import type { IPublishPacket, ISubackPacket, Packet } from "mqtt-packet";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Reason } from "../../src/mqtt/reason-codes.js";
import { type TestServer, startServer, trustClaimedNames } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { type DenyRule, DenyRules } from "./test-authorizer.js";

let srv: TestServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await srv?.close();
  srv = undefined;
});

async function start(rules: DenyRule[]): Promise<DenyRules> {
  const authorizer = new DenyRules(rules);
  srv = await startServer({}, { authorizer, authenticators: [trustClaimedNames] });
  return authorizer;
}

async function client(username: string, version: 4 | 5 = 5, extra = {}): Promise<RawClient> {
  const c = await RawClient.connected(srv!.addresses.mqtt!, version, { username, ...extra });
  clients.push(c);
  return c;
}

const metric = (name: string, labels?: Record<string, string>): number =>
  srv!.server.metrics.get(name, labels);

const publish = (topic: string, qos: 0 | 1, messageId?: number, retain = false): Packet => ({
  cmd: "publish",
  topic,
  payload: Buffer.from("x"),
  qos,
  messageId,
  retain,
  dup: false,
});

/** Reads packets until one matches; returns every publish seen on the way (and the match). */
async function until(c: RawClient, match: (p: Packet) => boolean): Promise<IPublishPacket[]> {
  const seen: IPublishPacket[] = [];
  for (let i = 0; i < 100; i++) {
    const p = await c.next();
    if (p.cmd === "publish") seen.push(p);
    if (match(p)) return seen;
  }
  throw new Error("no matching packet in 100");
}

describe("MQTT door: operations refused by the Authorizer", () => {
  it.each([
    [5, Reason.NOT_AUTHORIZED],
    [4, 0x80],
  ] as const)("refuses a SUBSCRIBE filter per filter (v%i: %i) [MQTT-3.9.3]", async (version, code) => {
    await start([{ permission: "select_topic", principal: "bob", prefix: "secret" }]);
    const bob = await client("bob", version);
    bob.send({
      cmd: "subscribe",
      messageId: 7,
      subscriptions: [
        { topic: "public/a", qos: 1 },
        { topic: "secret/#", qos: 1 },
        { topic: "+/x", qos: 0 },
      ],
    });
    const suback = (await bob.next()) as ISubackPacket;
    expect(suback).toMatchObject({ cmd: "suback", messageId: 7, granted: [1, code, 0] });
    expect(metric("mqtt_subscriptions_refused_total", { reason: "not_authorized" })).toBe(1);
  });

  it("answers a refused PUBLISH with PUBACK 0x87 (v5) and drops a refused QoS 0 one, counted", async () => {
    await start([{ permission: "update_topic", principal: "bob", prefix: "ro" }]);
    const watcher = await client("alice");
    watcher.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "#", qos: 1 }] });
    expect(await watcher.next()).toMatchObject({ cmd: "suback" });
    const bob = await client("bob");
    bob.send(publish("ro/x", 1, 3));
    expect(await bob.next()).toMatchObject({
      cmd: "puback",
      messageId: 3,
      reasonCode: Reason.NOT_AUTHORIZED,
    });
    bob.send(publish("ro/y", 0));
    bob.send(publish("ok/marker", 0));
    const seen = await until(watcher, (p) => p.cmd === "publish" && p.topic === "ok/marker");
    expect(seen.map((p) => p.topic)).toEqual(["ok/marker"]);
    expect(metric("mqtt_publishes_refused_total", { reason: "0x87" })).toBe(2);
    expect(srv!.server.getTopic("ro/x")).toBeUndefined();
  });

  it("refuses to create a topic without modify_topic (PUBACK 0x87) but updates an existing one", async () => {
    await start([{ permission: "modify_topic", principal: "bob" }]);
    const alice = await client("alice");
    alice.send(publish("made/by-alice", 1, 1, true));
    expect(await alice.next()).toMatchObject({ cmd: "puback", messageId: 1 });
    const bob = await client("bob");
    bob.send(publish("made/by-bob", 1, 2));
    expect(await bob.next()).toMatchObject({ cmd: "puback", reasonCode: Reason.NOT_AUTHORIZED });
    bob.send(publish("made/by-alice", 1, 3));
    expect(await bob.next()).toMatchObject({ cmd: "puback", messageId: 3, reasonCode: 0 });
  });

  it.each([
    [5, { reasonCode: Reason.NOT_AUTHORIZED }],
    [4, { returnCode: 5 }],
  ] as const)("refuses a will the client may not publish at CONNECT (v%i)", async (version, expected) => {
    await start([{ permission: "update_topic", principal: "bob", prefix: "wills" }]);
    const raw = await RawClient.open(srv!.addresses.mqtt!, version);
    clients.push(raw);
    raw.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: version,
      clientId: "bob-1",
      clean: true,
      keepalive: 0,
      username: "bob",
      will: { topic: "wills/bob", payload: Buffer.from("gone"), qos: 0, retain: false },
    });
    expect(await raw.next()).toMatchObject({ cmd: "connack", ...expected });
    await raw.waitClosed();
    expect(metric("mqtt_wills_refused_total")).toBe(1);
  });

  it("drops a will refused when it is sent (the permission went after CONNECT), counted", async () => {
    const authorizer = await start([]);
    const watcher = await client("alice");
    watcher.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "wills/#", qos: 0 }] });
    expect(await watcher.next()).toMatchObject({ cmd: "suback" });
    const bob = await client("bob", 5, {
      will: { topic: "wills/bob", payload: Buffer.from("gone"), qos: 0, retain: false },
    });
    authorizer.set([{ permission: "update_topic", principal: "bob", prefix: "wills" }]);
    bob.destroy();
    await vi.waitFor(() => expect(metric("mqtt_wills_refused_total")).toBe(1));
    await watcher.ping();
    expect(watcher.packets.filter((p) => p.cmd === "publish")).toEqual([]);
  });
});

describe("MQTT door: deliveries checked against read_topic", () => {
  it("sends a subscriber neither retained nor live messages from paths it may not read", async () => {
    await start([{ permission: "read_topic", principal: "carol", prefix: "secret" }]);
    const alice = await client("alice");
    alice.send(publish("secret/a", 1, 1, true));
    alice.send(publish("public/a", 1, 2, true));
    expect(await alice.next()).toMatchObject({ cmd: "puback", messageId: 1 });
    expect(await alice.next()).toMatchObject({ cmd: "puback", messageId: 2 });
    const carol = await client("carol");
    carol.send({ cmd: "subscribe", messageId: 5, subscriptions: [{ topic: "#", qos: 0 }] });
    alice.send(publish("secret/b", 0));
    const seen = await until(carol, (p) => p.cmd === "suback");
    alice.send(publish("public/b", 0));
    seen.push(...(await until(carol, (p) => p.cmd === "publish" && p.topic === "public/b")));
    expect(seen.map((p) => p.topic).sort()).toEqual(["public/a", "public/b"]);
    // The retained one is the stored value; nothing else arrived.
    await carol.ping();
    expect(carol.packets.filter((p) => p.cmd === "publish" && p.topic.startsWith("secret"))).toEqual([]);
    expect(metric("skein_deliveries_refused_total")).toBeGreaterThanOrEqual(2);
  });

  it("passes a $share delivery to a group member that may read, never to one that may not", async () => {
    await start([{ permission: "read_topic", principal: "carol", prefix: "secret" }]);
    const carol = await client("carol");
    const dave = await client("dave");
    for (const c of [carol, dave]) {
      c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "$share/g/secret/#", qos: 0 }] });
      expect(await c.next()).toMatchObject({ cmd: "suback", granted: [0] });
    }
    const alice = await client("alice");
    for (let i = 0; i < 4; i++) alice.send(publish(`secret/${i}`, 0));
    const got: string[] = [];
    while (got.length < 4) {
      const p = await dave.next();
      if (p.cmd === "publish") got.push(p.topic);
    }
    expect(got).toEqual(["secret/0", "secret/1", "secret/2", "secret/3"]);
    // Anything written to carol before dave's last message would come before this PINGRESP.
    await carol.ping();
    expect(carol.packets.filter((p) => p.cmd === "publish")).toEqual([]);
  });

  it("drops a $share delivery when no member may read it", async () => {
    await start([{ permission: "read_topic", principal: "carol", prefix: "secret" }]);
    const carol = await client("carol");
    carol.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "$share/g/#", qos: 0 }] });
    expect(await carol.next()).toMatchObject({ cmd: "suback", granted: [0] });
    const alice = await client("alice");
    alice.send(publish("secret/0", 0));
    alice.send(publish("public/0", 0));
    const seen = await until(carol, (p) => p.cmd === "publish" && p.topic === "public/0");
    expect(seen.map((p) => p.topic)).toEqual(["public/0"]);
  });
});
