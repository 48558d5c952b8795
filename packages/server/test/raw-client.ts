/**
 * A raw MQTT client for tests: a plain TCP socket that writes exactly the bytes it is given and reads
 * whole packets back (parsed by mqtt-packet), so tests can send what no well-behaved library would.
 * Also small byte builders for hand-made packets.
 */
import { connect, type Socket } from "node:net";
import mqtt from "mqtt-packet";
import type { IConnectPacket, Packet } from "mqtt-packet";
import { encodeVarint } from "../src/mqtt/framer.js";

/** Bytes to send: a Buffer, a hex string (whitespace ignored) or a packet object for `generate()`. */
export type Sendable = Buffer | string | Packet;

/** A hex string (spaces and newlines allowed) as bytes. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ""), "hex");
}

/** A Variable Byte Integer [MQTT-1.5.5]. */
export const varint = encodeVarint;

/** A two-byte length followed by the bytes (a UTF-8 string, or the raw bytes as given). */
export function str(text: string | Buffer): Buffer {
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A two-byte integer. */
export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

/** A v5 property block: its length, then the properties (identifier byte + value, as given). */
export function props(...entries: Buffer[]): Buffer {
  const body = Buffer.concat(entries);
  return Buffer.concat([varint(body.length), body]);
}

/** A whole packet: the first byte (type and flags), the Remaining Length, the body. */
export function frame(firstByte: number, ...body: Buffer[]): Buffer {
  const rest = Buffer.concat(body);
  return Buffer.concat([Buffer.from([firstByte]), varint(rest.length), rest]);
}

/** A socket that speaks raw MQTT. */
export class RawClient {
  /** Every packet received, in order. */
  readonly packets: Packet[] = [];
  /** Errors the parser reported on what the server sent. */
  readonly parseErrors: Error[] = [];
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  private isClosed = false;
  private readIndex = 0;
  private readonly parser;
  private notify: (() => void) | undefined;

  private constructor(
    readonly socket: Socket,
    readonly protocolVersion: number,
  ) {
    this.parser = mqtt.parser({ protocolVersion });
    this.parser.on("packet", (packet: Packet) => this.packets.push(packet));
    this.parser.on("error", (err: Error) => this.parseErrors.push(err));
    socket.on("data", (chunk: Buffer) => {
      this.parser.parse(chunk);
      this.wake();
    });
    socket.on("error", () => {}); // a reset from the server is an expected outcome here
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Opens a socket to `port` on loopback; `protocolVersion` is how replies are parsed. */
  static open(port: number, protocolVersion = 5): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.setNoDelay(true);
        resolve(new RawClient(socket, protocolVersion));
      });
    });
  }

  /** Opens a socket and completes a CONNECT/CONNACK handshake (success expected). */
  static async connected(
    port: number,
    protocolVersion = 5,
    connect: Partial<IConnectPacket> = {},
  ): Promise<RawClient> {
    const client = await RawClient.open(port, protocolVersion);
    client.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: protocolVersion as 4 | 5,
      clientId: `raw-${Math.random().toString(36).slice(2)}`,
      clean: true,
      keepalive: 0,
      ...connect,
    });
    const connack = await client.next();
    const code = connack.cmd === "connack" ? (connack.reasonCode ?? connack.returnCode) : undefined;
    if (code !== 0) throw new Error(`handshake failed: ${JSON.stringify(connack)}`);
    return client;
  }

  /** True once the socket has closed. */
  get ended(): boolean {
    return this.isClosed;
  }

  /** Writes bytes (or a generated packet) as they are. */
  send(data: Sendable): void {
    const bytes =
      typeof data === "string"
        ? hex(data)
        : Buffer.isBuffer(data)
          ? data
          : mqtt.generate(data, this.generateOptions);
    this.socket.write(bytes);
  }

  /** The next packet not read yet; rejects after `timeoutMs` or when the socket closes first. */
  async next(timeoutMs = 2000): Promise<Packet> {
    await this.until(() => this.readIndex < this.packets.length || this.isClosed, "a packet", timeoutMs);
    const packet = this.packets[this.readIndex];
    if (!packet) throw new Error("socket closed before a packet arrived");
    this.readIndex++;
    return packet;
  }

  /** Resolves when the socket is closed; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    await this.until(() => this.isClosed, "the socket to close", timeoutMs);
  }

  /** Proves the connection is open and served: PINGREQ, then PINGRESP. */
  async ping(timeoutMs = 2000): Promise<void> {
    this.send(hex("c0 00"));
    const packet = await this.next(timeoutMs);
    if (packet.cmd !== "pingresp") throw new Error(`expected PINGRESP, got ${packet.cmd}`);
  }

  /** Closes the socket (FIN) and waits until it is closed. */
  async end(): Promise<void> {
    this.socket.end();
    await this.closed;
  }

  /** Drops the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private get generateOptions(): { protocolVersion: number } {
    return { protocolVersion: this.protocolVersion };
  }

  private wake(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }

  private async until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
