/**
 * The pre-CONNECT bounds over WebSocket (issue 12, item 9): `ws` gathers a whole message before the MQTT
 * door sees it, so a client that trickles a huge first message would be held in full up to the WebSocket
 * limit (about 1 MB) if the listener did not apply `mqtt.maxConnectPacketSize` and
 * `mqtt.maxPendingConnectBytes` to the raw bytes before the first message is whole. The connect timeout
 * is a minute, so every close seen here is the bound's doing.
 */
import { afterEach, describe, expect, it } from "vitest";
import mqtt from "mqtt-packet";
import { WebSocket } from "ws";
import { startServer, waitFor, type TestServer } from "../helpers.js";

let srv: TestServer | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await srv?.close();
  srv = undefined;
});

const metric = (name: string, labels?: Record<string, string>): number =>
  srv!.server.metrics.get(name, labels);

async function open(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv!.addresses.http}/mqtt`, "mqtt");
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return ws;
}

const closed = (ws: WebSocket): Promise<void> =>
  ws.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((r) => ws.once("close", () => r()));

/** Sends `bytes` as fragments of one WebSocket message that is never finished. */
async function trickle(ws: WebSocket, bytes: number, fragment = 4096): Promise<void> {
  for (let sent = 0; sent < bytes && ws.readyState === WebSocket.OPEN; sent += fragment)
    await new Promise<void>((resolve) =>
      ws.send(Buffer.alloc(fragment, 0x10), { fin: false }, () => resolve()),
    );
}

describe("bytes held for MQTT WebSockets awaiting CONNECT", () => {
  it("closes a socket whose unfinished first message passes maxConnectPacketSize", async () => {
    srv = await startServer({ mqtt: { connectTimeoutMs: 60_000, maxConnectPacketSize: 16_384 } });
    const ws = await open();
    await trickle(ws, 900_000);
    await closed(ws);
    expect(metric("mqtt_connections_refused_total", { reason: "connect_too_large" })).toBe(1);
    await waitFor(
      () => metric("mqtt_pending_connect_bytes") === 0,
      "the refused socket to release its bytes",
    );
  });

  it("closes sockets whose unfinished first messages take the total past maxPendingConnectBytes", async () => {
    srv = await startServer({
      mqtt: { connectTimeoutMs: 60_000, maxConnectPacketSize: 16_384, maxPendingConnectBytes: 20_000 },
    });
    const first = await open();
    await trickle(first, 12_000);
    await waitFor(
      () => metric("mqtt_pending_connect_bytes") >= 12_000,
      "the first socket's bytes to be held",
    );
    const second = await open();
    await trickle(second, 12_000);
    await closed(second);
    expect(metric("mqtt_connections_refused_total", { reason: "pending_connect_bytes" })).toBe(1);
    expect(first.readyState).toBe(WebSocket.OPEN);
  });

  it("serves a CONNECT that arrives whole, and releases what it held", async () => {
    srv = await startServer({ mqtt: { connectTimeoutMs: 60_000 } });
    const ws = await open();
    const connack = new Promise<Buffer>((resolve) => ws.once("message", (data) => resolve(data as Buffer)));
    ws.send(
      mqtt.generate({ cmd: "connect", clientId: "ws-ok", protocolVersion: 4, keepalive: 60, clean: true }),
    );
    expect([...(await connack)]).toEqual([0x20, 0x02, 0x00, 0x00]);
    expect(metric("mqtt_pending_connect_bytes")).toBe(0);
  });
});
