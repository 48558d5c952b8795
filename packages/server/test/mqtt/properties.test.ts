/**
 * MQTT 5 PUBLISH properties: passed through unchanged [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17]
 * [MQTT-3.3.2-18] [MQTT-3.3.2-20], Message Expiry [MQTT-3.3.2-5] [MQTT-3.3.2-6], Topic Alias both
 * ways, Maximum Packet Size both ways [MQTT-3.1.2-24] [MQTT-3.1.2-25], Payload Format Indicator.
 */
import type { IDisconnectPacket } from "mqtt-packet";
import { describe, expect } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { roundTrip, waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, mqttTest, persistent } from "./fixture.js";

describe.concurrent.each(TRANSPORTS)("v5 properties over %s", (transport) => {
  const it = mqttTest(transport);

  it("passes user properties, response topic, correlation data, content type and format indicator through", async ({
    f,
  }) => {
    await f.start();
    const live = await f.connect({ protocolVersion: 5 });
    await live.client.subscribeAsync("props/#", { qos: 1 });
    const old = await f.connect({ protocolVersion: 4 });
    await old.client.subscribeAsync("props/#", { qos: 1 });
    const pub = await f.connect({ protocolVersion: 5 });
    const properties = {
      userProperties: { region: "eu", tag: ["a", "b", "a"] },
      responseTopic: "props/replies/1",
      correlationData: Buffer.from([0, 1, 2, 255]),
      contentType: "text/plain; charset=utf-8",
      payloadFormatIndicator: true,
      messageExpiryInterval: 60,
    };
    await pub.client.publishAsync("props/a", "héllo", { qos: 1, retain: true, properties });
    await waitFor(() => live.got.length === 1 && old.got.length === 1, "the message on both");
    expect(live.got[0]!.packet.properties).toEqual({ ...properties });
    expect(live.got[0]!.payload.toString()).toBe("héllo");
    // A 3.1.1 subscriber gets the same payload, without properties.
    expect(old.got[0]!.payload.toString()).toBe("héllo");

    // The retained copy carries them too.
    const late = await f.connect({ protocolVersion: 5 });
    await late.client.subscribeAsync("props/a", { qos: 1 });
    await waitFor(() => late.got.length === 1, "the retained message");
    const { messageExpiryInterval, ...rest } = late.got[0]!.packet.properties ?? {};
    expect(rest).toEqual({ ...properties, messageExpiryInterval: undefined });
    expect(messageExpiryInterval).toBeGreaterThan(0);
    expect(messageExpiryInterval).toBeLessThanOrEqual(60);
  });

  it("expires messages queued for an offline session, and sends the remaining interval with the rest", async ({
    f,
  }) => {
    const clock = new FakeClock();
    await f.start({}, { clock });
    const sub = await f.connect(persistent(5, "expiring"));
    await sub.client.subscribeAsync("exp/#", { qos: 1 });
    await sub.client.endAsync();
    const pub = await f.connect({ protocolVersion: 5 });
    await pub.client.publishAsync("exp/short", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync("exp/long", "long", { qos: 1, properties: { messageExpiryInterval: 10 } });
    await pub.client.publishAsync("exp/never", "never", { qos: 1 });
    await pub.client.publishAsync("exp/retained", "r", {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    clock.advance(1000); // time passing is the point: the 1 s messages expire while queued

    const back = await f.connect(persistent(5, "expiring"));
    await waitFor(() => back.got.length >= 2, "the unexpired messages");
    await roundTrip(back.client);
    expect(back.got.map((m) => m.topic)).toEqual(["exp/long", "exp/never"]);
    // The remaining lifetime, not the original 10 s [MQTT-3.3.2-6].
    expect(back.got[0]!.packet.properties?.messageExpiryInterval).toBe(9);
    expect(back.got[1]!.packet.properties?.messageExpiryInterval).toBeUndefined();
    expect(f.srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "expired" })).toBe(2);

    // An expired retained message is not sent to new subscribers either.
    const late = await f.connect({ protocolVersion: 5 });
    await late.client.subscribeAsync("exp/#", { qos: 1 });
    await roundTrip(late.client); // retained messages follow the SUBACK at once
    expect(late.got).toHaveLength(0);
  });

  it("resolves Topic Aliases a client sets, and lets it re-map one", async ({ f }) => {
    await f.start({ mqtt: { topicAliasMaximum: 2 } });
    const sub = await f.connect({ protocolVersion: 5 });
    await sub.client.subscribeAsync("alias/#", { qos: 1 });
    const pub = await f.connect({ protocolVersion: 5 });
    expect(pub.connack.properties?.topicAliasMaximum).toBe(2);
    await pub.client.publishAsync("alias/one", "1", { qos: 1, properties: { topicAlias: 1 } });
    await pub.client.publishAsync("", "2", { qos: 1, properties: { topicAlias: 1 } });
    await pub.client.publishAsync("alias/two", "3", { qos: 1, properties: { topicAlias: 1 } });
    await pub.client.publishAsync("", "4", { qos: 1, properties: { topicAlias: 1 } });
    await waitFor(() => sub.got.length === 4, "four messages");
    expect(sub.got.map((m) => `${m.topic}=${m.payload.toString()}`)).toEqual([
      "alias/one=1",
      "alias/one=2",
      "alias/two=3",
      "alias/two=4",
    ]);
    // The alias is the sender's business: subscribers see the topic name, no alias.
    expect(sub.got.every((m) => m.packet.properties?.topicAlias === undefined)).toBe(true);
  });

  it("closes with 0x94 for a Topic Alias above its maximum, and 0x82 for one never set", async ({ f }) => {
    await f.start({ mqtt: { topicAliasMaximum: 2 } });
    const tooHigh = await f.raw();
    await tooHigh.connect({ protocolVersion: 5, clientId: "alias-3" });
    tooHigh.send({
      cmd: "publish",
      topic: "alias/x",
      payload: Buffer.from("x"),
      qos: 0,
      dup: false,
      retain: false,
      properties: { topicAlias: 3 },
    });
    expect((await tooHigh.next("disconnect")).reasonCode).toBe(0x94); // [MQTT-3.3.2-9]
    await tooHigh.waitClosed();

    const unknown = await f.raw();
    await unknown.connect({ protocolVersion: 5, clientId: "alias-unknown" });
    unknown.send({
      cmd: "publish",
      topic: "",
      payload: Buffer.from("x"),
      qos: 0,
      dup: false,
      retain: false,
      properties: { topicAlias: 1 },
    });
    expect((await unknown.next("disconnect")).reasonCode).toBe(0x82);
    await unknown.waitClosed();
  });

  it("uses Topic Aliases towards a client that allows them, up to its maximum", async ({ f }) => {
    await f.start();
    const sub = await f.connect({ protocolVersion: 5, properties: { topicAliasMaximum: 2 } });
    await sub.client.subscribeAsync("out/#", { qos: 1 });
    const none = await f.connect({ protocolVersion: 5 });
    await none.client.subscribeAsync("out/#", { qos: 1 });
    const pub = await f.connect({ protocolVersion: 5 });
    const topics = ["out/1", "out/2", "out/3", "out/1", "out/2", "out/3"];
    for (const [i, t] of topics.entries()) await pub.client.publishAsync(t, String(i), { qos: 1 });
    await waitFor(() => sub.got.length === 6 && none.got.length === 6, "six messages on both");
    // MQTT.js resolves the aliases: the topics are right.
    expect(sub.got.map((m) => m.topic)).toEqual(topics);
    const aliases = sub.got.map((m) => m.packet.properties?.topicAlias);
    expect(aliases.slice(0, 2)).toEqual([aliases[3], aliases[4]]);
    expect(new Set(aliases.slice(0, 2)).size).toBe(2);
    expect(aliases.every((a) => a === undefined || (a >= 1 && a <= 2))).toBe(true); // [MQTT-3.3.2-10]
    expect([aliases[2], aliases[5]]).toEqual([undefined, undefined]);
    // Repeats went out with an empty topic name and the alias alone.
    expect([3, 4].map((i) => sub.got[i]!.packet.topic)).toEqual(["", ""]);
    expect(sub.errors).toEqual([]);
    // A client that set no Topic Alias Maximum never gets one [MQTT-3.3.2-11].
    expect(none.got.every((m) => m.packet.properties?.topicAlias === undefined)).toBe(true);
  });

  it("does not send a client messages larger than its Maximum Packet Size, and counts them", async ({
    f,
  }) => {
    await f.start();
    // Receive Maximum 1: a discarded QoS 1 message must not hold the window [MQTT-3.1.2-25].
    const sub = await f.connect({
      protocolVersion: 5,
      properties: { maximumPacketSize: 256, receiveMaximum: 1 },
    });
    await sub.client.subscribeAsync("big/#", { qos: 1 });
    const pub = await f.connect({ protocolVersion: 5 });
    const big = Buffer.alloc(1000, 0x61);
    await pub.client.publishAsync("big/0", big, { qos: 1 });
    await pub.client.publishAsync("big/1", big, { qos: 1 });
    await pub.client.publishAsync("big/2", "small", { qos: 1 });
    await pub.client.publishAsync("big/3", big, { qos: 0 });
    await pub.client.publishAsync("big/4", "small", { qos: 0 });
    await waitFor(() => sub.got.length === 2, "the small messages");
    await roundTrip(sub.client);
    expect(sub.got.map((m) => m.topic)).toEqual(["big/2", "big/4"]);
    expect(
      f.srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "client_max_packet_size" }),
    ).toBe(3);
    expect(sub.client.connected).toBe(true);
  });

  it("refuses a payload declared UTF-8 that is not (PUBACK 0x99), keeping the connection", async ({ f }) => {
    await f.start();
    const sub = await f.connect({ protocolVersion: 5 });
    await sub.client.subscribeAsync("pfi/#", { qos: 1 });
    const pub = await f.connect({ protocolVersion: 5 });
    const bad = pub.client.publishAsync("pfi/a", Buffer.from([0xff, 0xfe]), {
      qos: 1,
      properties: { payloadFormatIndicator: true },
    });
    await expect(bad).rejects.toMatchObject({ code: 0x99 }); // [MQTT-3.3.2-4]
    await pub.client.publishAsync("pfi/a", "fine", { qos: 1, properties: { payloadFormatIndicator: true } });
    await waitFor(() => sub.got.length === 1, "the valid message");
    expect(sub.got[0]!.payload.toString()).toBe("fine");
  });

  it("accepts packets up to a raised mqtt.maxPacketSize, beyond the default WebSocket message size", async ({
    f,
  }) => {
    await f.start({ mqtt: { maxPacketSize: 3_000_000 } });
    const sub = await f.connect({ protocolVersion: 5 });
    await sub.client.subscribeAsync("large/t", { qos: 1 });
    const pub = await f.connect({ protocolVersion: 5 });
    await pub.client.publishAsync("large/t", Buffer.alloc(2_000_000, 0x2a), { qos: 1 });
    await waitFor(() => sub.got.length === 1, "the 2 MB message");
    expect(sub.got[0]!.payload.equals(Buffer.alloc(2_000_000, 0x2a))).toBe(true);
  });

  it.for(VERSIONS)(
    "v%i: announces its Maximum Packet Size and closes on a larger packet",
    async (protocolVersion, { f }) => {
      await f.start({ mqtt: { maxPacketSize: 1024 } });
      const pub = await f.connect({ protocolVersion });
      if (protocolVersion === 5) expect(pub.connack.properties?.maximumPacketSize).toBe(1024);
      const disconnects: IDisconnectPacket[] = [];
      pub.client.on("disconnect", (p) => disconnects.push(p));
      let closed = false;
      pub.client.on("close", () => (closed = true));
      pub.client.publish("huge/a", Buffer.alloc(2000), { qos: 0 });
      await waitFor(() => closed, "the connection to close");
      // [MQTT-3.1.2-24]: v5 is told 0x95 Packet too large.
      expect(disconnects.map((d) => d.reasonCode)).toEqual(protocolVersion === 5 ? [0x95] : []);
    },
  );
});
