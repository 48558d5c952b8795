/**
 * A short-lived memory of successful password checks, so that a fleet of devices reconnecting with the
 * same credentials (after a network blip or a server restart) pays scrypt once per principal, not
 * once per connection: with N = 2^14 a verification costs about 50 ms of CPU, so 10,000 devices
 * coming back at once would otherwise keep a core busy for eight minutes.
 *
 * What is kept is an HMAC-SHA256 of the password under a random key made at start-up and never
 * written anywhere, filed under the stored hash it matched. A later check of the same hash with a
 * password of the same HMAC succeeds at once; anything else (another password, an expired or evicted
 * entry) runs the full scrypt verification, so a wrong password costs what it always did and the
 * throttling of failed logins is unchanged. A new password means a new stored hash (new salt), so
 * a changed password is never matched against the old entry; a removed principal has no stored hash
 * left to look up.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { PasswordHasher } from "../core/security/model.js";

/** Bounds of {@link rememberVerifiedLogins}. */
export interface VerifiedLoginOptions {
  /** How long a successful check is remembered (ms); 0 turns the memory off. */
  readonly ttlMs: number;
  /** Most entries kept (one per stored hash); the oldest is dropped first. */
  readonly maxEntries: number;
  /** Clock in ms (tests pass a fake one). */
  readonly now?: () => number;
}

interface Entry {
  readonly digest: Buffer;
  readonly expiresAt: number;
}

/**
 * Wraps `inner` so that a successful {@link PasswordHasher.verify} is remembered for
 * `options.ttlMs`. Hashing is passed through unchanged.
 */
export function rememberVerifiedLogins(inner: PasswordHasher, options: VerifiedLoginOptions): PasswordHasher {
  if (options.ttlMs <= 0 || options.maxEntries <= 0) return inner;
  const key = randomBytes(32);
  const now = options.now ?? Date.now;
  // Insertion order is age order: a hit is re-inserted, so the first key is the least recently used.
  const entries = new Map<string, Entry>();
  const digestOf = (password: string) => createHmac("sha256", key).update(password, "utf8").digest();
  return {
    hash: (password) => inner.hash(password),
    async verify(password, encoded) {
      const known = entries.get(encoded);
      if (known !== undefined) {
        if (known.expiresAt > now() && timingSafeEqual(digestOf(password), known.digest)) return true;
        if (known.expiresAt <= now()) entries.delete(encoded);
      }
      const ok = await inner.verify(password, encoded);
      if (ok) {
        entries.delete(encoded);
        entries.set(encoded, { digest: digestOf(password), expiresAt: now() + options.ttlMs });
        if (entries.size > options.maxEntries) {
          const oldest = entries.keys().next();
          if (oldest.done !== true) entries.delete(oldest.value);
        }
      }
      return ok;
    },
  };
}
