/**
 * Subscriptions: wildcards and `$`-topics [MQTT-4.7.2-1], overlapping filters, unsubscribe, invalid
 * filters, and the v5 options: No Local, Subscription Identifiers, shared subscriptions [MQTT-4.8.2].
 */
import { describe, expect } from "vitest";
import { roundTrip, waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, mqttTest, persistent } from "./fixture.js";

describe.concurrent.each(TRANSPORTS)("subscriptions over %s", (transport) => {
  const it = mqttTest(transport);

  describe.each(VERSIONS)("protocol version %i", (protocolVersion) => {
    it("does not match $-topics with a leading wildcard; $foo/# and $foo/+ do", async ({ f }) => {
      await f.start();
      const wild = await f.connect({ protocolVersion });
      await wild.client.subscribeAsync(["#", "+/x", "+/+"], { qos: 1 });
      const dollar = await f.connect({ protocolVersion });
      await dollar.client.subscribeAsync(["$foo/#", "$foo/+"], { qos: 1 });
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("$foo/x", "system-ish", { qos: 1 });
      await pub.client.publishAsync("$foo/y", "retained", { qos: 1, retain: true });
      await pub.client.publishAsync("plain/x", "plain", { qos: 1 });
      await waitFor(() => dollar.got.length === 2 && wild.got.length === 1, "deliveries");
      await roundTrip(wild.client, dollar.client);
      expect(wild.got.map((m) => m.topic)).toEqual(["plain/x"]);
      // One delivery per message even though two filters match [MQTT-3.3.5-1].
      expect(dollar.got.map((m) => m.topic)).toEqual(["$foo/x", "$foo/y"]);

      // Retained $-topics are not sent to a leading wildcard either.
      const late = await f.connect({ protocolVersion });
      await late.client.subscribeAsync(["#", "+/y"], { qos: 1 });
      await roundTrip(late.client); // retained messages follow the SUBACK at once
      expect(late.got).toHaveLength(0);
    });

    it("refuses publishes to $SYS (v5 PUBACK 0x87) and delivers nothing", async ({ f }) => {
      await f.start();
      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync("$SYS/#", { qos: 1 });
      const pub = await f.connect({ protocolVersion });
      const sent = pub.client.publishAsync("$SYS/fake", "nope", { qos: 1 });
      if (protocolVersion === 5) await expect(sent).rejects.toMatchObject({ code: 0x87 });
      else await sent; // 3.1.1 has no negative PUBACK
      await roundTrip(sub.client);
      // The server's own $SYS/broker figures may arrive; the client's publish must not.
      expect(sub.got.filter((m) => m.topic === "$SYS/fake")).toHaveLength(0);
      expect(pub.client.connected).toBe(true);
    });

    it("delivers a message matching overlapping subscriptions once, at their highest QoS", async ({ f }) => {
      await f.start();
      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync({ "ov/#": { qos: 0 }, "ov/+": { qos: 2 }, "ov/a": { qos: 1 } });
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("ov/a", "once", { qos: 2 });
      await waitFor(() => sub.got.length === 1, "the message");
      await roundTrip(sub.client);
      expect(sub.got).toHaveLength(1);
      expect(sub.got[0]!.packet.qos).toBe(2);
    });

    it("stops delivering after UNSUBSCRIBE", async ({ f }) => {
      await f.start();
      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync(["unsub/a", "unsub/b"], { qos: 1 });
      const pub = await f.connect({ protocolVersion });
      await sub.client.unsubscribeAsync("unsub/a");
      await pub.client.publishAsync("unsub/a", "gone", { qos: 1 });
      await pub.client.publishAsync("unsub/b", "kept", { qos: 1 });
      await waitFor(() => sub.got.length === 1, "the message");
      await roundTrip(sub.client);
      expect(sub.got.map((m) => m.topic)).toEqual(["unsub/b"]);
    });

    it("refuses an invalid filter in SUBACK (0x80, v5 0x8F) and keeps the connection", async ({ f }) => {
      await f.start();
      const raw = await f.raw();
      await raw.connect({ protocolVersion, clientId: "bad-filter" });
      // MQTT.js validates filters itself, so a raw client sends the bad one [MQTT-4.7.1-1].
      raw.send({
        cmd: "subscribe",
        messageId: 3,
        subscriptions: [
          { topic: "a/#/b", qos: 1 },
          { topic: "fine/+", qos: 1 },
        ],
      });
      const suback = await raw.next("suback");
      expect(suback.granted).toEqual([protocolVersion === 5 ? 0x8f : 0x80, 1]);
      raw.send({ cmd: "pingreq" });
      await raw.next("pingresp");
      expect(raw.closed).toBe(false);
    });
  });

  describe("v5 subscription options", () => {
    it("No Local: a client does not get its own publishes on that subscription", async ({ f }) => {
      await f.start();
      const self = await f.connect({ protocolVersion: 5 });
      await self.client.subscribeAsync("nl/local", { qos: 1, nl: true });
      await self.client.subscribeAsync("nl/other", { qos: 1, nl: false });
      await self.client.publishAsync("nl/local", "own, no local", { qos: 1 });
      await self.client.publishAsync("nl/other", "own, local", { qos: 1 });
      const other = await f.connect({ protocolVersion: 5 });
      await other.client.publishAsync("nl/local", "someone else's", { qos: 1 });
      await waitFor(() => self.got.length === 2, "two messages");
      await roundTrip(self.client);
      // [MQTT-3.8.3-3]
      expect(self.got.map((m) => m.payload.toString()).sort()).toEqual(["own, local", "someone else's"]);
    });

    it("No Local on a shared subscription is a protocol error [MQTT-3.8.3-4]", async ({ f }) => {
      await f.start();
      const raw = await f.raw();
      await raw.connect({ protocolVersion: 5, clientId: "nl-shared" });
      raw.send({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "$share/g/t", qos: 1, nl: true }],
      });
      expect((await raw.next("disconnect")).reasonCode).toBe(0x82);
      await raw.waitClosed();
    });

    it("carries the Subscription Identifiers of every matching subscription, retained messages too", async ({
      f,
    }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion: 5 });
      await pub.client.publishAsync("sid/r", "retained", { qos: 1, retain: true });
      const sub = await f.connect({ protocolVersion: 5 });
      await sub.client.subscribeAsync("sid/#", { qos: 1, properties: { subscriptionIdentifier: 7 } });
      await waitFor(() => sub.got.length === 1, "the retained message");
      expect(sub.got[0]!.packet.properties?.subscriptionIdentifier).toBe(7);

      await sub.client.subscribeAsync("sid/+", { qos: 1, properties: { subscriptionIdentifier: 300 } });
      await sub.client.subscribeAsync("sid/none/+", { qos: 1 });
      // (the second subscribe sent the retained message again, Retain Handling 0)
      await waitFor(() => sub.got.length === 2, "the retained message again");
      expect(sub.got[1]!.packet.properties?.subscriptionIdentifier).toBe(300);

      await pub.client.publishAsync("sid/a", "both", { qos: 1 });
      await pub.client.publishAsync("sid/none/x", "no id", { qos: 1 });
      await waitFor(() => sub.got.length === 4, "two live messages");
      const both = sub.got[2]!.packet.properties?.subscriptionIdentifier;
      // [MQTT-3.3.4-3]: one copy with every matching identifier.
      expect([both ?? []].flat().sort((a, b) => a - b)).toEqual([7, 300]);
      expect(sub.got[3]!.packet.properties?.subscriptionIdentifier).toEqual(7);

      // Re-subscribing without an identifier removes it from that subscription.
      await sub.client.subscribeAsync("sid/#", { qos: 1, rh: 2 });
      await pub.client.publishAsync("sid/none/x", "none now", { qos: 1 });
      await waitFor(() => sub.got.length === 5, "the last message");
      expect(sub.got[4]!.packet.properties?.subscriptionIdentifier).toBeUndefined();
    });

    it("spreads a shared subscription's messages across its members: disjoint, nothing lost", async ({
      f,
    }) => {
      await f.start();
      const a = await f.connect({ protocolVersion: 5 });
      const b = await f.connect({ protocolVersion: 5 });
      const otherGroup = await f.connect({ protocolVersion: 5 });
      const plain = await f.connect({ protocolVersion: 5 });
      await a.client.subscribeAsync("$share/workers/jobs/#", { qos: 1 });
      await b.client.subscribeAsync("$share/workers/jobs/#", { qos: 1 });
      await otherGroup.client.subscribeAsync("$share/auditors/jobs/#", { qos: 1 });
      await plain.client.subscribeAsync("jobs/#", { qos: 1 });
      const pub = await f.connect({ protocolVersion: 5 });
      const n = 20;
      for (let i = 0; i < n; i++) await pub.client.publishAsync(`jobs/${i}`, String(i), { qos: 1 });

      await waitFor(() => a.got.length + b.got.length === n, "every job in the group");
      await waitFor(() => otherGroup.got.length === n && plain.got.length === n, "every job elsewhere");
      await roundTrip(a.client, b.client, otherGroup.client, plain.client);
      const ofA = a.got.map((m) => Number(m.payload.toString()));
      const ofB = b.got.map((m) => Number(m.payload.toString()));
      expect(ofA.length).toBeGreaterThan(0);
      expect(ofB.length).toBeGreaterThan(0);
      expect(ofA.filter((x) => ofB.includes(x))).toEqual([]);
      expect([...ofA, ...ofB].sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
    });

    it("prefers connected members: an offline persistent member does not take the group's messages", async ({
      f,
    }) => {
      await f.start();
      const a = await f.connect(persistent(5, "offline-member"));
      const b = await f.connect({ protocolVersion: 5 });
      await a.client.subscribeAsync("$share/g/leave/#", { qos: 1 });
      await b.client.subscribeAsync("$share/g/leave/#", { qos: 1 });
      await a.client.endAsync();
      const pub = await f.connect({ protocolVersion: 5 });
      for (let i = 0; i < 6; i++) await pub.client.publishAsync("leave/t", String(i), { qos: 1 });
      await waitFor(() => b.got.length === 6, "all six on the remaining member");
    });
  });
});
