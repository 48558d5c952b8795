/**
 * The field readers of the hand-written decoders (fast-publish.ts, fast-connect.ts): MQTT's data
 * representations read in place from a frame (MQTT 5 §1.5; properties §2.2.2). Each gives up
 * (returns undefined) on a field that is truncated, runs past its limit or is not well-formed, so
 * that the decoder leaves the packet to mqtt-packet (parser.ts), which reports the problem.
 */
import { isUtf8 } from "node:buffer";
import { rememberOrder } from "./user-properties.js";

/** How a property's value is encoded (MQTT 5 §2.2.2.2); `pair` is a User Property. */
export type Kind = "int16" | "int32" | "byte" | "string" | "binary" | "pair" | "var";

/** The properties a decoder reads, by identifier: mqtt-packet's name for each and its encoding. */
export type PropertyTable = Readonly<Record<number, readonly [string, Kind]>>;

/**
 * Where the field read last ended (the next read starts there): the readers return the value alone,
 * so that reading a field allocates nothing but the value. Decoding is synchronous, so one will do.
 */
export let at = 0;

/** A UTF-8 string at `i` (2-byte length) ending by `limit`, well-formed and without U+0000; sets `at`. */
export function readString(frame: Buffer, i: number, limit: number): string | undefined {
  if (i + 2 > limit) return undefined;
  const start = i + 2;
  const end = start + ((frame[i] as number) << 8) + (frame[i + 1] as number);
  if (end > limit) return undefined;
  let ascii = true;
  for (let k = start; k < end; k++) {
    const b = frame[k] as number;
    if (b === 0) return undefined;
    if (b >= 0x80) ascii = false;
  }
  if (!ascii && !isUtf8(frame.subarray(start, end))) return undefined;
  at = end;
  return frame.toString("utf8", start, end);
}

/** Binary Data at `i` (2-byte length) ending by `limit`, as a view of the frame; sets `at`. */
export function readBinary(frame: Buffer, i: number, limit: number): Buffer | undefined {
  if (i + 2 > limit) return undefined;
  const start = i + 2;
  const end = start + ((frame[i] as number) << 8) + (frame[i + 1] as number);
  if (end > limit) return undefined;
  at = end;
  return frame.subarray(start, end);
}

/** A Variable Byte Integer at `i` of at most 4 bytes ending by `limit` [MQTT-1.5.5]; sets `at`. */
export function readVarint(frame: Buffer, i: number, limit: number): number | undefined {
  let value = 0;
  let multiplier = 1;
  for (let n = 0; n < 4; n++) {
    if (i >= limit) return undefined;
    const b = frame[i++] as number;
    value += (b & 0x7f) * multiplier;
    if ((b & 0x80) === 0) {
      at = i;
      return value;
    }
    multiplier *= 128;
  }
  return undefined;
}

/**
 * A property list at `i` (its Variable Byte Integer length first), read into mqtt-packet's shape (a
 * one-byte property as a boolean, User Properties as name -> value or values). Undefined (give up)
 * for an identifier not in `known`, a property other than User Property (and Subscription
 * Identifier, which the SUBSCRIBE handler refuses when repeated) appearing twice, a one-byte property
 * other than 0 or 1, a field past the list's end, a list not ending exactly where its length says.
 * Sets `at` to its end; the properties are null when the list is empty.
 */
export function readProperties(
  frame: Buffer,
  i: number,
  limit: number,
  known: PropertyTable,
): Record<string, unknown> | null | undefined {
  const length = readVarint(frame, i, limit);
  if (length === undefined) return undefined;
  i = at;
  const end = i + length;
  if (end > limit) return undefined;
  if (length === 0) {
    at = end;
    return null;
  }
  const props: Record<string, unknown> = {};
  let pairs: [string, string][] | undefined;
  while (i < end) {
    const spec = known[frame[i++] as number];
    if (spec === undefined) return undefined;
    const [name, kind] = spec;
    if (kind !== "pair" && props[name] !== undefined) return undefined;
    let value: unknown;
    switch (kind) {
      case "int16":
        if (i + 2 > end) return undefined;
        value = frame.readUInt16BE(i);
        i += 2;
        break;
      case "int32":
        if (i + 4 > end) return undefined;
        value = frame.readUInt32BE(i);
        i += 4;
        break;
      case "byte": {
        if (i >= end) return undefined;
        const b = frame[i++] as number;
        if (b > 1) return undefined; // a Protocol Error, reported by parser.ts
        value = b === 1;
        break;
      }
      case "var":
        value = readVarint(frame, i, end);
        if (value === undefined) return undefined;
        i = at;
        break;
      case "string":
        value = readString(frame, i, end);
        if (value === undefined) return undefined;
        i = at;
        break;
      case "binary":
        value = readBinary(frame, i, end);
        if (value === undefined) return undefined;
        i = at;
        break;
      case "pair": {
        const key = readString(frame, i, end);
        if (key === undefined) return undefined;
        const text = readString(frame, at, end);
        if (text === undefined) return undefined;
        i = at;
        (pairs ??= []).push([key, text]);
        const users = (props[name] ??= Object.create(null)) as Record<string, string | string[]>;
        const old = users[key];
        if (old === undefined) users[key] = text;
        else if (Array.isArray(old)) old.push(text);
        else users[key] = [old, text];
        continue;
      }
    }
    props[name] = value;
  }
  if (i !== end) return undefined;
  if (pairs !== undefined && props.userProperties !== undefined)
    rememberOrder(props.userProperties as object, pairs);
  at = end;
  return props;
}
