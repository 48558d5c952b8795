/**
 * Topic types and topic specifications (DESIGN §2).
 *
 * @module
 */
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

/**
 * What an update does to a topic's stored value:
 * - `always`: every update becomes the value (default for topics the SDK creates);
 * - `mqtt`: only retained publishes set the value, an empty retained payload clears it (default for
 *   topics that MQTT publishes create);
 * - `never`: updates flow to subscribers but no value is kept.
 */
export type Retention = "always" | "mqtt" | "never";

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
  /** Kept across restarts (with a persistent store). Default false. */
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
  /** For `time-series`: how many recent events a new subscriber receives. Default 1. */
  subscriptionRange?: number;
}

/** A topic's type plus its properties. */
export interface TopicSpecification {
  /** The topic type. */
  type: TopicType;
  /** Its properties. */
  properties?: TopicProperties;
}

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
  if (p.retention !== undefined && !["always", "mqtt", "never"].includes(p.retention)) {
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
  return { type: spec.type, properties: { retention: "always", ...p } };
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
