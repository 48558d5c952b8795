/**
 * The `security.jwt` configuration section (issue 14 §3): how the built-in JWT authenticator verifies
 * tokens and maps their claims onto a session. Kept apart from config.ts so the security model's own
 * section can take it in as one key.
 */
import { z } from "zod";

/** Algorithms the JWT authenticator accepts (RFC 7518 §3.1). */
export const JWT_ALGORITHMS = ["HS256", "RS256", "ES256"] as const;

/** The `security.jwt` schema. */
export const jwtConfigSchema = z
  .object({
    /** The one algorithm tokens must be signed with; a token with another `alg` is refused. */
    algorithm: z.enum(JWT_ALGORITHMS),
    /**
     * HS256: the shared secret (UTF-8), at least 32 bytes: RFC 7518 §3.2 requires a key at least as
     * long as the hash output (256 bits).
     */
    secret: z
      .string()
      .refine((s) => new TextEncoder().encode(s).length >= 32, "must be at least 32 bytes (RFC 7518 §3.2)")
      .optional(),
    /** RS256/ES256: PEM file of the public key (SPKI, `BEGIN PUBLIC KEY`) or of a certificate. */
    keyFile: z.string().min(1).optional(),
    /** RS256/ES256: a JWKS file (`{"keys": [...]}`); the token's `kid` picks the key. */
    jwksFile: z.string().min(1).optional(),
    /** When set, the token's `iss` must equal it. */
    issuer: z.string().min(1).optional(),
    /** When set, the token's `aud` must contain it. */
    audience: z.string().min(1).optional(),
    /** Claim naming the principal. */
    principalClaim: z.string().min(1).default("sub"),
    /** Claim holding the roles: an array of strings, or one string of names separated by spaces or commas. */
    rolesClaim: z.string().min(1).default("roles"),
    /** Session properties set from claims: property name (no `$`) -> claim name. */
    properties: z
      .record(
        z.string().min(1).regex(/^[^$]/, "session property names set from claims must not start with $"),
        z.string().min(1),
      )
      .default({}),
    /** Refuse tokens without `exp` (a token that never expires cannot be taken back). */
    requireExpiry: z.boolean().default(true),
    /** Leeway for `exp` and `nbf` against the server's clock (s). */
    clockToleranceSec: z.number().int().min(0).max(300).default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    const keys = [c.secret, c.keyFile, c.jwksFile].filter((k) => k !== undefined).length;
    if (c.algorithm === "HS256" && (c.secret === undefined || keys !== 1))
      ctx.addIssue({ code: "custom", message: "HS256 needs `secret` (and no keyFile or jwksFile)" });
    if (c.algorithm !== "HS256" && (c.secret !== undefined || keys !== 1))
      ctx.addIssue({ code: "custom", message: `${c.algorithm} needs exactly one of keyFile or jwksFile` });
  });

/** The `security.jwt` section with defaults filled in. */
export type JwtConfig = z.output<typeof jwtConfigSchema>;
