/**
 * Mosquitto dynamic-security ACLs onto Skein's security model (issue 14 §3, docs/security.md
 * "mosquitto_ctrl"). A Mosquitto ACL is `(acltype, topic filter, allow, priority)`, checked per ACL
 * type; a Skein role assigns path permissions at a path prefix, and the most specific prefix any of a
 * session's roles assigns decides alone. Only what maps exactly is accepted; anything else is refused
 * with a sentence saying why (never a silent approximation):
 *
 * - `publishClientSend` = `update_topic` + `modify_topic` (an MQTT publisher creates topics by
 *   publishing), `publishClientReceive` = `read_topic`, `subscribeLiteral` / `subscribePattern` =
 *   `select_topic` (every filter under a prefix selects a subset of what `prefix/#` selects).
 * - `#` is the root; `a/b/#` is the prefix `a/b` (both cover `a/b` and everything below it);
 *   `%u` / `%c` as a whole level are `{principal}` / `{clientId}`.
 * - Refused: a filter without a trailing `#` (a prefix would also grant everything below it), `+`,
 *   `allow: false`, a priority other than 0, unsubscribe ACLs (Skein never refuses an UNSUBSCRIBE), and
 *   any change after which some principal (or role on its own) would hold less than the union of its
 *   ACLs because a more specific prefix hides what a shorter one grants.
 *
 * @module
 */
import {
  type PathPermission,
  type RoleDefinition,
  type SecurityStoreView,
  pathProblem,
} from "@skein/protocol";

/** The ACL types of Mosquitto's dynamic security plugin. */
export const ACL_TYPES = [
  "publishClientSend",
  "publishClientReceive",
  "subscribeLiteral",
  "subscribePattern",
  "unsubscribeLiteral",
  "unsubscribePattern",
] as const;

/** A Mosquitto ACL type. */
export type AclType = (typeof ACL_TYPES)[number];

/** An ACL as `getRole` shows it. */
export interface AclView {
  /** The ACL type. */
  acltype: AclType;
  /** The topic filter. */
  topic: string;
  /** Always 0: Skein has no priorities (the most specific path decides). */
  priority: number;
  /** False for a Skein explicit empty set ("nothing here"). */
  allow: boolean;
}

/** Why an ACL or a change cannot be expressed: the answer's `error`. */
export class Inexpressible extends Error {}

/** The Skein path permissions an ACL type grants. */
export function permissionsOf(acltype: AclType): readonly PathPermission[] {
  switch (acltype) {
    case "publishClientSend":
      return ["update_topic", "modify_topic"];
    case "publishClientReceive":
      return ["read_topic"];
    case "subscribeLiteral":
    case "subscribePattern":
      return ["select_topic"];
    case "unsubscribeLiteral":
    case "unsubscribePattern":
      throw new Inexpressible(
        `${acltype} is not supported by Skein: Skein never refuses an UNSUBSCRIBE, so there is nothing to grant`,
      );
  }
}

/**
 * The Skein path prefix of an ACL topic filter: `#` is the root `""`, `a/b/#` is `a/b`, `%u`/`%c`
 * levels become `{principal}`/`{clientId}`.
 * @throws Inexpressible for filters a path prefix does not express exactly
 */
export function prefixOf(topic: string): string {
  if (topic === "#") return "";
  if (!topic.endsWith("/#")) {
    if (topic.includes("+") || topic.includes("#"))
      throw new Inexpressible(
        `Skein cannot express the ACL topic '${topic}': permissions are granted by path prefix, so '+' and a '#' other than a last level have no equivalent; use 'prefix/#'`,
      );
    throw new Inexpressible(
      `Skein cannot express the ACL topic '${topic}' exactly: permissions are granted by path prefix, which would also grant everything below it; use '${topic}/#' (the topic and everything below it)`,
    );
  }
  const levels = topic.slice(0, -2).split("/");
  const out: string[] = [];
  for (const level of levels) {
    if (level.includes("+") || level.includes("#"))
      throw new Inexpressible(
        `Skein cannot express the ACL topic '${topic}': permissions are granted by path prefix, so '+' and a '#' other than a last level have no equivalent`,
      );
    // An empty level (`/#`, `a//#`) is a topic of its own in MQTT; Skein's prefixes drop it.
    if (level === "")
      throw new Inexpressible(`Skein cannot express the ACL topic '${topic}': it has an empty topic level`);
    if (level === "%u") out.push("{principal}");
    else if (level === "%c") out.push("{clientId}");
    else if (/%[uc]|[{}]/.test(level))
      throw new Inexpressible(
        `Skein cannot express the ACL topic '${topic}': %u and %c must be a whole topic level, and { } are not allowed`,
      );
    else out.push(level);
  }
  const prefix = out.join("/");
  const problem = pathProblem(prefix.replace(/\{(principal|clientId)\}/g, "x"));
  if (problem) throw new Inexpressible(`Invalid ACL topic: ${problem}`);
  return prefix;
}

/** The ACL topic filter of a Skein prefix (the inverse of {@link prefixOf}). */
export function topicOf(prefix: string): string {
  if (prefix === "") return "#";
  return `${prefix.replace(/\{principal\}/g, "%u").replace(/\{clientId\}/g, "%c")}/#`;
}

/** A role's path permissions as Mosquitto ACLs (`getRole`); Skein permissions no ACL type names are left out. */
export function aclsOf(role: RoleDefinition): AclView[] {
  const acls: AclView[] = [];
  for (const prefix of Object.keys(role.paths).sort()) {
    const perms = role.paths[prefix] ?? [];
    const topic = topicOf(prefix);
    if (perms.length === 0) {
      // An explicit empty set: nothing is granted here, whatever shorter prefixes grant.
      for (const acltype of ["publishClientSend", "publishClientReceive", "subscribePattern"] as const)
        acls.push({ acltype, topic, priority: 0, allow: false });
      continue;
    }
    if (perms.includes("update_topic"))
      acls.push({ acltype: "publishClientSend", topic, priority: 0, allow: true });
    if (perms.includes("read_topic"))
      acls.push({ acltype: "publishClientReceive", topic, priority: 0, allow: true });
    if (perms.includes("select_topic"))
      acls.push({ acltype: "subscribePattern", topic, priority: 0, allow: true });
  }
  return acls;
}

/**
 * `role` with an ACL added.
 * @throws Inexpressible when the ACL is there already
 */
export function withAcl(
  role: RoleDefinition,
  prefix: string,
  grants: readonly PathPermission[],
): RoleDefinition {
  const current = role.paths[prefix];
  if (current !== undefined && grants.every((p) => current.includes(p)))
    throw new Inexpressible("ACL with this topic already exists");
  const next = [...(current ?? [])];
  for (const p of grants) if (!next.includes(p)) next.push(p);
  return { ...role, paths: { ...role.paths, [prefix]: next } };
}

/**
 * `role` with an ACL removed. Removing the last permission of a prefix removes the assignment (an
 * empty set would mean "nothing here"); removing any ACL of an explicit empty set removes it too.
 * @throws Inexpressible `ACL not found`
 */
export function withoutAcl(
  role: RoleDefinition,
  prefix: string,
  grants: readonly PathPermission[],
): RoleDefinition {
  const current = role.paths[prefix];
  if (current === undefined || (current.length > 0 && !grants.some((p) => current.includes(p))))
    throw new Inexpressible("ACL not found");
  const paths = { ...role.paths };
  const next = current.filter((p) => !grants.includes(p));
  if (next.length === 0) delete paths[prefix];
  else paths[prefix] = next;
  return { ...role, paths };
}

/** The ACL type that grants a Skein permission, for messages. */
function aclNameOf(permission: PathPermission): string {
  switch (permission) {
    case "update_topic":
    case "modify_topic":
      return "publishClientSend";
    case "read_topic":
      return "publishClientReceive";
    case "select_topic":
      return "subscribePattern";
    default:
      return `Skein's ${permission}`;
  }
}

/** Whose permissions a change touches: a principal's roles changed, or a role's definition. */
export type Affected = { readonly principal: string } | { readonly role: string };

/**
 * Where Skein's "most specific prefix decides alone" differs from the union of a subject's ACLs: for
 * each subject the change touches (the principal; or every principal, role and anonymous setting that
 * holds the role, the role on its own included), each permission a shorter assigned prefix grants that
 * a longer one hides. Keyed so that a change can be refused for what it adds. Cost: per subject, its
 * assigned prefixes times their depth.
 */
export function hiddenGrants(view: SecurityStoreView, affected: Affected): Map<string, string> {
  const roles = new Map(view.roles.map((r) => [r.name, r]));
  const subjects: [string, readonly string[]][] = [];
  if ("principal" in affected) {
    const p = view.principals.find((x) => x.name === affected.principal);
    if (p) subjects.push([`principal ${p.name}`, p.roles]);
  } else {
    const holds = (names: readonly string[]): boolean =>
      expand(names, roles).some((r) => r.name === affected.role);
    for (const p of view.principals) if (holds(p.roles)) subjects.push([`principal ${p.name}`, p.roles]);
    for (const r of view.roles) if (holds([r.name])) subjects.push([`role ${r.name}`, [r.name]]);
    if (view.anonymous && holds(view.anonymous.roles))
      subjects.push(["anonymous sessions", view.anonymous.roles]);
  }
  const out = new Map<string, string>();
  for (const [who, names] of subjects) {
    const paths = new Map<string, Set<PathPermission>>();
    for (const role of expand(names, roles))
      for (const [prefix, perms] of Object.entries(role.paths)) {
        const set = paths.get(prefix) ?? new Set<PathPermission>();
        for (const p of perms) set.add(p);
        paths.set(prefix, set);
      }
    for (const [prefix, perms] of paths) {
      // Every assigned shorter prefix (whole segments, down to the root).
      let shorter = prefix;
      while (shorter !== "") {
        const slash = shorter.lastIndexOf("/");
        shorter = slash < 0 ? "" : shorter.slice(0, slash);
        const granted = paths.get(shorter);
        if (granted === undefined) continue;
        for (const p of granted) {
          if (perms.has(p)) continue;
          out.set(
            `${who}\0${prefix}\0${p}`,
            `for ${who}, '${topicOf(prefix)}' would hide ${aclNameOf(p)} granted on '${topicOf(shorter)}' ` +
              `(in Skein the most specific path decides alone); '${topicOf(prefix)}' needs that ACL as well`,
          );
        }
      }
    }
  }
  return out;
}

/** The roles named and all they include (existing ones, each once). */
function expand(names: readonly string[], roles: ReadonlyMap<string, RoleDefinition>): RoleDefinition[] {
  const seen = new Set<string>();
  const out: RoleDefinition[] = [];
  const todo = [...names];
  while (todo.length > 0) {
    const name = todo.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const role = roles.get(name);
    if (role === undefined) continue;
    out.push(role);
    todo.push(...role.includes);
  }
  return out;
}

/**
 * Refuses a change whose result hides a grant that was not hidden before (see {@link hiddenGrants}).
 * @throws Inexpressible naming the first such grant
 */
export function checkExact(before: SecurityStoreView, after: SecurityStoreView, affected: Affected): void {
  const old = hiddenGrants(before, affected);
  for (const [key, message] of hiddenGrants(after, affected))
    if (!old.has(key)) throw new Inexpressible(`Skein cannot express this exactly: ${message}`);
}
