/**
 * `session.server.status()` (the `server_status` frame the web console's overview reads): the figures
 * move with traffic of both doors, and a session without `view_server` is refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SkeinError, connect } from "../../../sdk/src/index.js";
import { type TestServer, connectClient, startServer } from "../helpers.js";

describe("session.server.status()", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = (): Promise<TestServer> =>
    startServer({
      security: {
        principals: [
          { name: "admin", password: "admin-secret", roles: ["admin"] },
          { name: "alice", password: "wonderland", roles: ["users"] },
        ],
        roles: [{ name: "users", global: [], paths: { "": ["read_topic", "update_topic", "modify_topic"] } }],
        anonymous: false,
        failedLoginDelayMs: 0,
      },
    });

  it("reports connections by door and counters that move with MQTT and SDK traffic", async () => {
    server = await start();
    const url = `ws://127.0.0.1:${server.addresses.http}/sdk`;
    const admin = await connect(url, { principal: "admin", password: "admin-secret", reconnect: false });
    const before = await admin.server.status();
    expect(before.connections).toEqual({ mqtt: 0, sdk: 1 });
    expect(before.version).toMatch(/^\d+\.\d+\.\d+/);

    const mqtt = await connectClient(server.url(), { username: "admin", password: "admin-secret" });
    await mqtt.publishAsync("status/a", "1", { qos: 1 });
    await mqtt.publishAsync("status/a", "2", { qos: 1 });
    await admin.topics.add("status/b", { type: "int64" });
    await admin.set("status/b", "int64", 5n);
    const after = await admin.server.status();
    expect(after.connections).toEqual({ mqtt: 1, sdk: 1 });
    expect(after.counters.mqttMessagesReceived - before.counters.mqttMessagesReceived).toBe(2);
    expect(after.counters.updates - before.counters.updates).toBe(3);
    expect(after.topics).toBeGreaterThanOrEqual(before.topics + 2);
    expect(after.time).toBeGreaterThanOrEqual(before.time);
    await mqtt.endAsync();
    await admin.close();
  });

  it("refuses a session without view_server with NOT_AUTHORIZED", async () => {
    server = await start();
    const url = `ws://127.0.0.1:${server.addresses.http}/sdk`;
    const alice = await connect(url, { principal: "alice", password: "wonderland", reconnect: false });
    const error = await alice.server.status().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SkeinError);
    expect((error as SkeinError).code).toBe("NOT_AUTHORIZED");
    await alice.close();
  });
});
