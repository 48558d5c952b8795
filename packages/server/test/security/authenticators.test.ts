/**
 * Configured authenticators (issue 14 §2): asked in order before the store, on both doors; the first
 * that does not abstain decides (allow with roles and session properties, deny with a reason); when
 * all abstain the store decides; one that throws refuses, and the server stays up.
 */
import type { IConnackPacket } from "mqtt-packet";
import mqtt from "mqtt";
import { afterEach, expect, it } from "vitest";
import { connect } from "../../../sdk/src/index.js";
import type { Authenticator, Credentials } from "../../src/index.js";
import { type TestServer, connectClient, startServer } from "../helpers.js";
import { SECURED } from "./fixture.js";

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const seen: Credentials[] = [];
const robots: Authenticator = {
  authenticate(c) {
    seen.push(c);
    if (c.principal === "robot" && c.password !== undefined && Buffer.from(c.password).toString() === "beep")
      return Promise.resolve({
        decision: "allow",
        principal: "robot",
        roles: ["users"],
        properties: { kind: "robot" },
      });
    if (c.principal === "blocked") return Promise.resolve({ decision: "deny", reason: "not_authorized" });
    if (c.principal === "broken") return Promise.reject(new Error("authenticator bug"));
    return Promise.resolve({ decision: "abstain" });
  },
};

function connackCode(url: string, options: mqtt.IClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.on("packetreceive", (packet) => {
      if (packet.cmd !== "connack") return;
      const c = packet as IConnackPacket;
      client.end(true);
      resolve(c.reasonCode ?? c.returnCode ?? -1);
    });
    client.on("error", () => {});
  });
}

it("asks authenticators first, on both doors, then the store", async () => {
  srv = await startServer({ security: SECURED }, { authenticators: [robots] });
  const sdkUrl = `ws://127.0.0.1:${srv.addresses.http}/sdk`;
  // Allowed by the authenticator, with its roles and properties.
  const robot = await connectClient(srv.url(), {
    protocolVersion: 5,
    clientId: "r1",
    username: "robot",
    password: "beep",
  });
  const admin = await connect(sdkUrl, { principal: "admin", password: "admin-secret", reconnect: false });
  const [info] = await admin.clients.list("$ClientId is 'r1'");
  expect(info?.properties).toMatchObject({ $Principal: "robot", $Roles: "users", kind: "robot" });
  const robotSdk = await connect(sdkUrl, { principal: "robot", password: "beep", reconnect: false });
  expect((await admin.clients.getProperties(robotSdk.sessionId)).kind).toBe("robot");
  // Denied by the authenticator although the store would not know the name either way.
  expect(await connackCode(srv.url(), { protocolVersion: 5, username: "blocked", password: "x" })).toBe(0x87);
  await expect(
    connect(sdkUrl, { principal: "blocked", password: "x", reconnect: false }),
  ).rejects.toMatchObject({
    code: "NOT_AUTHORIZED",
  });
  // A throwing authenticator refuses; the server goes on.
  expect(await connackCode(srv.url(), { protocolVersion: 4, username: "broken", password: "x" })).toBe(5);
  // Abstained: the store decides.
  const alice = await connectClient(srv.url(), {
    protocolVersion: 4,
    username: "alice",
    password: "wonderland",
  });
  expect(seen.some((c) => c.transport === "mqtt" && c.principal === "alice" && c.remoteAddress)).toBe(true);
  expect(seen.some((c) => c.transport === "sdk" && c.principal === "robot")).toBe(true);
  await Promise.all([robot.endAsync(), alice.endAsync(), robotSdk.close(), admin.close()]);
});
