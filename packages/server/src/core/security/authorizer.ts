/**
 * The {@link Authorizer} of the security store. It runs per publish and per delivery, so a decision is
 * a few lookups: the actor's role set is compiled once (roles expanded through their includes, global
 * permissions as a bit mask, path permissions as a map from path prefix to bit mask) and the path's
 * answer is cached per compiled set. Everything cached drops when the store's `version` moves.
 * `bench/authorize.mjs` measures it.
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

/** Most path decisions one compiled role set caches before it starts over. */
const MAX_CACHED_PATHS = 8192;

/** A role reduced to masks: global mask, and each path prefix with its mask. */
interface RoleMasks {
  readonly global: number;
  readonly paths: readonly (readonly [prefix: string, mask: number])[];
}

/** Roles reduced to masks, by role object (a changed role is a new object, so entries never go stale). */
const ROLE_MASKS = new WeakMap<RoleDefinition, RoleMasks>();

function masksOf(role: RoleDefinition): RoleMasks {
  let m = ROLE_MASKS.get(role);
  if (m === undefined) {
    const paths = Object.keys(role.paths).map((p) => [p, maskOf(role.paths[p] ?? [])] as const);
    m = { global: maskOf(role.global), paths };
    ROLE_MASKS.set(role, m);
  }
  return m;
}

/**
 * A role set compiled once per store version: global mask, its literal path prefixes merged into one
 * map (prefix -> mask; roles assigning the same prefix add up), and its templated prefixes
 * (`{principal}`, `{clientId}`) left for each actor to fill in. A map rather than a trie: compiling is
 * one `set` per assignment, and a lookup tries the path's prefixes from the longest down, once per
 * path (the answer is cached).
 */
export class RoleSetBase {
  readonly globalMask: number;
  readonly prefixes = new Map<string, number>();
  /** Prefixes with placeholders, and their masks (roles assigning the same one add up). */
  readonly templates = new Map<string, number>();
  /** Segments of the deepest literal prefix: a lookup starts at that depth of the path, not at its end. */
  readonly maxDepth: number;

  constructor(roles: readonly RoleDefinition[]) {
    let g = 0;
    for (const role of roles) {
      const masks = masksOf(role);
      g |= masks.global;
      for (const [prefix, mask] of masks.paths) {
        const into = prefix.includes("{") ? this.templates : this.prefixes;
        const old = into.get(prefix);
        into.set(prefix, old === undefined ? mask : old | mask);
      }
    }
    this.globalMask = g;
    let depth = 0;
    for (const prefix of this.prefixes.keys()) depth = Math.max(depth, depthOf(prefix));
    this.maxDepth = depth;
  }
}

/** A role set for one actor: its base plus its templated prefixes filled in, with a cache of path decisions. */
export class CompiledRoles {
  readonly globalMask: number;
  private readonly prefixes: Map<string, number>;
  /** Filled-in templated prefixes: the prefix, the same followed by `/`, its depth, its mask. */
  private readonly overlay: { path: string; below: string; depth: number; mask: number }[] = [];
  private readonly cache = new Map<string, number>();
  private readonly maxDepth: number;
  /**
   * The answer for every path when the set assigns nothing below the root (only `""`, or nothing, and
   * no templated prefix): e.g. the built-in `anonymous` and `admin` roles. Then a path costs no lookup,
   * and a new path (a new client's own topic) no cache entry (issue 11, CPU per connection).
   */
  private readonly everywhere: number | undefined;

  constructor(base: RoleSetBase, actor: Actor | undefined) {
    this.globalMask = base.globalMask;
    this.prefixes = base.prefixes;
    this.maxDepth = base.maxDepth;
    if (actor !== undefined) {
      for (const [prefix, mask] of base.templates) {
        const path = substitute(prefix, actor);
        if (path === undefined) continue;
        this.overlay.push({ path, below: `${path}/`, depth: depthOf(path), mask });
      }
    }
    this.everywhere =
      base.maxDepth === 0 && this.overlay.length === 0 ? (base.prefixes.get("") ?? 0) : undefined;
  }

  /** The path permissions held on `path` (bit mask). */
  pathMask(path: string): number {
    if (this.everywhere !== undefined) return this.everywhere;
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached;
    // The longest assigned prefix of the path (whole segments), trying shorter ones down to the root;
    // from the depth of the deepest assigned prefix (a deeper candidate is never assigned).
    let candidate = path;
    let cut = -1;
    for (let d = 0; d < this.maxDepth; d++) {
      cut = path.indexOf("/", cut + 1);
      if (cut < 0) break;
    }
    if (this.maxDepth === 0) candidate = "";
    else if (cut >= 0) candidate = path.slice(0, cut);
    let mask = this.prefixes.get(candidate);
    while (mask === undefined && candidate !== "") {
      const slash = candidate.lastIndexOf("/");
      candidate = slash < 0 ? "" : candidate.slice(0, slash);
      mask = this.prefixes.get(candidate);
    }
    let result = mask ?? -1;
    if (this.overlay.length > 0) {
      // Templated prefixes compete by depth like literal ones; the same depth adds up.
      let depth = mask === undefined ? -1 : depthOf(candidate);
      for (const o of this.overlay) {
        if (o.depth < depth || (o.path !== "" && path !== o.path && !path.startsWith(o.below))) continue;
        result = o.depth > depth || result < 0 ? o.mask : result | o.mask;
        depth = o.depth;
      }
    }
    if (result < 0) result = 0;
    if (this.cache.size >= MAX_CACHED_PATHS) this.cache.clear();
    this.cache.set(path, result);
    return result;
  }
}

/** Segments of a prefix (`""`, the root, has none). */
function depthOf(prefix: string): number {
  if (prefix === "") return 0;
  let n = 1;
  for (let i = prefix.indexOf("/"); i >= 0; i = prefix.indexOf("/", i + 1)) n++;
  return n;
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
  /**
   * Sets without placeholders (the same for every actor holding them) by the roles array that named
   * them: every new session holding the same array (all anonymous ones, all of one principal's) finds
   * its set here without an entry of its own (issue 11, CPU per connection). A session's roles are
   * replaced, never changed in place, so an array names the same roles for its whole life.
   */
  private byRoles = new WeakMap<readonly string[], ActorEntry>();
  /** Compiled role sets by role set key (untemplated sets are shared by every actor holding them). */
  private readonly bases = new Map<string, { base: RoleSetBase; shared: CompiledRoles | undefined }>();
  private compiledVersion = -1;
  /** The last actor asked about, and its compiled set (a publish asks several times in a row). */
  private lastActor: Actor | undefined;
  private lastEntry: ActorEntry | undefined;

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
    const last = this.lastEntry;
    if (actor === this.lastActor && last !== undefined && last.version === version) return last.compiled;
    let entry = this.byRoles.get(actor.roles);
    if (entry === undefined || entry.version !== version) entry = this.byActor.get(actor);
    if (entry === undefined || entry.version !== version) {
      const compiled = this.compile(actor, version);
      entry = { version, compiled: compiled.set };
      if (compiled.shared) this.byRoles.set(actor.roles, entry);
      else this.byActor.set(actor, entry);
    }
    this.lastActor = actor;
    this.lastEntry = entry;
    return entry.compiled;
  }

  private compile(actor: Actor, version: number): { set: CompiledRoles; shared: boolean } {
    if (this.compiledVersion !== version) {
      this.bases.clear();
      this.byActor = new WeakMap();
      this.byRoles = new WeakMap();
      this.compiledVersion = version;
    }
    const roles = actor.roles;
    const key = roles.length === 1 ? (roles[0] as string) : [...roles].sort().join("\0");
    let set = this.bases.get(key);
    if (set === undefined) {
      const base = new RoleSetBase(this.expand(roles));
      set = { base, shared: base.templates.size === 0 ? new CompiledRoles(base, undefined) : undefined };
      this.bases.set(key, set);
    }
    // A set without placeholders is the same for everyone; one with them is filled in per actor.
    return set.shared !== undefined
      ? { set: set.shared, shared: true }
      : { set: new CompiledRoles(set.base, actor), shared: false };
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
