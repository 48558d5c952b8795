/**
 * Update constraints (DESIGN §2): conditions on a topic's current state that an update requires.
 * Each failure has its own error code.
 */
import { type Constraint, SkeinError, jsonCodec } from "@skein/protocol";
import type { LockRegistry } from "./locks.js";
import type { Topic } from "./types.js";

/**
 * Throws the constraint's error code when `constraint` does not hold for `topic` (undefined when the
 * topic does not exist) and the updating session.
 */
export function checkConstraint(
  constraint: Constraint,
  topic: Topic | undefined,
  sessionId: string,
  locks: LockRegistry,
): void {
  switch (constraint.kind) {
    case "no-topic":
      if (topic) throw new SkeinError("CONSTRAINT_NO_TOPIC", `topic ${topic.path} exists`);
      return;
    case "no-value":
      if (topic?.value) throw new SkeinError("CONSTRAINT_NO_VALUE", `topic ${topic.path} has a value`);
      return;
    case "value-equals":
      if (!topic?.value || !bytesEqual(topic.value.payload, constraint.value)) {
        throw new SkeinError("CONSTRAINT_VALUE_MISMATCH", "the topic's value is not the expected one");
      }
      return;
    case "partial-json":
      return checkPartialJson(constraint.conditions, topic);
    case "locked":
      if (locks.holder(constraint.lock) !== sessionId) {
        throw new SkeinError("CONSTRAINT_LOCKED", `the session does not hold lock ${constraint.lock}`);
      }
      return;
    case "and":
      for (const c of constraint.constraints) checkConstraint(c, topic, sessionId, locks);
      return;
  }
}

function checkPartialJson(
  conditions: Extract<Constraint, { kind: "partial-json" }>["conditions"],
  topic: Topic | undefined,
): void {
  if (!topic?.value || topic.spec.type !== "json") {
    throw new SkeinError(
      "CONSTRAINT_PARTIAL_JSON",
      "partial JSON constraints need a json topic with a value",
    );
  }
  const doc = jsonCodec.fromBytes(topic.value.payload);
  for (const c of conditions) {
    const found = resolvePointer(doc, c.pointer);
    if ("absent" in c) {
      if (found.present) throw new SkeinError("CONSTRAINT_PARTIAL_JSON", `${c.pointer} is present`);
    } else {
      const expected = jsonCodec.fromBytes(c.equals);
      if (!found.present || !jsonEqual(found.value, expected)) {
        throw new SkeinError("CONSTRAINT_PARTIAL_JSON", `${c.pointer} does not equal the expected value`);
      }
    }
  }
}

/** Resolves an RFC 6901 JSON pointer. */
export function resolvePointer(doc: unknown, pointer: string): { present: boolean; value?: unknown } {
  if (pointer === "") return { present: true, value: doc };
  if (!pointer.startsWith("/"))
    throw new SkeinError("INVALID_ARGUMENT", `JSON pointer must start with /: ${pointer}`);
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(key) || Number(key) >= node.length) return { present: false };
      node = node[Number(key)];
    } else if (node !== null && typeof node === "object" && Object.hasOwn(node, key)) {
      node = (node as Record<string, unknown>)[key];
    } else {
      return { present: false };
    }
  }
  return { present: true, value: node };
}

/** Structural equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ak = Object.keys(a);
  const bo = b as Record<string, unknown>;
  return (
    ak.length === Object.keys(bo).length &&
    ak.every((k) => Object.hasOwn(bo, k) && jsonEqual((a as Record<string, unknown>)[k], bo[k]))
  );
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
