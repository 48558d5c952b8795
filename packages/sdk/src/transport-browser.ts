/**
 * The browser transport: the platform's global `WebSocket`.
 *
 * @module
 */
import { SkeinError } from "@skein/protocol";
import { type TransportFactory, type WebSocketLike, webSocketTransport } from "./transport.js";

/** Opens a WebSocket with the global `WebSocket`. */
export const defaultTransport: TransportFactory = (url, handlers) => {
  if (typeof globalThis.WebSocket !== "function") {
    throw new SkeinError("INVALID_ARGUMENT", "this platform has no global WebSocket");
  }
  const socket = new globalThis.WebSocket(url);
  // Browsers cannot drop a connection without a close handshake: terminate() closes with 4999, which
  // the server treats like any close but 1000 (the session waits for resumption).
  return webSocketTransport(socket as unknown as WebSocketLike, handlers);
};
