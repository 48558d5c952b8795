/**
 * The security store in memory: principals, roles and anonymous access, with a `version` that
 * increases on every change so that cached decisions ({@link StoreAuthorizer}) drop. Changes here are
 * synchronous and validated; persisting them and applying them to open sessions is the
 * {@link SecurityService}'s business.
 *
 * @module
 */
import {
  type AnonymousSetting,
  type GlobalPermission,
  type PathPermission,
  type RoleDefinition,
  SkeinError,
  normalisePermissionPath,
} from "@skein/protocol";
import type { PrincipalRecord, SecurityDocument } from "./model.js";

/** Principals, roles and anonymous access, as the authorizer and the authenticator read them. */
export class SecurityStore {
  private readonly principals = new Map<string, PrincipalRecord>();
  private readonly roles = new Map<string, RoleDefinition>();
  /** The explicit anonymous setting (undefined: the bind's default). */
  explicitAnonymous: AnonymousSetting | undefined;
  /** Anonymous access in effect (set by the service from the explicit setting and the bind). */
  anonymous: AnonymousSetting = false;
  private changes = 0;

  /** Increases on every change. */
  get version(): number {
    return this.changes;
  }

  /** Marks a change (cached decisions drop). */
  bump(): void {
    this.changes++;
  }

  /** Replaces everything with `doc`. */
  load(doc: SecurityDocument): void {
    this.principals.clear();
    this.roles.clear();
    for (const p of doc.principals) this.principals.set(p.name, { ...p, roles: [...p.roles] });
    for (const r of doc.roles) this.roles.set(r.name, normaliseRole(r));
    this.explicitAnonymous = doc.anonymous;
    this.bump();
  }

  /** The whole store, for persisting. */
  document(): SecurityDocument {
    return {
      principals: [...this.principals.values()],
      roles: [...this.roles.values()],
      ...(this.explicitAnonymous !== undefined && { anonymous: this.explicitAnonymous }),
    };
  }

  /** A principal, or undefined. */
  principal(name: string): PrincipalRecord | undefined {
    return this.principals.get(name);
  }

  /** A role, or undefined. */
  role(name: string): RoleDefinition | undefined {
    return this.roles.get(name);
  }

  /** Number of principals. */
  get principalCount(): number {
    return this.principals.size;
  }

  /** Adds or replaces a principal. */
  putPrincipal(p: PrincipalRecord): void {
    this.principals.set(p.name, { ...p, roles: [...new Set(p.roles)] });
    this.bump();
  }

  /**
   * Removes a principal.
   * @throws SkeinError `INVALID_ARGUMENT` when there is none of that name
   */
  removePrincipal(name: string): void {
    if (!this.principals.delete(name)) throw noSuch("principal", name);
    this.bump();
  }

  /**
   * A principal that must exist.
   * @throws SkeinError `INVALID_ARGUMENT` when there is none of that name
   */
  requirePrincipal(name: string): PrincipalRecord {
    const p = this.principals.get(name);
    if (!p) throw noSuch("principal", name);
    return p;
  }

  /** Defines or replaces a role. */
  defineRole(role: RoleDefinition): void {
    this.roles.set(role.name, normaliseRole(role));
    this.bump();
  }

  /**
   * Removes a role (names of it elsewhere stay and grant nothing).
   * @throws SkeinError `INVALID_ARGUMENT` when there is none of that name
   */
  removeRole(name: string): void {
    if (!this.roles.delete(name)) throw noSuch("role", name);
    this.bump();
  }

  /** Changes a role, creating it empty when it does not exist. */
  changeRole(name: string, change: (role: MutableRole) => void): void {
    const old = this.roles.get(name);
    const role: MutableRole = {
      name,
      global: [...(old?.global ?? [])],
      paths: Object.assign(Object.create(null) as Record<string, PathPermission[]>, old?.paths),
      includes: [...(old?.includes ?? [])],
    };
    change(role);
    this.defineRole(role);
  }

  /** Every role (expanding includes uses it). */
  allRoles(): IterableIterator<RoleDefinition> {
    return this.roles.values();
  }

  /** Every principal. */
  allPrincipals(): IterableIterator<PrincipalRecord> {
    return this.principals.values();
  }
}

/** A role being changed by {@link SecurityStore.changeRole}. */
export interface MutableRole {
  name: string;
  global: GlobalPermission[];
  paths: Record<string, PathPermission[]>;
  includes: string[];
}

function normaliseRole(r: RoleDefinition): RoleDefinition {
  // No prototype: a path prefix named `__proto__` is a key like any other.
  const paths = Object.create(null) as Record<string, PathPermission[]>;
  for (const [path, perms] of Object.entries(r.paths)) {
    const key = normalisePermissionPath(path);
    paths[key] = [...new Set([...(paths[key] ?? []), ...perms])];
  }
  return {
    name: r.name,
    global: [...new Set(r.global)],
    paths,
    includes: [...new Set(r.includes)],
  };
}

function noSuch(what: string, name: string): SkeinError {
  return new SkeinError("INVALID_ARGUMENT", `no ${what} ${name}`);
}
