/**
 * The transport the session runs over: one WebSocket carrying binary messages. Browsers use the global
 * `WebSocket` (`transport-browser.ts`); Node uses the `ws` package (`transport-node.ts`), because Node 20
 * has no global WebSocket by default. Which one `connect` uses is chosen by the package's `#transport`
 * import conditions (`browser` or not), so `ws` never enters a browser bundle.
 *
 * The core of the SDK sees only this small interface, which also lets tests plug in their own.
 *
 * @module
 */

/** Callbacks a transport reports to. Exactly one of `onOpen`/`onClose` ends the opening phase. */
export interface TransportHandlers {
  /** The connection is open: messages may be sent. */
  onOpen(): void;
  /** One binary message arrived. */
  onMessage(data: Uint8Array): void;
  /**
   * The connection is closed (or could not be opened). Called once. `code` is the WebSocket close
   * code (1006 when the connection dropped without a close handshake).
   */
  onClose(code: number, reason: string): void;
}

/** An open or opening connection. */
export interface Transport {
  /** Sends one binary message. Ignored when the connection is not open. */
  send(data: Uint8Array): void;
  /** Starts a close handshake with `code` and `reason`. */
  close(code: number, reason: string): void;
  /**
   * Drops the connection without a close handshake, as a network failure would (used by tests to
   * exercise resumption; where the platform cannot, a close with code 4999 stands in).
   */
  terminate(): void;
}

/** Opens a connection to `url` that reports to `handlers`. */
export type TransportFactory = (url: string, handlers: TransportHandlers) => Transport;

/** The part of the WHATWG WebSocket API both the browser's WebSocket and `ws` provide. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const OPEN = 1;

/**
 * The most bytes of frames batched into one WebSocket message; a frame this large or larger goes alone.
 * So a message the server refuses for its size (close 1009) held exactly one frame: the first it had not
 * processed (see `RequestChannel.refusedForSize`).
 */
export const MAX_BATCH_BYTES = 64 * 1024;
/** Frames after which a batch is sent at once rather than at the end of the turn. */
export const EARLY_FLUSH_FRAMES = 32;

/**
 * Adapts a WebSocket (browser or `ws`) to a {@link Transport}. Every socket gets an error listener: an
 * error is always followed by a close event, which is what the session acts on.
 *
 * @param socket - a new WebSocket
 * @param handlers - where to report
 * @param terminate - how to drop the connection abruptly; default: a close with code 4999
 */
export function webSocketTransport(
  socket: WebSocketLike,
  handlers: TransportHandlers,
  terminate: () => void = () => socket.close(4999, "terminated"),
): Transport {
  let closed = false;
  socket.binaryType = "arraybuffer";
  socket.onopen = () => handlers.onOpen();
  socket.onmessage = (event) => {
    const data = event.data;
    if (data instanceof ArrayBuffer) handlers.onMessage(new Uint8Array(data));
    else if (data instanceof Uint8Array) handlers.onMessage(data);
    // Text messages are not part of the protocol: ignore them.
  };
  socket.onerror = () => {
    // The close event follows with the details.
  };
  socket.onclose = (event) => {
    if (closed) return;
    closed = true;
    handlers.onClose(event.code, event.reason);
  };
  // Frames sent in one turn of the event loop go out as one WebSocket message (the protocol allows
  // several frames per message): fewer messages, fewer system calls on both sides.
  // A batch goes out early once it holds EARLY_FLUSH_FRAMES frames, so the server starts on them
  // while the application is still sending (64 appends in flight reach it as two messages, not one).
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const frames = pending;
    pending = [];
    pendingBytes = 0;
    if (frames.length > 0 && socket.readyState === OPEN)
      socket.send(frames.length === 1 ? (frames[0] as Uint8Array) : concat(frames));
  };
  return {
    send(data) {
      if (socket.readyState !== OPEN) return;
      // Bounded batches: what is pending goes first, then a frame that would overflow the batch.
      if (pendingBytes + data.length > MAX_BATCH_BYTES && pending.length > 0) flush();
      if (data.length >= MAX_BATCH_BYTES) {
        socket.send(data);
        return;
      }
      pending.push(data);
      pendingBytes += data.length;
      if (pending.length >= EARLY_FLUSH_FRAMES) {
        flush();
        return;
      }
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    },
    close(code, reason) {
      flush();
      try {
        socket.close(code, reason);
      } catch {
        // An invalid code or an over-long reason: close without them.
        try {
          socket.close();
        } catch {
          // Already closed.
        }
      }
    },
    terminate,
  };
}

/** One message of several frames, concatenated. */
function concat(frames: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const f of frames) length += f.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const f of frames) {
    out.set(f, offset);
    offset += f.length;
  }
  return out;
}
