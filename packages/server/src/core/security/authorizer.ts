/**
 * The {@link Authorizer} of the security store. It runs per publish and per delivery, so a decision is
 * a few lookups: the actor's role set is compiled once (roles expanded through their includes, global
 * permissions as a bit mask, path permissions as a trie of path segments holding bit masks) and the
 * path's answer is cached per compiled set. Everything cached drops when the store's `version` moves.
 *
 * Path rule: among the path prefixes assigned by any of the actor's roles, the most specific one (most
 * segments) that is a prefix of the path decides; roles assigning the same prefix add up. An empty set
 * at a prefix is an assignment ("nothing here"); a prefix with no assignment inherits from the shorter
 * one. `{principal}` and `{clientId}` in a prefix are replaced by the actor's; an assignment whose
 * placeholder the actor lacks (anonymous, SDK without client id), or whose value is not one plain path
 * segment, grants nothing.
 *
 * @module
 */
import { GLOBAL_PERMISSIONS, PATH_PERMISSIONS, type Permission, type RoleDefinition } from "@skein/protocol";
import type { Actor, Authorizer } from "./types.js";
import type { SecurityStore } from "./store.js";

/** Bit of each permission in its mask (global and path permissions have separate masks). */
const BITS: Record<Permission, { readonly global: boolean; readonly bit: number }> = Object.create(null);
GLOBAL_PERMISSIONS.forEach((p, i) => (BITS[p] = { global: true, bit: 1 << i }));
PATH_PERMISSIONS.forEach((p, i) => (BITS[p] = { global: false, bit: 1 << i }));

/** Bit mask of a list of permissions. */
function maskOf(perms: readonly Permission[]): number {
  let m = 0;
  for (const p of perms) m |= BITS[p].bit;
  return m;
}

/** One trie node: the permissions assigned exactly at this prefix (-1: no assignment). */
interface PathNode {
  mask: number;
  children: Map<string, PathNode> | undefined;
}

/** Most path decisions one compiled role set caches before it starts over. */
const MAX_CACHED_PATHS = 8192;

/** A role set, compiled for one actor's substitutions. */
export class CompiledRoles {
  readonly globalMask: number;
  private readonly root: PathNode = { mask: -1, children: undefined };
  private readonly cache = new Map<string, number>();

  constructor(
    roles: Iterable<{
      global: readonly Permission[];
      paths: Readonly<Record<string, readonly Permission[]>>;
    }>,
    substitute: (prefix: string) => string | undefined,
  ) {
    let g = 0;
    for (const role of roles) {
      g |= maskOf(role.global);
      for (const prefix in role.paths) {
        const path = substitute(prefix);
        if (path !== undefined) this.assign(path, maskOf(role.paths[prefix] ?? []));
      }
    }
    this.globalMask = g;
  }

  private assign(prefix: string, mask: number): void {
    let node = this.root;
    if (prefix !== "") {
      for (const segment of prefix.split("/")) {
        const children = (node.children ??= new Map());
        let next = children.get(segment);
        if (!next) children.set(segment, (next = { mask: -1, children: undefined }));
        node = next;
      }
    }
    node.mask = node.mask < 0 ? mask : node.mask | mask;
  }

  /** The path permissions held on `path` (bit mask). */
  pathMask(path: string): number {
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached;
    let node = this.root;
    let mask = node.mask;
    let start = 0;
    while (node.children !== undefined) {
      const slash = path.indexOf("/", start);
      const next = node.children.get(slash < 0 ? path.slice(start) : path.slice(start, slash));
      if (next === undefined) break;
      node = next;
      if (node.mask >= 0) mask = node.mask;
      if (slash < 0) break;
      start = slash + 1;
    }
    if (mask < 0) mask = 0;
    if (this.cache.size >= MAX_CACHED_PATHS) this.cache.clear();
    this.cache.set(path, mask);
    return mask;
  }
}

/** Per-actor cache entry: the compiled set as of a store version. */
interface ActorEntry {
  version: number;
  compiled: CompiledRoles;
}

/** The authorizer over a {@link SecurityStore}. */
export class StoreAuthorizer implements Authorizer {
  /** By actor object: a door that passes the same actor (its session handle) each time pays one lookup. */
  private byActor = new WeakMap<Actor, ActorEntry>();
  /** By role set (and substitutions, when its roles use placeholders). */
  private readonly byKey = new Map<string, CompiledRoles>();
  /** Role set key -> whether its roles use `{principal}` or `{clientId}`. */
  private readonly templated = new Map<string, boolean>();
  private compiledVersion = -1;

  constructor(private readonly store: SecurityStore) {}

  /** The store's version. */
  get version(): number {
    return this.store.version;
  }

  /** {@inheritDoc Authorizer.authorize} */
  authorize(actor: Actor, permission: Permission, path?: string): boolean {
    const compiled = this.compiledFor(actor);
    const b = BITS[permission];
    if (b.global) return (compiled.globalMask & b.bit) !== 0;
    return (compiled.pathMask(path ?? "") & b.bit) !== 0;
  }

  /** The compiled role set of `actor` at the store's current version. */
  compiledFor(actor: Actor): CompiledRoles {
    const version = this.store.version;
    const entry = this.byActor.get(actor);
    if (entry !== undefined && entry.version === version) return entry.compiled;
    if (this.compiledVersion !== version) {
      this.byKey.clear();
      this.templated.clear();
      this.byActor = new WeakMap();
      this.compiledVersion = version;
    }
    const roleKey =
      actor.roles.length === 1 ? (actor.roles[0] as string) : [...actor.roles].sort().join("\0");
    let templated = this.templated.get(roleKey);
    const expanded = templated === undefined || templated ? this.expand(actor.roles) : undefined;
    if (templated === undefined) {
      templated = expanded!.some((r) => Object.keys(r.paths).some((p) => p.includes("{")));
      this.templated.set(roleKey, templated);
    }
    const key = templated ? `${roleKey}\u0001${actor.principal ?? ""}\u0001${actor.clientId ?? ""}` : roleKey;
    let compiled = this.byKey.get(key);
    if (compiled === undefined) {
      compiled = new CompiledRoles(expanded ?? this.expand(actor.roles), (p) => substitute(p, actor));
      this.byKey.set(key, compiled);
    }
    this.byActor.set(actor, { version, compiled });
    return compiled;
  }

  /** The roles named and every role they include, each once (cycles end where they close). */
  private expand(names: readonly string[]): RoleDefinition[] {
    const seen = new Set<string>();
    const out: RoleDefinition[] = [];
    const stack = [...names];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const role = this.store.role(name);
      if (!role) continue;
      out.push(role);
      for (const inc of role.includes) if (!seen.has(inc)) stack.push(inc);
    }
    return out;
  }
}

/** A permission path with the actor's placeholders filled in, or undefined when it grants nothing. */
function substitute(prefix: string, actor: Actor): string | undefined {
  if (!prefix.includes("{")) return prefix;
  let ok = true;
  const path = prefix.replace(/\{(principal|clientId)\}/g, (_, name: string) => {
    const value = name === "principal" ? actor.principal : actor.clientId;
    if (value === undefined || value === "" || /[/+#\0]/.test(value)) ok = false;
    return value ?? "";
  });
  return ok ? path : undefined;
}
