/**
 * parser.ts rewrites private internals of mqtt-packet (issue 13): `_parseString`, the readers whose
 * sentinels it turns into errors, `_parseStringPair`, `_parseProperties`, `_parseByType`, and the state
 * it resets between packets (`_list`, `_pos`, `packet`, `error`, `_stateCounter`, `settings`). The
 * dependency is pinned to the exact version below; this test fails loudly, naming what changed, if
 * an upgrade moves any of them, so that the patch is re-checked rather than silently bypassed.
 */
import { createRequire } from "node:module";
import mqtt from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { PacketParser, ProtocolViolation } from "./parser.js";

/** The version whose internals parser.ts was written against (and packages/server pins). */
const PATCHED_VERSION = "9.0.2";

const require = createRequire(import.meta.url);

/** A fresh, unpatched mqtt-packet parser, seen through its private members. */
function rawParser(): Record<string, unknown> {
  return mqtt.parser({ protocolVersion: 5 }) as unknown as Record<string, unknown>;
}

/** Private methods parser.ts wraps or calls, with their arity in 9.0.2. */
const METHODS: readonly [string, number][] = [
  // `_parseString(maybeBuffer)`: the parameter is unused in 9.0.2 and no caller passes it; the strict
  // replacement ignores it. A change here may mean callers now want a Buffer back.
  ["_parseString", 1],
  ["_parseNum", 0],
  ["_parse4ByteNum", 0],
  ["_parseByte", 0],
  ["_parseBuffer", 0],
  ["_parseStringPair", 0],
  ["_parseProperties", 0],
  ["_parseByType", 1],
  ["_emitError", 1],
  ["parse", 1],
];

describe(`mqtt-packet internals that parser.ts patches (written against ${PATCHED_VERSION})`, () => {
  it("is the pinned version", () => {
    const { version } = require("mqtt-packet/package.json") as { version: string };
    expect(
      version,
      `mqtt-packet is ${version}, not ${PATCHED_VERSION}: re-check every internal parser.ts patches, then update the pin`,
    ).toBe(PATCHED_VERSION);
  });

  it.each(METHODS)("has the method %s with %i parameter(s)", (name, arity) => {
    const parser = rawParser();
    const method = parser[name];
    expect(typeof method, `mqtt-packet Parser.${name} is gone: parser.ts wraps it`).toBe("function");
    expect((method as (...a: unknown[]) => unknown).length, `mqtt-packet Parser.${name} changed arity`).toBe(
      arity,
    );
  });

  it("has the state parser.ts resets between packets", () => {
    const parser = rawParser();
    const list = parser._list as Record<string, unknown>;
    expect(typeof list, "Parser._list (a buffer list) is gone").toBe("object");
    for (const name of ["slice", "consume", "readUInt8", "append"]) {
      expect(typeof list[name], `Parser._list.${name} is gone`).toBe("function");
    }
    expect(typeof list.length, "Parser._list.length is gone").toBe("number");
    const packet = parser.packet as { length?: unknown; constructor: unknown };
    expect(typeof packet.constructor, "Parser.packet has no class to make new packets from").toBe("function");
    expect(packet.length, "a new Parser.packet's length is no longer -1").toBe(-1);
    expect(parser.error, "Parser.error is not null on a fresh parser").toBeNull();
    expect(parser._stateCounter, "Parser._stateCounter is gone").toBe(0);
    expect(typeof parser.settings, "Parser.settings is gone").toBe("object");
    expect(Array.isArray(parser._states), "Parser._states is gone").toBe(true);
  });

  it("returns the sentinels parser.ts turns into errors when a field runs past the end", () => {
    const parser = rawParser();
    (parser._list as { append(b: Buffer): void }).append(Buffer.alloc(0));
    parser._pos = 0;
    const call = (name: string): unknown => (parser[name] as () => unknown).call(parser);
    expect(call("_parseNum"), "_parseNum no longer returns -1 past the end").toBe(-1);
    expect(call("_parse4ByteNum"), "_parse4ByteNum no longer returns -1 past the end").toBe(-1);
    expect(call("_parseByte"), "_parseByte no longer returns undefined past the end").toBeUndefined();
    expect(call("_parseBuffer"), "_parseBuffer no longer returns null past the end").toBeNull();
  });

  it("reads one-byte properties through _parseByType('byte')", () => {
    const { propertiesTypes } = require("mqtt-packet/constants") as {
      propertiesTypes: Record<string, string>;
    };
    for (const name of [
      "requestProblemInformation",
      "requestResponseInformation",
      "payloadFormatIndicator",
    ]) {
      expect(propertiesTypes[name], `mqtt-packet no longer types ${name} as 'byte'`).toBe("byte");
    }
  });

  // Each patch, seen to take effect through PacketParser (the mqtt-packet path, not fast-publish.ts).
  const cases: [string, string, number, (e: Error) => boolean][] = [
    // SUBSCRIBE whose filter is not UTF-8: the strict _parseString.
    ["_parseString (UTF-8)", "8206 0001 0001 ff 01", 4, (e) => /UTF-8/.test(e.message)],
    // SUBSCRIBE cut after its packet identifier's first byte: the sentinel of _parseNum.
    ["_parseNum (truncation)", "8201 00", 4, (e) => /too short|messageId/i.test(e.message)],
    // v5 CONNECT with Request Problem Information 2: the strict _parseByType.
    [
      "_parseByType (byte 0/1)",
      "1011 00044d515454 05 02 003c 02 1702 0002 6331",
      5,
      (e) => e instanceof ProtocolViolation,
    ],
    // v5 CONNECT with a Session Expiry Interval twice: the _parseProperties wrapper.
    [
      "_parseProperties (repeats)",
      "1019 00044d515454 05 02 003c 0a 1100000001 1100000002 0002 6331",
      5,
      (e) => e instanceof ProtocolViolation,
    ],
  ];
  it.each(cases)("patch of %s takes effect", (name, hex, version, isExpected) => {
    const result = new PacketParser().parse(Buffer.from(hex.replace(/\s+/g, ""), "hex"), version);
    expect("error" in result, `the ${name} patch no longer catches its case`).toBe(true);
    if ("error" in result) expect(isExpected(result.error), `${name}: ${result.error.message}`).toBe(true);
  });

  it("keeps empty User Property values (the _parseStringPair patch)", () => {
    const bytes = mqtt.generate(
      {
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 5,
        clientId: "c",
        clean: true,
        keepalive: 0,
        properties: { userProperties: { k: ["", "x"] } },
      },
      { protocolVersion: 5 },
    );
    const result = new PacketParser().parse(bytes, 5);
    expect(
      "packet" in result && result.packet.cmd === "connect" && result.packet.properties?.userProperties,
    ).toEqual({ k: ["", "x"] });
  });
});
