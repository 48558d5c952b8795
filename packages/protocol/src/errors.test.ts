// Tests may read files; the protocol package itself stays I/O-free.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ERROR_CODE_NAMES,
  type ErrorCode,
  ErrorCodes,
  SkeinError,
  errorCodeFromNumber,
  errorCodeNumber,
  mqttReasonCode,
} from "./errors.js";

/** The MQTT 5 reason codes (MQTT 5 §2.4) that PUBACK, PUBREC, SUBACK, UNSUBACK or DISCONNECT can carry. */
const MQTT5_REASON_CODES = new Set([
  0x10, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x94,
  0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
]);

describe("the error-code table", () => {
  it("has a unique wire number for every code", () => {
    const numbers = ERROR_CODE_NAMES.map((name) => ErrorCodes[name].code);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it("lists every code in ERROR_CODE_NAMES, in table order", () => {
    expect(ERROR_CODE_NAMES).toEqual(Object.keys(ErrorCodes));
  });

  it.each(ERROR_CODE_NAMES)("%s: number, reason code and message are sound", (name) => {
    const entry = ErrorCodes[name];
    expect(errorCodeNumber(name)).toBe(entry.code);
    expect(errorCodeFromNumber(entry.code)).toBe(name);
    expect(Number.isInteger(entry.code) && entry.code >= 100 && entry.code < 600).toBe(true);
    expect(MQTT5_REASON_CODES.has(mqttReasonCode(name))).toBe(true);
    expect(entry.message.length).toBeGreaterThan(0);
  });

  it("reads an unknown number as INTERNAL", () => {
    expect(errorCodeFromNumber(0)).toBe("INTERNAL");
    expect(errorCodeFromNumber(999)).toBe("INTERNAL");
    expect(errorCodeFromNumber(Number.NaN)).toBe("INTERNAL");
  });
});

describe("SkeinError", () => {
  it("defaults its message from the table and keeps a cause", () => {
    const cause = new Error("disk full");
    const err = new SkeinError("TOPIC_NOT_FOUND", undefined, { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("SkeinError");
    expect(err.code).toBe("TOPIC_NOT_FOUND");
    expect(err.message).toBe("No such topic");
    expect(err.cause).toBe(cause);
    expect(new SkeinError("TOPIC_NOT_FOUND", "no a/b").message).toBe("no a/b");
  });

  it.each(ERROR_CODE_NAMES)("%s survives toWire/fromWire", (code) => {
    const err = new SkeinError(code, `details of ${code}`);
    const wire = err.toWire();
    expect(wire).toEqual({ code: ErrorCodes[code].code, message: `details of ${code}` });
    const back = SkeinError.fromWire(JSON.parse(JSON.stringify(wire)) as typeof wire);
    expect(back).toBeInstanceOf(SkeinError);
    expect(back.code).toBe(code);
    expect(back.message).toBe(err.message);
  });

  it("reads a wire error with an unknown number as INTERNAL, keeping the message", () => {
    const err = SkeinError.fromWire({ code: 12345, message: "from the future" });
    expect(err.code).toBe("INTERNAL");
    expect(err.message).toBe("from the future");
  });

  it.each<[string, unknown, ErrorCode, string]>([
    ["an Error", new TypeError("boom"), "INTERNAL", "boom"],
    ["a string", "oops", "INTERNAL", "oops"],
    ["a number", 42, "INTERNAL", "42"],
    ["undefined", undefined, "INTERNAL", "undefined"],
    ["null", null, "INTERNAL", "null"],
    ["an object", { a: 1 }, "INTERNAL", "[object Object]"],
  ])("from(%s) is INTERNAL with the cause kept", (_name, thrown, code, message) => {
    const err = SkeinError.from(thrown);
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
    expect(err.cause).toBe(thrown);
  });

  it("from(a SkeinError) is that same error", () => {
    const err = new SkeinError("NOT_AUTHORIZED");
    expect(SkeinError.from(err)).toBe(err);
  });
});

describe("docs/errors.md", () => {
  const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
  /** Rows of the form | `NAME` | 123 | 0x8F (...) | meaning |. */
  const rows = [
    ...doc.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d+)\s*\|\s*0x([0-9A-Fa-f]{2})\b[^|]*\|[^|]+\|\s*$/gm),
  ].map((m) => ({ name: m[1]!, code: Number(m[2]), mqtt: parseInt(m[3]!, 16) }));

  it("documents every code, with its number and MQTT reason code", () => {
    for (const name of ERROR_CODE_NAMES) {
      const row = rows.find((r) => r.name === name);
      expect(row, `${name} is missing from docs/errors.md`).toBeDefined();
      expect(row).toEqual({ name, code: ErrorCodes[name].code, mqtt: ErrorCodes[name].mqtt });
    }
  });

  it("documents nothing that is not in the table, and each code once", () => {
    for (const row of rows) expect(ERROR_CODE_NAMES, `${row.name} is not in errors.ts`).toContain(row.name);
    expect(rows.length).toBe(ERROR_CODE_NAMES.length);
  });

  it("never gives a retired number to a code", () => {
    const retired = doc.slice(doc.indexOf("## Retired numbers"));
    const numbers = [...retired.matchAll(/^\|\s*(\d+)\s*\|/gm)].map((m) => Number(m[1]));
    expect(numbers.length).toBeGreaterThan(0);
    for (const name of ERROR_CODE_NAMES) {
      expect(numbers, `${name} uses a retired number`).not.toContain(ErrorCodes[name].code);
    }
  });

  it("has no table row the check above cannot read", () => {
    const tableRows = doc.split("\n").filter((line) => line.startsWith("| `"));
    expect(tableRows.length).toBe(rows.length);
  });
});
