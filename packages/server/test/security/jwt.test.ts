/**
 * The built-in JWT authenticator (`security.jwt`, issue 14 §3) over both doors: the MQTT CONNECT
 * password and the SDK hello password carry the token. HS256 with a secret, RS256 with a PEM key file,
 * ES256 with a JWKS file; claims become the principal, roles and session properties; a wrong signature
 * or an expired token is refused (v5 CONNACK 0x86, 3.1.1 return code 4, SDK close 4003); a token that
 * expires during the session closes it (v5 DISCONNECT 0xA0, SDK goodbye CREDENTIALS_EXPIRED and close
 * 4009), driven by a FakeClock, never by sleeping, also for an SDK session resumed (resumption does not
 * authenticate again); a password that is not a JWT is left to the security store.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CryptoKey, SignJWT, exportJWK, exportSPKI, generateKeyPair } from "jose";
import type { IDisconnectPacket, MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCodeNumber } from "@skein/protocol";
import type { SkeinConfigInput } from "../../src/index.js";
import { FakeClock } from "../fake-clock.js";
import { type TestServer, connectClient, startServer } from "../helpers.js";
import { openRaw } from "../sdk/raw-sdk.js";

const SECRET = "a-test-secret-of-at-least-32-bytes!!";
const secretKey = new TextEncoder().encode(SECRET);

let dir: string;
let rsa: { privateKey: CryptoKey; keyFile: string };
let ec: { privateKey: CryptoKey; jwksFile: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "skein-jwt-"));
  const rsaPair = await generateKeyPair("RS256");
  const keyFile = join(dir, "rsa.pub.pem");
  writeFileSync(keyFile, await exportSPKI(rsaPair.publicKey));
  rsa = { privateKey: rsaPair.privateKey, keyFile };
  const ecPair = await generateKeyPair("ES256");
  const jwksFile = join(dir, "jwks.json");
  const jwk = { ...(await exportJWK(ecPair.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" };
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  ec = { privateKey: ecPair.privateKey, jwksFile };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Claims of the tokens: principal alice, two roles, a site and a tier. */
const CLAIMS = { roles: ["readers", "writers"], site: "north", tier: 2 };

// MQTT.js sends no password without a user name (3.1.1 requires one [MQTT-3.1.2-22]): every MQTT
// client here names one, which the JWT authenticator ignores.

/** Mints a token valid for `ttlSec` from the clock's time, signed as `alg` asks. */
async function mint(
  clock: FakeClock,
  alg: "HS256" | "RS256" | "ES256",
  ttlSec = 60,
  key: Uint8Array | CryptoKey = alg === "HS256"
    ? secretKey
    : alg === "RS256"
      ? rsa.privateKey
      : ec.privateKey,
): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  return new SignJWT(CLAIMS)
    .setProtectedHeader(alg === "ES256" ? { alg, kid: "ec-1" } : { alg })
    .setSubject("alice")
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSec)
    .sign(key);
}

function jwtConfig(alg: "HS256" | "RS256" | "ES256"): SkeinConfigInput {
  const keys =
    alg === "HS256"
      ? { secret: SECRET }
      : alg === "RS256"
        ? { keyFile: rsa.keyFile }
        : { jwksFile: ec.jwksFile };
  return {
    security: {
      jwt: { algorithm: alg, ...keys, properties: { site: "site", tier: "tier" } },
      // An administrator to look at sessions with, and a principal of the store (passwords, not tokens).
      principals: [
        { name: "admin", password: "admin-secret", roles: ["admin"] },
        { name: "bob", password: "not a token", roles: [] },
      ],
      // The slow-down after failed logins runs on the FakeClock: off, so refusals answer at once.
      failedLoginDelayMs: 0,
    },
    // Heartbeats and keep-alive far beyond the clock steps of these tests.
    sdk: { heartbeatMs: 86_400_000, reconnectTimeoutMs: 3_600_000 },
  };
}

const sdkUrl = (srv: TestServer) => `ws://127.0.0.1:${srv.addresses.http}/sdk`;

/** Opens a raw SDK connection and says hello with `password`; resolves with the welcome or the close. */
async function hello(srv: TestServer, password: string | undefined, principal?: string) {
  const raw = await openRaw(sdkUrl(srv));
  raw.send({
    type: "hello",
    versions: [1],
    ...(password !== undefined && { password }),
    ...(principal !== undefined && { principal }),
  });
  while (raw.closed === undefined && !raw.frames.some((f) => f.type === "welcome")) {
    await Promise.race([raw.next("welcome"), raw.waitClosed()]).catch(() => {});
  }
  return raw;
}

/** Every session's properties, through an administrator's session. */
async function sessions(
  srv: TestServer,
): Promise<{ sessionId: string; properties: Record<string, string> }[]> {
  const raw = await hello(srv, "admin-secret", "admin");
  raw.send({ type: "list_sessions", id: 1 });
  const result = await raw.next("result", (f) => f.id === 1);
  raw.ws.close(1000);
  return result.value as { sessionId: string; properties: Record<string, string> }[];
}

function nextDisconnect(client: MqttClient): Promise<IDisconnectPacket> {
  return new Promise((resolve) => client.once("disconnect", resolve));
}

describe.each(["HS256", "RS256", "ES256"] as const)("JWT %s", (alg) => {
  it("lets an MQTT client in with a token as password: principal, roles and properties from its claims", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig(alg), { clock });
    const client = await connectClient(srv.url(), {
      protocolVersion: 5,
      clientId: `jwt-${alg}`,
      username: "ignored",
      password: await mint(clock, alg),
    });
    const props = (await sessions(srv)).find((s) => s.properties.$ClientId === `jwt-${alg}`)?.properties;
    expect(props).toMatchObject({ $Principal: "alice", $Roles: "readers,writers", site: "north", tier: "2" });
    await client.endAsync();
  });

  it("lets an SDK client in with a token as hello password", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig(alg), { clock });
    const raw = await hello(srv, await mint(clock, alg));
    const welcome = await raw.next("welcome");
    const props = (await sessions(srv)).find((s) => s.sessionId === welcome.sessionId)?.properties;
    expect(props).toMatchObject({ $Principal: "alice", $Roles: "readers,writers", site: "north", tier: "2" });
    raw.ws.close(1000);
  });

  it("refuses a token with a wrong signature and an expired token on both doors", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig(alg), { clock });
    const other =
      alg === "HS256"
        ? new TextEncoder().encode("another-secret-of-at-least-32-bytes!")
        : (await generateKeyPair(alg)).privateKey;
    const forged = await mint(clock, alg, 60, other);
    const expired = await mint(clock, alg, -10);
    for (const password of [forged, expired]) {
      await expect(
        connectClient(srv.url(), { protocolVersion: 5, username: "u", password }),
      ).rejects.toMatchObject({
        code: 0x86,
      });
      await expect(
        connectClient(srv.url(), { protocolVersion: 4, username: "u", password }),
      ).rejects.toMatchObject({ code: 4 });
      const raw = await hello(srv, password);
      expect((await raw.waitClosed()).code).toBe(4003);
    }
    expect(srv.server.metrics.render()).toMatch(
      /login_failures_total\{reason="bad_credentials",transport="sdk"\} 2/,
    );
  });
});

describe("JWT expiry during the session", () => {
  it("closes an MQTT v5 session with DISCONNECT 0xA0 and a 3.1.1 one by closing the connection", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig("HS256"), { clock });
    const token = await mint(clock, "HS256", 30);
    const v5 = await connectClient(srv.url(), {
      protocolVersion: 5,
      username: "u",
      password: token,
      keepalive: 0,
    });
    const v3 = await connectClient(srv.url(), {
      protocolVersion: 4,
      username: "u",
      password: token,
      keepalive: 0,
    });
    const disconnect = nextDisconnect(v5);
    const v3Closed = new Promise<void>((resolve) => v3.once("close", () => resolve()));
    clock.advance(29_000);
    expect(v5.connected && v3.connected).toBe(true);
    clock.advance(1_000);
    expect((await disconnect).reasonCode).toBe(0xa0);
    await v3Closed;
    expect(srv.server.metrics.render()).toMatch(/mqtt_credentials_expired_total 2/);
    await Promise.all([v5.endAsync(true), v3.endAsync(true)]);
  });

  it("ends an SDK session with goodbye CREDENTIALS_EXPIRED and close 4009; it cannot be resumed", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig("ES256"), { clock });
    const raw = await hello(srv, await mint(clock, "ES256", 30));
    const welcome = await raw.next("welcome");
    clock.advance(30_000);
    expect((await raw.waitClosed()).code).toBe(4009);
    const goodbye = await raw.next("goodbye");
    expect(goodbye.code).toBe(errorCodeNumber("CREDENTIALS_EXPIRED"));
    // A fresh token lets the client in again, as a new session.
    const again = await openRaw(sdkUrl(srv));
    again.send({
      type: "hello",
      versions: [1],
      password: await mint(clock, "ES256", 30),
      resume: { sessionId: welcome.sessionId, token: welcome.token, received: 0 },
    });
    expect((await again.next("welcome")).resumed).toBe(false);
    again.ws.close(1000);
  });

  /**
   * An SDK session opened with a token valid for 30 s loses its connection (no close frame), the
   * clock moves `ms` on, and a new connection asks to resume it: that connection, hello sent.
   */
  async function resumeAfterDrop(srv: TestServer, clock: FakeClock, ms: number) {
    const first = await hello(srv, await mint(clock, "HS256", 30));
    const welcome = await first.next("welcome");
    first.ws.terminate();
    await first.waitClosed();
    clock.advance(ms);
    const again = await openRaw(sdkUrl(srv));
    again.send({
      type: "hello",
      versions: [1],
      resume: { sessionId: welcome.sessionId, token: welcome.token, received: 0 },
    });
    return again;
  }

  it("ends a resumed SDK session when the credentials it started with expire", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig("HS256"), { clock });
    // Resumption presents the session token, not credentials: the session's own expiry still holds.
    const resumed = await resumeAfterDrop(srv, clock, 10_000);
    expect((await resumed.next("welcome")).resumed).toBe(true);
    clock.advance(19_000);
    expect(resumed.closed).toBeUndefined();
    clock.advance(1_000);
    expect((await resumed.waitClosed()).code).toBe(4009);
    expect((await resumed.next("goodbye")).code).toBe(errorCodeNumber("CREDENTIALS_EXPIRED"));
  });

  it("ends an SDK session whose credentials expired while it waited to be resumed", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig("HS256"), { clock });
    const late = await resumeAfterDrop(srv, clock, 60_000);
    expect((await late.waitClosed()).code).toBe(4009);
    expect((await late.next("goodbye")).code).toBe(errorCodeNumber("CREDENTIALS_EXPIRED"));
  });
});

describe("passwords that are not JWTs", () => {
  it("are left to the security store (abstain): a principal's password still lets it in", async () => {
    const clock = new FakeClock();
    await using srv = await startServer(jwtConfig("HS256"), { clock });
    const client = await connectClient(srv.url(), {
      protocolVersion: 5,
      clientId: "plain",
      username: "bob",
      password: "not a token",
    });
    const props = (await sessions(srv)).find((s) => s.properties.$ClientId === "plain")?.properties;
    expect(props?.$Principal).toBe("bob");
    await client.endAsync();
  });
});
