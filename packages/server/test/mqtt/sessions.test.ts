/**
 * Persistent sessions [MQTT-4.1.0-1] [MQTT-3.1.2-4] [MQTT-3.1.2-5]: subscriptions and QoS 1/2 messages
 * kept while the client is offline, for the session expiry interval (v5) or until a clean session
 * (3.1.1); the bounded queue and its counted drops; session expiry ending a session.
 */
import { describe, expect } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { roundTrip, waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, mqttTest, persistent } from "./fixture.js";

const payloads = (got: { payload: Buffer }[]): string[] => got.map((m) => m.payload.toString());

describe.concurrent.each(TRANSPORTS)("sessions over %s", (transport) => {
  const it = mqttTest(transport);

  describe.each(VERSIONS)("protocol version %i", (protocolVersion) => {
    it("keeps subscriptions and queued QoS 1 and 2 messages while the client is offline", async ({ f }) => {
      await f.start();
      const sub = await f.connect(persistent(protocolVersion, "keeper"));
      await sub.client.subscribeAsync({ "keep/one": { qos: 1 }, "keep/two": { qos: 2 } });
      await sub.client.endAsync();

      const pub = await f.connect({ protocolVersion });
      for (let i = 0; i < 3; i++) {
        await pub.client.publishAsync("keep/one", `1-${i}`, { qos: 1 });
        await pub.client.publishAsync("keep/two", `2-${i}`, { qos: 2 });
      }
      const back = await f.connect(persistent(protocolVersion, "keeper"));
      expect(back.connack.sessionPresent).toBe(true);
      await waitFor(() => back.got.length === 6, "the queued messages");
      // In order per topic [MQTT-4.6.0-6] (MQTT.js emits QoS 2 messages a round trip later, on PUBREL).
      const of = (topic: string) => back.got.filter((m) => m.topic === topic);
      expect(payloads(of("keep/one"))).toEqual(["1-0", "1-1", "1-2"]);
      expect(payloads(of("keep/two"))).toEqual(["2-0", "2-1", "2-2"]);
      expect(of("keep/one").every((m) => m.packet.qos === 1)).toBe(true);
      expect(of("keep/two").every((m) => m.packet.qos === 2)).toBe(true);

      // The subscriptions are still in place (nothing was re-subscribed).
      await pub.client.publishAsync("keep/two", "live", { qos: 2 });
      await waitFor(() => back.got.length === 7, "a live message");
    });

    it("forgets the session when the client comes back with a clean session / clean start", async ({ f }) => {
      await f.start();
      const sub = await f.connect(persistent(protocolVersion, "forgetful"));
      await sub.client.subscribeAsync("forget/#", { qos: 1 });
      await sub.client.endAsync();
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("forget/a", "queued", { qos: 1 });

      const clean = await f.connect({ protocolVersion, clientId: "forgetful", clean: true });
      expect(clean.connack.sessionPresent).toBe(false);
      await pub.client.publishAsync("forget/a", "after", { qos: 1 });
      await roundTrip(clean.client);
      // Neither the queued message nor the old subscription survived [MQTT-3.1.2-6].
      expect(clean.got).toHaveLength(0);
    });

    it("bounds the offline queue at mqtt.maxQueuedMessages, dropping the oldest and counting it", async ({
      f,
    }) => {
      await f.start({ mqtt: { maxQueuedMessages: 5 } });
      const sub = await f.connect(persistent(protocolVersion, "bounded"));
      await sub.client.subscribeAsync("bounded/#", { qos: 1 });
      await sub.client.endAsync();
      const pub = await f.connect({ protocolVersion });
      for (let i = 0; i < 8; i++) await pub.client.publishAsync("bounded/t", String(i), { qos: 1 });
      expect(f.srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "queue_full" })).toBe(3);

      const back = await f.connect(persistent(protocolVersion, "bounded"));
      await waitFor(() => back.got.length === 5, "the five kept messages");
      await roundTrip(back.client);
      expect(payloads(back.got)).toEqual(["3", "4", "5", "6", "7"]);
    });

    it("drops the newest instead with queueDropPolicy drop-newest", async ({ f }) => {
      await f.start({ mqtt: { maxQueuedMessages: 5, queueDropPolicy: "drop-newest" } });
      const sub = await f.connect(persistent(protocolVersion, "bounded-newest"));
      await sub.client.subscribeAsync("bounded/#", { qos: 2 });
      await sub.client.endAsync();
      const pub = await f.connect({ protocolVersion });
      for (let i = 0; i < 8; i++) await pub.client.publishAsync("bounded/t", String(i), { qos: 2 });
      expect(f.srv.server.metrics.total("mqtt_messages_dropped_total")).toBe(3);

      const back = await f.connect(persistent(protocolVersion, "bounded-newest"));
      await waitFor(() => back.got.length === 5, "the five kept messages");
      await roundTrip(back.client);
      expect(payloads(back.got)).toEqual(["0", "1", "2", "3", "4"]);
    });

    it("ends a session when its expiry interval passes offline", async ({ f }) => {
      // v5: Session Expiry Interval 1 s; 3.1.1: the server's persistentSessionExpirySec.
      const clock = new FakeClock();
      await f.start({ mqtt: { persistentSessionExpirySec: 1 } }, { clock });
      const metrics = f.srv.server.metrics;
      const sub = await f.connect(persistent(protocolVersion, "mortal", 1));
      await sub.client.subscribeAsync("mortal/#", { qos: 1 });
      await sub.client.endAsync();
      await waitFor(() => metrics.get("mqtt_connections") === 0, "the server to see the disconnection");
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("mortal/a", "queued", { qos: 1 });
      clock.advance(999);
      expect(metrics.get("mqtt_sessions")).toBe(2); // still kept, one millisecond before its expiry
      clock.advance(1);
      expect(metrics.get("mqtt_sessions")).toBe(1);

      const back = await f.connect(persistent(protocolVersion, "mortal", 1));
      expect(back.connack.sessionPresent).toBe(false);
      await pub.client.publishAsync("mortal/a", "after", { qos: 1 });
      await roundTrip(back.client);
      expect(back.got).toHaveLength(0);
    });
  });

  describe("v5", () => {
    it("ends the session at once when DISCONNECT sets the Session Expiry Interval to 0", async ({ f }) => {
      await f.start();
      const sub = await f.connect(persistent(5, "short-lived", 3600));
      await sub.client.subscribeAsync("short/#", { qos: 1 });
      await new Promise<void>((resolve) =>
        sub.client.end(false, { properties: { sessionExpiryInterval: 0 } }, () => resolve()),
      );
      await waitFor(() => f.srv.server.metrics.get("mqtt_sessions") === 0, "the session to end");
      const back = await f.connect(persistent(5, "short-lived", 3600));
      expect(back.connack.sessionPresent).toBe(false);
    });

    it("treats DISCONNECT raising the expiry from 0 as a protocol error: 0x82, will sent", async ({ f }) => {
      await f.start();
      const watcher = await f.connect({ protocolVersion: 5 });
      await watcher.client.subscribeAsync("raise/will", { qos: 1 });
      const raw = await f.raw();
      await raw.connect({
        protocolVersion: 5,
        clientId: "raiser",
        will: { topic: "raise/will", payload: Buffer.from("protocol error"), qos: 1, retain: false },
      });
      raw.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
      // MQTT 5 §3.14.2.2.2: a Protocol Error; the server closes, and that is not a normal disconnection.
      expect((await raw.next("disconnect")).reasonCode).toBe(0x82);
      await raw.waitClosed();
      await waitFor(() => watcher.got.length === 1, "the will");
      const back = await f.connect(persistent(5, "raiser"));
      expect(back.connack.sessionPresent).toBe(false);
    });

    it("bounds the queue of a connected client that does not acknowledge, too", async ({ f }) => {
      await f.start({ mqtt: { maxQueuedMessages: 3 } });
      const sub = await f.raw();
      await sub.connect({ protocolVersion: 5, clientId: "stalled", properties: { receiveMaximum: 1 } });
      sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "stalled/#", qos: 1 }] });
      await sub.next("suback");
      const pub = await f.connect({ protocolVersion: 5 });
      // One in flight, three queued, two dropped (the oldest queued).
      for (let i = 0; i < 6; i++) await pub.client.publishAsync("stalled/t", String(i), { qos: 1 });
      expect(f.srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "queue_full" })).toBe(2);
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        const p = await sub.next("publish");
        got.push(p.payload.toString());
        sub.send({ cmd: "puback", messageId: p.messageId });
      }
      // A round trip: a fifth PUBLISH (a dropped message after all) would arrive before the PINGRESP.
      sub.send({ cmd: "pingreq" });
      await sub.next("pingresp");
      expect(sub.all("publish")).toHaveLength(4);
      expect(got).toEqual(["0", "3", "4", "5"]);
    });
  });
});
