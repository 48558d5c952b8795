import { SkeinError } from "../errors.js";

/**
 * Maps one type's values to and from the bytes an MQTT PUBLISH carries (DESIGN §3): json = UTF-8 JSON
 * text; string = UTF-8; int64 and double = decimal text; binary = the bytes themselves.
 */
export interface ValueCodec<TValue> {
  /** The MQTT 5 content type announced on outgoing PUBLISHes, if any. */
  readonly contentType: string | undefined;
  /** True when outgoing PUBLISHes carry payload format indicator 1 (UTF-8). */
  readonly utf8: boolean;
  /** True when `value` is a value of this type. */
  isValue(value: unknown): value is TValue;
  /** The payload bytes of a value. */
  toBytes(value: TValue): Uint8Array;
  /**
   * The value of payload bytes.
   * @throws SkeinError `PAYLOAD_INVALID` when the bytes are not a value of this type
   */
  fromBytes(bytes: Uint8Array): TValue;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 encode. */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Strict UTF-8 decode.
 * @throws SkeinError `PAYLOAD_INVALID` on malformed UTF-8
 */
export function utf8Decode(bytes: Uint8Array, what = "payload"): string {
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw new SkeinError("PAYLOAD_INVALID", `${what} is not valid UTF-8`, { cause: err });
  }
}

/** Throws `PAYLOAD_INVALID` with a message. */
export function invalid(message: string): never {
  throw new SkeinError("PAYLOAD_INVALID", message);
}
