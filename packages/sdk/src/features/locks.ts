/**
 * Session locks: named locks a session holds until it releases them or closes (the server releases
 * them then). The `locked` update constraint makes an update require one.
 *
 * @module
 */
import { SkeinError } from "@skein/protocol";
import { type Requester, booleanOf } from "./results.js";

/** A lock this session asked for. */
export interface SessionLock {
  /** The lock's name. */
  readonly name: string;
  /**
   * True when the session got the lock; false when another session holds it (the handle can still be
   * used to try again with `session.acquireLock(lock.name)`).
   */
  readonly acquired: boolean;
  /** Releases the lock; resolves with true when the session held it. */
  release(): Promise<boolean>;
}

/**
 * Asks for lock `name`. Does not wait for another holder: `acquired` says whether the session got it
 * (re-acquiring a lock the session holds succeeds).
 * @throws SkeinError `INVALID_ARGUMENT` for an empty name, `NOT_AUTHORIZED`
 */
export async function acquireLock(link: Requester, name: string): Promise<SessionLock> {
  if (typeof name !== "string" || name.length === 0 || name.length > 256) {
    throw new SkeinError("INVALID_ARGUMENT", "a lock name has 1 to 256 characters");
  }
  const acquired = booleanOf("acquireLock", await link.request({ type: "lock", name }, `lock ${name}`));
  return {
    name,
    acquired,
    release: async () => booleanOf("release", await link.request({ type: "unlock", name }, `unlock ${name}`)),
  };
}
