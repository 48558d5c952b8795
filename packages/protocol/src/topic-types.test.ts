import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SkeinError } from "./errors.js";
import {
  TOPIC_TYPES,
  type TopicSpecification,
  VALUE_TYPES,
  isTopicType,
  normaliseSpecification,
  specificationsEqual,
} from "./topic-types.js";

describe("isTopicType", () => {
  it.each<[unknown, boolean]>([
    ...TOPIC_TYPES.map((t): [unknown, boolean] => [t, true]),
    ["JSON", false],
    ["timeseries", false],
    ["", false],
    [undefined, false],
    [1, false],
  ])("%j: %s", (value, expected) => {
    expect(isTopicType(value)).toBe(expected);
  });
});

describe("normaliseSpecification", () => {
  it.each<[string, TopicSpecification, TopicSpecification]>([
    [
      "json, no properties",
      { type: "json" },
      { type: "json", properties: { retention: "always", persistent: true } },
    ],
    [
      "empty properties",
      { type: "string", properties: {} },
      { type: "string", properties: { retention: "always", persistent: true } },
    ],
    [
      "retention kept",
      { type: "binary", properties: { retention: "mqtt" } },
      { type: "binary", properties: { retention: "mqtt", persistent: true } },
    ],
    [
      "other properties kept",
      { type: "int64", properties: { persistent: true, owner: "ann", removal: { idleMs: 1000 } } },
      {
        type: "int64",
        properties: { retention: "always", persistent: true, owner: "ann", removal: { idleMs: 1000 } },
      },
    ],
    [
      "time series",
      {
        type: "time-series",
        properties: { eventType: "double", retainedRange: { count: 10 }, subscriptionRange: 3 },
      },
      {
        type: "time-series",
        properties: {
          retention: "always",
          persistent: true,
          eventType: "double",
          retainedRange: { count: 10 },
          subscriptionRange: 3,
        },
      },
    ],
  ])("%s", (_name, spec, expected) => {
    const normal = normaliseSpecification(spec);
    expect(normal).toEqual(expected);
    expect(normaliseSpecification(normal)).toEqual(normal); // idempotent
  });

  it.each<[string, unknown, string]>([
    ["unknown type", { type: "xml" }, "unknown topic type"],
    ["missing type", {}, "unknown topic type"],
    ["unknown retention", { type: "json", properties: { retention: "sometimes" } }, "unknown retention"],
    ["time series without eventType", { type: "time-series" }, "eventType"],
    [
      "time series of time series",
      { type: "time-series", properties: { eventType: "time-series" } },
      "eventType",
    ],
    ["time series of unknown type", { type: "time-series", properties: { eventType: "xml" } }, "eventType"],
    [
      "eventType on a non-time-series",
      { type: "json", properties: { eventType: "json" } },
      "only for time-series",
    ],
    ["removal idleMs 0", { type: "json", properties: { removal: { idleMs: 0 } } }, "idleMs"],
    ["removal idleMs negative", { type: "json", properties: { removal: { idleMs: -5 } } }, "idleMs"],
    ["removal idleMs NaN", { type: "json", properties: { removal: { idleMs: NaN } } }, "idleMs"],
    ["removal idleMs Infinity", { type: "json", properties: { removal: { idleMs: Infinity } } }, "idleMs"],
    ["removal idleMs a string", { type: "json", properties: { removal: { idleMs: "5" } } }, "idleMs"],
  ])("rejects %s", (_name, spec, message) => {
    let error: unknown;
    try {
      normaliseSpecification(spec as TopicSpecification);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SkeinError);
    expect((error as SkeinError).code).toBe("INVALID_SPECIFICATION");
    expect((error as SkeinError).message).toContain(message);
  });

  it("accepts every type (time series with every event type)", () => {
    for (const type of VALUE_TYPES) expect(normaliseSpecification({ type }).type).toBe(type);
    for (const eventType of VALUE_TYPES) {
      expect(
        normaliseSpecification({ type: "time-series", properties: { eventType } }).properties?.eventType,
      ).toBe(eventType);
    }
  });
});

describe("specificationsEqual", () => {
  it.each<[string, TopicSpecification, TopicSpecification, boolean]>([
    ["same type, no properties", { type: "json" }, { type: "json" }, true],
    ["different types", { type: "json" }, { type: "string" }, false],
    ["missing vs empty properties", { type: "json" }, { type: "json", properties: {} }, true],
    [
      "key order does not matter",
      { type: "json", properties: { persistent: true, owner: "a" } },
      { type: "json", properties: { owner: "a", persistent: true } },
      true,
    ],
    [
      "nested key order does not matter",
      { type: "time-series", properties: { eventType: "json", retainedRange: { count: 1, durationMs: 2 } } },
      { type: "time-series", properties: { retainedRange: { durationMs: 2, count: 1 }, eventType: "json" } },
      true,
    ],
    [
      "undefined properties are absent",
      { type: "json", properties: { owner: undefined } },
      { type: "json", properties: {} },
      true,
    ],
    [
      "different values",
      { type: "json", properties: { retention: "mqtt" } },
      { type: "json", properties: { retention: "never" } },
      false,
    ],
    [
      "nested values differ",
      { type: "json", properties: { removal: { idleMs: 1 } } },
      { type: "json", properties: { removal: { idleMs: 2 } } },
      false,
    ],
    [
      "a property only on one side",
      { type: "json", properties: { persistent: false } },
      { type: "json", properties: {} },
      false,
    ],
    // Compare normalised specifications: the filled-in default is a difference.
    ["normalised vs not", { type: "json" }, normaliseSpecification({ type: "json" }), false],
    [
      "both normalised",
      normaliseSpecification({ type: "json" }),
      normaliseSpecification({ type: "json" }),
      true,
    ],
  ])("%s: %s", (_name, a, b, expected) => {
    expect(specificationsEqual(a, b)).toBe(expected);
    expect(specificationsEqual(b, a)).toBe(expected);
  });

  it("is reflexive and ignores key order (property)", () => {
    const properties = fc.record(
      {
        retention: fc.constantFrom("always" as const, "mqtt" as const, "never" as const),
        persistent: fc.boolean(),
        validateValues: fc.boolean(),
        owner: fc.string(),
        removal: fc.record(
          { idleMs: fc.integer({ min: 1 }), onlyWithoutValue: fc.boolean() },
          { requiredKeys: ["idleMs"] },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...VALUE_TYPES), properties, (type, props) => {
        const spec: TopicSpecification = { type, properties: props };
        const reversed: TopicSpecification = {
          type,
          properties: Object.fromEntries(Object.entries(props).reverse()),
        };
        expect(specificationsEqual(spec, spec)).toBe(true);
        expect(specificationsEqual(spec, reversed)).toBe(true);
        expect(specificationsEqual(normaliseSpecification(spec), normaliseSpecification(reversed))).toBe(
          true,
        );
      }),
    );
  });
});
