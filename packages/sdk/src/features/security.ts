/**
 * Security administration (`session.security`, DESIGN §7): read the security store, add and remove
 * principals, change passwords, define roles with their global and path permissions, include roles,
 * assign roles, set anonymous access. Reading needs `view_security`, changing `modify_security`;
 * a change resolves once the server has persisted it, and applies to open sessions at once.
 * `docs/security.md` is the guide.
 *
 * @module
 */
import {
  type AnonymousSetting,
  type GlobalPermission,
  type PathPermission,
  type RoleDefinitionInput,
  type SecurityCommand,
  type SecurityStoreView,
  SkeinError,
  securityCommandSchema,
} from "@skein/protocol";
import type { Requester } from "./results.js";

/** Input of a security command (lists with defaults may be left out). */
type CommandInput = { op: SecurityCommand["op"] } & Record<string, unknown>;

/** Security administration. */
export class SecurityFeature {
  /** @internal */
  constructor(private readonly link: Requester) {}

  /**
   * The security store: principals and their roles (never passwords), roles, anonymous access.
   *
   * @example
   * ```ts
   * const { principals, roles } = await session.security.get();
   * ```
   * @throws SkeinError `NOT_AUTHORIZED` (needs `view_security`)
   */
  async get(): Promise<SecurityStoreView> {
    const value = await this.run({ op: "get" });
    if (!isView(value)) {
      throw new SkeinError("PROTOCOL_ERROR", `unexpected result of security.get: ${JSON.stringify(value)}`);
    }
    return value;
  }

  /**
   * Adds a principal with a password and roles.
   *
   * @example
   * ```ts
   * await session.security.addPrincipal("alice", "s3cret", ["operators"]);
   * ```
   * @throws SkeinError `INVALID_ARGUMENT` (it exists, or a name is not valid), `NOT_AUTHORIZED`
   */
  async addPrincipal(name: string, password: string, roles: readonly string[] = []): Promise<void> {
    await this.run({ op: "add_principal", name, password, roles: [...roles] });
  }

  /**
   * Removes a principal: its open sessions are closed (`PRINCIPAL_REMOVED`).
   * @throws SkeinError `INVALID_ARGUMENT` (no such principal), `NOT_AUTHORIZED`
   */
  async removePrincipal(name: string): Promise<void> {
    await this.run({ op: "remove_principal", name });
  }

  /**
   * Changes a principal's password (open sessions stay open).
   * @throws SkeinError `INVALID_ARGUMENT` (no such principal), `NOT_AUTHORIZED`
   */
  async setPassword(name: string, password: string): Promise<void> {
    await this.run({ op: "set_password", name, password });
  }

  /**
   * Replaces a principal's roles; its open sessions hold the new roles at once.
   * @throws SkeinError `INVALID_ARGUMENT` (no such principal), `NOT_AUTHORIZED`
   */
  async assignRoles(name: string, roles: readonly string[]): Promise<void> {
    await this.run({ op: "assign_roles", name, roles: [...roles] });
  }

  /**
   * Defines (or replaces) a role.
   *
   * @example
   * ```ts
   * await session.security.defineRole({
   *   name: "operators",
   *   global: ["view_session"],
   *   paths: { "plant": ["select_topic", "read_topic"], "plant/secret": [] },
   *   includes: ["readers"],
   * });
   * ```
   * @throws SkeinError `INVALID_ARGUMENT`, `NOT_AUTHORIZED`
   */
  async defineRole(role: RoleDefinitionInput): Promise<void> {
    await this.run({ op: "define_role", role });
  }

  /**
   * Removes a role (principals and roles naming it keep the name; it grants nothing).
   * @throws SkeinError `INVALID_ARGUMENT` (no such role), `NOT_AUTHORIZED`
   */
  async removeRole(name: string): Promise<void> {
    await this.run({ op: "remove_role", name });
  }

  /**
   * Sets a role's global permissions (creating the role when missing).
   * @throws SkeinError `INVALID_ARGUMENT`, `NOT_AUTHORIZED`
   */
  async setGlobalPermissions(role: string, permissions: readonly GlobalPermission[]): Promise<void> {
    await this.run({ op: "set_global_permissions", role, permissions: [...permissions] });
  }

  /**
   * Sets a role's permissions at a path prefix (creating the role when missing). An empty list means
   * "nothing here", overriding shorter prefixes; `null` removes the assignment, so the path inherits
   * from the next shorter prefix again.
   * @throws SkeinError `INVALID_ARGUMENT`, `NOT_AUTHORIZED`
   */
  async setPathPermissions(
    role: string,
    path: string,
    permissions: readonly PathPermission[] | null,
  ): Promise<void> {
    await this.run({
      op: "set_path_permissions",
      role,
      path,
      permissions: permissions === null ? null : [...permissions],
    });
  }

  /**
   * Sets the roles a role includes (creating the role when missing); cycles are harmless.
   * @throws SkeinError `INVALID_ARGUMENT`, `NOT_AUTHORIZED`
   */
  async includeRoles(role: string, includes: readonly string[]): Promise<void> {
    await this.run({ op: "include_roles", role, includes: [...includes] });
  }

  /**
   * Sets anonymous access: `false` (credentials required) or `{ roles }`. Open anonymous sessions hold
   * the new roles (none when `false`) at once.
   * @throws SkeinError `INVALID_ARGUMENT`, `NOT_AUTHORIZED`
   */
  async setAnonymous(anonymous: AnonymousSetting): Promise<void> {
    await this.run({ op: "set_anonymous", anonymous });
  }

  /** Checks a command before sending (`INVALID_ARGUMENT`), sends it and returns the result value. */
  private run(input: CommandInput): Promise<unknown> {
    const checked = securityCommandSchema.safeParse(input);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const where = issue?.path.join(".") ?? "";
      throw new SkeinError(
        "INVALID_ARGUMENT",
        `${input.op}: ${where ? `${where}: ` : ""}${issue?.message ?? "invalid"}`,
      );
    }
    return this.link.request({ type: "security", command: checked.data }, `security ${input.op}`);
  }
}

function isView(v: unknown): v is SecurityStoreView {
  const o = v as Partial<SecurityStoreView> | null;
  return typeof o === "object" && o !== null && Array.isArray(o.principals) && Array.isArray(o.roles);
}
