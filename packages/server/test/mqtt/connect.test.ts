/**
 * CONNECT and CONNACK: every v5 CONNECT property the server honours, client identifiers, clean start /
 * clean session and session present, server keep alive, and session takeover [MQTT-3.1] [MQTT-3.2].
 */
import type { IDisconnectPacket } from "mqtt-packet";
import { describe, expect } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, persistent, mqttTest } from "./fixture.js";

describe.concurrent.each(TRANSPORTS)("CONNECT over %s", (transport) => {
  const it = mqttTest(transport);

  describe("v5 CONNECT and CONNACK properties", () => {
    it("caps the session expiry at mqtt.maxSessionExpirySec, says so in CONNACK, and applies the cap", async ({
      f,
    }) => {
      const clock = new FakeClock();
      await f.start({ mqtt: { maxSessionExpirySec: 1 } }, { clock });
      const metrics = f.srv.server.metrics;
      const capped = await f.connect(persistent(5, "capped", 3600));
      expect(capped.connack.properties?.sessionExpiryInterval).toBe(1);
      await capped.client.endAsync();
      await waitFor(() => metrics.get("mqtt_connections") === 0, "the server to see the disconnection");
      // The session ends after the granted second, not the hour asked for.
      clock.advance(999);
      expect(metrics.get("mqtt_sessions")).toBe(1);
      clock.advance(1);
      expect(metrics.get("mqtt_sessions")).toBe(0);
      const again = await f.connect(persistent(5, "capped", 3600));
      expect(again.connack.sessionPresent).toBe(false);

      // Granted as asked: no Session Expiry Interval in CONNACK (MQTT 5 §3.2.2.3.2).
      const within = await f.connect(persistent(5, "within", 1));
      expect(within.connack.properties?.sessionExpiryInterval).toBeUndefined();
    });

    it("announces the server's Receive Maximum, Maximum Packet Size and Topic Alias Maximum", async ({
      f,
    }) => {
      await f.start({ mqtt: { receiveMaximum: 7, maxPacketSize: 4096, topicAliasMaximum: 3 } });
      const { connack } = await f.connect({ protocolVersion: 5 });
      expect(connack.reasonCode).toBe(0);
      expect(connack.properties).toMatchObject({
        receiveMaximum: 7,
        maximumPacketSize: 4096,
        topicAliasMaximum: 3,
      });
    });

    it("assigns a client identifier to an empty one, and the session can be resumed with it", async ({
      f,
    }) => {
      await f.start();
      const a = await f.connect({ ...persistent(5, ""), clean: true });
      const b = await f.connect({ protocolVersion: 5, clientId: "" });
      const idA = a.connack.properties?.assignedClientIdentifier;
      const idB = b.connack.properties?.assignedClientIdentifier;
      expect(idA).toMatch(/.+/);
      expect(idB).toMatch(/.+/);
      expect(idA).not.toBe(idB);

      await a.client.subscribeAsync("assigned/#", { qos: 1 });
      await a.client.endAsync();
      const resumed = await f.connect(persistent(5, idA as string));
      expect(resumed.connack.sessionPresent).toBe(true);
      // No identifier is assigned to a client that sent one.
      expect(resumed.connack.properties?.assignedClientIdentifier).toBeUndefined();
      await b.client.publishAsync("assigned/x", "still subscribed", { qos: 1 });
      await waitFor(() => resumed.got.length === 1, "message on the resumed session");
    });

    it("accepts user properties in CONNECT and refuses more than mqtt.maxUserProperties with 0x97", async ({
      f,
    }) => {
      await f.start({ mqtt: { maxUserProperties: 2 } });
      const ok = await f.connect({ protocolVersion: 5, properties: { userProperties: { a: "1", b: "2" } } });
      expect(ok.connack.reasonCode).toBe(0);
      const refused = f.connect({
        protocolVersion: 5,
        properties: { userProperties: { a: ["1", "2"], b: "3" } },
      });
      await expect(refused).rejects.toMatchObject({ code: 0x97 });
    });

    it("honours Request Problem Information: no Reason String when the client turned it off", async ({
      f,
    }) => {
      await f.start({ mqtt: { maxUserProperties: 0 } });
      // A second CONNECT is a protocol error [MQTT-3.1.0-2]: DISCONNECT 0x82.
      const chatty = await f.raw();
      await chatty.connect({ protocolVersion: 5, clientId: "chatty" });
      chatty.send({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 5,
        clientId: "chatty",
        clean: true,
        keepalive: 0,
      });
      const told = await chatty.next("disconnect");
      expect(told.reasonCode).toBe(0x82);
      expect(told.properties?.reasonString).toMatch(/.+/);

      const quiet = await f.raw();
      const connack = await quiet.connect({
        protocolVersion: 5,
        clientId: "quiet",
        properties: { requestProblemInformation: false },
      });
      expect(connack.reasonCode).toBe(0);
      quiet.send({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 5,
        clientId: "quiet",
        clean: true,
        keepalive: 0,
      });
      const silent = await quiet.next("disconnect");
      expect(silent.reasonCode).toBe(0x82);
      expect(silent.properties?.reasonString).toBeUndefined();

      // The same for a refused CONNECT (too many user properties: 0x97).
      const refused = await f.raw();
      const refusal = await refused.connect({
        protocolVersion: 5,
        clientId: "refused",
        properties: { requestProblemInformation: false, userProperties: { a: "1" } },
      });
      expect(refusal.reasonCode).toBe(0x97);
      expect(refusal.properties?.reasonString).toBeUndefined();
      await refused.waitClosed();
    });

    it("tells the Server Keep Alive when the client asks for more than mqtt.maxKeepAliveSec, or for none", async ({
      f,
    }) => {
      await f.start({ mqtt: { maxKeepAliveSec: 10 } });
      const tooLong = await f.connect({ protocolVersion: 5, keepalive: 60 });
      expect(tooLong.connack.properties?.serverKeepAlive).toBe(10);
      const none = await f.connect({ protocolVersion: 5, keepalive: 0 });
      expect(none.connack.properties?.serverKeepAlive).toBe(10);
      const fine = await f.connect({ protocolVersion: 5, keepalive: 5 });
      expect(fine.connack.properties?.serverKeepAlive).toBeUndefined();
    });
  });

  describe("3.1.1 client identifiers", () => {
    it("refuses an empty client id with clean session 0: return code 2, then closes [MQTT-3.1.3-8]", async ({
      f,
    }) => {
      await f.start();
      const raw = await f.raw();
      // mqtt-packet will not generate this CONNECT: protocol "MQTT" level 4, flags 0 (clean session 0),
      // keep alive 0, client id "".
      const connect = Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 0, 0, 0]);
      const connack = await raw.connectBytes(connect, 4);
      expect(connack.returnCode).toBe(2);
      expect(connack.sessionPresent).toBe(false);
      await raw.waitClosed();
    });

    it("accepts an empty client id with clean session 1 [MQTT-3.1.3-7]", async ({ f }) => {
      await f.start();
      const { client, got, connack } = await f.connect({ protocolVersion: 4, clientId: "", clean: true });
      expect(connack.returnCode).toBe(0);
      await client.subscribeAsync("empty/id", { qos: 1 });
      await client.publishAsync("empty/id", "works", { qos: 1 });
      await waitFor(() => got.length === 1, "message");
    });
  });

  describe.each(VERSIONS)("protocol version %i", (protocolVersion) => {
    it("reports session present only when a session was resumed (clean start / clean session)", async ({
      f,
    }) => {
      await f.start();
      const first = await f.connect(persistent(protocolVersion, "present"));
      expect(first.connack.sessionPresent).toBe(false);
      await first.client.subscribeAsync("present/#", { qos: 1 });
      await first.client.endAsync();

      const resumed = await f.connect(persistent(protocolVersion, "present"));
      expect(resumed.connack.sessionPresent).toBe(true);
      await resumed.client.endAsync();

      // Clean start / clean session 1 discards the session [MQTT-3.1.2-4] [MQTT-3.2.2-1].
      const clean = await f.connect({ protocolVersion, clientId: "present", clean: true });
      expect(clean.connack.sessionPresent).toBe(false);
      await clean.client.endAsync();

      // ... and a clean session ends with its connection [MQTT-3.1.2-6].
      const after = await f.connect(persistent(protocolVersion, "present"));
      expect(after.connack.sessionPresent).toBe(false);
    });

    it("lets a second connection with the same client id take the session over", async ({ f }) => {
      await f.start();
      const first = await f.connect(persistent(protocolVersion, "takeover"));
      await first.client.subscribeAsync("takeover/#", { qos: 1 });
      const disconnects: IDisconnectPacket[] = [];
      first.client.on("disconnect", (p) => disconnects.push(p));
      let firstClosed = false;
      first.client.on("close", () => (firstClosed = true));

      const second = await f.connect(persistent(protocolVersion, "takeover"));
      // The existing connection is closed [MQTT-3.1.4-3]; v5 tells it why: 0x8E Session taken over.
      await waitFor(() => firstClosed, "first connection to close");
      if (protocolVersion === 5) {
        expect(disconnects.map((d) => d.reasonCode)).toEqual([0x8e]);
      }
      expect(second.connack.sessionPresent).toBe(true);
      expect(second.client.connected).toBe(true);

      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("takeover/a", "to the new connection", { qos: 1 });
      await waitFor(() => second.got.length === 1, "message on the new connection");
      expect(first.got).toHaveLength(0);
      expect(f.srv.server.metrics.get("mqtt_session_takeovers_total")).toBe(1);
    });
  });
});
