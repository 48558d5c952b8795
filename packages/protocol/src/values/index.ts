/**
 * One codec per value type, and the payload mapping of DESIGN §3.
 *
 * @module
 */
import type { TopicSpecification, ValueType } from "../topic-types.js";
import { type ValueCodec, invalid, utf8Decode, utf8Encode } from "./codec.js";

export { type ValueCodec, utf8Decode, utf8Encode } from "./codec.js";

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The JS type of a value of each type, as the SDK delivers it. */
export interface ValueOf {
  /** json: plain JS values. */
  json: JsonValue;
  /** string: text. */
  string: string;
  /** binary: bytes. */
  binary: Uint8Array;
  /** int64: a bigint in the signed 64-bit range. */
  int64: bigint;
  /** double: a number. */
  double: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT_TEXT = /^[+-]?\d{1,20}$/;
const DOUBLE_TEXT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Infinity|NaN)$/;

/** json: UTF-8 JSON text. */
export const jsonCodec: ValueCodec<JsonValue> = {
  contentType: "application/json",
  utf8: true,
  isValue: (v): v is JsonValue => {
    try {
      return v !== undefined && JSON.stringify(v) !== undefined;
    } catch {
      return false;
    }
  },
  toBytes: (v) => utf8Encode(JSON.stringify(v)),
  fromBytes: (b) => {
    const text = utf8Decode(b);
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return invalid("payload is not JSON text");
    }
  },
};

/** string: UTF-8 text. */
export const stringCodec: ValueCodec<string> = {
  contentType: "text/plain; charset=utf-8",
  utf8: true,
  isValue: (v): v is string => typeof v === "string",
  toBytes: (v) => utf8Encode(v),
  fromBytes: (b) => utf8Decode(b),
};

/** binary: the bytes themselves. */
export const binaryCodec: ValueCodec<Uint8Array> = {
  contentType: undefined,
  utf8: false,
  isValue: (v): v is Uint8Array => v instanceof Uint8Array,
  toBytes: (v) => v,
  fromBytes: (b) => b,
};

/** int64: decimal text of a signed 64-bit integer. */
export const int64Codec: ValueCodec<bigint> = {
  contentType: "text/plain; charset=utf-8",
  utf8: true,
  isValue: (v): v is bigint => typeof v === "bigint" && v >= INT64_MIN && v <= INT64_MAX,
  toBytes: (v) => utf8Encode(v.toString()),
  fromBytes: (b) => {
    const text = utf8Decode(b).trim();
    if (!INT_TEXT.test(text)) return invalid("payload is not a decimal integer");
    const n = BigInt(text);
    if (n < INT64_MIN || n > INT64_MAX) return invalid("integer is outside the int64 range");
    return n;
  },
};

/** double: decimal text of an IEEE 754 double. */
export const doubleCodec: ValueCodec<number> = {
  contentType: "text/plain; charset=utf-8",
  utf8: true,
  isValue: (v): v is number => typeof v === "number",
  // String(-0) is "0", which would read back as +0.
  toBytes: (v) => utf8Encode(Object.is(v, -0) ? "-0" : String(v)),
  fromBytes: (b) => {
    const text = utf8Decode(b).trim();
    if (!DOUBLE_TEXT.test(text)) return invalid("payload is not a decimal number");
    return Number(text);
  },
};

/** The codec of each value type. */
export const VALUE_CODECS: { readonly [T in ValueType]: ValueCodec<ValueOf[T]> } = {
  json: jsonCodec,
  string: stringCodec,
  binary: binaryCodec,
  int64: int64Codec,
  double: doubleCodec,
};

/** The codec of a value type. */
export function codecFor<T extends ValueType>(type: T): ValueCodec<ValueOf[T]> {
  return VALUE_CODECS[type];
}

/** The type of a topic's values: its type, or a time series' event type (binary when unset). */
export function valueTypeOf(spec: Pick<TopicSpecification, "type" | "properties">): ValueType {
  return spec.type === "time-series" ? (spec.properties?.eventType ?? "binary") : spec.type;
}

/**
 * The value type an MQTT 5 message's metadata declares (DESIGN §3): Content Type `application/json`
 * (parameters and case ignored) is json, a Payload Format Indicator of 1 is string; otherwise none.
 */
export function declaredValueType(
  contentType: string | undefined,
  payloadFormatIndicator: boolean | undefined,
): "json" | "string" | undefined {
  if (contentType !== undefined && isJsonContentType(contentType)) return "json";
  return payloadFormatIndicator ? "string" : undefined;
}

function isJsonContentType(contentType: string): boolean {
  const semi = contentType.indexOf(";");
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === jsonCodec.contentType;
}
