/**
 * Permission names (DESIGN §7): one list for server and SDK.
 *
 * @module
 */

/** Permissions that apply to the whole server. */
export const GLOBAL_PERMISSIONS = [
  "authenticate",
  "view_session",
  "modify_session",
  "register_handler",
  "view_server",
  "control_server",
  "view_security",
  "modify_security",
] as const;

/** Permissions that apply to a path prefix (the most specific path wins). */
export const PATH_PERMISSIONS = [
  "select_topic",
  "read_topic",
  "update_topic",
  "modify_topic",
  "send_to_message_handler",
  "send_to_session",
] as const;

/** A global permission. */
export type GlobalPermission = (typeof GLOBAL_PERMISSIONS)[number];
/** A path-scoped permission. */
export type PathPermission = (typeof PATH_PERMISSIONS)[number];
/** Any permission. */
export type Permission = GlobalPermission | PathPermission;

/** True when `name` is a global permission. */
export function isGlobalPermission(name: string): name is GlobalPermission {
  return (GLOBAL_PERMISSIONS as readonly string[]).includes(name);
}

/** True when `name` is a path permission. */
export function isPathPermission(name: string): name is PathPermission {
  return (PATH_PERMISSIONS as readonly string[]).includes(name);
}
