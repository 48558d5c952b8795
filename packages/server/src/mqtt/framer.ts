/**
 * Splits a byte stream into whole MQTT packets. It reads the fixed header and the Remaining Length
 * first, so an oversize packet is refused before any of it is buffered [MQTT-3.1.2-24], and it never
 * holds more than one maximum-size packet.
 */

/** Why framing failed. */
export type FrameError =
  /** `bytes`: what has arrived of the refused packet (a view, for reading a CONNECT's protocol level). */
  { kind: "oversize"; size: number; bytes: Buffer } | { kind: "malformed"; message: string };

/** Receives frames and errors from a {@link Framer}. */
export interface FrameSink {
  /**
   * A whole packet (fixed header included). Return false to stop framing without taking it (reading
   * paused, or the connection closing): the framer keeps it and the bytes after it, as one view, for
   * {@link Framer.resume}.
   */
  frame(bytes: Buffer): boolean;
  /** Framing failed; the connection must close. */
  error(err: FrameError): void;
}

/** Incremental MQTT packet framer. */
export class Framer {
  /** Pieces of the packet being assembled; made when a packet is split over reads (issue 11). */
  private chunks: Buffer[] | undefined;
  private buffered = 0;
  /** Total size of the packet being assembled, once its header is known (else -1). */
  private expected = -1;
  /** Bytes not framed yet because the sink stopped (from the packet it did not take on). */
  private stopped: Buffer | undefined;

  constructor(public maxPacketSize: number) {}

  /** Bytes held for a packet not complete yet. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True when nothing is buffered: the next byte pushed starts a packet. */
  get atPacketStart(): boolean {
    return this.buffered === 0 && this.stopped === undefined;
  }

  /** Frames what was kept when the sink last stopped (it may stop again: the rest is kept again). */
  resume(sink: FrameSink): void {
    const rest = this.stopped;
    if (rest === undefined) return;
    this.stopped = undefined;
    this.push(rest, sink);
  }

  /** Feeds bytes; emits every whole packet they complete. */
  push(chunk: Buffer, sink: FrameSink): void {
    if (this.stopped !== undefined) {
      // Stopped: what arrives waits behind what was kept, in order.
      this.stopped = Buffer.concat([this.stopped, chunk]);
      return;
    }
    let data = chunk;
    if (this.buffered > 0) {
      const chunks = this.chunks as Buffer[];
      chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.expected >= 0 && this.buffered < this.expected) return;
      data = Buffer.concat(chunks, this.buffered);
      this.reset();
    }
    let offset = 0;
    while (offset < data.length) {
      const header = readHeader(data, offset);
      if (header === undefined) break; // need more bytes for the header
      if (header < 0) {
        sink.error({ kind: "malformed", message: "Remaining Length is longer than four bytes" });
        return;
      }
      if (header > this.maxPacketSize) {
        sink.error({ kind: "oversize", size: header, bytes: data.subarray(offset) });
        return;
      }
      if (offset + header > data.length) {
        this.expected = header;
        break;
      }
      const frame = data.subarray(offset, offset + header);
      if (!sink.frame(frame)) {
        this.stopped = data.subarray(offset);
        return;
      }
      offset += header;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.chunks = [rest];
      this.buffered = rest.length;
    }
  }

  private reset(): void {
    this.chunks = undefined;
    this.buffered = 0;
    this.expected = -1;
  }
}

/**
 * Total packet size from its fixed header at `offset`: undefined when more bytes are needed, -1 when
 * the Remaining Length is malformed (a fifth length byte) [MQTT-1.5.5-1].
 */
function readHeader(data: Buffer, offset: number): number | undefined {
  let multiplier = 1;
  let length = 0;
  for (let i = 1; i <= 4; i++) {
    if (offset + i >= data.length) return undefined;
    const byte = data[offset + i] as number;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return 1 + i + length;
    multiplier *= 128;
  }
  return -1;
}

/** A Variable Byte Integer [MQTT-1.5.5]. */
export function encodeVarint(value: number): Buffer {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}
