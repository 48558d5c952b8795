/**
 * `$SYS/broker/...` topics with Mosquitto's names (issue 10), read by an MQTT.js subscriber; the fake
 * clock moves the publishing interval, so nothing waits on real time.
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { collect, connectClient, roundTrip, startServer, waitFor } from "../helpers.js";

describe("$SYS topics", () => {
  it("publishes Mosquitto's figures, and they follow the traffic on the next interval", async () => {
    const clock = new FakeClock();
    await using srv = await startServer({ limits: { sysIntervalMs: 10_000 } }, { clock });
    const watcher = await connectClient(srv.url("tcp"));
    const got = collect(watcher);
    const latest = (topic: string): string | undefined =>
      got
        .filter((m) => m.topic === topic)
        .at(-1)
        ?.payload.toString();
    await watcher.subscribeAsync("$SYS/broker/#", { qos: 0 });
    await waitFor(() => latest("$SYS/broker/version") !== undefined, "the retained figures");
    expect(latest("$SYS/broker/version")).toMatch(/^skein \d+\.\d+\.\d+/);
    expect(latest("$SYS/broker/uptime")).toBe("0 seconds");
    expect(latest("$SYS/broker/clients/connected")).toBe("0"); // taken before the watcher connected

    const pub = await connectClient(srv.url("tcp"));
    await pub.publishAsync("plant/a", "1", { qos: 1, retain: true });
    await pub.publishAsync("plant/b", "2", { qos: 0 });
    await roundTrip(pub);

    got.length = 0;
    clock.advance(10_000);
    await waitFor(() => latest("$SYS/broker/load/connections/15min") !== undefined, "the next round");
    expect(latest("$SYS/broker/uptime")).toBe("10 seconds");
    expect(latest("$SYS/broker/clients/connected")).toBe("2");
    expect(latest("$SYS/broker/messages/received")).toBe("2");
    // The watcher's own $SYS deliveries count too.
    expect(Number(latest("$SYS/broker/messages/sent"))).toBeGreaterThan(0);
    expect(Number(latest("$SYS/broker/bytes/received"))).toBeGreaterThan(0);
    expect(Number(latest("$SYS/broker/bytes/sent"))).toBeGreaterThan(0);
    expect(latest("$SYS/broker/subscriptions/count")).toBe("1");
    // plant/a, and the $SYS figures themselves are retained values too.
    expect(Number(latest("$SYS/broker/retained messages/count"))).toBeGreaterThanOrEqual(1);
    // 2 messages in 10 s = 12 a minute; after one interval the 1-minute average has moved
    // 1 - exp(-10/60) of the way there, as Mosquitto computes it.
    expect(latest("$SYS/broker/load/messages/received/1min")).toBe(
      (12 * (1 - Math.exp(-10 / 60))).toFixed(2),
    );
    expect(latest("$SYS/broker/load/messages/received/5min")).toBe(
      (12 * (1 - Math.exp(-10 / 300))).toFixed(2),
    );
    await Promise.all([watcher.endAsync(), pub.endAsync()]);
  });

  it("are not matched by a leading # [MQTT-4.7.2-1]", async () => {
    const clock = new FakeClock();
    await using srv = await startServer({ limits: { sysIntervalMs: 1000 } }, { clock });
    const client = await connectClient(srv.url("tcp"));
    const got = collect(client);
    await client.subscribeAsync(["#", "$SYS/broker/uptime"], { qos: 0 });
    clock.advance(1000);
    await waitFor(() => got.length >= 2, "two uptime figures");
    expect(new Set(got.map((m) => m.topic))).toEqual(new Set(["$SYS/broker/uptime"]));
    await client.endAsync();
  });
});
