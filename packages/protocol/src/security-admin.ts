/**
 * The security store as it travels between the SDK and the server (DESIGN §7, issue 14): role
 * definitions, the store's readable view (never a password or its hash) and the commands of the SDK's
 * `session.security` (`security` frames). `docs/security.md` describes the model.
 *
 * @module
 */
import { z } from "zod";
import { GLOBAL_PERMISSIONS, PATH_PERMISSIONS } from "./permissions.js";

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

/** A role: global permissions, path permissions by path prefix, and the roles it includes. */
export const roleDefinitionSchema = z.strictObject({
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

/** A role as defined (see {@link roleDefinitionSchema}). */
export type RoleDefinition = z.output<typeof roleDefinitionSchema>;
/** A role as written (lists may be left out). */
export type RoleDefinitionInput = z.input<typeof roleDefinitionSchema>;

/** Whether and as which roles sessions without credentials are let in: `false` refuses them. */
export const anonymousSettingSchema = z.union([
  z.literal(false),
  z.strictObject({
    /** The roles anonymous sessions hold. */
    roles: z.array(securityNameSchema).max(256),
  }),
]);

/** See {@link anonymousSettingSchema}. */
export type AnonymousSetting = z.output<typeof anonymousSettingSchema>;

/** The security store as `session.security.get()` reads it: no passwords, no hashes. */
export interface SecurityStoreView {
  /** Principals and their roles. */
  principals: { name: string; roles: string[] }[];
  /** Every role. */
  roles: RoleDefinition[];
  /** Anonymous access; absent when it follows the bind address's default (docs/security.md). */
  anonymous?: AnonymousSetting;
}

/** The commands of a `security` frame, one per `op`. */
export const securityCommandSchema = z.discriminatedUnion("op", [
  /** Reads the store (needs `view_security`). */
  z.strictObject({ op: z.literal("get") }),
  /** Adds a principal (fails when it exists). */
  z.strictObject({
    op: z.literal("add_principal"),
    name: securityNameSchema,
    password: z.string().min(1).max(1024),
    roles: z.array(securityNameSchema).max(256).default([]),
  }),
  /** Removes a principal; its open sessions are closed with `PRINCIPAL_REMOVED`. */
  z.strictObject({ op: z.literal("remove_principal"), name: securityNameSchema }),
  /** Changes a principal's password. */
  z.strictObject({
    op: z.literal("set_password"),
    name: securityNameSchema,
    password: z.string().min(1).max(1024),
  }),
  /** Replaces a principal's roles (its open sessions hold them at once). */
  z.strictObject({
    op: z.literal("assign_roles"),
    name: securityNameSchema,
    roles: z.array(securityNameSchema).max(256),
  }),
  /** Defines (or replaces) a role. */
  z.strictObject({ op: z.literal("define_role"), role: roleDefinitionSchema }),
  /** Removes a role (principals and including roles keep naming it; it grants nothing). */
  z.strictObject({ op: z.literal("remove_role"), name: securityNameSchema }),
  /** Sets a role's global permissions. */
  z.strictObject({
    op: z.literal("set_global_permissions"),
    role: securityNameSchema,
    permissions: z.array(z.enum(GLOBAL_PERMISSIONS)).max(GLOBAL_PERMISSIONS.length * 2),
  }),
  /** Sets a role's permissions at a path prefix; `null` removes the assignment (inherit again). */
  z.strictObject({
    op: z.literal("set_path_permissions"),
    role: securityNameSchema,
    path: permissionPathSchema,
    permissions: z
      .array(z.enum(PATH_PERMISSIONS))
      .max(PATH_PERMISSIONS.length * 2)
      .nullable(),
  }),
  /** Sets the roles a role includes. */
  z.strictObject({
    op: z.literal("include_roles"),
    role: securityNameSchema,
    includes: z.array(securityNameSchema).max(256),
  }),
  /** Sets anonymous access. */
  z.strictObject({ op: z.literal("set_anonymous"), anonymous: anonymousSettingSchema }),
]);

/** A command of a `security` frame. */
export type SecurityCommand = z.output<typeof securityCommandSchema>;

/** Normalises a permission path prefix: no trailing `/` (`"a/b/"` is `"a/b"`; `""` is the root). */
export function normalisePermissionPath(path: string): string {
  return path.endsWith("/") ? path.replace(/\/+$/, "") : path;
}
