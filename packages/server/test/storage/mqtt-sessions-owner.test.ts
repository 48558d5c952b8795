/**
 * A kept MQTT session keeps its owner across a restart (issue 9, issue 14): restored at start-up, it
 * still acts as the principal that authenticated it, so messages published for it while its client is
 * away pass the per-delivery read check under a restrictive configuration, and another principal
 * cannot take it over by its client id (CONNACK 0x87 Not authorized / 3.1.1 return code 5
 * [MQTT-3.1.4-2]). Real sockets, sqlite on a temporary data directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { IConnackPacket } from "mqtt-packet";
import { afterEach, describe, expect, it } from "vitest";
import type { SkeinConfigInput } from "../../src/index.js";
import { collect, connectClient, roundTrip, startServer, waitFor, type TestServer } from "../helpers.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** alice may read `a`, bob may write it; anonymous access is off and the anonymous role holds nothing. */
const SECURITY: NonNullable<SkeinConfigInput["security"]> = {
  principals: [
    { name: "alice", password: "alice-secret", roles: ["readers"] },
    { name: "bob", password: "bob-secret", roles: ["writers"] },
  ],
  roles: [
    { name: "anonymous", global: [], paths: {} },
    { name: "readers", global: [], paths: { a: ["select_topic", "read_topic"] } },
    { name: "writers", global: [], paths: { a: ["select_topic", "update_topic", "modify_topic"] } },
  ],
  anonymous: false,
  failedLoginDelayMs: 0,
};

async function sqliteServer(dataDir: string): Promise<TestServer> {
  const srv = await startServer({ dataDir, storage: { engine: "sqlite" }, security: SECURITY });
  let closed = false;
  cleanup.push(() => (closed ? undefined : srv.close()));
  return { ...srv, close: () => ((closed = true), srv.close()) };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skein-mqtt-owner-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function persistent(version: 4 | 5, clientId: string, who: string): IClientOptions {
  const login = { username: who, password: `${who}-secret` };
  return version === 5
    ? { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 600 }, ...login }
    : { protocolVersion: 4, clientId, clean: false, ...login };
}

async function client(srv: TestServer, options: IClientOptions): Promise<MqttClient> {
  const c = await connectClient(srv.url(), options);
  cleanup.push(() => c.endAsync(true).catch(() => undefined));
  return c;
}

/** The CONNACK's reason code (v5) or return code (3.1.1). */
function connackCode(url: string, options: IClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    c.on("packetreceive", (packet) => {
      if (packet.cmd !== "connack") return;
      const p = packet as IConnackPacket;
      c.end(true);
      resolve(p.reasonCode ?? p.returnCode ?? -1);
    });
    c.on("error", () => {});
  });
}

for (const version of [5, 4] as const) {
  describe(`MQTT ${version === 5 ? "5" : "3.1.1"}: a kept session keeps its owner across a restart`, () => {
    it("receives what was published for it while away, and no other principal takes it over", async () => {
      const dataDir = tempDir();
      const clientId = `alice-device-${version}`;
      let srv = await sqliteServer(dataDir);
      const alice = await client(srv, persistent(version, clientId, "alice"));
      await alice.subscribeAsync("a/#", { qos: 1 });
      await alice.endAsync();
      await srv.close();

      srv = await sqliteServer(dataDir);
      const bob = await client(srv, { protocolVersion: version, clientId: "bob-pub", ...login("bob") });
      await bob.publishAsync("a/x", "for alice", { qos: 1 });
      // bob may not take alice's session over by its client id.
      expect(await connackCode(srv.url(), persistent(version, clientId, "bob"))).toBe(
        version === 5 ? 0x87 : 5,
      );
      expect(srv.server.metrics.get("mqtt_sessions")).toBeGreaterThanOrEqual(1);

      const back = mqtt.connect(srv.url(), { reconnectPeriod: 0, ...persistent(version, clientId, "alice") });
      cleanup.push(() => back.endAsync(true).catch(() => undefined));
      const got = collect(back);
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        back.once("connect", resolve);
        back.once("error", reject);
      });
      expect(connack.sessionPresent).toBe(true);
      await waitFor(() => got.length >= 1, "the message queued while alice was away");
      await roundTrip(back);
      expect(got.map((m) => [m.topic, m.payload.toString(), m.packet.qos])).toEqual([
        ["a/x", "for alice", 1],
      ]);
    });
  });
}

function login(who: string): { username: string; password: string } {
  return { username: who, password: `${who}-secret` };
}
