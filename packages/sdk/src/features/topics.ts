/**
 * Topic management: add, remove, add-and-set (`session.topics`).
 *
 * @module
 */
import {
  type TopicSpecification,
  type ValueType,
  checkPath,
  normaliseSpecification,
  parseSelector,
} from "@skein/protocol";
import { type InputValueOf, checkValueType, encodeValue } from "../values.js";
import type { UpdateConstraint } from "./constraints.js";
import { type Requester, createdOf, numberOf } from "./results.js";

/** A topic specification of a value type `T`. */
export interface ValueTopicSpecification<T extends ValueType> extends TopicSpecification {
  /** The topic's (value) type. */
  type: T;
}

/** What adding a topic did. */
export interface AddTopicResult {
  /** True when the topic was added; false when it existed already (with an equal specification). */
  created: boolean;
}

/** Options of {@link TopicsFeature.addAndSet}. */
export interface AddAndSetOptions {
  /** A constraint the update requires (e.g. `constraints.noTopic()`). */
  constraint?: UpdateConstraint;
}

/** Adding and removing topics. */
export class TopicsFeature {
  /** @internal */
  constructor(private readonly link: Requester) {}

  /**
   * Adds a topic. An existing topic with an equal specification is left as it is (`created: false`).
   *
   * @example
   * ```ts
   * const { created } = await session.topics.add("sensors/room1/temp", { type: "double" });
   * ```
   * @throws SkeinError `TOPIC_EXISTS_MISMATCH` when the topic exists with a different specification;
   *   `INVALID_PATH`, `INVALID_SPECIFICATION`, `NOT_AUTHORIZED`
   */
  async add(path: string, spec: TopicSpecification): Promise<AddTopicResult> {
    checkPath(path);
    normaliseSpecification(spec);
    return createdOf("add", await this.link.request({ type: "add_topic", path, spec }, `add ${path}`));
  }

  /**
   * Removes every topic `selector` selects; resolves with how many were removed. Value streams holding
   * them hear `onUnsubscribe(path, "removed")`.
   * @throws SkeinError `INVALID_SELECTOR`, `NOT_AUTHORIZED`
   */
  async remove(selector: string): Promise<number> {
    parseSelector(selector);
    return numberOf(
      "remove",
      await this.link.request({ type: "remove_topics", selector }, `remove ${selector}`),
    );
  }

  /**
   * Sets the value of a topic, adding it with `spec` first when it does not exist; `created` says
   * whether it was added.
   *
   * @example
   * ```ts
   * await session.topics.addAndSet("config/limits", { type: "json" }, { max: 10 });
   * ```
   * @throws SkeinError `TOPIC_EXISTS_MISMATCH`, `TOPIC_TYPE_MISMATCH`, a constraint's code, …
   */
  async addAndSet<T extends ValueType>(
    path: string,
    spec: ValueTopicSpecification<T>,
    value: InputValueOf[T],
    options: AddAndSetOptions = {},
  ): Promise<AddTopicResult> {
    checkPath(path);
    normaliseSpecification(spec);
    const valueType = checkValueType(spec.type);
    const frame = {
      type: "set" as const,
      path,
      valueType,
      value: encodeValue(valueType, value),
      spec,
      constraint: options.constraint?.wire, // undefined: left out of the frame
    };
    return createdOf("addAndSet", await this.link.request(frame, `addAndSet ${path}`));
  }
}
