// @ts-check
// Minimal MQTT client over a raw node:net socket, for the load generator's workers.
// Only the handshake (CONNECT/CONNACK, SUBSCRIBE/SUBACK) is awaited; PUBLISH and PUBACK go
// straight to the caller's onPacket hot path (see Framer in mqtt.mjs).
import net from "node:net";
import { Framer, PUBACK, PUBLISH, connectPacket, decodeControl, subscribePacket } from "./mqtt.mjs";

export const HANDSHAKE_TIMEOUT_MS = 15000;
// One read buffer for every socket of this thread: each read is parsed before the next one.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * A TCP connection to host:port without Nagle whose reads land in this thread's one read buffer and
 * go to onread(n, buf) (`onread` instead of 'data' events: no stream machinery and no allocation per
 * read); onread must be done with the bytes when it returns (copy a partial packet or frame).
 */
/**
 * @param {string} host
 * @param {number} port
 * @param {(n: number, buf: Buffer) => void} onread
 */
export function connectRaw(host, port, onread) {
  return net.connect({
    host,
    port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      // Returns nothing: the socket is never paused from here.
      callback: /** @type {(n: number, buf: Uint8Array) => boolean} */ (/** @type {unknown} */ (onread)),
    },
  });
}

export class Conn {
  /**
   * @param {{host: string, port: number, clientId: string, version: number, keepalive: number,
   *   onPacket?: Function, beforeChunk?: Function, afterChunk?: Function}} opts
   * onPacket(conn, buf, start, headerLength, remainingLength) receives PUBLISH and PUBACK packets.
   */
  constructor(opts) {
    this.opts = opts;
    /** Set by open(). */
    this.socket = /** @type {import("node:net").Socket} */ (/** @type {unknown} */ (null));
    this.closed = false;
    /**
     * The one handshake step in progress.
     * @type {{ type: number, ok: (packet: any) => boolean, name: string, resolve: (v: any) => void,
     *   reject: (err: Error) => void } | null}
     */
    this.pending = null;
    const hot = opts.onPacket ?? (() => {});
    this.framer = new Framer((buf, start, h, len) => {
      const type = buf[start] >> 4;
      if (type === PUBLISH || type === PUBACK) hot(this, buf, start, h, len);
      else this.control(buf.subarray(start, start + h + len));
    });
  }

  /** Opens the TCP connection and resolves once a successful CONNACK arrived. */
  open() {
    const { host, port, clientId, version, keepalive } = this.opts;
    // The Framer copies the (rare) partial packet left at the end of the shared buffer.
    /** @type {(n: number, buf: Buffer) => void} */
    const onread = (n, buf) => {
      this.opts.beforeChunk?.(this);
      this.framer.push(buf.subarray(0, n));
      this.opts.afterChunk?.(this);
    };
    const socket = connectRaw(host, port, onread);
    this.socket = socket;
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => {
      this.closed = true;
      this.fail(new Error("connection closed"));
    });
    socket.on("connect", () => socket.write(connectPacket(clientId, version, keepalive)));
    return this.expect(2, (p) => p.returnCode === 0 || p.reasonCode === 0, "CONNACK");
  }

  /**
   * Subscribes to one filter and resolves once a SUBACK granting it arrived.
   * @param {string} topic
   * @param {number} qos
   */
  subscribe(topic, qos) {
    this.socket.write(subscribePacket(topic, qos, this.opts.version));
    return this.expect(9, (p) => p.granted.every((/** @type {number} */ g) => g < 0x80), "SUBACK");
  }

  /**
   * @param {number} type the packet type awaited
   * @param {(packet: any) => boolean} ok whether it is a success
   * @param {string} name
   * @returns {Promise<Conn>}
   */
  expect(type, ok, name) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new Error(`no ${name} within ${HANDSHAKE_TIMEOUT_MS} ms`)),
        HANDSHAKE_TIMEOUT_MS,
      );
      /** @type {(fn: (v: any) => void) => (v: any) => void} */
      const done = (fn) => (value) => {
        clearTimeout(timer);
        this.pending = null;
        fn(value);
      };
      this.pending = { type, ok, name, resolve: done(resolve), reject: done(reject) };
    });
  }

  /** @param {Buffer} bytes */
  control(bytes) {
    const type = bytes[0] >> 4;
    if (type === 13) return; // PINGRESP
    const p = this.pending;
    if (p === null || p.type !== type) {
      if (type === 14) this.fail(new Error("server sent DISCONNECT"));
      return;
    }
    const packet = decodeControl(bytes, this.opts.version);
    if (packet && /** @type {{ cmd?: string }} */ (packet).cmd !== "error" && p.ok(packet)) p.resolve(this);
    else this.fail(new Error(`${p.name} refused: ${JSON.stringify(packet)}`));
  }

  /** @param {Error} err */
  fail(err) {
    const p = this.pending;
    if (p !== null) p.reject(new Error(`${this.opts.clientId}: ${err.message}`));
  }

  close() {
    this.closed = true;
    this.socket?.destroy();
  }
}

/**
 * Runs task(i) for i in [0, n) with at most `concurrency` in flight; resolves to the results.
 * @template T
 * @param {number} n
 * @param {number} concurrency
 * @param {(i: number) => Promise<T>} task
 * @returns {Promise<T[]>}
 */
export async function forEachLimited(n, concurrency, task) {
  const results = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return results;
}
