/**
 * The built-in JWT authenticator (issue 14 §3): a password that is a JWT (the MQTT CONNECT password,
 * the SDK hello's password) is verified with jose against the configured key; its claims name the
 * principal, its roles and session properties, and its `exp` closes the session when it passes. A
 * password that is not a JWT is left to the next authenticator (abstain); a JWT that fails verification
 * (signature, algorithm, expiry, not-before, issuer, audience, missing principal) is refused as
 * `bad_credentials`.
 */
import { webcrypto } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
  createLocalJWKSet,
  decodeProtectedHeader,
  importSPKI,
  importX509,
  jwtVerify,
} from "jose";
import { ConfigError } from "../config-error.js";
import type { Clock } from "../core/ports.js";
import type { AuthenticationResult, Authenticator, Credentials } from "../core/security/types.js";
import type { JwtConfig } from "./jwt-config.js";

/** What a token is verified with. */
type VerificationKey = Uint8Array | CryptoKey | JWTVerifyGetKey;

/** Three base64url parts: header.payload.signature (RFC 7515 §7.1). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const BAD_CREDENTIALS: AuthenticationResult = { decision: "deny", reason: "bad_credentials" };
const ABSTAIN: AuthenticationResult = { decision: "abstain" };
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Verifies JWT passwords; see the module comment. */
export class JwtAuthenticator implements Authenticator {
  private key: Promise<VerificationKey> | undefined;

  /** @param clock - the server's clock: `exp` and `nbf` are judged against its time */
  constructor(
    private readonly config: JwtConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Reads the key file or JWKS file; `listen()` calls it so a missing or bad file stops start-up.
   * @throws ConfigError naming the file and what is wrong with it
   */
  async load(): Promise<void> {
    await (this.key ??= loadKey(this.config));
  }

  /** Authenticator: see the module comment. */
  async authenticate(credentials: Credentials): Promise<AuthenticationResult> {
    const token = tokenOf(credentials.password);
    if (token === undefined) return ABSTAIN;
    const c = this.config;
    const key = await (this.key ??= loadKey(c));
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: [c.algorithm],
        issuer: c.issuer,
        audience: c.audience,
        currentDate: new Date(this.clock.now()),
        clockTolerance: c.clockToleranceSec,
        requiredClaims: c.requireExpiry ? ["exp"] : [],
      };
      ({ payload } =
        typeof key === "function"
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options));
    } catch {
      // Bad signature, wrong algorithm, expired, not yet valid, wrong issuer or audience, no such kid.
      return BAD_CREDENTIALS;
    }
    const principal = payload[c.principalClaim];
    if (typeof principal !== "string" || principal === "") return BAD_CREDENTIALS;
    const properties: Record<string, string> = {};
    for (const [name, claim] of Object.entries(c.properties)) {
      const value = scalar(payload[claim]);
      if (value !== undefined) properties[name] = value;
    }
    return {
      decision: "allow",
      principal,
      roles: rolesOf(payload[c.rolesClaim]),
      properties,
      expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000,
    };
  }
}

/** The password as a compact JWS when it looks like one (a JOSE header with `alg`), else undefined. */
function tokenOf(password: string | Uint8Array | undefined): string | undefined {
  if (password === undefined) return undefined;
  let text: string;
  try {
    text = typeof password === "string" ? password : utf8.decode(password);
  } catch {
    return undefined;
  }
  if (text.length > 16_384 || !COMPACT_JWS.test(text)) return undefined;
  try {
    return typeof decodeProtectedHeader(text).alg === "string" ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Roles from a claim: an array of strings, or one string separated by spaces or commas. */
function rolesOf(claim: unknown): readonly string[] | undefined {
  if (typeof claim === "string") return claim.split(/[\s,]+/).filter((r) => r !== "");
  if (Array.isArray(claim)) return claim.filter((r): r is string => typeof r === "string" && r !== "");
  return undefined;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

async function loadKey(c: JwtConfig): Promise<VerificationKey> {
  if (c.algorithm === "HS256") {
    // Imported once: given raw bytes, jose would import the key on every verification (about twice
    // the cost of a verification with the imported key, measured here).
    const secret = new TextEncoder().encode(c.secret);
    const usage: ["verify"] = ["verify"];
    return webcrypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, usage);
  }
  const file = (c.keyFile ?? c.jwksFile) as string;
  const setting = c.keyFile !== undefined ? "security.jwt.keyFile" : "security.jwt.jwksFile";
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${(err as Error).message}`, err);
  }
  try {
    if (c.jwksFile !== undefined) {
      return createLocalJWKSet(JSON.parse(text) as Parameters<typeof createLocalJWKSet>[0]);
    }
    return text.includes("BEGIN CERTIFICATE")
      ? await importX509(text, c.algorithm)
      : await importSPKI(text, c.algorithm);
  } catch (err) {
    throw new ConfigError(
      `${setting}: ${file} is not a ${c.jwksFile !== undefined ? "JWKS" : "PEM public key or certificate"} for ${c.algorithm}: ${(err as Error).message}`,
      err,
    );
  }
}
