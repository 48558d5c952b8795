import { describe, expect, it } from "vitest";
import type { PasswordHasher } from "../core/security/model.js";
import { rememberVerifiedLogins } from "./verified-logins.js";

/** A hasher whose hash is `h:<password>`, counting its verifications. */
function countingHasher(): PasswordHasher & { verifications: number } {
  const h = {
    verifications: 0,
    hash: (password: string) => Promise.resolve(`h:${password}`),
    verify(password: string, encoded: string) {
      h.verifications++;
      return Promise.resolve(encoded === `h:${password}`);
    },
  };
  return h;
}

describe("rememberVerifiedLogins", () => {
  it("verifies a password once, then remembers the success until the TTL passes", async () => {
    const inner = countingHasher();
    let now = 1_000;
    const hasher = rememberVerifiedLogins(inner, { ttlMs: 100, maxEntries: 10, now: () => now });
    expect(await hasher.verify("pw", "h:pw")).toBe(true);
    expect(await hasher.verify("pw", "h:pw")).toBe(true);
    expect(inner.verifications).toBe(1);
    now += 100;
    expect(await hasher.verify("pw", "h:pw")).toBe(true);
    expect(inner.verifications).toBe(2);
  });

  it("never answers a wrong password from memory, and never remembers a failure", async () => {
    const inner = countingHasher();
    const hasher = rememberVerifiedLogins(inner, { ttlMs: 1_000, maxEntries: 10, now: () => 0 });
    expect(await hasher.verify("pw", "h:pw")).toBe(true);
    expect(await hasher.verify("other", "h:pw")).toBe(false);
    expect(await hasher.verify("other", "h:pw")).toBe(false);
    expect(inner.verifications).toBe(3);
  });

  it("files a success under the hash it matched, so a new hash (a changed password) is verified anew", async () => {
    const inner = countingHasher();
    const hasher = rememberVerifiedLogins(inner, { ttlMs: 1_000, maxEntries: 10, now: () => 0 });
    expect(await hasher.verify("old", "h:old")).toBe(true);
    expect(await hasher.verify("old", "h:new")).toBe(false);
    expect(await hasher.verify("new", "h:new")).toBe(true);
    expect(inner.verifications).toBe(3);
  });

  it("keeps at most maxEntries, dropping the oldest", async () => {
    const inner = countingHasher();
    const hasher = rememberVerifiedLogins(inner, { ttlMs: 1_000, maxEntries: 2, now: () => 0 });
    for (const p of ["a", "b", "c"]) await hasher.verify(p, `h:${p}`);
    expect(inner.verifications).toBe(3);
    await hasher.verify("c", "h:c");
    await hasher.verify("b", "h:b");
    expect(inner.verifications).toBe(3);
    await hasher.verify("a", "h:a");
    expect(inner.verifications).toBe(4);
  });

  it("passes the hasher through unchanged when the TTL is 0", async () => {
    const inner = countingHasher();
    expect(rememberVerifiedLogins(inner, { ttlMs: 0, maxEntries: 10 })).toBe(inner);
  });
});
