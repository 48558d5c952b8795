/**
 * The security of a server (DESIGN §7): the store, its {@link Authorizer}, the authentication chain,
 * persistence through the storage port, and run-time administration that applies to open sessions at
 * once. The doors reach it as `core.security`.
 *
 * @module
 */
import {
  type AnonymousSetting,
  type RoleDefinition,
  type SecurityCommand,
  type SecurityStoreView,
  SkeinError,
  normalisePermissionPath,
} from "@skein/protocol";
import type { Metrics } from "../metrics.js";
import type { Clock, Logger } from "../ports.js";
import type { SessionRegistry } from "../sessions.js";
import type { Storage } from "../storage.js";
import { Authentication, type AuthenticationOutcome } from "./authentication.js";
import { StoreAuthorizer } from "./authorizer.js";
import {
  ADMIN_PRINCIPAL,
  ADMIN_ROLE,
  ADMIN_ROLE_DEFINITION,
  ANONYMOUS_ROLE_DEFINITION,
  type PasswordHasher,
  type PrincipalRecord,
  type SecurityDocument,
  anonymousProblem,
  effectiveAnonymous,
} from "./model.js";
import { SecurityStore } from "./store.js";
import type { Actor, Authenticator, Credentials } from "./types.js";

/** A principal of the initial configuration: a plain password (hashed at first start) or a hash. */
export interface InitialPrincipal {
  readonly name: string;
  readonly password?: string | undefined;
  readonly passwordHash?: string | undefined;
  readonly roles: readonly string[];
}

/** How security is set up. */
export interface SecurityOptions {
  /** Address the listeners bind to: decides the default of anonymous access. */
  host?: string;
  /** Hashes passwords (the server passes scrypt); default: none, so no password logs in. */
  hasher?: PasswordHasher;
  /** Authenticators asked before the store, in order. */
  authenticators?: readonly Authenticator[];
  /** The store at first start (config `security`); afterwards the persisted store is authoritative. */
  initial?: {
    readonly principals?: readonly InitialPrincipal[];
    readonly roles?: readonly RoleDefinition[];
    readonly anonymous?: AnonymousSetting | undefined;
  };
  /** Password of the `admin` principal created at first start (`SKEIN_ADMIN_PASSWORD`). */
  adminPassword?: string | undefined;
  /** Base of the per-address slow-down after failed logins (ms); 0 turns it off. */
  failedLoginDelayMs?: number;
}

/** A hasher that hashes nothing and matches nothing (a core built without one). */
const NO_HASHER: PasswordHasher = {
  hash: () => Promise.reject(new SkeinError("INTERNAL", "no password hasher configured")),
  verify: () => Promise.resolve(false),
};

/** Security: store, authorizer, authentication and administration. */
export class SecurityService {
  readonly store = new SecurityStore();
  /** The one permission check: the façade calls it before every operation and delivery. */
  readonly authorizer: StoreAuthorizer;
  private readonly authentication: Authentication;
  private readonly hasher: PasswordHasher;
  private storage: Storage | undefined;
  private readonly host: string;

  constructor(
    private readonly options: SecurityOptions,
    private readonly sessions: SessionRegistry,
    clock: Clock,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.host = options.host ?? "127.0.0.1";
    this.hasher = options.hasher ?? NO_HASHER;
    this.authorizer = new StoreAuthorizer(this.store);
    this.authentication = new Authentication(
      this.store,
      this.hasher,
      options.authenticators ?? [],
      clock,
      metrics,
      log,
      options.failedLoginDelayMs ?? 100,
    );
    // Usable before start(): the built-in roles and the configured roles, no principals yet.
    this.store.load({
      principals: [],
      roles: this.initialRoles(),
      anonymous: options.initial?.anonymous,
    });
    this.applyAnonymous();
  }

  /**
   * Start-up: loads the persisted store from `storage`, or (first start, or no storage) builds it from
   * the initial configuration and `adminPassword` and persists it. Keeps `storage` for later changes.
   * @throws Error (one line) when anonymous access on a non-loopback bind was never configured
   */
  async start(storage: Storage | undefined): Promise<void> {
    const kept = storage ? await storage.loadSecurity() : undefined;
    let doc: SecurityDocument;
    if (kept) {
      // The persisted store is authoritative; only an anonymous setting it lacks comes from the config.
      doc = kept.anonymous === undefined ? { ...kept, anonymous: this.options.initial?.anonymous } : kept;
      this.log.info({ principals: doc.principals.length, roles: doc.roles.length }, "security store loaded");
    } else {
      doc = await this.initialDocument();
      this.log.info(
        { principals: doc.principals.length, roles: doc.roles.length },
        "security store initialised",
      );
    }
    const problem = anonymousProblem(doc.anonymous, this.host);
    if (problem) throw new Error(problem);
    this.store.load(doc);
    this.applyAnonymous();
    this.storage = storage;
    if (!kept) await this.persist();
  }

  /** Stops persisting (the store is about to close). */
  detach(): void {
    this.storage = undefined;
  }

  /** The outcome without waiting, when possible (see {@link Authentication.immediate}). */
  authenticateNow(credentials: Credentials): AuthenticationOutcome | undefined {
    return this.authentication.immediate(credentials);
  }

  /** Authenticates: configured authenticators, then the store. Never rejects. */
  authenticate(credentials: Credentials): Promise<AuthenticationOutcome> {
    return this.authentication.authenticate(credentials);
  }

  /**
   * Runs a security command for `actor`: `get` needs `view_security`, the rest `modify_security`.
   * Changes apply to open sessions at once and resolve once persisted.
   * @throws SkeinError `NOT_AUTHORIZED`, `INVALID_ARGUMENT`
   */
  async execute(actor: Actor, command: SecurityCommand): Promise<SecurityStoreView | undefined> {
    const needed = command.op === "get" ? "view_security" : "modify_security";
    if (!this.authorizer.authorize(actor, needed)) {
      throw new SkeinError("NOT_AUTHORIZED", `${command.op} needs the ${needed} permission`);
    }
    if (command.op === "get") return this.view();
    await this.change(command);
    this.log.info({ op: command.op, by: actor.principal ?? actor.sessionId }, "security store changed");
    await this.persist();
    return undefined;
  }

  /** The store without passwords or hashes. */
  view(): SecurityStoreView {
    const doc = this.store.document();
    return {
      principals: doc.principals.map((p) => ({ name: p.name, roles: [...p.roles] })),
      roles: doc.roles.map((r) => ({ ...r, paths: { ...r.paths } })),
      ...(doc.anonymous !== undefined && { anonymous: doc.anonymous }),
    };
  }

  private async change(c: Exclude<SecurityCommand, { op: "get" }>): Promise<void> {
    const store = this.store;
    switch (c.op) {
      case "add_principal": {
        if (store.principal(c.name)) throw new SkeinError("INVALID_ARGUMENT", `principal ${c.name} exists`);
        const passwordHash = await this.hasher.hash(c.password);
        if (store.principal(c.name)) throw new SkeinError("INVALID_ARGUMENT", `principal ${c.name} exists`);
        store.putPrincipal({ name: c.name, passwordHash, roles: c.roles });
        return;
      }
      case "remove_principal":
        store.removePrincipal(c.name);
        this.closeSessionsOf(c.name);
        return;
      case "set_password": {
        store.requirePrincipal(c.name);
        const passwordHash = await this.hasher.hash(c.password);
        store.putPrincipal({ ...store.requirePrincipal(c.name), passwordHash });
        return;
      }
      case "assign_roles":
        store.putPrincipal({ ...store.requirePrincipal(c.name), roles: c.roles });
        this.refreshRoles();
        return;
      case "define_role":
        store.defineRole(c.role);
        return;
      case "remove_role":
        store.removeRole(c.name);
        return;
      case "set_global_permissions":
        store.changeRole(c.role, (r) => (r.global = [...c.permissions]));
        return;
      case "set_path_permissions": {
        const path = normalisePermissionPath(c.path);
        store.changeRole(c.role, (r) => {
          if (c.permissions === null) delete r.paths[path];
          else r.paths[path] = [...c.permissions];
        });
        return;
      }
      case "include_roles":
        store.changeRole(c.role, (r) => (r.includes = [...c.includes]));
        return;
      case "set_anonymous":
        store.explicitAnonymous = c.anonymous;
        store.bump();
        this.applyAnonymous();
        this.refreshRoles();
        return;
    }
  }

  /** Writes the whole store through the storage port (no-op without one). */
  private async persist(): Promise<void> {
    await this.storage?.putSecurity(this.store.document());
  }

  /** Sets the anonymous access in effect from the explicit setting and the bind. */
  private applyAnonymous(): void {
    const configured = this.options.initial?.principals?.length ?? 0;
    this.store.anonymous = effectiveAnonymous(this.store.explicitAnonymous, this.host, configured) ?? false;
    this.store.bump();
  }

  /**
   * The roles `principal` holds now (undefined: anonymous, the anonymous roles, none when anonymous
   * access is off); undefined for a principal the store does not know (one an authenticator let in:
   * its session keeps the roles it was given).
   */
  currentRoles(principal: string | undefined): readonly string[] | undefined {
    if (principal !== undefined) return this.store.principal(principal)?.roles;
    const anonymous = this.store.anonymous;
    return anonymous === false ? [] : anonymous.roles;
  }

  /**
   * Open sessions hold their principal's roles as they are now (anonymous ones: the anonymous
   * roles). The store's version moved, so cached decisions drop.
   */
  private refreshRoles(): void {
    for (const s of this.sessions.all()) {
      const roles = this.currentRoles(s.principal);
      if (roles === undefined) continue;
      s.roles = [...roles];
      s.properties.$Roles = roles.join(",");
    }
    this.store.bump();
  }

  /** Closes every open session of a removed principal, with `PRINCIPAL_REMOVED`. */
  private closeSessionsOf(principal: string): void {
    for (const s of [...this.sessions.all()]) {
      if (s.principal !== principal) continue;
      this.log.info({ sessionId: s.sessionId, principal }, "closing a session of a removed principal");
      s.close(`principal ${principal} was removed`, "PRINCIPAL_REMOVED");
    }
  }

  private initialRoles(): RoleDefinition[] {
    const roles = new Map<string, RoleDefinition>([
      [ANONYMOUS_ROLE_DEFINITION.name, ANONYMOUS_ROLE_DEFINITION],
      [ADMIN_ROLE_DEFINITION.name, ADMIN_ROLE_DEFINITION],
    ]);
    for (const r of this.options.initial?.roles ?? []) roles.set(r.name, r);
    return [...roles.values()];
  }

  /** The store of a first start: configured principals (passwords hashed), roles, the env admin. */
  private async initialDocument(): Promise<SecurityDocument> {
    const principals = new Map<string, PrincipalRecord>();
    for (const p of this.options.initial?.principals ?? []) {
      const passwordHash =
        p.passwordHash ?? (p.password !== undefined ? await this.hasher.hash(p.password) : undefined);
      principals.set(p.name, { name: p.name, passwordHash, roles: [...p.roles] });
    }
    const adminPassword = this.options.adminPassword;
    if (adminPassword !== undefined && adminPassword !== "") {
      const existing = principals.get(ADMIN_PRINCIPAL);
      principals.set(ADMIN_PRINCIPAL, {
        name: ADMIN_PRINCIPAL,
        passwordHash: await this.hasher.hash(adminPassword),
        roles: existing?.roles.length ? existing.roles : [ADMIN_ROLE],
      });
      this.log.info({ principal: ADMIN_PRINCIPAL }, "admin principal created from SKEIN_ADMIN_PASSWORD");
    }
    return {
      principals: [...principals.values()],
      roles: this.initialRoles(),
      anonymous: this.options.initial?.anonymous,
    };
  }
}
