/**
 * Mosquitto's dynamic-security API on `$CONTROL/dynamic-security/v1` (issue 14 §3): the real
 * `mosquitto_ctrl` (Debian package `mosquitto`) administers Skein unchanged, each change checked from
 * an MQTT.js client (alice logs in with her password, publishes and subscribes where her ACLs allow,
 * gets 0x87 where not), inexpressible ACLs and non-administrators get an error answer; and the JSON
 * protocol itself at the MQTT.js level.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import mqtt from "mqtt";
import type { IConnackPacket, IDisconnectPacket } from "mqtt-packet";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, connectClient, roundTrip, startServer } from "../helpers.js";

const MOSQUITTO_CTRL = "/usr/bin/mosquitto_ctrl";
const HAS_CTRL = existsSync(MOSQUITTO_CTRL);
if (!HAS_CTRL)
  console.warn(`dynsec.test.ts: ${MOSQUITTO_CTRL} is not installed: the mosquitto_ctrl tests are skipped`);

const REQUEST = "$CONTROL/dynamic-security/v1";
const RESPONSE = "$CONTROL/dynamic-security/v1/response";

/** Admin (role admin), bob (may read the store's topics but not administer it), no anonymous access. */
function startDynsec(config: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  return startServer({
    ...config,
    security: {
      principals: [
        { name: "admin", password: "admin-secret", roles: ["admin"] },
        { name: "bob", password: "bob-secret", roles: ["everything"] },
      ],
      roles: [
        {
          name: "everything",
          global: [],
          paths: { "": ["select_topic", "read_topic", "update_topic", "modify_topic"] },
        },
      ],
      anonymous: false,
      failedLoginDelayMs: 0,
    },
  });
}

/** Runs `mosquitto_ctrl ... dynsec ARGS` as `user`; resolves with its output. */
function ctrl(
  srv: TestServer,
  args: string[],
  user = "admin",
  password = "admin-secret",
): Promise<{ stdout: string; stderr: string }> {
  const port = String(srv.addresses.mqtt);
  return new Promise((resolve, reject) => {
    execFile(
      MOSQUITTO_CTRL,
      ["-h", "127.0.0.1", "-p", port, "-u", user, "-P", password, "dynsec", ...args],
      { timeout: 15_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`mosquitto_ctrl ${args.join(" ")} failed: ${err.message}\n${stderr}`));
        // mosquitto_ctrl warns about the unencrypted connection on every run: keep only the rest.
        else resolve({ stdout, stderr: stderr.replace(/Warning: You are running[^\n]*\n[^\n]*\n\n?/g, "") });
      },
    );
  });
}

/** Runs a command that must succeed: nothing on stderr. */
async function ok(srv: TestServer, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await ctrl(srv, args);
  expect(stderr.trim(), `mosquitto_ctrl dynsec ${args.join(" ")}`).toBe("");
  return stdout;
}

/** Runs a command that must fail; resolves with its error line. */
async function fails(srv: TestServer, args: string[], user?: string, password?: string): Promise<string> {
  const { stderr } = await ctrl(srv, args, user, password);
  expect(stderr).toMatch(/Error: /);
  return stderr.trim();
}

/** The CONNACK code of a login (MQTT 5). */
function connackCode(srv: TestServer, username: string, password: string): Promise<number> {
  return new Promise((resolve) => {
    const client = mqtt.connect(srv.url(), { reconnectPeriod: 0, protocolVersion: 5, username, password });
    client.on("packetreceive", (packet) => {
      if (packet.cmd !== "connack") return;
      client.end(true);
      resolve((packet as IConnackPacket).reasonCode ?? -1);
    });
    client.on("error", () => {});
  });
}

/** The PUBACK reason code of a QoS 1 publish (MQTT 5). */
async function pubackCode(client: MqttClient, topic: string): Promise<number> {
  try {
    const packet = await client.publishAsync(topic, "1", { qos: 1 });
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (err) {
    // MQTT.js rejects on a reason code of 0x80 or more, with the code.
    return (err as { code?: number }).code ?? -1;
  }
}

/** The SUBACK code of one filter. */
async function subackCode(client: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted[0]?.qos ?? -1;
  } catch (err) {
    // MQTT.js rejects a SUBACK with a failure code, with the packet.
    return (err as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1;
  }
}

describe.skipIf(!HAS_CTRL)("the real mosquitto_ctrl against Skein", () => {
  let srv: TestServer;
  let alice: MqttClient | undefined;
  beforeAll(async () => {
    srv = await startDynsec();
  });
  afterAll(async () => {
    await alice?.endAsync(true);
    await srv.close();
  });

  it("createClient makes a principal that logs in with its password; listClients and getClient show it", async () => {
    await ok(srv, "createClient", "alice", "-p", "alice-pw");
    expect(await connackCode(srv, "alice", "alice-pw")).toBe(0);
    expect(await connackCode(srv, "alice", "wrong")).toBe(0x86);
    expect((await ok(srv, "listClients")).split("\n")).toEqual(expect.arrayContaining(["admin", "alice"]));
    const client = await ok(srv, "getClient", "alice");
    expect(client).toContain("Username: alice");
    expect(await fails(srv, ["createClient", "alice", "-p", "x"])).toContain("Client already exists");
    expect(await fails(srv, ["getClient", "nobody"])).toContain("Client not found");
    // Without roles alice may do nothing.
    alice = await connectClient(srv.url(), { protocolVersion: 5, username: "alice", password: "alice-pw" });
    expect(await pubackCode(alice, "sensors/a")).toBe(0x87);
    expect(await subackCode(alice, "sensors/#")).toBe(0x87);
  });

  it("createRole, addRoleACL and addClientRole apply to alice's open session at once", async () => {
    await ok(srv, "createRole", "sensors");
    await ok(srv, "addRoleACL", "sensors", "publishClientSend", "sensors/#", "allow");
    await ok(srv, "addRoleACL", "sensors", "publishClientReceive", "sensors/#", "allow");
    await ok(srv, "addRoleACL", "sensors", "subscribePattern", "sensors/#", "allow");
    await ok(srv, "addClientRole", "alice", "sensors");
    expect((await ok(srv, "listRoles")).split("\n")).toEqual(expect.arrayContaining(["admin", "sensors"]));
    const role = await ok(srv, "getRole", "sensors");
    expect(role).toContain("Rolename: sensors");
    expect(role).toMatch(/publishClientSend\s+: allow : sensors\/# \(priority: 0\)/);
    expect(role).toMatch(/publishClientReceive\s+: allow : sensors\/#/);
    expect(role).toMatch(/subscribePattern\s+: allow : sensors\/#/);
    expect(await ok(srv, "getClient", "alice")).toMatch(/Roles:\s+sensors/);

    const client = alice as MqttClient;
    expect(await subackCode(client, "sensors/#")).toBe(1);
    const got = new Promise<string>((resolve) => client.once("message", (topic) => resolve(topic)));
    expect(await pubackCode(client, "sensors/room1/temp")).toBe(0);
    expect(await got).toBe("sensors/room1/temp");
    expect(await pubackCode(client, "other/x")).toBe(0x87);
    expect(await subackCode(client, "other/#")).toBe(0x87);
  });

  it("answers an error for ACLs Skein cannot express, and changes nothing", async () => {
    const before = await ok(srv, "getRole", "sensors");
    expect(
      await fails(srv, ["addRoleACL", "sensors", "subscribePattern", "sensors/+/temp", "allow"]),
    ).toMatch(/Skein cannot express the ACL topic 'sensors\/\+\/temp'/);
    expect(await fails(srv, ["addRoleACL", "sensors", "publishClientSend", "plant/line1", "allow"])).toMatch(
      /use 'plant\/line1\/#'/,
    );
    expect(await fails(srv, ["addRoleACL", "sensors", "publishClientSend", "secret/#", "deny"])).toMatch(
      /deny ACL/,
    );
    expect(await fails(srv, ["addRoleACL", "sensors", "publishClientSend", "plant/#", "allow", "5"])).toMatch(
      /Priorities are not supported/,
    );
    expect(await fails(srv, ["addRoleACL", "sensors", "unsubscribePattern", "plant/#", "allow"])).toMatch(
      /not supported by Skein/,
    );
    // A more specific prefix that would hide what `sensors/#` grants alice.
    expect(
      await fails(srv, ["addRoleACL", "sensors", "publishClientSend", "sensors/room1/#", "allow"]),
    ).toMatch(/would hide publishClientReceive granted on 'sensors\/#'/);
    expect(await fails(srv, ["createGroup", "staff"])).toMatch(/createGroup is not supported by Skein/);
    expect(await fails(srv, ["addClientRole", "alice", "sensors", "2"])).toMatch(/Priorities/);
    expect(await ok(srv, "getRole", "sensors")).toBe(before);
  });

  it("a principal without view_security / modify_security gets an error answer", async () => {
    expect(await fails(srv, ["listClients"], "bob", "bob-secret")).toMatch(/Not authorized/);
    expect(await fails(srv, ["createClient", "mallory", "-p", "x"], "bob", "bob-secret")).toMatch(
      /Not authorized/,
    );
    expect(await connackCode(srv, "mallory", "x")).toBe(0x86);
  });

  it("removeRoleACL takes the grant away at once", async () => {
    await ok(srv, "removeRoleACL", "sensors", "publishClientSend", "sensors/#");
    const client = alice as MqttClient;
    expect(await pubackCode(client, "sensors/room1/temp")).toBe(0x87);
    expect(await subackCode(client, "sensors/+/temp")).toBe(1);
    expect(await fails(srv, ["removeRoleACL", "sensors", "publishClientSend", "sensors/#"])).toContain(
      "ACL not found",
    );
  });

  it("setClientPassword changes the password; open sessions stay", async () => {
    await ok(srv, "setClientPassword", "alice", "new-pw");
    expect(await connackCode(srv, "alice", "alice-pw")).toBe(0x86);
    expect(await connackCode(srv, "alice", "new-pw")).toBe(0);
    expect((alice as MqttClient).connected).toBe(true);
  });

  it("removeClientRole takes the role's grants away", async () => {
    await ok(srv, "removeClientRole", "alice", "sensors");
    expect(await subackCode(alice as MqttClient, "sensors/#")).toBe(0x87);
    expect(await ok(srv, "getClient", "alice")).not.toContain("sensors");
  });

  it("deleteClient removes the principal and closes its sessions", async () => {
    const client = alice as MqttClient;
    const closed = new Promise<number | undefined>((resolve) =>
      client.once("disconnect", (p: IDisconnectPacket) => resolve(p.reasonCode)),
    );
    await ok(srv, "deleteClient", "alice");
    expect(await closed).toBe(0x87);
    expect(await connackCode(srv, "alice", "new-pw")).toBe(0x86);
    expect(await ok(srv, "listClients")).not.toContain("alice");
    expect(await fails(srv, ["deleteClient", "alice"])).toContain("Client not found");
  });
});

describe("the dynamic-security JSON protocol (MQTT.js)", () => {
  let srv: TestServer | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true);
    await srv?.close();
    srv = undefined;
  });

  async function client(username: string, password: string, protocolVersion: 4 | 5 = 5): Promise<MqttClient> {
    const c = await connectClient((srv as TestServer).url(), { protocolVersion, username, password });
    clients.push(c);
    await c.subscribeAsync(RESPONSE, { qos: 1 });
    return c;
  }

  /** Publishes a payload and resolves with the parsed answer. */
  async function send(c: MqttClient, payload: unknown): Promise<{ responses: Record<string, unknown>[] }> {
    const answer = new Promise<string>((resolve) =>
      c.once("message", (topic, body) => {
        if (topic === RESPONSE) resolve(body.toString());
      }),
    );
    await c.publishAsync(REQUEST, typeof payload === "string" ? payload : JSON.stringify(payload), {
      qos: 1,
    });
    return JSON.parse(await answer) as { responses: Record<string, unknown>[] };
  }

  it.each([5, 4] as const)("answers every command in order, echoing correlationData (MQTT %s)", async (v) => {
    srv = await startDynsec();
    const admin = await client("admin", "admin-secret", v);
    const answer = await send(admin, {
      commands: [
        { command: "createClient", username: "carol", password: "c-pw", correlationData: "1" },
        { command: "createRole", rolename: "devices" },
        {
          command: "addRoleACL",
          rolename: "devices",
          acltype: "publishClientSend",
          topic: "devices/%c/#",
          allow: true,
        },
        { command: "addRoleACL", rolename: "devices", acltype: "subscribeLiteral", topic: "users/%u/#" },
        { command: "addClientRole", username: "carol", rolename: "devices" },
        { command: "getClient", username: "carol", correlationData: "x" },
        { command: "getRole", rolename: "devices" },
        { command: "listClients", count: 1, offset: 1 },
        { command: "setDefaultACLAccess", acls: [] },
        { command: "noSuchCommand" },
        { command: "getRole" },
      ],
    });
    expect(answer.responses).toEqual([
      { command: "createClient", correlationData: "1" },
      { command: "createRole" },
      { command: "addRoleACL" },
      { command: "addRoleACL" },
      { command: "addClientRole" },
      {
        command: "getClient",
        data: { client: { username: "carol", roles: [{ rolename: "devices" }], groups: [] } },
        correlationData: "x",
      },
      {
        command: "getRole",
        data: {
          role: {
            rolename: "devices",
            acls: [
              { acltype: "publishClientSend", topic: "devices/%c/#", priority: 0, allow: true },
              { acltype: "subscribePattern", topic: "users/%u/#", priority: 0, allow: true },
            ],
          },
        },
      },
      { command: "listClients", data: { totalCount: 3, clients: ["bob"] } },
      { command: "setDefaultACLAccess", error: expect.stringContaining("not supported by Skein") },
      { command: "noSuchCommand", error: expect.stringContaining("not supported by Skein") },
      { command: "getRole", error: "Invalid/missing rolename" },
    ]);
    // The Skein model holds it as devices/{clientId} and users/{principal}, substituted per session.
    const carol = await connectClient(srv.url(), {
      protocolVersion: 5,
      clientId: "c1",
      username: "carol",
      password: "c-pw",
    });
    clients.push(carol);
    expect(await pubackCode(carol, "devices/c1/temp")).toBe(0);
    expect(await pubackCode(carol, "devices/c2/temp")).toBe(0x87);
    expect(await subackCode(carol, "users/carol/inbox")).toBe(1);
    expect(await subackCode(carol, "users/dave/inbox")).toBe(0x87);
  });

  it("answers bad payloads", async () => {
    srv = await startDynsec();
    const admin = await client("admin", "admin-secret");
    expect((await send(admin, "{not json")).responses).toEqual([
      { command: "Unknown command", error: "Payload not valid JSON" },
    ]);
    expect((await send(admin, { commands: [] })).responses).toEqual([
      { command: "Unknown command", error: "Invalid/missing commands" },
    ]);
    expect((await send(admin, { commands: [42, { username: "x" }] })).responses).toEqual([
      { command: "Unknown command", error: "Command not an object" },
      { command: "Unknown command", error: "Missing command" },
    ]);
    expect((await send(admin, { commands: [{ command: "createClient", username: "d" }] })).responses).toEqual(
      [{ command: "createClient", error: expect.stringContaining("Invalid/missing password") }],
    );
    // Names obey the same rules as through the SDK: one path segment, no leading $.
    const names = await send(admin, {
      commands: [
        { command: "createClient", username: "a/b", password: "x" },
        { command: "createRole", rolename: "$sys" },
      ],
    });
    expect(names.responses).toEqual([
      { command: "createClient", error: expect.stringMatching(/^Invalid name: a name is one path segment/) },
      { command: "createRole", error: expect.stringMatching(/^Invalid role.name: /) },
    ]);
  });

  it("refuses a prefix that would hide a shorter one's grant, and takes it once that grant is there too", async () => {
    srv = await startDynsec();
    const admin = await client("admin", "admin-secret");
    const acl = (acltype: string, topic: string) => ({
      command: "addRoleACL",
      rolename: "r",
      acltype,
      topic,
    });
    const first = await send(admin, {
      commands: [
        { command: "createRole", rolename: "r" },
        acl("publishClientReceive", "#"),
        acl("publishClientSend", "devices/%c/#"),
        acl("publishClientReceive", "devices/%c/#"),
        acl("publishClientSend", "devices/%c/#"),
        { command: "removeRoleACL", rolename: "r", acltype: "publishClientReceive", topic: "devices/%c/#" },
      ],
    });
    expect(first.responses.map((r) => r.error)).toEqual([
      undefined,
      undefined,
      "Skein cannot express this exactly: for role r, 'devices/%c/#' would hide publishClientReceive granted on '#' (in Skein the most specific path decides alone); 'devices/%c/#' needs that ACL as well",
      undefined,
      undefined,
      expect.stringContaining("would hide publishClientReceive"),
    ]);
  });

  it("answers only the requester; nobody else may publish under $CONTROL/dynamic-security/", async () => {
    srv = await startDynsec();
    const admin = await client("admin", "admin-secret");
    const bob = await client("bob", "bob-secret");
    const seenByBob: string[] = [];
    bob.on("message", (topic) => seenByBob.push(topic));
    // Bob may not read the store: his own request is answered with an error, to him.
    expect((await send(bob, { commands: [{ command: "listClients" }] })).responses).toEqual([
      { command: "listClients", error: expect.stringMatching(/^Not authorized: .*view_security/) },
    ]);
    expect((await send(admin, { commands: [{ command: "listClients" }] })).responses[0]).toMatchObject({
      data: { clients: ["admin", "bob"] },
    });
    await roundTrip(bob);
    expect(seenByBob).toEqual([RESPONSE]); // his own answer only
    // Posing as the answer, or publishing elsewhere under the prefix: 0x87 Not authorized.
    expect(await pubackCode(bob, RESPONSE)).toBe(0x87);
    expect(await pubackCode(bob, "$CONTROL/dynamic-security/v2")).toBe(0x87);
    expect(await pubackCode(admin, RESPONSE)).toBe(0x87);
  });

  it("changes persist across a restart (sqlite)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "skein-dynsec-"));
    try {
      srv = await startDynsec({ dataDir, storage: { engine: "sqlite" } });
      const admin = await client("admin", "admin-secret");
      await send(admin, {
        commands: [
          { command: "createClient", username: "erin", password: "e-pw" },
          { command: "createRole", rolename: "r" },
          { command: "addRoleACL", rolename: "r", acltype: "publishClientReceive", topic: "#", allow: true },
          { command: "addClientRole", username: "erin", rolename: "r" },
        ],
      });
      for (const c of clients.splice(0)) await c.endAsync(true);
      await srv.close();
      srv = await startDynsec({ dataDir, storage: { engine: "sqlite" } });
      expect(await connackCode(srv, "erin", "e-pw")).toBe(0);
      const again = await client("admin", "admin-secret");
      expect((await send(again, { commands: [{ command: "getRole", rolename: "r" }] })).responses[0]).toEqual(
        {
          command: "getRole",
          data: {
            role: {
              rolename: "r",
              acls: [{ acltype: "publishClientReceive", topic: "#", priority: 0, allow: true }],
            },
          },
        },
      );
    } finally {
      for (const c of clients.splice(0)) await c.endAsync(true);
      await srv?.close();
      srv = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
