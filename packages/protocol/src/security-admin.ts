/**
 * The security store as it travels between the SDK and the server (DESIGN §7, issue 14): role
 * definitions, the store's readable view (never a password or its hash) and the commands of the SDK's
 * `session.security` (`security` frames). `docs/security.md` describes the model.
 *
 * @module
 */
import { z } from "zod";
import {
  GLOBAL_PERMISSIONS,
  type GlobalPermission,
  PATH_PERMISSIONS,
  type PathPermission,
} from "./permissions.js";

/** A role: global permissions, path permissions by path prefix, and the roles it includes. */
export interface RoleDefinition {
  /** The role's name. */
  name: string;
  /** Permissions that apply to the whole server. */
  global: GlobalPermission[];
  /**
   * Path permissions by path prefix (`""`: the root): the most specific prefix assigned to any of a
   * session's roles decides; an empty list there means "nothing here" (no inheriting from shorter
   * prefixes).
   */
  paths: Record<string, PathPermission[]>;
  /** Roles whose permissions this role also grants (cycles are harmless). */
  includes: string[];
}

/** A role as written: the lists may be left out (they default to empty). */
export interface RoleDefinitionInput {
  /** The role's name. */
  name: string;
  /** Permissions that apply to the whole server. */
  global?: GlobalPermission[] | undefined;
  /** Path permissions by path prefix (see {@link RoleDefinition.paths}). */
  paths?: Record<string, PathPermission[]> | undefined;
  /** Roles whose permissions this role also grants. */
  includes?: string[] | undefined;
}

/** Whether and as which roles sessions without credentials are let in: `false` refuses them. */
export type AnonymousSetting =
  | false
  | {
      /** The roles anonymous sessions hold. */
      roles: string[];
    };

/**
 * A principal's or role's name: 1-128 characters, none of `/ + # { }` or NUL, not starting with `$`
 * (a name is substituted for `{principal}` in permission paths, so it must be one path segment).
 */
export const securityNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^$/+#{}\0][^/+#{}\0]*$/, "a name is one path segment: no / + # { } or NUL, no leading $");

/**
 * A permission path prefix: `""` is the root (every path); otherwise segments joined by `/`, which may
 * contain `{principal}` and `{clientId}` placeholders. A trailing `/` is ignored.
 */
export const permissionPathSchema = z
  .string()
  .max(4096)
  .refine((p) => !p.includes("\0") && !/[+#]/.test(p), "no NUL, + or # in a permission path");

/** Schema of {@link RoleDefinition}. */
export const roleDefinitionSchema: z.ZodType<RoleDefinition, RoleDefinitionInput> = z.strictObject({
  /** The role's name. */
  name: securityNameSchema,
  /** Permissions that apply to the whole server. */
  global: z
    .array(z.enum(GLOBAL_PERMISSIONS))
    .max(GLOBAL_PERMISSIONS.length * 2)
    .default([]),
  /**
   * Path permissions by path prefix: the most specific prefix assigned to any of a session's roles
   * decides; an empty list there means "nothing here" (it does not inherit from shorter prefixes).
   */
  paths: z
    .record(permissionPathSchema, z.array(z.enum(PATH_PERMISSIONS)).max(PATH_PERMISSIONS.length * 2))
    .default({}),
  /** Roles whose permissions this role also grants (cycles are harmless). */
  includes: z.array(securityNameSchema).max(256).default([]),
});

/** Schema of {@link AnonymousSetting}. */
export const anonymousSettingSchema: z.ZodType<AnonymousSetting> = z.union([
  z.literal(false),
  z.strictObject({
    /** The roles anonymous sessions hold. */
    roles: z.array(securityNameSchema).max(256),
  }),
]);

/** A principal as `session.security.get()` shows it. */
export interface PrincipalView {
  /** The principal's name. */
  name: string;
  /** Its roles. */
  roles: string[];
}

/** The security store as `session.security.get()` reads it: no passwords, no hashes. */
export interface SecurityStoreView {
  /** Principals and their roles. */
  principals: PrincipalView[];
  /** Every role. */
  roles: RoleDefinition[];
  /** Anonymous access; absent when it follows the bind address's default (docs/security.md). */
  anonymous?: AnonymousSetting;
}

const name = securityNameSchema;
const roleNames = z.array(securityNameSchema).max(256);
const password = z.string().min(1).max(1024);

/** The commands of a `security` frame, one per `op`. */
export const securityCommandSchema = z.discriminatedUnion("op", [
  /** Reads the store (needs `view_security`). */
  z.strictObject({
    /** The command. */
    op: z.literal("get"),
  }),
  /** Adds a principal (fails when it exists). */
  z.strictObject({
    /** The command. */
    op: z.literal("add_principal"),
    /** The principal's name. */
    name,
    /** Its password. */
    password,
    /** Its roles. */
    roles: roleNames.default([]),
  }),
  /** Removes a principal; its open sessions are closed with `PRINCIPAL_REMOVED`. */
  z.strictObject({
    /** The command. */
    op: z.literal("remove_principal"),
    /** The principal's name. */
    name,
  }),
  /** Changes a principal's password. */
  z.strictObject({
    /** The command. */
    op: z.literal("set_password"),
    /** The principal's name. */
    name,
    /** The new password. */
    password,
  }),
  /** Replaces a principal's roles (its open sessions hold them at once). */
  z.strictObject({
    /** The command. */
    op: z.literal("assign_roles"),
    /** The principal's name. */
    name,
    /** Its roles. */
    roles: roleNames,
  }),
  /** Defines (or replaces) a role. */
  z.strictObject({
    /** The command. */
    op: z.literal("define_role"),
    /** The role. */
    role: roleDefinitionSchema,
  }),
  /** Removes a role (principals and including roles keep naming it; it grants nothing). */
  z.strictObject({
    /** The command. */
    op: z.literal("remove_role"),
    /** The role's name. */
    name,
  }),
  /** Sets a role's global permissions. */
  z.strictObject({
    /** The command. */
    op: z.literal("set_global_permissions"),
    /** The role's name. */
    role: name,
    /** Its global permissions. */
    permissions: z.array(z.enum(GLOBAL_PERMISSIONS)).max(GLOBAL_PERMISSIONS.length * 2),
  }),
  /** Sets a role's permissions at a path prefix; `null` removes the assignment (inherit again). */
  z.strictObject({
    /** The command. */
    op: z.literal("set_path_permissions"),
    /** The role's name. */
    role: name,
    /** The path prefix. */
    path: permissionPathSchema,
    /** Its permissions there (`[]`: nothing here), or `null` to remove the assignment. */
    permissions: z
      .array(z.enum(PATH_PERMISSIONS))
      .max(PATH_PERMISSIONS.length * 2)
      .nullable(),
  }),
  /** Sets the roles a role includes. */
  z.strictObject({
    /** The command. */
    op: z.literal("include_roles"),
    /** The role's name. */
    role: name,
    /** The roles it includes. */
    includes: roleNames,
  }),
  /** Sets anonymous access. */
  z.strictObject({
    /** The command. */
    op: z.literal("set_anonymous"),
    /** `false`, or the roles of anonymous sessions. */
    anonymous: anonymousSettingSchema,
  }),
]);

/** A command of a `security` frame. */
export type SecurityCommand = z.output<typeof securityCommandSchema>;

/** Normalises a permission path prefix: no trailing `/` (`"a/b/"` is `"a/b"`; `""` is the root). */
export function normalisePermissionPath(path: string): string {
  return path.endsWith("/") ? path.replace(/\/+$/, "") : path;
}
