/**
 * The frames of the hot paths (request-response, topic updates), checked and encoded by hand.
 *
 * Every frame is checked at the edge against its zod schema (`frames.ts`); for the few frames that
 * carry most of the traffic, a hand-written check and a hand-written MessagePack writer do the same
 * work in a fraction of the time, with no intermediate objects. They are shortcuts, not a second
 * definition: a check accepts only values its schema accepts, and returns `undefined` for anything
 * else (an optional field it does not know, a value out of range), which then goes to zod for the
 * verdict and the precise problem. A writer produces bytes that decode to the frame (the tests compare
 * both against zod and msgpackr on generated frames); a frame it does not cover is left to msgpackr.
 *
 * @module
 */
import { type ClientFrame, MAX_REQUEST_TIMEOUT_MS, type ServerFrame } from "./frames.js";
import { VALUE_TYPES } from "./topic-types.js";

const VALUE_TYPE_SET: ReadonlySet<unknown> = new Set(VALUE_TYPES);
const MAX_PATH = 65535;

const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isPath = (v: unknown): v is string => typeof v === "string" && v.length >= 1 && v.length <= MAX_PATH;
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** A plain object (what MessagePack maps decode to), or undefined. */
function plain(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? (value as Record<string, unknown>) : undefined;
}

/**
 * How many own keys `o` has. A frame whose required fields all check out and whose key count is the
 * number of its known keys present has no unknown key (strict schemas refuse unknown keys).
 */
function keyCount(o: Record<string, unknown>): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/** 1 when the optional field is present, else 0. */
const opt = (v: unknown): number => (v === undefined ? 0 : 1);

function stringRecord(value: unknown): boolean {
  const o = plain(value);
  if (!o) return false;
  for (const k in o) if (typeof o[k] !== "string") return false;
  return true;
}

/**
 * A hot client frame (`send_request` to a path, `respond`, `set` without constraint or creation,
 * `ping`) when `value` is a valid one; undefined otherwise (the caller asks zod).
 */
export function hotClientFrame(value: unknown): ClientFrame | undefined {
  const o = plain(value);
  if (!o) return undefined;
  switch (o.type) {
    case "send_request":
      return keyCount(o) === 6 + opt(o.timeoutMs) &&
        isId(o.id) &&
        isPath(o.path) &&
        VALUE_TYPE_SET.has(o.requestType) &&
        VALUE_TYPE_SET.has(o.responseType) &&
        isBytes(o.value) &&
        (o.timeoutMs === undefined ||
          (typeof o.timeoutMs === "number" &&
            Number.isSafeInteger(o.timeoutMs) &&
            o.timeoutMs > 0 &&
            o.timeoutMs <= MAX_REQUEST_TIMEOUT_MS))
        ? (o as ClientFrame)
        : undefined;
    case "respond":
      return keyCount(o) === 4 && isId(o.id) && isId(o.rid) && isBytes(o.value)
        ? (o as ClientFrame)
        : undefined;
    case "set":
      return keyCount(o) === 5 &&
        isId(o.id) &&
        isPath(o.path) &&
        VALUE_TYPE_SET.has(o.valueType) &&
        isBytes(o.value)
        ? (o as ClientFrame)
        : undefined;
    case "ping":
      return keyCount(o) === 2 && isId(o.id) ? (o as ClientFrame) : undefined;
    case "ts_append":
    case "ts_edit":
      return keyCount(o) === (o.type === "ts_edit" ? 6 : 5) &&
        isId(o.id) &&
        isPath(o.path) &&
        VALUE_TYPE_SET.has(o.valueType) &&
        isBytes(o.value) &&
        (o.type === "ts_append" || isCount(o.originalSequence))
        ? (o as ClientFrame)
        : undefined;
    default:
      return undefined;
  }
}

/** A valid wire event (`s`, `t`, `a`, `v`, and `o` for an edit), as `wireEventSchema` would accept. */
function isWireEvent(value: unknown): boolean {
  const e = plain(value);
  return (
    e !== undefined &&
    keyCount(e) === 4 + opt(e.o) &&
    isCount(e.s) &&
    typeof e.t === "number" &&
    Number.isSafeInteger(e.t) &&
    typeof e.a === "string" &&
    isBytes(e.v) &&
    (e.o === undefined || isCount(e.o))
  );
}

/**
 * A hot server frame (`result`, `error`, `v`, `request`) when `value` is a valid one; undefined
 * otherwise (the caller asks zod).
 */
export function hotServerFrame(value: unknown): ServerFrame | undefined {
  const o = plain(value);
  if (!o) return undefined;
  switch (o.type) {
    case "result":
      return keyCount(o) === 2 + opt(o.value) && isId(o.id) ? (o as ServerFrame) : undefined;
    case "v":
      return keyCount(o) === 3 && isId(o.t) && isBytes(o.v) ? (o as ServerFrame) : undefined;
    case "error":
      return keyCount(o) === 4 &&
        isId(o.id) &&
        typeof o.code === "number" &&
        Number.isSafeInteger(o.code) &&
        typeof o.message === "string"
        ? (o as ServerFrame)
        : undefined;
    case "ts_page": {
      const events = o.events;
      if (keyCount(o) !== 3 || !isId(o.id) || !Array.isArray(events)) return undefined;
      for (const e of events) if (!isWireEvent(e)) return undefined;
      return o as ServerFrame;
    }
    case "request": {
      if (
        keyCount(o) !== 7 + opt(o.sessionId) + opt(o.handler) ||
        !isId(o.rid) ||
        !isPath(o.path) ||
        !VALUE_TYPE_SET.has(o.requestType) ||
        !VALUE_TYPE_SET.has(o.responseType) ||
        !isBytes(o.value) ||
        (o.sessionId !== undefined && typeof o.sessionId !== "string") ||
        !stringRecord(o.properties)
      )
        return undefined;
      if (o.handler !== undefined) {
        const h = plain(o.handler);
        if (!h || keyCount(h) !== 2 || (h.kind !== "path" && h.kind !== "session") || !isPath(h.path))
          return undefined;
      }
      return o as ServerFrame;
    }
    default:
      return undefined;
  }
}

// ---- writing ------------------------------------------------------------------------------------

/**
 * Frames are written into a shared chunk and handed out as views of it, never overwritten (the
 * technique msgpackr uses): no copy, and one allocation per many small frames.
 */
const CHUNK = 64 * 1024;
let chunk = new Uint8Array(CHUNK);
let view = new DataView(chunk.buffer);
let pos = 0;
const utf8 = new TextEncoder();

/** Makes room for at most `bytes` more bytes; returns where the frame starts. */
function begin(bytes: number): number {
  if (pos + bytes > chunk.length) {
    chunk = new Uint8Array(Math.max(CHUNK, bytes));
    view = new DataView(chunk.buffer);
    pos = 0;
  }
  return pos;
}

/** Upper bound of a string's encoded size (header + UTF-8). */
const strMax = (s: string): number => 5 + 3 * s.length;
/** Upper bound of a byte string's encoded size. */
const binMax = (b: Uint8Array): number => 5 + b.length;

function writeStr(s: string): void {
  const n = s.length;
  // ASCII, the usual case: the length is known, the header is written first.
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    writeStrHeader(n);
    const out = chunk;
    let p = pos;
    for (let i = 0; i < n; i++) out[p++] = s.charCodeAt(i);
    pos = p;
    return;
  }
  const bytes = utf8.encode(s);
  writeStrHeader(bytes.length);
  chunk.set(bytes, pos);
  pos += bytes.length;
}

/**
 * `code8` and a 1-byte `n`, `code8 + 1` and 2 bytes, or `code8 + 2` and 4 bytes: MessagePack's
 * three sizes of unsigned integers (0xcc), string lengths (0xd9) and byte-string lengths (0xc4).
 */
function writeSized(n: number, code8: number): void {
  if (n < 0x100) {
    chunk[pos++] = code8;
    chunk[pos++] = n;
  } else if (n < 0x10000) {
    chunk[pos++] = code8 + 1;
    view.setUint16(pos, n);
    pos += 2;
  } else {
    chunk[pos++] = code8 + 2;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writeStrHeader(n: number): void {
  if (n < 32) chunk[pos++] = 0xa0 | n;
  else writeSized(n, 0xd9);
}

/** An array of `n` items: fixarray, array 16 (0xdc) or array 32 (0xdd). */
function writeArrayHeader(n: number): void {
  if (n < 16) chunk[pos++] = 0x90 | n;
  else if (n < 0x10000) {
    chunk[pos++] = 0xdc;
    view.setUint16(pos, n);
    pos += 2;
  } else {
    chunk[pos++] = 0xdd;
    view.setUint32(pos, n);
    pos += 4;
  }
}

/** A key the writer emits: its encoded bytes, prepared once. */
function key(s: string): Uint8Array {
  const start = begin(strMax(s));
  writeStr(s);
  return chunk.slice(start, pos);
}

function writeRaw(bytes: Uint8Array): void {
  // Short runs (keys, small values) are copied faster by hand than through a native call.
  const n = bytes.length;
  if (n <= 32) {
    const out = chunk;
    let p = pos;
    for (let i = 0; i < n; i++) out[p++] = bytes[i] as number;
    pos = p;
  } else {
    chunk.set(bytes, pos);
    pos += bytes.length;
  }
}

/** An unsigned integer up to 2^32 - 1 (callers check). */
function writeUint(n: number): void {
  if (n < 0x80) chunk[pos++] = n;
  else writeSized(n, 0xcc);
}

/** A signed integer in the int32 range (callers check). */
function writeInt(n: number): void {
  if (n >= 0) return writeUint(n);
  if (n >= -32) chunk[pos++] = n & 0xff;
  else if (n >= -0x80) {
    chunk[pos++] = 0xd0;
    view.setInt8(pos++, n);
  } else if (n >= -0x8000) {
    chunk[pos++] = 0xd1;
    view.setInt16(pos, n);
    pos += 2;
  } else {
    chunk[pos++] = 0xd2;
    view.setInt32(pos, n);
    pos += 4;
  }
}

/** A safe integer as msgpackr writes it: the smallest integer form up to 32 bits, else a float64. */
function writeInteger(n: number): void {
  if (n >= 0 && n <= 0xffffffff) writeUint(n);
  else if (n < 0 && n >= -0x80000000) writeInt(n);
  else {
    chunk[pos++] = 0xcb;
    view.setFloat64(pos, n);
    pos += 8;
  }
}

const isSafeUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isSafeInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

function writeBin(b: Uint8Array): void {
  writeSized(b.length, 0xc4);
  writeRaw(b);
}

const isUint32 = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isInt32 = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;

const K = {
  type: key("type"),
  id: key("id"),
  rid: key("rid"),
  path: key("path"),
  value: key("value"),
  requestType: key("requestType"),
  responseType: key("responseType"),
  timeoutMs: key("timeoutMs"),
  valueType: key("valueType"),
  code: key("code"),
  message: key("message"),
  t: key("t"),
  v: key("v"),
  sessionId: key("sessionId"),
  properties: key("properties"),
  handler: key("handler"),
  kind: key("kind"),
  originalSequence: key("originalSequence"),
  events: key("events"),
  s: key("s"),
  a: key("a"),
  o: key("o"),
  selectedCount: key("selectedCount"),
  isComplete: key("isComplete"),
  streamStructure: key("streamStructure"),
  eventType: key("eventType"),
  sequence: key("sequence"),
  timestamp: key("timestamp"),
  author: key("author"),
  // Values of `type`.
  result: key("result"),
  error: key("error"),
  request: key("request"),
  sendRequest: key("send_request"),
  respond: key("respond"),
  set: key("set"),
  ping: key("ping"),
  tsAppend: key("ts_append"),
  tsEdit: key("ts_edit"),
  tsPage: key("ts_page"),
};
const VALUE_TYPE_BYTES: Readonly<Record<string, Uint8Array>> = Object.fromEntries(
  VALUE_TYPES.map((t) => [t, key(t)]),
);
const HANDLER_KIND_BYTES: Readonly<Record<string, Uint8Array>> = { path: K.path, session: key("session") };

/**
 * How many own keys of `o` have a value (undefined ones are left out, as absent). When that is the
 * number of known fields present, the frame has nothing this writer would leave out.
 */
function definedCount(o: Record<string, unknown>): number {
  let n = 0;
  for (const k in o) if (o[k] !== undefined) n++;
  return n;
}

/** Byte strings written one after the other, as one. */
function joined(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The fixed starts of the frames: the `type` entry and the key that follows it. */
const PREFIX = {
  result: joined(K.type, K.result, K.id),
  error: joined(K.type, K.error, K.id),
  v: joined(K.type, K.v, K.t),
  request: joined(K.type, K.request, K.rid),
  sendRequest: joined(K.type, K.sendRequest, K.id),
  respond: joined(K.type, K.respond, K.id),
  set: joined(K.type, K.set, K.id),
  ping: joined(K.type, K.ping, K.id),
  tsAppend: joined(K.type, K.tsAppend, K.id),
  tsEdit: joined(K.type, K.tsEdit, K.id),
  tsPage: joined(K.type, K.tsPage, K.id),
};

/** Encodes a hot frame by hand; undefined when `frame` is not one this writer covers. */
export function writeHotFrame(frame: unknown): Uint8Array | undefined {
  const o = plain(frame);
  if (!o) return undefined;
  switch (o.type) {
    case "result":
      return writeResult(o);
    case "request":
      return writeRequest(o);
    case "v":
      return writeV(o);
    case "error":
      return writeError(o);
    case "send_request":
      return writeSendRequest(o);
    case "respond":
      return writeRespond(o);
    case "set":
      return writeSet(o);
    case "ping":
      return definedCount(o) === 2 && isUint32(o.id) ? writePing(o.id) : undefined;
    case "ts_append":
    case "ts_edit":
      return writeTsAppend(o);
    case "ts_page":
      return writeTsPage(o);
    default:
      return undefined;
  }
}

/** Room for the map header, keys, type names and numbers of any hot frame (all under 200 bytes). */
const FIXED = 256;

/** Starts a frame: a map of `entries` entries whose strings and bytes take at most `max` bytes. */
function open(entries: number, max: number): number {
  const start = begin(FIXED + max);
  chunk[pos++] = 0x80 | entries;
  return start;
}

/** The frame written since `start`. */
function done(start: number): Uint8Array {
  return chunk.subarray(start, pos);
}

function writeV(o: Record<string, unknown>): Uint8Array | undefined {
  const { t, v } = o;
  if (definedCount(o) !== 3 || !isUint32(t) || !isBytes(v)) return undefined;
  const start = open(3, binMax(v));
  writeRaw(PREFIX.v);
  writeUint(t);
  writeRaw(K.v);
  writeBin(v);
  return done(start);
}

function writeError(o: Record<string, unknown>): Uint8Array | undefined {
  const { id, code, message } = o;
  if (definedCount(o) !== 4 || !isUint32(id) || !isInt32(code) || typeof message !== "string")
    return undefined;
  const start = open(4, strMax(message));
  writeRaw(PREFIX.error);
  writeUint(id);
  writeRaw(K.code);
  writeInt(code);
  writeRaw(K.message);
  writeStr(message);
  return done(start);
}

function writeRespond(o: Record<string, unknown>): Uint8Array | undefined {
  const { id, rid, value } = o;
  if (definedCount(o) !== 4 || !isUint32(id) || !isUint32(rid) || !isBytes(value)) return undefined;
  const start = open(4, binMax(value));
  writeRaw(PREFIX.respond);
  writeUint(id);
  writeRaw(K.rid);
  writeUint(rid);
  writeRaw(K.value);
  writeBin(value);
  return done(start);
}

function writeSet(o: Record<string, unknown>): Uint8Array | undefined {
  const { id, path, valueType, value } = o;
  if (
    definedCount(o) !== 5 ||
    !isUint32(id) ||
    typeof path !== "string" ||
    typeof valueType !== "string" ||
    !VALUE_TYPE_SET.has(valueType) ||
    !isBytes(value)
  )
    return undefined;
  const start = open(5, strMax(path) + binMax(value));
  writeRaw(PREFIX.set);
  writeUint(id);
  writeRaw(K.path);
  writeStr(path);
  writeRaw(K.valueType);
  writeRaw(VALUE_TYPE_BYTES[valueType] as Uint8Array);
  writeRaw(K.value);
  writeBin(value);
  return done(start);
}

function writePing(id: number): Uint8Array {
  const start = open(2, 0);
  writeRaw(PREFIX.ping);
  writeUint(id);
  return done(start);
}

function writeResult(o: Record<string, unknown>): Uint8Array | undefined {
  const { id, value } = o;
  const n = 2 + opt(value);
  if (definedCount(o) !== n || !isUint32(id)) return undefined;
  // The values results carry on the hot paths: none, a flag, bytes (a response), a small number.
  let max = 0;
  let meta: ReturnType<typeof eventMetadata>;
  let query: ReturnType<typeof queryAnswer>;
  if (isBytes(value)) max += binMax(value);
  else if (!(value === undefined || typeof value === "boolean" || isUint32(value))) {
    meta = eventMetadata(value);
    if (meta) max += strMax(meta.author);
    else {
      query = queryAnswer(value);
      if (!query) return undefined;
      max += query.max;
    }
  }
  const start = open(n, max);
  writeRaw(PREFIX.result);
  writeUint(id);
  if (value !== undefined) {
    writeRaw(K.value);
    if (typeof value === "boolean") chunk[pos++] = value ? 0xc3 : 0xc2;
    else if (typeof value === "number") writeUint(value);
    else if (meta) {
      // An append's or edit's answer: the event's metadata.
      chunk[pos++] = 0x83;
      writeRaw(K.sequence);
      writeInteger(meta.sequence);
      writeRaw(K.timestamp);
      writeInteger(meta.timestamp);
      writeRaw(K.author);
      writeStr(meta.author);
    } else if (query) {
      // A range query's answer: its last page of events and the totals.
      chunk[pos++] = 0x85;
      writeRaw(K.events);
      writeEvents(query.events);
      writeRaw(K.selectedCount);
      writeInteger(query.selectedCount);
      writeRaw(K.isComplete);
      chunk[pos++] = query.isComplete ? 0xc3 : 0xc2;
      writeRaw(K.streamStructure);
      writeStr(query.streamStructure);
      writeRaw(K.eventType);
      writeStr(query.eventType);
    } else writeBin(value as Uint8Array);
  }
  return done(start);
}

function writeSendRequest(o: Record<string, unknown>): Uint8Array | undefined {
  const timeout = o.timeoutMs;
  const n = 6 + opt(timeout);
  if (
    definedCount(o) !== n ||
    !isUint32(o.id) ||
    typeof o.path !== "string" ||
    typeof o.requestType !== "string" ||
    !VALUE_TYPE_SET.has(o.requestType) ||
    typeof o.responseType !== "string" ||
    !VALUE_TYPE_SET.has(o.responseType) ||
    !isBytes(o.value) ||
    (timeout !== undefined && !isUint32(timeout))
  )
    return undefined;
  const value = o.value;
  const start = open(n, strMax(o.path) + binMax(value));
  writeRaw(PREFIX.sendRequest);
  writeUint(o.id as number);
  writeRaw(K.path);
  writeStr(o.path as string);
  writeRaw(K.requestType);
  writeRaw(VALUE_TYPE_BYTES[o.requestType as string] as Uint8Array);
  writeRaw(K.responseType);
  writeRaw(VALUE_TYPE_BYTES[o.responseType as string] as Uint8Array);
  writeRaw(K.value);
  writeBin(value);
  if (timeout !== undefined) {
    writeRaw(K.timeoutMs);
    writeUint(timeout as number);
  }
  return done(start);
}

function writeRequest(o: Record<string, unknown>): Uint8Array | undefined {
  const { sessionId, handler } = o;
  const n = 7 + opt(sessionId) + opt(handler);
  const props = plain(o.properties);
  if (
    definedCount(o) !== n ||
    !isUint32(o.rid) ||
    typeof o.path !== "string" ||
    typeof o.requestType !== "string" ||
    !VALUE_TYPE_SET.has(o.requestType) ||
    typeof o.responseType !== "string" ||
    !VALUE_TYPE_SET.has(o.responseType) ||
    !isBytes(o.value) ||
    (sessionId !== undefined && typeof sessionId !== "string") ||
    !props
  )
    return undefined;
  let max = strMax(o.path) + binMax(o.value) + (sessionId === undefined ? 0 : strMax(sessionId));
  let nProps = 0;
  for (const k in props) {
    const v = props[k];
    if (typeof v !== "string") return undefined;
    max += strMax(k) + strMax(v);
    nProps++;
  }
  if (nProps >= 16) return undefined;
  let h: Record<string, unknown> | undefined;
  if (handler !== undefined) {
    h = plain(handler);
    if (
      !h ||
      definedCount(h) !== 2 ||
      (h.kind !== "path" && h.kind !== "session") ||
      typeof h.path !== "string"
    )
      return undefined;
    max += strMax(h.path);
  }
  const value = o.value;
  const start = open(n, max);
  writeRaw(PREFIX.request);
  writeUint(o.rid as number);
  writeRaw(K.path);
  writeStr(o.path as string);
  writeRaw(K.requestType);
  writeRaw(VALUE_TYPE_BYTES[o.requestType as string] as Uint8Array);
  writeRaw(K.responseType);
  writeRaw(VALUE_TYPE_BYTES[o.responseType as string] as Uint8Array);
  writeRaw(K.value);
  writeBin(value);
  if (sessionId !== undefined) {
    writeRaw(K.sessionId);
    writeStr(sessionId);
  }
  writeRaw(K.properties);
  chunk[pos++] = 0x80 | nProps;
  for (const k in props) {
    writeStr(k);
    writeStr(props[k] as string);
  }
  if (h) {
    writeRaw(K.handler);
    chunk[pos++] = 0x82;
    writeRaw(K.kind);
    writeRaw(HANDLER_KIND_BYTES[h.kind as string] as Uint8Array);
    writeRaw(K.path);
    writeStr(h.path as string);
  }
  return done(start);
}

/** `{ sequence, timestamp, author }` (the answer to `ts_append` and `ts_edit`), or undefined. */
function eventMetadata(value: unknown): { sequence: number; timestamp: number; author: string } | undefined {
  const o = plain(value);
  if (!o || definedCount(o) !== 3) return undefined;
  const { sequence, timestamp, author } = o;
  return isSafeUint(sequence) && isSafeInt(timestamp) && typeof author === "string"
    ? { sequence, timestamp, author }
    : undefined;
}

function writeTsAppend(o: Record<string, unknown>): Uint8Array | undefined {
  const { id, path, valueType, value, originalSequence } = o;
  const edit = o.type === "ts_edit";
  const n = edit ? 6 : 5;
  if (
    definedCount(o) !== n ||
    !isUint32(id) ||
    typeof path !== "string" ||
    typeof valueType !== "string" ||
    !VALUE_TYPE_SET.has(valueType) ||
    !isBytes(value) ||
    (edit && !isSafeUint(originalSequence))
  )
    return undefined;
  const start = open(n, strMax(path) + binMax(value));
  writeRaw(edit ? PREFIX.tsEdit : PREFIX.tsAppend);
  writeUint(id);
  writeRaw(K.path);
  writeStr(path);
  writeRaw(K.valueType);
  writeRaw(VALUE_TYPE_BYTES[valueType] as Uint8Array);
  if (edit) {
    writeRaw(K.originalSequence);
    writeInteger(originalSequence as number);
  }
  writeRaw(K.value);
  writeBin(value);
  return done(start);
}

const EMPTY_BYTES = new Uint8Array(0);

/** Room for one event's keys and numbers (its author and value counted apart). */
const EVENT_FIXED = 48;

/** `ts_page`: a range query's page of events, written field by field (pages carry hundreds). */
function writeTsPage(o: Record<string, unknown>): Uint8Array | undefined {
  const { id, events } = o;
  if (definedCount(o) !== 3 || !isUint32(id)) return undefined;
  const max = eventsMax(events);
  if (max === undefined) return undefined;
  const start = open(3, max);
  writeRaw(PREFIX.tsPage);
  writeUint(id);
  writeRaw(K.events);
  writeEvents(events as WireEventLike[]);
  return done(start);
}

/**
 * An event of a range query's page as the server holds it (what `ts_page` carries as a wire event
 * `{ s, t, a, v, o? }`, `o` present for an edit).
 */
export interface PageEvent {
  /** The event's sequence (a safe integer, at least 0). */
  readonly sequence: number;
  /** Its timestamp (a safe integer, epoch ms). */
  readonly timestamp: number;
  /** Its author. */
  readonly author: string;
  /** Its value's bytes. */
  readonly value: Uint8Array;
  /** True for an edit event (then `originalSequence` is written as `o`). */
  readonly isEdit: boolean;
  /** The sequence of the original event an edit edits; for an original, its own sequence. */
  readonly originalSequence: number;
}

/**
 * The bytes of `{ type: "ts_page", id, events }` with `events[from, to)` as wire events, written
 * straight from the server's events (no wire objects in between): the same bytes as
 * `writeHotFrame` of the wire frame. Throws on a number that is not a safe integer (a bug).
 */
export function encodeTsPage(id: number, events: readonly PageEvent[], from: number, to: number): Uint8Array {
  if (!isUint32(id)) throw new RangeError(`ts_page id ${id}`);
  let max = 5;
  for (let i = from; i < to; i++) {
    const e = events[i]!;
    max += EVENT_FIXED + strMax(e.author) + binMax(e.value);
  }
  const start = open(3, max);
  writeRaw(PREFIX.tsPage);
  writeUint(id);
  writeRaw(K.events);
  const n = to - from;
  writeArrayHeader(n);
  // One flat loop, the keys' bytes written in place and an author's bytes reused while it repeats:
  // a fresh server runs its first large queries before V8 optimizes this, and calls cost most then.
  // `open` made room for the whole frame: nothing below moves to a new chunk.
  const out = chunk;
  let lastAuthor: string | undefined;
  let authorBytes: Uint8Array = EMPTY_BYTES;
  for (let i = from; i < to; i++) {
    const e = events[i]!;
    const { sequence, timestamp, value } = e;
    if (!isSafeUint(sequence) || !isSafeInt(timestamp) || (e.isEdit && !isSafeUint(e.originalSequence)))
      throw new RangeError(`ts_page event ${sequence}: not a safe integer`);
    let p = pos;
    out[p++] = e.isEdit ? 0x85 : 0x84;
    out[p++] = 0xa1; // "s"
    out[p++] = 0x73;
    pos = p;
    writeInteger(sequence);
    p = pos;
    out[p++] = 0xa1; // "t"
    out[p++] = 0x74;
    if (timestamp > 0xffffffff) {
      out[p++] = 0xcb;
      view.setFloat64(p, timestamp);
      p += 8;
    } else {
      pos = p;
      writeInteger(timestamp);
      p = pos;
    }
    out[p++] = 0xa1; // "a"
    out[p++] = 0x61;
    if (e.author !== lastAuthor) {
      lastAuthor = e.author;
      pos = p;
      writeStr(lastAuthor);
      authorBytes = out.slice(p, pos);
      p = pos;
    } else {
      const n = authorBytes.length;
      for (let k = 0; k < n; k++) out[p++] = authorBytes[k]!;
    }
    out[p++] = 0xa1; // "v"
    out[p++] = 0x76;
    const n = value.length;
    if (n < 0x100) {
      out[p++] = 0xc4;
      out[p++] = n;
      if (n <= 32) for (let k = 0; k < n; k++) out[p++] = value[k]!;
      else {
        out.set(value, p);
        p += n;
      }
      pos = p;
    } else {
      pos = p;
      writeBin(value);
    }
    if (e.isEdit) {
      writeRaw(K.o);
      writeInteger(e.originalSequence);
    }
  }
  return done(start);
}

interface WireEventLike {
  s: number;
  t: number;
  a: string;
  v: Uint8Array;
  o?: number;
}

/** The most bytes `events` take written (array header included), or undefined if they are not all wire events. */
function eventsMax(events: unknown): number | undefined {
  if (!Array.isArray(events)) return undefined;
  let max = 5;
  for (const value of events) {
    const e = plain(value);
    if (
      !e ||
      definedCount(e) !== 4 + opt(e.o) ||
      !isSafeUint(e.s) ||
      !isSafeInt(e.t) ||
      typeof e.a !== "string" ||
      !isBytes(e.v) ||
      (e.o !== undefined && !isSafeUint(e.o))
    )
      return undefined;
    max += EVENT_FIXED + strMax(e.a) + binMax(e.v);
  }
  return max;
}

/** An array of wire events (checked by {@link eventsMax}). */
function writeEvents(events: WireEventLike[]): void {
  const n = events.length;
  writeArrayHeader(n);
  for (const e of events) {
    const edit = e.o !== undefined;
    chunk[pos++] = edit ? 0x85 : 0x84;
    writeRaw(K.s);
    writeInteger(e.s);
    writeRaw(K.t);
    writeInteger(e.t);
    writeRaw(K.a);
    writeStr(e.a);
    writeRaw(K.v);
    writeBin(e.v);
    if (edit) {
      writeRaw(K.o);
      writeInteger(e.o as number);
    }
  }
}

/**
 * The answer to `ts_query` (`{ events, selectedCount, isComplete, streamStructure, eventType }`, in
 * that order, as the server builds it), with the most bytes it takes written; or undefined.
 */
function queryAnswer(value: unknown):
  | {
      events: WireEventLike[];
      selectedCount: number;
      isComplete: boolean;
      streamStructure: string;
      eventType: string;
      max: number;
    }
  | undefined {
  const o = plain(value);
  if (!o || definedCount(o) !== 5) return undefined;
  const { events, selectedCount, isComplete, streamStructure, eventType } = o;
  if (
    !isSafeUint(selectedCount) ||
    typeof isComplete !== "boolean" ||
    typeof streamStructure !== "string" ||
    typeof eventType !== "string"
  )
    return undefined;
  // The writer puts the keys in this order; another order is left to msgpackr (same map, other bytes).
  let i = 0;
  for (const k in o) if (k !== QUERY_KEYS[i++]) return undefined;
  const max = eventsMax(events);
  if (max === undefined) return undefined;
  return {
    events: events as WireEventLike[],
    selectedCount,
    isComplete,
    streamStructure,
    eventType,
    max: max + strMax(streamStructure) + strMax(eventType),
  };
}

const QUERY_KEYS = ["events", "selectedCount", "isComplete", "streamStructure", "eventType"];
