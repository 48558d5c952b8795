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
  // Short ASCII text (numbers, most strings of the hot paths) is copied faster by hand than through
  // a native call; anything else goes to the TextEncoder.
  const n = s.length;
  if (n <= SHORT) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return encoder.encode(s);
      out[i] = c;
    }
    return out;
  }
  return encoder.encode(s);
}

/** Strings and byte strings up to this length take the ASCII fast paths. */
const SHORT = 32;

/**
 * Strict UTF-8 decode.
 * @throws SkeinError `PAYLOAD_INVALID` on malformed UTF-8
 */
export function utf8Decode(bytes: Uint8Array, what = "payload"): string {
  const n = bytes.length;
  if (n <= SHORT) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
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
