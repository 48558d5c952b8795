/**
 * The life of a connection around its packets: keep-alive enforcement [MQTT-3.1.2-22], the connect
 * timeout, and graceful shutdown (wills, then DISCONNECT 0x8B to v5 clients).
 */
import type { IDisconnectPacket } from "mqtt-packet";
import { describe, expect } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, mqttTest } from "./fixture.js";

describe.concurrent.each(TRANSPORTS)("connection lifecycle over %s", (transport) => {
  const it = mqttTest(transport);

  it("closes connections silent for 1.5 times their keep alive (v5 told 0x8D) and publishes their wills", async ({
    f,
  }) => {
    const clock = new FakeClock();
    await f.start({}, { clock });
    const watcher = await f.connect({ protocolVersion: 5 });
    await watcher.client.subscribeAsync("lifecycle/will/+", { qos: 1 });
    const raws = await Promise.all(
      VERSIONS.map(async (protocolVersion) => {
        const raw = await f.raw();
        await raw.connect({
          protocolVersion,
          clientId: `silent-${protocolVersion}`,
          keepalive: 1,
          will: {
            topic: `lifecycle/will/${protocolVersion}`,
            payload: Buffer.from("gone quiet"),
            qos: 1,
            retain: false,
          },
        });
        return { protocolVersion, raw };
      }),
    );
    const timeouts = () =>
      f.srv.server.metrics.get("mqtt_protocol_errors_total", { reason: "keep_alive_timeout" });
    // Nothing more is sent: the server closes at 1.5 times the keep alive, not before [MQTT-3.1.2-22].
    clock.advance(1499);
    expect(timeouts()).toBe(0);
    clock.advance(1);
    expect(timeouts()).toBe(2);
    await Promise.all(raws.map(({ raw }) => raw.waitClosed()));
    const [v4, v5] = raws.map(({ raw }) => raw.all("disconnect").map((d) => d.reasonCode));
    expect(v4).toEqual([]);
    expect(v5).toEqual([0x8d]);
    // Not a normal DISCONNECT, so the wills go out [MQTT-3.1.2-8].
    await waitFor(() => watcher.got.length === 2, "both wills");
    expect(watcher.got.map((m) => m.topic).sort()).toEqual(["lifecycle/will/4", "lifecycle/will/5"]);
  });

  it("keeps connections that ping within their keep alive", async ({ f }) => {
    const clock = new FakeClock();
    await f.start({}, { clock });
    const raws = await Promise.all(
      VERSIONS.map(async (protocolVersion) => {
        const raw = await f.raw();
        await raw.connect({ protocolVersion, clientId: `pinging-${protocolVersion}`, keepalive: 1 });
        return raw;
      }),
    );
    const timeouts = () =>
      f.srv.server.metrics.get("mqtt_protocol_errors_total", { reason: "keep_alive_timeout" });
    // A PINGREQ every second, for five seconds: far past the 1.5 s a silent client gets.
    for (let second = 0; second < 5; second++) {
      clock.advance(1000);
      for (const raw of raws) {
        raw.send({ cmd: "pingreq" });
        await raw.next("pingresp");
      }
    }
    expect(timeouts()).toBe(0);
    expect(raws.map((r) => r.closed)).toEqual([false, false]);
    // Silence from here on is still noticed.
    clock.advance(1500);
    expect(timeouts()).toBe(2);
  });

  describe.each(VERSIONS)("protocol version %i", (protocolVersion) => {
    it("closes a socket that never sends CONNECT after mqtt.connectTimeoutMs", async ({ f }) => {
      const clock = new FakeClock();
      await f.start({ mqtt: { connectTimeoutMs: 200 } }, { clock });
      const raw = await f.raw();
      await waitFor(() => clock.armed(200) === 1, "the server to accept the connection");
      clock.advance(199);
      expect(raw.closed).toBe(false);
      clock.advance(1);
      await raw.waitClosed();
      expect(raw.received).toHaveLength(0);
      expect(f.srv.server.metrics.get("mqtt_protocol_errors_total", { reason: "connect_timeout" })).toBe(1);
    });

    it("does not close a connected client at the connect timeout", async ({ f }) => {
      const clock = new FakeClock();
      await f.start({ mqtt: { connectTimeoutMs: 200 } }, { clock });
      const raw = await f.raw();
      await raw.connect({ protocolVersion, clientId: "connected" });
      clock.advance(400); // past the connect timeout
      // A round trip after the timeout: the connection still answers.
      raw.send({ cmd: "pingreq" });
      await raw.next("pingresp");
      expect(raw.closed).toBe(false);
      expect(f.srv.server.metrics.get("mqtt_protocol_errors_total", { reason: "connect_timeout" })).toBe(0);
    });

    it("shuts down gracefully: wills first, then v5 clients get DISCONNECT 0x8B", async ({ f }) => {
      await f.start();
      const watcher = await f.connect({ protocolVersion });
      await watcher.client.subscribeAsync("lifecycle/shutdown", { qos: 0 });
      const disconnects: IDisconnectPacket[] = [];
      watcher.client.on("disconnect", (p) => disconnects.push(p));
      let closed = false;
      watcher.client.on("close", () => (closed = true));
      await f.connect({
        protocolVersion,
        will: {
          topic: "lifecycle/shutdown",
          payload: Buffer.from("server went away"),
          qos: 0,
          retain: false,
        },
      });

      await f.srv.close();
      await waitFor(() => closed, "watcher to be disconnected");
      // The server ends the connections, not the clients: wills go out [MQTT-3.1.2-8].
      expect(watcher.got.map((m) => m.payload.toString())).toEqual(["server went away"]);
      if (protocolVersion === 5) expect(disconnects.map((d) => d.reasonCode)).toEqual([0x8b]);
      else expect(disconnects).toHaveLength(0);
    });
  });
});
