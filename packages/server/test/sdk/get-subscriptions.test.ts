/**
 * Client control's `getSubscriptions` (issue 10): a session's subscriptions, of both doors, over real
 * sockets — an MQTT.js session's topic filters with QoS and share group, an SDK session's selections —
 * and refused without `view_session`.
 */
import { afterEach, expect, it } from "vitest";
import { connect } from "../../../sdk/src/index.js";
import { type TestServer, connectClient } from "../helpers.js";
import { startSecured } from "../security/fixture.js";

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

it("reports an MQTT session's filters and an SDK session's selections; needs view_session", async () => {
  srv = await startSecured();
  const sdkUrl = `ws://127.0.0.1:${srv.addresses.http}/sdk`;
  const mqttClient = await connectClient(srv.url(), {
    protocolVersion: 5,
    clientId: "subs-1",
    username: "alice",
    password: "wonderland",
  });
  await mqttClient.subscribeAsync({ "sensors/+/temp": { qos: 1 }, "$share/g1/jobs/#": { qos: 0 } });
  const admin = await connect(sdkUrl, { principal: "admin", password: "admin-secret", reconnect: false });
  const alice = await connect(sdkUrl, { principal: "alice", password: "wonderland", reconnect: false });
  await alice.select(">prices//");
  try {
    const [mqttInfo] = await admin.clients.list("$ClientId is 'subs-1'");
    expect(mqttInfo).toBeDefined();
    const mqttSubs = await admin.clients.getSubscriptions(mqttInfo!.sessionId);
    expect(mqttSubs).toHaveLength(2);
    expect(mqttSubs).toEqual(
      expect.arrayContaining([
        { subscription: "sensors/+/temp", qos: 1 },
        { subscription: "jobs/#", qos: 0, shareGroup: "g1" },
      ]),
    );
    expect(await admin.clients.getSubscriptions(alice.sessionId)).toEqual([{ subscription: ">prices//" }]);
    // A subscription made by client control is one of the session's own.
    await admin.clients.subscribe(mqttInfo!.sessionId, ">alerts//");
    expect((await admin.clients.getSubscriptions(mqttInfo!.sessionId)).map((s) => s.subscription)).toContain(
      "alerts/#",
    );
    // alice has no view_session.
    await expect(alice.clients.getSubscriptions(mqttInfo!.sessionId)).rejects.toMatchObject({
      code: "NOT_AUTHORIZED",
    });
    await expect(admin.clients.getSubscriptions("no-such-session")).rejects.toMatchObject({
      code: "SESSION_CLOSED",
    });
  } finally {
    await alice.close();
    await admin.close();
    await mqttClient.endAsync();
  }
});
