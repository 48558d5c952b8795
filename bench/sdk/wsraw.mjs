// @ts-check
// Minimal WebSocket client over a raw node:net socket, for the SDK load generator's hot paths (the
// same technique and the same socket as the MQTT generator, connectRaw in bench/lib/client.mjs): no
// `ws` stream machinery, one shared read buffer per thread (`onread`), and server frames parsed by
// their 2-10 byte header only.
// Speaks what the Skein SDK door needs: the HTTP upgrade, binary messages out (masked, as RFC 6455
// requires of clients), binary messages in (servers never mask), ping -> pong, close.
import crypto from "node:crypto";
import { HANDSHAKE_TIMEOUT_MS, connectRaw } from "../lib/client.mjs";

const OP_CONT = 0x0;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

/** One client frame (FIN, opcode, masked with `key`) around `payload`. */
/**
 * @param {Uint8Array} payload
 * @param {number} [opcode]
 * @param {Buffer} [key]
 */
export function wsFrame(payload, opcode = OP_BINARY, key = crypto.randomBytes(4)) {
  const n = payload.length;
  const h = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(h + 4 + n);
  out[0] = 0x80 | opcode;
  if (h === 2) out[1] = 0x80 | n;
  else if (h === 4) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  key.copy(out, h);
  for (let i = 0; i < n; i++) out[h + 4 + i] = payload[i] ^ key[i & 3];
  return out;
}

export class WsConn {
  /**
   * @param {{host: string, port: number, path: string,
   *   onMessage: (conn: WsConn, buf: Buffer, start: number, end: number) => void,
   *   beforeChunk?: (conn: WsConn) => void, afterChunk?: (conn: WsConn) => void}} opts
   * onMessage gets each complete binary message as buf[start, end) (valid only during the call).
   */
  constructor(opts) {
    this.opts = opts;
    /** Set by open(). */
    this.socket = /** @type {import("node:net").Socket} */ (/** @type {unknown} */ (null));
    /** @type {((err: Error) => void) | undefined} told when an open connection fails or closes */
    this.onClose = undefined;
    this.closed = false;
    this.open_ = false;
    /** @type {Buffer | null} */
    this.rest = null; // bytes of an incomplete frame, copied out of the shared read buffer
    /** @type {Buffer[] | null} */
    this.frag = null; // fragments of a message split over several frames (rare)
    this.key = crypto.randomBytes(4);
  }

  /** Connects and upgrades; resolves once the server accepted the WebSocket. */
  open() {
    const { host, port, path } = this.opts;
    const wsKey = crypto.randomBytes(16).toString("base64");
    const accept = crypto
      .createHash("sha1")
      .update(wsKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
      .digest("base64");
    return new Promise((resolve, reject) => {
      let head = "";
      const timer = setTimeout(
        () => fail(new Error("no WebSocket upgrade within 15 s")),
        HANDSHAKE_TIMEOUT_MS,
      );
      /** @param {Error} err */
      const fail = (err) => {
        clearTimeout(timer);
        this.close();
        reject(err);
      };
      /** @type {(n: number, buf: Buffer) => void} */
      const onread = (n, buf) => {
        if (this.open_) return this.push(buf, 0, n);
        // Handshake: the response head is ASCII up to \r\n\r\n; frames may follow in the same read.
        head += buf.toString("latin1", 0, n);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        clearTimeout(timer);
        const status = head.slice(0, head.indexOf("\r\n"));
        if (!/^HTTP\/1\.1 101/.test(status) || !head.includes(accept)) {
          return fail(new Error(`upgrade refused: ${status}`));
        }
        this.open_ = true;
        const extra = Buffer.from(head.slice(end + 4), "latin1");
        head = "";
        resolve(this);
        if (extra.length > 0) this.push(extra, 0, extra.length);
      };
      const socket = connectRaw(host, port, onread);
      this.socket = socket;
      socket.on("error", (err) => (this.open_ ? this.onClose?.(err) : fail(err)));
      socket.on("close", () => {
        this.closed = true;
        if (!this.open_) fail(new Error("connection closed during the upgrade"));
        else this.onClose?.(new Error("connection closed"));
      });
      socket.on("connect", () =>
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${wsKey}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
    });
  }

  /** Sends one binary message (one or more concatenated MessagePack frames). */
  /** @param {Uint8Array} payload */
  send(payload) {
    return this.socket.write(wsFrame(payload, OP_BINARY, this.key));
  }

  /** Parses frames out of buf[start, start + n); the tail of an incomplete frame is kept. */
  /**
   * @param {Buffer} chunk
   * @param {number} start
   * @param {number} n
   */
  push(chunk, start, n) {
    let buf = chunk;
    let i = start;
    let end = start + n;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk.subarray(start, end)]);
      this.rest = null;
      i = 0;
      end = buf.length;
    }
    this.opts.beforeChunk?.(this);
    while (i + 2 <= end) {
      const b0 = buf[i];
      let len = buf[i + 1] & 0x7f;
      let h = 2;
      if (len === 126) {
        if (i + 4 > end) break;
        len = buf.readUInt16BE(i + 2);
        h = 4;
      } else if (len === 127) {
        if (i + 10 > end) break;
        len = Number(buf.readBigUInt64BE(i + 2));
        h = 10;
      }
      if (i + h + len > end) break; // incomplete frame: wait for more bytes
      this.frame(b0, buf, i + h, i + h + len);
      i += h + len;
    }
    if (i < end) this.rest = Buffer.from(buf.subarray(i, end)); // copy: the read buffer is reused
    this.opts.afterChunk?.(this);
  }

  /**
   * One complete frame with first byte b0, its payload at buf[start, end).
   * @param {number} b0
   * @param {Buffer} buf
   * @param {number} start
   * @param {number} end
   */
  frame(b0, buf, start, end) {
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (op === OP_BINARY || op === OP_CONT) {
      if (fin && this.frag === null) return this.opts.onMessage(this, buf, start, end);
      (this.frag ??= []).push(Buffer.from(buf.subarray(start, end)));
      if (!fin) return;
      const whole = Buffer.concat(this.frag);
      this.frag = null;
      return this.opts.onMessage(this, whole, 0, whole.length);
    }
    if (op === OP_PING) this.socket.write(wsFrame(buf.subarray(start, end), 0xa, this.key));
    else if (op === OP_CLOSE) {
      this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
      this.closeReason = buf.toString("utf8", start + 2, end);
      this.close();
    }
  }

  /** Closes with a WebSocket close frame (1000: for an SDK session, it ends the session). */
  end(code = 1000) {
    if (this.closed || !this.socket) return;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code, 0);
    this.socket.end(wsFrame(body, OP_CLOSE, this.key));
    this.closed = true;
  }

  close() {
    this.closed = true;
    this.socket?.destroy();
  }
}
