import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { collect, connectClient, startServer, waitFor } from "./helpers.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ca = readFileSync(fixture("cert.pem"));

describe("TLS listeners", () => {
  it("serves MQTT over TLS (mqtts) and secure WebSocket (wss) when a certificate is configured", async () => {
    await using srv = await startServer({
      tls: { cert: fixture("cert.pem"), key: fixture("key.pem") },
      mqtt: { tlsPort: 0 },
      http: { tlsPort: 0 },
    });
    expect(srv.addresses.mqtts).toBeGreaterThan(0);
    expect(srv.addresses.https).toBeGreaterThan(0);
    const sub = await connectClient(`mqtts://127.0.0.1:${srv.addresses.mqtts}`, { ca, protocolVersion: 5 });
    const pub = await connectClient(`wss://127.0.0.1:${srv.addresses.https}/mqtt`, {
      ca,
      protocolVersion: 4,
    });
    const got = collect(sub);
    await sub.subscribeAsync("secure/#", { qos: 1 });
    await pub.publishAsync("secure/a", "over wss", { qos: 1 });
    await waitFor(() => got.length === 1, "message over TLS");
    expect(got[0]!.payload.toString()).toBe("over wss");
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it("refuses a client that does not trust the certificate, and keeps serving others", async () => {
    await using srv = await startServer({
      tls: { cert: fixture("cert.pem"), key: fixture("key.pem") },
      mqtt: { tlsPort: 0 },
    });
    await expect(
      connectClient(`mqtts://127.0.0.1:${srv.addresses.mqtts}`, { connectTimeout: 2000 }),
    ).rejects.toThrow();
    const ok = await connectClient(`mqtts://127.0.0.1:${srv.addresses.mqtts}`, { ca });
    expect(ok.connected).toBe(true);
    await ok.endAsync();
  });

  it("starts no TLS listener without a certificate", async () => {
    await using srv = await startServer({ mqtt: { tlsPort: 0 }, http: { tlsPort: 0 } });
    expect(srv.addresses.mqtts).toBeUndefined();
    expect(srv.addresses.https).toBeUndefined();
  });
});
