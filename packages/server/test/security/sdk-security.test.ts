/**
 * The SDK door's side of security (issue 14 §2, §3): hello credentials (good, wrong, unknown, anonymous
 * off), `session.security` administration round trip (principals, passwords, roles, path
 * permissions, includes) applied to open sessions at once, a removed principal's SDK and MQTT sessions
 * closed with PRINCIPAL_REMOVED / DISCONNECT 0x87, the admin from SKEIN_ADMIN_PASSWORD, the store
 * kept across a restart (sqlite), and the refusal to start on a non-loopback bind nobody secured.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IDisconnectPacket } from "mqtt-packet";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Session, SkeinError, connect } from "../../../sdk/src/index.js";
import { type TestServer, connectClient, startServer } from "../helpers.js";
import { SECURED, startSecured } from "./fixture.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  vi.unstubAllEnvs();
});

function sdkUrl(srv: TestServer): string {
  return `ws://127.0.0.1:${srv.addresses.http}/sdk`;
}

async function login(srv: TestServer, principal?: string, password?: string): Promise<Session> {
  const session = await connect(sdkUrl(srv), { principal, password, reconnect: false });
  cleanup.push(() => session.close());
  return session;
}

async function refusal(srv: TestServer, principal?: string, password?: string): Promise<string> {
  try {
    const s = await connect(sdkUrl(srv), { principal, password, reconnect: false });
    await s.close();
    return "accepted";
  } catch (err) {
    return (err as SkeinError).code;
  }
}

async function secured(config: Parameters<typeof startSecured>[0] = {}): Promise<TestServer> {
  const srv = await startSecured(config);
  cleanup.push(() => srv.close());
  return srv;
}

describe("SDK hello authentication", () => {
  it("lets the right password in and refuses a wrong one or an unknown principal", async () => {
    const srv = await secured({ security: { anonymous: { roles: ["users"] } } });
    const alice = await login(srv, "alice", "wonderland");
    expect(alice.state).toBe("connected");
    expect(await refusal(srv, "alice", "wrong")).toBe("NOT_AUTHENTICATED");
    expect(await refusal(srv, "alice")).toBe("NOT_AUTHENTICATED");
    // An unknown principal is refused, not let in as anonymous (which is allowed here).
    expect(await refusal(srv, "mallory", "x")).toBe("NOT_AUTHENTICATED");
    expect(await refusal(srv)).toBe("accepted");
    const failures = srv.server.metrics.get("skein_login_failures_total", {
      transport: "sdk",
      reason: "bad_credentials",
    });
    expect(failures).toBe(3);
  });

  it("refuses a session without credentials when anonymous access is off", async () => {
    const srv = await secured();
    expect(await refusal(srv)).toBe("NOT_AUTHORIZED");
  });

  it("refuses security administration to a principal without view_security / modify_security", async () => {
    const srv = await secured();
    const alice = await login(srv, "alice", "wonderland");
    await expect(alice.security.get()).rejects.toMatchObject({ code: "NOT_AUTHORIZED" });
    await expect(alice.security.addPrincipal("eve", "pw", ["admin"])).rejects.toMatchObject({
      code: "NOT_AUTHORIZED",
    });
  });
});

describe("session.security administration", () => {
  it("adds a principal, changes its password and roles, defines roles, and removes it, closing its sessions", async () => {
    const srv = await secured();
    const admin = await login(srv, "admin", "admin-secret");
    const initial = await admin.security.get();
    expect(initial.principals.map((p) => p.name).sort()).toEqual(["admin", "alice"]);
    expect(JSON.stringify(initial)).not.toContain("scrypt");

    await admin.security.addPrincipal("bob", "builder", ["users"]);
    await expect(admin.security.addPrincipal("bob", "again")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    const bob = await login(srv, "bob", "builder");
    const bobMqtt = await connectClient(srv.url(), {
      protocolVersion: 5,
      clientId: "bob-device",
      username: "bob",
      password: "builder",
    });

    await admin.security.defineRole({ name: "auditors", global: ["view_session"] });
    await admin.security.setPathPermissions("auditors", "audit", ["read_topic"]);
    await admin.security.setPathPermissions("auditors", "audit/private", []);
    await admin.security.includeRoles("auditors", ["users"]);
    await admin.security.assignRoles("bob", ["auditors"]);
    // Bob's open sessions hold the new roles at once.
    const bobs = await admin.clients.list("$Principal is 'bob'");
    expect(bobs).toHaveLength(2);
    for (const s of bobs) expect(s.properties.$Roles).toBe("auditors");
    const view = await admin.security.get();
    expect(view.roles.find((r) => r.name === "auditors")).toEqual({
      name: "auditors",
      global: ["view_session"],
      paths: { audit: ["read_topic"], "audit/private": [] },
      includes: ["users"],
    });
    expect(view.principals.find((p) => p.name === "bob")).toEqual({ name: "bob", roles: ["auditors"] });

    await admin.security.setPassword("bob", "rebuilt");
    expect(await refusal(srv, "bob", "builder")).toBe("NOT_AUTHENTICATED");
    const bobAgain = await login(srv, "bob", "rebuilt");

    const closed = new Promise<SkeinError | undefined>((resolve) =>
      bob.on("closed", (e) => resolve(e.error)),
    );
    const closedAgain = new Promise<SkeinError | undefined>((resolve) =>
      bobAgain.on("closed", (e) => resolve(e.error)),
    );
    const disconnect = new Promise<IDisconnectPacket>((resolve) =>
      bobMqtt.on("disconnect", (packet) => resolve(packet)),
    );
    await admin.security.removePrincipal("bob");
    expect((await closed)?.code).toBe("PRINCIPAL_REMOVED");
    expect((await closedAgain)?.code).toBe("PRINCIPAL_REMOVED");
    expect((await disconnect).reasonCode).toBe(0x87);
    expect(await refusal(srv, "bob", "rebuilt")).toBe("NOT_AUTHENTICATED");
    await bobMqtt.endAsync();
    // The administrator's own session is untouched.
    expect((await admin.security.get()).principals.map((p) => p.name).sort()).toEqual(["admin", "alice"]);
  });

  it("checks commands before sending them", async () => {
    const srv = await secured();
    const admin = await login(srv, "admin", "admin-secret");
    await expect(admin.security.addPrincipal("a/b", "pw")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(admin.security.setPathPermissions("r", "a/#", ["read_topic"])).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(admin.security.removePrincipal("nobody")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("the admin principal and the kept store", () => {
  it("creates admin from SKEIN_ADMIN_PASSWORD at first start", async () => {
    vi.stubEnv("SKEIN_ADMIN_PASSWORD", "from-the-environment");
    const srv = await startServer({ security: { anonymous: false, failedLoginDelayMs: 0 } });
    cleanup.push(() => srv.close());
    const admin = await login(srv, "admin", "from-the-environment");
    const view = await admin.security.get();
    expect(view.principals).toEqual([{ name: "admin", roles: ["admin"] }]);
  });

  it("keeps principals added at run time across a restart (sqlite), and the persisted store wins over the config", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "skein-security-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = { dataDir, storage: { engine: "sqlite" as const } };
    let srv = await startSecured(config);
    const admin = await connect(sdkUrl(srv), {
      principal: "admin",
      password: "admin-secret",
      reconnect: false,
    });
    await admin.security.addPrincipal("carol", "singer", ["users"]);
    await admin.security.removePrincipal("alice");
    await admin.close();
    await srv.close();

    // The config still names alice: the kept store is authoritative after the first start.
    srv = await startServer({ ...config, security: SECURED });
    cleanup.push(() => srv.close());
    const carol = await login(srv, "carol", "singer");
    expect(carol.state).toBe("connected");
    expect(await refusal(srv, "alice", "wonderland")).toBe("NOT_AUTHENTICATED");
    const mqttCarol = await connectClient(srv.url(), {
      protocolVersion: 4,
      username: "carol",
      password: "singer",
    });
    await mqttCarol.endAsync();
  });
});

describe("safe defaults", () => {
  it("lets anonymous sessions in on a loopback bind with no principals configured, without security administration", async () => {
    const srv = await startServer();
    cleanup.push(() => srv.close());
    const anon = await login(srv);
    await anon.topics.add("anon/t", { type: "string" });
    await expect(anon.security.get()).rejects.toMatchObject({ code: "NOT_AUTHORIZED" });
  });

  it("refuses to start on a non-loopback bind without security.anonymous, before listening", async () => {
    const { createServer } = await import("../../src/index.js");
    const server = createServer({
      host: "0.0.0.0",
      logLevel: "silent",
      mqtt: { port: 0, tlsPort: false },
      http: { port: 0, tlsPort: false },
      limits: { sysIntervalMs: 0 },
    });
    await expect(server.listen()).rejects.toThrow(/security\.anonymous/);
    await server.close();
  });
});
