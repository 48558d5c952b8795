/** A raw SDK wire client for door tests: plain WebSocket, MessagePack frames, no SDK logic. */
import { type ClientOptions, WebSocket } from "ws";
import { type ServerFrame, createMsgpackEncoder } from "@skein/protocol";
import { waitFor } from "../helpers.js";

const encoder = createMsgpackEncoder();

/** A raw connection and everything it received. */
export interface RawSdk {
  ws: WebSocket;
  frames: ServerFrame[];
  closed: { code: number; reason: string } | undefined;
  send(frame: unknown): void;
  sendBytes(bytes: Uint8Array | string): void;
  /** Waits for a frame matching `pred` (searching from the start) and returns it. */
  next<T extends ServerFrame["type"]>(
    type: T,
    pred?: (f: Extract<ServerFrame, { type: T }>) => boolean,
  ): Promise<Extract<ServerFrame, { type: T }>>;
  waitClosed(): Promise<{ code: number; reason: string }>;
}

/** Opens a raw WebSocket to the SDK door (`options` e.g. `{ autoPong: false }` to ignore pings). */
export async function openRaw(url: string, options: ClientOptions = {}): Promise<RawSdk> {
  const ws = new WebSocket(url, options);
  const raw: RawSdk = {
    ws,
    frames: [],
    closed: undefined,
    send: (frame) => ws.send(encoder.encode(frame)),
    sendBytes: (bytes) => ws.send(bytes),
    async next(type, pred) {
      let found: ServerFrame | undefined;
      await waitFor(() => {
        found = raw.frames.find((f) => f.type === type && (!pred || pred(f as never)));
        return found !== undefined;
      }, `frame ${type}`);
      return found as never;
    },
    async waitClosed() {
      await waitFor(() => raw.closed !== undefined, "close");
      return raw.closed as { code: number; reason: string };
    },
  };
  ws.on("message", (data: Buffer) => {
    for (const f of encoder.decodeAll(data)) raw.frames.push(f as ServerFrame);
  });
  ws.on("close", (code, reason) => (raw.closed = { code, reason: reason.toString() }));
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return raw;
}

/** Opens a raw connection and completes the handshake. */
export async function openSession(
  url: string,
  hello: Record<string, unknown> = {},
  options: ClientOptions = {},
): Promise<RawSdk> {
  const raw = await openRaw(url, options);
  raw.send({ type: "hello", versions: [1], ...hello });
  await raw.next("welcome");
  return raw;
}
