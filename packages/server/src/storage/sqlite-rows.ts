/**
 * The sqlite engine's statements and rows: what each table's row looks like, and how records become
 * column values and back (properties and wills as compact JSON, User Properties as ordered pairs).
 *
 * @module
 */
import type {
  DeliveryState,
  QueuedMessageRecord,
  SessionOwner,
  SessionRecord,
  StoredProperties,
  SubscriptionRecord,
  TimeSeriesEvent,
  TopicRecord,
  WillRecord,
} from "../core/storage.js";

/** Delivery states as stored (column `messages.state`). */
export const STATE_CODES: Record<DeliveryState, number> = { queued: 0, sent: 1, released: 2 };
const STATES: readonly DeliveryState[] = ["queued", "sent", "released"];

/** A `topic` row as SQLite gives it. */
export interface TopicRow {
  path: string;
  spec: string;
  value: Buffer | null;
  value_qos: number | null;
  value_props: string | null;
  value_expires: number | null;
}
/** A `series` row as SQLite gives it. */
export interface SeriesRow {
  path: string;
  first_seq: number;
  last_seq: number | null;
  last_ts: number | null;
}
/** A `session` row as SQLite gives it. */
export interface SessionRow {
  client_id: string;
  protocol: number;
  expiry_interval: number;
  expires_at: number | null;
  will: string | null;
  owner: string | null;
}
/** A `subscription` row as SQLite gives it. */
export interface SubscriptionRow {
  client_id: string;
  filter: string;
  qos: number;
  no_local: number;
  retain_as_published: number;
  retain_handling: number;
  subscription_id: number | null;
}
/** The columns of a raw `messages` row, in {@link MessageTuple} order. */
export const MESSAGE_COLUMNS =
  "client_id, message_id, topic, payload, qos, retain, props, subscription_ids, expires_at, packet_id, state, dup";
/** A raw `messages` row, columns in {@link MESSAGE_COLUMNS} order. */
export type MessageTuple = [
  clientId: string,
  messageId: number,
  topic: string,
  payload: Buffer,
  qos: number,
  retain: number,
  props: string | null,
  subscriptionIds: string | null,
  expiresAt: number | null,
  packetId: number | null,
  state: number,
  dup: number,
];
/** A raw event row: seq, ts, author, value, original_seq. */
export type EventTuple = [seq: number, ts: number, author: string, value: Buffer, originalSeq: number | null];

/** Properties as JSON: short keys, correlation data in base64, user properties as ordered pairs. */
interface PropertiesJson {
  f?: boolean;
  c?: string;
  r?: string;
  d?: string;
  u?: [string, string][];
}

/** Properties as the JSON text of a column. */
export function encodeProperties(p: StoredProperties): string {
  const j: PropertiesJson = {};
  if (p.payloadFormatIndicator !== undefined) j.f = p.payloadFormatIndicator;
  if (p.contentType !== undefined) j.c = p.contentType;
  if (p.responseTopic !== undefined) j.r = p.responseTopic;
  if (p.correlationData !== undefined) j.d = Buffer.from(p.correlationData).toString("base64");
  if (p.userProperties !== undefined) j.u = p.userProperties.map(([n, v]) => [n, v]);
  return JSON.stringify(j);
}

/** Properties from the JSON text of a column. */
export function decodeProperties(text: string): StoredProperties {
  const j = JSON.parse(text) as PropertiesJson;
  const p: { -readonly [K in keyof StoredProperties]: StoredProperties[K] } = {};
  if (j.f !== undefined) p.payloadFormatIndicator = j.f;
  if (j.c !== undefined) p.contentType = j.c;
  if (j.r !== undefined) p.responseTopic = j.r;
  if (j.d !== undefined) p.correlationData = new Uint8Array(Buffer.from(j.d, "base64"));
  if (j.u !== undefined) p.userProperties = j.u;
  return p;
}

interface WillJson {
  t: string;
  p: string;
  q: 0 | 1 | 2;
  r: boolean;
  o?: string;
  d: number;
  a?: number;
  e?: number;
}

/** A will as the JSON text of a column. */
export function encodeWill(w: WillRecord): string {
  const j: WillJson = {
    t: w.topic,
    p: Buffer.from(w.payload).toString("base64"),
    q: w.qos,
    r: w.retain,
    d: w.delaySec,
  };
  if (w.properties) j.o = encodeProperties(w.properties);
  if (w.publishAt !== undefined) j.a = w.publishAt;
  if (w.messageExpirySec !== undefined) j.e = w.messageExpirySec;
  return JSON.stringify(j);
}

/** A will from the JSON text of a column. */
export function decodeWill(text: string): WillRecord {
  const j = JSON.parse(text) as WillJson;
  return {
    topic: j.t,
    payload: new Uint8Array(Buffer.from(j.p, "base64")),
    qos: j.q,
    retain: j.r,
    delaySec: j.d,
    ...(j.o !== undefined && { properties: decodeProperties(j.o) }),
    ...(j.a !== undefined && { publishAt: j.a }),
    ...(j.e !== undefined && { messageExpirySec: j.e }),
  };
}

interface OwnerJson {
  p?: string;
  r: string[];
}

/** A session's owner as the JSON text of a column. */
export function encodeOwner(o: SessionOwner): string {
  const j: OwnerJson = { r: [...o.roles] };
  if (o.principal !== undefined) j.p = o.principal;
  return JSON.stringify(j);
}

/** A session's owner from the JSON text of a column. */
export function decodeOwner(text: string): SessionOwner {
  const j = JSON.parse(text) as OwnerJson;
  return j.p === undefined ? { roles: j.r } : { principal: j.p, roles: j.r };
}

/** A topic row as a record. */
export function topicOf(r: TopicRow): TopicRecord {
  const spec = JSON.parse(r.spec) as TopicRecord["spec"];
  if (r.value === null) return { path: r.path, spec };
  return {
    path: r.path,
    spec,
    value: {
      payload: r.value,
      qos: (r.value_qos ?? 0) as 0 | 1 | 2,
      ...(r.value_props !== null && { properties: decodeProperties(r.value_props) }),
      ...(r.value_expires !== null && { expiresAt: r.value_expires }),
    },
  };
}

/** A session row as a record. */
export function sessionOf(r: SessionRow): SessionRecord {
  return {
    clientId: r.client_id,
    protocolVersion: r.protocol === 5 ? 5 : 4,
    expiryIntervalSec: r.expiry_interval,
    ...(r.expires_at !== null && { expiresAt: r.expires_at }),
    ...(r.will !== null && { will: decodeWill(r.will) }),
    ...(r.owner !== null && { owner: decodeOwner(r.owner) }),
  };
}

/** A subscription row as a record. */
export function subscriptionOf(r: SubscriptionRow): SubscriptionRecord {
  return {
    clientId: r.client_id,
    filter: r.filter,
    qos: r.qos as 0 | 1 | 2,
    noLocal: r.no_local === 1,
    retainAsPublished: r.retain_as_published === 1,
    retainHandling: r.retain_handling as 0 | 1 | 2,
    ...(r.subscription_id !== null && { subscriptionId: r.subscription_id }),
  };
}

/** A raw message row as a record. */
export function messageOf(r: MessageTuple): QueuedMessageRecord {
  const m: { -readonly [K in keyof QueuedMessageRecord]: QueuedMessageRecord[K] } = {
    clientId: r[0],
    messageId: r[1],
    topic: r[2],
    payload: r[3],
    qos: r[4] === 2 ? 2 : 1,
    retain: r[5] === 1,
    state: STATES[r[10]] ?? "queued",
    dup: r[11] === 1,
  };
  if (r[6] !== null) m.properties = decodeProperties(r[6]);
  if (r[7] !== null) m.subscriptionIds = JSON.parse(r[7]) as number[];
  if (r[8] !== null) m.expiresAt = r[8];
  if (r[9] !== null) m.packetId = r[9];
  return m;
}

/** A raw event row as an event. */
export function eventOf(r: EventTuple): TimeSeriesEvent {
  return r[4] === null
    ? { sequence: r[0], timestamp: r[1], author: r[2], value: r[3] }
    : { sequence: r[0], timestamp: r[1], author: r[2], value: r[3], originalSequence: r[4] };
}
