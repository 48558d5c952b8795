import { describe, expect, it } from "vitest";
import { EARLY_FLUSH_FRAMES, type WebSocketLike, webSocketTransport } from "./transport.js";

/** A socket that records what is sent. */
function fakeSocket(): WebSocketLike & { sent: Uint8Array[] } {
  return {
    sent: [],
    binaryType: "",
    readyState: 1,
    send(data: Uint8Array) {
      this.sent.push(data);
    },
    close() {},
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
}

const handlers = { onOpen() {}, onMessage() {}, onClose() {} };

describe("webSocketTransport batching", () => {
  it("sends the frames of one turn as one message", async () => {
    const socket = fakeSocket();
    const t = webSocketTransport(socket, handlers);
    for (let i = 0; i < 3; i++) t.send(Uint8Array.of(i));
    expect(socket.sent).toHaveLength(0);
    await Promise.resolve();
    expect(socket.sent).toEqual([Uint8Array.of(0, 1, 2)]);
  });

  it(`sends a batch at once when it reaches ${EARLY_FLUSH_FRAMES} frames, the rest at the end of the turn`, async () => {
    const socket = fakeSocket();
    const t = webSocketTransport(socket, handlers);
    for (let i = 0; i < EARLY_FLUSH_FRAMES + 3; i++) t.send(Uint8Array.of(i));
    expect(socket.sent).toHaveLength(1);
    expect(socket.sent[0]).toHaveLength(EARLY_FLUSH_FRAMES);
    await Promise.resolve();
    expect(socket.sent).toHaveLength(2);
    expect([...(socket.sent[1] as Uint8Array)]).toEqual([
      EARLY_FLUSH_FRAMES,
      EARLY_FLUSH_FRAMES + 1,
      EARLY_FLUSH_FRAMES + 2,
    ]);
  });
});
