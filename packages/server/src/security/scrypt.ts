/**
 * The server's {@link PasswordHasher}: scrypt from node:crypto, run on libuv's thread pool so that a
 * login never blocks the event loop. A hash is encoded as
 * `scrypt$<log2 N>$<r>$<p>$<salt, base64>$<key, base64>`, so parameters can grow without invalidating
 * the hashes already kept.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { PasswordHasher } from "../core/security/model.js";

/** scrypt cost parameters. */
export interface ScryptParameters {
  /** log2 of the CPU/memory cost N (14: N = 16384, 16 MiB with r = 8). */
  readonly logN: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** The default: N = 2^14, r = 8, p = 1 (the parameters RFC 7914 and OWASP name for interactive logins). */
export const DEFAULT_SCRYPT: ScryptParameters = { logN: 14, r: 8, p: 1 };

const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Largest log2 N a stored hash may ask for (a hash is read from the store: bound the work it costs). */
const MAX_LOG_N = 20;

function derive(password: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) =>
    scrypt(
      password,
      salt,
      KEY_BYTES,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

/** An scrypt {@link PasswordHasher} with `params` for new hashes (existing ones keep theirs). */
export function scryptHasher(params: ScryptParameters = DEFAULT_SCRYPT): PasswordHasher {
  return {
    async hash(password) {
      const salt = randomBytes(SALT_BYTES);
      const key = await derive(password, salt, params);
      return `scrypt$${params.logN}$${params.r}$${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
    },
    async verify(password, encoded) {
      const parts = encoded.split("$");
      if (parts.length !== 6 || parts[0] !== "scrypt") return false;
      const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
      if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > MAX_LOG_N || r > 32 || p > 16)
        return false;
      const salt = Buffer.from(parts[4] as string, "base64");
      const expected = Buffer.from(parts[5] as string, "base64");
      if (expected.length !== KEY_BYTES) return false;
      try {
        return timingSafeEqual(await derive(password, salt, { logN, r, p }), expected);
      } catch {
        return false;
      }
    },
  };
}
