/**
 * The Node transport: the `ws` package (Node 20 has no global WebSocket by default).
 *
 * @module
 */
import { WebSocket } from "ws";
import { type TransportFactory, type WebSocketLike, webSocketTransport } from "./transport.js";

/** Opens a WebSocket with `ws`. Permessage-deflate is off: msgpack frames are small and compress poorly. */
export const defaultTransport: TransportFactory = (url, handlers) => {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  // `terminate()` destroys the TCP socket at once: the server sees the connection drop (no close frame).
  return webSocketTransport(socket as unknown as WebSocketLike, handlers, () => socket.terminate());
};
