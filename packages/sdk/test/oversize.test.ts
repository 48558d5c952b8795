/**
 * Oversize values and frames (issue 12, items 1-3): what is too large fails with `TOO_LARGE` and the
 * session stays usable: no reconnection, no frame sent again and again.
 */
import { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { type ClientFrame, createMsgpackEncoder, decodeMessage } from "@skein/protocol";
import { type Session, SkeinError, connect } from "../src/index.js";
import { type SdkFixture, startSdkServer, waitFor, errorOf } from "./helpers.js";

const MiB = 1024 * 1024;

/** Counts the session's disconnections (each would be followed by a reconnection). */
function countDrops(session: Session): { drops: number } {
  const counter = { drops: 0 };
  session.on("disconnected", () => counter.drops++);
  return counter;
}

describe("against a Skein server (limits announced in welcome)", () => {
  let f: SdkFixture;
  afterEach(() => f.close());

  it("a 2 MiB set fails with TOO_LARGE; the same session then answers a ping and takes a small set", async () => {
    f = await startSdkServer();
    const session = await f.connect();
    const drops = countDrops(session);
    await session.topics.add("big/blob", { type: "binary" });
    const connectionsBefore = f.server.server.metrics.get("sdk_connections_total");

    const error = await errorOf(session.set("big/blob", "binary", new Uint8Array(2 * MiB)));
    expect(error.code).toBe("TOO_LARGE");
    expect(await session.ping()).toBeGreaterThanOrEqual(0);
    await session.set("big/blob", "binary", Uint8Array.of(1, 2, 3));
    expect([...(f.server.server.getTopic("big/blob")?.value ?? [])]).toEqual([1, 2, 3]);

    expect(drops.drops).toBe(0);
    expect(f.server.server.metrics.get("sdk_connections_total")).toBe(connectionsBefore);
    expect(session.state).toBe("connected");
  });

  it("sendRequest of 1 MiB + 1 byte fails with TOO_LARGE; one of exactly 1 MiB goes through", async () => {
    f = await startSdkServer();
    const handler = await f.connect();
    const requester = await f.connect();
    const drops = countDrops(requester);
    await handler.messaging.addRequestHandler("svc/size", (value) => value.length, {
      requestType: "binary",
      responseType: "double",
    });
    const options = { requestType: "binary", responseType: "double", timeout: 10_000 } as const;

    const error = await errorOf(
      requester.messaging.sendRequest("svc/size", new Uint8Array(MiB + 1), options),
    );
    expect(error.code).toBe("TOO_LARGE");
    // The limit is on the value: a legal request is never refused for the size of its frame.
    expect(await requester.messaging.sendRequest("svc/size", new Uint8Array(MiB), options)).toBe(MiB);
    expect(drops.drops).toBe(0);
  });

  it("a handler answering 1 MiB + 1 byte: it and the requester hear TOO_LARGE, later requests work", async () => {
    f = await startSdkServer();
    const handler = await f.connect();
    const requester = await f.connect();
    const handlerDrops = countDrops(handler);
    const handlerErrors: SkeinError[] = [];
    handler.on("error", (err) => handlerErrors.push(err));
    await handler.messaging.addRequestHandler("svc/blob", (size) => new Uint8Array(Number(size)), {
      requestType: "double",
      responseType: "binary",
    });
    const options = { requestType: "double", responseType: "binary", timeout: 10_000 } as const;

    const error = await errorOf(requester.messaging.sendRequest("svc/blob", MiB + 1, options));
    expect(error.code).toBe("TOO_LARGE");
    expect(error.message).toContain("larger than the server's limit");
    await waitFor(() => handlerErrors.length > 0, "the handler's TOO_LARGE");
    expect(handlerErrors[0]?.code).toBe("TOO_LARGE");

    const small = await requester.messaging.sendRequest("svc/blob", 3, options);
    expect(small).toEqual(new Uint8Array(3));
    expect(handlerDrops.drops).toBe(0);
  });
});

/**
 * A protocol version 1 server (announces no limits) that refuses WebSocket messages above
 * `maxPayload` with close 1009, as `ws` does: the SDK learns of the limit only from the close.
 */
async function startVersion1Server(maxPayload: number): Promise<{
  url: string;
  connections: () => number;
  processed: ClientFrame[];
  close: () => Promise<void>;
}> {
  const encoder = createMsgpackEncoder();
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const session = { id: "s1", token: "t1", processed: 0, log: [] as Uint8Array[] };
  const processed: ClientFrame[] = [];
  let connections = 0;
  wss.on("connection", (ws) => {
    connections++;
    ws.on("error", () => {});
    ws.on("message", (data: Buffer) => {
      for (const value of decodeMessage(encoder, data)) {
        const frame = value as ClientFrame;
        if (frame.type === "hello") {
          const resumed = frame.resume?.token === session.token;
          ws.send(
            encoder.encode({
              type: "welcome",
              version: 1,
              sessionId: session.id,
              token: session.token,
              reconnectTimeoutMs: 30_000,
              resumed,
              processed: session.processed,
            }),
          );
          for (const bytes of session.log.slice(frame.resume?.received ?? 0)) ws.send(bytes);
        } else if (frame.type !== "ack") {
          session.processed++;
          processed.push(frame);
          const bytes = encoder.encode(
            frame.type === "ping"
              ? { type: "result", id: frame.id, value: 0 }
              : { type: "result", id: frame.id },
          );
          session.log.push(bytes);
          ws.send(bytes);
        }
      }
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/sdk`,
    connections: () => connections,
    processed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

describe("against a protocol version 1 server (no limits announced)", () => {
  it("a frame refused with 1009 fails with TOO_LARGE, is never sent again, and the session resumes", async () => {
    const server = await startVersion1Server(256 * 1024);
    const session = await connect(server.url, {
      reconnect: { initialDelayMs: 10, maxDelayMs: 100, timeoutMs: 5000 },
    });
    try {
      const reconnected: boolean[] = [];
      session.on("reconnected", (e) => reconnected.push(e.resumed));
      await session.set("a/small", "binary", Uint8Array.of(1));

      const error = await errorOf(session.set("a/big", "binary", new Uint8Array(512 * 1024)));
      expect(error.code).toBe("TOO_LARGE");
      expect(reconnected).toEqual([true]);
      expect(await session.ping()).toBeGreaterThanOrEqual(0);
      await session.set("a/small", "binary", Uint8Array.of(2));

      // The size is learnt: as large a frame now fails at once, without another connection.
      expect((await errorOf(session.set("a/big", "binary", new Uint8Array(600 * 1024)))).code).toBe(
        "TOO_LARGE",
      );
      expect(server.connections()).toBe(2);
      // The server saw the small sets, the stand-in ping of the refused set, and the ping; never the big set.
      expect(server.processed.map((frame) => frame.type)).toEqual(["set", "ping", "ping", "set"]);
    } finally {
      await session.close();
      await server.close();
    }
  });
});
