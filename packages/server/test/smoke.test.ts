import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "./fake-clock.js";
import { collect, connectClient, startServer, waitFor, type TestServer } from "./helpers.js";

describe.each(["tcp", "ws"] as const)("smoke over %s", (transport) => {
  let srv: TestServer;
  afterEach(async () => srv?.close());

  it.each([4, 5] as const)("publishes and subscribes with protocol version %i", async (protocolVersion) => {
    srv = await startServer();
    const sub = await connectClient(srv.url(transport), { protocolVersion });
    const pub = await connectClient(srv.url(transport), { protocolVersion });
    const got = collect(sub);
    await sub.subscribeAsync("smoke/#", { qos: 1 });
    await pub.publishAsync("smoke/a", "hello", { qos: 1 });
    await waitFor(() => got.length === 1, "message");
    expect(got[0]!.topic).toBe("smoke/a");
    expect(got[0]!.payload.toString()).toBe("hello");
    expect(srv.server.getTopic("smoke/a")?.spec.type).toBe("binary");
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });
});

describe("HTTP endpoints", () => {
  it("answers /health and /metrics, and 404 elsewhere", async () => {
    await using srv = await startServer();
    const base = `http://127.0.0.1:${srv.addresses.http}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const client = await connectClient(srv.url("tcp"));
    await client.publishAsync("m/x", "1", { qos: 1 });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^skein_mqtt_messages_received_total\{qos="1"\} 1$/m);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    await client.endAsync();
  });
});

describe("$SYS topics", () => {
  it("publishes retained broker figures under $SYS/broker, which # does not match", async () => {
    const clock = new FakeClock();
    await using srv = await startServer({ limits: { sysIntervalMs: 50 } }, { clock });
    const client = await connectClient(srv.url("tcp"));
    const got = collect(client);
    await client.subscribeAsync(["$SYS/broker/clients/connected", "#"], { qos: 0 });
    await waitFor(() => got.length === 1, "the retained figure");
    expect(got[0]!.payload.toString()).toBe("0"); // taken at start, before this client connected
    clock.advance(50); // the next round of figures counts it
    await waitFor(
      () => got.some((m) => Number(m.payload.toString()) >= 1),
      "a $SYS figure counting this client",
    );
    expect(got[0]!.packet.retain).toBe(true);
    // Only the explicit $SYS subscription matched: '#' does not match $-topics [MQTT-4.7.2-1].
    expect(got.every((m) => m.topic === "$SYS/broker/clients/connected")).toBe(true);
    await client.endAsync();
  });
});
