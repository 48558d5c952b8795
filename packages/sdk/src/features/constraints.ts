/**
 * Update constraints (DESIGN §2): conditions on a topic's current state that an update requires. Each
 * builder returns an {@link UpdateConstraint} holding the wire {@link Constraint} of `frames.ts`; when
 * one fails, the update fails with that constraint's error code.
 *
 * | builder | holds when | fails with |
 * | --- | --- | --- |
 * | `noValue()` | the topic has no value (or does not exist) | `CONSTRAINT_NO_VALUE` |
 * | `noTopic()` | the topic does not exist | `CONSTRAINT_NO_TOPIC` |
 * | `valueEquals(type, v)` | the topic's value is `v` (same bytes) | `CONSTRAINT_VALUE_MISMATCH` |
 * | `jsonPointer(p).equals(v)` / `.absent()` | a json topic's value has `v` at `p` / nothing at `p` | `CONSTRAINT_PARTIAL_JSON` |
 * | `locked(lock)` | this session holds the lock | `CONSTRAINT_LOCKED` |
 * | `a.and(b, …)` | all of them hold | the first failure's code |
 *
 * @module
 */
import { type Constraint, SkeinError, type ValueType } from "@skein/protocol";
import { type InputValueOf, encodeValue } from "../values.js";

/** A constraint on an update. Combine with {@link UpdateConstraint.and}. */
export interface UpdateConstraint {
  /** The constraint as it travels. */
  readonly wire: Constraint;
  /** A constraint that holds when this one and every one of `others` hold. */
  and(...others: UpdateConstraint[]): UpdateConstraint;
}

/** Something that names a lock: its name, or a lock handle from `session.acquireLock`. */
export type LockRef =
  | string
  | {
      /** The lock's name. */
      readonly name: string;
    };

/** The conditions on one JSON pointer of a json topic's value. */
export interface JsonPointerConstraints {
  /** Holds when the value at the pointer equals `value` (JSON equality: object key order ignored). */
  equals(value: unknown): UpdateConstraint;
  /** Holds when the pointer selects nothing. */
  absent(): UpdateConstraint;
}

/** The most constraints one conjunction may hold (as the wire schema allows). */
const MAX_AND = 16;

function make(wire: Constraint): UpdateConstraint {
  return {
    wire,
    and: (...others) => and(make(wire), ...others),
  };
}

function and(...all: UpdateConstraint[]): UpdateConstraint {
  if (all.length === 0) throw new SkeinError("INVALID_ARGUMENT", "and() needs at least one constraint");
  // Nested conjunctions are flattened: a.and(b).and(c) is and(a, b, c).
  const flat = all.flatMap((c) => (c.wire.kind === "and" ? c.wire.constraints : [c.wire]));
  if (flat.length > MAX_AND) {
    throw new SkeinError("INVALID_ARGUMENT", `a conjunction holds at most ${MAX_AND} constraints`);
  }
  return flat.length === 1 ? make(flat[0]!) : make({ kind: "and", constraints: flat });
}

function checkPointer(pointer: string): string {
  if (typeof pointer !== "string" || (pointer !== "" && !pointer.startsWith("/"))) {
    throw new SkeinError(
      "INVALID_ARGUMENT",
      `a JSON pointer is "" or starts with "/": ${JSON.stringify(pointer)}`,
    );
  }
  return pointer;
}

/**
 * The constraint builders.
 *
 * @example
 * ```ts
 * import { constraints } from "@skein/sdk";
 * // Create-if-absent:
 * await session.set("config/mode", "string", "auto", { constraint: constraints.noValue() });
 * // Compare-and-set on a json document, while holding a lock:
 * const lock = await session.acquireLock("config");
 * await session.set("config/doc", "json", { v: 2 }, {
 *   constraint: constraints.jsonPointer("/v").equals(1).and(constraints.locked(lock)),
 * });
 * ```
 */
export const constraints = {
  /** Holds when the topic has no value (a missing topic has none). */
  noValue: (): UpdateConstraint => make({ kind: "no-value" }),

  /** Holds when the topic does not exist (use with `topics.addAndSet`). */
  noTopic: (): UpdateConstraint => make({ kind: "no-topic" }),

  /** Holds when the topic's value is `value` of type `type` (compared as bytes). */
  valueEquals: <T extends ValueType>(type: T, value: InputValueOf[T]): UpdateConstraint =>
    make({ kind: "value-equals", value: encodeValue(type, value) }),

  /** Conditions on the part of a json topic's value that RFC 6901 `pointer` selects. */
  jsonPointer: (pointer: string): JsonPointerConstraints => {
    checkPointer(pointer);
    return {
      equals: (value) =>
        make({ kind: "partial-json", conditions: [{ pointer, equals: encodeValue("json", value) }] }),
      absent: () => make({ kind: "partial-json", conditions: [{ pointer, absent: true }] }),
    };
  },

  /** Holds when this session holds `lock` (see `session.acquireLock`). */
  locked: (lock: LockRef): UpdateConstraint => {
    const name = typeof lock === "string" ? lock : lock.name;
    if (!name) throw new SkeinError("INVALID_ARGUMENT", "a lock name is not empty");
    return make({ kind: "locked", lock: name });
  },

  /** Holds when every one of `all` holds. */
  and,
} as const;
