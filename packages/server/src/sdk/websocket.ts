/**
 * The SDK door's WebSocket class, given to `ws`'s server as its `WebSocket` option: a `ws` WebSocket
 * whose events go straight to the door's connection, so that an idle SDK WebSocket holds none of the
 * per-socket state `ws` would otherwise make for it (issue 11, memory per idle SDK session):
 *
 * - no listener map: `ws` emits `message`, `close`, `error` and `pong` on the WebSocket, and this class
 *   hands them to its connection in `emit`; Node's `EventEmitter` makes its map (a dictionary-mode
 *   object, about 280 bytes with four listeners) only if something adds a listener;
 * - no extension map: with `perMessageDeflate` off every WebSocket shares one frozen empty one;
 * - no auto-pong closure: `ws` answers a client's ping with a pong and counts the pongs not yet
 *   written (`maxPendingAutoPongs`) with a closure per WebSocket; here it is made when a ping comes.
 *
 * Each of these relies on a `ws` internal (the `_events`, `_extensions` and `_autoPongComplete` fields,
 * ws 8). Should a later `ws` rename one, the WebSocket still works as a plain one and only the bytes
 * come back; `test/sdk/websocket.test.ts` checks the behaviour that depends on them.
 */
import { WebSocket } from "ws";
import type { SdkConnection } from "./connection.js";

/** The `ws` internals this class sets. */
interface WsInternals {
  _events: object | undefined;
  _extensions: object;
  _pendingAutoPongs: number;
}

/** The extensions of every SDK WebSocket: none (the SDK server has `perMessageDeflate` off). */
const NO_EXTENSIONS = Object.freeze({});

/** A `ws` WebSocket that reports its events to its SDK connection, without listeners. */
export class SdkWebSocket extends WebSocket {
  /** The connection this WebSocket carries: set when the door accepts it, before any event. */
  connection: SdkConnection | undefined = undefined;

  /**
   * Made by `ws`'s server only, as `new WebSocket(null, undefined, serverOptions)` (the types declare a
   * server-side WebSocket's constructor with `address` alone, and the server's option with the client's).
   */
  constructor(address: string | URL | null, protocols?: unknown, options?: unknown) {
    // @ts-expect-error: ws's server passes `null` with its options (see above)
    super(address, protocols, options);
    const internals = this as unknown as WsInternals;
    // Node's EventEmitter makes the map on the first listener added when there is none.
    internals._events = undefined;
    internals._extensions = NO_EXTENSIONS;
  }

  /** The events the connection handles go to it; any other goes to listeners, if there are any. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const conn = this.connection;
    if (conn !== undefined) {
      switch (event) {
        case "message":
          conn.handleMessage(args[0] as Buffer, args[1] as boolean);
          return true;
        case "close":
          conn.onClose(args[0] as number);
          return true;
        case "error":
          conn.onError(args[0] as Error);
          return true;
        case "pong":
          conn.pong();
          return true;
      }
    }
    return super.emit(event, ...args);
  }
}

// `ws` sets `_autoPongComplete` in its constructor to a closure that counts a written auto-pong
// (`websocket._pendingAutoPongs--`) and passes it with each pong it sends for a client's ping. The
// accessor drops the assignment and makes the same callback when `ws` reads it to answer a ping.
Object.defineProperty(SdkWebSocket.prototype, "_autoPongComplete", {
  configurable: true,
  get(this: WsInternals): () => void {
    return () => {
      this._pendingAutoPongs--;
    };
  },
  set(): void {},
});
