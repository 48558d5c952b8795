/**
 * Authentication (DESIGN §7, issue 14): the configured {@link Authenticator}s in order, then the
 * built-in store. A user name that names no principal, or a wrong password, is refused and never
 * falls back to anonymous. Failed logins are counted, logged without secrets, and slow down further
 * attempts from the same address ({@link LoginThrottle}).
 *
 * @module
 */
import type { Clock, Logger } from "../ports.js";
import type { Metrics } from "../metrics.js";
import type { PasswordHasher } from "./model.js";
import type { SecurityStore } from "./store.js";
import type { Authenticator, Credentials } from "./types.js";

/** What authentication decided. */
export type AuthenticationOutcome =
  | {
      readonly ok: true;
      /** The principal; undefined for an anonymous session. */
      readonly principal: string | undefined;
      /** The session's roles. */
      readonly roles: readonly string[];
      /** Session properties an authenticator set (names without `$`). */
      readonly properties?: Readonly<Record<string, string>> | undefined;
      /** Epoch ms when the credentials expire, if they do. */
      readonly expiresAt?: number | undefined;
    }
  | {
      readonly ok: false;
      /** `bad_credentials`: MQTT 0x86 / 3.1.1 code 4; `not_authorized`: 0x87 / code 5; SDK `NOT_AUTHENTICATED`/`NOT_AUTHORIZED`. */
      readonly reason: "bad_credentials" | "not_authorized";
    };

/**
 * Per-address slow-down of failed logins: after `n` failures in a row from an address, its next
 * attempt waits `base * 2^(n-1)` ms (at most 64 times `base`) before it is checked. A success clears
 * the address; an address quiet for ten minutes is forgotten; at most {@link MAX_ADDRESSES} are kept.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(
    private readonly clock: Clock,
    /** Base delay (ms); 0 turns the slow-down off. */
    readonly baseDelayMs: number,
  ) {}

  /**
   * True while some address has failed logins on record: until then no attempt waits, and callers need
   * not find the remote address at all (issue 11, CPU per connection).
   */
  get holding(): boolean {
    return this.failures.size > 0;
  }

  /** How long an attempt from `address` waits before it is checked (ms). */
  delayFor(address: string | undefined): number {
    if (this.baseDelayMs === 0 || address === undefined) return 0;
    const f = this.failures.get(address);
    if (f === undefined) return 0;
    if (this.clock.now() - f.last > FORGET_AFTER_MS) {
      this.failures.delete(address);
      return 0;
    }
    return this.baseDelayMs * 2 ** Math.min(f.count - 1, 6);
  }

  /** Records a failed attempt from `address`. */
  failed(address: string | undefined): void {
    if (address === undefined) return;
    const f = this.failures.get(address);
    this.failures.delete(address);
    if (this.failures.size >= MAX_ADDRESSES) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(address, { count: (f?.count ?? 0) + 1, last: this.clock.now() });
  }

  /** Clears `address` after a successful login. */
  succeeded(address: string | undefined): void {
    if (address !== undefined && this.failures.size > 0) this.failures.delete(address);
  }
}

/** Addresses the throttle remembers at most (the oldest goes first). */
export const MAX_ADDRESSES = 10_000;
const FORGET_AFTER_MS = 600_000;

/** The authentication chain. */
export class Authentication {
  readonly throttle: LoginThrottle;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: SecurityStore,
    private readonly hasher: PasswordHasher,
    private readonly authenticators: readonly Authenticator[],
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    failedLoginDelayMs: number,
  ) {
    this.throttle = new LoginThrottle(clock, failedLoginDelayMs);
  }

  /**
   * The outcome at once, when it needs no authenticator, no hashing and no wait: an attempt that
   * claims no principal, from an address with no recent failures, with no authenticators configured. Otherwise
   * undefined: call {@link Authentication.authenticate}. Lets a door skip pausing its input.
   */
  immediate(credentials: Credentials): AuthenticationOutcome | undefined {
    if (this.authenticators.length > 0) return undefined;
    if (credentials.principal !== undefined) return undefined;
    if (this.throttle.holding && this.throttle.delayFor(credentials.remoteAddress) > 0) return undefined;
    return this.finish(credentials, this.anonymous());
  }

  /** Decides on `credentials`: authenticators in order, then the store. Never rejects. */
  async authenticate(credentials: Credentials): Promise<AuthenticationOutcome> {
    const delay = this.throttle.holding ? this.throttle.delayFor(credentials.remoteAddress) : 0;
    if (delay > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, delay));
    let outcome: AuthenticationOutcome;
    try {
      outcome = await this.decide(credentials);
    } catch (err) {
      // An authenticator that throws refuses (never lets in), and the failure is the server's to log.
      this.log.error({ err: (err as Error).message }, "authenticator failed");
      outcome = { ok: false, reason: "not_authorized" };
    }
    return this.finish(credentials, outcome);
  }

  private async decide(c: Credentials): Promise<AuthenticationOutcome> {
    for (const authenticator of this.authenticators) {
      const r = await authenticator.authenticate(c);
      if (r.decision === "abstain") continue;
      if (r.decision === "deny") return { ok: false, reason: r.reason };
      const stored = this.store.principal(r.principal);
      return {
        ok: true,
        principal: r.principal,
        roles: r.roles ?? stored?.roles ?? [],
        properties: r.properties,
        expiresAt: r.expiresAt,
      };
    }
    // No principal claimed: anonymous. A password without a user name (MQTT 5 allows it, §3.1.2.9) is
    // for an authenticator (a token); when none took it, it names nobody and grants nothing more.
    if (c.principal === undefined) return this.anonymous();
    const principal = this.store.principal(c.principal);
    // Unknown principal: the same answer as a wrong password, after the same kind of work, so that
    // the answer does not tell which names exist.
    const hash = principal?.passwordHash ?? (await this.unknownHash());
    const password = typeof c.password === "string" ? c.password : new TextDecoder().decode(c.password);
    const matches = c.password !== undefined && (await this.hasher.verify(password, hash));
    if (!principal || !principal.passwordHash || !matches) return { ok: false, reason: "bad_credentials" };
    // Roles as they are now (they may have changed during the hash).
    return { ok: true, principal: principal.name, roles: this.store.principal(principal.name)?.roles ?? [] };
  }

  /**
   * A hash no password matches, checked for unknown principals so that they cost what a wrong
   * password costs (made once, from a random secret).
   */
  private unknownHash(): Promise<string> {
    if (this.dummyHash === undefined) {
      const secret = new Uint8Array(16);
      globalThis.crypto.getRandomValues(secret);
      this.dummyHash = this.hasher.hash(Array.from(secret, (b) => b.toString(16)).join(""));
    }
    return this.dummyHash;
  }

  private anonymous(): AuthenticationOutcome {
    const a = this.store.anonymous;
    return a === false
      ? { ok: false, reason: "not_authorized" }
      : { ok: true, principal: undefined, roles: a.roles };
  }

  private finish(c: Credentials, outcome: AuthenticationOutcome): AuthenticationOutcome {
    if (outcome.ok) {
      if (this.throttle.holding) this.throttle.succeeded(c.remoteAddress);
      return outcome;
    }
    this.throttle.failed(c.remoteAddress);
    this.metrics.inc("skein_login_failures_total", { transport: c.transport, reason: outcome.reason });
    // Never the password: who, from where, through which door, and why.
    this.log.warn(
      { principal: c.principal, remote: c.remoteAddress, transport: c.transport, reason: outcome.reason },
      "login refused",
    );
    return outcome;
  }
}
