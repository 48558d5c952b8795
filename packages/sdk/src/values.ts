/**
 * Typed values: what the SDK's callers give and get for each value type, and the checks that turn a
 * caller's mistake into a clear `SkeinError` before anything is sent.
 *
 * | type | value in JS | on the wire |
 * | --- | --- | --- |
 * | `json` | plain JS values (what `JSON.parse` returns) | UTF-8 JSON text |
 * | `string` | `string` | UTF-8 |
 * | `int64` | `bigint` | decimal text |
 * | `double` | `number` | decimal text |
 * | `binary` | `Uint8Array` | the bytes |
 *
 * @module
 */
import { SkeinError, VALUE_TYPES, type ValueOf, type ValueType, codecFor } from "@skein/protocol";

export type { JsonValue, ValueOf, ValueType } from "@skein/protocol";

/**
 * The JS type a caller may give for each type: like {@link ValueOf}, but any JSON-serialisable value
 * for `json` (objects with `toJSON`, class instances, …), checked when the update is made.
 */
export interface InputValueOf extends Omit<ValueOf, "json"> {
  /** json: anything `JSON.stringify` serialises. */
  json: unknown;
}

/** True when `type` names a value type. */
export function isValueType(type: unknown): type is ValueType {
  return typeof type === "string" && (VALUE_TYPES as readonly string[]).includes(type);
}

/**
 * Checks that `type` is a value type.
 * @throws SkeinError `INVALID_ARGUMENT`
 */
export function checkValueType(type: unknown): ValueType {
  if (!isValueType(type)) {
    throw new SkeinError(
      "INVALID_ARGUMENT",
      `not a value type: ${String(type)} (one of ${VALUE_TYPES.join(", ")})`,
    );
  }
  return type;
}

/**
 * The bytes of a value of `type`.
 * @throws SkeinError `INVALID_ARGUMENT` when `value` is not a value of `type` (e.g. a number for int64)
 */
export function encodeValue<T extends ValueType>(type: T, value: InputValueOf[T]): Uint8Array {
  const codec = codecFor(checkValueType(type));
  if (!codec.isValue(value)) {
    throw new SkeinError("INVALID_ARGUMENT", `${describe(value)} is not a value of type ${type}`);
  }
  try {
    return codec.toBytes(value);
  } catch (err) {
    throw new SkeinError("INVALID_ARGUMENT", `cannot encode the value as ${type}`, { cause: err });
  }
}

/**
 * The value of type `type` that `bytes` hold.
 * @throws SkeinError `PAYLOAD_INVALID` when they hold none
 */
export function decodeValue<T extends ValueType>(type: T, bytes: Uint8Array): ValueOf[T] {
  return codecFor(type).fromBytes(bytes) as ValueOf[T];
}

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  return typeof value;
}
