/**
 * Retained messages [MQTT-3.3.1-5] to [MQTT-3.3.1-13]: stored, replaced, cleared by an empty payload,
 * sent to new subscribers with the retain flag; v5 Retain Handling 0/1/2 and Retain As Published.
 */
import { describe, expect } from "vitest";
import { roundTrip, waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, mqttTest } from "./fixture.js";

describe.concurrent.each(TRANSPORTS)("retained messages over %s", (transport) => {
  const it = mqttTest(transport);

  describe.each(VERSIONS)("protocol version %i", (protocolVersion) => {
    it("sends the retained message to new subscribers; a newer one replaces it; an empty one clears it", async ({
      f,
    }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("ret/a", "first", { qos: 1, retain: true });
      await pub.client.publishAsync("ret/a", "second", { qos: 1, retain: true });
      // A QoS 0 retained message is stored too [MQTT-3.3.1-5].
      await pub.client.publishAsync("ret/b", "zero", { qos: 0, retain: true });
      // A non-retained publish leaves the retained message alone.
      await pub.client.publishAsync("ret/a", "not retained", { qos: 1 });

      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync("ret/+", { qos: 1 });
      await waitFor(() => sub.got.length === 2, "two retained messages");
      const byTopic = Object.fromEntries(sub.got.map((m) => [m.topic, m]));
      expect(byTopic["ret/a"]!.payload.toString()).toBe("second");
      expect(byTopic["ret/a"]!.packet.retain).toBe(true); // [MQTT-3.3.1-8]
      expect(byTopic["ret/a"]!.packet.qos).toBe(1);
      expect(byTopic["ret/b"]!.payload.toString()).toBe("zero");
      expect(byTopic["ret/b"]!.packet.qos).toBe(0);

      // An empty retained payload clears it [MQTT-3.3.1-10] and is itself forwarded to subscribers.
      await pub.client.publishAsync("ret/a", "", { qos: 1, retain: true });
      await waitFor(() => sub.got.length === 3, "the clearing message");
      expect(sub.got[2]!.payload.length).toBe(0);
      const late = await f.connect({ protocolVersion });
      await late.client.subscribeAsync("ret/+", { qos: 1 });
      await waitFor(() => late.got.length === 1, "the remaining retained message");
      await roundTrip(late.client);
      expect(late.got.map((m) => m.topic)).toEqual(["ret/b"]);
    });

    it("sends retained messages at the lower of their QoS and the granted QoS", async ({ f }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("retqos/two", "2", { qos: 2, retain: true });
      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync("retqos/#", { qos: 1 });
      await waitFor(() => sub.got.length === 1, "the retained message");
      expect(sub.got[0]!.packet.qos).toBe(1);
    });

    it("clears the retain flag on messages forwarded to existing subscriptions", async ({ f }) => {
      await f.start();
      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync("live/#", { qos: 1 });
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("live/a", "retained", { qos: 1, retain: true });
      await waitFor(() => sub.got.length === 1, "the message");
      // 3.1.1 [MQTT-3.3.1-9]; v5 without Retain As Published [MQTT-3.3.1-12].
      expect(sub.got[0]!.packet.retain).toBe(false);
    });
  });

  describe("v5 subscription options", () => {
    it("Retain Handling 0 sends retained messages at every subscribe", async ({ f }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion: 5 });
      await pub.client.publishAsync("rh/a", "kept", { qos: 1, retain: true });
      const sub = await f.connect({ protocolVersion: 5 });
      await sub.client.subscribeAsync("rh/#", { qos: 1, rh: 0 });
      await waitFor(() => sub.got.length === 1, "retained on the first subscribe");
      await sub.client.subscribeAsync("rh/#", { qos: 1, rh: 0 });
      await waitFor(() => sub.got.length === 2, "retained on the repeated subscribe");
    });

    it("Retain Handling 1 sends retained messages only for a new subscription", async ({ f }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion: 5 });
      await pub.client.publishAsync("rh/a", "kept", { qos: 1, retain: true });
      const sub = await f.connect({ protocolVersion: 5 });
      await sub.client.subscribeAsync("rh/#", { qos: 1, rh: 1 });
      await waitFor(() => sub.got.length === 1, "retained on the first subscribe");
      await sub.client.subscribeAsync("rh/#", { qos: 1, rh: 1 });
      await roundTrip(sub.client); // retained messages follow the SUBACK at once
      expect(sub.got).toHaveLength(1);
      // After an unsubscribe the subscription is new again.
      await sub.client.unsubscribeAsync("rh/#");
      await sub.client.subscribeAsync("rh/#", { qos: 1, rh: 1 });
      await waitFor(() => sub.got.length === 2, "retained on a new subscription");
    });

    it("Retain Handling 2 never sends retained messages at subscribe, yet delivers live ones", async ({
      f,
    }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion: 5 });
      await pub.client.publishAsync("rh/a", "kept", { qos: 1, retain: true });
      const sub = await f.connect({ protocolVersion: 5 });
      await sub.client.subscribeAsync("rh/#", { qos: 1, rh: 2 });
      await roundTrip(sub.client); // retained messages follow the SUBACK at once
      expect(sub.got).toHaveLength(0);
      await pub.client.publishAsync("rh/a", "live", { qos: 1 });
      await waitFor(() => sub.got.length === 1, "the live message");
      expect(sub.got[0]!.payload.toString()).toBe("live");
    });

    it("Retain As Published keeps the publisher's retain flag on forwarded messages", async ({ f }) => {
      await f.start();
      const rap = await f.connect({ protocolVersion: 5 });
      await rap.client.subscribeAsync("rap/#", { qos: 1, rap: true });
      const plain = await f.connect({ protocolVersion: 5 });
      await plain.client.subscribeAsync("rap/#", { qos: 1, rap: false });
      const pub = await f.connect({ protocolVersion: 5 });
      await pub.client.publishAsync("rap/a", "retained", { qos: 1, retain: true });
      await pub.client.publishAsync("rap/a", "not retained", { qos: 1, retain: false });
      await waitFor(() => rap.got.length === 2 && plain.got.length === 2, "both messages on both");
      expect(rap.got.map((m) => m.packet.retain)).toEqual([true, false]); // [MQTT-3.3.1-13]
      expect(plain.got.map((m) => m.packet.retain)).toEqual([false, false]); // [MQTT-3.3.1-12]
    });

    it("does not send retained messages to a shared subscription", async ({ f }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion: 5 });
      await pub.client.publishAsync("shared-ret/a", "kept", { qos: 1, retain: true });
      const sub = await f.connect({ protocolVersion: 5 });
      await sub.client.subscribeAsync("$share/g/shared-ret/#", { qos: 1 });
      await roundTrip(sub.client); // retained messages follow the SUBACK at once
      // MQTT 5 §4.8.2: retained messages are not sent to shared subscriptions when they are established.
      expect(sub.got).toHaveLength(0);
    });
  });
});
