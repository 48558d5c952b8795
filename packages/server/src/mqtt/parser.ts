/**
 * mqtt-packet's parser, made strict where the spec demands it and the library is lenient: strings
 * must be well-formed UTF-8 without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2], and properties that may
 * appear once must not repeat [MQTT-2.2.2-2], and one-byte properties must be 0 or 1.
 *
 * The patches replace private members of mqtt-packet's Parser, so mqtt-packet is pinned to the exact
 * version they were written against (packages/server/package.json), and parser-internals.test.ts
 * fails, naming the member, when an upgrade changes any of them.
 */
import { isUtf8 } from "node:buffer";
import mqtt from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { decodeConnect, decodeSubscribe } from "./fast-connect.js";
import { MalformedPublish, decodePublish } from "./fast-publish.js";
import { rememberOrder } from "./user-properties.js";

const WILL_PROPERTIES = [
  "payloadFormatIndicator",
  "messageExpiryInterval",
  "contentType",
  "responseTopic",
  "correlationData",
  "willDelayInterval",
  "userProperties",
];
const ACK_PROPERTIES = ["reasonString", "userProperties"];

/**
 * The properties a client may send in each packet (MQTT 5 §2.2.2.2, and each packet's section); `will`
 * is a CONNECT's Will Properties. Any other is "not valid for its packet type": a Malformed Packet.
 * A PUBLISH's Subscription Identifier is let through to the handler, which answers it with the
 * Protocol Error that [MQTT-3.3.4-6] names.
 */
const CLIENT_PROPERTIES: Readonly<Record<string, ReadonlySet<string>>> = {
  connect: new Set([
    "sessionExpiryInterval",
    "receiveMaximum",
    "maximumPacketSize",
    "topicAliasMaximum",
    "requestResponseInformation",
    "requestProblemInformation",
    "userProperties",
    "authenticationMethod",
    "authenticationData",
  ]),
  will: new Set(WILL_PROPERTIES),
  publish: new Set([
    ...WILL_PROPERTIES.filter((name) => name !== "willDelayInterval"),
    "topicAlias",
    "subscriptionIdentifier",
  ]),
  puback: new Set(ACK_PROPERTIES),
  pubrec: new Set(ACK_PROPERTIES),
  pubrel: new Set(ACK_PROPERTIES),
  pubcomp: new Set(ACK_PROPERTIES),
  subscribe: new Set(["subscriptionIdentifier", "userProperties"]),
  unsubscribe: new Set(["userProperties"]),
  disconnect: new Set(["sessionExpiryInterval", "reasonString", "userProperties", "serverReference"]),
  auth: new Set(["authenticationMethod", "authenticationData", "reasonString", "userProperties"]),
};

/** Properties that may appear more than once in a packet. */
const REPEATABLE = new Set(["userProperties", "subscriptionIdentifier"]);

/**
 * A parse failure the spec calls a Protocol Error (0x82) rather than a Malformed Packet (0x81): a
 * property that may appear once appearing twice (§2.2.2.2, "It is a Protocol Error to include ... more
 * than once").
 */
export class ProtocolViolation extends Error {}

/** mqtt-packet readers and what each returns when the field runs past the end of the packet. */
const TRUNCATED = [
  ["_parseNum", -1],
  ["_parse4ByteNum", -1],
  ["_parseByte", undefined],
  ["_parseBuffer", null],
] as const;

/** Stands for an empty User Property value while mqtt-packet collects them (see the constructor). */
const EMPTY_VALUE = "\u0000";

function restoreEmptyValues(users: Record<string, string | string[]>): void {
  for (const name of Object.keys(users)) {
    const value = users[name];
    if (value === EMPTY_VALUE) users[name] = "";
    else if (Array.isArray(value))
      for (let i = 0; i < value.length; i++) if (value[i] === EMPTY_VALUE) value[i] = "";
  }
}

interface ParserInternals {
  _list: { slice(start: number, end: number): Buffer; consume(bytes: number): void; length: number };
  _pos: number;
  packet: { length: number; cmd?: string };
  error: Error | null;
  _stateCounter: number;
  _parseNum(): number;
  _parse4ByteNum(): number;
  _parseByte(): number | undefined;
  _parseBuffer(): Buffer | null;
  _parseString(): string | null;
  _parseStringPair(): { name: string | null; value: string | null };
  _parseProperties(): Record<string, unknown> | false;
  _parseByType(type: string): unknown;
  _emitError(err: Error): void;
  settings: { protocolVersion?: number };
}

/** Parses exactly one framed packet at a time and reports the packet or the error. */
export class PacketParser {
  private readonly parser = mqtt.parser({ protocolVersion: 4 });
  /** mqtt-packet's packet class (each parse fills a new one). */
  private readonly Packet: new () => ParserInternals["packet"];
  private result: Packet | undefined;
  private failure: Error | undefined;
  /** Property lists read so far in the packet being parsed (a CONNECT's second is its Will's). */
  private propertyLists = 0;

  /**
   * @param fastPaths whether the hand-written decoders (fast-publish.ts, fast-connect.ts, acknowledgements)
   *   read the packets they know before mqtt-packet; false only in the tests that compare them with it
   */
  constructor(private readonly fastPaths = true) {
    const p = this.parser as unknown as ParserInternals;
    this.Packet = p.packet.constructor as new () => ParserInternals["packet"];
    p._parseString = function parseStrictString(this: ParserInternals): string | null {
      const length = this._parseNum();
      const end = length + this._pos;
      if (length === -1 || end > this._list.length || end > this.packet.length) {
        this._emitError(new Error("String runs past the end of the packet"));
        return null;
      }
      const bytes = this._list.slice(this._pos, end);
      if (!isUtf8(bytes)) {
        this._emitError(new Error("Malformed UTF-8 string"));
        return null;
      }
      if (bytes.includes(0)) {
        this._emitError(new Error("String contains U+0000"));
        return null;
      }
      this._pos += length;
      return bytes.toString("utf8");
    };
    // A field that runs past the end of the packet makes it malformed. mqtt-packet returns a sentinel
    // (-1, null, undefined) that some of its callers pass on as a value: a packet identifier of -1, a
    // User Property or Correlation Data of null (which crashed the encoder of every subscriber).
    for (const [method, sentinel] of TRUNCATED) {
      const read = p[method] as () => unknown;
      (p[method] as () => unknown) = function readWhole(this: ParserInternals): unknown {
        const value = read.call(this);
        if (value === sentinel) this._emitError(new Error("Packet too short"));
        return value;
      };
    }
    // mqtt-packet collects a repeated User Property name's values only when the first value is
    // truthy: an empty first value was overwritten by the next one. An empty value is read as a
    // placeholder that cannot be a real value (U+0000 is refused in strings) and restored below.
    // The pairs of the property list being read, in order (see user-properties.ts).
    let pairs: [string, string][] = [];
    const parsePair = p._parseStringPair;
    p._parseStringPair = function parseStringPair(this: ParserInternals) {
      const pair = parsePair.call(this);
      if (pair.name !== null && pair.value !== null) pairs.push([pair.name, pair.value]);
      if (pair.value === "") pair.value = EMPTY_VALUE;
      return pair;
    };
    // Every one-byte property a packet can carry (Payload Format Indicator, Request Problem Information,
    // Request Response Information, and the CONNACK ones) is 0 or 1; any other value is a Protocol Error
    // (MQTT 5 §3.1.2.11.6, §3.1.2.11.7). mqtt-packet reads them as `byte !== 0`, so 2 passed as true.
    const parseByType = p._parseByType;
    p._parseByType = function parseStrictByte(this: ParserInternals, type: string): unknown {
      if (type !== "byte") return parseByType.call(this, type);
      const value = this._parseByte();
      if (value !== undefined && value > 1) {
        this._emitError(new ProtocolViolation(`a one-byte property is ${value}, not 0 or 1`));
      }
      return value !== undefined && value !== 0;
    };
    const parseProperties = p._parseProperties;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the patched methods' `this` is mqtt-packet's
    const self = this;
    p._parseProperties = function parseUniqueProperties(this: ParserInternals) {
      pairs = [];
      const props = parseProperties.call(this);
      const cmd = this.packet.cmd === "connect" && self.propertyLists++ > 0 ? "will" : this.packet.cmd;
      const allowed = cmd === undefined ? undefined : CLIENT_PROPERTIES[cmd];
      if (props) {
        if (allowed) {
          // MQTT 5 §2.2.2.2: an Identifier not valid for its packet type makes a Malformed Packet.
          const invalid = Object.keys(props).find((name) => !allowed.has(name));
          if (invalid !== undefined) {
            this._emitError(
              new Error(`Property ${invalid} is not valid in ${cmd === "will" ? "Will Properties" : cmd}`),
            );
            return false;
          }
        }
        if (props.userProperties) {
          restoreEmptyValues(props.userProperties as Record<string, string | string[]>);
          rememberOrder(props.userProperties, pairs);
        }
        for (const name of Object.keys(props)) {
          if (!REPEATABLE.has(name) && Array.isArray(props[name])) {
            this._emitError(new ProtocolViolation(`Property ${name} appears more than once`));
            return false;
          }
          // A truncated Variable Byte Integer reads as false [MQTT-1.5.5].
          if (
            name === "subscriptionIdentifier" &&
            [props[name]].flat().some((id) => typeof id !== "number")
          ) {
            this._emitError(new Error("Malformed Subscription Identifier"));
            return false;
          }
        }
      }
      return props;
    };
    this.parser.on("packet", (packet: Packet) => (this.result = packet));
    this.parser.on("error", (err: Error) => (this.failure ??= err));
  }

  /** The protocol version strings and properties are parsed for (set after CONNECT). */

  /** Parses one whole packet. */
  parse(frame: Buffer, protocolVersion: number): { packet: Packet } | { error: Error } {
    const first = frame[0] as number;
    if (!this.fastPaths) {
      // mqtt-packet alone (the reference of the decoders' tests)
    } else if (first >> 4 === 3) {
      const fast = decodePublish(frame, protocolVersion);
      if (fast instanceof MalformedPublish) return { error: fast };
      if (fast) return { packet: fast };
    } else if (frame.length === 4 && frame[1] === 2) {
      const fast = decodeAck(first, frame, protocolVersion);
      if (fast) return { packet: fast };
    } else if (first === 0x10) {
      // CONNECT and SUBSCRIBE: once per connection each, and in every connect (fast-connect.ts)
      const fast = decodeConnect(frame);
      if (fast) return { packet: fast };
    } else if (first === 0x82) {
      const fast = decodeSubscribe(frame, protocolVersion);
      if (fast) return { packet: fast };
    }
    this.result = undefined;
    this.failure = undefined;
    this.propertyLists = 0;
    const internals = this.parser as unknown as ParserInternals;
    // One parser serves every connection of a door: each call gets exactly one whole frame and is
    // parsed synchronously, so only the version differs between calls.
    // A fresh settings object: mqtt-packet makes the last CONNECT packet its settings.
    internals.settings = { protocolVersion };
    // mqtt-packet's _resetState() would make a new buffer list, a Duplex stream (about 7 µs a packet):
    // the one list is emptied instead, and the rest of the state reset as _resetState does.
    internals.packet = new this.Packet();
    internals.error = null;
    internals._stateCounter = 0;
    if (internals._list.length > 0) internals._list.consume(internals._list.length);
    // A failed parse leaves its read position behind; the length reader uses it.
    internals._pos = 0;
    this.parser.parse(frame);
    if (this.failure) return { error: this.failure };
    if (!this.result) return { error: new Error("Packet too short") };
    return { packet: this.result };
  }
}

/** The packet type of each acknowledgement's exact first byte (reserved flags included, §2.1.3). */
const ACK_TYPES: Record<number, "puback" | "pubrec" | "pubrel" | "pubcomp"> = {
  0x40: "puback",
  0x50: "pubrec",
  0x62: "pubrel",
  0x70: "pubcomp",
};

/**
 * A PUBACK, PUBREC, PUBREL or PUBCOMP of Remaining Length 2 (packet identifier only: one per QoS 1/2
 * message, so the common case is read here rather than by mqtt-packet), in mqtt-packet's shape. v5
 * reads a missing reason code as Success (0x00) (MQTT 5 §3.4.2.1, §3.5.2.1, §3.6.2.1, §3.7.2.1).
 * Undefined for any other frame: mqtt-packet reads it (and reports a bad one).
 */
function decodeAck(first: number, frame: Buffer, protocolVersion: number): Packet | undefined {
  const cmd = ACK_TYPES[first];
  if (cmd === undefined) return undefined;
  const packet = {
    cmd,
    retain: false,
    qos: cmd === "pubrel" ? 1 : 0,
    dup: false,
    length: 2,
    topic: null,
    payload: null,
    messageId: frame.readUInt16BE(2),
  } as unknown as Packet & { reasonCode?: number };
  if (protocolVersion === 5) packet.reasonCode = 0;
  return packet;
}
