/**
 * The contracts of security (DESIGN §7, issue 14): who acts ({@link Actor}), the one check every
 * operation makes ({@link Authorizer}), and how a door turns credentials into an actor
 * ({@link Authenticator}). The core's façade calls `authorize()` before each operation and before
 * each delivery; the doors never decide a permission themselves.
 */
import type { Permission } from "@skein/protocol";

/** The session on whose behalf an operation runs. */
export interface Actor {
  /** Server-unique session id. */
  readonly sessionId: string;
  /** The authenticated principal; undefined for an anonymous session. */
  readonly principal: string | undefined;
  /** The session's roles (the anonymous role's when anonymous), with included roles not yet expanded. */
  readonly roles: readonly string[];
  /** The MQTT client id, for `{clientId}` substitution in permission paths; undefined on the SDK door. */
  readonly clientId?: string | undefined;
}

/** The one permission check. Must be cheap: it runs per publish and per delivery. */
export interface Authorizer {
  /**
   * True when `actor` holds `permission`; for a path permission, on `path` (the most specific path
   * prefix assigned to any of its roles wins).
   */
  authorize(actor: Actor, permission: Permission, path?: string): boolean;
  /**
   * Increases whenever the security store changes, so callers that cache decisions know to drop them.
   */
  readonly version: number;
}

/** An authorizer that allows everything (the model before issue 14, and unit tests of other parts). */
export const allowAll: Authorizer = {
  authorize: () => true,
  version: 0,
};

/** What a client presented to be let in. */
export interface Credentials {
  /** The door it came through. */
  readonly transport: "mqtt" | "sdk";
  /** MQTT user name, or the SDK hello's principal. */
  readonly principal?: string | undefined;
  /** MQTT password field or the SDK hello's password (a JWT may arrive here). */
  readonly password?: string | Uint8Array | undefined;
  /** The MQTT client id. */
  readonly clientId?: string | undefined;
  /** The peer's address, for per-address login throttling. */
  readonly remoteAddress?: string | undefined;
  /** The verified TLS client certificate's names, when the listener asked for one. */
  readonly certificate?:
    | {
        /** The certificate subject's Common Name. */
        readonly commonName?: string | undefined;
        /** Its Subject Alternative Names. */
        readonly altNames: readonly string[];
      }
    | undefined;
}

/** An authenticator's answer. */
export type AuthenticationResult =
  | {
      /** Let the client in. */
      readonly decision: "allow";
      /** The principal the session acts as. */
      readonly principal: string;
      /** Roles the session holds, in addition to (or, when given, instead of) the principal's stored roles. */
      readonly roles?: readonly string[] | undefined;
      /** Session properties to set (names without `$`). */
      readonly properties?: Readonly<Record<string, string>> | undefined;
      /** Epoch ms when the credentials expire (a JWT's `exp`); the session is closed then. */
      readonly expiresAt?: number | undefined;
    }
  | {
      /** Refuse the client. */
      readonly decision: "deny";
      /** `bad_credentials`: unknown principal or wrong secret; `not_authorized`: known but not allowed. */
      readonly reason: "bad_credentials" | "not_authorized";
    }
  | {
      /** Leave the decision to the next authenticator (or the store). */
      readonly decision: "abstain";
    };

/**
 * Turns credentials into a decision. Authenticators run in order; the first that does not abstain
 * decides; when all abstain, the built-in principal store decides.
 */
export interface Authenticator {
  /** Decides on `credentials`; may be slow (scrypt, JWKS) but must not block the event loop. */
  authenticate(credentials: Credentials): Promise<AuthenticationResult>;
}
