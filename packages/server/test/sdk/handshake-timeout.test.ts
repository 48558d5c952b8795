/**
 * Connections that never finish their handshake are closed (issue 12, item 11): an SDK WebSocket that
 * sends no hello (`sdk.handshakeTimeoutMs`), and an HTTP request whose headers never end
 * (`http.headersTimeoutMs`, `http.requestTimeoutMs`).
 */
import { connect, type Socket } from "node:net";
import { CloseCodes } from "@skein/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { startServer, waitFor, type TestServer } from "../helpers.js";
import { openRaw, openSession } from "./raw-sdk.js";

let srv: TestServer | undefined;
afterEach(async () => srv?.close());
const sdkUrl = (): string => `ws://127.0.0.1:${srv?.addresses.http}/sdk`;

describe("SDK handshake timeout", () => {
  it("a WebSocket that never sends hello is closed with 4008, counted; a welcomed one stays open", async () => {
    srv = await startServer({ sdk: { handshakeTimeoutMs: 200 } });
    const welcomed = await openSession(sdkUrl());
    const silent = await openRaw(sdkUrl());
    const closed = await silent.waitClosed();
    expect(closed.code).toBe(CloseCodes.HANDSHAKE_TIMEOUT);
    expect(closed.reason).toContain("no hello");
    expect(srv.server.metrics.get("sdk_handshake_timeouts_total")).toBe(1);
    expect(welcomed.closed).toBeUndefined();
    welcomed.send({ type: "ping", id: 1 });
    await welcomed.next("result", (r) => r.id === 1);
  });

  it("defaults to 10 s, as mqtt.connectTimeoutMs", async () => {
    srv = await startServer();
    expect(srv.server.config.sdk.handshakeTimeoutMs).toBe(10_000);
    expect(srv.server.config.mqtt.connectTimeoutMs).toBe(10_000);
  });
});

/** Sends `head`, an HTTP request whose headers never end, and resolves with what the server answered once it closed the socket. */
async function unfinishedRequest(head: string): Promise<string> {
  const socket: Socket = connect(srv!.addresses.http as number, "127.0.0.1");
  socket.on("error", () => {});
  let received = "";
  let ended = false;
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  socket.on("close", () => (ended = true));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(head);
  await waitFor(() => ended, "the server closes the socket", 10_000);
  return received;
}

describe("HTTP timeouts", () => {
  it("a request whose headers never end is answered 408 and closed", async () => {
    srv = await startServer({ http: { headersTimeoutMs: 200, requestTimeoutMs: 400 } });
    const received = await unfinishedRequest("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(srv.server.metrics.get("http_client_errors_total", { reason: "timeout" })).toBe(1);
  });

  it("an upgrade that never finishes its headers is closed too", async () => {
    srv = await startServer({ http: { headersTimeoutMs: 200, requestTimeoutMs: 200 } });
    const received = await unfinishedRequest(
      "GET /sdk HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n",
    );
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });
});
