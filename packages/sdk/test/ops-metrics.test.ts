/**
 * Operations (issue 10): after a scripted workload over both doors (MQTT.js and the SDK), `/metrics`
 * parses and its counters moved by exactly what the workload did; the log level changes at run time
 * through the SDK's server control.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { scrape } from "../../server/test/ops/exposition.js";
import { ANONYMOUS_ADMIN } from "../../server/test/helpers.js";
import { type SdkFixture, collect, connectClient, roundTrip, startSdkServer, waitFor } from "./helpers.js";

describe("/metrics after a workload", () => {
  let fx: SdkFixture;
  afterEach(async () => fx?.close());

  it("counts connections, messages by QoS, requests by outcome and disconnects by reason", async () => {
    fx = await startSdkServer();
    const port = fx.server.addresses.http;
    const before = await scrape(port);

    const sub = await connectClient(fx.server.url("tcp"));
    const pub = await connectClient(fx.server.url("tcp"));
    const got = collect(sub);
    await sub.subscribeAsync("work/#", { qos: 1 });
    for (let i = 0; i < 3; i++) await pub.publishAsync("work/a", `q0-${i}`, { qos: 0 });
    for (let i = 0; i < 2; i++) await pub.publishAsync("work/b", `q1-${i}`, { qos: 1 });
    await waitFor(() => got.length === 5, "5 deliveries");
    await roundTrip(pub, sub);

    const handler = await fx.connect();
    const requester = await fx.connect();
    await handler.messaging.addRequestHandler("svc/echo", (v) => v, {
      requestType: "string",
      responseType: "string",
    });
    for (let i = 0; i < 2; i++)
      expect(
        await requester.messaging.sendRequest("svc/echo", "hi", {
          requestType: "string",
          responseType: "string",
        }),
      ).toBe("hi");
    await expect(
      requester.messaging.sendRequest("svc/nobody", "hi", { requestType: "string", responseType: "string" }),
    ).rejects.toMatchObject({ code: "NO_HANDLER" });

    const during = await scrape(port);
    const delta = (name: string, labels?: Record<string, string>): number =>
      during.sum(name, labels) - before.sum(name, labels);
    expect(delta("skein_mqtt_messages_received_total", { qos: "0" })).toBe(3);
    expect(delta("skein_mqtt_messages_received_total", { qos: "1" })).toBe(2);
    expect(delta("skein_mqtt_messages_sent_total", { qos: "0" })).toBe(3);
    expect(delta("skein_mqtt_messages_sent_total", { qos: "1" })).toBe(2);
    expect(delta("skein_mqtt_bytes_received_total")).toBeGreaterThan(5 * "work/a".length);
    expect(during.value("skein_connections", { door: "mqtt", version: "3.1.1" })).toBe(2);
    expect(during.value("skein_connections", { door: "sdk", version: "2" })).toBe(2);
    expect(delta("skein_connects_total", { door: "mqtt", outcome: "accepted" })).toBe(2);
    expect(delta("skein_connects_total", { door: "sdk", outcome: "accepted" })).toBe(2);
    expect(during.value("skein_subscriptions")).toBeGreaterThanOrEqual(1);
    expect(delta("skein_messaging_requests_completed_total", { outcome: "ok" })).toBe(2);
    expect(delta("skein_messaging_requests_completed_total", { outcome: "NO_HANDLER" })).toBe(1);
    expect(delta("skein_messaging_request_duration_seconds_count")).toBe(2);
    expect(during.value("skein_messaging_request_duration_seconds_bucket", { le: "+Inf" })).toBe(
      during.value("skein_messaging_request_duration_seconds_count"),
    );
    expect(delta("skein_errors_total", { code: "NO_HANDLER" })).toBe(1);
    expect(delta("skein_sdk_frames_received_total")).toBeGreaterThanOrEqual(6); // 2 hellos, handler, 3 requests
    expect(delta("skein_sdk_bytes_sent_total")).toBeGreaterThan(0);
    // Counters end in _total; histograms and prom-client's process collectors are there too.
    for (const [name, type] of during.types) if (type === "counter") expect(name).toMatch(/_total$/);
    expect(during.types.get("process_resident_memory_bytes")).toBe("gauge");
    expect(during.types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
    expect(during.types.get("nodejs_heap_size_used_bytes")).toBe("gauge");
    expect(during.types.get("skein_eventloop_utilization_ratio")).toBe("gauge");
    // No label carries a topic path or a client id.
    for (const s of during.samples)
      for (const v of Object.values(s.labels)) expect(v).not.toMatch(/work\/|svc\/|mqttjs_/);

    await Promise.all([sub.endAsync(), pub.endAsync()]);
    await vi.waitFor(async () => {
      const after = await scrape(port);
      expect(
        after.sum("skein_disconnects_total", { door: "mqtt", reason: "client_disconnect" }) -
          before.sum("skein_disconnects_total", { door: "mqtt", reason: "client_disconnect" }),
      ).toBe(2);
      expect(after.sum("skein_connections", { door: "mqtt" })).toBe(0);
    });
  });
});

describe("log level through the SDK", () => {
  let fx: SdkFixture;
  afterEach(async () => fx?.close());

  it("reads and sets the server's log level, reaching loggers made before the change", async () => {
    const lines: string[] = [];
    // Setting the level needs control_server: anonymous sessions hold every permission here.
    fx = await startSdkServer(
      { ...ANONYMOUS_ADMIN, logLevel: "info" },
      { logDestination: { write: (l: string) => void lines.push(l) } },
    );
    const admin = await fx.connect();
    expect(await admin.server.logLevel()).toBe("info");
    expect(await admin.server.logLevel("error")).toBe("error");
    const quiet = await connectClient(fx.server.url("tcp"), { clientId: "quiet-one" });
    await roundTrip(quiet);
    expect(lines.some((l) => l.includes("quiet-one"))).toBe(false);
    expect(await admin.server.logLevel("info")).toBe("info");
    await quiet.endAsync();
    await waitFor(
      () => lines.some((l) => l.includes("quiet-one") && l.includes("connection closed")),
      "close line",
    );
  });

  it("refuses an anonymous session (no control_server) the change, with NOT_AUTHORIZED", async () => {
    fx = await startSdkServer({ logLevel: "info" });
    const anonymous = await fx.connect();
    await expect(anonymous.server.logLevel("debug")).rejects.toMatchObject({ code: "NOT_AUTHORIZED" });
  });
});
