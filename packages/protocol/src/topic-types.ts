/**
 * Topic types and topic specifications: a topic has a path, a specification (type + properties) and,
 * usually, a value.
 *
 * @module
 */
import { z } from "zod";
import { SkeinError } from "./errors.js";

/** The types a topic can have. */
export const TOPIC_TYPES = ["json", "string", "binary", "int64", "double", "time-series"] as const;

/** A topic's type. */
export type TopicType = (typeof TOPIC_TYPES)[number];

/** The types a time series event (or a request/response) can carry: every type but `time-series`. */
export type ValueType = Exclude<TopicType, "time-series">;

/** The value types, in table order. */
export const VALUE_TYPES = [
  "json",
  "string",
  "binary",
  "int64",
  "double",
] as const satisfies readonly ValueType[];

/** The values of {@link Retention}, in table order. */
export const RETENTIONS = ["always", "mqtt", "never"] as const;

/**
 * What an update does to a topic's stored value:
 * - `always`: every update becomes the value (default for topics the SDK creates);
 * - `mqtt`: only retained publishes set the value, an empty retained payload clears it (default for
 *   topics that MQTT publishes create);
 * - `never`: updates flow to subscribers but no value is kept.
 */
export type Retention = (typeof RETENTIONS)[number];

/** When a topic removes itself. */
export interface RemovalPolicy {
  /** Remove the topic once it has had no subscribers and no updates for this many milliseconds. */
  idleMs: number;
  /** Only while it has no stored value (e.g. never-retained MQTT topics). Default true. */
  onlyWithoutValue?: boolean;
}

/** Properties of a topic specification. All are optional; defaults are listed on each. */
export interface TopicProperties {
  /** See {@link Retention}. Default `always`. */
  retention?: Retention;
  /**
   * Kept across restarts by the server's store (docs/durability.md), and a write to it is answered
   * only once committed. Default true. A topic with `mqtt` retention is kept only while it holds a
   * retained value.
   */
  persistent?: boolean;
  /** Check every update against the type (always done for non-binary types). Default true. */
  validateValues?: boolean;
  /** When the topic removes itself. Default: never. */
  removal?: RemovalPolicy;
  /** Principal that owns the topic. */
  owner?: string;
  /** For `time-series`: the type of each event's value. */
  eventType?: ValueType;
  /** For `time-series`: how many events (`count`) or how long (`durationMs`) to keep. */
  retainedRange?: {
    /** Keep at most this many events. */
    count?: number;
    /** Keep events for at most this many milliseconds. */
    durationMs?: number;
  };
  /**
   * For `time-series`: which recent events a new subscriber receives before the new ones: the last
   * `n` (a number), or `{ count?, durationMs? }`: the last `count` that are at most `durationMs` old.
   * Default 1. See docs/timeseries.md (at most 1000 events; 64 for a duration without a count).
   */
  subscriptionRange?: number | SubscriptionRange;
}

/** Which recent events of a time series a new subscriber receives (see {@link TopicProperties}). */
export interface SubscriptionRange {
  /** At most this many of the newest events. */
  count?: number;
  /** Only events at most this many milliseconds old. */
  durationMs?: number;
}

/** A topic's type plus its properties. */
export interface TopicSpecification {
  /** The topic type. */
  type: TopicType;
  /** Its properties. */
  properties?: TopicProperties;
}

/*
 * The schemas that guard a specification on the wire (frames.ts uses them). The interfaces above are
 * the definition, with their documentation (which inferred types lose in the published .d.ts files);
 * each schema is typed as its interface, so what it parses IS that interface (no casts at its users),
 * and the `_Exactly…` aliases fail the build when a field is added to, removed from or retyped in one
 * and not the other. The schemas add the ranges (positive, integer); `normaliseSpecification` checks
 * what spans fields (a time series needs an `eventType`, only a time series may have one).
 */

/** True when A and B are the same type (not merely assignable either way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Assert<T extends true> = T;

const removalPolicyShape = z.strictObject({
  idleMs: z.number().positive(),
  onlyWithoutValue: z.boolean().optional(),
});
type _ExactlyRemovalPolicy = Assert<Same<z.output<typeof removalPolicyShape>, RemovalPolicy>>;

const topicPropertiesShape = z.strictObject({
  retention: z.enum(RETENTIONS).optional(),
  persistent: z.boolean().optional(),
  validateValues: z.boolean().optional(),
  removal: removalPolicyShape.optional(),
  owner: z.string().optional(),
  eventType: z.enum(VALUE_TYPES).optional(),
  retainedRange: z
    .strictObject({
      count: z.number().int().positive().optional(),
      durationMs: z.number().positive().optional(),
    })
    .optional(),
  subscriptionRange: z
    .union([
      z.number().int().nonnegative(),
      z.strictObject({
        count: z.number().int().nonnegative().optional(),
        durationMs: z.number().positive().optional(),
      }),
    ])
    .optional(),
});
type _ExactlyTopicProperties = Assert<Same<z.output<typeof topicPropertiesShape>, TopicProperties>>;

const topicSpecificationShape = z.strictObject({
  type: z.enum(TOPIC_TYPES),
  properties: topicPropertiesShape.optional(),
});
type _ExactlyTopicSpecification = Assert<Same<z.output<typeof topicSpecificationShape>, TopicSpecification>>;

/** The schema of a {@link TopicSpecification}: what guards one on the wire. */
export const topicSpecificationSchema: z.ZodType<TopicSpecification> = topicSpecificationShape;

/** True when `value` names a topic type. */
export function isTopicType(value: unknown): value is TopicType {
  return typeof value === "string" && (TOPIC_TYPES as readonly string[]).includes(value);
}

/**
 * Checks a specification and returns it with defaults filled in.
 * @throws SkeinError `INVALID_SPECIFICATION`
 */
export function normaliseSpecification(spec: TopicSpecification): TopicSpecification {
  if (!isTopicType(spec.type))
    throw new SkeinError("INVALID_SPECIFICATION", `unknown topic type ${String(spec.type)}`);
  const p = spec.properties ?? {};
  if (p.retention !== undefined && !(RETENTIONS as readonly string[]).includes(p.retention)) {
    throw new SkeinError("INVALID_SPECIFICATION", `unknown retention ${String(p.retention)}`);
  }
  if (spec.type === "time-series") {
    if (p.eventType === undefined || !(VALUE_TYPES as readonly string[]).includes(p.eventType)) {
      throw new SkeinError(
        "INVALID_SPECIFICATION",
        "time-series topics need an eventType (json, string, ...)",
      );
    }
  } else if (p.eventType !== undefined) {
    throw new SkeinError("INVALID_SPECIFICATION", "eventType is only for time-series topics");
  }
  if (p.removal !== undefined && !(Number.isFinite(p.removal.idleMs) && p.removal.idleMs > 0)) {
    throw new SkeinError("INVALID_SPECIFICATION", "removal.idleMs must be a positive number");
  }
  return { type: spec.type, properties: { retention: "always", persistent: true, ...p } };
}

/** Structural equality of two (normalised) specifications. */
export function specificationsEqual(a: TopicSpecification, b: TopicSpecification): boolean {
  return a.type === b.type && stableJson(a.properties ?? {}) === stableJson(b.properties ?? {});
}

function stableJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "undefined";
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(",")}}`;
}
