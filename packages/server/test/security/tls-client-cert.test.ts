/**
 * Client certificates on the TLS listeners (issue 14 §3): with `tls.ca` a client without a certificate
 * the CA signed is refused (the default, `tls.clientCertificate: required`), or let in with `optional`;
 * a verified certificate's CN (or a SAN, `tls.principalFrom`) becomes the session's `$Principal` on
 * mqtts and on the SDK door over WSS, with the roles the security store gives that principal.
 */
import mqtt, { type IClientOptions } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkeinConfigInput } from "../../src/index.js";
import { connectClient, startServer } from "../helpers.js";
import { openRaw, openSession } from "../sdk/raw-sdk.js";
import { type TestCerts, makeCerts } from "./certs.js";

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts();
}, 60_000);
afterAll(() => certs?.remove());

function tlsConfig(extra: Partial<NonNullable<SkeinConfigInput["tls"]>> = {}): SkeinConfigInput {
  return {
    tls: { cert: certs.files.serverCert, key: certs.files.serverKey, ca: certs.files.ca, ...extra },
    mqtt: { tlsPort: 0 },
    http: { tlsPort: 0 },
    security: {
      // The certificates' principals, known to the store without a password: their roles come from it.
      principals: [
        { name: "device-1", roles: ["admin"] },
        { name: "device-1@example.com", roles: ["admin"] },
      ],
      anonymous: { roles: [] },
      failedLoginDelayMs: 0,
    },
  };
}

/**
 * How an MQTT.js connection attempt ends: `connected` on CONNACK, `refused` when the connection
 * closes or fails first (with TLS 1.3 the server's refusal of a certificate arrives after the client's
 * handshake, as an alert that closes the connection).
 */
function attempt(url: string, options: IClientOptions): Promise<"connected" | "refused"> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
    const done = (outcome: "connected" | "refused") => {
      client.end(true);
      resolve(outcome);
    };
    client.once("connect", () => done("connected"));
    client.once("error", () => done("refused"));
    client.once("close", () => done("refused"));
  });
}

/** The properties of every session, through the SDK door's `list_sessions`. */
async function sessionsOver(url: string, ca: Buffer, client: { cert: Buffer; key: Buffer }) {
  const raw = await openSession(url, {}, { ca, ...client });
  raw.send({ type: "list_sessions", id: 1 });
  const result = await raw.next("result", (f) => f.id === 1);
  raw.ws.close(1000);
  return result.value as { sessionId: string; properties: Record<string, string> }[];
}

describe("TLS client certificates", () => {
  it("refuses an mqtts client without a certificate when tls.ca is set, and admits one with a certificate the CA signed", async () => {
    await using srv = await startServer(tlsConfig());
    const url = `mqtts://127.0.0.1:${srv.addresses.mqtts}`;
    expect(await attempt(url, { ca: certs.ca })).toBe("refused");
    expect(await attempt(url, { ca: certs.ca, ...certs.rogue })).toBe("refused");
    expect(srv.server.metrics.render()).toMatch(/tls_handshake_failures_total \d/);
    const ok = await connectClient(url, {
      ca: certs.ca,
      ...certs.client,
      protocolVersion: 5,
      clientId: "c1",
    });
    expect(ok.connected).toBe(true);
    const sessions = await sessionsOver(`wss://127.0.0.1:${srv.addresses.https}/sdk`, certs.ca, certs.client);
    const mqttSession = sessions.find((s) => s.properties.$ClientId === "c1");
    expect(mqttSession?.properties.$Principal).toBe("device-1");
    await ok.endAsync();
  });

  it("admits an mqtts client without a certificate with clientCertificate optional, but still refuses an unverified one", async () => {
    await using srv = await startServer(tlsConfig({ clientCertificate: "optional" }));
    const url = `mqtts://127.0.0.1:${srv.addresses.mqtts}`;
    const anonymous = await connectClient(url, { ca: certs.ca, clientId: "anon" });
    expect(anonymous.connected).toBe(true);
    expect(await attempt(url, { ca: certs.ca, ...certs.rogue })).toBe("refused");
    expect(srv.server.metrics.render()).toMatch(/tls_client_certificates_refused_total 1/);
    const withCert = await connectClient(url, { ca: certs.ca, ...certs.client, clientId: "cert" });
    const sessions = await sessionsOver(`wss://127.0.0.1:${srv.addresses.https}/sdk`, certs.ca, certs.client);
    expect(sessions.find((s) => s.properties.$ClientId === "anon")?.properties.$Principal).toBe("");
    expect(sessions.find((s) => s.properties.$ClientId === "cert")?.properties.$Principal).toBe("device-1");
    await Promise.all([anonymous.endAsync(), withCert.endAsync()]);
  });

  it("makes the certificate's CN the principal of an SDK session over WSS", async () => {
    await using srv = await startServer(tlsConfig());
    const url = `wss://127.0.0.1:${srv.addresses.https}/sdk`;
    // The hello names another principal: the verified certificate decides.
    const raw = await openSession(url, { principal: "someone-else" }, { ca: certs.ca, ...certs.client });
    const welcome = await raw.next("welcome");
    raw.send({ type: "get_properties", id: 1, sessionId: welcome.sessionId });
    const props = (await raw.next("result", (f) => f.id === 1)).value as Record<string, string>;
    expect(props).toMatchObject({ $Principal: "device-1", $Roles: "admin" });
    raw.ws.close(1000);
    await expect(openRaw(url, { ca: certs.ca })).rejects.toThrow();
  });

  it("makes the certificate's CN the principal of an MQTT client over WSS", async () => {
    await using srv = await startServer(tlsConfig());
    const url = `wss://127.0.0.1:${srv.addresses.https}/mqtt`;
    expect(await attempt(url, { ca: certs.ca })).toBe("refused");
    const client = await connectClient(url, { ca: certs.ca, ...certs.client, clientId: "over-wss" });
    const sessions = await sessionsOver(`wss://127.0.0.1:${srv.addresses.https}/sdk`, certs.ca, certs.client);
    expect(sessions.find((s) => s.properties.$ClientId === "over-wss")?.properties.$Principal).toBe(
      "device-1",
    );
    await client.endAsync();
  });

  it("takes the principal from a subject alternative name with principalFrom", async () => {
    await using srv = await startServer(tlsConfig({ principalFrom: "email" }));
    const raw = await openSession(
      `wss://127.0.0.1:${srv.addresses.https}/sdk`,
      {},
      { ca: certs.ca, ...certs.client },
    );
    const welcome = await raw.next("welcome");
    raw.send({ type: "get_properties", id: 1, sessionId: welcome.sessionId });
    const props = (await raw.next("result", (f) => f.id === 1)).value as Record<string, string>;
    expect(props.$Principal).toBe("device-1@example.com");
    raw.ws.close(1000);
  });
});
