/**
 * Fetching topics (and their values) without selecting them, with paging by path order.
 *
 * @module
 */
import {
  type FetchedTopic,
  SkeinError,
  type TopicSpecification,
  type TopicType,
  type ValueType,
  TOPIC_TYPES,
  fetchedTopicSchema,
  parseSelector,
} from "@skein/protocol";
import { type ValueOf, decodeValue, isValueType } from "../values.js";
import type { Requester } from "./results.js";

/** Options of `session.fetch`. Paging is by path order: `first`/`after` pages forward, `last`/`before` backward. */
export interface FetchOptions {
  /** Include the topics' values. Default false. */
  withValues?: boolean;
  /** Only topics of these types. */
  types?: TopicType[];
  /** At most this many topics, the first in path order (1 to 10000). */
  first?: number;
  /** At most this many topics, the last in path order (1 to 10000). */
  last?: number;
  /** Only topics whose path sorts after this one. */
  after?: string;
  /** Only topics whose path sorts before this one. */
  before?: string;
}

/** A fetched topic of type `T`. */
export interface FetchedTopicOf<T extends TopicType, TValue> {
  /** The topic's path. */
  path: string;
  /** Its specification. */
  spec: TopicSpecification;
  /** Its type (`spec.type`): narrow on it to type `value`. */
  type: T;
  /** Its value, when asked for (`withValues`) and it has one. */
  value?: TValue;
}

/** A fetched topic of a value type, its value typed by the topic's type. */
export type FetchedValueTopic = { [T in ValueType]: FetchedTopicOf<T, ValueOf[T]> }[ValueType];

/** A fetched time series topic (its value is not decoded yet: the bytes as the server holds them). */
export type FetchedTimeSeriesTopic = FetchedTopicOf<"time-series", Uint8Array>;

/** One fetched topic; narrow on `type` to get a typed `value`. */
export type FetchedTypedTopic = FetchedValueTopic | FetchedTimeSeriesTopic;

/** What `session.fetch` returns. */
export interface FetchResults {
  /** The topics, in path order. */
  topics: FetchedTypedTopic[];
  /** True when more topics match beyond this page. */
  hasMore: boolean;
}

/**
 * Fetches the topics `selector` selects.
 * @throws SkeinError `INVALID_SELECTOR`, `INVALID_ARGUMENT`
 */
export async function fetchTopics(
  link: Requester,
  selector: string,
  options: FetchOptions = {},
): Promise<FetchResults> {
  parseSelector(selector);
  for (const type of options.types ?? []) {
    if (!(TOPIC_TYPES as readonly string[]).includes(type)) {
      throw new SkeinError("INVALID_ARGUMENT", `unknown topic type ${String(type)}`);
    }
  }
  const { withValues, types, first, last, after, before } = options;
  const frame = {
    type: "fetch" as const,
    selector,
    ...(withValues !== undefined && { withValues }),
    ...(types !== undefined && { types }),
    ...(first !== undefined && { first }),
    ...(last !== undefined && { last }),
    ...(after !== undefined && { after }),
    ...(before !== undefined && { before }),
  };
  const value = await link.request(frame, `fetch ${selector}`);
  const raw = value as { topics?: unknown; hasMore?: unknown } | null;
  if (!raw || !Array.isArray(raw.topics) || typeof raw.hasMore !== "boolean") {
    throw new SkeinError("PROTOCOL_ERROR", "unexpected result of fetch");
  }
  return { topics: raw.topics.map(typed), hasMore: raw.hasMore };
}

function typed(item: unknown): FetchedTypedTopic {
  const parsed = fetchedTopicSchema.safeParse(item);
  if (!parsed.success) throw new SkeinError("PROTOCOL_ERROR", "unexpected topic in a fetch result");
  const topic: FetchedTopic = parsed.data;
  const type = topic.spec.type;
  const base = { path: topic.path, spec: topic.spec };
  if (!isValueType(type)) return { ...base, type: "time-series", ...(topic.value && { value: topic.value }) };
  return {
    ...base,
    type,
    ...(topic.value && { value: decodeValue(type, topic.value) }),
  } as FetchedValueTopic;
}
