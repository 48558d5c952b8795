/**
 * Connect timeouts and keep-alives of many connections share one timer wheel (issue 11): each still
 * expires at its own time over real sockets, never before, and a packet pushes a keep alive back.
 * Keep alive: 1.5 times without a packet closes [MQTT-3.1.2-22] (3.1.1: [MQTT-3.1.2-24]).
 */
import { describe, expect } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { waitFor } from "../helpers.js";
import { VERSIONS, mqttTest } from "./fixture.js";

describe.concurrent.each(VERSIONS)("one timer wheel, protocol version %i", (protocolVersion) => {
  const it = mqttTest("tcp");

  it("expires each connection at its own keep alive and connect timeout", async ({ f }) => {
    const clock = new FakeClock();
    await f.start({ mqtt: { connectTimeoutMs: 2000 } }, { clock });
    const keepAlives = [1, 2, 4];
    const raws = await Promise.all(
      keepAlives.map(async (keepalive) => {
        const raw = await f.raw();
        await raw.connect({ protocolVersion, clientId: `ka-${keepalive}-${protocolVersion}`, keepalive });
        return raw;
      }),
    );
    const silent = await f.raw(); // never sends CONNECT
    const metrics = f.srv.server.metrics;
    await waitFor(() => metrics.get("mqtt_connections") === 4, "the silent socket to be accepted");
    const timeouts = () => metrics.get("mqtt_protocol_errors_total", { reason: "keep_alive_timeout" });
    const connectTimeouts = () => metrics.get("mqtt_protocol_errors_total", { reason: "connect_timeout" });
    // The clock has not moved since the connections: each expires at a known time from here.
    clock.advance(1499);
    expect(timeouts()).toBe(0);
    clock.advance(1); // 1.5 s: keep alive 1
    expect(timeouts()).toBe(1);
    await raws[0]!.waitClosed();
    clock.advance(499);
    expect(connectTimeouts()).toBe(0);
    clock.advance(1); // 2 s: the connect timeout
    expect(connectTimeouts()).toBe(1);
    await silent.waitClosed();
    // The keep alive 4 client pings at 2.5 s: its 6 s limit moves to 8.5 s.
    clock.advance(500);
    await raws[2]!.ping();
    clock.advance(499);
    expect(timeouts()).toBe(1);
    clock.advance(1); // 3 s: keep alive 2
    expect(timeouts()).toBe(2);
    await raws[1]!.waitClosed();
    clock.advance(5499); // 8.499 s
    expect(timeouts()).toBe(2);
    expect(raws[2]!.closed).toBe(false);
    clock.advance(1); // 8.5 s
    expect(timeouts()).toBe(3);
    await raws[2]!.waitClosed();
  });
});
