/**
 * Wills [MQTT-3.1.2-8] to [MQTT-3.1.2-17]: published when a connection ends without a normal
 * DISCONNECT, not after one; v5 DISCONNECT 0x04, will properties, and the Will Delay Interval
 * [MQTT-3.1.3-9].
 */
import type { IClientOptions } from "mqtt";
import { describe, expect } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { roundTrip, waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, type Version, mqttTest, persistent } from "./fixture.js";

function withWill(
  protocolVersion: Version,
  topic: string,
  extra: Partial<NonNullable<IClientOptions["will"]>> = {},
) {
  return {
    topic,
    payload: Buffer.from(`will of v${protocolVersion}`),
    qos: 1 as const,
    retain: false,
    ...extra,
  };
}

describe.concurrent.each(TRANSPORTS)("wills over %s", (transport) => {
  const it = mqttTest(transport);

  describe.each(VERSIONS)("protocol version %i", (protocolVersion) => {
    it("publishes the will when the connection is lost without DISCONNECT, retained when asked", async ({
      f,
    }) => {
      await f.start();
      const watcher = await f.connect({ protocolVersion });
      await watcher.client.subscribeAsync("will/#", { qos: 2 });
      const doomed = await f.connect({
        protocolVersion,
        will: withWill(protocolVersion, "will/lost", { qos: 2, retain: true }),
      });
      doomed.client.stream.destroy();
      await waitFor(() => watcher.got.length === 1, "the will");
      expect(watcher.got[0]!.topic).toBe("will/lost");
      expect(watcher.got[0]!.payload.toString()).toBe(`will of v${protocolVersion}`);
      expect(watcher.got[0]!.packet.qos).toBe(2);
      // Will Retain 1: it is also the retained message [MQTT-3.1.2-17].
      const late = await f.connect({ protocolVersion });
      await late.client.subscribeAsync("will/lost", { qos: 1 });
      await waitFor(() => late.got.length === 1, "the retained will");
      expect(late.got[0]!.packet.retain).toBe(true);
      expect(f.srv.server.metrics.get("mqtt_wills_published_total")).toBe(1);
    });

    it("does not publish the will after a normal DISCONNECT [MQTT-3.1.2-10]", async ({ f }) => {
      await f.start();
      const watcher = await f.connect({ protocolVersion });
      await watcher.client.subscribeAsync("will/#", { qos: 1 });
      const polite = await f.connect({ protocolVersion, will: withWill(protocolVersion, "will/polite") });
      await polite.client.endAsync();
      await waitFor(
        () => f.srv.server.metrics.get("mqtt_connections") === 1,
        "the server to see the DISCONNECT",
      );
      // A will would have been published when the server closed the connection, before this round trip.
      await roundTrip(watcher.client);
      expect(watcher.got).toHaveLength(0);
      expect(f.srv.server.metrics.get("mqtt_wills_published_total")).toBe(0);
    });

    it("publishes the will of a connection whose session is taken over", async ({ f }) => {
      await f.start();
      const watcher = await f.connect({ protocolVersion });
      await watcher.client.subscribeAsync("will/#", { qos: 1 });
      await f.connect({
        ...persistent(protocolVersion, "taken"),
        will: withWill(protocolVersion, "will/taken"),
      });
      // MQTT 5 §3.1.4: the existing connection is closed; with no Will Delay its will is sent.
      const second = await f.connect(persistent(protocolVersion, "taken"));
      await waitFor(() => watcher.got.length === 1, "the will of the first connection");
      expect(watcher.got[0]!.topic).toBe("will/taken");
      expect(second.client.connected).toBe(true);
    });
  });

  describe("v5", () => {
    it("publishes the will after DISCONNECT with reason 0x04", async ({ f }) => {
      await f.start();
      const watcher = await f.connect({ protocolVersion: 5 });
      await watcher.client.subscribeAsync("will/#", { qos: 1 });
      const leaver = await f.connect({ protocolVersion: 5, will: withWill(5, "will/asked") });
      await new Promise<void>((resolve) => leaver.client.end(false, { reasonCode: 0x04 }, () => resolve()));
      await waitFor(() => watcher.got.length === 1, "the will");
      expect(watcher.got[0]!.topic).toBe("will/asked");
    });

    it("waits out the Will Delay Interval, then publishes the will with its properties and full expiry", async ({
      f,
    }) => {
      const clock = new FakeClock();
      await f.start({}, { clock });
      const watcher = await f.connect({ protocolVersion: 5 });
      await watcher.client.subscribeAsync("will/#", { qos: 1 });
      // What the will's PUBLISH must carry; the Will Delay Interval is the server's alone.
      const published = {
        messageExpiryInterval: 5,
        contentType: "text/plain",
        payloadFormatIndicator: true,
        responseTopic: "will/answers",
        correlationData: Buffer.from("corr"),
        userProperties: { why: "test" },
      };
      const doomed = await f.connect({
        ...persistent(5, "delayed", 60),
        will: withWill(5, "will/delayed", { properties: { ...published, willDelayInterval: 1 } }),
      });
      clock.advance(1200); // the will's expiry clock must not start at CONNECT
      doomed.client.stream.destroy();
      await waitFor(() => f.srv.server.metrics.get("mqtt_connections") === 1, "the server to see the loss");
      clock.advance(999);
      expect(f.srv.server.metrics.get("mqtt_wills_published_total")).toBe(0); // not before the delay
      clock.advance(1);
      expect(f.srv.server.metrics.get("mqtt_wills_published_total")).toBe(1);
      await waitFor(() => watcher.got.length === 1, "the delayed will");
      // The Message Expiry Interval runs from the will's publication (MQTT 5 §3.1.3.2.4), so all 5 s remain.
      expect(watcher.got[0]!.packet.properties).toEqual(published);
    });

    it("does not publish a delayed will when the client reconnects within the delay", async ({ f }) => {
      const clock = new FakeClock();
      await f.start({}, { clock });
      const watcher = await f.connect({ protocolVersion: 5 });
      await watcher.client.subscribeAsync("will/#", { qos: 1 });
      const first = await f.connect({
        ...persistent(5, "comes-back", 60),
        will: withWill(5, "will/back", { properties: { willDelayInterval: 1 } }),
      });
      first.client.stream.destroy();
      await waitFor(() => f.srv.server.metrics.get("mqtt_connections") === 1, "the server to see the loss");
      const back = await f.connect(persistent(5, "comes-back", 60));
      expect(back.connack.sessionPresent).toBe(true);
      clock.advance(1300); // past the delay [MQTT-3.1.3-9]
      expect(f.srv.server.metrics.get("mqtt_wills_published_total")).toBe(0);
      await roundTrip(watcher.client);
      expect(watcher.got).toHaveLength(0);
    });

    it("publishes a delayed will at once when the session ends first (session expiry 0)", async ({ f }) => {
      await f.start();
      const watcher = await f.connect({ protocolVersion: 5 });
      await watcher.client.subscribeAsync("will/#", { qos: 1 });
      const doomed = await f.connect({
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 0 },
        will: withWill(5, "will/short-session", { properties: { willDelayInterval: 3600 } }),
      });
      doomed.client.stream.destroy();
      // MQTT 5 §3.1.3.2.2: sent when the delay passes or the session ends, whichever comes first.
      await waitFor(() => watcher.got.length === 1, "the will");
    });
  });
});
