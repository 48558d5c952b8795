/**
 * The security store's records (DESIGN §7): principals with a password hash and roles, roles with
 * global and path permissions and included roles, and anonymous access. This is what persists through
 * the storage port as one document, and what the initial configuration is turned into.
 *
 * @module
 */
import { z } from "zod";
import {
  type AnonymousSetting,
  GLOBAL_PERMISSIONS,
  PATH_PERMISSIONS,
  type RoleDefinition,
  anonymousSettingSchema,
  roleDefinitionSchema,
  securityNameSchema,
} from "@skein/protocol";

/** A principal as kept: its name, its password hash (see {@link PasswordHasher}) and its roles. */
export interface PrincipalRecord {
  /** The principal's name (MQTT user name, SDK `principal`). */
  readonly name: string;
  /** The encoded password hash; absent: no password logs this principal in. */
  readonly passwordHash?: string | undefined;
  /** The roles its sessions hold. */
  readonly roles: readonly string[];
}

/** The whole security store, as persisted (`Storage.putSecurity`). */
export interface SecurityDocument {
  /** Principals. */
  readonly principals: readonly PrincipalRecord[];
  /** Roles. */
  readonly roles: readonly RoleDefinition[];
  /**
   * Anonymous access when set explicitly (config `security.anonymous` or the SDK); absent: the default
   * of the bind address (docs/security.md "Safe defaults").
   */
  readonly anonymous?: AnonymousSetting | undefined;
}

/**
 * Hashes and checks passwords. The core has no `node:` imports: the server passes an scrypt
 * implementation (`src/security/scrypt.ts`). Both run off the event loop's critical path.
 */
export interface PasswordHasher {
  /** The encoded hash of `password` (with its salt and parameters). */
  hash(password: string): Promise<string>;
  /** True when `password` matches `encoded`; false for a wrong password or an unreadable hash. */
  verify(password: string, encoded: string): Promise<boolean>;
}

/** Name of the built-in role of anonymous sessions on a loopback bind. */
export const ANONYMOUS_ROLE = "anonymous";
/** Name of the built-in role that may do everything. */
export const ADMIN_ROLE = "admin";
/** Name of the principal `SKEIN_ADMIN_PASSWORD` creates at first start. */
export const ADMIN_PRINCIPAL = "admin";

/**
 * The built-in `anonymous` role: publish, subscribe, create topics and request-response everywhere,
 * but no control of other sessions, the server or security (issue 14's safe default).
 */
export const ANONYMOUS_ROLE_DEFINITION: RoleDefinition = {
  name: ANONYMOUS_ROLE,
  global: ["register_handler"],
  paths: { "": [...PATH_PERMISSIONS] },
  includes: [],
};

/** The built-in `admin` role: every permission. */
export const ADMIN_ROLE_DEFINITION: RoleDefinition = {
  name: ADMIN_ROLE,
  global: [...GLOBAL_PERMISSIONS],
  paths: { "": [...PATH_PERMISSIONS] },
  includes: [],
};

/** An empty store: no principals, the built-in roles, anonymous access by the bind's default. */
export function emptySecurityDocument(): SecurityDocument {
  return { principals: [], roles: [ANONYMOUS_ROLE_DEFINITION, ADMIN_ROLE_DEFINITION] };
}

/** True when `host` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`): only this machine reaches it. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/**
 * Anonymous access in effect: the explicit setting, else on a loopback bind the `anonymous` role
 * (unless the configuration names principals: then anonymous access must be asked for), else undefined
 * (a non-loopback bind without an explicit setting: the server must not start, see
 * {@link anonymousProblem}).
 */
export function effectiveAnonymous(
  explicit: AnonymousSetting | undefined,
  host: string,
  configuredPrincipals: number,
): AnonymousSetting | undefined {
  if (explicit !== undefined) return explicit;
  if (!isLoopbackHost(host)) return undefined;
  return configuredPrincipals > 0 ? false : { roles: [ANONYMOUS_ROLE] };
}

/**
 * Why the server must not start: anonymous access on a non-loopback bind that nobody configured (the
 * lesson of Mosquitto 2.0), as one line; undefined when it may start.
 */
export function anonymousProblem(explicit: AnonymousSetting | undefined, host: string): string | undefined {
  if (explicit !== undefined || isLoopbackHost(host)) return undefined;
  return `refusing to start: host ${host} is not a loopback address and security.anonymous is not set; set it to false (credentials required) or to { "roles": [...] } (docs/security.md)`;
}

const principalRecordSchema = z.strictObject({
  name: securityNameSchema,
  passwordHash: z.string().max(1024).optional(),
  roles: z.array(securityNameSchema),
});

/** Schema of a persisted {@link SecurityDocument}. */
const securityDocumentSchema = z.strictObject({
  principals: z.array(principalRecordSchema),
  roles: z.array(roleDefinitionSchema),
  anonymous: anonymousSettingSchema.optional(),
});

/**
 * Reads a persisted security store (JSON), checking its shape.
 * @throws Error naming what is wrong
 */
export function parseSecurityDocument(text: string): SecurityDocument {
  const result = securityDocumentSchema.safeParse(JSON.parse(text));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`security store: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return result.data;
}
