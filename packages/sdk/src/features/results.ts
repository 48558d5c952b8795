/**
 * Checks of `result` values: the server's answers are validated like every other input, so a server
 * bug surfaces as a `PROTOCOL_ERROR`, not as a wrong value in the application.
 *
 * @module
 */
import { SkeinError } from "@skein/protocol";
import type { RequestFrame, RequestOptions, ServerLimits } from "../channel.js";

/** Sends a request and waits for its result value; the link behind a session. */
export interface Requester {
  /** Sends a frame (its id is assigned) and waits for its result value. */
  request(frame: RequestFrame, what?: string, options?: RequestOptions): Promise<unknown>;
  /** Sends a frame whose result nobody awaits; `onError` hears its failure. */
  post(frame: RequestFrame, what: string, onError: (err: SkeinError) => void): void;
  /** The limits the server announced in its welcome (protocol 2), if any. */
  readonly serverLimits?: ServerLimits | undefined;
}

function unexpected(what: string, value: unknown): SkeinError {
  return new SkeinError(
    "PROTOCOL_ERROR",
    `unexpected result of ${what}: ${JSON.stringify(value) ?? "undefined"}`,
  );
}

/** The `{ created }` of an add_topic or set result. A result without a value counts as not created. */
export function createdOf(what: string, value: unknown): { created: boolean } {
  if (value === undefined || value === null) return { created: false };
  const created = (value as { created?: unknown }).created;
  if (typeof created !== "boolean") throw unexpected(what, value);
  return { created };
}

/** A number result (remove_topics: how many were removed). */
export function numberOf(what: string, value: unknown): number {
  if (typeof value !== "number") throw unexpected(what, value);
  return value;
}

/** A boolean result (lock acquired, unlock released). */
export function booleanOf(what: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw unexpected(what, value);
  return value;
}
