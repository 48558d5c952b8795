/**
 * The SDK door and oversize frames (issue 12, items 1-3): a version 2 welcome announces the limits; a
 * message above them but within the WebSocket's margin gets TOO_LARGE for each request it carries and
 * the connection stays open; only a far larger message closes the connection with 1009.
 */
import { errorCodeNumber } from "@skein/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../helpers.js";
import { openRaw, openSession } from "./raw-sdk.js";

const MiB = 1024 * 1024;
/** The default limits: 1 MiB requests, frames up to 1 MiB + 64 KiB. */
const MAX_REQUEST_BYTES = MiB;
const MAX_FRAME_BYTES = MiB + 64 * 1024;
const TOO_LARGE = errorCodeNumber("TOO_LARGE");

let srv: TestServer | undefined;
afterEach(async () => srv?.close());
const sdkUrl = (): string => `ws://127.0.0.1:${srv?.addresses.http}/sdk`;

/** An SDK session with a binary handler registered for `path` (its add_handler answered). */
async function openHandler(path: string): Promise<Awaited<ReturnType<typeof openSession>>> {
  const handler = await openSession(sdkUrl());
  handler.send({
    type: "add_handler",
    id: 1,
    kind: "path",
    path,
    requestType: "binary",
    responseType: "binary",
  });
  await handler.next("result", (r) => r.id === 1);
  return handler;
}

describe("welcome limits", () => {
  it("a version 2 hello gets the limits in its welcome", async () => {
    srv = await startServer();
    const raw = await openRaw(sdkUrl());
    raw.send({ type: "hello", versions: [1, 2] });
    const welcome = await raw.next("welcome");
    expect(welcome.version).toBe(2);
    expect(welcome.limits).toEqual({ maxFrameBytes: MAX_FRAME_BYTES, maxRequestBytes: MAX_REQUEST_BYTES });
  });

  it("a version 1 hello gets a version 1 welcome, without limits", async () => {
    srv = await startServer();
    const raw = await openSession(sdkUrl());
    const welcome = await raw.next("welcome");
    expect(welcome.version).toBe(1);
    expect(welcome).not.toHaveProperty("limits");
  });

  it("the frame limit follows http.maxMessageSize when that is larger", async () => {
    srv = await startServer({ http: { maxMessageSize: 4 * MiB } });
    const raw = await openRaw(sdkUrl());
    raw.send({ type: "hello", versions: [2] });
    expect((await raw.next("welcome")).limits?.maxFrameBytes).toBe(4 * MiB);
  });
});

describe("oversize requests are answered, not closed", () => {
  it("a set just above the frame limit gets TOO_LARGE and the connection goes on", async () => {
    srv = await startServer();
    const raw = await openSession(sdkUrl());
    raw.send({
      type: "set",
      id: 1,
      path: "big/blob",
      valueType: "binary",
      value: new Uint8Array(MAX_FRAME_BYTES),
    });
    raw.send({ type: "ping", id: 2 });
    const error = await raw.next("error", (e) => e.id === 1);
    expect(error.code).toBe(TOO_LARGE);
    await raw.next("result", (r) => r.id === 2);
    expect(raw.closed).toBeUndefined();
    expect(srv.server.metrics.get("sdk_oversize_messages_total")).toBe(1);
  });

  it("a send_request of 1 MiB + 1 byte gets TOO_LARGE (limits.maxRequestBytes)", async () => {
    srv = await startServer();
    const handler = await openHandler("svc/x");
    const raw = await openSession(sdkUrl());
    raw.send({
      type: "send_request",
      id: 1,
      path: "svc/x",
      requestType: "binary",
      responseType: "binary",
      value: new Uint8Array(MAX_REQUEST_BYTES + 1),
    });
    raw.send({ type: "ping", id: 2 });
    expect((await raw.next("error", (e) => e.id === 1)).code).toBe(TOO_LARGE);
    await raw.next("result", (r) => r.id === 2);
    expect(handler.frames.some((f) => f.type === "request")).toBe(false);
  });

  it("a respond of 1 MiB + 1 byte: the requester gets TOO_LARGE, not a timeout", async () => {
    srv = await startServer();
    const handler = await openHandler("svc/y");
    const raw = await openSession(sdkUrl());
    raw.send({
      type: "send_request",
      id: 1,
      path: "svc/y",
      requestType: "binary",
      responseType: "binary",
      value: new Uint8Array(1),
    });
    const request = await handler.next("request");
    handler.send({ type: "respond", id: 2, rid: request.rid, value: new Uint8Array(MAX_REQUEST_BYTES + 1) });
    expect((await raw.next("error", (e) => e.id === 1)).code).toBe(TOO_LARGE);
    expect(handler.closed).toBeUndefined();
  });

  it("a message far above the limit closes the connection with 1009", async () => {
    srv = await startServer();
    const raw = await openSession(sdkUrl());
    raw.sendBytes(new Uint8Array(4 * MiB));
    expect((await raw.waitClosed()).code).toBe(1009);
  });
});
