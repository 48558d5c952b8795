/**
 * The SDK door's WebSocket class (src/sdk/websocket.ts), over real sockets: what relies on the `ws`
 * internals it sets still behaves as a plain `ws` WebSocket does.
 */
import { afterEach, expect, it } from "vitest";
import { type TestServer, startServer } from "../helpers.js";
import { openSession } from "./raw-sdk.js";

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

it("answers every client ping with a pong, counting each written one (beyond ws's 60 pending)", async () => {
  srv = await startServer();
  const sdk = await openSession(`ws://127.0.0.1:${srv.addresses.http}/sdk`);
  await sdk.next("welcome");
  // ws terminates a WebSocket with 60 pongs not yet written: a written pong that was not counted off
  // would close this one at the 61st ping.
  for (let i = 0; i < 150; i++) {
    const closed = (): void => answered("closed");
    let answered: (what: string) => void = () => {};
    const pong = new Promise<string>((resolve) => {
      answered = resolve;
      sdk.ws.once("pong", (data: Buffer) => resolve(data.toString()));
      sdk.ws.once("close", closed);
    });
    sdk.ws.ping(Buffer.from(`p${i}`));
    expect(await pong).toBe(`p${i}`);
    sdk.ws.off("close", closed);
  }
  sdk.send({ type: "ping", id: 1 });
  expect(await sdk.next("result", (f) => f.id === 1)).toBeTruthy();
  expect(sdk.closed).toBeUndefined();
});
