/**
 * Setting topic values (`session.set`), with an optional constraint.
 *
 * @module
 */
import { type ValueType, checkPath } from "@skein/protocol";
import { type InputValueOf, checkValueType, encodeValue } from "../values.js";
import type { UpdateConstraint } from "./constraints.js";
import type { Requester } from "./results.js";

/** Options of `session.set`. */
export interface SetOptions {
  /** A constraint the update requires; the update fails with the constraint's error code otherwise. */
  constraint?: UpdateConstraint;
}

/**
 * Sets the value of the existing topic `path`. `type` must be the topic's type (the server refuses
 * another with `TOPIC_TYPE_MISMATCH`), and `value` a value of `type` (else `INVALID_ARGUMENT` before
 * anything is sent).
 * @throws SkeinError `TOPIC_NOT_FOUND`, `TOPIC_TYPE_MISMATCH`, `INVALID_ARGUMENT`, a constraint's code,
 *   `NOT_AUTHORIZED`
 */
export async function setValue<T extends ValueType>(
  link: Requester,
  path: string,
  type: T,
  value: InputValueOf[T],
  options: SetOptions = {},
): Promise<void> {
  checkPath(path);
  const valueType = checkValueType(type);
  await link.request(
    {
      type: "set",
      path,
      valueType,
      value: encodeValue(valueType, value),
      constraint: options.constraint?.wire, // undefined: left out of the frame
    },
    `set ${path}`,
  );
}
