/**
 * MQTT CONNECT authentication (issue 14 §2): user name and password against the security store, for
 * MQTT 5 (CONNACK 0x86 Bad User Name or Password, 0x87 Not authorized) and 3.1.1 (return codes 4 and 5
 * [MQTT-3.2.2-6] / [MQTT-3.1.4-2]); an unknown user name never falls back to anonymous; failures are
 * counted; packets sent behind a CONNECT wait for its authentication.
 */
import mqtt from "mqtt";
import type { IConnackPacket } from "mqtt-packet";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../../sdk/src/index.js";
import { type TestServer, connectClient } from "../helpers.js";
import { RawClient, frame, props, str } from "../raw-client.js";
import { SECURED, startSecured } from "./fixture.js";

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

/** Connects with MQTT.js and resolves with the CONNACK's code (reason code or return code). */
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

describe.each([5, 4] as const)("MQTT %s CONNECT", (protocolVersion) => {
  const BAD = protocolVersion === 5 ? 0x86 : 4;
  const NOT_AUTHORIZED = protocolVersion === 5 ? 0x87 : 5;

  it("accepts the right password and sets $Principal and $Roles", async () => {
    srv = await startSecured();
    const client = await connectClient(srv.url(), {
      protocolVersion,
      clientId: "alice-device",
      username: "alice",
      password: "wonderland",
    });
    const admin = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, {
      principal: "admin",
      password: "admin-secret",
      reconnect: false,
    });
    const [info] = await admin.clients.list("$ClientId is 'alice-device'");
    expect(info?.properties).toMatchObject({ $Principal: "alice", $Roles: "users" });
    const metrics = srv.server.metrics;
    expect(metrics.get("skein_login_failures_total", { transport: "mqtt", reason: "bad_credentials" })).toBe(
      0,
    );
    await admin.close();
    await client.endAsync();
  });

  it("refuses a wrong password with 'bad user name or password' and counts it", async () => {
    srv = await startSecured();
    expect(await connackCode(srv.url(), { protocolVersion, username: "alice", password: "nope" })).toBe(BAD);
    const failures = srv.server.metrics.get("skein_login_failures_total", {
      transport: "mqtt",
      reason: "bad_credentials",
    });
    expect(failures).toBe(1);
  });

  it("refuses an unknown user name, never letting it in as anonymous", async () => {
    srv = await startSecured({ security: { anonymous: { roles: ["users"] } } });
    expect(await connackCode(srv.url(), { protocolVersion, username: "mallory", password: "x" })).toBe(BAD);
    expect(await connackCode(srv.url(), { protocolVersion, username: "mallory" })).toBe(BAD);
    // Anonymous itself is allowed here.
    const anon = await connectClient(srv.url(), { protocolVersion });
    await anon.endAsync();
  });

  it("treats an MQTT 5 password without a user name as anonymous (no principal claimed)", async () => {
    if (protocolVersion === 4) return; // 3.1.1 forbids it [MQTT-3.1.2-22]
    const passwordOnly = async (): Promise<number | undefined> => {
      const raw = await RawClient.open(srv!.addresses.mqtt as number, 5);
      // Flags 0x42: Password and Clean Start, no User Name (MQTT.js will not send this).
      const head = Buffer.concat([str("MQTT"), Buffer.from([5, 0x42, 0, 0])]);
      raw.send(frame(0x10, head, props(), str("password-only"), str("wonderland")));
      const connack = (await raw.next(10_000)) as IConnackPacket;
      raw.socket.destroy();
      return connack.reasonCode;
    };
    srv = await startSecured();
    expect(await passwordOnly()).toBe(NOT_AUTHORIZED);
    await srv.close();
    srv = await startSecured({ security: { anonymous: { roles: ["users"] } } });
    expect(await passwordOnly()).toBe(0);
  });

  it("refuses another principal the client id of a session it does not own", async () => {
    srv = await startSecured({
      security: {
        principals: [...SECURED.principals!, { name: "bob", password: "builder", roles: ["users"] }],
      },
    });
    const alice = await connectClient(srv.url(), {
      protocolVersion,
      clientId: "shared-id",
      username: "alice",
      password: "wonderland",
    });
    const bob = { protocolVersion, clientId: "shared-id", username: "bob", password: "builder" };
    expect(await connackCode(srv.url(), bob)).toBe(NOT_AUTHORIZED);
    expect(alice.connected).toBe(true);
    // Its owner takes it over as before [MQTT-3.1.4-3].
    const again = await connectClient(srv.url(), {
      protocolVersion,
      clientId: "shared-id",
      username: "alice",
      password: "wonderland",
    });
    await again.endAsync();
    alice.end(true);
  });

  it("refuses a client without credentials when anonymous access is off", async () => {
    srv = await startSecured();
    expect(await connackCode(srv.url(), { protocolVersion })).toBe(NOT_AUTHORIZED);
    const failures = srv.server.metrics.get("skein_login_failures_total", {
      transport: "mqtt",
      reason: "not_authorized",
    });
    expect(failures).toBe(1);
  });

  it("handles packets sent right behind the CONNECT only after it was authenticated", async () => {
    srv = await startSecured();
    const raw = await RawClient.open(srv.addresses.mqtt as number, protocolVersion);
    raw.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion,
      clientId: "behind",
      clean: true,
      keepalive: 0,
      username: "alice",
      password: Buffer.from("wonderland"),
    });
    raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "a/b", qos: 0 }] });
    raw.send({ cmd: "pingreq" });
    const connack = await raw.next(10_000);
    expect(connack.cmd).toBe("connack");
    expect((connack as IConnackPacket).reasonCode ?? (connack as IConnackPacket).returnCode).toBe(0);
    expect((await raw.next()).cmd).toBe("suback");
    expect((await raw.next()).cmd).toBe("pingresp");
    raw.socket.destroy();
  });

  it("sends nothing behind a refused CONNECT's packets: CONNACK, then the connection closes", async () => {
    srv = await startSecured();
    const raw = await RawClient.open(srv.addresses.mqtt as number, protocolVersion);
    raw.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion,
      clientId: "refused",
      clean: true,
      keepalive: 0,
      username: "alice",
      password: Buffer.from("wrong"),
    });
    raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "a/b", qos: 0 }] });
    const connack = (await raw.next(10_000)) as IConnackPacket;
    expect(connack.reasonCode ?? connack.returnCode).toBe(BAD);
    await raw.closed;
    expect(raw.packets.map((p) => p.cmd)).toEqual(["connack"]);
  });
});

describe("remembered password checks (security.verifiedLoginTtlMs)", () => {
  it("still refuses the old password after a change, though its success was remembered", async () => {
    srv = await startSecured();
    const first = await connectClient(srv.url(), { username: "alice", password: "wonderland" });
    await first.endAsync();
    // Remembered now: a second login with it succeeds, a wrong one is still refused.
    const second = await connectClient(srv.url(), { username: "alice", password: "wonderland" });
    await second.endAsync();
    expect(await connackCode(srv.url(), { protocolVersion: 5, username: "alice", password: "nope" })).toBe(
      0x86,
    );
    const admin = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, {
      principal: "admin",
      password: "admin-secret",
      reconnect: false,
    });
    await admin.security.setPassword("alice", "looking-glass");
    await admin.close();
    expect(
      await connackCode(srv.url(), { protocolVersion: 5, username: "alice", password: "wonderland" }),
    ).toBe(0x86);
    const third = await connectClient(srv.url(), { username: "alice", password: "looking-glass" });
    await third.endAsync();
  });
});
