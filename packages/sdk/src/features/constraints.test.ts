import { SkeinError, constraintSchema } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { type UpdateConstraint, constraints } from "./constraints.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("constraint builders", () => {
  it.each<[string, UpdateConstraint, unknown]>([
    ["noValue", constraints.noValue(), { kind: "no-value" }],
    ["noTopic", constraints.noTopic(), { kind: "no-topic" }],
    ["valueEquals int64", constraints.valueEquals("int64", 42n), { kind: "value-equals", value: text("42") }],
    [
      "valueEquals json",
      constraints.valueEquals("json", { a: 1 }),
      { kind: "value-equals", value: text('{"a":1}') },
    ],
    [
      "jsonPointer equals",
      constraints.jsonPointer("/a/0").equals("x"),
      { kind: "partial-json", conditions: [{ pointer: "/a/0", equals: text('"x"') }] },
    ],
    [
      "jsonPointer absent",
      constraints.jsonPointer("/b").absent(),
      { kind: "partial-json", conditions: [{ pointer: "/b", absent: true }] },
    ],
    ["locked by name", constraints.locked("L"), { kind: "locked", lock: "L" }],
    ["locked by handle", constraints.locked({ name: "M" }), { kind: "locked", lock: "M" }],
    [
      "and",
      constraints.noValue().and(constraints.locked("L")),
      { kind: "and", constraints: [{ kind: "no-value" }, { kind: "locked", lock: "L" }] },
    ],
    [
      "nested and is flattened",
      constraints.noValue().and(constraints.locked("L")).and(constraints.noTopic()),
      {
        kind: "and",
        constraints: [{ kind: "no-value" }, { kind: "locked", lock: "L" }, { kind: "no-topic" }],
      },
    ],
    ["and of one is that one", constraints.and(constraints.noTopic()), { kind: "no-topic" }],
  ])("%s builds the wire constraint, which the frame schema accepts", (_name, built, wire) => {
    expect(built.wire).toEqual(wire);
    expect(constraintSchema.safeParse(built.wire).success).toBe(true);
  });

  it.each<[string, () => unknown]>([
    ["a pointer without a leading /", () => constraints.jsonPointer("a")],
    ["an empty lock name", () => constraints.locked("")],
    ["a number for int64", () => constraints.valueEquals("int64", 1 as unknown as bigint)],
    ["an empty conjunction", () => constraints.and()],
    [
      "a conjunction of 17",
      () => constraints.and(...Array.from({ length: 17 }, () => constraints.noValue())),
    ],
  ])("refuses %s with INVALID_ARGUMENT", (_name, build) => {
    expect(build).toThrow(SkeinError);
    try {
      build();
    } catch (err) {
      expect((err as SkeinError).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("accepts the whole-document pointer", () => {
    expect(constraints.jsonPointer("").absent().wire).toEqual({
      kind: "partial-json",
      conditions: [{ pointer: "", absent: true }],
    });
  });
});
